"""Slash commands: ``@command`` declares them, the SDK registers and routes them.

::

    class Weather(Plugin):
        @command("weather", description="Weather reports", hint="[city]")
        def weather(self, call: CommandCall) -> str:
            return f"It is sunny in {call.text or 'Berlin'}"          # an ephemeral reply

        @command("weather forecast", description="Forecast for the next days", hint="<city>")
        async def forecast(self, call: CommandCall) -> CommandResponse:
            return in_channel(f"Forecast for {call.args[0]}: rain")    # visible to everyone

Every trigger (the first word) is registered with ``RegisterCommand`` when the plugin activates,
with autocomplete data listing its sub-commands. ``ExecuteCommand`` is routed to the handler of
the longest matching ``trigger sub-command ...`` path; ``call.args`` holds the words after it and
``call.text`` the rest of the line as typed. A handler returns a ``str`` (sent back as an
ephemeral reply), a ``CommandResponse`` (``ephemeral()``/``in_channel()`` build one), or
``None`` (no reply); raising ``AppError`` reports the error to the user like a Go plugin's
``*model.AppError``. A trigger typed with an unknown sub-command gets a usage reply listing the
sub-commands. If the plugin also defines ``execute_command`` itself, commands the decorators do
not know are passed to it.

Typed arguments and roles, as Go's ``model.AutocompleteData``::

        @command("weather set", arguments=[
            StaticList(["celsius", "fahrenheit"], help_text="Unit"),
            DynamicList("stations", help_text="Weather station"),   # a method of the plugin
            Text(hint="[note]", pattern=r".*"),
        ])
        def set_unit(self, call: CommandCall) -> str: ...

        def stations(self, query: AutocompleteQuery) -> list[str]:   # answers the dynamic list
            return ["berlin-1", "oslo-3"]

        @command("weather purge", role=SYSTEM_ADMIN)     # listed and runnable for admins only
        def purge(self, call: CommandCall) -> str: ...
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from mmplugin._marks import marked_methods
from mmplugin.models import (
    AutocompleteArg,
    AutocompleteData,
    AutocompleteDynamicListArg,
    AutocompleteListItem,
    AutocompleteStaticListArg,
    AutocompleteTextArg,
    Command,
    CommandArgs,
    CommandResponse,
    PluginContext,
)

_F = TypeVar("_F", bound=Callable[..., Any])
_ATTR = "__mmplugin_command__"
_WORD = re.compile(r"\S+")
_VALID_WORD = re.compile(r"^[^\s/][^\s]*$")

EPHEMERAL = "ephemeral"
IN_CHANNEL = "in_channel"

SYSTEM_USER = "system_user"
"""``role=`` of a command every user sees (the default)."""
SYSTEM_ADMIN = "system_admin"
"""``role=`` of a command only system admins see in autocomplete and may run."""
_ROLES = (SYSTEM_USER, SYSTEM_ADMIN)

DYNAMIC_LIST_PATH = "/_mmplugin/autocomplete/"
"""Where the server asks the plugin for a dynamic list (below ``/plugins/<plugin id>``): the
SDK answers these requests itself, before the plugin's ``serve_http``."""

# Go's model.AutocompleteArgType* values.
ARG_TEXT = "TextInput"
ARG_STATIC_LIST = "StaticList"
ARG_DYNAMIC_LIST = "DynamicList"


# --- typed arguments -------------------------------------------------------------------------


@dataclass(frozen=True)
class Text:
    """A free-text argument: ``hint`` shows what to type, ``pattern`` (a regular expression)
    is what the autocomplete accepts. ``name`` makes it a named argument (``--name value``)."""

    hint: str = ""
    pattern: str = ""
    help_text: str = ""
    name: str = ""
    required: bool = False


ListItem = AutocompleteListItem
"""One choice of a list argument: ``ListItem(item="on", hint="", help_text="")``."""


@dataclass(frozen=True)
class StaticList:
    """An argument chosen from fixed items (strings, or ``ListItem`` with hint and help)."""

    items: Sequence[str | AutocompleteListItem]
    help_text: str = ""
    name: str = ""
    required: bool = False


