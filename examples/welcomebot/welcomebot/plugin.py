"""Welcome Bot: a Python port of mattermost-plugin-welcomebot's server side.

- A new team member gets a direct message from the bot: the team's message set with
  ``/welcomebot set_team_welcome``, else the ``WelcomeMessages`` configured for the team (Go
  template fields such as ``{{.UserDisplayName}}`` work, ``DelayInSeconds`` is honoured, guests
  only with ``IncludeGuests``). Unlike the Go plugin, a user is welcomed once per team: the KV
  store remembers who was welcomed, so leaving and re-joining does not greet them again.
- Someone joining a public channel with a welcome message (``/welcomebot set_channel_welcome``)
  sees it as an ephemeral post.
- ``/welcomebot preview|list|help`` and the channel/team welcome commands, with the Go plugin's
  permission checks. Writing "help" to the bot in a direct message gets the command list.

The KV keys are the Go plugin's (``chanmsg_<channel id>``, ``teammsg_<team id>``, raw bytes), so
messages stored by the Go plugin carry over. Not ported: the action buttons (they need the
plugin's HTTP endpoint).
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

from mmplugin import CommandCall, Plugin, Settings, command, on_message
from mmplugin.config import setting
from mmplugin.errors import NotFoundError
from mmplugin.models import ChannelMember, Context, MessageAttachment, Post, TeamMember, User

from .template import MessageTemplate, render

CHANNEL_KEY = "chanmsg_"
TEAM_KEY = "teammsg_"
WELCOMED_KEY = "welcomed_"

HELP = """* `/welcomebot preview [team-name]` - preview the welcome message for the given team
* `/welcomebot list` - list the teams for which welcome messages were defined
* `/welcomebot set_channel_welcome [welcome-message]` - set this channel's welcome message
* `/welcomebot get_channel_welcome` - print this channel's welcome message (if any)
* `/welcomebot delete_channel_welcome` - delete this channel's welcome message (if any)
* `/welcomebot set_team_welcome [welcome-message]` - set a text welcome message for this team
* `/welcomebot get_team_welcome` - print this team's welcome message (if any)
* `/welcomebot delete_team_welcome` - delete this team's welcome message (if any)"""

NO_PRIVILEGES = "You do not have the proper privileges to control this Team's welcome messages."
NOT_CHANNEL_ADMIN = (
    "/welcomebot commands can only be executed by the user with a system admin role, "
    "team admin role, or channel admin role"
)


@dataclass
class WelcomeMessage:
    """One entry of WelcomeMessages in the plugin's configuration (the Go ConfigMessage)."""

    team_name: str = ""
    message: list[str] = field(default_factory=list)
    attachment_message: list[str] = field(default_factory=list)
    delay_in_seconds: int = 0
    include_guests: bool = False


class WelcomebotSettings(Settings):
    welcome_messages: list[WelcomeMessage] = setting(default_factory=list)


def _has_role(roles: str, role: str) -> bool:
    return role in roles.split()


