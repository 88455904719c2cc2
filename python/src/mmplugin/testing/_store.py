"""The in-memory server state behind ``FakeAPI``: records, ids, a clock, error helpers."""

from __future__ import annotations

import base64
import copy
import dataclasses
import threading
import time
import uuid
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from mmplugin.errors import AppError, BadRequestError, ForbiddenError, NotFoundError
from mmplugin.models import (
    Bot,
    Channel,
    ChannelMember,
    Command,
    CommandArgs,
    CommandResponse,
    Post,
    Reaction,
    Team,
    TeamMember,
    User,
    WebsocketBroadcast,
)

_T = TypeVar("_T")


def new_id() -> str:
    """A 26-character id like Mattermost's ``model.NewId``."""
    return base64.b32encode(uuid.uuid4().bytes).decode().lower().rstrip("=")


def clone(value: _T) -> _T:
    """A deep copy, so neither the plugin nor the store can change the other's object."""
    return copy.deepcopy(value)


def replace(value: _T, **changes: Any) -> _T:
    return dataclasses.replace(clone(value), **changes)  # type: ignore[type-var]


def not_found(where: str, what: str, detail: str) -> NotFoundError:
    return NotFoundError(
        f"Unable to find the {what}.",
        id=f"app.{what}.missing.app_error",
        where=where,
        detailed_error=detail,
    )


def command_not_found(trigger: str) -> NotFoundError:
    """The server's answer to a command no plugin (or none that answered) handles."""
    return NotFoundError(
        f"Command with a trigger of '{trigger}' not found. To send a message beginning with "
        '"/", try adding an empty space at the beginning of the message.',
        id="api.command.execute_command.not_found.app_error",
        where="command",
    )


def command_crashed(trigger: str, plugin_id: str) -> AppError:
    """What the user sees when a command handler raised (or the plugin process is down): the
    server's own error for a Go plugin that crashed in a command, as mmplugin-host sends it."""
    return AppError(
        f"/{trigger} command crashed the {plugin_id} plugin. Please contact your system "
        "administrator",
        id="model.plugin_command_crash.error.app_error",
        where="ExecutePluginCommand",
        skip_translation=True,
    )


def as_server_shows(err: AppError) -> AppError:
    """A command's AppError as the REST client receives it: the server shows the translation of
    the id (one it does not know, which is any plugin's, as it is) unless skip_translation is
    set, and answers a status code outside 100-999 with 500."""
    shown = copy.copy(err)
    if not err.skip_translation:
        shown.message = err.id
    if not 100 <= err.status_code <= 999:
        shown.status_code = 500
    return shown


def bad_request(where: str, message: str, detail: str = "") -> BadRequestError:
    return BadRequestError(
        message, id="api.context.invalid_param.app_error", where=where, detailed_error=detail
    )


def forbidden(where: str, message: str) -> ForbiddenError:
    return ForbiddenError(message, id="api.context.permissions.app_error", where=where)


@dataclasses.dataclass(frozen=True)
class EphemeralPost:
    """An ephemeral post the plugin (or a command reply) sent to one user."""

    user_id: str
    post: Post


@dataclasses.dataclass(frozen=True)
class WebSocketEvent:
    """A ``publish_web_socket_event`` call (the server prefixes the event with the plugin id:
    ``custom_<plugin_id>_<event>``)."""

    event: str
    payload: dict[str, Any]
    broadcast: WebsocketBroadcast | None


@dataclasses.dataclass(frozen=True)
class LogEntry:
    """A ``log_*`` API call."""

    level: str
    message: str
    fields: dict[str, Any]