@dataclass(frozen=True)
class DynamicList:
    """An argument whose items a method of the plugin returns when the user types: ``method``
    is its name (or the function), taking an ``AutocompleteQuery`` and returning a list of
    strings or ``ListItem`` (``def`` or ``async def``)."""

    method: str | Callable[..., Any]
    help_text: str = ""
    name: str = ""
    required: bool = False

    @property
    def method_name(self) -> str:
        return self.method if isinstance(self.method, str) else self.method.__name__


Argument = Text | StaticList | DynamicList


@dataclass(frozen=True)
class AutocompleteQuery:
    """What the server sends when it asks for a dynamic list (Go's plugin gets the same as
    query parameters of its fetch URL)."""

    user_input: str
    """The whole command line typed so far (without the leading slash)."""
    parsed: str
    """The part of it the server has already matched (trigger, sub-commands, arguments)."""
    user_id: str = ""
    channel_id: str = ""
    team_id: str = ""
    root_id: str = ""
    site_url: str = ""

    @property
    def typed(self) -> str:
        """What the user is typing for this argument (``user_input`` after ``parsed``)."""
        rest = (
            self.user_input[len(self.parsed) :] if self.user_input.startswith(self.parsed) else ""
        )
        return rest.strip()

    @classmethod
    def from_url(cls, url: str, user_id: str | None = None) -> AutocompleteQuery:
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}
        return cls(
            user_input=q.get("user_input", ""),
            parsed=q.get("parsed", ""),
            user_id=user_id or q.get("user_id", ""),
            channel_id=q.get("channel_id", ""),
            team_id=q.get("team_id", ""),
            root_id=q.get("root_id", ""),
            site_url=q.get("site_url", ""),
        )


def _list_item(value: str | AutocompleteListItem) -> AutocompleteListItem:
    if isinstance(value, AutocompleteListItem):
        return value
    if isinstance(value, str):
        return AutocompleteListItem(item=value)
    raise TypeError(f"a list item must be a str or ListItem, not {type(value).__name__}")


def _to_arg(arg: Argument) -> AutocompleteArg:
    data: Any
    if isinstance(arg, Text):
        kind, data = ARG_TEXT, AutocompleteTextArg(hint=arg.hint, pattern=arg.pattern)
    elif isinstance(arg, StaticList):
        items = [_list_item(i) for i in arg.items]
        kind, data = ARG_STATIC_LIST, AutocompleteStaticListArg(possible_arguments=items)
    else:
        url = DYNAMIC_LIST_PATH.lstrip("/") + arg.method_name
        kind, data = ARG_DYNAMIC_LIST, AutocompleteDynamicListArg(fetch_url=url)
    return AutocompleteArg(
        name=arg.name, help_text=arg.help_text, type=kind, required=arg.required, data=data
    )


def list_items_json(items: Iterable[str | AutocompleteListItem], where: str) -> bytes:
    """A dynamic list's answer as the server decodes it (``[]model.AutocompleteListItem``)."""
    out = []
    for value in items:
        try:
            item = _list_item(value)
        except TypeError as e:
            raise TypeError(f"{where}: {e}") from None
        out.append({"Item": item.item, "Hint": item.hint, "HelpText": item.help_text})
    return json.dumps(out).encode()


@dataclass(frozen=True)
class CommandSpec:
    """What ``@command`` recorded: the path of words and the registration details."""

    path: tuple[str, ...]
    description: str = ""
    hint: str = ""
    autocomplete: bool = True
    display_name: str = ""
    handler_name: str = ""
    arguments: tuple[Argument, ...] = ()
    role: str = SYSTEM_USER

    @property
    def trigger(self) -> str:
        return self.path[0]

    @property
    def name(self) -> str:
        return " ".join(self.path)


