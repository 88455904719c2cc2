"""Every scenario file loads, names a pinned plugin.API method and resolves its references."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from confrun import refs, report, scenarios, surface
from confrun.run import Outcome

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
KNOWN = Path(__file__).resolve().parents[1] / "known_differences.json"


def test_every_scenario_names_a_pinned_method() -> None:
    loaded = scenarios.load(SCENARIOS)
    assert len(loaded) > 250
    assert {s.method for s in loaded} <= set(surface.pinned_api())


def test_known_differences_name_scenarios() -> None:
    names = {s.name for s in scenarios.load(SCENARIOS)}
    assert set(json.loads(KNOWN.read_text())["differences"]) <= names


def test_references_resolve_whole_inner_and_merged() -> None:
    values = {"u": {"id": "x1", "tags": ["a", "b"]}, "s": {"result": [{"k": 1, "j": 2}]}}
    data = ["$u.id", "id=${u.id}", "$u.tags.1", {"$merge": ["$s.result.0", {"j": 3}]}]
    assert refs.resolve(data, values) == ["x1", "id=x1", "b", {"k": 1, "j": 3}]
    with pytest.raises(KeyError, match="nope"):
        refs.resolve("$nope.id", values)


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps({"table": [["GetUser", ["x"]], ["GetUser", ["y"]]]})
    )
    with pytest.raises(ValueError, match="duplicate"):
        scenarios.load(tmp_path)


def test_unknown_scenario_keys_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(
        json.dumps({"scenarios": [{"name": "x", "method": "GetUser", "arg": []}]})
    )
    with pytest.raises(ValueError, match="unknown keys"):
        scenarios.load(tmp_path)


def test_the_summary_line_and_the_gate() -> None:
    ok = scenarios.Scenario(name="GetUser/ok", method="GetUser", args=[])
    bad = scenarios.Scenario(name="GetTeam/ok", method="GetTeam", args=[])
    outcomes = [Outcome(ok), Outcome(bad, diffs=[("result.0", 1, 2)])]
    status, _lines = report.classify(
        ["GetUser", "GetTeam", "GetPost", "Gone"], {"GetUser", "GetTeam", "GetPost"}, outcomes
    )
    assert status == {
        "GetUser": "identical",
        "GetTeam": "differs",
        "GetPost": "no_scenario",
        "Gone": "not_on_server",
    }
    assert report.counts(status, {"A": "identical", "B": "no_scenario"}).line() == (
        "conformance: api 1/4 identical (1 not on this server, 0 need a license) "
        "hooks 1/2 identical fake 0/0 agree"
    )
    assert report.gate(outcomes, {}) == ["strict: unlisted difference: GetTeam/ok"]
    assert report.gate(outcomes, {"GetTeam/ok": "why", "GetUser/ok": "why"}) == [
        "strict: listed difference is gone (remove it): GetUser/ok"
    ]
