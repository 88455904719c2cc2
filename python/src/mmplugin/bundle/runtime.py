"""Bundled Python runtimes (``mmplugin bundle --python-runtime``), for servers without Python.

The official Mattermost Docker image and the Kubernetes operator's images have no Python. A
bundle can carry a relocatable CPython per platform: the python-build-standalone
``install_only`` layout (what uv-managed Pythons are), given as its ``.tar.gz`` (top directory
``python/``) or as a directory holding ``bin/python3.X`` and ``lib/python3.X/``. The host then
builds the plugin's venv with it, so nothing outside the plugin directory is needed but the C
library (docs/deploy-docker-kubernetes.md).

What is shipped is trimmed to what a plugin's process uses: the interpreter, its shared
libraries and the standard library, without tests, caches, type stubs, headers, static
libraries, Tk, IDLE, ensurepip (the venv is created ``--without-pip``) and the runtime's own
site-packages (the venv does not see it). Symbolic links are left out (Mattermost skips them when
it unpacks a bundle); the manifest names the interpreter by its real file, and a link whose
target is not shipped is shipped as a copy of it.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import BundleError
from .platforms import MIN_PYTHON, Platform, PythonVersion

RUNTIME_DIR = "python/runtime"

# Top-level directories of a runtime that a plugin's process never reads.
_DROP_TOP = {"include", "share", "man"}
# Below lib/: static libraries, pkg-config files, Tcl/Tk.
_DROP_LIB = re.compile(r"^(pkgconfig|tcl\d.*|tk\d.*|itcl.*|thread\d.*|Tix.*|.*\.a|.*\.la)$")
# Standard-library packages and modules a plugin never imports.
_DROP_STDLIB = {
    "test", "idlelib", "tkinter", "turtledemo", "turtle.py", "ensurepip", "pydoc_data",
    "site-packages", "dist-packages", "lib2to3",
}  # fmt: skip
# Directories dropped anywhere below the standard library: caches and packages' own tests.
_DROP_ANY_DIR = {"__pycache__", "test", "tests", "idle_test"}
_DROP_SUFFIXES = (".pyc", ".pyo", ".pyi", ".a", ".o", ".exe")
# Extension modules that only the dropped packages or CPython's own tests load.
_DROP_DYNLOAD = re.compile(
    r"^(_test\w*|_ctypes_test|_xxtestfuzz|_xxsubinterpreters|xxlimited\w*|xxsubtype|_tkinter)[.]"
)


@dataclass(frozen=True)
class Runtime:
    """A relocatable CPython for one platform, trimmed, ready to be added to a bundle."""

    platform: Platform
    python: PythonVersion
    source: Path  # what the author passed
    files: tuple[tuple[str, Path], ...]  # (path below the runtime's root, source file)
    executables: frozenset[str]  # paths below the root that keep their execute bit
    interpreter: str  # below the root: "bin/python3.11"
    dropped_bytes: int  # what trimming left out

    @property
    def bundle_dir(self) -> str:
        return f"{RUNTIME_DIR}/{self.platform.name}"

    @property
    def bundle_interpreter(self) -> str:
        """The interpreter's path inside the bundle (props.python.runtimes[].executable)."""
        return f"{self.bundle_dir}/{self.interpreter}"

    def size(self) -> int:
        return sum(src.stat().st_size for _, src in self.files)


def parse_runtime_args(values: Sequence[str], platforms: Sequence[Platform]) -> dict[str, Path]:
    """``--python-runtime`` values: ``PLATFORM=PATH``, or a bare PATH when one platform is
    bundled."""
    out: dict[str, Path] = {}
    names = [p.name for p in platforms]
    for v in values:
        name, sep, path = v.partition("=")
        if not sep:
            if len(platforms) != 1:
                raise BundleError(
                    f"--python-runtime {v}: with several --platform values, say which platform "
                    f"it is for, e.g. --python-runtime {names[0]}={v}"
                )
            name, path = names[0], v
        if name not in names:
            raise BundleError(
                f"--python-runtime {v}: {name} is not one of the bundled platforms "
                f"({', '.join(names)}); add --platform {name}"
            )
        if name in out:
            raise BundleError(f"--python-runtime: two runtimes given for {name}")
        out[name] = Path(path)
    return out


