from __future__ import annotations

import base64
import hashlib
import zipfile
from pathlib import Path

import pytest

import mmplugin
from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.sdk import sdk_wheel
from mmplugin.bundle.wheels import WheelFile, parse_wheel_name, write_wheel


def test_wheel_is_reproducible_and_its_record_is_right(tmp_path: Path) -> None:
    files = [WheelFile("pkg/b.py", b"b"), WheelFile("pkg/bin/tool", b"\x7fELF", executable=True)]
    a = write_wheel(tmp_path / "a", name="my-pkg", version="1.0", tag="py3-none-any", files=files)
    b = write_wheel(
        tmp_path / "b", name="my-pkg", version="1.0", tag="py3-none-any", files=files[::-1]
    )
    assert a.name == "my_pkg-1.0-py3-none-any.whl"
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        record = zf.read("my_pkg-1.0.dist-info/RECORD").decode().splitlines()
        for line in record:
            path, digest, size = line.split(",")
            if path.endswith("RECORD"):
                continue
            data = zf.read(path)
            expect = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert digest == "sha256=" + expect.decode() and int(size) == len(data)
        assert (zf.getinfo("pkg/bin/tool").external_attr >> 16) & 0o777 == 0o755
        assert (zf.getinfo("pkg/b.py").external_attr >> 16) & 0o777 == 0o644
        wheel_meta = zf.read("my_pkg-1.0.dist-info/WHEEL").decode()
    assert "Tag: py3-none-any" in wheel_meta


def test_multi_tag_wheels_list_every_tag(tmp_path: Path) -> None:
    w = write_wheel(tmp_path, name="h", version="1", tag="py3-none-a_x.b_x", files=[])
    assert parse_wheel_name(w).tags == {"py3-none-a_x", "py3-none-b_x"}
    with zipfile.ZipFile(w) as zf:
        meta = zf.read("h-1.dist-info/WHEEL").decode()
    assert "Tag: py3-none-a_x" in meta and "Tag: py3-none-b_x" in meta


def test_sdk_wheel_repacks_the_installed_sdk(tmp_path: Path) -> None:
    w = sdk_wheel(tmp_path)
    assert w.name == f"mmplugin-{mmplugin.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(w) as zf:
        names = set(zf.namelist())
        meta = zf.read(f"mmplugin-{mmplugin.__version__}.dist-info/METADATA").decode()
    assert "mmplugin/__init__.py" in names
    assert "mmplugin/_runtime/__main__.py" in names
    assert "mmplugin/py.typed" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    requires = [line for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert any("grpcio" in r for r in requires)
    assert not any("extra ==" in r for r in requires)  # dev/cli extras stay out
    # Same SDK, same bytes: the lock's hash only changes when the SDK does.
    assert sdk_wheel(tmp_path / "again").read_bytes() == w.read_bytes()


def test_explicit_sdk_wheel_must_be_mmplugin(tmp_path: Path) -> None:
    other = write_wheel(tmp_path, name="other", version="1", tag="py3-none-any", files=[])
    with pytest.raises(BundleError, match="not mmplugin"):
        sdk_wheel(tmp_path / "out", other)
    with pytest.raises(BundleError, match="no such file"):
        sdk_wheel(tmp_path / "out", tmp_path / "missing.whl")
    mine = write_wheel(tmp_path, name="mmplugin", version="9.9", tag="py3-none-any", files=[])
    assert sdk_wheel(tmp_path / "out", mine).read_bytes() == mine.read_bytes()
