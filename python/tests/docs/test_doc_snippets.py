"""The python blocks of docs/sdk/*.md compile, run and name public types (see snippets.py), so
a renamed attribute or an unexported name in the docs fails the tests."""

from __future__ import annotations

import ast
import builtins
import collections.abc
import importlib
import subprocess
import sys
import textwrap
import typing
from collections import defaultdict
from pathlib import Path

import pytest
from snippets import KINDS, Block, all_blocks

BLOCKS = all_blocks()

# Where a name in a hook signature may come from: what an author imports.
PUBLIC_MODULES = ("mmplugin", "mmplugin.models", "mmplugin.streams", "mmplugin.http")

ACTIVATE_EVERY_PLUGIN = '''

def test_every_plugin_class_of_the_page_activates(plugin_harness) -> None:
    """Added by python/tests/docs: each Plugin subclass above starts in the harness."""
    import mmplugin

    defined = [
        value
        for value in list(globals().values())
        if isinstance(value, type)
        and issubclass(value, mmplugin.Plugin)
        and value.__module__ == __name__
    ]
    for cls in defined:
        harness = plugin_harness(cls, plugin_id="com.example.docs")
        harness.activate()
        harness.deactivate()
'''


def _ids(blocks: list[Block]) -> list[str]:
    return [b.where for b in blocks]


def test_the_docs_have_python_blocks_of_every_kind() -> None:
    kinds = {b.info for b in BLOCKS}
    assert kinds >= set(KINDS), kinds


@pytest.mark.parametrize("block", BLOCKS, ids=_ids(BLOCKS))
def test_block_has_a_known_kind_and_compiles(block: Block) -> None:
    assert block.info in KINDS, (
        f"{block.where}: info string {block.info!r}; use one of {KINDS} (see snippets.py)"
    )
    code = block.code
    if block.info == "python signature":
        code = code.rstrip() + ": ...\n"
    elif block.info == "python fragment":
        # A method body or a few methods: valid inside an async method (return, await, def).
        code = "async def _fragment(self):\n" + textwrap.indent(code, "    ") + "    pass\n"
    try:
        compile(code, block.where, "exec", dont_inherit=True)
    except SyntaxError as e:
        pytest.fail(f"{block.where} (+{e.lineno}): {e.msg}\n{code}")


def _annotation_names(signature: str) -> set[str]:
    tree = ast.parse(signature.rstrip() + ": ...\n")
    fn = tree.body[0]
    assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
    nodes: list[ast.expr] = [a.annotation for a in fn.args.args if a.annotation is not None]
    if fn.returns is not None:
        nodes.append(fn.returns)
    names = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
    return names


def _public_home(name: str) -> str | None:
    if hasattr(builtins, name) or hasattr(typing, name) or hasattr(collections.abc, name):
        return "builtins/typing"
    for module in PUBLIC_MODULES:
        if hasattr(importlib.import_module(module), name):
            return module
    return None


SIGNATURES = [b for b in BLOCKS if b.info == "python signature"]


@pytest.mark.parametrize("block", SIGNATURES, ids=_ids(SIGNATURES))
def test_signature_names_are_public(block: Block) -> None:
    missing = sorted(n for n in _annotation_names(block.code) if _public_home(n) is None)
    assert not missing, (
        f"{block.where}: {missing} are not importable from any of {PUBLIC_MODULES}:\n{block.code}"
    )


def test_the_docs_name_no_private_module_for_a_type() -> None:
    """Types are documented by their public module (mmplugin.streams.HTTPRequest), not a private
    one; prose about the runtime's own modules (mmplugin._runtime) is fine."""
    import re

    private_type = re.compile(r"mmplugin\.(?:\w+\.)*_\w+\.[A-Z]\w*")
    found = [
        f"docs/sdk/{page.name}: {m.group(0)}"
        for page in sorted(Path(__file__).resolve().parents[3].glob("docs/sdk/*.md"))
        for m in private_type.finditer(page.read_text(encoding="utf-8"))
    ]
    assert not found, found


def _is_test_file(b: Block) -> bool:
    return b.file is not None and Path(b.file).name.startswith("test_")


def _pages_to_run() -> dict[str, list[Block]]:
    """Per page: its ``python`` blocks, and its file blocks that are test modules."""
    pages: dict[str, list[Block]] = defaultdict(list)
    for b in BLOCKS:
        if b.info == "python" and (b.file is None or _is_test_file(b)):
            pages[b.page].append(b)
    return dict(pages)


PAGES = _pages_to_run()


def _project(root: Path) -> None:
    """The file blocks of every page, written where they say (packages get an __init__.py)."""
    for b in BLOCKS:
        if b.file is None:
            continue
        path = root / b.file
        path.parent.mkdir(parents=True, exist_ok=True)
        init = path.parent / "__init__.py"
        if path.parent != root and not _is_test_file(b) and not init.exists():
            init.write_text("")
        path.write_text(b.code)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_runs(page: str, tmp_path: Path) -> None:
    _project(tmp_path)
    source = [f"# The ```python blocks of docs/sdk/{page}, in order (python/tests/docs).\n"]
    files = []
    for b in PAGES[page]:
        if b.file is not None:
            files.append(str(tmp_path / b.file))
        else:
            source.append(f"\n# --- {b.where}\n{b.code}")
    source.append(ACTIVATE_EVERY_PLUGIN)
    module = tmp_path / f"test_page_{page.removesuffix('.md').replace('-', '_')}.py"
    module.write_text("".join(source))
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module), *files],
        cwd=tmp_path,
        env={**_env(), "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"docs/sdk/{page}:\n{output[-6000:]}"
    assert " passed" in output and " skipped" not in output, output


def _env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
