"""Command line: ``python -m mmtest build|up|down|test`` (run from ``e2e/``).

build  build and cache the Mattermost servers (no-op when cached; --force rebuilds)
up     start PostgreSQL + a server, print URL, admin credentials and the local-mode
       socket, and keep it running until Ctrl-C or ``python -m mmtest down``
down   stop the server started by ``up``
test   install what is missing (PostgreSQL, patchelf and binutils via apt-get,
       e2e/requirements.txt via pip), build/cache the servers, run the end-to-end pytest
       suite once per server (the matrix; extra args go to pytest) and print one line with
       each server's counts

``--server 9.11`` (repeatable) picks servers of the matrix (``e2e/mmserver/v9.11``); ``up``
and a plain ``pytest`` use ``$MMTEST_SERVER``, else the newest.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from mmtest import build, matrix
from mmtest.errors import MMTestError, SetupError

if TYPE_CHECKING:
    from mmtest.server import MattermostServer

REQUIREMENTS = build.E2E_DIR / "requirements.txt"
STATE_FILE_NAME = "up.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmtest", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser("build", help="build and cache the Mattermost servers")
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if cached")
    up_cmd = commands.add_parser("up", help="start a server and keep it running")
    up_cmd.add_argument("--keep", action="store_true", help="keep its files after it stops")
    commands.add_parser("down", help="stop the server started by `up`")
    test_cmd = commands.add_parser("test", help="install, build and run the e2e matrix")
    test_cmd.add_argument("--no-install", action="store_true", help="skip apt-get/pip")
    for each in (build_cmd, up_cmd, test_cmd):
        each.add_argument(
            "--server",
            action="append",
            metavar="X.Y",
            help="a server of the matrix (e2e/mmserver/vX.Y); repeatable; "
            + ("default: $MMTEST_SERVER, else the newest" if each is up_cmd else "default: all"),
        )
    # Anything test does not know (e.g. `-k websocket -x`) goes to pytest.
    args, pytest_args = parser.parse_known_args(argv)
    if pytest_args and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(pytest_args)}")
    try:
        if args.command == "build":
            return _build(_builds(args.server), force=args.force)
        if args.command == "up":
            if args.server and len(args.server) > 1:
                parser.error("`up` starts one server: give --server once")
            chosen = build.selected_build(args.server[0] if args.server else None)
            return _up(chosen, keep=args.keep)
        if args.command == "down":
            return _down()
        return _test(_builds(args.server), install=not args.no_install, pytest_args=pytest_args)
    except MMTestError as exc:
        print(f"mmtest: error: {exc}", file=sys.stderr)
        return 1


def _builds(names: list[str] | None) -> list[build.ServerBuild]:
    if not names:
        return build.server_builds()
    return [build.selected_build(name) for name in names]


def _build(builds: list[build.ServerBuild], *, force: bool) -> int:
    for each in builds:
        install = build.ensure_server(each, force=force)
        print(f"server:  {install.binary}")
        for key, value in install.info.items():
            print(f"{key}: {value}")
    return 0


def _state_file() -> Path:
    return build.cache_root() / STATE_FILE_NAME


def _up(server_build: build.ServerBuild, *, keep: bool) -> int:
    from mmtest.server import MattermostServer  # needs httpx: imported only when used

    state_file = _state_file()
    if state_file.exists():
        state = json.loads(state_file.read_text())
        if _alive(state["pid"]):
            raise SetupError(
                f"a server is already up (pid {state['pid']}, {state['url']}): "
                "run `python -m mmtest down` first"
            )
    _interrupt_once_on(signal.SIGINT, signal.SIGTERM)
    with contextlib.suppress(KeyboardInterrupt):
        install = build.ensure_server(server_build)
        _serve(MattermostServer(install, keep_files=keep), state_file, keep=keep)
    return 0


def _serve(server: MattermostServer, state_file: Path, *, keep: bool) -> None:
    with server:
        state_file.parent.mkdir(parents=True, exist_ok=True)
        state = {
            "pid": os.getpid(),
            "url": server.url,
            "server_pid": server.pid,
            "workdir": str(server.workdir),
            "keep": keep,
        }
        state_file.write_text(json.dumps(state) + "\n")
        try:
            admin = server.admin
            info = server.install.info if server.install else {}
            print(
                f"Mattermost {info.get('mattermost_version', '?')} "
                f"(server/v8 {info.get('server_v8_version', '?')}) is up.\n"
                f"  URL:               {server.url}\n"
                f"  WebSocket:         {server.ws_url}/api/v4/websocket\n"
                f"  admin username:    {admin.username}\n"
                f"  admin password:    {admin.password}\n"
                f"  admin token:       {admin.token}\n"
                f"  local-mode socket: {server.local_socket}\n"
                f"  server log:        {server.log_path}\n"
                f"  files:             {server.workdir}{' (kept)' if keep else ''}\n"
                "Ctrl-C or `python -m mmtest down` stops it.",
                flush=True,
            )
            while server.running:
                time.sleep(0.5)
            print(f"mmtest: the server exited; see {server.log_path}", file=sys.stderr)
        finally:
            state_file.unlink(missing_ok=True)
            print("mmtest: stopping", file=sys.stderr, flush=True)


def _down() -> int:
    from mmtest.server import remove_leftover

    state_file = _state_file()
    if not state_file.exists():
        print("mmtest: no server is up", file=sys.stderr)
        return 0
    state = json.loads(state_file.read_text())
    pid = int(state["pid"])
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 90
        while _alive(pid):
            if time.monotonic() > deadline:
                raise SetupError(f"`up` (pid {pid}) did not stop within 90s: `kill {pid}`")
            time.sleep(0.25)
    # If `up` died without cleaning up (SIGKILL), stop what it left running.
    remove_leftover(
        Path(state["workdir"]), state.get("server_pid"), delete_files=not state.get("keep")
    )
    state_file.unlink(missing_ok=True)
    print("mmtest: stopped")
    return 0


def _test(builds: list[build.ServerBuild], *, install: bool, pytest_args: list[str]) -> int:
    if install:
        install_requirements()
    args = pytest_args[1:] if pytest_args[:1] == ["--"] else pytest_args
    return matrix.run(builds, args)


def install_requirements() -> None:
    """Debian packages if missing (PostgreSQL; patchelf and binutils, which make the relocatable
    Python of the no-system-Python test), then e2e/requirements.txt via pip."""
    from mmtest.postgres import find_bindir

    build.go_binary()
    missing = [pkg for pkg, tool in (("patchelf", "patchelf"), ("binutils", "strip"))
               if shutil.which(tool) is None]  # fmt: skip
    try:
        find_bindir()
    except SetupError:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise
        missing.append("postgresql")
    if missing and os.geteuid() == 0 and shutil.which("apt-get") is not None:
        print(f"mmtest: installing {' '.join(missing)} (apt-get)", file=sys.stderr, flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (
            ["apt-get", "update"],
            ["apt-get", "install", "-y", "--no-install-recommends", *missing],
        ):
            if subprocess.call(command, env=env, stdout=subprocess.DEVNULL) != 0:
                raise SetupError(f"`{' '.join(command)}` failed") from None
        find_bindir()
    print(f"mmtest: pip install -r {REQUIREMENTS}", file=sys.stderr, flush=True)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if subprocess.call([*pip, "-r", str(REQUIREMENTS)]) != 0:
        raise SetupError(
            f"pip could not install {REQUIREMENTS} into {sys.prefix}: run mmtest from a "
            "virtualenv (python3 -m venv .venv && . .venv/bin/activate)"
        )


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _interrupt_once_on(*signums: signal.Signals) -> None:
    """The first of these signals raises KeyboardInterrupt (so cleanup runs); later ones are
    ignored, so they cannot cut the (bounded) cleanup short."""

    def handle(signum: int, frame: FrameType | None) -> None:
        for each in signums:
            signal.signal(each, signal.SIG_IGN)
        raise KeyboardInterrupt

    for signum in signums:
        signal.signal(signum, handle)


if __name__ == "__main__":
    sys.exit(main())
