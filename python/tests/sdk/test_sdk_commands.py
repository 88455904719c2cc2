"""@command: registration data, routing of sub-commands, replies, errors."""

from __future__ import annotations

import pytest

from mmplugin import CommandCall, Plugin, command, ephemeral, in_channel
from mmplugin.commands import collect_commands
from mmplugin.errors import AppError, NotFoundError
from mmplugin.models import CommandResponse
from mmplugin.testing import PluginTestHarness


class Weather(Plugin):
    @command("weather", description="Weather reports", hint="[city]")
    def weather(self, call: CommandCall) -> str:
        return f"sunny in {call.text or 'Berlin'}"

    @command("weather forecast", description="Forecast", hint="<city> [days]")
    async def forecast(self, call: CommandCall) -> CommandResponse:
        return in_channel(f"forecast for {call.args}")

    @command("weather alerts list")
    def alerts(self, call: CommandCall) -> None:
        self.api.log_info("alerts", user_id=call.user_id, path=" ".join(call.path))

    @command("admin reset", description="Reset everything")
    def reset(self, call: CommandCall) -> str:
        raise NotFoundError("nothing to reset", id="reset.none", where="reset")

    @command("bad")
    def bad(self, call: CommandCall) -> int:
        return 42


def test_one_registration_per_trigger_with_autocomplete_tree() -> None:
    router = collect_commands(Weather)
    cmds = {c.trigger: c for c in router.commands()}
    assert set(cmds) == {"weather", "admin", "bad"}
    weather = cmds["weather"]
    assert (weather.auto_complete, weather.auto_complete_desc, weather.auto_complete_hint) == (
        True,
        "Weather reports",
        "[city]",
    )
    data = weather.autocomplete_data
    assert data is not None and data.role_id == "system_user"
    subs = {s.trigger: s for s in data.sub_commands or []}
    assert subs["forecast"].hint == "<city> [days]"
    assert [s.trigger for s in subs["alerts"].sub_commands or []] == ["list"]
    # A trigger declared only through sub-commands still registers, without a description.
    assert cmds["admin"].auto_complete_desc == ""


def test_routing_takes_the_longest_matching_path_and_keeps_the_text_as_typed() -> None:
    with PluginTestHarness(Weather) as h:
        h.activate()
        assert [c.trigger for c in h.api.commands] == ["weather", "admin", "bad"]
        assert h.command("/weather").text == "sunny in Berlin"
        assert h.command("/Weather  New   York ").text == "sunny in New   York"
        r = h.command("/weather forecast paris 3")
        assert (r.response_type, r.text) == ("in_channel", "forecast for ['paris', '3']")
        # The in_channel reply is posted in the channel as the user who typed the command.
        last = h.api.posts_in(h.channel)[-1]
        assert (last.message, last.user_id) == ("forecast for ['paris', '3']", h.user.id)
        assert h.command("/weather alerts list").text == ""
        assert h.api.logs[-1].fields == {"user_id": h.user.id, "path": "weather alerts list"}


def test_string_replies_are_ephemeral_posts_to_the_user() -> None:
    with PluginTestHarness(Weather) as h:
        h.activate()
        h.command("/weather Oslo")
        [reply] = h.api.ephemeral_posts
        assert (reply.user_id, reply.post.message, reply.post.channel_id) == (
            h.user.id,
            "sunny in Oslo",
            h.channel.id,
        )


def test_a_path_without_a_handler_answers_with_its_sub_commands() -> None:
    with PluginTestHarness(Weather) as h:
        h.activate()
        text = h.command("/admin").text
        assert text.startswith("Usage of /admin:")
        assert "- `/admin reset` — Reset everything" in text


def test_app_errors_reach_the_caller_and_wrong_results_are_named() -> None:
    with PluginTestHarness(Weather) as h:
        h.activate()
        with pytest.raises(NotFoundError, match="nothing to reset"):
            h.command("/admin reset")
        with pytest.raises(TypeError, match=r"/bad \(Weather.bad\) returned int; return a str"):
            h.command("/bad")


