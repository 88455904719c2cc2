from __future__ import annotations

import time
from typing import Any

import pytest
from mmplugin.models import MessageAttachment, Post, User
from mmplugin.testing import HarnessFactory, PluginTestHarness

from welcomebot.plugin import CHANNEL_KEY, HELP, WELCOMED_KEY, WelcomeBot, WelcomeMessage

Harness = PluginTestHarness[WelcomeBot]

# The Go Welcome Bot's configuration, as it sits in config.json: the same works here.
GO_CONFIG = {
    "WelcomeMessages": [
        {
            "TeamName": "test",
            "DelayInSeconds": 0,
            "Message": [
                "Welcome {{.UserDisplayName}} to {{.Team.DisplayName}}!",
                "Start in ~{{.Townsquare.Name}}; I am @{{.WelcomeBot.Username}}.",
            ],
            "AttachmentMessage": ["Your DM with me is {{.DirectMessage.Id}}"],
        },
        {"TeamName": "other", "Message": ["Not for the test team"]},
    ]
}


@pytest.fixture
def bot(plugin_harness: HarnessFactory) -> Harness:
    harness = plugin_harness(WelcomeBot, config=GO_CONFIG)
    harness.activate()
    return harness


def dms_from_bot(h: Harness, user: User) -> list[Post]:
    dm = h.api.get_direct_channel(user.id, h.plugin.bot_id)
    return [p for p in h.api.posts_in(dm) if p.user_id == h.plugin.bot_id]


def join_team(h: Harness, username: str, **fields: Any) -> User:
    user = h.api.add_user(username, **fields)
    h.api.create_team_member(h.team.id, user.id)  # the API runs user_has_joined_team
    return user


def test_configuration_from_the_go_plugin_loads_unchanged(bot: Harness) -> None:
    first = bot.plugin.config.welcome_messages[0]
    assert first.team_name == "test" and len(first.message) == 2
    assert bot.implemented == [
        "OnActivate",
        "OnConfigurationChange",
        "ExecuteCommand",
        "MessageHasBeenPosted",
        "UserHasJoinedChannel",
        "UserHasJoinedTeam",
    ]
    cmd = bot.api.commands[0]
    assert cmd.trigger == "welcomebot" and cmd.autocomplete_data is not None
    assert "preview" in [s.trigger for s in cmd.autocomplete_data.sub_commands or []]


def test_a_new_team_member_gets_the_rendered_welcome_dm(bot: Harness) -> None:
    bob = join_team(bot, "bob", first_name="Bob", last_name="Builder")
    bot.wait_until(lambda: dms_from_bot(bot, bob), what="the welcome DM")
    [dm] = dms_from_bot(bot, bob)
    assert dm.message == "Welcome Bob Builder to test!\nStart in ~town-square; I am @welcomebot."
    [attachment] = (dm.props or {})["attachments"]
    assert attachment == MessageAttachment(text=f"Your DM with me is {dm.channel_id}")


def test_each_user_is_welcomed_once_per_team(bot: Harness) -> None:
    bob = join_team(bot, "bob")
    bot.wait_until(lambda: dms_from_bot(bot, bob))
    bot.api.delete_team_member(bot.team.id, bob.id, bob.id)
    bot.api.create_team_member(bot.team.id, bob.id)
    time.sleep(0.1)
    assert len(dms_from_bot(bot, bob)) == 1
    assert f"{WELCOMED_KEY}{bot.team.id}_{bob.id}" in bot.api.kv_data()


def test_guests_and_bots_are_skipped_unless_guests_are_included(bot: Harness) -> None:
    guest = join_team(bot, "guest", roles="system_guest")
    robot = join_team(bot, "robot", is_bot=True)
    time.sleep(0.1)
    assert dms_from_bot(bot, guest) == [] and dms_from_bot(bot, robot) == []
    bot.set_config(
        {"WelcomeMessages": [{"TeamName": "test", "IncludeGuests": True, "Message": ["Hi guest"]}]}
    )
    guest2 = join_team(bot, "guest2", roles="system_guest")
    bot.wait_until(lambda: dms_from_bot(bot, guest2))
    assert dms_from_bot(bot, guest2)[0].message == "Hi guest"


def test_the_delay_is_honoured(bot: Harness) -> None:
    bot.set_config(
        {"WelcomeMessages": [{"TeamName": "test", "DelayInSeconds": 1, "Message": ["Later"]}]}
    )
    start = time.monotonic()
    bob = join_team(bot, "bob")
    bot.wait_until(lambda: dms_from_bot(bot, bob), timeout=5)
    assert time.monotonic() - start >= 1


