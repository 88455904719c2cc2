"""Logging for the plugin process: one JSON object per line on stderr.

mmplugin-host parses each line and re-logs it through its own logger at the same level with the
same key/values, so a plugin's ``logging`` calls reach the Mattermost server log. A record looks
like::

    {"level": "info", "msg": "user joined", "logger": "greeter",
     "kv": [["user_id", "abc"], ["count", 3]], "traceback": "Traceback ..."}

``kv`` holds the ``extra={...}`` values in order; ``traceback`` is present when the record carries
exception or stack information; ``fatal`` is true on the last record of a process that is about
to exit because it cannot run (the host uses its message as the start-up error). Anything else
written to stderr (C-level output, a crash's traceback) reaches the server log at error level.
"""

from __future__ import annotations

import io
import json
import logging
import math
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

TRACE = 5
"""A level below DEBUG; it reaches the host as hclog's trace level."""

_LEVEL_NAMES = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}

_MAX_DEPTH = 8


def wire_level(levelno: int) -> str:
    """The level name the host understands for a Python level number."""
    if levelno < logging.DEBUG:
        return "trace"
    if levelno < logging.INFO:
        return "debug"
    if levelno < logging.WARNING:
        return "info"
    if levelno < logging.ERROR:
        return "warn"
    return "error"


def parse_level(name: str) -> int:
    """Python level for a host level name; unknown names mean INFO."""
    return _LEVEL_NAMES.get(name.strip().lower(), logging.INFO)


def jsonable(value: object, depth: int = 0) -> Any:
    """``value`` as something ``json.dumps`` writes as valid JSON (strict: no NaN)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if depth >= _MAX_DEPTH:
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)


def record_to_json(record: logging.LogRecord, formatter: logging.Formatter) -> str:
    """One JSON line (without the newline) for ``record``."""
    out: dict[str, Any] = {
        "level": wire_level(record.levelno),
        "msg": record.getMessage(),
        "logger": record.name,
    }
    kv = [
        [key, jsonable(value)]
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRS and not key.startswith("_") and key != "fatal"
    ]
    if kv:
        out["kv"] = kv
    tb = ""
    if record.exc_info and record.exc_info[0] is not None:
        tb = formatter.formatException(record.exc_info)
    elif record.exc_text:
        tb = record.exc_text
    if record.stack_info:
        tb = f"{tb}\n{formatter.formatStack(record.stack_info)}" if tb else record.stack_info
    if tb:
        out["traceback"] = tb
    if getattr(record, "fatal", False) is True:
        out["fatal"] = True
    return json.dumps(out, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


class JSONLinesHandler(logging.Handler):
    """Writes each record as one JSON line to ``stream`` and flushes at once."""

    # One lock for every handler: two handlers on the same stream must not interleave lines.
    _write_lock = threading.Lock()

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream
        self._formatter = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = record_to_json(record, self._formatter) + "\n"
            with self._write_lock:
                self.stream.write(line)
                self.stream.flush()
        except Exception:
            self.handleError(record)


class LoggerWriter(io.TextIOBase):
    """A text stream that turns each written line into a log record (for ``sys.stdout``)."""

    def __init__(self, logger: logging.Logger, level: int = logging.INFO) -> None:
        super().__init__()
        self._logger = logger
        self._level = level
        self._buf = ""
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        with self._lock:
            self._buf += s
            *lines, self._buf = self._buf.split("\n")
        for line in lines:
            self._logger.log(self._level, line.rstrip("\r"))
        return len(s)

    def flush(self) -> None:
        with self._lock:
            rest, self._buf = self._buf, ""
        if rest:
            self._logger.log(self._level, rest)


def configure_logging(level: str, stream: TextIO | None = None) -> JSONLinesHandler:
    """Route the root logger to a JSON-lines handler on ``stream`` (default: real stderr)."""
    logging.addLevelName(TRACE, "TRACE")
    handler = JSONLinesHandler(stream if stream is not None else sys.__stderr__ or sys.stderr)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    # grpc's Cython layer logs every event-loop lookup at debug: noise for plugin authors.
    logging.getLogger("grpc._cython.cygrpc").setLevel(max(root.level, logging.INFO))
    logging.captureWarnings(True)
    return handler


def log_fatal(
    logger: logging.Logger,
    message: str,
    traceback: str = "",
    extra: Sequence[tuple[str, object]] = (),
) -> None:
    """Log the record the host reads as the reason this process is about to exit."""
    fields: dict[str, object] = dict(extra)
    fields["fatal"] = True
    record = logger.makeRecord(
        logger.name, logging.ERROR, "(runtime)", 0, message, (), None, extra=fields
    )
    if traceback:
        record.exc_text = traceback
    logger.handle(record)
