"""The hooks the Python probe records, as the Go probe does (conformance/goprobe/hooks.go): each
call's arguments without the Context, in canonical form, while recording is on. Every hook
leaves what it gets unchanged (None)."""

from __future__ import annotations

import threading
from typing import Any

from mmplugin import Context
from mmplugin.models import (
    Channel,
    ChannelMember,
    Config,
    Post,
    Preference,
    Reaction,
    TeamMember,
    User,
)

from pyprobe.canon import encode


class Recorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._on = False
        self._events: list[dict[str, Any]] = []

    def record(self, hook: str, *args: Any) -> None:
        with self._lock:
            if self._on:
                self._events.append({"hook": hook, "args": [encode(a) for a in args]})

    def start(self) -> None:
        with self._lock:
            self._on, self._events = True, []

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._events)


class RecordingHooks:
    """Mixed into the probe plugin: one method per recorded hook."""

    hooks = Recorder()

    def user_has_been_created(self, ctx: Context, user: User) -> None:
        self.hooks.record("UserHasBeenCreated", user)

    def user_will_log_in(self, ctx: Context, user: User) -> None:
        self.hooks.record("UserWillLogIn", user)

    def user_has_logged_in(self, ctx: Context, user: User) -> None:
        self.hooks.record("UserHasLoggedIn", user)

    def message_will_be_posted(self, ctx: Context, post: Post) -> None:
        self.hooks.record("MessageWillBePosted", post)

    def message_will_be_updated(self, ctx: Context, new_post: Post, old_post: Post) -> None:
        self.hooks.record("MessageWillBeUpdated", new_post, old_post)

    def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        self.hooks.record("MessageHasBeenPosted", post)

    def message_has_been_updated(self, ctx: Context, new_post: Post, old_post: Post) -> None:
        self.hooks.record("MessageHasBeenUpdated", new_post, old_post)

    def message_has_been_deleted(self, ctx: Context, post: Post) -> None:
        self.hooks.record("MessageHasBeenDeleted", post)

    def channel_has_been_created(self, ctx: Context, channel: Channel) -> None:
        self.hooks.record("ChannelHasBeenCreated", channel)

    def user_has_joined_channel(
        self, ctx: Context, channel_member: ChannelMember, actor: User | None
    ) -> None:
        self.hooks.record("UserHasJoinedChannel", channel_member, actor)

    def user_has_left_channel(
        self, ctx: Context, channel_member: ChannelMember, actor: User | None
    ) -> None:
        self.hooks.record("UserHasLeftChannel", channel_member, actor)

    def user_has_joined_team(
        self, ctx: Context, team_member: TeamMember, actor: User | None
    ) -> None:
        self.hooks.record("UserHasJoinedTeam", team_member, actor)

    def user_has_left_team(self, ctx: Context, team_member: TeamMember, actor: User | None) -> None:
        self.hooks.record("UserHasLeftTeam", team_member, actor)

    def reaction_has_been_added(self, ctx: Context, reaction: Reaction) -> None:
        self.hooks.record("ReactionHasBeenAdded", reaction)

    def reaction_has_been_removed(self, ctx: Context, reaction: Reaction) -> None:
        self.hooks.record("ReactionHasBeenRemoved", reaction)

    def user_has_been_deactivated(self, ctx: Context, user: User) -> None:
        self.hooks.record("UserHasBeenDeactivated", user)

    def preferences_have_changed(self, ctx: Context, preferences: list[Preference] | None) -> None:
        self.hooks.record("PreferencesHaveChanged", preferences)

    def messages_will_be_consumed(self, posts: list[Post] | None) -> None:
        self.hooks.record("MessagesWillBeConsumed", posts)

    def configuration_will_be_saved(self, new_cfg: Config) -> None:
        self.hooks.record("ConfigurationWillBeSaved", new_cfg)
