from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from mmplugin.bundle.errors import BundleError
from mmplugin.bundle.tarball import MAX_UPLOAD_BYTES, Entry, size_warning, write_tarball


def entries(tmp_path: Path) -> list[Entry]:
    src = tmp_path / "code.py"
    src.write_text("print('hi')\n")
    return [
        Entry("plugin.json", b"{}"),
        Entry("server/dist/mmplugin-host-linux-amd64", b"\x7fELF", executable=True),
        Entry("greeter/plugin.py", src),
        Entry("python/wheels/a-1-py3-none-any.whl", b"PK"),
    ]


def test_layout_modes_and_owners(tmp_path: Path) -> None:
    out = tmp_path / "out" / "b.tar.gz"
    size = write_tarball(out, "com.example.x", entries(tmp_path))
    assert size == out.stat().st_size
    with tarfile.open(out, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
    # One top-level directory named after the plugin id, as Mattermost's starter template does.
    assert {n.split("/")[0] for n in members} == {"com.example.x"}
    host = members["com.example.x/server/dist/mmplugin-host-linux-amd64"]
    assert host.isreg() and host.mode == 0o755
    assert members["com.example.x/plugin.json"].mode == 0o644
    assert members["com.example.x/greeter/plugin.py"].size == len("print('hi')\n")
    for d in ("com.example.x", "com.example.x/server", "com.example.x/server/dist"):
        assert members[d].isdir() and members[d].mode == 0o755
    assert all(m.uid == 0 and m.gid == 0 and m.uname == "" for m in members.values())
    assert [m for m in members.values() if not (m.isreg() or m.isdir())] == []


def test_same_inputs_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    write_tarball(a, "x.y.z", entries(tmp_path))
    write_tarball(b, "x.y.z", list(reversed(entries(tmp_path))))
    assert a.read_bytes() == b.read_bytes()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    write_tarball(b, "x.y.z", entries(tmp_path))
    with tarfile.open(b) as tar:
        assert tar.getmembers()[0].mtime == 1700000000


@pytest.mark.parametrize("bad", ["/abs", "../up", "a/../b", "a//b", ""])
def test_unclean_paths_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(BundleError, match="clean relative path"):
        write_tarball(tmp_path / "x.tar.gz", "x.y.z", [Entry(bad, b"")])


def test_duplicate_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="two files"):
        write_tarball(tmp_path / "x.tar.gz", "x.y.z", [Entry("a", b"1"), Entry("a", b"2")])


def test_size_warning_only_over_the_upload_limit() -> None:
    assert size_warning(MAX_UPLOAD_BYTES, 4, 2) is None
    w = size_warning(MAX_UPLOAD_BYTES + 1, 4, 2)
    assert w is not None
    assert "100 MiB" in w and "FileSettings.MaxFileSize" in w and "4 Python" in w
    assert "one bundle per platform" in w and "--python" in w and "runtime" not in w
    w = size_warning(MAX_UPLOAD_BYTES + 1, 2, 2, runtimes=2)
    assert w is not None and "2 Python runtimes" in w
