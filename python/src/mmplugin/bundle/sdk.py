"""The SDK wheel (``mmplugin-<version>-py3-none-any.whl``) that every bundle carries.

The SDK is taken from where the author already has it: an explicit wheel (``--sdk-wheel``), or
the ``mmplugin`` package installed in the Python running the bundler, repacked into a wheel. The
index is never asked for ``mmplugin``: the bundle must carry the SDK the author tested with, and
an index could serve a different or foreign project under that name.
"""

from __future__ import annotations

import importlib.metadata
import shutil
from pathlib import Path

import mmplugin

from .errors import BundleError
from .wheels import WheelFile, parse_wheel_name, write_wheel

SDK_NAME = "mmplugin"

# Never shipped: caches and compiled files are rebuilt on the server.
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def sdk_version() -> str:
    return mmplugin.__version__


def sdk_wheel(out_dir: Path, explicit: Path | None = None) -> Path:
    """Put the SDK wheel into ``out_dir`` and return its path."""
    if explicit is not None:
        if not explicit.is_file():
            raise BundleError(f"--sdk-wheel {explicit}: no such file")
        name = parse_wheel_name(explicit)
        if name.name != SDK_NAME:
            raise BundleError(f"--sdk-wheel {explicit} is a wheel of {name.name!r}, not mmplugin")
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / explicit.name
        shutil.copyfile(explicit, target)
        return target
    return repack_installed_sdk(out_dir)


def repack_installed_sdk(out_dir: Path) -> Path:
    """Write a wheel of the installed ``mmplugin`` package (regular or editable install)."""
    pkg_dir = Path(mmplugin.__file__).resolve().parent
    version = sdk_version()
    try:
        meta = importlib.metadata.metadata(SDK_NAME)
    except importlib.metadata.PackageNotFoundError:
        raise BundleError(
            f"the mmplugin package at {pkg_dir} is not installed as a distribution, so its "
            "dependencies are unknown: install it with pip (pip install -e python/ in a "
            "checkout) or pass --sdk-wheel PATH"
        ) from None
    if meta["Version"] != version:
        raise BundleError(
            f"mmplugin {version} is imported from {pkg_dir} but the installed distribution "
            f"says {meta['Version']}: reinstall the SDK (pip install -e python/ in a checkout) "
            "or pass --sdk-wheel PATH"
        )
    # Runtime dependencies only: extras (dev, cli) are not needed on the server.
    requires = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    files = []
    for path in sorted(pkg_dir.rglob("*")):
        rel = path.relative_to(pkg_dir)
        if not path.is_file() or path.suffix in _SKIP_SUFFIXES:
            continue
        if any(part in _SKIP_DIRS for part in rel.parts):
            continue
        files.append(WheelFile(f"{SDK_NAME}/{rel.as_posix()}", path.read_bytes()))
    metadata: dict[str, str | list[str]] = {"Requires-Dist": requires}
    if meta["Requires-Python"]:
        metadata["Requires-Python"] = meta["Requires-Python"]
    if meta["Summary"]:
        metadata["Summary"] = meta["Summary"]
    return write_wheel(
        out_dir, name=SDK_NAME, version=version, tag="py3-none-any", files=files, metadata=metadata
    )
