"""Plugin + harness: implemented hooks, lifecycle order, hook outcomes, helpers."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

import pytest

from mmplugin import DISMISS, Context, Dismiss, Plugin, Post, Reject, Settings, on_message
from mmplugin.config import ConfigurationError
from mmplugin.errors import BadRequestError
from mmplugin.models import Channel, User
from mmplugin.testing import BOT_USER_KEY, PluginTestHarness


class Conf(Settings):
    word: str = "darn"


class Moderator(Plugin):
    config: Conf

    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_configuration_change(self) -> None:
        # The API works here already, as for a Go plugin.
        self.calls.append(f"config:{self.config.word}:{self.api.get_server_version()}")

    def on_activate(self) -> None:
        self.calls.append("activate")

    def on_deactivate(self) -> None:
        self.calls.append("deactivate")

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | Dismiss | None:
        if self.config.word in post.message:
            return Reject(f"please do not say {self.config.word}")
        if post.message == "shh":
            return DISMISS
        if post.message.startswith("typo"):
            post.message = post.message.replace("typo", "type")
            return post
        return None

    async def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        self.calls.append(f"posted:{post.message}")


def test_implemented_is_what_the_class_defines_plus_what_its_features_need() -> None:
    with PluginTestHarness(Moderator) as h:
        assert h.implemented == [
            "OnActivate",
            "OnDeactivate",
            "OnConfigurationChange",
            "MessageWillBePosted",
            "MessageHasBeenPosted",
        ]


def test_configuration_change_runs_before_activate_and_config_is_typed() -> None:
    with PluginTestHarness(Moderator, config={"Word": "heck"}) as h:
        h.activate()
        assert h.plugin.calls == ["config:heck:10.11.0", "activate"]
        h.set_config({"word": "gosh"})
        assert h.plugin.config == Conf(word="gosh")
        h.deactivate()
        assert h.plugin.calls[-1] == "deactivate"


def test_a_bad_configuration_keeps_the_old_one_and_names_the_key() -> None:
    class Typed(Plugin):
        config: TypedConf

    with PluginTestHarness(Typed, config={"limit": 3}) as h:
        h.activate()
        with pytest.raises(ConfigurationError, match=r'"limit" \(TypedConf.limit\)'):
            h.set_config({"limit": "lots"})
        assert h.plugin.config.limit == 3


class TypedConf(Settings):
    limit: int = 1


def test_message_will_be_posted_outcomes() -> None:
    with PluginTestHarness(Moderator) as h:
        h.activate()
        assert h.post(h.user, h.channel, "typo here").message == "type here"
        assert h.post(h.user, h.channel, "fine").message == "fine"
        with pytest.raises(BadRequestError) as rejected:
            h.post(h.user, h.channel, "oh darn")
        assert rejected.value.message == "Post rejected by plugin. please do not say darn"
        with pytest.raises(BadRequestError) as dismissed:
            h.post(h.user, h.channel, "shh")
        assert dismissed.value.message == "plugin.message_will_be_posted.dismiss_post"
        assert [p.message for p in h.api.posts] == ["type here", "fine"]
        # message_has_been_posted (async) saw the saved posts only.
        assert [c for c in h.plugin.calls if c.startswith("posted:")] == [
            "posted:type here",
            "posted:fine",
        ]


def test_a_wrong_return_type_is_reported_with_the_hook_and_expected_types() -> None:
    class Wrong(Plugin):
        def message_will_be_posted(self, ctx: Context, post: Post) -> str:
            return "nope"

    with PluginTestHarness(Wrong) as h:
        h.activate()
        with pytest.raises(TypeError, match=r"message_will_be_posted returned str 'nope'"):
            h.post(h.user, h.channel, "x")


def test_with_raise_hook_errors_false_the_servers_defaults_apply(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken(Plugin):
        def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
            raise RuntimeError("bug in plugin")

    with PluginTestHarness(Broken, raise_hook_errors=False) as h:
        h.activate()
        assert h.post(h.user, h.channel, "kept").message == "kept"
        assert "bug in plugin" in caplog.text


def test_sdk_attributes_are_not_there_in_init_and_the_error_says_when_they_are() -> None:
    class Early(Plugin):
        def __init__(self) -> None:
            self.api.get_server_version()

    with pytest.raises(AttributeError, match=r"self.api is not set yet.*on_activate"):
        PluginTestHarness(Early)


def test_misspelt_attributes_still_raise_plain_attribute_errors() -> None:
    class P(Plugin):
        pass

    with PluginTestHarness(P) as h, pytest.raises(AttributeError, match="has no attribute 'ap'"):
        h.plugin.ap  # type: ignore[attr-defined]  # noqa: B018


class Responder(Plugin):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot("responder", display_name="Responder")

    @on_message(r"^ping (?P<n>\d+)$")
    def ping(self, post: Post, match: re.Match[str]) -> None:
        self.api.create_post(
            Post(
                channel_id=post.channel_id,
                user_id=self.bot_id,
                message=f"pong {match['n']}",
                root_id=post.id,
            )
        )

    @on_message(r"p[io]ng", include_bots=True)
    async def audit(self, post: Post, match: re.Match[str]) -> None:
        self.seen.append(post.message)

    @on_message(channel_types=["D"])
    def direct(self, post: Post, match: re.Match[str]) -> None:
        self.seen.append(f"dm:{post.message}")

    @on_message("boom")
    def boom(self, post: Post, match: re.Match[str]) -> None:
        raise RuntimeError("handler failed")


def test_on_message_matches_skips_bots_and_filters_channel_types() -> None:
    with PluginTestHarness(Responder) as h:
        assert h.implemented == ["OnActivate", "MessageHasBeenPosted"]
        h.activate()
        root = h.post(h.user, h.channel, "ping 7")
        replies = [p for p in h.api.posts if p.root_id == root.id]
        assert [(p.message, p.user_id) for p in replies] == [("pong 7", h.plugin.bot_id)]
        # The bot's own "pong" did not trigger ping again, but include_bots saw it (first: the
        # reply was posted, and its hooks ran, while ping's handler was running).
        assert h.plugin.seen == ["pong 7", "ping 7"]
        dm = h.api.get_direct_channel(h.user.id, h.plugin.bot_id)
        h.post(h.user, dm, "hello bot")
        assert h.plugin.seen[-1] == "dm:hello bot"


def test_a_failing_on_message_handler_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with PluginTestHarness(Responder) as h:
        h.activate()
        dm = h.api.get_direct_channel(h.user.id, h.plugin.bot_id)
        h.post(h.user, dm, "boom")
        assert h.plugin.seen == ["dm:boom"]
        assert "@on_message handler failed" in caplog.text and "handler failed" in caplog.text


def test_ensure_bot_creates_once_updates_and_sets_the_profile_image(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "bot.png").write_bytes(b"PNG")

    class Bots(Plugin):
        def on_activate(self) -> None:
            self.first = self.ensure_bot(
                "helper", display_name="Helper", profile_image="assets/bot.png"
            )
            self.second = self.ensure_bot("helper", description="Helps")

    with PluginTestHarness(Bots, bundle_path=str(tmp_path)) as h:
        h.activate()
        assert h.plugin.first == h.plugin.second
        bot = h.api.get_bot(h.plugin.first, False)
        assert (bot.username, bot.display_name, bot.description) == ("helper", "", "Helps")
        assert bot.owner_id == h.api.plugin_id
        assert h.api.get_profile_image(bot.user_id) == b"PNG"
        assert h.api.kv_data()[BOT_USER_KEY] == bot.user_id.encode()
        assert "mutex_mmi_bot_ensure" not in h.api.kv_data()  # the mutex was released

    class Missing(Plugin):
        def on_activate(self) -> None:
            self.ensure_bot("helper", profile_image="nope.png")

    with (
        PluginTestHarness(Missing, bundle_path=str(tmp_path)) as missing,
        pytest.raises(FileNotFoundError, match=r"'nope.png'.*relative to the plugin bundle"),
    ):
        missing.activate()


def test_async_plugins_use_the_async_helpers() -> None:
    class AsyncBot(Plugin):
        async def on_activate(self) -> None:
            self.bot_id = await self.aensure_bot("abot")
            await self.async_kv.set("ready", True)
            await self.apublish_cluster_event("hello", {"from": self.bot_id})

        async def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:
            user = await self.async_api.get_user(post.user_id)
            post.message = f"{user.username}: {post.message}"
            return post

    with PluginTestHarness(AsyncBot) as h:
        h.activate()
        assert h.plugin.kv.get("ready") is True
        assert h.post(h.user, h.channel, "hi").message == "alice: hi"
        assert h.api.cluster_events[0][0].id == "hello"


def test_blocking_api_calls_on_the_event_loop_are_reported() -> None:
    class Blocking(Plugin):
        channel_id = ""

        async def on_activate(self) -> None:
            bot = self.ensure_bot("b")  # sync API inside async def: triggers a hook on the loop
            self.api.create_post(Post(channel_id=self.channel_id, user_id=bot, message="x"))

        async def message_will_be_posted(self, ctx: Context, post: Post) -> None:
            return None

    with PluginTestHarness(Blocking) as h:
        h.plugin.channel_id = h.channel.id
        with pytest.raises(RuntimeError, match=r"use self\.async_api"):
            h.activate()


def test_self_log_reaches_logging_with_key_values(caplog: pytest.LogCaptureFixture) -> None:
    class Logs(Plugin):
        def on_activate(self) -> None:
            self.log.info("activated", user_count=3, name="x")
            self.log.with_fields(request="r1").warning("slow")

    caplog.set_level(logging.INFO)
    with PluginTestHarness(Logs, plugin_id="com.example.logs") as h:
        h.activate()
    info, warn = [r for r in caplog.records if r.name == "plugin.com.example.logs"]
    assert (info.getMessage(), info.user_count, info.name_) == ("activated", 3, "x")  # type: ignore[attr-defined]
    assert (warn.levelname, warn.request) == ("WARNING", "r1")  # type: ignore[attr-defined]
    assert info.filename == "test_sdk_plugin.py"  # the caller's line, not the adapter's


def test_manifest_settings_without_a_settings_class() -> None:
    manifest = {
        "id": "com.example.manifest",
        "settings_schema": {"settings": [{"key": "Greeting", "default": "Hello"}]},
    }

    class FromManifest(Plugin):
        pass

    with PluginTestHarness(FromManifest, manifest=manifest, config={"Other": 1}) as h:
        assert h.implemented == ["OnConfigurationChange"]
        h.activate()
        assert h.plugin.config["greeting"] == "Hello" and h.plugin.config["other"] == 1
        assert h.plugin.plugin_id == "com.example.manifest"


def test_a_plain_class_gets_the_hooks_it_defines_by_name() -> None:
    class Plain:
        def __init__(self) -> None:
            self.users: list[str] = []

        def user_has_been_created(self, ctx: Context, user: User) -> None:
            self.users.append(user.username)

    with PluginTestHarness(Plain) as h:
        assert h.implemented == ["UserHasBeenCreated"]
        h.activate()
        h.api.create_user(User(username="bob", email="bob@example.com"))
        assert h.plugin.users == ["bob"]


def test_membership_hooks_fire_from_the_api() -> None:
    class Members(Plugin):
        def __init__(self) -> None:
            self.events: list[str] = []

        def user_has_joined_channel(self, ctx: Context, member: object, actor: User | None) -> None:
            self.events.append(f"joined:{actor.username if actor else '-'}")

        def channel_has_been_created(self, ctx: Context, channel: Channel) -> None:
            self.events.append(f"created:{channel.name}")

    with PluginTestHarness(Members) as h:
        h.activate()
        bob = h.api.add_user("bob")
        h.api.add_to_team(bob, h.team)
        ch = h.api.create_channel(Channel(team_id=h.team.id, name="news", type="O"))
        h.api.add_user_to_channel(ch.id, bob.id, h.user.id)
        assert h.plugin.events == ["created:news", "joined:alice"]


def test_a_plain_override_hides_a_decorated_base_method() -> None:
    from mmplugin import ClusterEvent, CommandCall, command, on_cluster_event
    from mmplugin.cluster import collect_cluster_handlers
    from mmplugin.commands import collect_commands
    from mmplugin.messages import collect_message_routes

    class Base(Plugin):
        @command("base")
        def cmd(self, call: CommandCall) -> str:
            return ""

        @on_message("x")
        def msg(self, post: Post, match: re.Match[str]) -> None: ...

        @on_cluster_event("ev")
        def ev(self, event: ClusterEvent) -> None: ...

    class Child(Base):
        def cmd(self, call: CommandCall) -> str:  # no longer a command
            return ""

        def msg(self, post: Post, match: re.Match[str]) -> None: ...

        def ev(self, event: ClusterEvent) -> None: ...

    assert collect_commands(Base).triggers == ["base"]
    assert [r.handler_name for r in collect_message_routes(Base)] == ["msg"]
    assert collect_cluster_handlers(Base) == {"ev": "ev"}
    assert not collect_commands(Child) and collect_message_routes(Child) == []
    assert collect_cluster_handlers(Child) == {}
    with PluginTestHarness(Child) as h:
        assert h.implemented == []


def test_the_harness_has_no_database_unless_given_one() -> None:
    from mmplugin.testing import NotSupportedByFake

    class UsesDB(Plugin):
        def on_activate(self) -> None:
            self.store.connect()

    with PluginTestHarness(UsesDB) as h, pytest.raises(NotSupportedByFake, match="no database"):
        h.activate()

    sentinel = object()
    with PluginTestHarness(Responder, store=sentinel) as given:  # type: ignore[arg-type]
        assert given.plugin.store is sentinel
