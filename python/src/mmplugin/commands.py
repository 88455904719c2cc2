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
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from mmplugin._marks import marked_methods
from mmplugin.models import AutocompleteData, Command, CommandArgs, CommandResponse, PluginContext

_F = TypeVar("_F", bound=Callable[..., Any])
_ATTR = "__mmplugin_command__"
_WORD = re.compile(r"\S+")
_VALID_WORD = re.compile(r"^[^\s/][^\s]*$")

EPHEMERAL = "ephemeral"
IN_CHANNEL = "in_channel"


@dataclass(frozen=True)
class CommandSpec:
    """What ``@command`` recorded: the path of words and the registration details."""

    path: tuple[str, ...]
    description: str = ""
    hint: str = ""
    autocomplete: bool = True
    display_name: str = ""
    handler_name: str = ""

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
) -> Callable[[_F], _F]:
    """Declare a slash command handler: ``name`` is ``"trigger"`` or ``"trigger sub ..."``.

    ``description`` and ``hint`` show in the autocomplete list (``hint`` describes the
    arguments, e.g. ``"<city>"``); ``autocomplete=False`` keeps the command out of it. The
    handler is a method taking a ``CommandCall``, ``def`` or ``async def``.
    """
    words = tuple(w.lower() for w in name.split())
    if not words:
        raise ValueError("@command needs a name such as 'hello' or 'weather forecast'")
    if words[0].startswith("/"):
        words = (words[0][1:], *words[1:])
    for w in words:
        if not _VALID_WORD.match(w):
            raise ValueError(f"@command({name!r}): {w!r} is not a valid command word")

    def decorate(fn: _F) -> _F:
        spec = CommandSpec(
            path=words,
            description=description,
            hint=hint,
            autocomplete=autocomplete,
            display_name=display_name,
            handler_name=fn.__name__,
        )
        setattr(fn, _ATTR, spec)
        return fn

    return decorate


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
        role_id="system_user",
        arguments=[],
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
    return CommandRouter(
        replace(spec, handler_name=name)
        for name, spec in marks.items()
        if isinstance(spec, CommandSpec)
    )


__all__ = [
    "EPHEMERAL",
    "IN_CHANNEL",
    "CommandCall",
    "CommandRouter",
    "CommandSpec",
    "collect_commands",
    "command",
    "command_spec",
    "ephemeral",
    "in_channel",
    "to_response",
]
