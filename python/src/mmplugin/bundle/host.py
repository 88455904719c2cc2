"""Finding the ``mmplugin-host`` binary for each target platform.

An author has Python and pip, not Go, so the host binaries come as wheels of the Python package
``mmplugin-host``: one platform wheel per OS/architecture, each holding
``mmplugin_host/bin/mmplugin-host-<os>-<arch>`` (built by ``make host-wheels``). For each platform
the bundler takes, in order:

1. ``--host-binary PLATFORM=PATH`` (or ``--host-binary PATH`` when bundling one platform);
2. ``--host-binary-dir DIR`` or ``$MMPLUGIN_HOST_BINARY_DIR``: ``DIR/mmplugin-host-<platform>``;
3. the installed ``mmplugin_host`` package, if it has that platform's binary and the SDK's version;
4. ``pip download mmplugin-host==<SDK version>`` for that platform (from the index or
   ``--find-links``), unpacked.

Every binary is checked to be an executable of the right OS and CPU before it is bundled.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from .errors import BundleError
from .pip import PipRunner, find_links_args, run_pip, tail
from .platforms import Platform

HOST_DIST = "mmplugin-host"
HOST_PACKAGE = "mmplugin_host"
HOST_BINARY_DIR_ENV = "MMPLUGIN_HOST_BINARY_DIR"


def binary_name(platform: Platform) -> str:
    return f"mmplugin-host-{platform.name}"


def bundle_path(platform: Platform) -> str:
    """Where a platform's host binary lives inside the bundle (``server.executables``)."""
    return f"server/dist/{binary_name(platform)}"


def parse_host_binary_args(values: Sequence[str], platforms: Sequence[Platform]) -> dict[str, Path]:
    """``--host-binary`` values: ``PLATFORM=PATH``, or a bare PATH when one platform is bundled."""
    out: dict[str, Path] = {}
    names = {p.name for p in platforms}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep:
            if len(platforms) != 1:
                raise BundleError(
                    f"--host-binary {v}: with several --platform values, say which one it is "
                    f"for, e.g. --host-binary {platforms[0].name}={v}"
                )
            name, path = platforms[0].name, v
        if name not in names:
            raise BundleError(
                f"--host-binary {v}: {name} is not one of the bundled platforms "
                f"({', '.join(sorted(names))})"
            )
        out[name] = Path(path)
    return out


def check_binary(path: Path, platform: Platform) -> None:
    """Fail unless ``path`` is an executable for ``platform`` (ELF or Mach-O, right CPU)."""
    try:
        with path.open("rb") as f:
            head = f.read(20)
    except OSError as e:
        raise BundleError(f"host binary for {platform.name} at {path}: {e}") from None
    if platform.os == "linux":
        if head[:4] != b"\x7fELF":
            raise BundleError(f"host binary {path} is not a Linux (ELF) executable")
        machine = int.from_bytes(head[18:20], "little")
        if machine != platform.elf_machine:
            raise BundleError(
                f"host binary {path} is built for another CPU (ELF machine {machine}), not "
                f"{platform.name}: build it with GOOS={platform.os} GOARCH={platform.arch}"
            )
    else:
        if head[:4] != b"\xcf\xfa\xed\xfe":
            raise BundleError(f"host binary {path} is not a 64-bit macOS (Mach-O) executable")
        cpu = int.from_bytes(head[4:8], "little")
        want = {"amd64": 0x01000007, "arm64": 0x0100000C}[platform.arch]
        if cpu != want:
            raise BundleError(f"host binary {path} is built for another CPU, not {platform.name}")


def _installed_binary(platform: Platform, version: str) -> Path | None:
    spec = importlib.util.find_spec(HOST_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    try:
        if importlib.metadata.version(HOST_DIST) != version:
            return None
    except importlib.metadata.PackageNotFoundError:
        return None
    for loc in spec.submodule_search_locations:
        candidate = Path(loc) / "bin" / binary_name(platform)
        if candidate.is_file():
            return candidate
    return None


def _download_binary(
    platform: Platform,
    version: str,
    work: Path,
    find_links: Sequence[str],
    runner: PipRunner,
) -> Path:
    dest = work / f"host-{platform.name}"
    dest.mkdir(parents=True, exist_ok=True)
    args = ["download", "--progress-bar", "off", "--no-deps", "--only-binary=:all:"]
    # Tag only: the host wheel is py3-none-<platform>, whatever the Python.
    for tag in platform.host_wheel_tag.split("."):
        args += ["--platform", tag]
    args += [
        "--dest",
        str(dest),
        *find_links_args(find_links),
        f"{HOST_DIST}=={version}",
    ]
    result = runner(args)
    wheels = sorted(dest.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise BundleError(
            f"no mmplugin-host binary for {platform.name}: pip could not get "
            f"{HOST_DIST}=={version} for it.\n{tail(result.output, 6)}\n"
            "Fix: pass --find-links DIR with the host wheels (built by 'make host-wheels' in "
            "the mmplugin repository, in dist/host-wheels), or --host-binary "
            f"{platform.name}=PATH, or set {HOST_BINARY_DIR_ENV}."
        )
    member = f"{HOST_PACKAGE}/bin/{binary_name(platform)}"
    with zipfile.ZipFile(wheels[0]) as zf:
        try:
            data = zf.read(member)
        except KeyError:
            raise BundleError(f"{wheels[0].name} has no {member}") from None
    out = dest / binary_name(platform)
    out.write_bytes(data)
    out.chmod(0o755)
    return out


def find_host_binaries(
    platforms: Sequence[Platform],
    version: str,
    work: Path,
    *,
    overrides: Mapping[str, Path] | None = None,
    binary_dir: Path | None = None,
    find_links: Sequence[str] = (),
    runner: PipRunner = run_pip,
) -> dict[str, tuple[Path, str]]:
    """platform name → (binary path, where it came from)."""
    if binary_dir is None and os.environ.get(HOST_BINARY_DIR_ENV):
        binary_dir = Path(os.environ[HOST_BINARY_DIR_ENV])
    out: dict[str, tuple[Path, str]] = {}
    for p in platforms:
        if overrides and p.name in overrides:
            path, source = overrides[p.name], "--host-binary"
        elif binary_dir is not None and (binary_dir / binary_name(p)).is_file():
            path, source = binary_dir / binary_name(p), str(binary_dir)
        elif (installed := _installed_binary(p, version)) is not None:
            path, source = installed, f"installed {HOST_DIST} {version}"
        else:
            path = _download_binary(p, version, work, find_links, runner)
            source = f"{HOST_DIST}=={version} wheel"
        if not path.is_file():
            raise BundleError(f"host binary for {p.name} not found at {path}")
        check_binary(path, p)
        out[p.name] = (path, source)
    return out
