"""The shell commands of getting-started.md are those the scaffold's README gives (and which
e2e/tests/test_author_path.py runs as written), and its `mmplugin new` line works."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from snippets import DOCS

from mmplugin.cli import main


def _sh_commands(markdown: str) -> list[str]:
    """The commands of the first ```sh block: comments, blank lines and `export` lines dropped,
    leading VAR=value assignments and a trailing `--url URL` removed (connection settings)."""
    match = re.search(r"^```sh\n(.*?)^```", markdown, re.MULTILINE | re.DOTALL)
    assert match, "no ```sh block"
    out = []
    for line in match.group(1).splitlines():
        command = line.split(" #", 1)[0].strip()
        if not command or command.startswith(("#", "export ")):
            continue
        command = re.sub(r"^(\w+=\S+\s+)+", "", command)
        command = re.sub(r"\s+--url\s+\S+$", "", command)
        out.append(command)
    return out


def test_getting_started_runs_the_commands_of_the_scaffolds_readme(tmp_path: Path) -> None:
    guide = _sh_commands((DOCS / "getting-started.md").read_text(encoding="utf-8"))
    assert guide[:3] == [
        'pip install "mmplugin[cli]"',
        'mmplugin new greeter --id com.example.greeter --name "Greeter"',
        "cd greeter",
    ]
    new = shlex.split(guide[1])
    assert main([*new[1:2], str(tmp_path / new[2]), *new[3:]]) == 0
    readme = _sh_commands((tmp_path / "greeter" / "README.md").read_text(encoding="utf-8"))
    assert readme[: len(guide) - 3] == guide[3:], (guide, readme)
