from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.lock import LockedWheel, parse_lock, render_lock
from mmplugin.bundle.platforms import PLATFORMS, PythonVersion, Target
from mmplugin.bundle.wheels import write_wheel

TARGET = Target(PythonVersion(3, 11), PLATFORMS["linux-amd64"])


def test_locked_wheel_hashes_the_file(tmp_path: Path) -> None:
    w = write_wheel(
        tmp_path, name="Grpcio_Health.Checking", version="1.2", tag="py3-none-any", files=[]
    )
    locked = LockedWheel.from_file(w)
    assert locked.name == "grpcio-health-checking"
    assert locked.version == "1.2"
    assert locked.sha256 == hashlib.sha256(w.read_bytes()).hexdigest()


def test_render_is_sorted_hashed_and_parseable() -> None:
    wheels = [
        LockedWheel("protobuf", "7.0", "protobuf-7.0-py3-none-any.whl", "b" * 64),
        LockedWheel("grpcio", "1.85.3", "grpcio-1.85.3-cp311-cp311-x.whl", "a" * 64),
    ]
    text = render_lock(TARGET, wheels)
    assert text == render_lock(TARGET, list(reversed(wheels)))  # order-independent bytes
    assert text.index("grpcio==1.85.3") < text.index("protobuf==7.0")
    assert "cp311-linux-amd64" in text.splitlines()[0]
    assert f"--hash=sha256:{'a' * 64}" in text
    assert parse_lock(text) == {"grpcio": ("1.85.3", ["a" * 64]), "protobuf": ("7.0", ["b" * 64])}


def test_render_refuses_two_wheels_of_one_project() -> None:
    wheels = [
        LockedWheel("grpcio", "1.0", "grpcio-1.0-a.whl", "a" * 64),
        LockedWheel("grpcio", "1.1", "grpcio-1.1-a.whl", "b" * 64),
    ]
    with pytest.raises(BundleError, match="two wheels of grpcio"):
        render_lock(TARGET, wheels)


def test_parse_rejects_unknown_tokens() -> None:
    with pytest.raises(BundleError, match="unexpected token"):
        parse_lock("grpcio>=1.0\n")
