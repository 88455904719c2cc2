"""Talking to a Mattermost server's REST API: upload, enable, status, logs.

Two ways in: a site URL with a system admin's token (or username and password), or local mode
over the server's unix socket (``ServiceSettings.EnableLocalMode``), which needs no credentials
but only works on the server's own machine.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ..bundle.errors import BundleError

URL_ENV = "MM_SERVICESETTINGS_SITEURL"
TOKEN_ENV = "MM_ADMIN_TOKEN"
USERNAME_ENV = "MM_ADMIN_USERNAME"
PASSWORD_ENV = "MM_ADMIN_PASSWORD"
SOCKET_ENV = "MM_LOCALSOCKETPATH"
DEFAULT_SOCKET = "/var/tmp/mattermost_local.socket"

# model.PluginState*
STATE_NAMES = {
    0: "not running",
    1: "starting",
    2: "running",
    3: "failed to start",
    4: "failed to stay running",
    5: "stopping",
}
RUNNING, FAILED = 2, (3, 4)


class ServerError(BundleError):
    """The server refused a request; the message says why and what to do."""


@dataclass(frozen=True)
class Connection:
    url: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    local_socket: str | None = None

    @classmethod
    def from_args(
        cls,
        url: str | None,
        token: str | None,
        local_socket: str | None,
        local: bool = False,
        env: Mapping[str, str] = os.environ,
    ) -> Connection:
        """Flags first, then the environment (same names as Mattermost's starter template).

        Local mode: --local-socket/--local, or $MM_LOCALSOCKETPATH when no URL is given.
        """
        if local_socket or local:
            return cls(local_socket=local_socket or env.get(SOCKET_ENV) or DEFAULT_SOCKET)
        url = url or env.get(URL_ENV)
        if not url and env.get(SOCKET_ENV):
            return cls(local_socket=env[SOCKET_ENV])
        if not url:
            raise BundleError(
                "say which server: --url https://chat.example.com (or $"
                f"{URL_ENV}) with --token (or ${TOKEN_ENV}), or --local-socket PATH for local "
                "mode on the server's machine"
            )
        token = token or env.get(TOKEN_ENV)
        username, password = env.get(USERNAME_ENV), env.get(PASSWORD_ENV)
        if not token and not (username and password):
            raise BundleError(
                f"no credentials for {url}: pass --token (a system admin's personal access "
                f"token) or set ${TOKEN_ENV}, or set ${USERNAME_ENV} and ${PASSWORD_ENV}"
            )
        return cls(url=url.rstrip("/"), token=token, username=username, password=password)

    @property
    def where(self) -> str:
        return f"local socket {self.local_socket}" if self.local_socket else str(self.url)


def _app_error(resp: httpx.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300] or resp.reason_phrase
    if isinstance(body, dict):
        msg = str(body.get("message") or "")
        detail = str(body.get("detailed_error") or "")
        return f"{msg} ({detail})" if detail else msg
    return str(body)[:300]


class Client:
    """A small typed client for the few routes the CLI needs."""

    def __init__(self, conn: Connection, transport: httpx.BaseTransport | None = None) -> None:
        self.conn = conn
        if conn.local_socket:
            if transport is None:
                if not Path(conn.local_socket).exists():
                    raise BundleError(
                        f"no local-mode socket at {conn.local_socket}: set "
                        "ServiceSettings.EnableLocalMode=true on the server "
                        "(MM_SERVICESETTINGS_ENABLELOCALMODE=true) or pass --local-socket PATH"
                    )
                transport = httpx.HTTPTransport(uds=conn.local_socket)
            base = "http://localhost"
        else:
            base = str(conn.url)
        self._http = httpx.Client(
            base_url=base + "/api/v4",
            transport=transport,
            timeout=httpx.Timeout(30.0, read=300.0),
            headers={"X-Requested-With": "XMLHttpRequest"},
        )
        if conn.token:
            self._http.headers["Authorization"] = f"Bearer {conn.token}"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, what: str, **kw: Any) -> httpx.Response:
        try:
            resp = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise ServerError(f"cannot {what}: {self.conn.where} did not answer ({e})") from None
        if resp.is_success:
            return resp
        raise ServerError(f"cannot {what}: {self._explain(resp)}")

    def _explain(self, resp: httpx.Response) -> str:
        status, msg = resp.status_code, _app_error(resp)
        hints = {
            401: "the token is missing, wrong or expired: use a system admin's personal access "
            f"token (--token or ${TOKEN_ENV})",
            403: "the user is not allowed to manage plugins: use a system admin's token",
            413: "the bundle is larger than the server accepts (50 MiB): bundle fewer "
            "--platform/--python targets",
        }
        hint = hints.get(status, "")
        return f"HTTP {status}: {msg}" + (f"; {hint}" if hint else "")

    def login(self) -> None:
        """Exchange username/password for a session token (when no token was given)."""
        if self.conn.token or self.conn.local_socket:
            return
        resp = self._request(
            "POST",
            "/users/login",
            "log in",
            json={"login_id": self.conn.username, "password": self.conn.password},
        )
        token = resp.headers.get("Token")
        if not token:
            raise ServerError("cannot log in: the server sent no session token")
        self._http.headers["Authorization"] = f"Bearer {token}"

    def upload_plugin(self, bundle: Path, *, force: bool = True) -> dict[str, Any]:
        with bundle.open("rb") as f:
            try:
                resp = self._http.post(
                    "/plugins",
                    files={"plugin": (bundle.name, f, "application/gzip")},
                    data={"force": "true" if force else "false"},
                )
            except httpx.HTTPError as e:
                raise ServerError(
                    f"cannot upload {bundle.name}: {self.conn.where} did not answer ({e})"
                ) from None
        if resp.status_code == 501:
            raise ServerError(
                f"cannot upload {bundle.name}: plugin uploads are disabled on this server "
                f"({_app_error(resp)}). Set PluginSettings.Enable=true, "
                "PluginSettings.EnableUploads=true and PluginSettings.RequirePluginSignature="
                "false (MM_PLUGINSETTINGS_ENABLEUPLOADS=true etc.), or deploy in local mode "
                "with --local-socket on the server's machine"
            )
        if not resp.is_success:
            raise ServerError(f"cannot upload {bundle.name}: {self._explain(resp)}")
        manifest: dict[str, Any] = resp.json()
        return manifest

    def enable_plugin(self, plugin_id: str) -> None:
        self._request("POST", f"/plugins/{plugin_id}/enable", f"enable {plugin_id}")

    def plugin_statuses(self, plugin_id: str) -> list[dict[str, Any]] | None:
        """This plugin's status on each cluster node (None in local mode: it lacks the route)."""
        if self.conn.local_socket:
            return None
        resp = self._request("GET", "/plugins/statuses", "read plugin statuses")
        return [s for s in resp.json() or [] if s.get("plugin_id") == plugin_id]

    def is_active(self, plugin_id: str) -> bool:
        resp = self._request("GET", "/plugins", "list plugins")
        active = resp.json().get("active") or []
        return any((p.get("id") or "").lower() == plugin_id for p in active)

    def log_lines(self, per_page: int = 10000) -> list[str]:
        """The newest server log lines (JSON strings), oldest first."""
        resp = self._request(
            "GET", "/logs", "read the server log", params={"page": 0, "logs_per_page": per_page}
        )
        lines = resp.json()
        return [str(x) for x in lines] if isinstance(lines, list) else []


ACTIVATION_FAILED = "Unable to activate plugin"  # the server's log message (app/plugin.go)


def last_activation_failure(client: Client, plugin_id: str) -> dict[str, Any] | None:
    """The newest "Unable to activate plugin" log entry of this plugin, if the log has one.

    Local mode has no status route, so this log line is where a failed start shows.
    """
    try:
        lines = client.log_lines(2000)
    except ServerError:
        return None
    for entry in reversed(plugin_log_entries(lines, plugin_id.lower())):
        if entry.get("msg") == ACTIVATION_FAILED:
            found: dict[str, Any] = entry
            return found
    return None


def wait_running(
    client: Client,
    plugin_id: str,
    timeout: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    failure_before: dict[str, Any] | None = None,
) -> None:
    """Poll until the plugin runs on every node; fail with the plugin's error if it fails.

    In local mode a failure is seen in the server log: an activation failure newer than
    ``failure_before`` (``last_activation_failure`` read before the upload) ends the wait.
    """
    deadline = clock() + timeout
    last = "unknown"
    while True:
        statuses = client.plugin_statuses(plugin_id)
        if statuses is None:  # local mode: only "active or not" is visible
            if client.is_active(plugin_id):
                return
            last = "not active"
            failure = last_activation_failure(client, plugin_id)
            if failure is not None and failure != failure_before:
                raise ServerError(
                    f"{plugin_id} failed to start: {failure.get('error') or 'no error given'}. "
                    "See its log with 'mmplugin logs' (same connection flags)"
                )
        elif statuses:
            failed = [s for s in statuses if s.get("state") in FAILED]
            if failed:
                s = failed[0]
                state = STATE_NAMES.get(int(s.get("state", -1)), str(s.get("state")))
                raise ServerError(
                    f"{plugin_id} {state}: {s.get('error') or 'no error given'}. "
                    "See its log with 'mmplugin logs' (same connection flags)"
                )
            if all(s.get("state") == RUNNING for s in statuses):
                return
            last = ", ".join(STATE_NAMES.get(int(s.get("state", -1)), "?") for s in statuses)
        else:
            last = "no status yet"
        if clock() >= deadline:
            raise ServerError(
                f"{plugin_id} is not running after {timeout:.0f}s (state: {last}). See its log "
                "with 'mmplugin logs' (same connection flags), or wait longer with --wait"
            )
        sleep(0.5)


_SKIP_KEYS = {"timestamp", "level", "msg", "caller", "plugin_id"}

REPORT_LOG_LINES = 12
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([^']+)'")


def log_snapshot(client: Client) -> set[str] | None:
    """The server log lines now (to tell later which lines are new); None if unreadable."""
    try:
        return set(client.log_lines(2000))
    except ServerError:
        return None


def failure_report(client: Client, plugin_id: str, error: str, log_before: set[str] | None) -> str:
    """What a failed deploy prints: the error, the plugin's status error, the plugin's log lines
    written since ``log_before`` (its last lines at most), and what to do."""
    parts = [error]
    status_errors: list[str] = []
    try:
        statuses = client.plugin_statuses(plugin_id) or []
    except ServerError:
        statuses = []
    for s in statuses:
        state = STATE_NAMES.get(int(s.get("state", -1)), str(s.get("state")))
        detail = str(s.get("error") or "")
        if detail and detail not in error:
            status_errors.append(detail)
            parts.append(f"plugin status: {state}: {detail}")
    entries: list[dict[str, Any]] = []
    try:
        lines = client.log_lines(2000)
    except ServerError:
        lines = []
    new = [line for line in lines if log_before is None or line not in log_before]
    entries = plugin_log_entries(new, plugin_id.lower())[-REPORT_LOG_LINES:]
    if entries:
        parts.append(f"last lines of its log ({len(entries)}):")
        parts.extend("  " + format_entry(e).replace("\n", "\n    ") for e in entries)
    if len(parts) == 1:
        return error  # nothing the plugin said: the server's answer is all there is
    parts.append(_what_to_do(" ".join([error, *status_errors, *map(json.dumps, entries)])))
    return "\n".join(parts)


def _what_to_do(text: str) -> str:
    missing = _MISSING_MODULE.search(text.replace("\\'", "'"))
    if missing:
        package = missing.group(1).split(".")[0]
        return (
            f"what to do: the plugin imports {package!r}, which is not in the bundle: add it "
            "to the plugin's requirements.txt (or pyproject dependencies), run 'mmplugin "
            "bundle' and deploy again"
        )
    return (
        "what to do: fix the cause above, run 'mmplugin bundle' and deploy again; "
        "'mmplugin logs' (same connection flags) shows the whole log"
    )


def plugin_log_entries(lines: list[str], plugin_id: str) -> list[dict[str, Any]]:
    """The parsed log entries that belong to one plugin, oldest first."""
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and str(entry.get("plugin_id", "")).lower() == plugin_id:
            out.append(entry)
    return out


def format_entry(entry: Mapping[str, Any]) -> str:
    extras = " ".join(
        f"{k}={json.dumps(v) if not isinstance(v, str) or ' ' in v else v}"
        for k, v in entry.items()
        if k not in _SKIP_KEYS
    )
    head = f"{entry.get('timestamp', '')} {entry.get('level', '')!s:<5} {entry.get('msg', '')}"
    return f"{head}  {extras}" if extras else head