class WelcomeBot(Plugin):
    config: WelcomebotSettings

    async def on_activate(self) -> None:
        self.bot_id = await self.aensure_bot(
            "welcomebot",
            display_name="Welcomebot",
            description="A bot account created by the Welcomebot plugin.",
        )
        self.pending: set[asyncio.Task[None]] = set()

    # --- hooks ---------------------------------------------------------------------------

    async def user_has_joined_team(
        self, ctx: Context, member: TeamMember, actor: User | None
    ) -> None:
        api = self.async_api
        user, team = await api.get_user(member.user_id), await api.get_team(member.team_id)
        custom = await self.async_kv.get_bytes(TEAM_KEY + team.id)
        if custom:
            messages = [WelcomeMessage(team_name=team.name, message=[custom.decode()])]
        else:
            messages = [m for m in self.config.welcome_messages if m.team_name == team.name]
        if _has_role(user.roles, "system_guest"):
            messages = [m for m in messages if m.include_guests]
        if user.is_bot or not messages:
            return
        # Once per user and team, even if two joins race (atomic: only if not set yet).
        key = f"{WELCOMED_KEY}{team.id}_{user.id}"
        if not await self.async_kv.set_atomic(key, None, {"at": int(time.time())}):
            return
        data = await self._template(user, member.team_id)
        for message in messages:
            task = asyncio.create_task(self._welcome(data, message))
            self.pending.add(task)  # keep a reference until it is done
            task.add_done_callback(self.pending.discard)

    async def user_has_joined_channel(
        self, ctx: Context, member: ChannelMember, actor: User | None
    ) -> None:
        channel = await self.async_api.get_channel(member.channel_id)
        text = await self.async_kv.get_bytes(CHANNEL_KEY + channel.id)
        if channel.type == "O" and text:
            post = Post(user_id=self.bot_id, channel_id=channel.id, message=text.decode())
            await self.async_api.send_ephemeral_post(member.user_id, post)

    @on_message(r"(?i)^\s*help\s*$", channel_types=["D"])
    async def dm_help(self, post: Post, match: re.Match[str]) -> None:
        dm = await self.async_api.get_direct_channel(post.user_id, self.bot_id)
        if dm.id == post.channel_id:
            reply = Post(user_id=self.bot_id, channel_id=dm.id, message=HELP)
            await self.async_api.create_post(reply)

    # --- rendering -------------------------------------------------------------------------

    async def _template(self, user: User, team_id: str) -> MessageTemplate:
        api = self.async_api
        try:
            townsquare = await api.get_channel_by_name(team_id, "town-square", False)
        except NotFoundError:
            townsquare = None
        return MessageTemplate(
            welcome_bot=await api.get_user(self.bot_id),
            user=user,
            team=await api.get_team(team_id),
            townsquare=townsquare,
            direct_message=await api.get_direct_channel(user.id, self.bot_id),
        )

    def _post(self, data: MessageTemplate, message: WelcomeMessage, channel_id: str) -> Post:
        post = Post(
            user_id=self.bot_id, channel_id=channel_id, message=render(message.message, data)
        )
        if message.attachment_message:
            text = render(message.attachment_message, data)
            post.props = {"attachments": [MessageAttachment(text=text)]}
        return post

    async def _welcome(self, data: MessageTemplate, message: WelcomeMessage) -> None:
        await asyncio.sleep(message.delay_in_seconds)
        try:
            await self.async_api.create_post(self._post(data, message, data.direct_message.id))
        except Exception:
            self.log.exception("could not send the welcome message", user_id=data.user.id)

    # --- permissions -----------------------------------------------------------------------

    async def _is_admin(self, user_id: str, team_id: str, channel_id: str = "") -> bool:
        """System admin, admin of the team, or (with channel_id) admin of the channel."""
        api = self.async_api
        if _has_role((await api.get_user(user_id)).roles, "system_admin"):
            return True
        try:
            member = await api.get_team_member(team_id, user_id)
            if member.scheme_admin or _has_role(member.roles, "team_admin"):
                return True
            if channel_id:
                cm = await api.get_channel_member(channel_id, user_id)
                return cm.scheme_admin or _has_role(cm.roles, "channel_admin")
        except NotFoundError:
            pass
        return False

    # --- /welcomebot -----------------------------------------------------------------------

    @command(
        "welcomebot",
        description="Welcome Bot helps add new team members to channels.",
        hint="[command]",
    )
    def help(self, call: CommandCall) -> str:
        return HELP

    @command("welcomebot help", description="Show the commands")
    def help_command(self, call: CommandCall) -> str:
        return HELP

    @command(
        "welcomebot preview", description="Preview a team's welcome message", hint="[team-name]"
    )
    async def preview(self, call: CommandCall) -> str | None:
        if len(call.args) != 1:
            return "Please specify a team, for which preview should be made."
        name = call.args[0].lower()
        try:
            team = await self.async_api.get_team_by_name(name)
            await self.async_api.get_team_member(team.id, call.user_id)
        except NotFoundError:
            return f"team `{name}` has not been found, or you are not a member of it."
        if not await self._is_admin(call.user_id, team.id):
            return NO_PRIVILEGES
        custom = await self.async_kv.get_bytes(TEAM_KEY + team.id)
        messages = (
            [WelcomeMessage(message=[custom.decode()])]
            if custom
            else [m for m in self.config.welcome_messages if m.team_name == name]
        )
        if not messages:
            return f"team `{name}` has no welcome message."
        data = await self._template(await self.async_api.get_user(call.user_id), team.id)
        for message in messages:
            post = self._post(data, message, call.channel_id)
            await self.async_api.send_ephemeral_post(call.user_id, post)
        return None

    @command("welcomebot list", description="List the teams with welcome messages")
    async def list_teams(self, call: CommandCall) -> str:
        user = await self.async_api.get_user(call.user_id)
        if not _has_role(user.roles, "system_admin"):
            return "Only a System Admin can view all teams with welcome messages."
        teams = {m.team_name for m in self.config.welcome_messages}
        for key in await self.async_kv.list_keys(prefix=TEAM_KEY):
            teams.add((await self.async_api.get_team(key[len(TEAM_KEY) :])).name)
        if not teams:
            return "There are no welcome messages defined"
        return "".join(f"\n * {name}" for name in sorted(teams))

    async def _channel_command(self, call: CommandCall) -> str | None:
        """Refuses callers who may not manage this channel's welcome; None when allowed."""
        if not await self._is_admin(call.user_id, call.team_id, call.channel_id):
            return NOT_CHANNEL_ADMIN
        channel = await self.async_api.get_channel(call.channel_id)
        if channel.type != "O":
            return "welcome messages are only supported for public channels"
        return None

    @command(
        "welcomebot set_channel_welcome",
        description="Set this channel's welcome message",
        hint="[welcome-message]",
    )
    async def set_channel_welcome(self, call: CommandCall) -> str:
        if not call.text:
            return "`set_channel_welcome` command requires the message to be provided"
        refused = await self._channel_command(call)
        if refused:
            return refused
        await self.async_kv.set(CHANNEL_KEY + call.channel_id, call.text.encode())
        return f"stored the channel welcome message:\n{call.text}"

    @command("welcomebot get_channel_welcome", description="Print this channel's welcome message")
    async def get_channel_welcome(self, call: CommandCall) -> str:
        refused = await self._channel_command(call)
        text = await self.async_kv.get_bytes(CHANNEL_KEY + call.channel_id)
        if refused or not text:
            return refused or "welcome message has not been set yet"
        return f"Welcome message is:\n{text.decode()}"

    @command("welcomebot delete_channel_welcome", description="Delete this channel's welcome")
    async def delete_channel_welcome(self, call: CommandCall) -> str:
        refused = await self._channel_command(call)
        if refused or not await self.async_kv.get_bytes(CHANNEL_KEY + call.channel_id):
            return refused or "welcome message has not been set yet"
        await self.async_kv.delete(CHANNEL_KEY + call.channel_id)
        return "welcome message has been deleted"

    @command(
        "welcomebot set_team_welcome",
        description="Set this team's welcome message",
        hint="[welcome-message]",
    )
    async def set_team_welcome(self, call: CommandCall) -> str:
        if not call.text:
            return "`set_team_welcome` command requires the message to be provided"
        if not await self._is_admin(call.user_id, call.team_id):
            return NO_PRIVILEGES
        await self.async_kv.set(TEAM_KEY + call.team_id, call.text.encode())
        return f"stored the team welcome message:\n{call.text}"

    @command("welcomebot get_team_welcome", description="Print this team's welcome message")
    async def get_team_welcome(self, call: CommandCall) -> str:
        if not await self._is_admin(call.user_id, call.team_id):
            return NO_PRIVILEGES
        text = await self.async_kv.get_bytes(TEAM_KEY + call.team_id)
        return text.decode() if text else "welcome message has not been set"

    @command("welcomebot delete_team_welcome", description="Delete this team's welcome message")
    async def delete_team_welcome(self, call: CommandCall) -> str:
        if not await self._is_admin(call.user_id, call.team_id):
            return NO_PRIVILEGES
        await self.async_kv.delete(TEAM_KEY + call.team_id)
        return "team welcome message has been deleted"