def command(
    name: str,
    *,
    description: str = "",
    hint: str = "",
    autocomplete: bool = True,
    display_name: str = "",
    arguments: Sequence[Argument] = (),
    role: str = SYSTEM_USER,
) -> Callable[[_F], _F]:
    """Declare a slash command handler: ``name`` is ``"trigger"`` or ``"trigger sub ..."``.

    ``description`` and ``hint`` show in the autocomplete list (``hint`` describes the
    arguments, e.g. ``"<city>"``); ``autocomplete=False`` keeps the command out of it.
    ``arguments``: typed autocomplete arguments (``Text``, ``StaticList``, ``DynamicList``),
    positional in order, or named (``name=``) after the positional ones; a command with
    sub-commands cannot have arguments (Mattermost's rule). ``role=SYSTEM_ADMIN``: only system
    admins see the command (and its sub-commands) in autocomplete, and the SDK answers anyone
    else who types it with a refusal instead of running the handler. The handler is a method
    taking a ``CommandCall``, ``def`` or ``async def``.
    """
    words = tuple(w.lower() for w in name.split())
    if not words:
        raise ValueError("@command needs a name such as 'hello' or 'weather forecast'")
    if words[0].startswith("/"):
        words = (words[0][1:], *words[1:])
    for w in words:
        if not _VALID_WORD.match(w):
            raise ValueError(f"@command({name!r}): {w!r} is not a valid command word")
    if role not in _ROLES:
        raise ValueError(
            f"@command({name!r}, role={role!r}): the role must be SYSTEM_USER "
            f"({SYSTEM_USER!r}) or SYSTEM_ADMIN ({SYSTEM_ADMIN!r})"
        )
    args = tuple(arguments)
    _check_arguments(name, args)

    def decorate(fn: _F) -> _F:
        spec = CommandSpec(
            path=words,
            description=description,
            hint=hint,
            autocomplete=autocomplete,
            display_name=display_name,
            handler_name=fn.__name__,
            arguments=args,
            role=role,
        )
        wrapped = _role_checked(fn)
        setattr(wrapped, _ATTR, spec)
        return wrapped

    return decorate


def _check_arguments(name: str, args: tuple[Argument, ...]) -> None:
    named = False
    for i, arg in enumerate(args):
        if not isinstance(arg, (Text, StaticList, DynamicList)):
            raise TypeError(
                f"@command({name!r}): argument {i} is a {type(arg).__name__}; use "
                "mmplugin.commands.Text, StaticList or DynamicList"
            )
        if arg.name:
            named = True
        elif named:
            raise ValueError(
                f"@command({name!r}): positional argument {i} comes after a named one; put "
                "the named arguments last (Mattermost's rule)"
            )
        if isinstance(arg, StaticList):
            for item in arg.items:
                _list_item(item)
        if isinstance(arg, Text) and arg.pattern:
            try:
                re.compile(arg.pattern)
            except re.error as e:
                raise ValueError(
                    f"@command({name!r}): argument {i}'s pattern {arg.pattern!r} is not a "
                    f"regular expression: {e}"
                ) from None


def _role_checked(fn: _F) -> _F:
    """The handler, refusing users without the role its command (or a parent) requires."""

    def refusal(plugin: Any, call: CommandCall) -> CommandResponse | None:
        router: CommandRouter | None = getattr(type(plugin), "_mm_commands", None)
        if router is None or router.role_of(call.path) != SYSTEM_ADMIN:
            return None
        return ephemeral(f"Only system admins can use /{' '.join(call.path)}.")

    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def checked_async(self: Any, call: CommandCall, *a: Any, **kw: Any) -> Any:
            denied = refusal(self, call)
            if denied is not None:
                user = await self.async_api.get_user(call.user_id)
                if is_system_admin(user.roles):
                    denied = None
            return denied if denied is not None else await fn(self, call, *a, **kw)

        return checked_async  # type: ignore[return-value]

    @functools.wraps(fn)
    def checked(self: Any, call: CommandCall, *a: Any, **kw: Any) -> Any:
        denied = refusal(self, call)
        if denied is not None and is_system_admin(self.api.get_user(call.user_id).roles):
            denied = None
        return denied if denied is not None else fn(self, call, *a, **kw)

    return checked  # type: ignore[return-value]


def is_system_admin(roles: str) -> bool:
    """Whether a user's ``roles`` (space-separated) include ``system_admin``."""
    return SYSTEM_ADMIN in roles.split()


def command_spec(obj: object) -> CommandSpec | None:
    """The ``CommandSpec`` ``@command`` attached to a function, if any."""
    spec = getattr(obj, _ATTR, None)
    return spec if isinstance(spec, CommandSpec) else None


