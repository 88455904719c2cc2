from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.tarball import Entry, write_tarball
from mmplugin.cli import commands, main
from mmplugin.cli.server import (
    DEFAULT_SOCKET,
    Client,
    Connection,
    ServerError,
    format_entry,
    last_activation_failure,
    plugin_log_entries,
    wait_running,
)

Handler = Callable[[httpx.Request], httpx.Response]


class FakeServer:
    """Routes requests like Mattermost's API and records them."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.statuses: list[list[dict[str, Any]]] = [[{"plugin_id": "com.example.x", "state": 2}]]
        self.upload_status = 201
        self.log: list[str] = []

    def __call__(self, req: httpx.Request) -> httpx.Response:
        self.requests.append(req)
        path = req.url.path
        if path == "/api/v4/users/login":
            body = json.loads(req.content)
            if body == {"login_id": "admin", "password": "pw"}:
                return httpx.Response(200, headers={"Token": "session-token"}, json={})
            return httpx.Response(401, json={"message": "bad login"})
        if req.headers.get("Authorization") not in ("Bearer tok", "Bearer session-token") and (
            req.url.host != "localhost"
        ):
            return httpx.Response(401, json={"message": "Invalid or expired session"})
        if path == "/api/v4/plugins" and req.method == "POST":
            if self.upload_status != 201:
                return httpx.Response(
                    self.upload_status, json={"message": "Plugins and/or plugin uploads disabled."}
                )
            return httpx.Response(201, json={"id": "com.example.x", "version": "0.1.0"})
        if path == "/api/v4/plugins/com.example.x/enable":
            return httpx.Response(200, json={"status": "OK"})
        if path == "/api/v4/plugins/statuses":
            current = self.statuses[0] if len(self.statuses) == 1 else self.statuses.pop(0)
            return httpx.Response(200, json=current)
        if path == "/api/v4/plugins" and req.method == "GET":
            return httpx.Response(200, json={"active": [{"id": "com.example.x"}], "inactive": []})
        if path == "/api/v4/logs":
            return httpx.Response(200, json=self.log)
        return httpx.Response(404, json={"message": f"no route {path}"})


def client(server: FakeServer, **conn: Any) -> Client:
    c = Connection(**({"url": "https://chat.example.com", "token": "tok"} | conn))
    return Client(c, transport=httpx.MockTransport(server))


def bundle(tmp_path: Path) -> Path:
    manifest = {
        "id": "com.example.x",
        "version": "0.1.0",
        "props": {"python": {"entry_point": "x.p:P"}},
    }
    out = tmp_path / "com.example.x-0.1.0.tar.gz"
    write_tarball(out, "com.example.x", [Entry("plugin.json", json.dumps(manifest).encode())])
    return out


def test_upload_is_multipart_with_force(tmp_path: Path) -> None:
    srv = FakeServer()
    with client(srv) as c:
        assert c.upload_plugin(bundle(tmp_path))["id"] == "com.example.x"
    req = srv.requests[0]
    assert req.method == "POST" and req.url.path == "/api/v4/plugins"
    assert req.headers["Authorization"] == "Bearer tok"
    body = req.content
    assert b'name="plugin"; filename="com.example.x-0.1.0.tar.gz"' in body
    assert b'name="force"\r\n\r\ntrue' in body


def test_upload_disabled_says_which_settings(tmp_path: Path) -> None:
    srv = FakeServer()
    srv.upload_status = 501
    with client(srv) as c, pytest.raises(ServerError) as e:
        c.upload_plugin(bundle(tmp_path))
    assert "EnableUploads" in str(e.value) and "--local-socket" in str(e.value)


def test_bad_token_is_explained() -> None:
    with client(FakeServer(), token="tok-XYZZY") as c, pytest.raises(ServerError) as e:
        c.enable_plugin("com.example.x")
    assert "HTTP 401" in str(e.value) and "personal access token" in str(e.value)
    assert "XYZZY" not in str(e.value)  # the token never appears in messages


def test_login_with_username_and_password() -> None:
    srv = FakeServer()
    with client(srv, token=None, username="admin", password="pw") as c:
        c.login()
        c.enable_plugin("com.example.x")
    assert srv.requests[-1].headers["Authorization"] == "Bearer session-token"


def test_wait_running_polls_until_running() -> None:
    srv = FakeServer()
    srv.statuses = [
        [],
        [{"plugin_id": "com.example.x", "state": 1}, {"plugin_id": "other", "state": 3}],
        [{"plugin_id": "com.example.x", "state": 2}],
    ]
    sleeps: list[float] = []
    with client(srv) as c:
        wait_running(c, "com.example.x", 10, sleep=sleeps.append)
    assert len(sleeps) == 2


def test_wait_running_reports_the_plugin_error() -> None:
    srv = FakeServer()
    srv.statuses = [[{"plugin_id": "com.example.x", "state": 3, "error": "no Python found"}]]
    with client(srv) as c, pytest.raises(ServerError) as e:
        wait_running(c, "com.example.x", 10, sleep=lambda _s: None)
    assert "com.example.x failed to start: no Python found" in str(e.value)
    assert "mmplugin logs" in str(e.value)


def test_wait_running_is_bounded() -> None:
    srv = FakeServer()
    srv.statuses = [[{"plugin_id": "com.example.x", "state": 0}]]
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    with client(srv) as c, pytest.raises(ServerError, match="not running after 3s"):
        wait_running(c, "com.example.x", 3, sleep=sleep, clock=lambda: now[0])


def test_local_mode_uses_the_plugin_list() -> None:
    srv = FakeServer()
    c = Client(Connection(local_socket="/x.sock"), transport=httpx.MockTransport(srv))
    with c:
        wait_running(c, "com.example.x", 5, sleep=lambda _s: None)
    assert srv.requests[-1].url.path == "/api/v4/plugins"
    assert "Authorization" not in srv.requests[-1].headers


def test_local_mode_fails_fast_on_a_new_activation_failure_in_the_log() -> None:
    def entry(error: str) -> str:
        return json.dumps(
            {"msg": "Unable to activate plugin", "plugin_id": "com.example.x", "error": error}
        )

    srv = FakeServer()
    srv.log = [entry("an old failure")]

    def handler(req: httpx.Request) -> httpx.Response:
        if req.url.path == "/api/v4/plugins" and req.method == "GET":
            return httpx.Response(200, json={"active": [], "inactive": [{"id": "com.example.x"}]})
        return srv(req)

    c = Client(Connection(local_socket="/x.sock"), transport=httpx.MockTransport(handler))
    polls: list[float] = []

    def sleep(s: float) -> None:
        polls.append(s)
        if len(polls) == 2:
            srv.log.append(entry("entry point 'x.p:P' failed to import"))

    with c:
        before = last_activation_failure(c, "com.example.x")
        assert before is not None and before["error"] == "an old failure"
        with pytest.raises(ServerError) as e:
            wait_running(c, "com.example.x", 60, sleep=sleep, failure_before=before)
    assert "com.example.x failed to start: entry point 'x.p:P' failed to import" in str(e.value)
    assert len(polls) == 2  # the old failure did not end the wait; the new one did at once


def test_connection_from_flags_and_environment() -> None:
    env = {"MM_SERVICESETTINGS_SITEURL": "https://a.example/", "MM_ADMIN_TOKEN": "t"}
    c = Connection.from_args(None, None, None, env=env)
    assert (c.url, c.token) == ("https://a.example", "t")
    assert Connection.from_args("https://b", "u", None, env=env).url == "https://b"
    assert Connection.from_args(None, None, None, True, env={}).local_socket == DEFAULT_SOCKET
    sock = {"MM_LOCALSOCKETPATH": "/run/mm.sock"}
    assert Connection.from_args(None, None, None, env=sock).local_socket == "/run/mm.sock"
    assert Connection.from_args("https://b", "t", None, env=sock).local_socket is None
    env_login = {
        "MM_SERVICESETTINGS_SITEURL": "https://a",
        "MM_ADMIN_USERNAME": "admin",
        "MM_ADMIN_PASSWORD": "pw",
    }
    assert Connection.from_args(None, None, None, env=env_login).username == "admin"
    with pytest.raises(BundleError, match="--url"):
        Connection.from_args(None, None, None, env={})
    with pytest.raises(BundleError, match="no credentials"):
        Connection.from_args("https://a", None, None, env={})


def test_log_entries_are_filtered_and_formatted() -> None:
    lines = [
        json.dumps({"timestamp": "t1", "level": "info", "msg": "server", "caller": "x"}),
        json.dumps(
            {
                "timestamp": "t2",
                "level": "error",
                "msg": "boom",
                "plugin_id": "com.example.x",
                "caller": "y",
                "error": "bad thing",
                "count": 3,
            }
        ),
        "not json",
        json.dumps({"timestamp": "t3", "level": "info", "msg": "other", "plugin_id": "other"}),
    ]
    entries = plugin_log_entries(lines, "com.example.x")
    assert [e["msg"] for e in entries] == ["boom"]
    assert format_entry(entries[0]) == 't2 error boom  error="bad thing" count=3'


def use_fake(monkeypatch: pytest.MonkeyPatch, srv: FakeServer) -> None:
    def fake_client(args: Any) -> Client:
        conn = Connection.from_args(args.url, args.token, args.local_socket, args.local)
        c = Client(conn, transport=httpx.MockTransport(srv))
        c.login()
        return c

    monkeypatch.setattr(commands, "_client", fake_client)


def test_deploy_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = FakeServer()
    use_fake(monkeypatch, srv)
    b = bundle(tmp_path)
    assert main(["deploy", str(b), "--url", "https://chat.example.com", "--token", "tok"]) == 0
    paths = [r.url.path for r in srv.requests]
    assert paths == [
        "/api/v4/logs",
        "/api/v4/plugins",
        "/api/v4/plugins/com.example.x/enable",
        "/api/v4/plugins/statuses",
    ]
    err = capsys.readouterr().err
    assert "uploaded com.example.x 0.1.0" in err and "com.example.x is running" in err

    srv.statuses = [[{"plugin_id": "com.example.x", "state": 4, "error": "crashed"}]]
    assert main(["deploy", str(b), "--url", "https://c", "--token", "tok", "--wait", "5"]) == 1
    assert "failed to stay running: crashed" in capsys.readouterr().err


def test_logs_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = FakeServer()
    srv.log = [
        json.dumps(
            {"timestamp": f"t{i}", "level": "info", "msg": f"m{i}", "plugin_id": "com.example.x"}
        )
        for i in range(5)
    ]
    use_fake(monkeypatch, srv)
    code = main(
        ["logs", "--plugin-id", "com.example.x", "--url", "https://c", "--token", "tok", "-n", "2"]
    )
    assert code == 0
    assert capsys.readouterr().out.splitlines() == ["t3 info  m3", "t4 info  m4"]
    assert srv.requests[0].url.params["logs_per_page"] == "10000"


def test_deploy_of_a_truncated_bundle_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    b = bundle(tmp_path)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(b.read_bytes()[: b.stat().st_size // 2])
    garbage = tmp_path / "garbage.tar.gz"
    garbage.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    for path in (cut, garbage):
        code = main(["deploy", str(path), "--url", "https://c", "--token", "tok"])
        err = capsys.readouterr().err
        assert code == 1
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert f"{path} is not a readable plugin bundle" in err and "mmplugin bundle" in err


class FailingUpgrade(FakeServer):
    """A server whose upload answers like Mattermost when the upgraded plugin cannot start."""

    def __call__(self, req: httpx.Request) -> httpx.Response:
        if req.url.path == "/api/v4/plugins" and req.method == "POST":
            self.requests.append(req)
            self.log.append(
                json.dumps(
                    {
                        "timestamp": "t9",
                        "level": "error",
                        "msg": "the Python process exited unexpectedly",
                        "plugin_id": "com.example.x",
                        "stderr": "ModuleNotFoundError: No module named 'requests'",
                    }
                )
            )
            return httpx.Response(
                500,
                json={
                    "message": "Unable to restart plugin on upgrade.",
                    "detailed_error": "",
                    "status_code": 500,
                },
            )
        return super().__call__(req)


def test_failed_upgrade_names_the_cause_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    srv = FailingUpgrade()
    old = {
        "timestamp": "t1",
        "level": "error",
        "msg": "an old failure",
        "plugin_id": "com.example.x",
    }
    srv.log = [json.dumps(old)]
    srv.statuses = [
        [
            {
                "plugin_id": "com.example.x",
                "state": 3,
                "error": "plugin:P: ModuleNotFoundError: No module named 'requests'",
            }
        ]
    ]
    use_fake(monkeypatch, srv)
    code = main(["deploy", str(bundle(tmp_path)), "--url", "https://c", "--token", "tok"])
    err = capsys.readouterr().err
    assert code == 1
    assert "HTTP 500: Unable to restart plugin on upgrade." in err
    assert "plugin status: failed to start: plugin:P: ModuleNotFoundError" in err
    assert "the Python process exited unexpectedly" in err
    assert "an old failure" not in err  # only lines written since the deploy started
    assert "add it to the plugin's requirements.txt" in err and "'requests'" in err