class ServerHooks(Protocol):
    """The plugin's hooks, as the fake server calls them (the test harness provides them).

    Each returns what the server would do with the hook's answer: the post to save (or a
    rejection reason), nothing for notifications. Hooks the plugin does not implement do
    nothing (and ``*_will_be_*`` ones keep their input).
    """

    def message_will_be_posted(self, post: Post) -> tuple[Post | None, str]: ...
    def message_has_been_posted(self, post: Post) -> None: ...
    def message_will_be_updated(self, new: Post, old: Post) -> tuple[Post | None, str]: ...
    def message_has_been_updated(self, new: Post, old: Post) -> None: ...
    def message_has_been_deleted(self, post: Post) -> None: ...
    def reaction_has_been_added(self, reaction: Reaction) -> None: ...
    def reaction_has_been_removed(self, reaction: Reaction) -> None: ...
    def user_has_been_created(self, user: User) -> None: ...
    def channel_has_been_created(self, channel: Channel) -> None: ...
    def user_has_joined_team(self, member: TeamMember, actor: User | None) -> None: ...
    def user_has_left_team(self, member: TeamMember, actor: User | None) -> None: ...
    def user_has_joined_channel(self, member: ChannelMember, actor: User | None) -> None: ...
    def user_has_left_channel(self, member: ChannelMember, actor: User | None) -> None: ...
    def execute_command(self, args: CommandArgs) -> CommandResponse | None: ...


class Store:
    """Everything the fake server knows. All access holds ``lock`` (an RLock: hooks the store
    runs may call back into the API from the same thread)."""

    def __init__(self, plugin_id: str, site_url: str) -> None:
        self.lock = threading.RLock()
        self.plugin_id = plugin_id
        self.site_url = site_url
        self.time_offset = 0.0
        self._last_post_at = 0
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.team_members: dict[tuple[str, str], TeamMember] = {}
        self.channels: dict[str, Channel] = {}
        self.channel_members: dict[tuple[str, str], ChannelMember] = {}
        self.posts: dict[str, Post] = {}
        self.reactions: list[Reaction] = []
        self.kv: dict[str, tuple[bytes, int]] = {}
        self.bots: dict[str, Bot] = {}
        self.commands: list[Command] = []
        self.profile_images: dict[str, bytes] = {}
        self.ephemeral_posts: list[EphemeralPost] = []
        self.websocket_events: list[WebSocketEvent] = []
        self.logs: list[LogEntry] = []
        self.cluster_events: list[Any] = []
        self.dialogs: list[Any] = []
        self.plugin_config: dict[str, Any] = {}
        self.hooks: ServerHooks | None = None

    def now_ms(self) -> int:
        return int((time.time() + self.time_offset) * 1000)

    def post_time(self) -> int:
        """A creation time later than every earlier post's, so that post order is total (two
        posts in the same millisecond would otherwise sort arbitrarily)."""
        self._last_post_at = max(self.now_ms(), self._last_post_at + 1)
        return self._last_post_at

    def advance(self, delta: timedelta | float) -> None:
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
        self.time_offset += seconds

    # --- lookups (hold the lock) ----------------------------------------------------------

    def user(self, where: str, user_id: str) -> User:
        u = self.users.get(user_id)
        if u is None:
            raise not_found(where, "user", f"user_id={user_id}")
        return u

    def team(self, where: str, team_id: str) -> Team:
        t = self.teams.get(team_id)
        if t is None:
            raise not_found(where, "team", f"team_id={team_id}")
        return t

    def channel(self, where: str, channel_id: str) -> Channel:
        c = self.channels.get(channel_id)
        if c is None:
            raise not_found(where, "channel", f"channel_id={channel_id}")
        return c

    def post(self, where: str, post_id: str) -> Post:
        p = self.posts.get(post_id)
        if p is None or p.delete_at:
            raise not_found(where, "post", f"post_id={post_id}")
        return p


def page(items: list[_T], page_num: int, per_page: int) -> list[_T]:
    if per_page <= 0:
        return list(items)
    start = max(page_num, 0) * per_page
    return items[start : start + per_page]


__all__ = [
    "AppError",
    "EphemeralPost",
    "LogEntry",
    "ServerHooks",
    "Store",
    "WebSocketEvent",
    "as_server_shows",
    "bad_request",
    "clone",
    "command_crashed",
    "command_not_found",
    "forbidden",
    "new_id",
    "not_found",
    "page",
    "replace",
]
