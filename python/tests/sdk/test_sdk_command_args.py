"""@command's typed autocomplete arguments, dynamic lists and roles, as Go's AutocompleteData."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import mmplugin.http
from mmplugin import CommandCall, Plugin, command
from mmplugin.commands import (
    SYSTEM_ADMIN,
    AutocompleteQuery,
    DynamicList,
    ListItem,
    StaticList,
    Text,
    collect_commands,
)
from mmplugin.models import (
    AutocompleteData,
    AutocompleteDynamicListArg,
    AutocompleteStaticListArg,
    AutocompleteTextArg,
)
from mmplugin.testing import PluginTestHarness


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello from the app")


class Stations(Plugin):
    serve_http = mmplugin.http.asgi(Starlette(routes=[Route("/hello", hello)]))

    @command("station set", description="Choose", arguments=[
        StaticList(["celsius", ListItem(item="fahrenheit", hint="°F", help_text="US")],
                   help_text="Unit", required=True),
        DynamicList("stations", help_text="Station"),
        Text(hint="[note]", pattern=r"[a-z ]*", help_text="A note", name="note"),
    ])  # fmt: skip
    def set_station(self, call: CommandCall) -> str:
        return f"set {call.args}"

    @command("station purge", description="Purge all data", role=SYSTEM_ADMIN)
    def purge(self, call: CommandCall) -> str:
        return "purged"

    @command("station admin", role=SYSTEM_ADMIN)
    def admin(self, call: CommandCall) -> str:
        return "admin menu"

    @command("station admin wipe")
    async def wipe(self, call: CommandCall) -> str:
        return "wiped"

    async def stations(self, query: AutocompleteQuery) -> list[str | ListItem]:
        found = [s for s in ("berlin-1", "bergen-2", "oslo-3") if s.startswith(query.typed)]
        return [found[0], *(ListItem(item=s, hint=query.user_id) for s in found[1:])]


def _tree() -> AutocompleteData:
    [cmd] = collect_commands(Stations).commands()
    assert cmd.autocomplete_data is not None
    return cmd.autocomplete_data


def _sub(data: AutocompleteData, trigger: str) -> AutocompleteData:
    return next(s for s in data.sub_commands or [] if s.trigger == trigger)


def test_typed_arguments_become_gos_autocomplete_arguments() -> None:
    station_set = _sub(_tree(), "set")
    unit, station, note = station_set.arguments or []
    assert (unit.name, unit.type, unit.required, unit.help_text) == ("", "StaticList", True, "Unit")
    assert isinstance(unit.data, AutocompleteStaticListArg)
    assert [(i.item, i.hint, i.help_text) for i in unit.data.possible_arguments or []] == [
        ("celsius", "", ""),
        ("fahrenheit", "°F", "US"),
    ]
    assert station.type == "DynamicList"
    # Relative: the server prefixes /plugins/<plugin id> (UpdateRelativeURLsForPluginCommands).
    assert station.data == AutocompleteDynamicListArg(fetch_url="_mmplugin/autocomplete/stations")
    assert (note.name, note.type, note.help_text) == ("note", "TextInput", "A note")
    assert note.data == AutocompleteTextArg(hint="[note]", pattern="[a-z ]*")


def test_roles_become_role_ids() -> None:
    tree = _tree()
    assert tree.role_id == "system_user"
    assert _sub(tree, "set").role_id == "system_user"
    assert _sub(tree, "purge").role_id == "system_admin"
    assert _sub(tree, "admin").role_id == "system_admin"


def test_dynamic_lists_are_answered_by_the_plugin_method_and_other_paths_by_the_app() -> None:
    with PluginTestHarness(Stations) as h:
        h.activate()
        assert h.implemented.count("ServeHTTP") == 1
        res = h.http_get(
            "/_mmplugin/autocomplete/stations?user_input=station+set+celsius+ber"
            "&parsed=station+set+celsius+&user_id=u1&channel_id=c1",
            user="u1",
        )
        assert res.status_code == 200, res.text
        assert res.header("Content-Type") == "application/json"
        assert json.loads(res.body) == [
            {"Item": "berlin-1", "Hint": "", "HelpText": ""},
            {"Item": "bergen-2", "Hint": "u1", "HelpText": ""},
        ]
        assert h.http_get("/hello").text == "hello from the app"
        # A name that is not a DynamicList method is the app's (404 there), never a method call.
        assert h.http_get("/_mmplugin/autocomplete/set_station").status_code == 404


def test_a_plugin_without_serve_http_answers_404_elsewhere() -> None:
    class Only(Plugin):
        @command("pick", arguments=[DynamicList("choices")])
        def pick(self, call: CommandCall) -> str:
            return call.text

        def choices(self, query: AutocompleteQuery) -> list[str]:
            return ["a", "b"]

    with PluginTestHarness(Only) as h:
        h.activate()
        assert json.loads(h.http_get("/_mmplugin/autocomplete/choices").body)[1]["Item"] == "b"
        assert h.http_get("/other").status_code == 404


def test_admin_only_commands_refuse_other_users_and_run_for_admins() -> None:
    with PluginTestHarness(Stations) as h:
        h.activate()
        admin = h.api.add_user("root", roles="system_user system_admin")
        for line in ("/station purge", "/station admin", "/station admin wipe"):
            refused = h.command(line)
            assert refused.text.startswith("Only system admins can use /station"), line
        assert h.command("/station purge", user=admin).text == "purged"
        assert h.command("/station admin wipe", user=admin).text == "wiped"
        assert h.command("/station set celsius x").text == "set ['celsius', 'x']"


def test_declaration_mistakes_are_explained() -> None:
    with pytest.raises(ValueError, match="sub-commands, so it cannot have arguments"):

        class Both(Plugin):
            @command("x", arguments=[Text()])
            def x(self, call: CommandCall) -> None: ...

            @command("x y")
            def y(self, call: CommandCall) -> None: ...

    with pytest.raises(ValueError, match="does not define"):

        class Missing(Plugin):
            @command("x", arguments=[DynamicList("nowhere")])
            def x(self, call: CommandCall) -> None: ...

    with pytest.raises(ValueError, match="named arguments last"):
        command("x", arguments=[Text(name="a"), Text()])
    with pytest.raises(ValueError, match="not a regular expression"):
        command("x", arguments=[Text(pattern="(")])
    with pytest.raises(ValueError, match="SYSTEM_ADMIN"):
        command("x", role="admin")
    with pytest.raises(TypeError, match=r"use mmplugin\.commands\.Text"):
        command("x", arguments=["text"])  # type: ignore[list-item]


def test_a_plain_def_serve_http_keeps_its_requests_beside_dynamic_lists() -> None:
    class Plain(Plugin):
        @command("pick", arguments=[DynamicList("choices")])
        def pick(self, call: CommandCall) -> str:
            return call.text

        async def choices(self, query: AutocompleteQuery) -> list[str]:
            return [query.typed or "nothing typed"]

        def serve_http(self, ctx: object, w: Any, r: Any) -> None:
            w.write(b"plain " + r.url.encode())

    with PluginTestHarness(Plain) as h:
        h.activate()
        listed = h.http_get("/_mmplugin/autocomplete/choices?user_input=pick+ab&parsed=pick+")
        assert json.loads(listed.body) == [{"Item": "ab", "Hint": "", "HelpText": ""}]
        assert h.http_get("/x?y=1").text == "plain /x?y=1"


def test_a_dynamic_list_method_returning_the_wrong_type_is_an_error() -> None:
    class Wrong(Plugin):
        @command("pick", arguments=[DynamicList("choices")])
        def pick(self, call: CommandCall) -> str:
            return call.text

        def choices(self, query: AutocompleteQuery) -> str:
            return "a"

    with PluginTestHarness(Wrong) as h:
        h.activate()
        with pytest.raises(
            TypeError, match=r"Wrong\.choices \(a DynamicList method\) returned str"
        ):
            h.http_get("/_mmplugin/autocomplete/choices")
