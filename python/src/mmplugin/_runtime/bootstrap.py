"""The bootstrap: what mmplugin-host tells the Python process before it starts.

The host writes one JSON object followed by a newline to a pipe that the child inherits as file
descriptor 3, and keeps the write end open for the life of the process (see ``watchdog``). It is
never put in the environment or on the command line, where other local users could read it from
``/proc``, and it is never logged: it holds the launch secret.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

BOOTSTRAP_FD = 3
"""File descriptor the host passes the bootstrap on (``cmd.ExtraFiles[0]`` in Go)."""

BOOTSTRAP_FORMAT = 1
"""Version of the bootstrap JSON layout; bumped only for incompatible changes."""

_MAX_BOOTSTRAP_BYTES = 1 << 20


class BootstrapError(Exception):
    """The bootstrap is missing or malformed (the process was not started by mmplugin-host)."""


@dataclass(frozen=True)
class Bootstrap:
    """Launch settings sent by the host. ``secret`` is excluded from ``repr`` on purpose."""

    plugin_id: str
    plugin_dir: str
    entry_point: str
    socket_dir: str
    plugin_socket: str
    api_socket: str
    secret: str = field(repr=False)
    sys_path: tuple[str, ...] = ()
    protocol_versions: tuple[int, ...] = (1,)
    log_level: str = "info"
    calls_socket: str = ""
    """The host's calls socket (mmplugin._runtime.calls); empty from a host without one."""

    @classmethod
    def from_json(cls, data: bytes | str) -> Bootstrap:
        """Parse and validate the host's JSON. Raises ``BootstrapError`` naming the bad field."""
        try:
            raw = json.loads(data)
        except ValueError as e:
            raise BootstrapError(f"the bootstrap is not valid JSON: {e}") from None
        if not isinstance(raw, dict):
            raise BootstrapError("the bootstrap must be a JSON object")
        fmt = raw.get("format")
        if fmt != BOOTSTRAP_FORMAT:
            raise BootstrapError(
                f"bootstrap format {fmt!r} is not supported by this SDK (it reads format "
                f"{BOOTSTRAP_FORMAT}): install an mmplugin SDK that matches the host"
            )
        return cls(
            plugin_id=_string(raw, "plugin_id"),
            plugin_dir=_string(raw, "plugin_dir"),
            entry_point=_string(raw, "entry_point"),
            socket_dir=_string(raw, "socket_dir"),
            plugin_socket=_string(raw, "plugin_socket"),
            api_socket=_string(raw, "api_socket"),
            secret=_string(raw, "secret"),
            sys_path=tuple(_string_list(raw, "sys_path")),
            protocol_versions=tuple(_int_list(raw, "protocol_versions")),
            log_level=str(raw.get("log_level") or "info"),
            calls_socket=str(raw.get("calls_socket") or ""),
        )


def read_bootstrap(fd: int = BOOTSTRAP_FD) -> Bootstrap:
    """Read the bootstrap line from ``fd``, leaving the descriptor open for the watchdog."""
    buf = bytearray()
    try:
        while b"\n" not in buf:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise BootstrapError(
                    f"file descriptor {fd} closed before the bootstrap arrived "
                    "(the host exited, or this process was not started by mmplugin-host)"
                )
            buf += chunk
            if len(buf) > _MAX_BOOTSTRAP_BYTES:
                raise BootstrapError("the bootstrap is larger than 1 MiB")
    except OSError as e:
        raise BootstrapError(
            f"cannot read the bootstrap from file descriptor {fd} ({e.strerror}): "
            "mmplugin._runtime is started by mmplugin-host, not by hand"
        ) from None
    line, _, _ = bytes(buf).partition(b"\n")
    # Our own children (subprocesses the plugin starts) must not keep the host's pipe open.
    os.set_inheritable(fd, False)
    return Bootstrap.from_json(line)


def _string(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise BootstrapError(f"bootstrap field {key!r} must be a non-empty string")
    return value


def _string_list(raw: dict[str, Any], key: str) -> list[str]:
    value = raw.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BootstrapError(f"bootstrap field {key!r} must be a list of strings")
    return value


def _int_list(raw: dict[str, Any], key: str) -> list[int]:
    value = raw.get(key)
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise BootstrapError(f"bootstrap field {key!r} must be a non-empty list of integers")
    return value
