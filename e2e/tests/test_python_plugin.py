"""A real Python plugin (e2e/plugins/pyplugin) on the real server, beside the Go plugin.

Built as an author builds it (``go build`` of the host, ``mmplugin bundle`` with wheels from
PyPI, ``mmplugin deploy``); everything the tests observe goes through httpx (REST and the
plugin's HTTP routes) and websockets (events), never through mmplugin's own code.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from mmtest import pyplugin
from mmtest.api import JSON, APIError, MattermostAPI, PluginState
from mmtest.bundle import GOPLUGIN_ID
from mmtest.net import wait_for
from mmtest.pyplugin import PYPLUGIN_DIR, PYPLUGIN_ID
from mmtest.server import MattermostServer, NewUser
from mmtest.versions import ServerVersion
from mmtest.ws import EventStream

_T = TypeVar("_T")

RESTART_BOUND_SECONDS = 60.0


@pytest.fixture(scope="module")
def host_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    host = pyplugin.build_host(tmp_path_factory.mktemp("host"))
    print(f"\npyplugin: host build {host.seconds:.1f}s")
    return host.path


@pytest.fixture(scope="module")
def py_bundle(host_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> pyplugin.Timed:
    """The plugin bundled with the author CLI."""
    return pyplugin.bundle(PYPLUGIN_DIR, tmp_path_factory.mktemp("dist"), host_binary)


@pytest.fixture(scope="module")
def py_plugin(
    mm_server: MattermostServer, admin_api: MattermostAPI, py_bundle: pyplugin.Timed
) -> Iterator[JSON]:
    """The bundle deployed with ``mmplugin deploy`` and running; removed afterwards."""
    bundled = py_bundle
    deployed = pyplugin.deploy(bundled.path, mm_server.url, mm_server.admin.token)
    print(
        f"\npyplugin: bundle {bundled.seconds:.1f}s "
        f"({bundled.path.stat().st_size / 2**20:.1f} MiB), deploy to running "
        f"{deployed.seconds:.1f}s"
    )
    status = admin_api.plugin_status(PYPLUGIN_ID)
    assert status is not None
    yield status
    admin_api.remove_plugin(PYPLUGIN_ID)


@pytest.fixture
def member(
    new_user: NewUser, admin_api: MattermostAPI, team: JSON, channel: JSON
) -> tuple[str, MattermostAPI]:
    """A new user who is a member of ``team`` and ``channel``: (user id, their REST session)."""
    user, api = new_user()
    admin_api.add_team_member(team["id"], user.user_id)
    admin_api.add_channel_member(channel["id"], user.user_id)
    return user.user_id, api


def _go_plugin_serves(api: MattermostAPI) -> None:
    response = api.plugin_http(GOPLUGIN_ID, "GET", "/ping")
    assert response.status_code == 200, response.text
    assert response.json()["pong"] is True


def _ask(api: MattermostAPI, method: str, path: str) -> httpx.Response:
    return api.plugin_http(PYPLUGIN_ID, method, path)


def test_deploy_runs_the_plugin_beside_the_go_plugin(
    py_plugin: JSON, go_plugin: JSON, admin_api: MattermostAPI
) -> None:
    assert py_plugin["state"] == PluginState.RUNNING
    statuses = {s["plugin_id"]: s["state"] for s in admin_api.get("/plugins/statuses")}
    assert statuses[PYPLUGIN_ID] == PluginState.RUNNING
    assert statuses[GOPLUGIN_ID] == PluginState.RUNNING
    active = {p["id"] for p in admin_api.get("/plugins")["active"]}
    assert {PYPLUGIN_ID, GOPLUGIN_ID} <= active
    _go_plugin_serves(admin_api)


def test_message_will_be_posted_changes_and_rejects(
    py_plugin: JSON, member: tuple[str, MattermostAPI], channel: JSON
) -> None:
    _, api = member
    post = api.create_post(channel["id"], "please pyrewrite this")
    assert post["message"] == "please rewritten-by-python this"
    stored = api.get(f"/posts/{post['id']}")
    assert stored["message"] == "please rewritten-by-python this"

    response = api.http.post(
        "/api/v4/posts", json={"channel_id": channel["id"], "message": "pyforbidden"}
    )
    assert response.status_code == 400, response.text
    reason = "the e2e Python plugin rejects posts containing pyforbidden"
    assert reason in response.json()["message"]
    recent = api.get(f"/channels/{channel['id']}/posts", params={"per_page": 20})
    assert all("pyforbidden" not in p["message"] for p in recent["posts"].values())

    untouched = api.create_post(channel["id"], "an ordinary message")
    assert untouched["message"] == "an ordinary message"


def test_bot_replies_on_the_websocket(
    mm_server: MattermostServer,
    py_plugin: JSON,
    member: tuple[str, MattermostAPI],
    channel: JSON,
) -> None:
    user_id, api = member
    bot = api.get("/users/username/pybot")
    assert bot["is_bot"] is True
    assert api.token is not None
    with EventStream(mm_server.ws_url, api.token, timeout=20) as events:
        trigger = api.create_post(channel["id"], "hey pytrigger")

        def is_reply(event: JSON) -> bool:
            post = json.loads(event["data"]["post"])
            return bool(post["user_id"] == bot["id"] and post["root_id"] == trigger["id"])

        event = events.wait_for("posted", is_reply)
    reply = json.loads(event["data"]["post"])
    assert reply["message"] == f"pybot heard {user_id}"
    assert reply["channel_id"] == channel["id"]


def test_slash_command_answers(
    py_plugin: JSON, member: tuple[str, MattermostAPI], team: JSON, channel: JSON
) -> None:
    user_id, api = member
    response = api.execute_command(channel["id"], "/pyecho hello  from  e2e", team["id"])
    assert response["response_type"] == "ephemeral"
    assert response["text"] == f"pyecho {user_id}: hello  from  e2e"


def test_asgi_app_sees_the_authenticated_user(
    mm_server: MattermostServer, py_plugin: JSON, new_user: NewUser
) -> None:
    user, api = new_user()
    response = _ask(api, "GET", "/whoami")
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": user.user_id}
    assert response.headers["Mattermost-User-Id"] == user.user_id

    with mm_server.api() as anonymous:
        response = _ask(anonymous, "GET", "/whoami")
        # A forged header is dropped by the server: the plugin still sees no user.
        forged = anonymous.plugin_http(
            PYPLUGIN_ID, "GET", "/whoami", headers={"Mattermost-User-Id": user.user_id}
        )
    assert response.status_code == 401
    assert "Mattermost-User-Id" not in response.headers
    assert forged.status_code == 401

    assert _ask(api, "GET", "/no-such-route").status_code == 404


def test_dbapi_queries_the_servers_database(py_plugin: JSON, new_user: NewUser) -> None:
    """mmplugin.db through the real server's plugin.Driver and its PostgreSQL driver."""
    user, api = new_user()
    response = _ask(api, "GET", "/db")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["driver"] == "postgres"
    assert report["columns"] == ["username", "email"]
    assert report["user"] == [user.username, user.email]
    assert isinstance(report["active_users"], int) and report["active_users"] >= 2
    # The committed insert is there, the rolled-back one is not.
    assert report["notes"] == [[user.user_id, "kept"]]


