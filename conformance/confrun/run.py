"""Running scenarios through both probes and classifying every plugin.API method."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mmtest.api import APIError, MattermostAPI

from confrun import compare, fixtures
from confrun.probes import Probe
from confrun.refs import resolve
from confrun.scenarios import Scenario


class SetupFailed(RuntimeError):
    """A setup call failed; ``answer`` is what the probe answered."""

    def __init__(self, method: str, answer: dict[str, Any]) -> None:
        super().__init__(f"setup call {method} failed: {answer}")
        self.answer = answer


@dataclass
class Outcome:
    scenario: Scenario
    go: dict[str, Any] = field(default_factory=dict)
    python: dict[str, Any] = field(default_factory=dict)
    diffs: list[tuple[str, Any, Any]] = field(default_factory=list)
    problem: str = ""  # the scenario could not run, or the Go result is not what it expects
    go_values: dict[str, Any] = field(default_factory=dict)  # the fixtures the Go call used

    @property
    def identical(self) -> bool:
        return not self.problem and not self.diffs

    @property
    def needs_license(self) -> bool:
        err = self.go.get("error") or {}
        return "license" in f"{err.get('id', '')} {err.get('message', '')}".lower()


def base_values(api: MattermostAPI, probe: Probe) -> dict[str, Any]:
    admin = api.me()
    values: dict[str, Any] = {"admin": admin, "plugin": {"id": probe.plugin_id}}
    return fixtures.make_all(api, fixtures.BASE, values)


def expectation_met(expect: Any, answer: dict[str, Any]) -> bool:
    if expect == "ok":
        return "result" in answer
    if expect == "error":
        return "error" in answer
    err = answer.get("error")
    if not isinstance(err, dict):
        return False
    return all(err.get(k) == v for k, v in expect.items())


def one_side(
    api: MattermostAPI, probe: Probe, scenario: Scenario, base: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fixtures, setup calls and the call through ``probe``: (answer, the values used)."""
    values = fixtures.make_all(api, scenario.fixtures, base)
    for step in scenario.setup:
        answer = probe.call(step["method"], resolve(step.get("args", []), values))
        if "result" not in answer:
            raise SetupFailed(step["method"], answer)
        values[step.get("as", step["method"])] = answer
    return probe.call(scenario.method, resolve(scenario.args, values)), values


def run(
    api: MattermostAPI, go: Probe, py: Probe, scenario: Scenario, bases: dict[str, dict[str, Any]]
) -> Outcome:
    outcome = Outcome(scenario)
    try:
        outcome.go, go_values = one_side(api, go, scenario, bases["go"])
    except SetupFailed as exc:  # kept as the Go answer, so a license error is seen as one
        outcome.go, outcome.problem = exc.answer, f"could not run: {exc}"
        return outcome
    except (APIError, RuntimeError, KeyError, ValueError) as exc:
        outcome.problem = f"could not run: {exc}"
        return outcome
    try:
        outcome.python, py_values = one_side(api, py, scenario, bases["python"])
    except (APIError, RuntimeError, KeyError, ValueError) as exc:
        outcome.problem = f"could not run: {exc}"
        return outcome
    for side, answer in (("Go", outcome.go), ("Python", outcome.python)):
        if "probe_error" in answer:
            outcome.problem = f"{side} probe: {answer['probe_error']}"
            return outcome
    if not expectation_met(scenario.expect, outcome.go):
        outcome.problem = f"the Go result is not the expected {scenario.expect!r}: {outcome.go}"
        return outcome
    outcome.go_values = go_values
    go_n = compare.normalize(outcome.go, go_values, scenario.ignore, scenario.unordered)
    py_n = compare.normalize(outcome.python, py_values, scenario.ignore, scenario.unordered)
    if scenario.compare == "outcome":
        go_n, py_n = compare.outcome(go_n), compare.outcome(py_n)
    outcome.diffs = compare.differences(go_n, py_n)
    return outcome
