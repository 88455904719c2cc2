"""FakeAPI, part 1: users, teams, channels, their members, bots."""

from __future__ import annotations

import re
from typing import Any

from mmplugin.errors import AppError, PluginAPIError
from mmplugin.models import (
    Bot,
    BotGetOptions,
    BotPatch,
    Channel,
    ChannelMember,
    Team,
    TeamMember,
    User,
)

from ._base import FakeBase, id_of
from ._store import (
    bad_request,
    clone,
    new_id,
    not_found,
    replace,
)
from ._store import page as _page

BOT_USER_KEY = "mmi_botid"
"""Where the server remembers a plugin's bot (plugin.BotUserKey)."""
_SYSTEM_USER = "system_user"
_USERNAME = re.compile(r"^[a-z0-9.\-_]{1,64}$")


class PeopleMixin(FakeBase):
    # --- setting up the world (no hooks) -----------------------------------------------------

    def add_user(self, username: str, *, is_bot: bool = False, **fields: Any) -> User:
        fields.setdefault("email", f"{username}@example.com")
        fields.setdefault("roles", _SYSTEM_USER)
        user = User(username=username, is_bot=is_bot, **fields)
        return self._save_user(user, "add_user")

    def add_team(self, name: str, *, display_name: str = "", type: str = "O") -> Team:
        team = Team(name=name, display_name=display_name or name, type=type)
        return self._save_team(team, "add_team")

    def add_channel(
        self, team: str | Team, name: str, *, type: str = "O", display_name: str = ""
    ) -> Channel:
        channel = Channel(
            team_id=id_of(team), name=name, type=type, display_name=display_name or name
        )
        return self._save_channel(channel, "add_channel")

    def add_to_team(self, user: str | User, team: str | Team) -> TeamMember:
        return self._join_team(id_of(team), id_of(user), "add_to_team")

    def add_to_channel(self, user: str | User, channel: str | Channel) -> ChannelMember:
        return self._join_channel(id_of(channel), id_of(user), "add_to_channel")

    def _save_user(self, user: User, where: str) -> User:
        u = clone(user)
        u.username = u.username.lower()
        if not _USERNAME.match(u.username):
            raise bad_request(where, "Invalid username.", f"username={user.username!r}")
        s = self.store
        with s.lock:
            for other in s.users.values():
                if other.username == u.username:
                    raise bad_request(where, "An account with that username already exists.")
                if u.email and other.email == u.email:
                    raise bad_request(where, "An account with that email already exists.")
            u.id = u.id or new_id()
            u.create_at = u.update_at = s.now_ms()
            u.roles = u.roles or _SYSTEM_USER
            u.password = ""
            s.users[u.id] = u
            return clone(u)

    def create_user(self, user: User | None) -> User:
        if user is None:
            raise bad_request("CreateUser", "user is nil")
        created = self._save_user(user, "CreateUser")
        if self.store.hooks is not None:
            self.store.hooks.user_has_been_created(clone(created))
        return created

    def get_user(self, user_id: str) -> User:
        with self.store.lock:
            return clone(self.store.user("GetUser", user_id))

    def get_user_by_username(self, name: str) -> User:
        with self.store.lock:
            for u in self.store.users.values():
                if u.username == name.lower():
                    return clone(u)
        raise not_found("GetUserByUsername", "user", f"username={name}")

    def get_user_by_email(self, email: str) -> User:
        with self.store.lock:
            for u in self.store.users.values():
                if u.email.lower() == email.lower():
                    return clone(u)
        raise not_found("GetUserByEmail", "user", f"email={email}")

    def get_users_by_usernames(self, usernames: list[str] | None) -> list[User]:
        wanted = {n.lower() for n in usernames or ()}
        with self.store.lock:
            return [clone(u) for u in self.store.users.values() if u.username in wanted]

    def get_users_by_ids(self, user_ids: list[str] | None) -> list[User]:
        with self.store.lock:
            return [clone(self.store.users[i]) for i in user_ids or () if i in self.store.users]

    def update_user(self, user: User | None) -> User:
        if user is None:
            raise bad_request("UpdateUser", "user is nil")
        s = self.store
        with s.lock:
            old = s.user("UpdateUser", user.id)
            u = replace(user, create_at=old.create_at, update_at=s.now_ms(), password="")
            s.users[u.id] = u
            return clone(u)

    def update_user_active(self, user_id: str, active: bool) -> None:
        s = self.store
        with s.lock:
            u = s.user("UpdateUserActive", user_id)
            u.delete_at = 0 if active else s.now_ms()

    def delete_user(self, user_id: str) -> None:
        self.update_user_active(user_id, False)

    def get_users_in_team(self, team_id: str, page: int, per_page: int) -> list[User]:
        with self.store.lock:
            users = [
                clone(self.store.users[uid])
                for (tid, uid), m in self.store.team_members.items()
                if tid == team_id and not m.delete_at and uid in self.store.users
            ]
        return _page(sorted(users, key=lambda u: u.username), page, per_page)

    def get_users_in_channel(
        self, channel_id: str, sort_by: str, page: int, per_page: int
    ) -> list[User]:
        with self.store.lock:
            users = [
                clone(self.store.users[uid])
                for (cid, uid) in self.store.channel_members
                if cid == channel_id and uid in self.store.users
            ]
        return _page(sorted(users, key=lambda u: u.username), page, per_page)

    # --- teams -----------------------------------------------------------------------------

    def _save_team(self, team: Team, where: str) -> Team:
        t = clone(team)
        s = self.store
        with s.lock:
            if not t.name or any(o.name == t.name for o in s.teams.values()):
                raise bad_request(where, "A team with that name already exists.", t.name)
            t.id = t.id or new_id()
            t.create_at = t.update_at = s.now_ms()
            t.type = t.type or "O"
            s.teams[t.id] = t
            return clone(t)

    def create_team(self, team: Team | None) -> Team:
        if team is None:
            raise bad_request("CreateTeam", "team is nil")
        return self._save_team(team, "CreateTeam")

    def get_team(self, team_id: str) -> Team:
        with self.store.lock:
            return clone(self.store.team("GetTeam", team_id))

    def get_team_by_name(self, name: str) -> Team:
        with self.store.lock:
            for t in self.store.teams.values():
                if t.name == name:
                    return clone(t)
        raise not_found("GetTeamByName", "team", f"name={name}")

    def get_teams(self) -> list[Team]:
        with self.store.lock:
            return [clone(t) for t in self.store.teams.values()]

    def update_team(self, team: Team | None) -> Team:
        if team is None:
            raise bad_request("UpdateTeam", "team is nil")
        s = self.store
        with s.lock:
            old = s.team("UpdateTeam", team.id)
            t = replace(team, create_at=old.create_at, update_at=s.now_ms())
            s.teams[t.id] = t
            return clone(t)

    def get_teams_for_user(self, user_id: str) -> list[Team]:
        with self.store.lock:
            return [
                clone(self.store.teams[tid])
                for (tid, uid), m in self.store.team_members.items()
                if uid == user_id and not m.delete_at and tid in self.store.teams
            ]

    def _join_team(self, team_id: str, user_id: str, where: str) -> TeamMember:
        s = self.store
        with s.lock:
            s.team(where, team_id)
            s.user(where, user_id)
            member = TeamMember(
                team_id=team_id,
                user_id=user_id,
                roles="team_user",
                scheme_user=True,
                create_at=s.now_ms(),
            )
            s.team_members[(team_id, user_id)] = member
            return clone(member)

    def create_team_member(self, team_id: str, user_id: str) -> TeamMember:
        with self.store.lock:
            existing = self.store.team_members.get((team_id, user_id))
            if existing is not None and not existing.delete_at:
                return clone(existing)
        member = self._join_team(team_id, user_id, "CreateTeamMember")
        if self.store.hooks is not None:
            self.store.hooks.user_has_joined_team(clone(member), None)
        return member

    def delete_team_member(self, team_id: str, user_id: str, requestor_id: str) -> None:
        s = self.store
        with s.lock:
            member = s.team_members.get((team_id, user_id))
            if member is None or member.delete_at:
                raise not_found("DeleteTeamMember", "team_member", f"user_id={user_id}")
            member.delete_at = s.now_ms()
            left = clone(member)
            actor = clone(s.users[requestor_id]) if requestor_id in s.users else None
        if s.hooks is not None:
            s.hooks.user_has_left_team(left, actor)

    def get_team_member(self, team_id: str, user_id: str) -> TeamMember:
        with self.store.lock:
            member = self.store.team_members.get((team_id, user_id))
            if member is None:
                raise not_found("GetTeamMember", "team_member", f"user_id={user_id}")
            return clone(member)

    def update_team_member_roles(self, team_id: str, user_id: str, new_roles: str) -> TeamMember:
        with self.store.lock:
            member = self.store.team_members.get((team_id, user_id))
            if member is None:
                raise not_found("UpdateTeamMemberRoles", "team_member", f"user_id={user_id}")
            member.roles = new_roles
            member.scheme_admin = "team_admin" in new_roles.split()
            return clone(member)

    def get_team_members(self, team_id: str, page: int, per_page: int) -> list[TeamMember]:
        with self.store.lock:
            members = [clone(m) for (t, _), m in self.store.team_members.items() if t == team_id]
        return _page(members, page, per_page)

    def get_team_members_for_user(self, user_id: str, page: int, per_page: int) -> list[TeamMember]:
        with self.store.lock:
            members = [clone(m) for (_, u), m in self.store.team_members.items() if u == user_id]
        return _page(members, page, per_page)

    # --- channels --------------------------------------------------------------------------

    def _save_channel(self, channel: Channel, where: str) -> Channel:
        c = clone(channel)
        s = self.store
        with s.lock:
            if c.type in ("O", "P"):
                s.team(where, c.team_id)
                if not c.name:
                    raise bad_request(where, "A channel needs a name.")
                for o in s.channels.values():
                    if o.team_id == c.team_id and o.name == c.name:
                        raise bad_request(where, "A channel with that name already exists.")
            c.id = c.id or new_id()
            c.create_at = c.update_at = s.now_ms()
            s.channels[c.id] = c
            return clone(c)

    def create_channel(self, channel: Channel | None) -> Channel:
        if channel is None:
            raise bad_request("CreateChannel", "channel is nil")
        created = self._save_channel(channel, "CreateChannel")
        if self.store.hooks is not None:
            self.store.hooks.channel_has_been_created(clone(created))
        return created

    def get_channel(self, channel_id: str) -> Channel:
        with self.store.lock:
            return clone(self.store.channel("GetChannel", channel_id))

    def get_channel_by_name(self, team_id: str, name: str, include_deleted: bool) -> Channel:
        with self.store.lock:
            for c in self.store.channels.values():
                if c.team_id == team_id and c.name == name and (include_deleted or not c.delete_at):
                    return clone(c)
        raise not_found("GetChannelByName", "channel", f"name={name}")

    def get_channel_by_name_for_team_name(
        self, team_name: str, channel_name: str, include_deleted: bool
    ) -> Channel:
        team = self.get_team_by_name(team_name)
        return self.get_channel_by_name(team.id, channel_name, include_deleted)

    def _private_channel(self, user_ids: list[str], type: str, where: str) -> Channel:
        s = self.store
        with s.lock:
            for uid in user_ids:
                s.user(where, uid)
            ids = sorted(set(user_ids))
            name = "__".join(ids) if type == "D" else new_id()
            for c in s.channels.values():
                if (
                    c.type == type
                    and sorted(uid for (cid, uid) in s.channel_members if cid == c.id) == ids
                ):
                    return clone(c)
            channel = self._save_channel(Channel(type=type, name=name), where)
            for uid in ids:
                self._join_channel(channel.id, uid, where)
            return channel

    def get_direct_channel(self, user_id1: str, user_id2: str) -> Channel:
        return self._private_channel([user_id1, user_id2], "D", "GetDirectChannel")

    def get_group_channel(self, user_ids: list[str] | None) -> Channel:
        ids = list(user_ids or ())
        if not 3 <= len(set(ids)) <= 8:
            raise bad_request("GetGroupChannel", "A group message needs 3 to 8 users.")
        return self._private_channel(ids, "G", "GetGroupChannel")

    def update_channel(self, channel: Channel | None) -> Channel:
        if channel is None:
            raise bad_request("UpdateChannel", "channel is nil")
        s = self.store
        with s.lock:
            old = s.channel("UpdateChannel", channel.id)
            c = replace(channel, create_at=old.create_at, update_at=s.now_ms())
            s.channels[c.id] = c
            return clone(c)

    def delete_channel(self, channel_id: str) -> None:
        s = self.store
        with s.lock:
            c = s.channel("DeleteChannel", channel_id)
            c.delete_at = s.now_ms()

    def get_public_channels_for_team(self, team_id: str, page: int, per_page: int) -> list[Channel]:
        with self.store.lock:
            channels = [
                clone(c)
                for c in self.store.channels.values()
                if c.team_id == team_id and c.type == "O" and not c.delete_at
            ]
        return _page(sorted(channels, key=lambda c: c.name), page, per_page)

    def get_channels_for_team_for_user(
        self, team_id: str, user_id: str, include_deleted: bool
    ) -> list[Channel]:
        with self.store.lock:
            return [
                clone(c)
                for c in self.store.channels.values()
                if (c.team_id in (team_id, ""))
                and (c.id, user_id) in self.store.channel_members
                and (include_deleted or not c.delete_at)
            ]

    def _join_channel(self, channel_id: str, user_id: str, where: str) -> ChannelMember:
        s = self.store
        with s.lock:
            channel = s.channel(where, channel_id)
            s.user(where, user_id)
            if channel.type in ("O", "P"):
                tm = s.team_members.get((channel.team_id, user_id))
                if tm is None or tm.delete_at:
                    raise bad_request(
                        where,
                        "The user is not a member of the channel's team.",
                        f"user_id={user_id}, team_id={channel.team_id}",
                    )
            member = ChannelMember(
                channel_id=channel_id,
                user_id=user_id,
                roles="channel_user",
                scheme_user=True,
                notify_props={},
                last_update_at=s.now_ms(),
            )
            s.channel_members[(channel_id, user_id)] = member
            return clone(member)

    def _add_to_channel(self, channel_id: str, user_id: str, actor_id: str) -> ChannelMember:
        with self.store.lock:
            existing = self.store.channel_members.get((channel_id, user_id))
            if existing is not None:
                return clone(existing)
            member = self._join_channel(channel_id, user_id, "AddChannelMember")
            actor = clone(self.store.users.get(actor_id)) if actor_id else None
        if self.store.hooks is not None:
            self.store.hooks.user_has_joined_channel(clone(member), actor)
        return member

    def add_channel_member(self, channel_id: str, user_id: str) -> ChannelMember:
        return self._add_to_channel(channel_id, user_id, "")

    def add_user_to_channel(self, channel_id: str, user_id: str, as_user_id: str) -> ChannelMember:
        return self._add_to_channel(channel_id, user_id, as_user_id)

    def get_channel_member(self, channel_id: str, user_id: str) -> ChannelMember:
        with self.store.lock:
            member = self.store.channel_members.get((channel_id, user_id))
            if member is None:
                raise not_found("GetChannelMember", "channel_member", f"user_id={user_id}")
            return clone(member)

    def get_channel_members(self, channel_id: str, page: int, per_page: int) -> list[ChannelMember]:
        with self.store.lock:
            members = [
                clone(m) for (c, _), m in self.store.channel_members.items() if c == channel_id
            ]
        return _page(members, page, per_page)

    def update_channel_member_roles(
        self, channel_id: str, user_id: str, new_roles: str
    ) -> ChannelMember:
        with self.store.lock:
            member = self.store.channel_members.get((channel_id, user_id))
            if member is None:
                raise not_found("UpdateChannelMemberRoles", "channel_member", f"user_id={user_id}")
            member.roles = new_roles
            member.scheme_admin = "channel_admin" in new_roles.split()
            return clone(member)

    def delete_channel_member(self, channel_id: str, user_id: str) -> None:
        s = self.store
        with s.lock:
            member = s.channel_members.pop((channel_id, user_id), None)
        if member is None:
            raise not_found("DeleteChannelMember", "channel_member", f"user_id={user_id}")
        if s.hooks is not None:
            s.hooks.user_has_left_channel(member, None)

    # --- bots --------------------------------------------------------------------------------

    def create_bot(self, bot: Bot | None) -> Bot:
        if bot is None:
            raise bad_request("CreateBot", "bot is nil")
        b = clone(bot)
        b.owner_id = b.owner_id or self.store.plugin_id
        user = self._save_user(
            User(
                username=b.username,
                first_name=b.display_name,
                is_bot=True,
                bot_description=b.description,
                email=f"{b.username}@localhost",
            ),
            "CreateBot",
        )
        b.user_id, b.username = user.id, user.username
        b.create_at = b.update_at = user.create_at
        with self.store.lock:
            self.store.bots[b.user_id] = b
        return clone(b)

    def get_bot(self, bot_user_id: str, include_deleted: bool) -> Bot:
        with self.store.lock:
            b = self.store.bots.get(bot_user_id)
            if b is None or (b.delete_at and not include_deleted):
                raise not_found("SqlBotStore.Get", "bot", f"user_id={bot_user_id}")
            return clone(b)

    def get_bots(self, options: BotGetOptions | None) -> list[Bot]:
        o = options or BotGetOptions(per_page=200)
        with self.store.lock:
            bots = [
                clone(b)
                for b in self.store.bots.values()
                if (not o.owner_id or b.owner_id == o.owner_id)
                and (o.include_deleted or not b.delete_at)
            ]
        return _page(sorted(bots, key=lambda b: b.username), o.page, o.per_page)

    def patch_bot(self, bot_user_id: str, bot_patch: BotPatch | None) -> Bot:
        s = self.store
        with s.lock:
            b = s.bots.get(bot_user_id)
            if b is None:
                raise not_found("PatchBot", "bot", f"user_id={bot_user_id}")
            p = bot_patch or BotPatch()
            b.username = p.username if p.username is not None else b.username
            b.display_name = p.display_name if p.display_name is not None else b.display_name
            b.description = p.description if p.description is not None else b.description
            b.update_at = s.now_ms()
            u = s.users.get(bot_user_id)
            if u is not None:
                u.username, u.first_name = b.username, b.display_name
                u.bot_description = b.description
            return clone(b)

    def update_bot_active(self, bot_user_id: str, active: bool) -> Bot:
        s = self.store
        with s.lock:
            b = s.bots.get(bot_user_id)
            if b is None:
                raise not_found("UpdateBotActive", "bot", f"user_id={bot_user_id}")
            b.delete_at = 0 if active else s.now_ms()
            if bot_user_id in s.users:
                s.users[bot_user_id].delete_at = b.delete_at
            return clone(b)

    def permanent_delete_bot(self, bot_user_id: str) -> None:
        with self.store.lock:
            if self.store.bots.pop(bot_user_id, None) is None:
                raise not_found("PermanentDeleteBot", "bot", f"user_id={bot_user_id}")
            self.store.users.pop(bot_user_id, None)

    def ensure_bot_user(self, bot: Bot | None) -> str:
        # As the app layer's EnsureBot: the bot id is remembered under the plugin's bot key; an
        # existing bot is patched to match; a bot user with the same username is adopted.
        if bot is None:
            raise PluginAPIError("passed a nil bot")
        if not bot.username:
            raise PluginAPIError("passed a bot with no username")
        known = self.kv_get(BOT_USER_KEY)
        if known is not None and known.decode() in self.store.bots:
            bot_id = known.decode()
            self.patch_bot(
                bot_id,
                BotPatch(
                    username=bot.username,
                    display_name=bot.display_name,
                    description=bot.description,
                ),
            )
            return bot_id
        try:
            existing = self.get_user_by_username(bot.username)
        except AppError:
            existing = None
        if existing is not None:
            if existing.is_bot:
                self.kv_set(BOT_USER_KEY, existing.id.encode())
            return existing.id
        created = self.create_bot(
            Bot(
                username=bot.username,
                display_name=bot.display_name,
                description=bot.description,
                owner_id=self.plugin_id,
            )
        )
        self.kv_set(BOT_USER_KEY, created.user_id.encode())
        return created.user_id

    def set_profile_image(self, user_id: str, data: bytes | None) -> None:
        with self.store.lock:
            self.store.user("SetProfileImage", user_id)
            self.store.profile_images[user_id] = bytes(data or b"")

    def get_profile_image(self, user_id: str) -> bytes | None:
        with self.store.lock:
            self.store.user("GetProfileImage", user_id)
            return self.store.profile_images.get(user_id, b"")