# API methods newer than some servers of the matrix, by the Python name the plugin calls, with
# the Go name and the version the generated metadata gives (Minimum server version).
NEWER_METHODS = {
    "get_group_by_remote_id": ("GetGroupByRemoteID", "10.7"),
    "get_property_field": ("GetPropertyField", "10.10"),
    "restore_channel": ("RestoreChannel", "11.10"),
}


def test_api_methods_newer_than_the_server_raise_server_version_error(
    py_plugin: JSON, go_plugin: JSON, admin_api: MattermostAPI, server_version: ServerVersion
) -> None:
    """On a server older than a method, the real server's net/rpc has no Plugin.<Method>; the
    plugin gets ServerVersionError naming the method, the version it needs and the server's
    version. On a server that has the method, the call reaches it (a result or its own error).
    The Go plugin beside it makes the same GetGroupByRemoteID call."""
    response = _ask(admin_api, "GET", "/versions")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["server_version"] == str(server_version)
    for method, (go_name, needs) in NEWER_METHODS.items():
        probe = report["probes"][method]
        if server_version < needs:
            # Expected on this server: it predates the method.
            assert probe == {
                "outcome": "ServerVersionError",
                "message": f"{method} needs Mattermost {needs}; this server is {server_version}",
                "method": method,
                "required_version": needs,
                "server_version": str(server_version),
                "detailed_error": f"rpc: can't find method Plugin.{go_name}",
            }, method
        else:
            assert probe["outcome"] != "ServerVersionError", (method, probe)
    # GetPluginID (10.1) has no error result: an older server's missing method reads as "".
    expected_id = PYPLUGIN_ID if server_version >= "10.1" else ""
    assert report["probes"]["get_plugin_id"] == {"outcome": "ok", "result": expected_id}

    go = admin_api.plugin_http(GOPLUGIN_ID, "GET", "/versions")
    assert go.status_code == 200, go.text
    if server_version < "10.7":
        # Mattermost's Go client logs the failed RPC and returns (nil, nil): a Go plugin cannot
        # tell a server without the method from "no such group".
        assert go.json() == {
            "server_version": str(server_version),
            "group_is_nil": True,
            "app_error": None,
        }
    else:
        # Both reach the server's GetGroupByRemoteID and get the same AppError for an unknown
        # group (on 10.10 a 403 ForbiddenError, the same id as the Go twin sees).
        assert go.json()["group_is_nil"] is True and go.json()["app_error"], go.json()
        probe = report["probes"]["get_group_by_remote_id"]
        assert probe["id"] == go.json()["app_error"], (probe, go.json())


