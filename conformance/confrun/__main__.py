"""``python -m confrun``: start a real server, install both probes, run every scenario through
both, print the report (last line: the summary) and write the details as JSON."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
import time
from pathlib import Path

from mmtest.server import MattermostServer

from confrun import fake, fixtures, hooks, probes, report, run, scenarios, surface

SCENARIOS_DIR = probes.CONFORMANCE_DIR / "scenarios"
KNOWN_DIFFERENCES = probes.CONFORMANCE_DIR / "known_differences.json"
# Features some methods need, off in the e2e server's defaults.
SERVER_SETTINGS = {
    "MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION": "true",
    "MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS": "true",
    "MM_SERVICESETTINGS_ENABLECUSTOMEMOJI": "true",
    "MM_SERVICESETTINGS_ENABLEOAUTHSERVICEPROVIDER": "true",
    "MM_SERVICESETTINGS_ENABLECOMMANDS": "true",
    "MM_SERVICESETTINGS_ENABLEPOSTSEARCH": "true",
    "MM_FILESETTINGS_ENABLEPUBLICLINK": "true",
}


def _progress(started: float, what: str) -> None:
    print(f"[{time.monotonic() - started:5.1f}s] {what}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m confrun", description=__doc__)
    parser.add_argument("--scenarios", type=Path, default=SCENARIOS_DIR)
    parser.add_argument("-k", dest="pattern", default="*", help="only scenarios matching (glob)")
    parser.add_argument("--json", type=Path, help="write every answer and difference here")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 on a broken scenario, on a difference known_differences.json does not list, "
        "and on a listed difference that is gone",
    )
    options = parser.parse_args(argv)

    selected = [
        s for s in scenarios.load(options.scenarios) if fnmatch.fnmatchcase(s.name, options.pattern)
    ]
    pinned = surface.pinned_api()
    unknown = sorted({s.method for s in selected} - set(pinned))
    if unknown:
        print(f"scenarios name methods plugin.API does not have: {unknown}", file=sys.stderr)
        return 2
    on_server = surface.server_api()
    runnable = [s for s in selected if s.method in on_server]
    hook_scenarios = [
        h for h in hooks.load(options.scenarios) if fnmatch.fnmatchcase(h.name, options.pattern)
    ]
    server_hooks = set(surface.pinned_hooks()) & surface.server_hooks()
    unknown_hooks = sorted({h.hook for h in hook_scenarios} - server_hooks)
    if unknown_hooks:
        print(f"hook scenarios name hooks this server lacks: {unknown_hooks}", file=sys.stderr)
        return 2

    started = time.monotonic()
    with MattermostServer(env=SERVER_SETTINGS) as server, tempfile.TemporaryDirectory() as work:
        _progress(started, "server up")
        go, py = probes.install(server, Path(work))
        _progress(started, "probes installed")
        api = server.admin_api
        bases = {"go": run.base_values(api, go), "python": run.base_values(api, py)}
        outcomes = [run.run(api, go, py, s, bases) for s in runnable]
        _progress(started, f"{len(outcomes)} scenarios run")
        hook_outcomes = [hooks.run(api, go, py, h) for h in hook_scenarios]
        _progress(started, f"{len(hook_outcomes)} hook scenarios run")
    elapsed = time.monotonic() - started

    fake_outcomes = [f for o in outcomes if (f := fake.run(o, fixtures.BASE)) is not None]
    _progress(started, f"{len(fake_outcomes)} scenarios run on the testing fake")
    status, lines = report.classify(pinned, on_server, outcomes)
    lines += report.fake_lines(fake_outcomes)
    hook_status, hook_lines = report.classify_hooks(sorted(server_hooks), hook_outcomes)
    lines += hook_lines
    if options.json:
        options.json.parent.mkdir(parents=True, exist_ok=True)
        options.json.write_text(
            json.dumps(
                {
                    "status": status,
                    "scenarios": [
                        {
                            "name": o.scenario.name,
                            "method": o.scenario.method,
                            "go": o.go,
                            "python": o.python,
                            "diffs": o.diffs,
                            "problem": o.problem,
                        }
                        for o in outcomes
                    ],
                    "fake": [
                        {"name": f.scenario_name, "answer": f.answer, "diffs": f.diffs}
                        for f in fake_outcomes
                    ],
                    "hook_status": hook_status,
                    "hooks": [
                        {
                            "name": h.scenario.name,
                            "go": h.go,
                            "python": h.python,
                            "diffs": h.diffs,
                            "problem": h.problem,
                        }
                        for h in hook_outcomes
                    ],
                },
                indent=1,
                default=str,
            )
        )
    for line in lines:
        print(line)
    known: dict[str, str] = json.loads(KNOWN_DIFFERENCES.read_text())["differences"]
    failures = report.gate(outcomes, known, hook_outcomes) if options.strict else []
    for line in failures:
        print(line)
    identical = sum(o.identical for o in outcomes)
    print(f"{len(runnable)} scenarios run in {elapsed:.0f}s: {identical} identical")
    print(report.counts(status, hook_status, fake_outcomes).line())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
