"""Operations on the real server: what a deploy says when it fails, a quiet server log on
normal deploys, upgrades, disables and enables, typed slash-command autocomplete (static and
dynamic lists, admin-only sub-commands) and a scheduled job that follows the settings.

The plugin is e2e/plugins/pyplugin, bundled and deployed with the author CLI; the oracle is the
server: its autocomplete API (``GET /api/v4/teams/{team_id}/commands/autocomplete_suggestions``),
its JSON log (``GET /api/v4/logs``) and the plugin's HTTP routes.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mmtest import pyplugin
from mmtest.api import JSON, MattermostAPI, PluginState
from mmtest.net import wait_for
from mmtest.pyplugin import PYPLUGIN_DIR, PYPLUGIN_ID
from mmtest.server import MattermostServer, NewUser

_T = TypeVar("_T")
MISSING_MODULE = "mmplugin_e2e_missing_module"


@pytest.fixture(scope="module")
def host_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pyplugin.build_host(tmp_path_factory.mktemp("host")).path


@pytest.fixture(scope="module")
def good_bundle(host_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pyplugin.bundle(PYPLUGIN_DIR, tmp_path_factory.mktemp("dist"), host_binary).path


@pytest.fixture(scope="module")
def deployed(
    mm_server: MattermostServer, admin_api: MattermostAPI, good_bundle: Path
) -> Iterator[Path]:
    pyplugin.deploy(good_bundle, mm_server.url, mm_server.admin.token)
    yield good_bundle
    admin_api.remove_plugin(PYPLUGIN_ID)


def _log_lines(api: MattermostAPI) -> list[str]:
    lines = api.get("/logs", params={"page": 0, "logs_per_page": 10000})
    return [str(x) for x in lines]


def _plugin_entries(lines: list[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("plugin_id") == PYPLUGIN_ID:
            out.append(entry)
    return out


def _suggest(api: MattermostAPI, team_id: str, user_input: str) -> list[JSON]:
    found: list[JSON] = api.get(
        f"/teams/{team_id}/commands/autocomplete_suggestions",
        params={"user_input": user_input},
    )
    return found


def _set_tick_seconds(api: MattermostAPI, seconds: int) -> None:
    config = api.get("/config")
    plugins = config["PluginSettings"].setdefault("Plugins", {})
    plugins[PYPLUGIN_ID] = {**plugins.get(PYPLUGIN_ID, {}), "tickseconds": seconds}
    response = api.http.put("/api/v4/config", json=config)
    assert response.status_code == 200, response.text


def test_typed_arguments_reach_the_servers_autocomplete(
    deployed: Path, admin_api: MattermostAPI, team: JSON
) -> None:
    subs = {s["Suggestion"]: s for s in _suggest(admin_api, team["id"], "/pyweather ")}
    assert {"set", "purge"} <= set(subs)
    units = _suggest(admin_api, team["id"], "/pyweather set ")
    assert [(s["Suggestion"], s["Hint"]) for s in units] == [("celsius", ""), ("fahrenheit", "F")]
    # The dynamic list: the server asks the plugin's ServeHTTP, the SDK calls stations().
    me = admin_api.me()["id"]
    stations = _suggest(admin_api, team["id"], "/pyweather set celsius ber")
    assert [(s["Suggestion"], s["Hint"]) for s in stations] == [
        ("berlin-1", me),
        ("bergen-2", me),
    ]
    named = _suggest(admin_api, team["id"], "/pyweather set celsius oslo-3 ")
    assert [s["Suggestion"] for s in named] == ["--note"]
    text = _suggest(admin_api, team["id"], "/pyweather set celsius oslo-3 --note ")
    assert [(s["Hint"], s["Description"]) for s in text] == [("[note]", "A note")]


def test_admin_only_sub_commands_are_hidden_and_refused_for_other_users(
    deployed: Path,
    admin_api: MattermostAPI,
    new_user: NewUser,
    team: JSON,
    channel: JSON,
) -> None:
    user, api = new_user()
    admin_api.add_team_member(team["id"], user.user_id)
    admin_api.add_channel_member(channel["id"], user.user_id)
    visible = {s["Suggestion"] for s in _suggest(api, team["id"], "/pyweather ")}
    assert visible == {"set"}
    refused = api.execute_command(channel["id"], "/pyweather purge", team["id"])
    assert "Only system admins can use /pyweather purge" in json.dumps(refused)
    done = admin_api.execute_command(channel["id"], "/pyweather purge", team["id"])
    assert "pyweather purged" in json.dumps(done)


def test_a_job_interval_follows_the_settings_without_rescheduling(
    deployed: Path, admin_api: MattermostAPI
) -> None:
    def job() -> JSON:
        response = admin_api.plugin_http(PYPLUGIN_ID, "GET", "/job")
        assert response.status_code == 200, response.text
        state: JSON = response.json()
        return state

    before = job()
    _set_tick_seconds(admin_api, 1)
    try:
        after = wait_for(
            what="two runs of e2e-tick at the new 1 s interval",
            probe=lambda: state if (state := job())["runs"] >= before["runs"] + 2 else None,
            timeout=30,
        )
    finally:
        _set_tick_seconds(admin_api, 3600)
    assert after["never_ran"] is False


def test_deploy_upgrade_disable_enable_leave_no_error_in_the_server_log(
    mm_server: MattermostServer, deployed: Path, admin_api: MattermostAPI
) -> None:
    before = set(_log_lines(admin_api))
    pyplugin.deploy(deployed, mm_server.url, mm_server.admin.token)  # an upgrade in place
    admin_api.disable_plugin(PYPLUGIN_ID)
    admin_api.enable_plugin(PYPLUGIN_ID)
    admin_api.wait_for_plugin(PYPLUGIN_ID, PluginState.RUNNING)

    def started_twice() -> list[dict[str, Any]] | None:
        new = _plugin_entries([x for x in _log_lines(admin_api) if x not in before])
        started = [e for e in new if e.get("msg") == "Python process started"]
        return new if len(started) >= 2 else None

    new = wait_for(
        what="two 'Python process started' lines (upgrade, enable)", probe=started_twice, timeout=60
    )
    errors = [e for e in new if e.get("level") == "error"]
    assert not errors, "\n".join(json.dumps(e) for e in errors)
    started = next(e for e in new if e.get("msg") == "Python process started")
    assert started.get("pid") and "wrapped_extras" not in started, started
    # Records from the stop still arrive (through stderr, as hclog text), at their own level.
    assert any(e.get("level") == "info" and "stopping:" in str(e.get("msg")) for e in new), new


def test_a_failed_upgrade_names_the_cause(
    mm_server: MattermostServer,
    deployed: Path,
    admin_api: MattermostAPI,
    host_binary: Path,
    tmp_path: Path,
) -> None:
    broken_dir = tmp_path / "pyplugin"
    shutil.copytree(PYPLUGIN_DIR, broken_dir, ignore=shutil.ignore_patterns("__pycache__"))
    module = broken_dir / "pyplugin" / "plugin.py"
    future = "from __future__ import annotations\n"
    source = module.read_text()
    assert future in source
    module.write_text(source.replace(future, f"{future}import {MISSING_MODULE}  # noqa\n", 1))
    broken = pyplugin.bundle(broken_dir, tmp_path / "dist", host_binary).path

    result = pyplugin.mmplugin_cli(
        "deploy",
        str(broken),
        "--wait",
        "60",
        env=pyplugin.server_env(mm_server.url, mm_server.admin.token),
    )
    output = result.stdout + result.stderr
    try:
        assert result.returncode == 1, output
        assert f"No module named '{MISSING_MODULE}'" in output, output
        assert "add it to the plugin's requirements.txt" in output, output
        assert "Traceback" not in output.split("last lines of its log")[0], output
    finally:
        pyplugin.deploy(deployed, mm_server.url, mm_server.admin.token)
    assert admin_api.plugin_status(PYPLUGIN_ID)["state"] == PluginState.RUNNING  # type: ignore[index]