def test_a_hook_newer_than_the_server_is_never_called(
    py_plugin: JSON,
    admin_api: MattermostAPI,
    team: JSON,
    unique: str,
    server_version: ServerVersion,
) -> None:
    """The plugin implements ChannelWillBeArchived (11.7), which rejects archiving pykeep-*
    channels. A server older than the hook still runs the plugin and never calls it."""
    channel = admin_api.create_channel(team["id"], f"pykeep-{unique}", f"Keep {unique}")
    response = admin_api.http.delete(f"/api/v4/channels/{channel['id']}")
    if server_version < "11.7":
        # Expected on this server: it predates the hook, so the archive goes ahead.
        assert response.status_code == 200, response.text
        assert admin_api.get(f"/channels/{channel['id']}")["delete_at"] > 0
    else:
        assert response.status_code >= 400, response.text
        assert "keeps pykeep channels" in response.text
    status = admin_api.plugin_status(PYPLUGIN_ID)
    assert status is not None and status["state"] == PluginState.RUNNING


def test_kv_survives_disable_and_enable(
    py_plugin: JSON, go_plugin: JSON, admin_api: MattermostAPI
) -> None:
    first = _ask(admin_api, "POST", "/counter").json()["count"]
    second = _ask(admin_api, "POST", "/counter").json()["count"]
    assert second == first + 1

    admin_api.disable_plugin(PYPLUGIN_ID)
    admin_api.wait_for_plugin(PYPLUGIN_ID, PluginState.NOT_RUNNING)
    assert _ask(admin_api, "GET", "/counter").status_code == 404
    _go_plugin_serves(admin_api)

    admin_api.enable_plugin(PYPLUGIN_ID)
    admin_api.wait_for_plugin(PYPLUGIN_ID)
    assert _ask(admin_api, "GET", "/counter").json() == {"count": second}
    assert _ask(admin_api, "POST", "/counter").json() == {"count": second + 1}
    _go_plugin_serves(admin_api)


def test_settings_change_reaches_the_plugin(
    py_plugin: JSON, admin_api: MattermostAPI, unique: str
) -> None:
    assert _ask(admin_api, "GET", "/setting").status_code == 200
    config = admin_api.get("/config")
    plugins = config["PluginSettings"].setdefault("Plugins", {})
    greeting = f"hello {unique}"
    plugins[PYPLUGIN_ID] = {**plugins.get(PYPLUGIN_ID, {}), "greeting": greeting}
    response = admin_api.http.put("/api/v4/config", json=config)
    assert response.status_code == 200, response.text

    def changed() -> str | None:
        value = _ask(admin_api, "GET", "/setting").json()["greeting"]
        return value if value == greeting else None

    assert (
        wait_for(what="the new Greeting reaching the plugin", probe=changed, timeout=15) == greeting
    )


def test_killed_python_process_is_restarted(
    mm_server: MattermostServer,
    py_plugin: JSON,
    go_plugin: JSON,
    admin_api: MattermostAPI,
    member: tuple[str, MattermostAPI],
    channel: JSON,
) -> None:
    plugin_dir = mm_server.plugin_dir / PYPLUGIN_ID
    pids = pyplugin.python_processes(plugin_dir)
    assert len(pids) == 1, f"expected one Python process in {plugin_dir}, found {pids}"
    before = _ask(admin_api, "GET", "/counter").json()["count"]

    os.kill(pids[0], signal.SIGKILL)
    wait_for(
        what="the killed process to go",
        probe=lambda: None if Path(f"/proc/{pids[0]}").exists() else True,
        timeout=30,
    )

    ping = admin_api.http.get("/api/v4/system/ping")
    assert ping.status_code == 200 and ping.json()["status"] == "OK"
    _go_plugin_serves(admin_api)

    def serving() -> httpx.Response | None:
        response = _ask(admin_api, "GET", "/counter")
        return response if response.status_code == 200 else None

    started = time.monotonic()
    response = wait_for(
        what="the plugin serving again", probe=serving, timeout=RESTART_BOUND_SECONDS
    )
    print(f"\npyplugin: serving again {time.monotonic() - started:.1f}s after SIGKILL")
    assert response.json() == {"count": before}
    new_pids = pyplugin.python_processes(plugin_dir)
    assert len(new_pids) == 1 and new_pids != pids
    status = admin_api.plugin_status(PYPLUGIN_ID)
    assert status is not None and status["state"] == PluginState.RUNNING

    # Hooks work in the new process too (OnActivate ran again: the bot id is known).
    _, api = member
    assert api.create_post(channel["id"], "pyrewrite")["message"] == "rewritten-by-python"
    _go_plugin_serves(admin_api)


