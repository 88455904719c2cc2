"""Writing and reading wheels without a build backend.

The bundler builds two kinds of wheel itself: the SDK wheel (repacked from the installed
``mmplugin`` package, so an author needs no build tools and no checkout) and the platform wheels
of ``mmplugin-host`` (one static Go binary each). Both are written byte for byte reproducibly —
sorted entries, fixed timestamps — so their sha256 in a lock file only changes when their
content does.
"""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from .errors import BundleError

# Zip cannot store times before 1980; a fixed time keeps wheels reproducible.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class WheelFile:
    """A file inside a wheel: its path, content and whether it is executable."""

    path: str
    data: bytes
    executable: bool = False


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def wheel_filename(name: str, version: str, tag: str) -> str:
    """``name-version-tag.whl`` with the name escaped as the wheel spec requires."""
    return f"{_escape(name)}-{_escape(version)}-{tag}.whl"


def _escape(part: str) -> str:
    return re.sub(r"[^\w\d.]+", "_", part, flags=re.UNICODE)


def write_wheel(
    out_dir: Path,
    *,
    name: str,
    version: str,
    tag: str,
    files: Iterable[WheelFile],
    metadata: Mapping[str, str | list[str]] | None = None,
    purelib: bool = True,
) -> Path:
    """Write a wheel reproducibly and return its path.

    ``tag`` is the full compatibility tag, e.g. ``py3-none-any``; ``metadata`` adds METADATA
    headers (a list value repeats the header, e.g. Requires-Dist).
    """
    dist_info = f"{_escape(name)}-{_escape(version)}.dist-info"
    meta_lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    for key, value in (metadata or {}).items():
        for v in [value] if isinstance(value, str) else value:
            meta_lines.append(f"{key}: {v}")
    interpreter, abi, platforms = tag.split("-")
    wheel_lines = [
        "Wheel-Version: 1.0",
        "Generator: mmplugin-bundle",
        f"Root-Is-Purelib: {'true' if purelib else 'false'}",
        *(
            f"Tag: {i}-{a}-{p}"
            for i in interpreter.split(".")
            for a in abi.split(".")
            for p in platforms.split(".")
        ),
    ]
    entries = sorted(files, key=lambda f: f.path)
    entries.append(WheelFile(f"{dist_info}/METADATA", ("\n".join(meta_lines) + "\n").encode()))
    entries.append(WheelFile(f"{dist_info}/WHEEL", ("\n".join(wheel_lines) + "\n").encode()))
    record = [f"{f.path},{_record_hash(f.data)},{len(f.data)}" for f in entries]
    record.append(f"{dist_info}/RECORD,,")
    entries.append(WheelFile(f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))

    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / wheel_filename(name, version, tag)
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for f in entries:
            info = zipfile.ZipInfo(f.path, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = ((0o100755 if f.executable else 0o100644) & 0xFFFF) << 16
            info.create_system = 3  # unix, so the mode bits above are honoured
            zf.writestr(info, f.data)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class WheelName:
    """What a wheel's file name says."""

    name: str  # canonical project name, e.g. "grpcio-health-checking"
    version: str
    tags: frozenset[str]  # e.g. {"cp311-cp311-manylinux_2_17_x86_64", ...}


def parse_wheel_name(path: Path | str) -> WheelName:
    filename = Path(path).name
    try:
        name, version, _build, tags = parse_wheel_filename(filename)
    except ValueError as e:
        raise BundleError(f"{filename} is not a valid wheel file name: {e}") from None
    return WheelName(
        name=canonicalize_name(name), version=str(version), tags=frozenset(str(t) for t in tags)
    )