def test_unknown_triggers_are_not_found_like_on_the_server() -> None:
    with PluginTestHarness(Weather) as h:
        h.activate()
        with pytest.raises(AppError) as info:
            h.command("/nope")
        assert info.value.status_code == 404
        assert info.value.message.startswith("Command with a trigger of 'nope' not found.")


def test_users_see_what_the_server_shows_for_app_errors() -> None:
    class Shown(Plugin):
        @command("plain")
        def plain(self, call: CommandCall) -> str:
            raise AppError("The weather service is down", status_code=503)

        @command("untranslated")
        def untranslated(self, call: CommandCall) -> str:
            # skip_translation=False: the server shows the id, as for a Go plugin's
            # model.NewAppError(where, "weather.down", ...).
            raise AppError("nicer text", id="weather.down", skip_translation=False)

        @command("badstatus")
        def badstatus(self, call: CommandCall) -> str:
            raise AppError("odd status", status_code=42)

    with PluginTestHarness(Shown) as h:
        h.activate()
        with pytest.raises(AppError) as plain:
            h.command("/plain")
        assert (plain.value.message, plain.value.status_code) == (
            "The weather service is down",
            503,
        )
        with pytest.raises(AppError) as untranslated:
            h.command("/untranslated")
        assert untranslated.value.message == "weather.down"
        with pytest.raises(AppError) as odd:
            h.command("/badstatus")
        assert odd.value.status_code == 500  # the server buckets it under 500


def test_a_crashing_command_tells_the_user_which_command_failed() -> None:
    class Crashy(Plugin):
        @command("crash")
        def crash(self, call: CommandCall) -> str:
            raise KeyError("missing")

    with PluginTestHarness(Crashy, raise_hook_errors=False) as h:
        h.activate()
        with pytest.raises(AppError) as info:
            h.command("/Crash now")
        assert info.value.message == (
            "/crash command crashed the com.example.plugin plugin. Please contact your system "
            "administrator"
        )
        assert info.value.status_code == 500
    with PluginTestHarness(Crashy) as h, pytest.raises(KeyError):
        h.activate()
        h.command("/crash")  # raise_hook_errors=True (the default): the test sees the cause


def test_an_execute_command_answering_none_is_not_found_like_on_the_server() -> None:
    class Silent(Plugin):
        def on_activate(self) -> None:
            from mmplugin.models import Command

            self.api.register_command(Command(trigger="quiet"))

        def execute_command(self, ctx: object, args: object) -> None:
            return None

    with PluginTestHarness(Silent) as h:
        h.activate()
        with pytest.raises(NotFoundError, match="Command with a trigger of 'quiet' not found"):
            h.command("/quiet")


def test_the_plugins_own_execute_command_gets_commands_the_decorators_do_not_know() -> None:
    class Mixed(Plugin):
        def on_activate(self) -> None:
            from mmplugin.models import Command

            self.api.register_command(Command(trigger="legacy"))

        def execute_command(self, ctx: object, args: object) -> CommandResponse:
            return ephemeral("legacy handler")

        @command("modern")
        def modern(self, call: CommandCall) -> str:
            return "modern handler"

    with PluginTestHarness(Mixed) as h:
        assert h.implemented == ["OnActivate", "ExecuteCommand"]
        h.activate()
        assert h.command("/modern").text == "modern handler"
        assert h.command("/legacy").text == "legacy handler"


def test_invalid_declarations_fail_at_class_creation() -> None:
    with pytest.raises(ValueError, match="not a valid command word"):
        command("/ bad/word")
    with pytest.raises(ValueError, match="needs a name"):
        command("  ")
    with pytest.raises(ValueError, match=r"two handlers for /x: a and b"):

        class Twice(Plugin):
            @command("x")
            def a(self, call: CommandCall) -> str:
                return ""

            @command("X")
            def b(self, call: CommandCall) -> str:
                return ""


def test_without_commands_no_command_hooks_are_claimed() -> None:
    class Quiet(Plugin):
        pass

    with PluginTestHarness(Quiet) as h:
        assert h.implemented == []
