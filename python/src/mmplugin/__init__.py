"""mmplugin: Mattermost server plugins in Python.

::

    from mmplugin import Plugin, command, CommandCall

    class Greeter(Plugin):
        @command("hello", description="Say hello")
        def hello(self, call: CommandCall) -> str:
            return "Hello!"

The names below are loaded on first use, so ``import mmplugin`` (the bundler CLI, the plugin
process bootstrap) does not load the SDK and its gRPC clients until a plugin needs them. Models
are in ``mmplugin.models``, the API clients in ``mmplugin.api``, errors in ``mmplugin.errors``,
the test kit in ``mmplugin.testing``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the release version; pyproject.toml and `make dist` read it here

if TYPE_CHECKING:
    from mmplugin._hookresults import DISMISS, Dismiss, Reject
    from mmplugin.cluster import ClusterEvent, on_cluster_event
    from mmplugin.commands import CommandCall, command, ephemeral, in_channel
    from mmplugin.config import ConfigurationError, Settings, setting
    from mmplugin.errors import AppError, PluginAPIError, ServerVersionError
    from mmplugin.messages import on_message
    from mmplugin.models import CommandResponse, Context, Post
    from mmplugin.plugin import Plugin

_LAZY = {
    "DISMISS": "mmplugin._hookresults",
    "Dismiss": "mmplugin._hookresults",
    "Reject": "mmplugin._hookresults",
    "ClusterEvent": "mmplugin.cluster",
    "on_cluster_event": "mmplugin.cluster",
    "CommandCall": "mmplugin.commands",
    "command": "mmplugin.commands",
    "ephemeral": "mmplugin.commands",
    "in_channel": "mmplugin.commands",
    "ConfigurationError": "mmplugin.config",
    "Settings": "mmplugin.config",
    "setting": "mmplugin.config",
    "AppError": "mmplugin.errors",
    "PluginAPIError": "mmplugin.errors",
    "ServerVersionError": "mmplugin.errors",
    "on_message": "mmplugin.messages",
    "CommandResponse": "mmplugin.models",
    "Context": "mmplugin.models",
    "Post": "mmplugin.models",
    "Plugin": "mmplugin.plugin",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mmplugin' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "DISMISS",
    "AppError",
    "ClusterEvent",
    "CommandCall",
    "CommandResponse",
    "ConfigurationError",
    "Context",
    "Dismiss",
    "Plugin",
    "PluginAPIError",
    "Post",
    "Reject",
    "ServerVersionError",
    "Settings",
    "__version__",
    "command",
    "ephemeral",
    "in_channel",
    "on_cluster_event",
    "on_message",
    "setting",
]
