"""FakeAPI, part 2: posts (with the message hooks), reactions, ephemeral posts, commands."""

from __future__ import annotations

from collections.abc import Iterable

from mmplugin.errors import AppError, PluginAPIError
from mmplugin.models import (
    Command,
    CommandArgs,
    CommandResponse,
    Post,
    PostList,
    Reaction,
)

from ._base import FakeBase
from ._store import (
    EphemeralPost,
    as_server_shows,
    bad_request,
    clone,
    command_not_found,
    new_id,
    replace,
)
from ._store import page as _page


class ContentMixin(FakeBase):
    # --- posts -----------------------------------------------------------------------------

    def submit_post(self, post: Post) -> Post:
        """Create a post as a user would (no ``from_plugin`` prop): the harness's ``post``."""
        return self._create_post(clone(post))

    def _create_post(self, post: Post) -> Post:
        s = self.store
        with s.lock:
            channel = s.channel("CreatePost", post.channel_id)
            if channel.delete_at:
                raise bad_request("createPost", "Can not post to a deleted channel.")
            user = s.user("CreatePost", post.user_id)
            if post.root_id:
                root = s.posts.get(post.root_id)
                if (
                    root is None
                    or root.delete_at
                    or root.channel_id != post.channel_id
                    or root.root_id
                ):
                    raise bad_request("createPost", "Invalid RootId parameter.", post.root_id)
        if user.is_bot:
            post.props = {**(post.props or {}), "from_bot": "true"}
        if s.hooks is not None:
            replacement, reason = s.hooks.message_will_be_posted(clone(post))
            if reason:
                raise _rejected("createPost", reason)
            if replacement is not None:
                post = replacement
        with s.lock:
            post.id = post.id or new_id()
            if post.id in s.posts:
                raise bad_request("CreatePost", "A post with this id exists.", post.id)
            post.create_at = post.create_at or s.post_time()
            post.update_at = post.create_at
            s.posts[post.id] = clone(post)
            channel.last_post_at = max(channel.last_post_at, post.create_at)
            channel.total_msg_count += 1
            if post.root_id and post.root_id in s.posts:
                root = s.posts[post.root_id]
                root.reply_count += 1
                root.last_reply_at = post.create_at
            saved = clone(post)
        if s.hooks is not None:
            s.hooks.message_has_been_posted(clone(saved))
        return saved

    def create_post(self, post: Post | None) -> Post:
        if post is None:
            raise bad_request("CreatePost", "post is nil")
        p = clone(post)
        p.props = {**(p.props or {}), "from_plugin": "true"}
        return self._create_post(p)

    def get_post(self, post_id: str) -> Post:
        with self.store.lock:
            return clone(self.store.post("GetPost", post_id))

    def update_post(self, post: Post | None) -> Post:
        if post is None:
            raise bad_request("UpdatePost", "post is nil")
        s = self.store
        with s.lock:
            old = clone(s.post("UpdatePost", post.id))
        new = replace(
            old,
            message=post.message,
            props=clone(post.props),
            file_ids=clone(post.file_ids),
            is_pinned=post.is_pinned,
        )
        if new.message != old.message:
            new.edit_at = s.now_ms()
        if s.hooks is not None:
            replacement, reason = s.hooks.message_will_be_updated(clone(new), clone(old))
            if replacement is None:
                raise _rejected("UpdatePost", reason or "no reason given")
            new = replacement
        with s.lock:
            new.update_at = s.now_ms()
            s.posts[new.id] = clone(new)
        if s.hooks is not None:
            s.hooks.message_has_been_updated(clone(new), old)
        return clone(new)

    def delete_post(self, post_id: str) -> None:
        s = self.store
        with s.lock:
            p = s.post("DeletePost", post_id)
            p.delete_at = p.update_at = s.now_ms()
            deleted = clone(p)
        if s.hooks is not None:
            s.hooks.message_has_been_deleted(deleted)

    def _post_list(self, posts: Iterable[Post]) -> PostList:
        ordered = sorted(posts, key=lambda p: p.create_at, reverse=True)
        return PostList(order=[p.id for p in ordered], posts={p.id: clone(p) for p in ordered})

    def get_posts_for_channel(self, channel_id: str, page: int, per_page: int) -> PostList:
        with self.store.lock:
            self.store.channel("GetPostsForChannel", channel_id)
            posts = sorted(
                (
                    p
                    for p in self.store.posts.values()
                    if p.channel_id == channel_id and not p.delete_at
                ),
                key=lambda p: p.create_at,
                reverse=True,
            )
            return self._post_list(_page(posts, page, per_page))

    def get_post_thread(self, post_id: str) -> PostList:
        with self.store.lock:
            p = self.store.post("GetPostThread", post_id)
            root = p.root_id or p.id
            return self._post_list(
                q
                for q in self.store.posts.values()
                if (q.id == root or q.root_id == root) and not q.delete_at
            )

    def get_posts_since(self, channel_id: str, time: int) -> PostList:
        with self.store.lock:
            return self._post_list(
                p
                for p in self.store.posts.values()
                if p.channel_id == channel_id and p.update_at > time
            )

    def send_ephemeral_post(self, user_id: str, post: Post | None) -> Post | None:
        if post is None:
            return None
        s = self.store
        p = clone(post)
        p.id = p.id or new_id()
        p.create_at = p.create_at or s.now_ms()
        p.type = p.type or "system_ephemeral"
        with s.lock:
            s.ephemeral_posts.append(EphemeralPost(user_id, clone(p)))
        return p

    def update_ephemeral_post(self, user_id: str, post: Post | None) -> Post | None:
        if post is None:
            return None
        p = clone(post)
        p.update_at = self.store.now_ms()
        with self.store.lock:
            self.store.ephemeral_posts.append(EphemeralPost(user_id, clone(p)))
        return p

    def delete_ephemeral_post(self, user_id: str, post_id: str) -> None:
        with self.store.lock:
            self.store.ephemeral_posts[:] = [
                e
                for e in self.store.ephemeral_posts
                if not (e.user_id == user_id and e.post.id == post_id)
            ]

    # --- reactions ---------------------------------------------------------------------------

    def add_reaction(self, reaction: Reaction | None) -> Reaction:
        if reaction is None:
            raise bad_request("AddReaction", "reaction is nil")
        s = self.store
        with s.lock:
            post = s.post("AddReaction", reaction.post_id)
            s.user("AddReaction", reaction.user_id)
            r = replace(reaction, create_at=s.now_ms(), channel_id=post.channel_id)
            s.reactions = [
                x
                for x in s.reactions
                if (x.post_id, x.user_id, x.emoji_name) != (r.post_id, r.user_id, r.emoji_name)
            ]
            s.reactions.append(r)
            post.has_reactions = True
        if s.hooks is not None:
            s.hooks.reaction_has_been_added(clone(r))
        return clone(r)

    def remove_reaction(self, reaction: Reaction | None) -> None:
        if reaction is None:
            raise bad_request("RemoveReaction", "reaction is nil")
        s = self.store
        key = (reaction.post_id, reaction.user_id, reaction.emoji_name)
        with s.lock:
            found = [x for x in s.reactions if (x.post_id, x.user_id, x.emoji_name) == key]
            s.reactions = [x for x in s.reactions if x not in found]
            if reaction.post_id in s.posts:
                s.posts[reaction.post_id].has_reactions = any(
                    x.post_id == reaction.post_id for x in s.reactions
                )
        if found and s.hooks is not None:
            s.hooks.reaction_has_been_removed(clone(found[0]))

    def get_reactions(self, post_id: str) -> list[Reaction]:
        with self.store.lock:
            return [clone(r) for r in self.store.reactions if r.post_id == post_id]

    # --- slash commands ----------------------------------------------------------------------

    def register_command(self, command: Command | None) -> None:
        if command is None or not command.trigger:
            raise PluginAPIError("invalid command")
        c = clone(command)
        c.trigger = c.trigger.lower()
        c.plugin_id = self.store.plugin_id
        with self.store.lock:
            self.store.commands = [
                x for x in self.store.commands if (x.trigger, x.team_id) != (c.trigger, c.team_id)
            ]
            self.store.commands.append(c)

    def unregister_command(self, team_id: str, trigger: str) -> None:
        with self.store.lock:
            self.store.commands = [
                x
                for x in self.store.commands
                if (x.trigger, x.team_id) != (trigger.lower(), team_id)
            ]

    def list_plugin_commands(self, team_id: str) -> list[Command]:
        with self.store.lock:
            return [clone(c) for c in self.store.commands if c.team_id in ("", team_id)]

    def execute_slash_command(self, command_args: CommandArgs | None) -> CommandResponse:
        if command_args is None or not command_args.command.startswith("/"):
            raise bad_request("ExecuteCommand", "The command must start with /.")
        return self.run_command(command_args)

    def run_command(self, args: CommandArgs) -> CommandResponse:
        """Run a slash command like the server: find the registered trigger, call the
        plugin's ``execute_command``, post the reply (ephemeral or in the channel)."""
        trigger = args.command.split()[0][1:].lower()
        with self.store.lock:
            self.store.user("ExecuteCommand", args.user_id)
            known = any(
                c.trigger == trigger and c.team_id in ("", args.team_id)
                for c in self.store.commands
            )
        if not known or self.store.hooks is None:
            raise command_not_found(trigger)
        args = clone(args)
        args.site_url = args.site_url or self.store.site_url
        try:
            response = self.store.hooks.execute_command(args)
        except AppError as err:
            raise as_server_shows(err) from err
        if response is None:
            # A plugin that answers nil: the server goes on looking and finds nothing.
            raise command_not_found(trigger)
        if response.text or response.attachments:
            post = Post(
                channel_id=response.channel_id or args.channel_id,
                root_id=args.root_id,
                user_id=args.user_id,
                message=response.text,
                type=response.type,
                props=clone(response.props) or None,
            )
            if response.response_type == "in_channel":
                post.props = {**(post.props or {}), "from_webhook": "true"}
                self._create_post(post)
            else:
                self.send_ephemeral_post(args.user_id, post)
        return response


def _rejected(where: str, reason: str) -> AppError:
    from mmplugin._gen.hooks import DISMISS_POST_ERROR

    message = reason if reason == DISMISS_POST_ERROR else f"Post rejected by plugin. {reason}"
    return bad_request(where, message, reason)
