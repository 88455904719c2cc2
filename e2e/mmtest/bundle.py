"""Plugin bundles: pack any plugin directory into a ``.tar.gz``, and build the Go twin plugin."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
from collections.abc import Mapping
from pathlib import Path

from mmtest.build import E2E_DIR, go_binary
from mmtest.errors import SetupError

GOPLUGIN_DIR = E2E_DIR / "goplugin"
GOPLUGIN_ID = "com.mmplugin.e2e.goplugin"
_MTIME = 1_577_836_800  # 2020-01-01: fixed, for reproducible bundles


def pack_bundle(manifest: Mapping[str, object], files: Mapping[str, Path], out: Path) -> Path:
    """Write a plugin bundle: ``plugin.json`` from ``manifest`` plus ``files``.

    ``files`` maps a path inside the bundle to a file on disk. The server executables named
    in the manifest get mode 0755, everything else 0644. Entries are sorted and have fixed
    owners and times, so equal inputs give equal bundles.
    """
    executables = _executables(manifest)
    missing = executables - set(files)
    if missing:
        raise ValueError(f"the manifest names executables not in the bundle: {sorted(missing)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out, "w:gz") as tar:
        _add(tar, "plugin.json", json.dumps(manifest, indent=2).encode() + b"\n", 0o644)
        for name in sorted(files):
            _add(tar, name, files[name].read_bytes(), 0o755 if name in executables else 0o644)
    return out


def pack_directory(root: Path, out: Path) -> Path:
    """Pack a plugin directory (``plugin.json`` at its top) into a bundle at ``out``."""
    manifest = json.loads((root / "plugin.json").read_text())
    files = {
        path.relative_to(root).as_posix(): path
        for path in root.rglob("*")
        if path.is_file() and path.name != "plugin.json" and "__pycache__" not in path.parts
    }
    return pack_bundle(manifest, files, out)


def build_go_plugin(out_dir: Path, source_dir: Path = GOPLUGIN_DIR) -> Path:
    """Build the Go plugin in ``source_dir`` for linux-amd64 and pack it; returns the bundle."""
    manifest = json.loads((source_dir / "plugin.json").read_text())
    executable = manifest["server"]["executables"]["linux-amd64"]
    binary = out_dir / "build" / manifest["id"] / "plugin-linux-amd64"
    env = {**os.environ, "CGO_ENABLED": "0", "GOOS": "linux", "GOARCH": "amd64"}
    done = subprocess.run(
        [go_binary(), "build", "-buildvcs=false", "-trimpath", "-o", str(binary), "."],
        cwd=source_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SetupError(f"building the Go plugin in {source_dir} failed:\n{done.stderr[-4000:]}")
    bundle = out_dir / f"{manifest['id']}-{manifest['version']}.tar.gz"
    return pack_bundle(manifest, {executable: binary}, bundle)


def _executables(manifest: Mapping[str, object]) -> set[str]:
    server = manifest.get("server")
    if not isinstance(server, Mapping):
        return set()
    found = set()
    if isinstance(server.get("executable"), str):
        found.add(str(server["executable"]))
    executables = server.get("executables")
    if isinstance(executables, Mapping):
        found.update(str(path) for path in executables.values())
    return found


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = _MTIME
    info.uname = info.gname = ""
    tar.addfile(info, io.BytesIO(data))
