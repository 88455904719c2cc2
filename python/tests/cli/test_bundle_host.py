from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest
from bundle_helpers import fake_elf

from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.host import (
    check_binary,
    find_host_binaries,
    parse_host_binary_args,
)
from mmplugin.bundle.hostwheel import build_host_wheel
from mmplugin.bundle.pip import PipResult
from mmplugin.bundle.platforms import PLATFORMS

AMD, ARM = PLATFORMS["linux-amd64"], PLATFORMS["linux-arm64"]


def test_check_binary_knows_os_and_cpu(tmp_path: Path) -> None:
    b = tmp_path / "host"
    b.write_bytes(fake_elf(AMD))
    check_binary(b, AMD)
    with pytest.raises(BundleError, match="GOARCH=arm64"):
        check_binary(b, ARM)
    b.write_text("#!/bin/sh\n")
    with pytest.raises(BundleError, match="not a Linux"):
        check_binary(b, AMD)
    with pytest.raises(BundleError, match="Mach-O"):
        check_binary(b, PLATFORMS["darwin-arm64"])


def test_host_binary_args() -> None:
    assert parse_host_binary_args(["/x"], [AMD]) == {"linux-amd64": Path("/x")}
    assert parse_host_binary_args(["linux-arm64=/y"], [AMD, ARM]) == {"linux-arm64": Path("/y")}
    with pytest.raises(BundleError, match="say which one"):
        parse_host_binary_args(["/x"], [AMD, ARM])
    with pytest.raises(BundleError, match="not one of the bundled"):
        parse_host_binary_args(["darwin-arm64=/x"], [AMD])


def test_host_wheel_holds_one_executable(tmp_path: Path) -> None:
    b = tmp_path / "bin"
    b.write_bytes(fake_elf(ARM))
    w = build_host_wheel(b, "linux-arm64", "0.1.0", tmp_path / "out")
    assert w.name == (
        "mmplugin_host-0.1.0-py3-none-manylinux_2_17_aarch64.manylinux2014_aarch64."
        "musllinux_1_1_aarch64.whl"
    )
    with zipfile.ZipFile(w) as zf:
        info = zf.getinfo("mmplugin_host/bin/mmplugin-host-linux-arm64")
        assert (info.external_attr >> 16) & 0o777 == 0o755
        assert zf.read(info) == b.read_bytes()
        assert "Root-Is-Purelib: false" in zf.read("mmplugin_host-0.1.0.dist-info/WHEEL").decode()
    with pytest.raises(BundleError, match="another CPU"):
        build_host_wheel(b, "linux-amd64", "0.1.0", tmp_path / "out")


def test_binaries_come_from_override_then_dir_then_pip(
    tmp_path: Path, host_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MMPLUGIN_HOST_BINARY_DIR", raising=False)
    override = tmp_path / "custom-amd64"
    override.write_bytes(fake_elf(AMD))
    found = find_host_binaries(
        [AMD, ARM],
        "0.1.0",
        tmp_path / "work",
        overrides={"linux-amd64": override},
        binary_dir=host_dir,
    )
    assert found["linux-amd64"] == (override, "--host-binary")
    assert found["linux-arm64"] == (host_dir / "mmplugin-host-linux-arm64", str(host_dir))

    # No override, no directory: the platform wheel is fetched with pip and unpacked.
    wheels = tmp_path / "wheels"
    build_host_wheel(host_dir / "mmplugin-host-linux-arm64", "linux-arm64", "0.1.0", wheels)
    calls: list[list[str]] = []

    def pip(args: Sequence[str]) -> PipResult:
        calls.append(list(args))
        dest = Path(args[args.index("--dest") + 1])
        for w in wheels.glob("*aarch64*.whl"):
            (dest / w.name).write_bytes(w.read_bytes())
        return PipResult(0, "")

    found = find_host_binaries(
        [ARM], "0.1.0", tmp_path / "work2", find_links=[str(wheels)], runner=pip
    )
    path, source = found["linux-arm64"]
    assert path.read_bytes() == (host_dir / "mmplugin-host-linux-arm64").read_bytes()
    assert path.stat().st_mode & 0o111
    assert source == "mmplugin-host==0.1.0 wheel"
    assert "mmplugin-host==0.1.0" in calls[0] and str(wheels) in calls[0]
    assert "manylinux_2_17_aarch64" in calls[0] and "--no-deps" in calls[0]


def test_missing_host_says_how_to_get_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MMPLUGIN_HOST_BINARY_DIR", raising=False)

    def pip(args: Sequence[str]) -> PipResult:
        return PipResult(1, "ERROR: No matching distribution found for mmplugin-host==0.1.0")

    with pytest.raises(BundleError) as e:
        find_host_binaries([ARM], "0.1.0", tmp_path, runner=pip)
    msg = str(e.value)
    assert "no mmplugin-host binary for linux-arm64" in msg
    assert "make host-wheels" in msg and "--host-binary" in msg
    assert "MMPLUGIN_HOST_BINARY_DIR" in msg
