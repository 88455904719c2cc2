"""Writing the bundle: a reproducible ``.tar.gz`` with one top-level ``<plugin id>/`` directory.

Mattermost unpacks a bundle whose root holds exactly one directory into that directory (like the
starter template's bundles) and keeps each regular file's mode, so executables must be 0755 in
the archive. Entries are sorted, owned by root and dated SOURCE_DATE_EPOCH (or 1980-01-01), so
the same inputs give the same bytes.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BundleError

# What a stock server accepts on POST /api/v4/plugins (upload) with its default settings: the
# request body is capped at FileSettings.MaxFileSize (default 100 MiB) + 512 bytes by the API's
# file handler (channels/web/handlers.go); the 50 MiB in the upload handler (MaxPluginMemory)
# only decides how much of the form is kept in memory. Measured on the e2e server
# (e2e/tests/test_upload_limit.py).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024

_DEFAULT_MTIME = 315532800  # 1980-01-01T00:00:00Z


@dataclass(frozen=True)
class Entry:
    """A file of the bundle: its path below the top directory and its content."""

    path: str  # posix, relative, e.g. "server/dist/mmplugin-host-linux-amd64"
    source: Path | bytes
    executable: bool = False

    def size(self) -> int:
        return len(self.source) if isinstance(self.source, bytes) else self.source.stat().st_size


def _mtime() -> int:
    value = os.environ.get("SOURCE_DATE_EPOCH")
    try:
        return int(value) if value else _DEFAULT_MTIME
    except ValueError:
        raise BundleError(f"SOURCE_DATE_EPOCH={value!r} is not a number of seconds") from None


def _check_path(path: str) -> PurePosixPath:
    p = PurePosixPath(path)
    if p.is_absolute() or ".." in p.parts or not p.parts or str(p) != path:
        raise BundleError(f"bundle path {path!r} must be a clean relative path")
    return p


def write_tarball(out: Path, top: str, entries: Iterable[Entry]) -> int:
    """Write the bundle and return its size in bytes."""
    mtime = _mtime()
    files: dict[str, Entry] = {}
    for e in entries:
        _check_path(e.path)
        if e.path in files:
            raise BundleError(f"two files would be written to {top}/{e.path}")
        files[e.path] = e
    dirs = {top}
    for path in files:
        parents = PurePosixPath(path).parents
        dirs.update(f"{top}/{d}" for d in parents if str(d) != ".")

    def header(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode, ti.size, ti.mtime = kind, mode, size, mtime
        ti.uid = ti.gid = 0
        ti.uname = ti.gname = ""
        return ti

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    # filename="" and mtime=0 keep the gzip header free of build details. Level 6, not gzip's
    # default 9: measured on a bundle with a Python runtime (62 MiB of tar), 4.9 s instead of
    # 18.5 s for 0.45 % more bytes.
    with (
        tmp.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for d in sorted(dirs):
            tar.addfile(header(d + "/", tarfile.DIRTYPE, 0o755))
        for path in sorted(files):
            e = files[path]
            mode = 0o755 if e.executable else 0o644
            ti = header(f"{top}/{path}", tarfile.REGTYPE, mode, e.size())
            if isinstance(e.source, bytes):
                tar.addfile(ti, io.BytesIO(e.source))
            else:
                with e.source.open("rb") as f:
                    tar.addfile(ti, f)
    tmp.replace(out)
    return out.stat().st_size


def size_warning(size: int, targets: int, platforms: int, runtimes: int = 0) -> str | None:
    """The warning to print when the bundle is over a stock server's upload limit, else None."""
    if size <= MAX_UPLOAD_BYTES:
        return None
    carries = (
        f"wheels for {targets} Python-by-platform target(s) (grpcio alone is ~7 MiB each), "
        f"{platforms} host binar{'y' if platforms == 1 else 'ies'}"
    )
    if runtimes:
        plural = "" if runtimes == 1 else "s"
        carries += f" and {runtimes} Python runtime{plural} (~9 MiB each when stripped)"
    return (
        f"warning: the bundle is {size / 2**20:.1f} MiB, over the {MAX_UPLOAD_BYTES / 2**20:g} "
        "MiB a stock Mattermost server accepts (FileSettings.MaxFileSize, default 100 MiB): the "
        f"server will refuse it over the REST API and the System Console. It carries {carries}. "
        "Split it: build one bundle per platform (mmplugin bundle --platform linux-amd64 … -o "
        "dist/amd64, then --platform linux-arm64 … -o dist/arm64) and upload the one that fits "
        "each server, pass only the --python values your servers use, or raise "
        "FileSettings.MaxFileSize on the server."
    )
