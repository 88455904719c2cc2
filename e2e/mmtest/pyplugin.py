"""Python plugins on the real server: build the host, bundle with ``mmplugin bundle``, deploy
with ``mmplugin deploy``, read logs with ``mmplugin logs``, find the plugin's Python process.

The author CLI is run as a subprocess of the Python running this code (``python -m
mmplugin.cli``), exactly as an author runs it; the server's address and the admin token go
through the environment (``MM_SERVICESETTINGS_SITEURL``, ``MM_ADMIN_TOKEN``), never the command
line. Wheels come from PyPI through pip, whose cache (``~/.cache/pip``) makes repeated bundles
fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mmtest.build import E2E_DIR, go_binary
from mmtest.errors import SetupError

REPO_DIR = E2E_DIR.parent
PLUGINS_DIR = E2E_DIR / "plugins"
PYPLUGIN_DIR = PLUGINS_DIR / "pyplugin"
PYPLUGIN_ID = "com.mmplugin.e2e.pyplugin"
HOST_PLATFORM = "linux-amd64"
RUNTIME_MODULE = "mmplugin._runtime"


@dataclass(frozen=True)
class Timed:
    """A path produced by a step, and how long the step took."""

    path: Path
    seconds: float


def build_host(out_dir: Path) -> Timed:
    """``go build`` of ./cmd/mmplugin-host (static, linux-amd64) into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    binary = out_dir / f"mmplugin-host-{HOST_PLATFORM}"
    env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}
    env.setdefault("GOFLAGS", "-buildvcs=false")
    started = time.monotonic()
    result = subprocess.run(
        [str(go_binary()), "build", "-ldflags=-s -w", "-o", str(binary), "./cmd/mmplugin-host"],
        cwd=REPO_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(f"go build ./cmd/mmplugin-host failed:\n{result.stderr[-3000:]}")
    return Timed(binary, time.monotonic() - started)


def mmplugin_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``mmplugin ARGS`` (the author CLI of the Python running this); output captured."""
    return subprocess.run(
        [sys.executable, "-m", "mmplugin.cli", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _checked(what: str, result: subprocess.CompletedProcess[str]) -> str:
    if result.returncode != 0:
        raise SetupError(
            f"{what} failed (exit {result.returncode}):\n{result.stdout[-3000:]}"
            f"{result.stderr[-3000:]}"
        )
    return result.stdout + result.stderr


def running_python() -> str:
    """``X.Y`` of the Python running this: the server (started from here) finds ``python3.X``."""
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def bundle(
    plugin_dir: Path,
    out_dir: Path,
    host_binary: Path,
    python: str | None = None,
    extra: Sequence[str] = (),
) -> Timed:
    """``mmplugin bundle`` for linux-amd64 and one Python version (default: the running one's),
    with ``extra`` arguments (e.g. ``--python-runtime PATH``); returns the .tar.gz."""
    started = time.monotonic()
    output = _checked(
        f"mmplugin bundle {plugin_dir}",
        mmplugin_cli(
            "bundle",
            str(plugin_dir),
            "--platform",
            HOST_PLATFORM,
            "--host-binary",
            f"{HOST_PLATFORM}={host_binary}",
            "--python",
            python or running_python(),
            "-o",
            str(out_dir),
            *extra,
        ),
    )
    bundles = sorted(out_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not bundles:
        raise SetupError(f"mmplugin bundle wrote no .tar.gz into {out_dir}:\n{output}")
    return Timed(bundles[-1], time.monotonic() - started)


def server_env(url: str, token: str) -> dict[str, str]:
    """The environment that points the ``mmplugin`` CLI at a server (token off the argv)."""
    return {"MM_SERVICESETTINGS_SITEURL": url, "MM_ADMIN_TOKEN": token}


def deploy(bundle_path: Path, url: str, token: str, wait: float = 120) -> Timed:
    """``mmplugin deploy``: upload, enable and wait until the plugin runs."""
    started = time.monotonic()
    _checked(
        f"mmplugin deploy {bundle_path.name}",
        mmplugin_cli("deploy", str(bundle_path), "--wait", str(wait), env=server_env(url, token)),
    )
    return Timed(bundle_path, time.monotonic() - started)


def logs(plugin_id: str, url: str, token: str, lines: int = 200) -> str:
    """``mmplugin logs``: the plugin's lines of the server log, formatted."""
    return _checked(
        f"mmplugin logs --plugin-id {plugin_id}",
        mmplugin_cli(
            "logs", "--plugin-id", plugin_id, "-n", str(lines), env=server_env(url, token)
        ),
    )


def python_processes(plugin_dir: Path) -> list[int]:
    """Pids of the plugin's Python processes: ``mmplugin._runtime`` run from ``plugin_dir``."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if RUNTIME_MODULE.encode() in cmdline and Path(cwd) == plugin_dir:
            found.append(int(proc.name))
    return sorted(found)
