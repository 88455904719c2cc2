"""A relocatable CPython made from one installed on this machine, for ``--python-runtime``.

Authors bundle a python-build-standalone ``install_only`` runtime; the tests cannot download
one, so they make the same thing from an installed CPython (pyenv's, built ``--enable-shared``):

- copy ``bin/python3.X``, ``lib/libpython3.X.so*`` and the standard library (not its
  site-packages, tests or caches), with ``bin/python3`` a link to ``python3.X`` as in the real
  layout;
- point the interpreter's RUNPATH at ``$ORIGIN/../lib`` (pyenv wrote its absolute lib
  directory there) with ``patchelf``;
- copy every shared library the extension modules need that is not the C library
  (libssl, libcrypto, libz, libffi, …) into ``lib/`` and point their RUNPATHs (and the
  modules') there, ``$ORIGIN``-relative, the way python-build-standalone links them in;
- strip debug symbols (``strip --strip-unneeded``), like python-build-standalone's
  ``install_only_stripped`` builds (which uv installs): libpython goes from 23 to 6 MB.

CPython finds its standard library relative to the executable (the ``lib/python3.X/os.py``
landmark), so the copy works wherever it is put. The result is cached per source interpreter
in ``${MMPLUGIN_CACHE:-~/.cache/mmplugin}/pyruntime/``.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from mmtest.errors import SetupError

# The C library and its parts: what a runtime may still take from the server.
GLIBC = re.compile(
    r"^(linux-vdso|ld-linux[-\w]*|libc|libm|libpthread|libdl|librt|libutil|libresolv|"
    r"libmvec|libanl|libBrokenLocale|libnss_\w+)[.]so"
)
# Modules left out of the copy: Tk and NIS pull in X11/Kerberos, and nothing here uses them.
_SKIP_MODULES = re.compile(r"^(_tkinter|nis)[.]")
_SKIP_STDLIB = {"site-packages", "test", "__pycache__"}
FORMAT = "2"  # bump when the layout made here changes


def cache_dir() -> Path:
    base = os.environ.get("MMPLUGIN_CACHE") or str(Path.home() / ".cache" / "mmplugin")
    return Path(base) / "pyruntime"


def source_prefix(python: str | None = None) -> Path:
    """The installation prefix of ``python`` (default: the Python running this)."""
    exe = python or sys.executable
    out = subprocess.run(
        [exe, "-I", "-c", "import sys; print(sys.base_prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def relocatable_runtime(prefix: Path | None = None) -> Path:
    """A relocatable copy of the CPython installed at ``prefix`` (cached); returns its root."""
    prefix = (prefix or source_prefix()).resolve()
    versions = sorted(p.name for p in (prefix / "lib").glob("python3.*") if (p / "os.py").exists())
    if len(versions) != 1:
        raise SetupError(f"{prefix} is not a CPython installation (lib/python3.X/os.py)")
    minor = versions[0].removeprefix("python")
    if not list((prefix / "lib").glob(f"libpython{minor}.so*")):
        raise SetupError(
            f"the CPython at {prefix} has no shared libpython: use one built with --enable-shared "
            "(pyenv's are)"
        )
    patchelf, strip = shutil.which("patchelf"), shutil.which("strip")
    if patchelf is None or strip is None:
        raise SetupError(
            "patchelf and strip are needed to make a relocatable Python: "
            "apt-get install patchelf binutils"
        )
    key = f"cpython{minor}-{prefix.name}-{FORMAT}"
    dest = cache_dir() / key
    dest.parent.mkdir(parents=True, exist_ok=True)
    with (dest.parent / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (dest / ".complete").exists():
            return dest
        tmp = dest.with_name(key + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        _copy(prefix, tmp, minor)
        _relink(tmp, minor, patchelf, strip)
        (tmp / ".complete").write_text(str(prefix) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        tmp.rename(dest)
    return dest


def _copy(prefix: Path, dest: Path, minor: str) -> None:
    (dest / "bin").mkdir(parents=True)
    shutil.copy2(prefix / "bin" / f"python{minor}", dest / "bin" / f"python{minor}")
    (dest / "bin" / "python3").symlink_to(f"python{minor}")
    (dest / "lib").mkdir()
    for lib in (prefix / "lib").glob("libpython3*.so*"):
        if lib.is_symlink():
            (dest / "lib" / lib.name).symlink_to(os.readlink(lib))
        else:
            shutil.copy2(lib, dest / "lib" / lib.name)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _SKIP_STDLIB or n.endswith((".a", ".pyc"))}
        if Path(directory).name == "lib-dynload":
            skip |= {n for n in names if _SKIP_MODULES.match(n)}
        return skip

    shutil.copytree(prefix / "lib" / f"python{minor}", dest / "lib" / f"python{minor}",
                    ignore=ignore, symlinks=True)  # fmt: skip


def _needed(path: Path) -> dict[str, Path]:
    """Shared libraries ``path`` loads, by name, as ``ldd`` resolves them here."""
    out = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
    found = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            found[m.group(1)] = Path(m.group(2))
    return found


def _relink(root: Path, minor: str, patchelf: str, strip: str) -> None:
    lib = root / "lib"

    def set_rpath(path: Path, rpath: str) -> None:
        subprocess.run([strip, "--strip-unneeded", str(path)], check=True)
        subprocess.run([patchelf, "--set-rpath", rpath, str(path)], check=True)

    set_rpath(root / "bin" / f"python{minor}", "$ORIGIN/../lib")
    modules = sorted((lib / f"python{minor}" / "lib-dynload").glob("*.so"))
    todo = list(modules)
    vendored: set[str] = set()
    while todo:
        obj = todo.pop()
        for name, src in _needed(obj).items():
            if GLIBC.match(name) or name in vendored or name.startswith("libpython"):
                continue
            vendored.add(name)
            copy = lib / name
            shutil.copy2(src.resolve(), copy)
            copy.chmod(0o755)
            todo.append(copy)
    for module in modules:
        set_rpath(module, "$ORIGIN/../..")
    for name in vendored:
        set_rpath(lib / name, "$ORIGIN")
    for libpython in lib.glob("libpython3*.so*"):
        if not libpython.is_symlink():
            subprocess.run([strip, "--strip-unneeded", str(libpython)], check=True)
