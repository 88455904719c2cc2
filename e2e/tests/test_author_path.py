"""A new author's path, from ``pip install`` to a slash command answered on the real server.

Nothing of the repository is used past ``make dist`` (run here, with Go, into a temp dir; only
linux-amd64 to keep it fast): a fresh virtualenv on a PATH without Go, ``pip install
--find-links DIST "mmplugin[cli]"`` (dependencies from PyPI through pip's cache), ``mmplugin
new``, then the commands of the scaffold's README.md exactly as written there (``pip install -e
".[dev]"``, ``pytest``, ``mmplugin bundle``, ``mmplugin deploy``, ``mmplugin logs``), with
``PIP_FIND_LINKS=DIST`` as the README says to set before mmplugin is on PyPI, so ``mmplugin
bundle`` finds the ``mmplugin-host`` wheel through it. The README's ``export`` lines are the
site URL and the admin token: they are given through the environment instead. The command then
answers a user through ``POST /api/v4/commands/execute``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtest.api import JSON, MattermostAPI
from mmtest.pyplugin import REPO_DIR
from mmtest.server import MattermostServer, NewUser

PLUGIN_ID = "com.mmplugin.e2e.authorpath"
TRIGGER = "authorpath"  # the scaffold names the command after the package (the id's last part)
VERSION_RE = re.compile(r'^__version__ = "([^"]+)"', re.MULTILINE)

pytestmark = pytest.mark.timeout(900)


def _sdk_version() -> str:
    match = VERSION_RE.search(
        (REPO_DIR / "python" / "src" / "mmplugin" / "__init__.py").read_text()
    )
    assert match, "no __version__ in python/src/mmplugin/__init__.py"
    return match.group(1)


def _path_without_go() -> str:
    """The PATH of this process minus every directory with a ``go`` and the repository's venv."""
    repo_venv = (REPO_DIR / ".venv").resolve()
    kept = []
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        if not entry or (Path(entry) / "go").exists():
            continue
        if Path(entry).resolve().is_relative_to(repo_venv):
            continue
        kept.append(entry)
    return os.pathsep.join(kept)


