"""A Python plugin on a server where no Python is installed (Mattermost's Docker image).

A second server runs in a mount namespace in which every Python of this machine is hidden
(mmtest.nopython: the interpreters, the pyenv tree and the standard libraries; PATH without
them). A plugin bundled with ``mmplugin bundle --python-runtime`` (a relocatable CPython made
from this machine's, mmtest.pyruntime) works there, and its process uses nothing outside the
plugin directory but the C library; the same plugin bundled without a runtime fails with the
"no Python found" error that says how to bundle one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmtest import pyplugin
from mmtest.api import PluginState
from mmtest.nopython import CLEAN_PATH, namespace_prefix, visible_pythons
from mmtest.pyruntime import GLIBC, relocatable_runtime
from mmtest.server import MattermostServer

PLUGIN_DIR = pyplugin.PLUGINS_DIR / "whereami"
PLUGIN_ID = "com.mmplugin.e2e.whereami"


def _c_library(path: str) -> bool:
    name = Path(path).name
    return (
        GLIBC.match(name) is not None
        or re.match(r"lib(stdc\+\+|gcc_s)[.]so", name) is not None
        or path.startswith("/usr/lib/locale/")
        or re.search(r"/gconv/", path) is not None
    )


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The command prefix of a mount namespace without Python."""
    return namespace_prefix(tmp_path_factory.mktemp("nopython"))


@pytest.fixture(scope="module")
def server_without_python(hidden: list[str]) -> Iterator[MattermostServer]:
    with MattermostServer(env={"PATH": CLEAN_PATH}, command_prefix=hidden) as server:
        yield server


@pytest.fixture(scope="module")
def host_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pyplugin.build_host(tmp_path_factory.mktemp("host")).path


def test_the_namespace_hides_every_python(hidden: list[str]) -> None:
    assert visible_pythons(hidden) == []


def test_without_a_bundled_python_the_plugin_says_no_python_found(
    server_without_python: MattermostServer, host_binary: Path, tmp_path: Path
) -> None:
    bundle = pyplugin.bundle(PLUGIN_DIR, tmp_path, host_binary).path
    api = server_without_python.admin_api
    api.upload_plugin(bundle)
    api.enable_plugin(PLUGIN_ID)
    api.wait_for_plugin(PLUGIN_ID, PluginState.FAILED_TO_START, timeout=120)
    log = server_without_python.log_path.read_text(errors="replace")
    assert "no Python found" in log, log[-3000:]
    assert "mmplugin bundle --python-runtime" in log
    api.remove_plugin(PLUGIN_ID)


def test_with_a_bundled_python_the_plugin_works_and_needs_only_the_c_library(
    server_without_python: MattermostServer, host_binary: Path, tmp_path: Path
) -> None:
    runtime = relocatable_runtime()
    bundle = pyplugin.bundle(
        PLUGIN_DIR, tmp_path, host_binary, extra=["--python-runtime", str(runtime)]
    ).path
    api = server_without_python.admin_api
    api.install_plugin(bundle, timeout=180)
    try:
        response = api.plugin_http(PLUGIN_ID, "GET", "/whereami")
        assert response.status_code == 200, response.text
        facts = response.json()
        plugin_dir = Path(facts["plugin_dir"])
        assert plugin_dir == (server_without_python.plugin_dir / PLUGIN_ID).resolve()
        runtime_dir = plugin_dir / "python" / "runtime" / "linux-amd64"
        assert Path(facts["base_prefix"]) == runtime_dir
        assert Path(facts["executable"]).is_relative_to(runtime_dir)
        assert facts["version"].startswith(pyplugin.running_python() + ".")
        assert facts["modules_outside"] == []
        # What the process maps from outside: the C library (with its locale and iconv data)
        # and the C++ runtime that grpcio's manylinux wheel takes from the system like it.
        outside = [m for m in facts["maps_outside"] if not _c_library(m)]
        assert outside == [], facts["maps_outside"]
    finally:
        api.remove_plugin(PLUGIN_ID)
