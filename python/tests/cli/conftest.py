"""Fixtures for the bundler and CLI tests; helpers live in bundle_helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_helpers import FakePip, fake_elf

from mmplugin.bundle.platforms import PLATFORMS
from mmplugin.cli.scaffold import scaffold


@pytest.fixture
def host_dir(tmp_path: Path) -> Path:
    """A directory of fake host binaries for both Linux platforms."""
    d = tmp_path / "hosts"
    d.mkdir()
    for name in ("linux-amd64", "linux-arm64"):
        (d / f"mmplugin-host-{name}").write_bytes(fake_elf(PLATFORMS[name]))
    return d


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Path:
    d = tmp_path / "greeter"
    scaffold(d, "com.example.greeter", "Greeter")
    return d


@pytest.fixture
def fake_pip() -> FakePip:
    return FakePip()
