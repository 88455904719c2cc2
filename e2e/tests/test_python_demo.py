"""``make demo`` keeps working: ``scripts/demo.py --check`` on its own server, every step passing.

The demo starts its own PostgreSQL and server (beside the session's), builds the host, bundles
and deploys the example plugin, then runs the curl steps it prints and checks their answers.
"""

from __future__ import annotations

import subprocess
import sys

from mmtest.pyplugin import REPO_DIR

DEMO = REPO_DIR / "scripts" / "demo.py"


def test_demo_check_runs_every_printed_step() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--check", "--no-install"],
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "demo: all steps work" in output
    assert "FAIL" not in output
    # What a person is told to try is what was checked: curl lines, then one result per step.
    steps = output.count("\n   curl -s ")
    assert steps >= 1
    assert output.count("  [ok  ] ") == steps
    assert "demo: stopping the server" in output
