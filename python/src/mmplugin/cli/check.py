"""``mmplugin check``: which API methods and hooks a plugin's code uses that a server lacks.

Static: the plugin's Python files are parsed with ``ast`` (nothing is imported or run). A use
of an API method is a call ``<x>.api.<method>(...)``, ``<x>.async_api.<method>(...)``,
``api.<method>(...)`` or ``async_api.<method>(...)`` whose method is in the generated API; a hook
is a method defined in a class whose name is a hook's (``on_saml_login``). Each has the minimum
Mattermost version of the generated metadata (``mmplugin._serverversion``). A method the server
lacks raises ``ServerVersionError`` there (or, without an error result, returns an empty value);
a hook newer than the server is never called there. A call with the comment
``# mmplugin: version-checked`` on one of its lines, or a hook with it on its ``def`` line, is left
out of the needed version: the code handles older servers itself (an optional hook).

The suggested ``min_server_version`` is the newest of those versions, and never below 9.11.0,
the oldest server mmplugin is tested on (the e2e matrix: 9.11, 10.10, 11.4).

Tests (``tests/``, ``test_*.py``, ``*_test.py``, ``conftest.py``), virtualenvs, ``build``/``dist``
and hidden directories are not the plugin's server code and are skipped.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .. import _serverversion as sv

GUARD_COMMENT = "# mmplugin: version-checked"
"""On a line of a call, or a hook's ``def`` line: the code handles older servers itself (checks
the version, catches ServerVersionError, or the hook is optional), so it does not raise the
version the plugin needs."""

_API_NAMES = frozenset({"api", "async_api"})
_SKIPPED_DIRS = frozenset(
    {"tests", "test", "build", "dist", "venv", "node_modules", "site-packages", "__pycache__"}
)


@dataclass(frozen=True)
class Use:
    """One API method or hook the code uses, where, and the version it needs."""

    kind: str  # "API method" or "hook"
    name: str  # Python name
    go_name: str
    min_version: str
    where: str  # "pkg/plugin.py:12"
    has_error: bool = True  # API methods: False when the Go method returns no error

    @property
    def effect(self) -> str:
        """What happens on a server older than ``min_version``."""
        if self.kind == "hook":
            return "never called there"
        if self.has_error:
            return "raises ServerVersionError there"
        return "returns an empty value there: the method has no error result"


@dataclass
class Report:
    uses: list[Use] = field(default_factory=list)
    guarded: list[str] = field(default_factory=list)  # where a call is marked GUARD_COMMENT
    files: int = 0

    @property
    def needed_version(self) -> str:
        """The newest minimum version among the uses ("" when nothing has one)."""
        versions = [u.min_version for u in self.uses if u.min_version]
        return max(versions, key=sv.parse_version, default="")

    def needing(self) -> list[Use]:
        """The uses that need the newest version (for messages)."""
        needed = self.needed_version
        return [u for u in self.uses if needed and u.min_version == needed]

    def lacking(self, server_version: str) -> list[Use]:
        """The uses a server of ``server_version`` does not have, newest first, then in the
        order of the code."""
        found = [u for u in self.uses if sv.lacks(u.min_version, server_version)]
        return sorted(found, key=lambda u: sv.parse_version(u.min_version), reverse=True)


def plugin_files(plugin_dir: Path) -> Iterator[Path]:
    for path in sorted(plugin_dir.rglob("*.py")):
        parts = path.relative_to(plugin_dir).parts
        if any(p.startswith(".") or p in _SKIPPED_DIRS for p in parts[:-1]):
            continue
        name = parts[-1]
        if name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py":
            continue
        yield path


def scan(plugin_dir: Path) -> Report:
    """Every API method call and hook definition in the plugin's code."""
    api = {v.py_name: v for v in sv.api_versions().values()}
    hooks = {v.py_name: v for v in sv.hook_versions().values()}
    report = Report()
    for path in plugin_files(plugin_dir):
        report.files += 1
        rel = path.relative_to(plugin_dir).as_posix()
        try:
            source = path.read_text(encoding="utf-8")
            tree = ast.parse(source, filename=str(path))
        except SyntaxError as exc:
            raise ValueError(f"{rel}:{exc.lineno}: cannot parse the file: {exc.msg}") from None
        first, first_guarded = len(report.uses), len(report.guarded)
        lines = source.splitlines()
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                method = node.func.attr
                if method in api and _is_api(node.func.value):
                    v = api[method]
                    where = f"{rel}:{node.lineno}"
                    span = lines[node.lineno - 1 : node.end_lineno or node.lineno]
                    if not any(GUARD_COMMENT in line for line in span):
                        use = Use(
                            "API method", method, v.go_name, v.min_version, where, v.has_error
                        )
                        report.uses.append(use)
                    else:
                        report.guarded.append(where)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if not isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        continue
                    hook = hooks.get(item.name)
                    if hook is None:
                        continue
                    where = f"{rel}:{item.lineno}"
                    if GUARD_COMMENT in lines[item.lineno - 1]:
                        report.guarded.append(where)
                    else:
                        use = Use("hook", hook.py_name, hook.go_name, hook.min_version, where)
                        report.uses.append(use)
        # ast.walk is breadth-first: keep each file's uses in line order.
        report.uses[first:] = sorted(report.uses[first:], key=lambda u: _line(u.where))
        report.guarded[first_guarded:] = sorted(report.guarded[first_guarded:], key=_line)
    return report


def _line(where: str) -> int:
    return int(where.rsplit(":", 1)[1])


def _is_api(value: ast.expr) -> bool:
    """``api``, ``async_api`` or ``<anything>.api`` / ``<anything>.async_api``."""
    if isinstance(value, ast.Name):
        return value.id in _API_NAMES
    return isinstance(value, ast.Attribute) and value.attr in _API_NAMES


def manifest_min_version(plugin_dir: Path) -> str:
    """plugin.json's ``min_server_version`` ("" when absent or the manifest is unreadable)."""
    import json

    try:
        manifest = json.loads((plugin_dir / "plugin.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    value = manifest.get("min_server_version", "") if isinstance(manifest, dict) else ""
    return value if isinstance(value, str) else ""


OLDEST_TESTED_SERVER = "9.11"
"""The oldest Mattermost server mmplugin's e2e matrix runs on."""


def suggested(version: str) -> str:
    """A ``min_server_version`` for code needing ``version``: "10.7" → "10.7.0", and at least
    the oldest tested server ("5.2" → "9.11.0")."""
    newest = max(version or OLDEST_TESTED_SERVER, OLDEST_TESTED_SERVER, key=sv.parse_version)
    parts = [str(p) for p in sv.parse_version(newest)]
    return ".".join(parts + ["0"] * (3 - len(parts)))


def min_version_warning(plugin_dir: Path) -> str | None:
    """What ``mmplugin bundle`` warns about: the code needs a newer server than the manifest's
    ``min_server_version`` says (or it has none). None when the manifest covers the code."""
    report = scan(plugin_dir)
    needed = report.needed_version
    declared = manifest_min_version(plugin_dir)
    if not needed or (declared and not sv.lacks(needed, declared)):
        return None
    uses = ", ".join(sorted({u.name for u in report.needing()}))
    stated = f"is {declared}" if declared else "is not set"
    return (
        f"warning: plugin.json's min_server_version {stated}, but the code uses {uses} "
        f"(Mattermost {needed}): older servers raise ServerVersionError for such API methods and "
        f'never call such hooks. Set "min_server_version": "{suggested(needed)}", or see '
        "`mmplugin check --server-version X.Y`"
    )
