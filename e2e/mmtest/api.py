"""Thin helpers over httpx for the Mattermost REST API (``/api/v4``).

The HTTP client is httpx itself (``MattermostAPI.http``); these helpers only name the few
routes the end-to-end tests use and turn Mattermost's JSON errors into exceptions that say
which call failed and why. Tokens are never put into messages.
"""

from __future__ import annotations

import time
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

JSON = dict[str, Any]


class PluginState(IntEnum):
    """``model.PluginState*`` as reported by ``GET /api/v4/plugins/statuses``."""

    NOT_RUNNING = 0
    STARTING = 1
    RUNNING = 2
    FAILED_TO_START = 3
    FAILED_TO_STAY_RUNNING = 4
    STOPPING = 5


class APIError(Exception):
    """A ``/api/v4`` call answered with an error status."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.error_id = ""
        self.detail = response.text[:500]
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            self.error_id = str(body.get("id", ""))
            self.detail = str(body.get("message", "")) or self.detail
        request = response.request
        super().__init__(
            f"{request.method} {request.url.path} answered {self.status_code}"
            f"{' ' + self.error_id if self.error_id else ''}: {self.detail}"
        )


class MattermostAPI:
    """A REST session against one server, as one user (or anonymous when ``token`` is None)."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env=False: the server is on loopback, never behind the environment's proxy.
        self.http = httpx.Client(
            base_url=base_url,
            headers=headers,
            timeout=timeout,
            transport=transport,
            trust_env=False,
        )
        self.token = token

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> MattermostAPI:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method /api/v4{path}``; raises :class:`APIError` on a 4xx/5xx answer."""
        response = self.http.request(method, "/api/v4" + path, **kwargs)
        if response.is_error:
            raise APIError(response)
        return response

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.call("GET", path, **kwargs).json()

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        response = self.call("POST", path, json=body, **kwargs)
        return response.json() if response.content else None

    # -- users, teams, channels, posts, commands --------------------------------------------

    def login(self, login_id: str, password: str) -> tuple[str, JSON]:
        """Log in; returns the session token and the user."""
        response = self.call(
            "POST", "/users/login", json={"login_id": login_id, "password": password}
        )
        return response.headers["Token"], response.json()

    def me(self) -> JSON:
        user: JSON = self.get("/users/me")
        return user

    def create_user(self, username: str, password: str, email: str | None = None) -> JSON:
        body = {
            "username": username,
            "password": password,
            "email": email or f"{username}@example.com",
        }
        user: JSON = self.post("/users", body)
        return user

    def create_team(
        self, name: str, display_name: str | None = None, *, open_: bool = True
    ) -> JSON:
        body = {"name": name, "display_name": display_name or name, "type": "O" if open_ else "I"}
        team: JSON = self.post("/teams", body)
        return team

    def add_team_member(self, team_id: str, user_id: str) -> JSON:
        member: JSON = self.post(
            f"/teams/{team_id}/members", {"team_id": team_id, "user_id": user_id}
        )
        return member

    def create_channel(
        self, team_id: str, name: str, display_name: str | None = None, *, private: bool = False
    ) -> JSON:
        body = {
            "team_id": team_id,
            "name": name,
            "display_name": display_name or name,
            "type": "P" if private else "O",
        }
        channel: JSON = self.post("/channels", body)
        return channel

    def add_channel_member(self, channel_id: str, user_id: str) -> JSON:
        member: JSON = self.post(f"/channels/{channel_id}/members", {"user_id": user_id})
        return member

    def create_post(self, channel_id: str, message: str, **fields: Any) -> JSON:
        post: JSON = self.post("/posts", {"channel_id": channel_id, "message": message, **fields})
        return post

    def execute_command(self, channel_id: str, command: str, team_id: str | None = None) -> JSON:
        """Run a slash command (``/trigger args``) as this user; returns the CommandResponse."""
        body = {"channel_id": channel_id, "command": command}
        if team_id:
            body["team_id"] = team_id
        result: JSON = self.post("/commands/execute", body)
        return result

    # -- plugins ----------------------------------------------------------------------------

    def upload_plugin(self, bundle: Path, *, force: bool = True) -> JSON:
        """``POST /plugins`` (multipart field ``plugin``); returns the manifest."""
        with bundle.open("rb") as handle:
            response = self.call(
                "POST",
                "/plugins",
                files={"plugin": (bundle.name, handle, "application/gzip")},
                data={"force": "true"} if force else {},
            )
        manifest: JSON = response.json()
        return manifest

    def enable_plugin(self, plugin_id: str) -> None:
        self.call("POST", f"/plugins/{plugin_id}/enable")

    def disable_plugin(self, plugin_id: str) -> None:
        self.call("POST", f"/plugins/{plugin_id}/disable")

    def remove_plugin(self, plugin_id: str) -> None:
        self.call("DELETE", f"/plugins/{plugin_id}")

    def plugin_statuses(self) -> list[JSON]:
        statuses: list[JSON] = self.get("/plugins/statuses")
        return statuses

    def plugin_status(self, plugin_id: str) -> JSON | None:
        return next((s for s in self.plugin_statuses() if s.get("plugin_id") == plugin_id), None)

    def wait_for_plugin(
        self, plugin_id: str, state: PluginState = PluginState.RUNNING, *, timeout: float = 60.0
    ) -> JSON:
        """Poll ``GET /plugins/statuses`` until ``plugin_id`` is in ``state``.

        Fails at once if the plugin failed to start or to stay running (unless that is the
        state asked for), with the server's error text.
        """
        failed = {PluginState.FAILED_TO_START, PluginState.FAILED_TO_STAY_RUNNING} - {state}
        deadline = time.monotonic() + timeout
        last: JSON | None = None
        while True:
            last = self.plugin_status(plugin_id)
            if last is not None and last.get("state") == state:
                return last
            if last is not None and last.get("state") in failed:
                raise RuntimeError(
                    f"plugin {plugin_id} is {PluginState(last['state']).name}: "
                    f"{last.get('error') or 'no error text'}; see the server log for the reason"
                )
            if time.monotonic() >= deadline:
                seen = "not listed" if last is None else PluginState(last["state"]).name
                raise TimeoutError(
                    f"plugin {plugin_id} not {state.name} after {timeout:.0f}s (it is {seen}); "
                    "see the server log"
                )
            time.sleep(0.25)

    def install_plugin(self, bundle: Path, *, timeout: float = 60.0) -> JSON:
        """Upload (forced), enable and wait until running; returns the manifest."""
        manifest = self.upload_plugin(bundle, force=True)
        self.enable_plugin(manifest["id"])
        self.wait_for_plugin(manifest["id"], timeout=timeout)
        return manifest

    def plugin_http(self, plugin_id: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A request to the plugin's ServeHTTP (``/plugins/{id}{path}``); never raises on status."""
        return self.http.request(method, f"/plugins/{plugin_id}{path}", **kwargs)