def load_runtime(path: Path, platform: Platform, work: Path) -> Runtime:
    """Open a runtime (directory or ``.tar.gz``), check it is a CPython for ``platform`` and
    list the files to ship."""
    if not path.exists():
        raise BundleError(f"--python-runtime {path}: no such file or directory")
    root = _unpack(path, work / f"runtime-{platform.name}") if path.is_file() else path
    root = root.resolve()
    if not (root / "bin").is_dir() and (root / "python" / "bin").is_dir():
        root = root / "python"  # the install_only tarball's top directory, already unpacked
    python, stdlib = _find_stdlib(root, path)
    interpreter = _find_interpreter(root, python, path)
    _check_elf(root / interpreter, platform, path)
    files, executables, dropped = _trimmed_files(root)
    shipped = {rel for rel, _ in files}
    if interpreter not in shipped:
        raise BundleError(f"--python-runtime {path}: {interpreter} was not kept (internal error)")
    missing = [m for m in ("os.py", "venv/__init__.py", "encodings/__init__.py")
               if f"{stdlib}/{m}" not in shipped]  # fmt: skip
    if missing:
        raise BundleError(
            f"--python-runtime {path}: the standard library in {stdlib} lacks {', '.join(missing)}"
        )
    return Runtime(
        platform=platform,
        python=python,
        source=path,
        files=tuple(files),
        executables=frozenset(executables),
        interpreter=interpreter,
        dropped_bytes=dropped,
    )


def _unpack(archive: Path, dest: Path) -> Path:
    if not tarfile.is_tarfile(archive):
        raise BundleError(
            f"--python-runtime {archive}: not a directory or a .tar.gz (give a "
            "python-build-standalone '…-install_only.tar.gz' or an unpacked runtime directory)"
        )
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not (member.isfile() or member.isdir() or member.issym() or member.islnk()):
                continue  # devices, fifos: never part of a runtime
            name = PurePosixPath(member.name)
            if name.is_absolute() or ".." in name.parts:
                raise BundleError(f"--python-runtime {archive}: unsafe member {member.name!r}")
            if member.issym() or member.islnk():
                # A link must stay inside the runtime, or a later member could be written
                # through it to anywhere.
                base = name.parent if member.issym() else PurePosixPath()
                target = os.path.normpath(base / member.linkname)
                if PurePosixPath(member.linkname).is_absolute() or target.startswith(".."):
                    continue
            tar.extract(member, dest, set_attrs=False)
            if member.isfile():
                (dest / member.name).chmod(0o755 if member.mode & 0o111 else 0o644)
    return dest


def _find_stdlib(root: Path, given: Path) -> tuple[PythonVersion, str]:
    found = []
    lib = root / "lib"
    if lib.is_dir():
        for d in sorted(lib.iterdir()):
            m = re.fullmatch(r"python(\d+)\.(\d+)", d.name)
            if m and (d / "os.py").is_file():
                found.append((PythonVersion(int(m.group(1)), int(m.group(2))), f"lib/{d.name}"))
    if len(found) != 1:
        raise BundleError(
            f"--python-runtime {given}: expected one CPython standard library in lib/python3.X/ "
            f"(the python-build-standalone install_only layout), found {len(found)} below {root}"
        )
    python = found[0][0]
    if (python.major, python.minor) < MIN_PYTHON:
        raise BundleError(
            f"--python-runtime {given}: Python {python} is too old; the SDK needs "
            f"{MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer"
        )
    return found[0]