def test_mmplugin_logs_shows_the_plugins_lines(
    mm_server: MattermostServer, py_plugin: JSON, admin_api: MattermostAPI
) -> None:
    count = _ask(admin_api, "POST", "/counter").json()["count"]
    output = pyplugin.logs(PYPLUGIN_ID, mm_server.url, mm_server.admin.token)
    assert "pyplugin activated" in output
    assert "counter incremented" in output
    assert str(count) in output
    assert GOPLUGIN_ID not in output


def test_local_mode_deploy_and_logs(
    mm_server: MattermostServer,
    py_plugin: JSON,
    py_bundle: pyplugin.Timed,
    admin_api: MattermostAPI,
) -> None:
    """``mmplugin deploy|logs --local-socket``: on the server's machine, no token at all."""
    local = ["--local-socket", str(mm_server.local_socket)]
    no_server = {"MM_SERVICESETTINGS_SITEURL": "", "MM_ADMIN_TOKEN": ""}
    deployed = pyplugin.mmplugin_cli(
        "deploy", str(py_bundle.path), *local, "--wait", "120", env=no_server
    )
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert f"{PYPLUGIN_ID} is running" in deployed.stdout + deployed.stderr
    admin_api.wait_for_plugin(PYPLUGIN_ID)
    assert _ask(admin_api, "GET", "/whoami").status_code == 200

    logs = pyplugin.mmplugin_cli("logs", "--plugin-id", PYPLUGIN_ID, *local, env=no_server)
    assert logs.returncode == 0, logs.stderr
    assert "pyplugin activated" in logs.stdout


def test_deploy_reports_why_a_plugin_does_not_start(
    mm_server: MattermostServer,
    py_plugin: JSON,
    go_plugin: JSON,
    admin_api: MattermostAPI,
    host_binary: Path,
    tmp_path: Path,
) -> None:
    """A bundle whose entry point names a missing class: deploy fails at once, saying why."""
    source = tmp_path / "broken"
    shutil.copytree(PYPLUGIN_DIR, source, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = json.loads((source / "plugin.json").read_text())
    broken_id = "com.mmplugin.e2e.broken"
    manifest["id"] = broken_id
    manifest["props"]["python"]["entry_point"] = "pyplugin.plugin:NoSuchClass"
    (source / "plugin.json").write_text(json.dumps(manifest))
    bundled = pyplugin.bundle(source, tmp_path / "dist", host_binary)
    reason = "entry point 'pyplugin.plugin:NoSuchClass' failed to import"
    try:
        remote = pyplugin.mmplugin_cli(
            "deploy",
            str(bundled.path),
            env=pyplugin.server_env(mm_server.url, mm_server.admin.token),
        )
        assert remote.returncode == 1
        assert f"{broken_id} failed to start" in remote.stderr
        assert reason in remote.stderr

        admin_api.remove_plugin(broken_id)
        started = time.monotonic()
        local = pyplugin.mmplugin_cli(
            "deploy",
            str(bundled.path),
            "--local-socket",
            str(mm_server.local_socket),
            "--wait",
            "120",
            env={"MM_SERVICESETTINGS_SITEURL": "", "MM_ADMIN_TOKEN": ""},
        )
        assert local.returncode == 1
        assert f"{broken_id} failed to start" in local.stderr
        assert reason in local.stderr
        assert time.monotonic() - started < 60, "local mode waited for the timeout"
    finally:
        with contextlib.suppress(APIError):  # keep the assertion's message, not this one
            admin_api.remove_plugin(broken_id)
    assert _ask(admin_api, "GET", "/whoami").status_code == 200
    _go_plugin_serves(admin_api)
