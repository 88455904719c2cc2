from __future__ import annotations

import io
import json
import logging
from typing import Any

from mmplugin._runtime.logs import (
    TRACE,
    JSONLinesHandler,
    LoggerWriter,
    configure_logging,
    log_fatal,
    parse_level,
    wire_level,
)


def _logger(name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger(name)
    logger.handlers = [JSONLinesHandler(stream)]
    logger.propagate = False
    logger.setLevel(TRACE)
    return logger, stream


def _records(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_levels_map_to_the_host_names() -> None:
    assert [wire_level(n) for n in (TRACE, 10, 20, 30, 40, 50)] == [
        "trace",
        "debug",
        "info",
        "warn",
        "error",
        "error",
    ]
    assert parse_level("WARN") == logging.WARNING
    assert parse_level("trace") == TRACE
    assert parse_level("bogus") == logging.INFO


def test_record_has_message_logger_and_ordered_extras() -> None:
    log, stream = _logger("test.extras")
    log.info("user %s joined", "bob", extra={"user_id": "u1", "count": 3, "ratio": 0.5})
    (rec,) = _records(stream)
    assert rec == {
        "level": "info",
        "msg": "user bob joined",
        "logger": "test.extras",
        "kv": [["user_id", "u1"], ["count", 3], ["ratio", 0.5]],
    }


def test_values_that_json_cannot_hold_become_strings() -> None:
    log, stream = _logger("test.values")

    class Custom:
        def __str__(self) -> str:
            return "custom!"

    log.warning(
        "odd values",
        extra={"nan": float("nan"), "obj": Custom(), "raw": b"\xff", "nested": {"a": (1, 2)}},
    )
    (rec,) = _records(stream)
    assert rec["level"] == "warn"
    assert dict(rec["kv"]) == {
        "nan": "nan",
        "obj": "custom!",
        "raw": "\\xff",
        "nested": {"a": [1, 2]},
    }


def test_exception_text_travels_as_traceback() -> None:
    log, stream = _logger("test.exc")
    table: dict[str, int] = {}
    try:
        table["missing"]
    except KeyError:
        log.exception("lookup failed", extra={"key": "missing"})
    (rec,) = _records(stream)
    assert rec["level"] == "error"
    assert rec["kv"] == [["key", "missing"]]
    assert rec["traceback"].startswith("Traceback (most recent call last)")
    assert "KeyError: 'missing'" in rec["traceback"]


def test_fatal_records_are_marked() -> None:
    log, stream = _logger("test.fatal")
    log_fatal(log, "entry point 'x:Y' failed to import: boom", "Traceback ...\nValueError: boom")
    (rec,) = _records(stream)
    assert rec["fatal"] is True
    assert rec["msg"] == "entry point 'x:Y' failed to import: boom"
    assert rec["traceback"].endswith("ValueError: boom")
    assert "kv" not in rec


def test_logger_writer_turns_lines_into_records() -> None:
    log, stream = _logger("stdout-test")
    w = LoggerWriter(log)
    print("hello", "world", file=w)
    w.write("partial")
    assert len(_records(stream)) == 1
    w.write(" line\nnext\n")
    w.write("unterminated")
    w.flush()
    assert [r["msg"] for r in _records(stream)] == [
        "hello world",
        "partial line",
        "next",
        "unterminated",
    ]
    assert {r["level"] for r in _records(stream)} == {"info"}


def test_configure_logging_routes_the_root_logger() -> None:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("warn", stream)
        logging.getLogger("any.module").info("dropped")
        logging.getLogger("any.module").error("kept")
        assert [r["msg"] for r in _records(stream)] == ["kept"]
    finally:
        root.handlers, root.level = saved[0], saved[1]
