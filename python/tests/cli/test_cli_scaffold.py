from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from bundle_helpers import run

import mmplugin
from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.manifest import load_manifest
from mmplugin.cli import main
from mmplugin.cli.scaffold import derive_names, scaffold


def test_new_writes_a_valid_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "greeter"
    assert main(["new", str(d), "--id", "com.example.greeter", "--name", "Greeter Bot"]) == 0
    m = load_manifest(d)
    assert m.id == "com.example.greeter"
    assert m.entry_point == "greeter.plugin:GreeterBotPlugin"
    raw = json.loads((d / "plugin.json").read_text())
    assert raw["name"] == "Greeter Bot" and raw["version"] == "0.1.0"
    assert set(raw["server"]["executables"]) == {"linux-amd64"}
    plugin_py = (d / "greeter" / "plugin.py").read_text()
    assert "class GreeterBotPlugin(Plugin):" in plugin_py
    assert "def on_activate(self) -> None:" in plugin_py
    assert "def message_will_be_posted(self, ctx: Context, post: Post) -> Post | None:" in plugin_py
    assert f'"mmplugin>={mmplugin.__version__}"' in (d / "pyproject.toml").read_text()
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
    ("plugin_id", "name", "package", "cls"),
    [
        ("com.example.greeter", "Greeter", "greeter", "GreeterPlugin"),
        ("com.example.json", "JSON tools", "json_plugin", "JSONToolsPlugin"),  # stdlib name
        ("com.example.my-bot", "my bot plugin", "my_bot", "MyBotPlugin"),
        ("com.example.9lives", "9 lives", "plugin_9lives", "Plugin9LivesPlugin"),
        ("com.example.grpc", "G", "grpc_plugin", "GPlugin"),
    ],
)
def test_names(plugin_id: str, name: str, package: str, cls: str) -> None:
    n = derive_names(plugin_id, name)
    assert (n.package, n.class_name) == (package, cls)


def test_bad_id_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="not a valid plugin id"):
        scaffold(tmp_path / "p", "x!", "X")


def test_the_scaffold_tests_pass(plugin_dir: Path) -> None:
    proc = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=plugin_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout
