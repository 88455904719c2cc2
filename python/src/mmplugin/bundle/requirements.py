"""The plugin's own runtime requirements, from ``requirements.txt`` and/or ``pyproject.toml``."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .errors import BundleError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib


@dataclass
class Requirements:
    """What to pass to ``pip download`` besides the SDK wheel."""

    specs: list[str] = field(default_factory=list)  # from pyproject [project].dependencies
    files: list[Path] = field(default_factory=list)  # requirements files, passed with -r

    def pip_args(self) -> list[str]:
        args: list[str] = []
        for f in self.files:
            args += ["-r", str(f)]
        return args + self.specs

    def describe(self) -> str:
        parts = [f.name for f in self.files]
        if self.specs:
            parts.append("pyproject.toml")
        return " and ".join(parts) if parts else "none"


def plugin_requirements(plugin_dir: Path) -> Requirements:
    """Both sources are used when both exist (pyproject lists ranges, requirements.txt pins)."""
    req = Requirements()
    txt = plugin_dir / "requirements.txt"
    if txt.is_file():
        req.files.append(txt)
    pyproject = plugin_dir / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise BundleError(f"{pyproject} is not valid TOML: {e}") from None
        project = data.get("project", {})
        deps = project.get("dependencies", []) if isinstance(project, dict) else []
        if not isinstance(deps, list) or not all(isinstance(d, str) for d in deps):
            raise BundleError(f"{pyproject}: [project].dependencies must be a list of strings")
        if isinstance(project, dict) and "dependencies" in project.get("dynamic", []):
            raise BundleError(
                f"{pyproject}: dynamic dependencies cannot be bundled: list them in "
                "[project].dependencies or in requirements.txt"
            )
        req.specs.extend(deps)
    return req
