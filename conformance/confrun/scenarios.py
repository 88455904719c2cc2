"""Scenario files: language-neutral descriptions of plugin.API calls (conformance/scenarios).

A file is a JSON object with ``scenarios`` (a list of full scenarios) and/or ``table`` (rows
``[method, args]`` or ``[method, args, options]``: success scenarios named ``method/ok``). A
scenario:

    name      unique name ("GetUser/not_found")
    method    the Go method of plugin.API
    args      the Go arguments in canonical JSON; "$ref.path" is replaced by a fixture's or a
              setup call's value, "${ref.path}" inside a longer string too
    fixtures  {name: {"kind": ..., options}} created through REST before the call (see fixtures)
    setup     [{"as": name, "method": ..., "args": [...]}] calls through the same probe first
    expect    "ok", "error", or {"status_code": N, "id": "..."}: what the Go probe (the oracle)
              must answer, else the scenario itself is wrong
    ignore    paths left out of the comparison ("result.0.props", "*" matches any key or index)
    unordered paths of lists whose order the server does not define (sorted before comparing)
    compare   "exact" (default) or "outcome" (only ok vs. the same error status and id)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    args: list[Any]
    fixtures: dict[str, dict[str, Any]] = field(default_factory=dict)
    setup: list[dict[str, Any]] = field(default_factory=list)
    expect: Any = "ok"
    ignore: tuple[str, ...] = ()
    compare: str = "exact"
    unordered: tuple[str, ...] = ()
    source: str = ""

    @property
    def success_path(self) -> bool:
        return bool(self.expect == "ok")


_KEYS = {"name", "method", "args", "fixtures", "setup", "expect", "ignore", "compare", "unordered"}


def _scenario(data: dict[str, Any], source: str) -> Scenario:
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{source}: scenario {data.get('name')!r} has unknown keys {unknown}")
    if data.get("compare", "exact") not in ("exact", "outcome"):
        raise ValueError(f"{source}: {data['name']}: compare is 'exact' or 'outcome'")
    return Scenario(
        name=data["name"],
        method=data["method"],
        args=list(data.get("args", [])),
        fixtures=dict(data.get("fixtures", {})),
        setup=list(data.get("setup", [])),
        expect=data.get("expect", "ok"),
        ignore=tuple(data.get("ignore", ())),
        compare=data.get("compare", "exact"),
        unordered=tuple(data.get("unordered", ())),
        source=source,
    )


def load(directory: Path) -> list[Scenario]:
    """Every scenario of every ``*.json`` file in ``directory``, names checked unique."""
    found: list[Scenario] = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        for row in data.get("table", []):
            method, args, *rest = row
            options = rest[0] if rest else {}
            row_scenario = {"name": f"{method}/ok", "method": method, "args": args, **options}
            found.append(_scenario(row_scenario, path.name))
        found.extend(_scenario(s, path.name) for s in data.get("scenarios", []))
    names = [s.name for s in found]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"duplicate scenario names: {duplicates}")
    return found