def _find_interpreter(root: Path, python: PythonVersion, given: Path) -> str:
    for name in (f"python{python}", "python3", "python"):
        candidate = root / "bin" / name
        if candidate.is_file():
            real = candidate.resolve()
            if not real.is_relative_to(root):
                raise BundleError(
                    f"--python-runtime {given}: bin/{name} points outside the runtime ({real})"
                )
            return real.relative_to(root).as_posix()
    raise BundleError(f"--python-runtime {given}: no bin/python{python} in {root}")


def _check_elf(path: Path, platform: Platform, given: Path) -> None:
    if platform.os != "linux":
        raise BundleError(
            f"--python-runtime for {platform.name}: bundled runtimes are supported for Linux "
            "servers only (Mattermost's Docker images and Kubernetes pods)"
        )
    with path.open("rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        raise BundleError(f"--python-runtime {given}: {path.name} is not a Linux (ELF) executable")
    machine = int.from_bytes(head[18:20], "little")
    if machine != platform.elf_machine:
        raise BundleError(
            f"--python-runtime {given}: its interpreter is built for another CPU (ELF machine "
            f"{machine}), not {platform.name}: use the runtime built for {platform.machine}"
        )


def _dropped(rel: PurePosixPath) -> bool:
    parts = rel.parts
    if parts[0] not in ("bin", "lib"):
        return True
    if parts[0] == "lib" and len(parts) >= 2:
        if _DROP_LIB.match(parts[1]):
            return True
        if re.fullmatch(r"python\d+\.\d+", parts[1]) and len(parts) >= 3:
            name = parts[2]
            if name in _DROP_STDLIB or (name.startswith("config-") and rel.suffix in (".a", ".o")):
                return True
            if name == "lib-dynload" and len(parts) == 4 and _DROP_DYNLOAD.match(parts[3]):
                return True
            if any(p in _DROP_ANY_DIR for p in parts[3:-1]):
                return True
    return rel.name.endswith(_DROP_SUFFIXES) or rel.name in _DROP_ANY_DIR


def _trimmed_files(root: Path) -> tuple[list[tuple[str, Path]], set[str], int]:
    files: list[tuple[str, Path]] = []
    links: list[tuple[str, Path]] = []
    executables: set[str] = set()
    dropped = 0
    for dirpath, dirnames, filenames in os.walk(root):
        base = Path(dirpath)
        rel_base = PurePosixPath(base.relative_to(root).as_posix())
        keep_dirs = []
        for d in sorted(dirnames):
            rel = rel_base / d if str(rel_base) != "." else PurePosixPath(d)
            if (base / d).is_symlink() or (_dropped(rel) and not _is_bin_or_lib(rel)):
                dropped += _tree_size(base / d)
                continue
            keep_dirs.append(d)
        dirnames[:] = keep_dirs
        for name in sorted(filenames):
            src = base / name
            rel = rel_base / name if str(rel_base) != "." else PurePosixPath(name)
            if _dropped(rel) or (rel.parts[0] == "bin" and not _is_python(name)):
                dropped += src.lstat().st_size
                continue
            if src.is_symlink():
                links.append((rel.as_posix(), src))
                continue
            files.append((rel.as_posix(), src))
            if src.stat().st_mode & 0o111:
                executables.add(rel.as_posix())
    shipped = {src.resolve() for _, src in files}
    for link, src in links:
        target = src.resolve()
        if target.is_file() and target not in shipped and target.is_relative_to(root):
            files.append((link, target))  # nothing else ships it: a copy
            if target.stat().st_mode & 0o111:
                executables.add(link)
    return sorted(files), executables, dropped


def _is_bin_or_lib(rel: PurePosixPath) -> bool:
    return rel.parts in (("bin",), ("lib",))


def _is_python(name: str) -> bool:
    return re.fullmatch(r"python(\d+(\.\d+)?)?", name) is not None


def _tree_size(path: Path) -> int:
    if path.is_symlink():
        return 0
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())
