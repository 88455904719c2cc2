"""The whole path with real tools: scaffold → bundle (pip download from the index) → unpack →
internal/pyenv builds the venv offline (the Go code the host runs) → the plugin imports in it."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest
from bundle_helpers import REPO, run

from mmplugin.bundle.platforms import PythonVersion

pytestmark = pytest.mark.timeout(600)

FAKE_HOST = """package main

import "fmt"

func main() { fmt.Println("stand-in for mmplugin-host") }
"""

PROBE = """import grpc
import six

import mmplugin


class Probe:
    versions = (mmplugin.__version__, grpc.__version__, six.__version__)
"""


def go() -> str:
    path = shutil.which("go")
    if path is None:
        pytest.fail("this test needs the Go toolchain on PATH (it builds a host stand-in)")
    return path


def build_fake_host(tmp: Path) -> Path:
    src = tmp / "fakehost"
    src.mkdir()
    (src / "go.mod").write_text("module fakehost\n\ngo 1.22\n")
    (src / "main.go").write_text(FAKE_HOST)
    out = tmp / "hosts" / "mmplugin-host-linux-amd64"
    env = dict(os.environ, CGO_ENABLED="0", GOOS="linux", GOARCH="amd64", GOWORK="off")
    proc = run([go(), "build", "-o", out, "."], cwd=src, env=env)
    assert proc.returncode == 0, proc.stderr
    return out.parent


def test_bundle_installs_offline_with_pyenv_and_imports(tmp_path: Path) -> None:
    hosts = build_fake_host(tmp_path)
    plugin = tmp_path / "greeter"
    mmplugin_cli = [sys.executable, "-m", "mmplugin.cli"]
    proc = run([*mmplugin_cli, "new", plugin, "--id", "com.example.greeter", "--name", "Greeter"])
    assert proc.returncode == 0, proc.stderr
    (plugin / "requirements.txt").write_text("six==1.17.0\n")
    (plugin / "greeter" / "probe.py").write_text(PROBE)
    manifest = json.loads((plugin / "plugin.json").read_text())
    manifest["props"]["python"]["entry_point"] = "greeter.probe:Probe"
    (plugin / "plugin.json").write_text(json.dumps(manifest))

    py = str(PythonVersion.current())
    proc = run(
        [
            *mmplugin_cli,
            "bundle",
            plugin,
            "--platform",
            "linux-amd64",
            "--python",
            py,
            "-o",
            tmp_path / "dist",
            "--host-binary-dir",
            hosts,
        ],
    )
    assert proc.returncode == 0, proc.stderr
    bundle = Path(proc.stdout.strip().splitlines()[-1])
    assert bundle.name == "com.example.greeter-0.1.0.tar.gz"

    server_plugins = tmp_path / "server" / "plugins"
    server_plugins.mkdir(parents=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(server_plugins, filter="tar")
    installed = server_plugins / "com.example.greeter"
    assert (installed / "server/dist/mmplugin-host-linux-amd64").stat().st_mode & 0o111

    # The host's own step, offline: an index that does not exist proves nothing is fetched.
    pyenv = [go(), "run", "./internal/pyenv/cmd/mmplugin-pyenv", "-import", "mmplugin,grpc,six"]
    env = dict(os.environ, PIP_INDEX_URL="http://127.0.0.1:9/none", GOWORK="off")
    first = run([*pyenv, installed], cwd=REPO, env=env)
    assert first.returncode == 0, first.stderr
    assert f"created venv for cp{py.replace('.', '')}-linux-amd64" in first.stderr
    venv_python = Path(first.stdout.strip())
    assert venv_python == installed / "venv" / "bin" / "python3"

    # The runtime's own entry-point loader finds the plugin class with the bundled packages.
    load = (
        "import sys; from mmplugin._runtime.entrypoint import load_entry_point; "
        f"cls = load_entry_point('greeter.probe:Probe', [{str(installed)!r}]); "
        "print(sys.prefix); print(*cls.versions)"
    )
    proc = run(
        [venv_python, "-I", "-c", f"import sys; sys.path[:0] = [{str(installed)!r}]; {load}"]
    )
    assert proc.returncode == 0, proc.stderr
    prefix, versions = proc.stdout.strip().splitlines()
    assert Path(prefix).resolve().parent == (installed / ".mmplugin-venvs").resolve()
    assert versions.split()[2] == "1.17.0"

    second = run([*pyenv, installed], cwd=REPO, env=env)
    assert second.returncode == 0, second.stderr
    assert "reused venv" in second.stderr
