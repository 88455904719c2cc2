"""Running a server where no Python is installed, as in Mattermost's Docker image.

``namespace_prefix`` gives a command prefix that runs a program in a new mount namespace
(``unshare --mount``, as root; a user namespace too otherwise) in which every Python of this
machine is hidden: the interpreters in the usual bin directories and on PATH become empty,
non-executable files, and the pyenv tree and every CPython prefix (standard library included)
become empty directories. ``CLEAN_PATH`` is a PATH without pyenv's shims or a venv.
"""

from __future__ import annotations

import glob
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from mmtest.errors import SetupError

CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_NAMES = ("python", "python3", *(f"python3.{n}" for n in range(6, 20)))
# What says, inside the namespace, whether any Python still runs (prints what it found).
PROBE = "; ".join(
    f"if command -v {n} >/dev/null 2>&1 && {n} -c pass >/dev/null 2>&1; then echo {n}; fi"
    for n in _NAMES
)


def _pythons() -> tuple[set[str], set[str]]:
    """(interpreter files, installation directories) of every Python findable here."""
    files: set[str] = set()
    dirs: set[str] = set()
    path = os.environ.get("PATH", "") + ":" + CLEAN_PATH
    for pattern in ("/usr/bin/python*", "/usr/local/bin/python*", "/bin/python*"):
        files.update(p for p in glob.glob(pattern) if os.path.isfile(p))
    for name in _NAMES:
        found = shutil.which(name, path=path)
        if found:
            files.add(found)
    for pattern in ("/usr/lib/python3*", "/usr/local/lib/python3*", "/usr/lib/python2*"):
        dirs.update(glob.glob(pattern))
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    if os.path.isdir(pyenv):
        dirs.add(pyenv)
    for prefix in {sys.prefix, sys.base_prefix}:
        if prefix not in ("/usr", "/usr/local", "/"):
            dirs.add(prefix)
    return {os.path.realpath(f) for f in files} | files, {os.path.realpath(d) for d in dirs}


def namespace_prefix(work: Path) -> list[str]:
    """The command prefix; ``work`` holds the empty file and directory mounted over Python."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise SetupError("unshare (util-linux) is needed to hide Python from a server")
    files, found = _pythons()
    # A directory inside another hidden one is hidden with it (and could not be mounted on).
    dirs = {d for d in found if not any(d != o and d.startswith(o + "/") for o in found)}
    empty_file, empty_dir = work / "empty", work / "empty.d"
    empty_file.write_bytes(b"")
    empty_file.chmod(0o644)
    empty_dir.mkdir(exist_ok=True)
    lines = ["set -e"]
    lines += [f"mount --bind {shlex.quote(str(empty_dir))} {shlex.quote(d)}" for d in sorted(dirs)]
    lines += [
        f"[ -e {q} ] && mount --bind {shlex.quote(str(empty_file))} {q} || true"
        for q in map(shlex.quote, sorted(files))
    ]
    lines.append('exec "$@"')
    script = work / "hide-python.sh"
    script.write_text("\n".join(lines) + "\n")
    user = [] if os.geteuid() == 0 else ["--user", "--map-root-user"]
    return [unshare, *user, "--mount", "--propagation", "private", "/bin/sh", str(script)]


def visible_pythons(prefix: list[str]) -> list[str]:
    """The Python commands that still run inside the namespace (should be none)."""
    result = subprocess.run(
        [*prefix, "/bin/sh", "-c", PROBE],
        env={"PATH": CLEAN_PATH, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SetupError(f"cannot enter a mount namespace: {result.stderr.strip()}")
    return result.stdout.split()