@dataclass(frozen=True)
class CommandCall:
    """One invocation of a slash command, as the handler sees it."""

    args: list[str]
    """The words after the matched command path (``/weather forecast berlin now`` →
    ``["berlin", "now"]`` for the ``weather forecast`` handler)."""
    text: str
    """Everything after the matched command path, as typed (spacing and newlines kept)."""
    command_args: CommandArgs
    """What the server sent: user, channel, team, root post, trigger id, the full command."""
    ctx: PluginContext
    path: tuple[str, ...] = ()
    """The matched path, e.g. ``("weather", "forecast")``."""

    @property
    def user_id(self) -> str:
        return self.command_args.user_id

    @property
    def channel_id(self) -> str:
        return self.command_args.channel_id

    @property
    def team_id(self) -> str:
        return self.command_args.team_id

    @property
    def root_id(self) -> str:
        return self.command_args.root_id

    @property
    def trigger_id(self) -> str:
        """For opening an interactive dialog in reply (``api.open_interactive_dialog``)."""
        return self.command_args.trigger_id


def ephemeral(text: str, **fields: Any) -> CommandResponse:
    """A reply only the user who typed the command sees."""
    return CommandResponse(response_type=EPHEMERAL, text=text, **fields)


def in_channel(text: str, **fields: Any) -> CommandResponse:
    """A reply posted in the channel for everyone (as the user who typed the command)."""
    return CommandResponse(response_type=IN_CHANNEL, text=text, **fields)


def to_response(result: object, where: str) -> CommandResponse:
    """A handler's return value as the ``CommandResponse`` ExecuteCommand answers with."""
    if result is None:
        return CommandResponse()
    if isinstance(result, str):
        return ephemeral(result)
    if isinstance(result, CommandResponse):
        return result
    raise TypeError(
        f"{where} returned {type(result).__name__}; return a str (an ephemeral reply), "
        "a CommandResponse (see mmplugin.ephemeral / mmplugin.in_channel) or None"
    )


@dataclass
class _Node:
    word: str
    spec: CommandSpec | None = None
    children: dict[str, _Node] = field(default_factory=dict)


class CommandRouter:
    """The commands of one plugin class: registration data and routing."""

    def __init__(self, specs: Iterable[CommandSpec]) -> None:
        self._roots: dict[str, _Node] = {}
        self.specs: tuple[CommandSpec, ...] = tuple(specs)
        for spec in self.specs:
            node = self._roots.setdefault(spec.trigger, _Node(spec.trigger))
            for w in spec.path[1:]:
                node = node.children.setdefault(w, _Node(w))
            if node.spec is not None:
                raise ValueError(
                    f"two handlers for /{spec.name}: {node.spec.handler_name} and "
                    f"{spec.handler_name}"
                )
            node.spec = spec
        for spec in self.specs:
            if spec.arguments and self._node(spec.path).children:
                raise ValueError(
                    f"/{spec.name} has sub-commands, so it cannot have arguments too "
                    "(Mattermost's AutocompleteData allows one or the other): move the "
                    "arguments to a sub-command"
                )

    def _node(self, path: Sequence[str]) -> _Node:
        node = self._roots[path[0]]
        for w in path[1:]:
            node = node.children[w]
        return node

    def role_of(self, path: Sequence[str]) -> str:
        """``SYSTEM_ADMIN`` when the command at ``path`` or one of its parents requires it."""
        node = self._roots.get(path[0]) if path else None
        for i in range(1, len(path) + 1):
            if node is None:
                break
            if node.spec is not None and node.spec.role == SYSTEM_ADMIN:
                return SYSTEM_ADMIN
            node = node.children.get(path[i]) if i < len(path) else None
        return SYSTEM_USER

    @property
    def dynamic_list_methods(self) -> frozenset[str]:
        """The plugin methods that answer dynamic lists."""
        return frozenset(
            arg.method_name
            for spec in self.specs
            for arg in spec.arguments
            if isinstance(arg, DynamicList)
        )

    def __bool__(self) -> bool:
        return bool(self._roots)

    @property
    def triggers(self) -> list[str]:
        return list(self._roots)

    def commands(self) -> list[Command]:
        """One ``Command`` per trigger, for ``API.register_command``."""
        out = []
        for trigger, root in self._roots.items():
            spec = root.spec or CommandSpec(path=(trigger,))
            out.append(
                Command(
                    trigger=trigger,
                    auto_complete=spec.autocomplete,
                    auto_complete_desc=spec.description,
                    auto_complete_hint=spec.hint,
                    display_name=spec.display_name,
                    autocomplete_data=_autocomplete(root),
                )
            )
        return out

    def match(self, command_line: str) -> tuple[_Node, tuple[str, ...], str, list[str]] | None:
        """The deepest node matching ``/trigger word ...``, its path, the remaining text and
        words; None when the trigger is not one of ours."""
        words = list(_WORD.finditer(command_line))
        if not words:
            return None
        first = words[0].group().lower()
        trigger = first[1:] if first.startswith("/") else first
        node = self._roots.get(trigger)
        if node is None:
            return None
        path = [trigger]
        end = words[0].end()
        i = 1
        while i < len(words):
            child = node.children.get(words[i].group().lower())
            if child is None:
                break
            node, end = child, words[i].end()
            path.append(child.word)
            i += 1
        rest = command_line[end:].strip()
        return node, tuple(path), rest, [w.group() for w in words[i:]]

    def usage(self, node: _Node, path: tuple[str, ...]) -> str:
        """The reply for a path without a handler: the sub-commands one can type."""
        lines = [f"Usage of /{' '.join(path)}:"]
        for child in node.children.values():
            for spec in _leaves(child):
                hint = f" {spec.hint}" if spec.hint else ""
                desc = f" — {spec.description}" if spec.description else ""
                lines.append(f"- `/{spec.name}{hint}`{desc}")
        return "\n".join(lines)


