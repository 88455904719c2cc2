"""Bundles are laid out the way the server expects (no server needed)."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from mmtest.bundle import pack_directory


def test_pack_directory_marks_the_manifest_executables(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin"
    (plugin / "server" / "dist").mkdir(parents=True)
    (plugin / "server" / "dist" / "host-linux-amd64").write_bytes(b"\x7fELF")
    (plugin / "python").mkdir()
    (plugin / "python" / "main.py").write_text("print('hi')\n")
    manifest = {
        "id": "com.example.packed",
        "version": "1.0.0",
        "server": {"executables": {"linux-amd64": "server/dist/host-linux-amd64"}},
    }
    (plugin / "plugin.json").write_text(json.dumps(manifest))

    bundle = pack_directory(plugin, tmp_path / "out" / "packed.tar.gz")

    with tarfile.open(bundle) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert sorted(members) == [
            "plugin.json",
            "python/main.py",
            "server/dist/host-linux-amd64",
        ]
        assert members["server/dist/host-linux-amd64"].mode == 0o755
        assert members["python/main.py"].mode == 0o644
        packed = tar.extractfile("plugin.json")
        assert packed is not None
        assert json.load(packed) == manifest
