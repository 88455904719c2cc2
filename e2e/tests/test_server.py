"""The server itself: it runs the pinned build, the admin exists, local mode answers."""

from __future__ import annotations

from mmtest.api import MattermostAPI
from mmtest.server import MattermostServer


def test_ping_reports_the_pinned_build(mm_server: MattermostServer) -> None:
    with mm_server.api() as anonymous:
        response = anonymous.call("GET", "/system/ping")
    assert response.json()["status"] == "OK"
    assert mm_server.install is not None
    info = mm_server.install.info
    # X-Version-Id: <CurrentVersion>.<BuildNumber>.<config hash>.<enterprise ready>
    version_id = response.headers["X-Version-Id"]
    assert version_id.startswith(f"{info['mattermost_version']}.{info['server_v8_version']}")


def test_first_user_is_a_logged_in_system_admin(
    mm_server: MattermostServer, admin_api: MattermostAPI
) -> None:
    me = admin_api.me()
    assert me["id"] == mm_server.admin.user_id
    assert "system_admin" in me["roles"].split()


def test_plugin_uploads_are_enabled(admin_api: MattermostAPI) -> None:
    config = admin_api.get("/config")
    plugins = config["PluginSettings"]
    assert plugins["Enable"] is True
    assert plugins["EnableUploads"] is True
    assert plugins["RequirePluginSignature"] is False


def test_local_mode_socket_needs_no_session(mm_server: MattermostServer) -> None:
    with mm_server.local_api() as local:
        plugins = local.get("/plugins")
    assert set(plugins) >= {"active", "inactive"}
