"""``mmplugin check`` and the ``bundle`` warning: API methods and hooks the code uses that a
server version lacks, read statically from the plugin's code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mmplugin.cli import main
from mmplugin.cli.check import min_version_warning, scan, suggested

PLUGIN = """
from mmplugin import Plugin


class Demo(Plugin):
    def on_activate(self) -> None:
        self.api.get_user("u")
        group = self.api.get_group_by_remote_id("r", "ldap")
        print(group)

    async def on_saml_login(self, ctx, user, assertion):  # a hook from 10.7
        await self.async_api.get_property_field("g", "f")

    def helper(self, api) -> str:
        api.restore_channel("c")  # mmplugin: version-checked
        return api.get_plugin_id()

    def get_user(self) -> None:  # not an API call, not a hook
        other.get_group_by_remote_id("x", "y")

    def channel_will_be_archived(self, ctx, channel):  # mmplugin: version-checked
        return None
"""


def _plugin(tmp_path: Path, min_server_version: str | None = "9.11.0") -> Path:
    manifest: dict[str, object] = {"id": "com.example.demo", "version": "0.1.0"}
    if min_server_version is not None:
        manifest["min_server_version"] = min_server_version
    (tmp_path / "plugin.json").write_text(json.dumps(manifest))
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "plugin.py").write_text(PLUGIN)
    # Tests are not the plugin's server code.
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text("api.restore_channel('c')\n")
    return tmp_path


def test_scan_finds_api_calls_and_hooks(tmp_path: Path) -> None:
    report = scan(_plugin(tmp_path))
    found = {(u.kind, u.name, u.min_version, u.where) for u in report.uses}
    assert found == {
        ("hook", "on_activate", "5.2", "demo/plugin.py:6"),
        ("API method", "get_user", "5.2", "demo/plugin.py:7"),
        ("API method", "get_group_by_remote_id", "10.7", "demo/plugin.py:8"),
        ("hook", "on_saml_login", "10.7", "demo/plugin.py:11"),
        ("API method", "get_property_field", "10.10", "demo/plugin.py:12"),
        ("API method", "get_plugin_id", "10.1", "demo/plugin.py:16"),
    }
    assert report.guarded == ["demo/plugin.py:15", "demo/plugin.py:21"]
    assert report.needed_version == "10.10"
    assert [u.name for u in report.lacking("10.7")] == ["get_property_field"]


def test_check_lists_what_the_server_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(_plugin(tmp_path)), "--server-version", "9.11"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1:] == [
        "  demo/plugin.py:12: API method get_property_field needs Mattermost 10.10 "
        "(raises ServerVersionError there)",
        "  demo/plugin.py:8: API method get_group_by_remote_id needs Mattermost 10.7 "
        "(raises ServerVersionError there)",
        "  demo/plugin.py:11: hook on_saml_login needs Mattermost 10.7 (never called there)",
        "  demo/plugin.py:16: API method get_plugin_id needs Mattermost 10.1 "
        "(returns an empty value there: the method has no error result)",
        "  demo/plugin.py:15: marked '# mmplugin: version-checked': not counted",
        "  demo/plugin.py:21: marked '# mmplugin: version-checked': not counted",
        "The code needs Mattermost 10.10; plugin.json's min_server_version is 9.11.0: "
        'set "min_server_version": "10.10.0".',
    ]


def test_check_passes_on_a_server_with_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = _plugin(tmp_path, "10.10.0")
    assert main(["check", str(plugin)]) == 0  # against the manifest's own min_server_version
    out = capsys.readouterr().out
    assert "Mattermost 10.10.0 has every API method and hook the code uses." in out
    assert "min_server_version is 10.10.0: covers it." in out


def test_check_needs_a_version(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(_plugin(tmp_path, None))]) == 1
    assert "give --server-version X.Y" in capsys.readouterr().err
    assert main(["check", str(tmp_path), "--server-version", "nine"]) == 1
    assert "not a Mattermost version" in capsys.readouterr().err


def test_bundle_warning(tmp_path: Path) -> None:
    warning = min_version_warning(_plugin(tmp_path, "9.11.0"))
    assert warning is not None
    assert warning.startswith(
        "warning: plugin.json's min_server_version is 9.11.0, but the code uses "
        "get_property_field (Mattermost 10.10)"
    )
    assert '"min_server_version": "10.10.0"' in warning
    assert min_version_warning(tmp_path) is not None
    (tmp_path / "plugin.json").write_text(json.dumps({"min_server_version": "10.10.0"}))
    assert min_version_warning(tmp_path) is None


def test_suggestion_is_never_below_the_oldest_tested_server() -> None:
    assert suggested("5.2") == "9.11.0"
    assert suggested("10.7") == "10.7.0"
    assert suggested("") == "9.11.0"
