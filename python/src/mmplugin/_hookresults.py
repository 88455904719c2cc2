"""How a Python hook handler expresses the outcomes a Go hook can return.

=========================================  ============================================
Go returns                                 Python handler returns
=========================================  ============================================
``nil, ""`` (allow unchanged)              ``None``
``post, ""`` (replace)                     the changed model (``Post``, ``Channel``, ...)
``nil, "reason"`` (reject)                 ``Reject("reason")``
``nil, plugin.DismissPostError``           ``DISMISS`` (MessageWillBePosted only)
``"reason"`` (UserWillLogIn, ...)          ``Reject("reason")`` or the reason as a ``str``
an ``error``                               raise an exception
``*model.AppError`` (ExecuteCommand)       raise ``AppError``
=========================================  ============================================

A handler returning something else fails the hook with ``HookResultError``, which names the
hook, the accepted types and what was returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

if TYPE_CHECKING:
    from mmplugin._dispatch import HookSpec

__all__ = ["DISMISS", "Dismiss", "HookResultError", "Reject"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Reject:
    """Reject what a ``*_will_be_*`` hook was asked to allow, with a reason for the user/log."""

    reason: str

    def __post_init__(self) -> None:
        if not isinstance(self.reason, str) or not self.reason:
            raise ValueError("Reject needs a non-empty reason string")


class Dismiss:
    """The type of DISMISS."""

    _instance: Dismiss | None = None

    def __new__(cls) -> Dismiss:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DISMISS"


DISMISS: Final = Dismiss()
"""Drop the post silently (message_will_be_posted): no error reaches the user."""


class HookResultError(TypeError):
    """A hook handler returned a value its hook cannot express."""


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def _fail(spec: HookSpec, value: object) -> HookResultError:
    return HookResultError(
        f"hook {spec.py_name} returned {_describe(value)}; expected {spec.returns}"
    )


def expect_none(spec: HookSpec, value: object) -> None:
    """Hooks with no result: the handler must return None."""
    if value is not None:
        raise _fail(spec, value)


def rejection(spec: HookSpec, value: object) -> str:
    """Hooks returning a rejection reason: None/"" allow, Reject or a str rejects."""
    if value is None:
        return ""
    if isinstance(value, Reject):
        return value.reason
    if isinstance(value, str):
        return value
    raise _fail(spec, value)


def replace_or_reject(
    spec: HookSpec, value: object, cls: type[_T], dismiss: str | None
) -> tuple[_T | None, str]:
    """Hooks returning (*T, string): None, a T, Reject, or DISMISS where allowed."""
    if value is None:
        return None, ""
    if isinstance(value, cls):
        return value, ""
    if isinstance(value, Reject):
        return None, value.reason
    if isinstance(value, Dismiss) and dismiss is not None:
        return None, dismiss
    raise _fail(spec, value)


def expect_value(
    spec: HookSpec, value: object, types: tuple[type[Any], ...], *, allow_none: bool
) -> Any:
    """Hooks returning one value: an instance of types (or None where Go allows nil)."""
    if value is None and allow_none:
        return None
    if isinstance(value, types) and not (bool not in types and isinstance(value, bool)):
        return value
    raise _fail(spec, value)
