"""Which files of the plugin directory go into the bundle."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from .errors import BundleError

# Excluded anywhere in the tree: tool state, caches, virtualenvs.
_EXCLUDE_ANYWHERE = {
    ".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
    ".tox", ".nox", ".venv", "venv", "node_modules", ".DS_Store", ".idea", ".vscode",
}  # fmt: skip
_EXCLUDE_SUFFIXES = (".pyc", ".pyo", ".egg-info")
# Excluded at the top only: build output, tests, and what the bundler itself writes.
_EXCLUDE_TOP = {"dist", "build", "tests", "server/dist", "python/wheels", "python/locks"}


def plugin_files(
    plugin_dir: Path, *, exclude: Iterable[str] = (), skip: Iterable[Path] = ()
) -> list[tuple[str, Path]]:
    """(bundle path, source) of every file to ship, sorted.

    ``exclude`` adds glob patterns matched against the posix path relative to the plugin
    directory (e.g. ``docs/*``); ``skip`` holds paths (such as the output directory) never read.
    """
    patterns = list(exclude)
    skipped = {p.resolve() for p in skip}
    out: list[tuple[str, Path]] = []
    for root, dirs, files in os.walk(plugin_dir):
        root_path = Path(root)
        rel_root = PurePosixPath(root_path.relative_to(plugin_dir).as_posix())

        def keep(name: str, rel_root: PurePosixPath = rel_root, base: Path = root_path) -> bool:
            rel = (rel_root / name).as_posix().removeprefix("./")
            if name in _EXCLUDE_ANYWHERE or name.endswith(_EXCLUDE_SUFFIXES):
                return False
            if rel in _EXCLUDE_TOP or (base / name).resolve() in skipped:
                return False
            return not any(fnmatch.fnmatch(rel, p) for p in patterns)

        dirs[:] = sorted(d for d in dirs if keep(d))
        for name in sorted(files):
            if not keep(name):
                continue
            src = root_path / name
            rel = (rel_root / name).as_posix().removeprefix("./")
            # Mattermost skips links when it unpacks a bundle; ship the file they point to.
            if src.is_symlink() and not src.resolve().is_file():
                raise BundleError(f"{src} is a symbolic link to something that is not a file")
            out.append((rel, src))
    return sorted(out)
