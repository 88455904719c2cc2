"""Load the plugin class named by ``props.python.entry_point`` ("package.module:ClassName")."""

from __future__ import annotations

import importlib
import re
import traceback
from collections.abc import Callable, Sequence

_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class EntryPointError(Exception):
    """The entry point cannot be loaded: ``str()`` is the reason, ``details`` the traceback."""

    def __init__(self, message: str, details: str = "", *, created: bool = False) -> None:
        super().__init__(message)
        self.details = details
        # False: the module or class could not be loaded; True: creating the plugin object failed.
        self.during_creation = created


def parse_entry_point(spec: str) -> tuple[str, str]:
    """Split "package.module:ClassName" into its module and attribute path, validating both."""
    module, sep, attr = spec.partition(":")
    if not sep or not _DOTTED.match(module) or not _DOTTED.match(attr):
        raise EntryPointError(
            f"entry point {spec!r} is not of the form 'package.module:ClassName': "
            "fix props.python.entry_point in plugin.json"
        )
    return module, attr


def load_entry_point(spec: str, search_path: Sequence[str] = ()) -> Callable[[], object]:
    """Import the module and return the named attribute (the plugin class or a factory).

    Any failure, including ``SyntaxError`` and exceptions raised while the module runs, becomes
    ``EntryPointError("entry point 'x:Y' failed to import: ...")`` with the traceback attached.
    """
    module_name, attr = parse_entry_point(spec)
    prefix = f"entry point '{spec}' failed to import"
    try:
        obj: object = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        missing = e.name or ""
        if missing and (module_name == missing or module_name.startswith(missing + ".")):
            where = ", ".join(search_path) if search_path else "the interpreter's sys.path"
            hint = f"(looked in {where}; check props.python.entry_point and props.python.path)"

            # The plugin's own module is missing: the traceback is importlib's, not the plugin's.
            raise EntryPointError(f"{prefix}: ModuleNotFoundError: {e} {hint}") from None
        hint = "(a dependency of the plugin is missing: add it to the plugin's bundle)"
        raise EntryPointError(
            f"{prefix}: ModuleNotFoundError: {e} {hint}", traceback.format_exc()
        ) from None
    except SyntaxError as e:
        raise EntryPointError(f"{prefix}: SyntaxError: {e}", traceback.format_exc()) from None
    except BaseException as e:  # import may raise anything, SystemExit included
        if isinstance(e, KeyboardInterrupt):
            raise
        raise EntryPointError(
            f"{prefix}: {type(e).__name__}: {e}", traceback.format_exc()
        ) from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise EntryPointError(
                f"{prefix}: module '{module_name}' has no attribute '{attr}'"
            ) from None
    if not callable(obj):
        raise EntryPointError(
            f"{prefix}: '{attr}' in module '{module_name}' is a {type(obj).__name__}, not a class"
        )
    return obj


def instantiate(spec: str, factory: Callable[[], object]) -> object:
    """Create the plugin object; failures become ``EntryPointError`` naming the class."""
    try:
        return factory()
    except Exception as e:
        raise EntryPointError(
            f"plugin class '{spec}' could not be created: {type(e).__name__}: {e}",
            traceback.format_exc(),
            created=True,
        ) from None
