"""A real Mattermost server on a throwaway PostgreSQL, for tests and for developers.

Everything lives in one temporary directory: the PostgreSQL cluster, the server's config
file, its plugin directories, file storage, the local-mode socket and ``server.log`` (the
server's console log, plugins' logs included). The server listens on 127.0.0.1 only and is
configured entirely through ``MM_*`` environment variables; nothing reaches the network.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from mmtest.api import MattermostAPI
from mmtest.build import ServerInstall, ensure_server
from mmtest.errors import StartError
from mmtest.net import free_port, tail, wait_for
from mmtest.postgres import PostgresCluster

START_TIMEOUT_SECONDS = 180.0  # the first start creates the schema: ~30 s on 2 cores
STOP_GRACE_SECONDS = 30.0
_MAX_UNIX_SOCKET_PATH = 107


@dataclass(frozen=True)
class Credentials:
    """A logged-in user. ``password`` and ``token`` are secrets: keep them out of logs."""

    user_id: str
    username: str
    email: str
    password: str
    token: str

    def __repr__(self) -> str:
        return f"Credentials(user_id={self.user_id!r}, username={self.username!r})"


NewUser = Callable[[], tuple[Credentials, MattermostAPI]]
"""The type of the ``new_user`` fixture: creates a user, returns it and its REST session."""


class MattermostServer:
    """Context manager: a started server with a logged-in system admin; stopped on exit.

    Set ``MMTEST_KEEP=1`` to keep the temporary directory (logs, config) afterwards.
    """

    def __init__(
        self,
        install: ServerInstall | None = None,
        *,
        env: dict[str, str] | None = None,
        keep_files: bool | None = None,
        start_timeout: float = START_TIMEOUT_SECONDS,
        command_prefix: Sequence[str] = (),
    ) -> None:
        self.install = install
        self.extra_env = dict(env or {})
        # Runs the server through this command (e.g. a mount namespace hiding Python).
        self.command_prefix = list(command_prefix)
        self.keep_files = os.environ.get("MMTEST_KEEP") == "1" if keep_files is None else keep_files
        self.start_timeout = start_timeout
        self.workdir = Path()
        self.port = 0
        self._postgres: PostgresCluster | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._admin: Credentials | None = None
        self._admin_api: MattermostAPI | None = None

    # -- where things are -------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "server.log"

    @property
    def local_socket(self) -> Path:
        """The local-mode unix socket (``mmctl --local``; no session needed)."""
        return self.workdir / "mattermost_local.socket"

    @property
    def plugin_dir(self) -> Path:
        return self.workdir / "plugins"

    @property
    def admin(self) -> Credentials:
        if self._admin is None:
            raise RuntimeError("the server is not started")
        return self._admin

    @property
    def admin_api(self) -> MattermostAPI:
        """A REST session as the system admin (owned by the server; closed on stop)."""
        if self._admin_api is None:
            raise RuntimeError("the server is not started")
        return self._admin_api

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def api(self, token: str | None = None) -> MattermostAPI:
        """A new REST session (anonymous without ``token``); close it when done."""
        return MattermostAPI(self.url, token)

    def local_api(self) -> MattermostAPI:
        """A REST session over the local-mode socket: system-admin rights, no token."""
        transport = httpx.HTTPTransport(uds=str(self.local_socket))
        return MattermostAPI("http://localhost", transport=transport)

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> MattermostServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start PostgreSQL and the server, wait for it, create and log in the admin."""
        if self.install is None:
            self.install = ensure_server()
        self.workdir = Path(tempfile.mkdtemp(prefix="mmtest-"))
        # PostgreSQL runs as another OS user when we are root: let it reach its subdirectory.
        self.workdir.chmod(0o711)
        if len(str(self.local_socket)) > _MAX_UNIX_SOCKET_PATH:
            raise StartError(
                f"the local-mode socket path {self.local_socket} is too long for a unix socket: "
                "set TMPDIR to a shorter directory"
            )
        try:
            self._postgres = PostgresCluster(self.workdir / "postgres")
            self._postgres.start()
            self.port = free_port()
            self._spawn()
            self._wait_until_up()
            self._create_admin()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after a grace period) and PostgreSQL."""
        if self._admin_api is not None:
            self._admin_api.close()
            self._admin_api = None
        if self._process is not None:
            _terminate(self._process, STOP_GRACE_SECONDS)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._postgres is not None:
            self._postgres.stop()
            self._postgres = None
        if self.workdir != Path() and not self.keep_files:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def environment(self) -> dict[str, str]:
        """The ``MM_*`` settings the server runs with (on top of a default config.json)."""
        assert self._postgres is not None
        work = self.workdir
        settings = {
            "MM_SQLSETTINGS_DRIVERNAME": "postgres",
            "MM_SQLSETTINGS_DATASOURCE": self._postgres.dsn,
            "MM_SQLSETTINGS_MAXOPENCONNS": "50",
            "MM_SERVICESETTINGS_LISTENADDRESS": f"127.0.0.1:{self.port}",
            "MM_SERVICESETTINGS_SITEURL": self.url,
            "MM_SERVICESETTINGS_ENABLELOCALMODE": "true",
            "MM_SERVICESETTINGS_LOCALMODESOCKETLOCATION": str(self.local_socket),
            "MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS": "true",
            "MM_SERVICESETTINGS_ENABLESECURITYFIXALERT": "false",
            "MM_SERVICESETTINGS_ENABLELINKPREVIEWS": "false",
            "MM_SERVICESETTINGS_ENABLEGIFPICKER": "false",
            "MM_SERVICESETTINGS_ENABLEONBOARDINGFLOW": "false",
            "MM_PLUGINSETTINGS_ENABLE": "true",
            # Off by default; MessagesWillBeConsumed is never called without it.
            "MM_FEATUREFLAGS_CONSUMEPOSTHOOK": "true",
            "MM_PLUGINSETTINGS_ENABLEUPLOADS": "true",
            "MM_PLUGINSETTINGS_REQUIREPLUGINSIGNATURE": "false",
            "MM_PLUGINSETTINGS_ENABLEMARKETPLACE": "false",
            "MM_PLUGINSETTINGS_ENABLEREMOTEMARKETPLACE": "false",
            "MM_PLUGINSETTINGS_AUTOMATICPREPACKAGEDPLUGINS": "false",
            "MM_PLUGINSETTINGS_DIRECTORY": str(self.plugin_dir),
            "MM_PLUGINSETTINGS_CLIENTDIRECTORY": str(work / "client" / "plugins"),
            "MM_FILESETTINGS_DIRECTORY": str(work / "data"),
            "MM_LOGSETTINGS_ENABLECONSOLE": "true",
            "MM_LOGSETTINGS_CONSOLELEVEL": "INFO",
            "MM_LOGSETTINGS_CONSOLEJSON": "false",
            "MM_LOGSETTINGS_ENABLECOLOR": "false",
            # The JSON file log is what GET /api/v4/logs (and `mmplugin logs`) reads.
            "MM_LOGSETTINGS_ENABLEFILE": "true",
            "MM_LOGSETTINGS_FILELOCATION": str(work / "logs"),
            "MM_LOGSETTINGS_FILEJSON": "true",
            "MM_LOGSETTINGS_FILELEVEL": "INFO",
            "MM_LOGSETTINGS_ENABLEDIAGNOSTICS": "false",
            "MM_LOGSETTINGS_ENABLESENTRY": "false",
            "MM_ANNOUNCEMENTSETTINGS_ADMINNOTICESENABLED": "false",
            "MM_ANNOUNCEMENTSETTINGS_USERNOTICESENABLED": "false",
            "MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS": "false",
            "MM_TEAMSETTINGS_ENABLEOPENSERVER": "true",
        }
        settings.update(self.extra_env)
        return settings

    def _spawn(self) -> None:
        assert self.install is not None
        # The server does not create these itself; without them no plugin starts.
        for directory in (self.plugin_dir, self.workdir / "client" / "plugins"):
            directory.mkdir(parents=True, exist_ok=True)
        # Drop MM_* settings inherited from the caller's shell: the test server is hermetic.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MM_")}
        env.update(self.environment())
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [
                *self.command_prefix,
                str(self.install.binary),
                "server",
                "--config",
                str(self.workdir / "config.json"),
            ],
            cwd=self.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Its own process group, so plugin processes left behind can be killed with it.
            start_new_session=True,
        )

    def _wait_until_up(self) -> None:
        process = self._process
        assert process is not None

        def ping() -> bool | None:
            if (code := process.poll()) is not None:
                raise StartError(
                    f"the Mattermost server exited with status {code} while starting; "
                    f"last lines of {self.log_path}:\n{tail(self.log_path)}"
                )
            try:
                response = httpx.get(self.url + "/api/v4/system/ping", timeout=2, trust_env=False)
            except httpx.TransportError:
                return None
            return True if response.status_code == 200 else None

        try:
            wait_for(ping, timeout=self.start_timeout, what="/api/v4/system/ping", interval=0.5)
        except TimeoutError as exc:
            raise StartError(
                f"the Mattermost server did not answer /api/v4/system/ping within "
                f"{self.start_timeout:.0f}s; last lines of {self.log_path}:\n{tail(self.log_path)}"
            ) from exc

    def _create_admin(self) -> None:
        username = "admin"
        email = "admin@example.com"
        password = "Mm-" + secrets.token_urlsafe(18) + "-1aA"
        with self.api() as anonymous:
            # The first user of a server becomes its system admin.
            user = anonymous.create_user(username, password, email)
            token, _ = anonymous.login(username, password)
        self._admin = Credentials(user["id"], username, email, password, token)
        self._admin_api = self.api(token)


def remove_leftover(workdir: Path, server_pid: int | None, *, delete_files: bool = True) -> None:
    """Stop (and delete) what a MattermostServer whose owner died left in ``workdir``.

    The process is only signalled if its command line names ``workdir`` (its config file is
    there), so a recycled pid is never hit.
    """
    if server_pid is not None and _runs_in(server_pid, workdir):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(server_pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while _runs_in(server_pid, workdir) and time.monotonic() < deadline:
            time.sleep(0.25)
        _kill_group(server_pid)
    PostgresCluster.remove_leftover(workdir / "postgres")
    if delete_files:
        shutil.rmtree(workdir, ignore_errors=True)


def _runs_in(pid: int, workdir: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return str(workdir).encode() in cmdline


def _terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            _kill_group(process.pid)
            process.wait(10)
    # Plugin processes the server left behind are in its process group.
    _kill_group(process.pid)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