def _leaves(node: _Node) -> list[CommandSpec]:
    out = [node.spec] if node.spec is not None else []
    for child in node.children.values():
        out.extend(_leaves(child))
    return out


def _autocomplete(node: _Node) -> AutocompleteData:
    spec = node.spec
    data = AutocompleteData(
        trigger=node.word,
        hint=spec.hint if spec else "",
        help_text=spec.description if spec else "",
        role_id=spec.role if spec else SYSTEM_USER,
        arguments=[_to_arg(a) for a in spec.arguments] if spec else [],
        sub_commands=[],
    )
    for child in node.children.values():
        if child.spec is None or child.spec.autocomplete or child.children:
            assert data.sub_commands is not None
            data.sub_commands.append(_autocomplete(child))
    return data


def collect_commands(cls: type) -> CommandRouter:
    """The ``@command`` handlers of a plugin class and its bases (a subclass's method of the
    same name replaces the base's)."""
    marks = marked_methods(cls, _ATTR)
    router = CommandRouter(
        replace(spec, handler_name=name)
        for name, spec in marks.items()
        if isinstance(spec, CommandSpec)
    )
    for name in sorted(router.dynamic_list_methods):
        if not callable(getattr(cls, name, None)):
            raise ValueError(
                f"{cls.__qualname__}: a DynamicList argument names the method {name!r}, which "
                "the class does not define (def or async def, taking an AutocompleteQuery)"
            )
    return router


async def answer_dynamic_list(plugin: Any, url: str, user_id: str | None) -> bytes | None:
    """The JSON body answering the server's dynamic-list request at ``url`` (a path below the
    plugin), or None when ``url`` is not one (the plugin's own ``serve_http`` gets it)."""
    path = urlsplit(url).path
    if not path.startswith(DYNAMIC_LIST_PATH):
        return None
    name = path[len(DYNAMIC_LIST_PATH) :]
    router: CommandRouter | None = getattr(type(plugin), "_mm_commands", None)
    if router is None or name not in router.dynamic_list_methods:
        return None
    method = getattr(plugin, name)
    query = AutocompleteQuery.from_url(url, user_id)
    if inspect.iscoroutinefunction(method):
        result = await method(query)
    else:
        result = await asyncio.to_thread(method, query)
    where = f"{type(plugin).__name__}.{name} (a DynamicList method)"
    if isinstance(result, (str, bytes)) or not isinstance(result, Iterable):
        raise TypeError(f"{where} returned {type(result).__name__}; return a list of str/ListItem")
    return list_items_json(result, where)


__all__ = [
    "ARG_DYNAMIC_LIST",
    "ARG_STATIC_LIST",
    "ARG_TEXT",
    "DYNAMIC_LIST_PATH",
    "EPHEMERAL",
    "IN_CHANNEL",
    "SYSTEM_ADMIN",
    "SYSTEM_USER",
    "Argument",
    "AutocompleteQuery",
    "CommandCall",
    "CommandRouter",
    "CommandSpec",
    "DynamicList",
    "ListItem",
    "StaticList",
    "Text",
    "answer_dynamic_list",
    "collect_commands",
    "command",
    "command_spec",
    "ephemeral",
    "in_channel",
    "is_system_admin",
    "list_items_json",
    "to_response",
]
