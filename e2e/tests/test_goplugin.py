"""An ordinary Go plugin, uploaded and enabled over REST, serves HTTP and a slash command."""

from __future__ import annotations

from mmtest.api import JSON, MattermostAPI, PluginState
from mmtest.bundle import GOPLUGIN_ID
from mmtest.server import MattermostServer, NewUser


def test_plugin_is_running(admin_api: MattermostAPI, go_plugin: JSON) -> None:
    assert go_plugin["id"] == GOPLUGIN_ID
    status = admin_api.plugin_status(GOPLUGIN_ID)
    assert status is not None
    assert status["state"] == PluginState.RUNNING
    assert GOPLUGIN_ID in {plugin["id"] for plugin in admin_api.get("/plugins")["active"]}


def test_serve_http_sees_the_authenticated_user(go_plugin: JSON, new_user: NewUser) -> None:
    user, api = new_user()
    response = api.plugin_http(GOPLUGIN_ID, "GET", "/ping")
    assert response.status_code == 200, response.text
    assert response.json() == {"pong": True, "user_id": user.user_id}
    assert response.headers["Mattermost-User-Id"] == user.user_id


def test_serve_http_anonymous_request_has_no_user(
    mm_server: MattermostServer, go_plugin: JSON
) -> None:
    with mm_server.api() as anonymous:
        response = anonymous.plugin_http(GOPLUGIN_ID, "GET", "/ping")
    assert response.status_code == 200, response.text
    assert response.json() == {"pong": True, "user_id": ""}


def test_unknown_path_is_the_plugins_404(go_plugin: JSON, admin_api: MattermostAPI) -> None:
    assert admin_api.plugin_http(GOPLUGIN_ID, "GET", "/nope").status_code == 404


def test_slash_command_answers(
    go_plugin: JSON,
    admin_api: MattermostAPI,
    new_user: NewUser,
    team: JSON,
    channel: JSON,
) -> None:
    user, api = new_user()
    admin_api.add_team_member(team["id"], user.user_id)
    admin_api.add_channel_member(channel["id"], user.user_id)

    response = api.execute_command(channel["id"], "/gopong hello there", team["id"])

    assert response["response_type"] == "ephemeral"
    assert response["text"] == f"pong from Go for {user.user_id}: hello there"
