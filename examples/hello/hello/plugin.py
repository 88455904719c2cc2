"""A bot, a slash command and a word filter: the first things most plugins do."""

from __future__ import annotations

import dataclasses
import re

from mmplugin import CommandCall, Context, Plugin, Post, Reject, Settings, command


class HelloSettings(Settings):
    """The settings in plugin.json's settings_schema, typed."""

    greeting: str = "Hello"
    banned_word: str = "spoiler"


class HelloPlugin(Plugin):
    config: HelloSettings

    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot(
            "hello", display_name="Hello", description="Says hello for the Hello plugin."
        )

    @command("hello", description="Say hello", hint="[name]")
    def hello(self, call: CommandCall) -> str:
        name = call.text or self.api.get_user(call.user_id).username
        return f"{self.config.greeting}, {name}!"

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | None:
        word = self.config.banned_word
        if word and re.search(rf"\b{re.escape(word)}\b", post.message, re.IGNORECASE):
            return Reject(f"Please keep the {word}s to yourself.")
        fixed = re.sub(r"\bteh\b", "the", post.message)
        if fixed != post.message:
            return dataclasses.replace(post, message=fixed)
        return None
