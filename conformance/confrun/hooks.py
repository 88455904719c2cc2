"""Hook scenarios: one REST call (the trigger) fires a hook in both probes at once; the runner
compares the arguments each recorded (conformance/scenarios/hooks.json, key ``hooks``).

A hook scenario: ``name``, ``hook`` (the Go hook name), ``fixtures`` (made once, for both),
``trigger`` ({"method", "path" under /api/v4, "json"}, references resolved; "anonymous": true
sends it without a session), ``ignore`` paths. ``$secret.password`` is the fixture users'
password.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from mmtest.api import MattermostAPI

from confrun import compare, fixtures
from confrun.probes import Probe
from confrun.refs import resolve

WAIT_SECONDS = 20.0
SETTLE_SECONDS = 0.5


@dataclass(frozen=True)
class HookScenario:
    name: str
    hook: str
    trigger: dict[str, Any]
    fixtures: dict[str, dict[str, Any]] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()


@dataclass
class HookOutcome:
    scenario: HookScenario
    go: list[Any] = field(default_factory=list)
    python: list[Any] = field(default_factory=list)
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)
    problem: str = ""

    @property
    def identical(self) -> bool:
        return not self.problem and not self.diffs


def load(directory: Path) -> list[HookScenario]:
    found = []
    for path in sorted(directory.glob("*.json")):
        for data in json.loads(path.read_text()).get("hooks", []):
            found.append(
                HookScenario(
                    name=data["name"],
                    hook=data["hook"],
                    trigger=data["trigger"],
                    fixtures=dict(data.get("fixtures", {})),
                    ignore=tuple(data.get("ignore", ())),
                )
            )
    return found


def _events(probe: Probe, start: bool = False) -> list[dict[str, Any]]:
    response = probe.api.plugin_http(probe.plugin_id, "POST" if start else "GET", "/hooks")
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def _args_of(events: list[dict[str, Any]], hook: str) -> list[Any]:
    return [e["args"] for e in events if e["hook"] == hook]


def run(api: MattermostAPI, go: Probe, py: Probe, scenario: HookScenario) -> HookOutcome:
    outcome = HookOutcome(scenario)
    admin = api.me()
    base = {"admin": admin, "secret": {"password": fixtures.PASSWORD}}
    try:
        values = fixtures.make_all(api, scenario.fixtures, base)
        trigger = resolve(scenario.trigger, values)
    except Exception as exc:  # a fixture the server refused: the scenario is wrong
        outcome.problem = f"could not run: {exc}"
        return outcome
    for probe in (go, py):
        _events(probe, start=True)
    client = api.http
    if trigger.get("anonymous"):
        client = httpx.Client(base_url=str(api.http.base_url), trust_env=False)
    try:
        response = client.request(
            trigger["method"], "/api/v4" + trigger["path"], json=trigger.get("json")
        )
    finally:
        if client is not api.http:
            client.close()
    if response.is_error:
        outcome.problem = f"trigger answered {response.status_code}: {response.text[:200]}"
        return outcome
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        outcome.go = _args_of(_events(go), scenario.hook)
        outcome.python = _args_of(_events(py), scenario.hook)
        if outcome.go and outcome.python:
            time.sleep(SETTLE_SECONDS)
            outcome.go = _args_of(_events(go), scenario.hook)
            outcome.python = _args_of(_events(py), scenario.hook)
            break
        time.sleep(0.1)
    if not outcome.go:
        outcome.problem = f"the Go probe did not get {scenario.hook} in {WAIT_SECONDS:.0f}s"
        return outcome
    go_n = compare.drop({"events": outcome.go}, scenario.ignore)
    py_n = compare.drop({"events": outcome.python}, scenario.ignore)
    outcome.diffs = compare.differences(go_n, py_n)
    return outcome
