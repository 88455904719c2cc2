"""The ```python blocks of docs/sdk/*.md, and what each kind of block must pass.

A block's info string says what it is:

- ``python``: self-contained, in reading order. The blocks of a page are concatenated into one
  test module and run with pytest (so a page's later block may use an earlier block's names):
  their ``test_*`` functions run against ``mmplugin.testing``'s harness, and every ``Plugin``
  class the page defines is activated in the harness. A block whose first line is a comment
  naming a file (``# greeter/plugin.py``) is written to that file instead, for other blocks
  (of any page) to import.
- ``python fragment``: a deliberate fragment (a method body, statements using ``self``, methods
  without their class): it must compile as the body of an ``async def`` method, and is not run.
- ``python signature``: a hook signature without a body (docs/sdk/hooks.md): it must compile
  with a body added, and every name in its annotations must be importable from a public module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
DOCS = REPO / "docs" / "sdk"

KINDS = ("python", "python fragment", "python signature")
_FENCE = re.compile(r"^(?P<indent>[ \t]*)```(?P<info>[^`]*)$")
_FILE_COMMENT = re.compile(r"^# (?P<path>[\w/]+\.py)$")


@dataclass(frozen=True)
class Block:
    page: str  # "getting-started.md"
    line: int  # the opening fence's line, 1-based
    info: str  # the fence's info string, e.g. "python fragment"
    code: str  # dedented to the fence's indentation

    @property
    def where(self) -> str:
        return f"docs/sdk/{self.page}:{self.line}"

    @property
    def file(self) -> str | None:
        """The project file a ``python`` block is (its first line ``# pkg/mod.py``), if any."""
        first = self.code.split("\n", 1)[0]
        match = _FILE_COMMENT.match(first)
        return match["path"] if match and self.info == "python" else None


def blocks(page: Path) -> list[Block]:
    """Every fenced block of ``page`` whose info string starts with "python"."""
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent, info = opening["indent"], opening["info"].strip()
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].strip() != "```":
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j])
            j += 1
        if info.split(" ", 1)[0] == "python":
            out.append(Block(page.name, i + 1, " ".join(info.split()), "\n".join(body) + "\n"))
        i = j + 1
    return out


def all_blocks() -> list[Block]:
    return [b for page in sorted(DOCS.glob("*.md")) for b in blocks(page)]
