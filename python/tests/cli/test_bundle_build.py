from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import FakePip

import mmplugin
from mmplugin.bundle import BundleError, BundleOptions, PythonVersion, build_bundle
from mmplugin.bundle import tarball as tarball_mod
from mmplugin.bundle.lock import parse_lock
from mmplugin.bundle.platforms import PLATFORMS
from mmplugin.bundle.wheels import sha256_file

AMD, ARM = PLATFORMS["linux-amd64"], PLATFORMS["linux-arm64"]


def options(plugin_dir: Path, host_dir: Path, pip: FakePip, **kw: Any) -> BundleOptions:
    return BundleOptions(
        plugin_dir=plugin_dir,
        out_dir=kw.pop("out_dir", plugin_dir / "dist"),
        platforms=kw.pop("platforms", [AMD, ARM]),
        pythons=kw.pop("pythons", [PythonVersion(3, 11), PythonVersion(3, 12)]),
        host_binary_dir=host_dir,
        runner=pip,
        **kw,
    )


def unpack(path: Path, dest: Path) -> Path:
    with tarfile.open(path) as tar:
        tar.extractall(dest, filter="tar")
    (top,) = list(dest.iterdir())
    return top


def test_bundle_layout_manifest_and_locks(
    plugin_dir: Path, host_dir: Path, fake_pip: FakePip, tmp_path: Path
) -> None:
    (plugin_dir / "requirements.txt").write_text("six==1.17.0\n")
    result = build_bundle(options(plugin_dir, host_dir, fake_pip))
    assert result.path == plugin_dir / "dist" / "com.example.greeter-0.1.0.tar.gz"
    assert [t.key for t in result.targets] == [
        "cp311-linux-amd64",
        "cp311-linux-arm64",
        "cp312-linux-amd64",
        "cp312-linux-arm64",
    ]
    assert result.warnings == []

    top = unpack(result.path, tmp_path / "x")
    assert top.name == "com.example.greeter"
    manifest = json.loads((top / "plugin.json").read_text())
    assert manifest["server"]["executables"] == {
        "linux-amd64": "server/dist/mmplugin-host-linux-amd64",
        "linux-arm64": "server/dist/mmplugin-host-linux-arm64",
    }
    for exe in manifest["server"]["executables"].values():
        assert (top / exe).stat().st_mode & 0o777 == 0o755
    py = manifest["props"]["python"]
    assert py["entry_point"] == "greeter.plugin:GreeterPlugin"
    assert py["sdk_version"] == mmplugin.__version__
    installer = top / py["installer"]["wheel"]
    assert sha256_file(installer) == py["installer"]["sha256"]
    assert (top / "greeter" / "plugin.py").is_file()
    assert not (top / "tests").exists()

    wheelhouse = top / py["wheelhouse"]
    for t in py["targets"]:
        locked = parse_lock((top / t["lock"]).read_text())
        assert set(locked) == {"mmplugin", "grpcio"}
        abi = "cp" + t["python"].replace(".", "")
        machine = "x86_64" if t["platform"] == "linux-amd64" else "aarch64"
        (grpcio,) = wheelhouse.glob(f"grpcio-*-{abi}-*{machine}*.whl")
        assert locked["grpcio"][1] == [sha256_file(grpcio)]
        sdk = wheelhouse / f"mmplugin-{mmplugin.__version__}-py3-none-any.whl"
        assert locked["mmplugin"] == (mmplugin.__version__, [sha256_file(sdk)])

    downloads = [c for c in fake_pip.calls if "--abi" in c]
    assert len(downloads) == 4
    for call in downloads:
        assert "--only-binary=:all:" in call and "--implementation" in call
        assert call[call.index("-r") + 1].endswith("requirements.txt")
        assert "mmplugin>=" + mmplugin.__version__ in call  # from the scaffold's pyproject
    arm312 = [c for c in downloads if "cp312" in c and "manylinux_2_28_aarch64" in c]
    assert len(arm312) == 1
    assert "manylinux2014_aarch64" in arm312[0] and "manylinux_2_17_aarch64" in arm312[0]
    assert arm312[0][arm312[0].index("--python-version") + 1] == "3.12"


def test_same_plugin_same_bundle(plugin_dir: Path, host_dir: Path, tmp_path: Path) -> None:
    a = build_bundle(options(plugin_dir, host_dir, FakePip(), out_dir=tmp_path / "a"))
    b = build_bundle(options(plugin_dir, host_dir, FakePip(), out_dir=tmp_path / "b"))
    assert a.path.read_bytes() == b.path.read_bytes()


def test_a_package_without_a_wheel_is_named(plugin_dir: Path, host_dir: Path) -> None:
    pip = FakePip(
        fail="ERROR: Could not find a version that satisfies the requirement leftpad==1.0 "
        "(from versions: none)\nERROR: No matching distribution found for leftpad==1.0\n"
    )
    with pytest.raises(BundleError) as e:
        build_bundle(options(plugin_dir, host_dir, pip, platforms=[ARM]))
    msg = str(e.value)
    assert msg.startswith("leftpad==1.0 has no wheel for CPython 3.11 on linux-arm64")
    assert "--python 3.11" in msg and "--platform linux-arm64" in msg
    assert "No matching distribution" in msg  # pip's own words follow


def test_requires_python_is_enforced(plugin_dir: Path, host_dir: Path, fake_pip: FakePip) -> None:
    with pytest.raises(BundleError, match="requires_python"):
        build_bundle(options(plugin_dir, host_dir, fake_pip, pythons=[PythonVersion(3, 9)]))
    assert fake_pip.calls == []


def test_oversized_bundle_warns(
    plugin_dir: Path, host_dir: Path, fake_pip: FakePip, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tarball_mod, "MAX_UPLOAD_BYTES", 1000)
    result = build_bundle(options(plugin_dir, host_dir, fake_pip))
    (warning,) = result.warnings
    assert "FileSettings.MaxFileSize" in warning and "4 Python" in warning
    assert "one bundle per platform" in warning


def test_a_missing_entry_point_module_warns(
    plugin_dir: Path, host_dir: Path, fake_pip: FakePip
) -> None:
    manifest = json.loads((plugin_dir / "plugin.json").read_text())
    manifest["props"]["python"]["entry_point"] = "greeter.plugn:GreeterPlugin"
    (plugin_dir / "plugin.json").write_text(json.dumps(manifest))
    (warning,) = build_bundle(options(plugin_dir, host_dir, fake_pip)).warnings
    assert "'greeter.plugn:GreeterPlugin'" in warning and "greeter/plugn.py" in warning

    manifest["props"]["python"].update(entry_point="plugin:P", path=["src"])
    (plugin_dir / "plugin.json").write_text(json.dumps(manifest))
    (plugin_dir / "src").mkdir()
    (plugin_dir / "src" / "plugin.py").write_text("class P: pass\n")
    assert build_bundle(options(plugin_dir, host_dir, fake_pip)).warnings == []


def test_resolution_must_use_our_sdk(plugin_dir: Path, host_dir: Path) -> None:
    class ForeignSDK(FakePip):
        def __call__(self, args: Any) -> Any:
            args = [a for a in args if not a.endswith(".whl")]
            return super().__call__(args)

    with pytest.raises(BundleError, match="did not use the SDK wheel"):
        build_bundle(options(plugin_dir, host_dir, ForeignSDK(extra=["mmplugin"])))
