"""``ensure_bot``: the plugin's bot account, created on first use (pluginapi's ``EnsureBot``).

::

    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot("greeter", display_name="Greeter",
                                      profile_image="assets/bot.png")

The server's ``EnsureBotUser`` creates the bot (or finds the one this plugin created before,
patching its names) and remembers it for the plugin. Like pluginapi, the call runs under the
cluster mutex ``mmi_bot_ensure`` so two nodes activating at once do not create two bots. A
``profile_image`` is a path inside the plugin bundle or the image bytes.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from mmplugin.cluster import AsyncMutexAPI, Mutex, MutexAPI
from mmplugin.models import Bot

ENSURE_MUTEX_KEY = "mmi_bot_ensure"


class BotAPI(MutexAPI, Protocol):
    def ensure_bot_user(self, bot: Bot, /) -> str: ...
    def set_profile_image(self, user_id: str, data: bytes, /) -> None: ...
    def get_bundle_path(self) -> str: ...


class AsyncBotAPI(AsyncMutexAPI, Protocol):
    async def ensure_bot_user(self, bot: Bot, /) -> str: ...
    async def set_profile_image(self, user_id: str, data: bytes, /) -> None: ...
    async def get_bundle_path(self) -> str: ...


ProfileImage = str | os.PathLike[str] | bytes


def _bot(username: str, display_name: str, description: str) -> Bot:
    if not username:
        raise ValueError("ensure_bot needs a username")
    return Bot(username=username, display_name=display_name, description=description)


def _read_image(image: str | os.PathLike[str], bundle_path: str) -> bytes:
    path = Path(bundle_path, image)
    try:
        return path.read_bytes()
    except OSError as e:
        raise FileNotFoundError(
            f"cannot read the bot's profile image {os.fspath(image)!r} (looked at {path}): "
            f"{e.strerror or e}; the path is relative to the plugin bundle"
        ) from None


def ensure_bot(
    api: BotAPI,
    username: str,
    *,
    display_name: str = "",
    description: str = "",
    profile_image: ProfileImage | None = None,
) -> str:
    """Create or update the plugin's bot and return its user id."""
    bot = _bot(username, display_name, description)
    with Mutex(ENSURE_MUTEX_KEY, api=api):
        bot_id = api.ensure_bot_user(bot)
    if isinstance(profile_image, bytes):
        if profile_image:
            api.set_profile_image(bot_id, profile_image)
    elif profile_image is not None:
        api.set_profile_image(bot_id, _read_image(profile_image, api.get_bundle_path()))
    return bot_id


async def async_ensure_bot(
    api: AsyncBotAPI,
    username: str,
    *,
    display_name: str = "",
    description: str = "",
    profile_image: ProfileImage | None = None,
) -> str:
    """``ensure_bot`` for async code."""
    bot = _bot(username, display_name, description)
    async with Mutex(ENSURE_MUTEX_KEY, async_api=api):
        bot_id = await api.ensure_bot_user(bot)
    if isinstance(profile_image, bytes):
        if profile_image:
            await api.set_profile_image(bot_id, profile_image)
    elif profile_image is not None:
        image = _read_image(profile_image, await api.get_bundle_path())
        await api.set_profile_image(bot_id, image)
    return bot_id


__all__ = ["ENSURE_MUTEX_KEY", "async_ensure_bot", "ensure_bot"]