def _sh_block(markdown: str) -> list[str]:
    """The command lines of the first ```sh block (comments and blank lines dropped)."""
    match = re.search(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    assert match, "the README has no ```sh block"
    lines = [line.split(" #", 1)[0].strip() for line in match.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


class Author:
    """Runs commands as the author: in their venv, on a PATH without Go, nothing else set."""

    def __init__(self, venv: Path, home: Path) -> None:
        path = f"{venv / 'bin'}{os.pathsep}{_path_without_go()}"
        assert shutil.which("go", path=path) is None, f"go is still on PATH: {path}"
        self.env = {
            "PATH": path,
            "VIRTUAL_ENV": str(venv),
            # pip's cache stays the machine's (fast and offline-safe for repeated runs).
            "HOME": os.environ.get("HOME", str(home)),
            "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
            "LANG": "C.UTF-8",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        }
        self.log: list[str] = []

    def run(self, line: str, cwd: Path, extra_env: dict[str, str] | None = None) -> str:
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", line],
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        output = result.stdout + result.stderr
        self.log.append(f"$ {line}  ({time.monotonic() - started:.1f} s)")
        assert result.returncode == 0, (
            f"{line} failed (exit {result.returncode}):\n{output[-5000:]}"
        )
        return output


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``make dist`` (linux-amd64 host only) into a temp dir: what a release publishes."""
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        ["make", "--no-print-directory", "dist", f"DIST={out}", "HOST_PLATFORMS=linux-amd64"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (
        f"make dist failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    )
    return out


@pytest.fixture
def cleanup(admin_api: MattermostAPI) -> Iterator[None]:
    yield
    admin_api.remove_plugin(PLUGIN_ID)


def test_make_dist_writes_the_release_artifacts(dist: Path) -> None:
    version = _sdk_version()
    names = sorted(p.name for p in dist.iterdir())
    assert names == [
        "SHA256SUMS",
        f"mmplugin-{version}-py3-none-any.whl",
        f"mmplugin-{version}.tar.gz",
        f"mmplugin_host-{version}-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64"
        ".musllinux_1_1_x86_64.whl",
    ]
    check = subprocess.run(
        ["sha256sum", "--check", "SHA256SUMS"], cwd=dist, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert len(check.stdout.splitlines()) == 3
    with tarfile.open(dist / f"mmplugin-{version}.tar.gz") as sdist:
        members = sdist.getnames()
    # The scaffold's templates are package data: a build that dropped them breaks `mmplugin new`.
    assert f"mmplugin-{version}/src/mmplugin/cli/templates/plugin.py.tmpl" in members


def test_from_pip_install_to_a_command_answered_on_the_server(
    dist: Path,
    tmp_path: Path,
    mm_server: MattermostServer,
    admin_api: MattermostAPI,
    new_user: NewUser,
    team: JSON,
    channel: JSON,
    cleanup: None,
) -> None:
    started = time.monotonic()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    author = Author(venv, tmp_path)
    work = tmp_path / "work"
    work.mkdir()

    author.run(f'pip install --find-links {dist} "mmplugin[cli]"', work)
    installed = author.run("pip show mmplugin", work)
    assert f"Version: {_sdk_version()}" in installed
    assert str(REPO_DIR) not in installed  # a wheel in the venv, not the checkout
    author.run(f'mmplugin new authorpath --id {PLUGIN_ID} --name "Author Path"', work)
    plugin_dir = work / "authorpath"

    steps = _sh_block((plugin_dir / "README.md").read_text())
    exports = [s for s in steps if s.startswith("export ")]
    assert [e.split("=", 1)[0] for e in exports] == [
        "export MM_SERVICESETTINGS_SITEURL",
        "export MM_ADMIN_TOKEN",
    ]
    server = {
        "PIP_FIND_LINKS": str(dist),
        "MM_SERVICESETTINGS_SITEURL": mm_server.url,
        "MM_ADMIN_TOKEN": mm_server.admin.token,
    }
    outputs = {}
    for step in steps:
        if step not in exports:
            outputs[" ".join(step.split()[:2])] = author.run(step, plugin_dir, server)

    assert re.search(r"\b5 passed\b", outputs["pytest"]), outputs["pytest"]
    bundle_output = outputs["mmplugin bundle"]
    assert f"mmplugin-host=={_sdk_version()} wheel" in bundle_output, bundle_output
    bundle = plugin_dir / "dist" / f"{PLUGIN_ID}-0.1.0.tar.gz"
    assert bundle.is_file()
    assert "is running" in outputs["mmplugin deploy"]
    assert "Author Path is active" in outputs["mmplugin logs"]

    user, api = new_user()
    admin_api.add_team_member(team["id"], user.user_id)
    admin_api.add_channel_member(channel["id"], user.user_id)
    reply = api.execute_command(channel["id"], f"/{TRIGGER}", team["id"])
    assert (reply["response_type"], reply["text"]) == ("ephemeral", f"Hello, {user.username}!")
    reply = api.execute_command(channel["id"], f"/{TRIGGER} Python", team["id"])
    assert reply["text"] == "Hello, Python!"

    # Settings saved with mixed-case keys (the REST route and the plugin API's SavePluginConfig
    # both go through the server's SaveConfig) are stored as saved; LoadPluginConfiguration
    # lower-cases them for the plugin (docs/sdk/configuration.md), and the scaffold's typed
    # Settings finds them.
    config = admin_api.get("/config")
    config["PluginSettings"].setdefault("Plugins", {})[PLUGIN_ID] = {
        "Greeting": "Howdy",
        "BannedWord": "spoiler",
    }
    response = admin_api.http.put("/api/v4/config", json=config)
    assert response.status_code == 200, response.text
    saved = admin_api.get("/config")["PluginSettings"]["Plugins"][PLUGIN_ID]
    assert saved == {"Greeting": "Howdy", "BannedWord": "spoiler"}
    deadline = time.monotonic() + 15  # a bound for the change to arrive, not a speed check
    while True:
        text = api.execute_command(channel["id"], f"/{TRIGGER}", team["id"])["text"]
        if text == f"Howdy, {user.username}!" or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert text == f"Howdy, {user.username}!"

    elapsed = time.monotonic() - started
    size = bundle.stat().st_size / 2**20
    print(f"\nauthor path: {elapsed:.1f} s, bundle {size:.1f} MiB", *author.log, sep="\n  ")
