"""docs/sdk/hooks.md is generated from the hook table and must be current."""

from __future__ import annotations

from pathlib import Path

from mmplugin import _hookdoc
from mmplugin._gen.hooks import HOOKS

DOC = Path(__file__).resolve().parents[3] / "docs" / "sdk" / "hooks.md"


def test_the_committed_page_is_what_the_generator_writes() -> None:
    assert DOC.read_text(encoding="utf-8") == _hookdoc.render(), (
        "docs/sdk/hooks.md is stale: run `make generate` (python -m mmplugin._hookdoc)"
    )


def test_every_hook_but_implemented_has_a_section_with_its_signature() -> None:
    text = _hookdoc.render()
    for spec in HOOKS:
        if spec.go_name == "Implemented":
            assert "### `implemented`" not in text
            continue
        assert f"### `{spec.py_name}`" in text
        assert spec.signature in text


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    stale = tmp_path / "hooks.md"
    stale.write_text("old", encoding="utf-8")
    assert _hookdoc.main([str(stale), "--check"]) == 1
    assert _hookdoc.main([str(stale)]) == 0
    assert _hookdoc.main([str(stale), "--check"]) == 0