def test_a_team_welcome_set_by_command_replaces_the_configured_one(bot: Harness) -> None:
    assert bot.command("/welcomebot set_team_welcome Hello  team!").text.startswith(
        "You do not have the proper privileges"
    )
    make_admin(bot)
    reply = bot.command("/welcomebot set_team_welcome Hello  team!")
    assert reply.text == "stored the team welcome message:\nHello  team!"
    assert bot.command("/welcomebot get_team_welcome").text == "Hello  team!"
    bob = join_team(bot, "bob")
    bot.wait_until(lambda: dms_from_bot(bot, bob))
    assert dms_from_bot(bot, bob)[0].message == "Hello  team!"
    assert bot.command("/welcomebot delete_team_welcome").text == (
        "team welcome message has been deleted"
    )


def make_admin(h: Harness) -> None:
    user = h.api.get_user(h.user.id)
    user.roles = "system_user system_admin"
    h.api.update_user(user)


def test_channel_welcome_messages(bot: Harness) -> None:
    assert bot.command("/welcomebot set_channel_welcome Hi!").text == (
        "/welcomebot commands can only be executed by the user with a system admin role, "
        "team admin role, or channel admin role"
    )
    bot.api.update_channel_member_roles(bot.channel.id, bot.user.id, "channel_user channel_admin")
    assert bot.command("/welcomebot get_channel_welcome").text == (
        "welcome message has not been set yet"
    )
    assert bot.command("/welcomebot set_channel_welcome Read the **rules**.").text.endswith(
        "Read the **rules**."
    )
    # Stored as raw bytes under the Go plugin's key, so the two plugins share it.
    assert bot.api.kv_data()[CHANNEL_KEY + bot.channel.id] == b"Read the **rules**."
    carol = bot.api.add_user("carol")
    bot.api.add_to_team(carol, bot.team)
    bot.api.add_channel_member(bot.channel.id, carol.id)
    [welcome] = [e for e in bot.api.ephemeral_posts if e.user_id == carol.id]
    assert (welcome.post.message, welcome.post.user_id) == (
        "Read the **rules**.",
        bot.plugin.bot_id,
    )
    assert bot.command("/welcomebot delete_channel_welcome").text == (
        "welcome message has been deleted"
    )
    assert CHANNEL_KEY + bot.channel.id not in bot.api.kv_data()


def test_preview_renders_for_the_caller_and_needs_admin_rights(bot: Harness) -> None:
    assert bot.command("/welcomebot preview").text == (
        "Please specify a team, for which preview should be made."
    )
    assert bot.command("/welcomebot preview test").text.startswith("You do not have")
    assert "has not been found" in bot.command("/welcomebot preview nowhere").text
    make_admin(bot)
    bot.command("/welcomebot preview test")
    preview = bot.api.ephemeral_posts[-1]
    assert preview.user_id == bot.user.id and preview.post.channel_id == bot.channel.id
    assert preview.post.message.startswith("Welcome alice to test!")


def test_list_is_for_system_admins(bot: Harness) -> None:
    assert bot.command("/welcomebot list").text == (
        "Only a System Admin can view all teams with welcome messages."
    )
    make_admin(bot)
    assert bot.command("/welcomebot list").text == "\n * other\n * test"


def test_help_by_command_and_by_direct_message(bot: Harness) -> None:
    assert bot.command("/welcomebot").text == HELP
    assert bot.command("/welcomebot help").text == HELP
    dm = bot.api.get_direct_channel(bot.user.id, bot.plugin.bot_id)
    bot.post(bot.user, dm, "Help")
    bot.wait_until(lambda: dms_from_bot(bot, bot.user))
    assert dms_from_bot(bot, bot.user)[-1].message == HELP
    bot.post(bot.user, bot.channel, "help")  # not a DM with the bot: ignored
    assert len(dms_from_bot(bot, bot.user)) == 1


def test_a_message_config_with_a_wrong_type_names_the_key(bot: Harness) -> None:
    from mmplugin import ConfigurationError

    # The server lower-cases top-level plugin setting keys; the error names the key as sent.
    with pytest.raises(ConfigurationError, match=r'"welcomemessages\[0\].DelayInSeconds"'):
        bot.set_config({"WelcomeMessages": [{"TeamName": "x", "DelayInSeconds": "soon"}]})
    assert bot.plugin.config.welcome_messages[0] == WelcomeMessage(
        team_name="test",
        message=GO_CONFIG["WelcomeMessages"][0]["Message"],  # type: ignore[index]
        attachment_message=["Your DM with me is {{.DirectMessage.Id}}"],
    )
