"""The conformance report: one line per method that is not identical, then the summary line."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from confrun.fake import FakeOutcome
from confrun.hooks import HookOutcome
from confrun.run import Outcome


@dataclass(frozen=True)
class Counts:
    identical: int
    pinned: int
    not_on_server: int
    license: int
    hooks_identical: int
    hooks: int
    fake_agree: int
    fake_scenarios: int

    def line(self) -> str:
        return (
            f"conformance: api {self.identical}/{self.pinned} identical "
            f"({self.not_on_server} not on this server, {self.license} need a license) "
            f"hooks {self.hooks_identical}/{self.hooks} identical "
            f"fake {self.fake_agree}/{self.fake_scenarios} agree"
        )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def classify(
    pinned: list[str], on_server: set[str], outcomes: list[Outcome]
) -> tuple[dict[str, str], list[str]]:
    """(method → identical | differs | broken | license | not_on_server | no_scenario |
    no_success_path, the report's detail lines)."""
    by_method: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_method[o.scenario.method].append(o)
    status: dict[str, str] = {}
    lines: list[str] = []
    for method in pinned:
        mine = by_method.get(method, [])
        if method not in on_server:
            status[method] = "not_on_server"
        elif not mine:
            status[method] = "no_scenario"
        elif any(o.needs_license for o in mine):
            status[method] = "license"
        elif any(o.diffs for o in mine):
            status[method] = "differs"
        elif any(o.problem for o in mine):
            status[method] = "broken"
        elif not any(o.scenario.success_path for o in mine):
            status[method] = "no_success_path"
        else:
            status[method] = "identical"
        for o in mine:
            if o.problem and status[method] != "license":
                lines.append(f"scenario broken: {o.scenario.name}: {o.problem[:300]}")
            for path, go, py in o.diffs[:5]:
                lines.append(
                    f"differs: {o.scenario.name}: {path or '(answer)'}: "
                    f"Go {_short(go)} Python {_short(py)}"
                )
            if len(o.diffs) > 5:
                lines.append(f"differs: {o.scenario.name}: … and {len(o.diffs) - 5} more fields")
    for label, key in (
        ("not on this server", "not_on_server"),
        ("needs a license", "license"),
        ("only error-path scenarios", "no_success_path"),
        ("no scenario", "no_scenario"),
    ):
        names = [m for m in pinned if status[m] == key]
        if names:
            lines.append(f"{label} ({len(names)}): {' '.join(names)}")
    return status, lines


def classify_hooks(
    server_hooks: list[str], outcomes: list[HookOutcome]
) -> tuple[dict[str, str], list[str]]:
    """(hook → identical | differs | broken | no_scenario, detail lines) for the hooks the
    server has."""
    by_hook: dict[str, list[HookOutcome]] = defaultdict(list)
    for o in outcomes:
        by_hook[o.scenario.hook].append(o)
    status: dict[str, str] = {}
    lines: list[str] = []
    for hook in server_hooks:
        mine = by_hook.get(hook, [])
        if not mine:
            status[hook] = "no_scenario"
        elif any(o.diffs for o in mine):
            status[hook] = "differs"
        elif any(o.problem for o in mine):
            status[hook] = "broken"
        else:
            status[hook] = "identical"
        for o in mine:
            if o.problem:
                lines.append(f"hook scenario broken: {o.scenario.name}: {o.problem[:300]}")
            for path, go, py in o.diffs[:5]:
                lines.append(
                    f"hook differs: {o.scenario.name}: {path}: Go {_short(go)} Python {_short(py)}"
                )
    missing = [h for h in server_hooks if status[h] == "no_scenario"]
    if missing:
        lines.append(f"hooks with no scenario ({len(missing)}): {' '.join(missing)}")
    return status, lines


def fake_lines(outcomes: list[FakeOutcome]) -> list[str]:
    """One line per field where the testing fake disagrees with the real server (Go)."""
    lines = []
    for f in outcomes:
        for path, server, fake in f.diffs[:3]:
            lines.append(
                f"fake disagrees: {f.scenario_name}: {path or '(answer)'}: "
                f"server {_short(server)} fake {_short(fake)}"
            )
        if len(f.diffs) > 3:
            lines.append(f"fake disagrees: {f.scenario_name}: … and {len(f.diffs) - 3} more")
    return lines


def counts(
    status: dict[str, str], hook_status: dict[str, str], fake: Sequence[FakeOutcome] = ()
) -> Counts:
    values = list(status.values())
    return Counts(
        identical=values.count("identical"),
        pinned=len(values),
        not_on_server=values.count("not_on_server"),
        license=values.count("license"),
        hooks_identical=list(hook_status.values()).count("identical"),
        hooks=len(hook_status),
        fake_agree=sum(not f.diffs for f in fake),
        fake_scenarios=len(fake),
    )


def gate(
    outcomes: list[Outcome],
    known: dict[str, str],
    hook_outcomes: Sequence[HookOutcome] = (),
) -> list[str]:
    """What ``--strict`` fails on: a broken scenario, a difference ``known`` does not list, and
    a listed difference that is gone."""
    failures = []
    for o in outcomes:
        name = o.scenario.name
        if o.problem and not o.needs_license:
            failures.append(f"strict: scenario broken: {name}")
        elif o.diffs and name not in known:
            failures.append(f"strict: unlisted difference: {name}")
        elif o.identical and name in known:
            failures.append(f"strict: listed difference is gone (remove it): {name}")
    for h in hook_outcomes:
        name = h.scenario.name
        if h.problem:
            failures.append(f"strict: hook scenario broken: {name}")
        elif h.diffs and name not in known:
            failures.append(f"strict: unlisted difference: {name}")
        elif h.identical and name in known:
            failures.append(f"strict: listed difference is gone (remove it): {name}")
    return failures
