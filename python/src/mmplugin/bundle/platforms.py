"""Target platforms and Python versions, and how pip names them.

A bundle carries wheels for every (Python version x platform) it targets. pip's ``--platform``
takes exact wheel platform tags and does not expand ``manylinux_2_28`` to the older glibc tags it
is compatible with, so we list them all, newest first (pip prefers the first tag given).
"""

from __future__ import annotations

import platform as _platform
import re
import sys
from dataclasses import dataclass

# The oldest glibc a bundle targets by default: Debian 10+, Ubuntu 20.04+, RHEL 8+ all have
# ≥2.28, and every Mattermost release supported today needs one of those or newer.
DEFAULT_GLIBC = "2.28"
OLDEST_GLIBC_MINOR = 17  # manylinux2014, what grpcio publishes

# The oldest Python the SDK supports (mirrors internal/supervisor.MinPythonVersion).
MIN_PYTHON = (3, 10)


@dataclass(frozen=True)
class Platform:
    """A server platform, named like Mattermost's ``server.executables`` keys."""

    name: str  # "linux-amd64"
    os: str  # "linux"
    arch: str  # "amd64"
    machine: str  # wheel-tag machine: "x86_64", "aarch64", "arm64"

    def pip_platforms(self, glibc: str = DEFAULT_GLIBC) -> list[str]:
        """The ``pip download --platform`` values for this platform, newest first."""
        if self.os == "darwin":
            # pip expands a macOS tag to older macOS versions and universal2 by itself.
            return [f"macosx_11_0_{self.machine}"]
        newest = _glibc_minor(glibc)
        tags = [f"manylinux_2_{minor}_{self.machine}" for minor in range(newest, 16, -1)]
        return [*tags, f"manylinux2014_{self.machine}"]

    @property
    def host_wheel_tag(self) -> str:
        """The platform tag of this platform's ``mmplugin-host`` wheel.

        The host is a static Go binary (CGO_ENABLED=0): it runs on any glibc or musl system, so
        its wheel says so with the lowest tags pip accepts.
        """
        if self.os == "darwin":
            version = "11_0" if self.machine == "arm64" else "10_12"
            return f"macosx_{version}_{self.machine}"
        m = self.machine
        return f"manylinux_2_17_{m}.manylinux2014_{m}.musllinux_1_1_{m}"

    @property
    def elf_machine(self) -> int | None:
        """The ELF e_machine of this platform's binaries (None for Mach-O platforms)."""
        return {"x86_64": 62, "aarch64": 183}.get(self.machine) if self.os == "linux" else None


PLATFORMS: dict[str, Platform] = {
    p.name: p
    for p in (
        Platform("linux-amd64", "linux", "amd64", "x86_64"),
        Platform("linux-arm64", "linux", "arm64", "aarch64"),
        Platform("darwin-amd64", "darwin", "amd64", "x86_64"),
        Platform("darwin-arm64", "darwin", "arm64", "arm64"),
    )
}


def get_platform(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise ValueError(
            f"unknown platform {name!r}: use one of {', '.join(PLATFORMS)} "
            "(the keys of Mattermost's server.executables)"
        ) from None


def current_platform() -> Platform | None:
    """The platform this Python runs on, if a bundle can target it."""
    machine = _platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine)
    return PLATFORMS.get(f"{sys.platform}-{arch}") if arch else None


@dataclass(frozen=True, order=True)
class PythonVersion:
    """A CPython minor version such as 3.11 (wheels are built per minor version)."""

    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> PythonVersion:
        m = re.fullmatch(r"(\d+)\.(\d+)", text.strip())
        if not m:
            raise ValueError(f"--python {text!r}: give a minor version such as 3.11")
        v = cls(int(m.group(1)), int(m.group(2)))
        if (v.major, v.minor) < MIN_PYTHON:
            raise ValueError(
                f"--python {text}: the mmplugin SDK needs Python "
                f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer"
            )
        return v

    @classmethod
    def current(cls) -> PythonVersion:
        return cls(sys.version_info.major, sys.version_info.minor)

    @property
    def abi(self) -> str:
        return f"cp{self.major}{self.minor}"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


@dataclass(frozen=True)
class Target:
    """One (Python version, platform) the bundle carries wheels for."""

    python: PythonVersion
    platform: Platform

    @property
    def key(self) -> str:
        """e.g. ``cp311-linux-amd64``: names the lock file and appears in error messages."""
        return f"{self.python.abi}-{self.platform.name}"


def _glibc_minor(glibc: str) -> int:
    m = re.fullmatch(r"2\.(\d+)", glibc.strip())
    if not m or int(m.group(1)) < OLDEST_GLIBC_MINOR:
        raise ValueError(
            f"--glibc {glibc!r}: give the oldest glibc of your servers as 2.N with N ≥ "
            f"{OLDEST_GLIBC_MINOR}, e.g. {DEFAULT_GLIBC}"
        )
    return int(m.group(1))
