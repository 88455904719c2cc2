from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from bundle_helpers import run

import mmplugin
from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.manifest import load_manifest
from mmplugin.cli import main
from mmplugin.cli.scaffold import MIN_SERVER_VERSION, derive_names, scaffold

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def test_new_writes_a_valid_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "greeter"
    assert main(["new", str(d), "--id", "com.example.greeter", "--name", "Greeter Bot"]) == 0
    m = load_manifest(d)
    assert m.id == "com.example.greeter"
    assert m.entry_point == "greeter.plugin:GreeterBotPlugin"
    raw = json.loads((d / "plugin.json").read_text())
    assert raw["name"] == "Greeter Bot" and raw["version"] == "0.1.0"
    assert set(raw["server"]["executables"]) == {"linux-amd64"}
    assert raw["min_server_version"] == MIN_SERVER_VERSION
    assert [s["key"] for s in raw["settings_schema"]["settings"]] == ["Greeting", "BannedWord"]
    plugin_py = (d / "greeter" / "plugin.py").read_text()
    assert "class GreeterBotPlugin(Plugin):" in plugin_py
    assert "class GreeterBotSettings(Settings):" in plugin_py
    assert '@command("greeter", description="Say hello", hint="[name]")' in plugin_py
    assert "self.log.info(" in plugin_py and "logging.getLogger" not in plugin_py
    assert "def message_will_be_posted(self, ctx: Context, post: Post)" in plugin_py
    pyproject = tomllib.loads((d / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [f"mmplugin>={mmplugin.__version__}"]
    assert (
        f"mmplugin[cli]>={mmplugin.__version__}"
        in pyproject["project"]["optional-dependencies"]["dev"]
    )
    assert "from mmplugin.testing import" in (d / "tests" / "test_plugin.py").read_text()
    for py in d.rglob("*.py"):
        compile(py.read_text(), str(py), "exec")  # every file is valid Python
    assert "created plugin com.example.greeter" in capsys.readouterr().err


def test_new_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(BundleError, match="not empty"):
        scaffold(tmp_path / "x", "com.example.x", "X")
    assert main(["new", str(tmp_path / "x"), "--id", "com.example.x", "--name", "X"]) == 1


@pytest.mark.parametrize(
    ("plugin_id", "name", "package", "cls", "trigger", "bot"),
    [
        ("com.example.greeter", "Greeter", "greeter", "GreeterPlugin", "greeter", "greeter"),
        # a standard library name
        ("com.example.json", "JSON tools", "json_plugin", "JSONToolsPlugin", "json-plugin", None),
        ("com.example.my-bot", "my bot plugin", "my_bot", "MyBotPlugin", "my-bot", "my-bot"),
        ("com.example.9lives", "9 lives", "plugin_9lives", "Plugin9LivesPlugin", None, None),
        ("com.example.grpc", "G", "grpc_plugin", "GPlugin", None, None),
        ("com.example.ab", "AB", "ab", "ABPlugin", "ab", "ab-bot"),  # usernames have ≥ 3 chars
        ("com.example.a_very_long_plugin_name_indeed", "L", None, "LPlugin", None, None),
    ],
)
def test_names(
    plugin_id: str, name: str, package: str | None, cls: str, trigger: str | None, bot: str | None
) -> None:
    n = derive_names(plugin_id, name)
    assert n.class_name == cls
    assert n.package == (package or n.package)
    assert n.trigger == (trigger or n.package.replace("_", "-"))
    if bot is not None:
        assert n.bot_username == bot
    # What Mattermost accepts as a username.
    assert re.fullmatch(r"[a-z][a-z0-9.\-_]{2,21}", n.bot_username), n.bot_username


def test_bad_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a valid plugin id"):
        scaffold(tmp_path / "p", "x!", "X")


def test_the_scaffold_tests_pass(plugin_dir: Path) -> None:
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=plugin_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout


MYPY_CACHE = Path(__file__).resolve().parents[2] / ".mypy_cache" / "scaffold"


def test_the_scaffold_passes_the_projects_own_lint(plugin_dir: Path) -> None:
    """ruff (the rules of examples/) and mypy --strict, as `make lint` runs them on examples/."""
    bin_dir = Path(sys.executable).parent
    rules = ["--select", "E,F,W,I,UP,B,SIM,RUF", "--line-length", "100"]
    for cmd in (
        [str(bin_dir / "ruff"), "check", *rules, "."],
        [str(bin_dir / "ruff"), "format", "--check", "--line-length", "100", "."],
        # A cache of its own (mypy checks the installed SDK too): warm runs take seconds.
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.10",
            "--cache-dir",
            str(MYPY_CACHE),
            ".",
        ],
    ):
        proc = run(cmd, cwd=plugin_dir)
        assert proc.returncode == 0, f"{cmd}: {proc.stdout}{proc.stderr}"
