"""``self.log``: Python logging with key/values that reach the Mattermost server log.

The plugin process routes Python's root logger to the host (see docs/runtime.md, "Logs"): a
record's ``extra`` values become key/value pairs on the server's log line. This adapter lets
plugin code pass them as keyword arguments, the way Go plugins call
``p.API.LogInfo("user joined", "user_id", id)``::

    self.log.info("user joined", user_id=user.id, team=team.name)
    self.log.exception("could not post", channel_id=channel_id)   # adds the traceback

Any ``logging`` logger works too (``logging.getLogger(__name__).info(..., extra={...})``); this
one only spares the ``extra=`` and names the logger after the plugin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

TRACE = 5
"""Below DEBUG; reaches the server as its debug level (Mattermost has no trace level)."""

# Attributes every LogRecord has: ``extra`` may not overwrite them (logging raises KeyError).
_RECORD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _key(name: str) -> str:
    # "name", "msg", "args", ... are LogRecord attributes: keep the pair, rename the key.
    return f"{name}_" if name in _RECORD_ATTRS else name


class PluginLogger:
    """A ``logging.Logger`` front that takes key/values as keyword arguments.

    ``debug``/``info``/``warning``/``error``/``critical`` log at their level; ``exception``
    logs at error with the current traceback; ``trace`` below debug. Keyword arguments become
    key/value pairs on the record, in the order given; a key that clashes with a ``LogRecord``
    attribute (``name``, ``msg``, ...) gets a trailing underscore. ``with_fields(**kv)`` returns
    a logger that adds ``kv`` to every record.
    """

    __slots__ = ("_fields", "logger")

    def __init__(self, logger: logging.Logger, fields: Mapping[str, object] | None = None) -> None:
        self.logger = logger
        self._fields: dict[str, object] = {_key(k): v for k, v in (fields or {}).items()}

    def with_fields(self, **fields: object) -> PluginLogger:
        """A logger that adds ``fields`` to every record (after this logger's own fields)."""
        return PluginLogger(self.logger, {**self._fields, **fields})

    def _emit(
        self, level: int, msg: str, fields: dict[str, object], exc_info: bool = False
    ) -> None:
        if not self.logger.isEnabledFor(level):
            return
        extra = dict(self._fields)
        extra.update((_key(k), v) for k, v in fields.items())
        # stacklevel 3: the record names the plugin's line, not this adapter's.
        self.logger.log(level, msg, exc_info=exc_info, stacklevel=3, extra=extra)

    def log(self, level: int, msg: str, **fields: object) -> None:
        self._emit(level, msg, fields)

    def trace(self, msg: str, **fields: object) -> None:
        self._emit(TRACE, msg, fields)

    def debug(self, msg: str, **fields: object) -> None:
        self._emit(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: object) -> None:
        self._emit(logging.INFO, msg, fields)

    def warning(self, msg: str, **fields: object) -> None:
        self._emit(logging.WARNING, msg, fields)

    warn = warning

    def error(self, msg: str, **fields: object) -> None:
        self._emit(logging.ERROR, msg, fields)

    def exception(self, msg: str, **fields: object) -> None:
        """Log at error level with the exception being handled (call it in an ``except``)."""
        self._emit(logging.ERROR, msg, fields, exc_info=True)

    def critical(self, msg: str, **fields: object) -> None:
        self._emit(logging.CRITICAL, msg, fields)


def plugin_logger(plugin_id: str) -> PluginLogger:
    """The logger ``self.log`` of a plugin: ``logging.getLogger("plugin.<plugin_id>")``."""
    return PluginLogger(logging.getLogger(f"plugin.{plugin_id}" if plugin_id else "plugin"))


__all__ = ["TRACE", "PluginLogger", "plugin_logger"]
