from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from mmplugin._runtime.entrypoint import (
    EntryPointError,
    instantiate,
    load_entry_point,
    parse_entry_point,
)


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


def _module(plugin_dir: Path, body: str) -> str:
    name = "ep_" + uuid.uuid4().hex[:8]
    (plugin_dir / f"{name}.py").write_text(body)
    return name


def test_loads_the_class(plugin_dir: Path) -> None:
    mod = _module(plugin_dir, "class Outer:\n    class Plugin:\n        pass\n")
    factory = load_entry_point(f"{mod}:Outer.Plugin")
    assert type(instantiate(f"{mod}:Outer.Plugin", factory)).__name__ == "Plugin"


@pytest.mark.parametrize("spec", ["nocolon", "a:", ":B", "a-b:C", "a:B-c", "a..b:C"])
def test_rejects_malformed_specs(spec: str) -> None:
    with pytest.raises(EntryPointError, match=r"is not of the form 'package\.module:ClassName'"):
        parse_entry_point(spec)


def test_module_missing_names_the_search_path(plugin_dir: Path) -> None:
    with pytest.raises(EntryPointError) as e:
        load_entry_point("no_such_mod_xyz:Plugin", [str(plugin_dir)])
    assert str(e.value) == (
        "entry point 'no_such_mod_xyz:Plugin' failed to import: ModuleNotFoundError: "
        f"No module named 'no_such_mod_xyz' (looked in {plugin_dir}; check "
        "props.python.entry_point and props.python.path)"
    )
    assert not e.value.during_creation


def test_missing_dependency_is_told_apart(plugin_dir: Path) -> None:
    mod = _module(plugin_dir, "import dependency_not_installed_xyz\nclass Plugin: pass\n")
    with pytest.raises(EntryPointError, match="a dependency of the plugin is missing") as e:
        load_entry_point(f"{mod}:Plugin")
    assert "import dependency_not_installed_xyz" in e.value.details


def test_attribute_missing(plugin_dir: Path) -> None:
    mod = _module(plugin_dir, "class Other: pass\n")
    with pytest.raises(EntryPointError, match=f"module '{mod}' has no attribute 'Plugin'"):
        load_entry_point(f"{mod}:Plugin")


def test_not_callable(plugin_dir: Path) -> None:
    mod = _module(plugin_dir, "Plugin = 42\n")
    with pytest.raises(EntryPointError, match="is a int, not a class"):
        load_entry_point(f"{mod}:Plugin")


def test_syntax_error(plugin_dir: Path) -> None:
    mod = _module(plugin_dir, "def broken(:\n    pass\n")
    with pytest.raises(EntryPointError, match=f"failed to import: SyntaxError: .*{mod}.py, line 1"):
        load_entry_point(f"{mod}:Plugin")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("raise RuntimeError('bad config')\n", "RuntimeError: bad config"),
        ("import sys\nsys.exit(3)\n", "SystemExit: 3"),
    ],
)
def test_exceptions_during_import(plugin_dir: Path, body: str, message: str) -> None:
    mod = _module(plugin_dir, body)
    with pytest.raises(EntryPointError, match=f"failed to import: {message}") as e:
        load_entry_point(f"{mod}:Plugin")
    assert e.value.details.startswith("Traceback")


def test_constructor_failure_is_a_creation_error() -> None:
    def factory() -> object:
        raise ValueError("no token")

    with pytest.raises(EntryPointError) as e:
        instantiate("m:P", factory)
    assert str(e.value) == "plugin class 'm:P' could not be created: ValueError: no token"
    assert e.value.during_creation
