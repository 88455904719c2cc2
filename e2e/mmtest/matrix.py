"""The e2e matrix: the suite once per server build, each in its own pytest session, and one
line with every server's counts at the end (what `make e2e` ends with)::

    e2e matrix: 9.11.0 P passed, F failed, 10.10.0 P passed, F failed, 11.4.0 P passed, F failed
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mmtest import build

RESULTS_ENV = "MMTEST_RESULTS_FILE"
"""Where conftest.py writes a session's counts (JSON ``{"passed": P, "failed": F}``)."""


@dataclass(frozen=True)
class MatrixRun:
    """One server's run of the suite."""

    version: str  # what the server reports, e.g. "9.11.0"
    passed: int
    failed: int  # failed tests and errors; 1 when pytest ended without counting
    exit_code: int


def run(builds: list[build.ServerBuild], pytest_args: list[str]) -> int:
    """Build every server first (a build failure stops before any test), then run the suite
    once per server, oldest first (one server start each), and end with the matrix line.
    Returns the first failing pytest exit status, else 0."""
    installs = [build.ensure_server(each) for each in builds]
    runs = []
    for each, server in zip(builds, installs, strict=True):
        version = str(server.info.get("mattermost_version", each.name))
        print(
            f"\n== e2e on Mattermost {version} (e2e/mmserver/v{each.name}, "
            f"server/v8 {server.version})",
            flush=True,
        )
        runs.append(_run_suite(each, version, pytest_args))
    print(matrix_line(runs), flush=True)
    return next((r.exit_code for r in runs if r.exit_code != 0), 0)


def matrix_line(runs: list[MatrixRun]) -> str:
    return "e2e matrix: " + ", ".join(
        f"{r.version} {r.passed} passed, {r.failed} failed" for r in runs
    )


def _run_suite(server_build: build.ServerBuild, version: str, args: list[str]) -> MatrixRun:
    with tempfile.TemporaryDirectory(prefix="mmtest-results-") as tmp:
        results = Path(tmp) / "results.json"
        env = {**os.environ, build.SERVER_ENV: server_build.name, RESULTS_ENV: str(results)}
        code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=build.E2E_DIR, env=env)
        if not results.exists():  # pytest stopped before its summary (usage error, crash)
            return MatrixRun(version, 0, 1, code or 1)
        counts = json.loads(results.read_text())
    return MatrixRun(version, int(counts["passed"]), int(counts["failed"]), code)
