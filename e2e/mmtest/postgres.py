"""A throwaway PostgreSQL cluster from Debian's packages, for one test session.

The cluster lives in a directory of its own, listens on 127.0.0.1 at a free port (and on a
unix socket in that directory), trusts local connections, and is stopped and deleted
afterwards. PostgreSQL refuses to run as root, so when the tests run as root every
PostgreSQL program runs as the ``postgres`` OS user that Debian's package creates.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import subprocess
from pathlib import Path
from types import TracebackType
from typing import Any

from mmtest.errors import SetupError, StartError
from mmtest.net import free_port, tail

# Durability is not wanted for a cluster that is deleted after the tests.
_SERVER_SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "log_min_messages": "warning",
}
_START_TIMEOUT_SECONDS = 60
_STOP_TIMEOUT_SECONDS = 30


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``pg_ctl``.

    ``$MMTEST_PG_BINDIR`` wins; else the newest ``/usr/lib/postgresql/<major>/bin`` (Debian
    keeps them off PATH); else wherever ``initdb`` is on PATH.
    """
    configured = os.environ.get("MMTEST_PG_BINDIR")
    candidates = [Path(configured)] if configured else []
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        majors = [p for p in debian.iterdir() if re.fullmatch(r"\d+", p.name)]
        candidates += [p / "bin" for p in sorted(majors, key=lambda p: -int(p.name))]
    if on_path := shutil.which("initdb"):
        candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            return bindir
    raise SetupError(
        "PostgreSQL server programs (initdb, pg_ctl) not found: run "
        "`apt-get update && apt-get install -y postgresql`, or set MMTEST_PG_BINDIR"
    )


class PostgresCluster:
    """Context manager: a started cluster with one empty database, removed on exit."""

    def __init__(self, base_dir: Path, database: str = "mattermost") -> None:
        self.base_dir = base_dir
        self.database = database
        self.data_dir = base_dir / "data"
        self.socket_dir = base_dir / "socket"
        self.log_path = base_dir / "postgres.log"
        self.port = 0
        self._bindir = find_bindir()
        self._run_as = _postgres_user() if os.geteuid() == 0 else None
        self._started = False

    @property
    def dsn(self) -> str:
        """A libpq URL for the database, as the superuser (the cluster trusts loopback)."""
        return (
            f"postgres://postgres@127.0.0.1:{self.port}/{self.database}"
            "?sslmode=disable&connect_timeout=10"
        )

    def __enter__(self) -> PostgresCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        if self._run_as is not None:
            uid, gid = self._run_as
            for path in (self.base_dir, self.socket_dir):
                os.chown(path, uid, gid)
        self._pg(
            "initdb", "--pgdata", str(self.data_dir), "--username", "postgres",
            "--auth", "trust", "--encoding", "UTF8", "--locale", "C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = free_port()
            settings = {
                **_SERVER_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.socket_dir}'",
            }
            with (self.data_dir / "postgresql.conf").open("a") as conf:
                conf.write("\n# mmtest\n")
                conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
            try:
                self._pg(
                    "pg_ctl", "--pgdata", str(self.data_dir), "--log", str(self.log_path),
                    "--wait", "--timeout", str(_START_TIMEOUT_SECONDS), "start",
                )  # fmt: skip
            except StartError:
                # Another process may have taken the port between choosing and binding it.
                if attempt < 2 and "already in use" in tail(self.log_path):
                    continue
                raise
            break
        self._started = True
        self._pg(
            "createdb", "--host", "127.0.0.1", "--port", str(self.port),
            "--username", "postgres", "--encoding", "UTF8", self.database,
        )  # fmt: skip

    def stop(self) -> None:
        """Stop the cluster (fast, then immediate, then SIGKILL) and delete its files."""
        if self._started and self.data_dir.exists():
            for mode in ("fast", "immediate"):
                try:
                    self._pg(
                        "pg_ctl", "--pgdata", str(self.data_dir), "--mode", mode,
                        "--wait", "--timeout", str(_STOP_TIMEOUT_SECONDS), "stop",
                    )  # fmt: skip
                    break
                except StartError:
                    continue
            else:
                _kill_postmaster(self.data_dir / "postmaster.pid")
            self._started = False
        shutil.rmtree(self.base_dir, ignore_errors=True)

    @classmethod
    def remove_leftover(cls, base_dir: Path) -> None:
        """Stop and delete a cluster whose owner died without cleaning up."""
        cluster = cls(base_dir)
        cluster._started = (cluster.data_dir / "postmaster.pid").exists()
        cluster.stop()

    def _pg(self, program: str, *args: str) -> None:
        kwargs: dict[str, Any] = {}
        if self._run_as is not None:
            kwargs = {"user": self._run_as[0], "group": self._run_as[1], "extra_groups": []}
        command = [str(self._bindir / program), *args]
        try:
            done = subprocess.run(
                command,
                cwd=self.base_dir,
                capture_output=True,
                text=True,
                timeout=_START_TIMEOUT_SECONDS + 30,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            raise StartError(f"PostgreSQL `{program}` timed out\n{tail(self.log_path)}") from exc
        if done.returncode != 0:
            raise StartError(
                f"PostgreSQL `{program}` failed (exit {done.returncode}):\n"
                f"{done.stdout[-2000:]}{done.stderr[-2000:]}\n"
                f"--- {self.log_path} ---\n{tail(self.log_path)}"
            )


def _postgres_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        raise SetupError(
            "running as root, but there is no `postgres` OS user to run PostgreSQL as: "
            "install Debian's package (`apt-get install -y postgresql`), which creates it"
        ) from None
    return entry.pw_uid, entry.pw_gid


def _kill_postmaster(pid_file: Path) -> None:
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
    except (OSError, ValueError, IndexError):
        pass
