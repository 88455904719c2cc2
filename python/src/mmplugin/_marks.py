"""Finding the methods a decorator marked (``@command``, ``@on_message``, ``@on_cluster_event``)."""

from __future__ import annotations

from typing import Any


def marked_methods(cls: type, attr: str) -> dict[str, Any]:
    """Attribute name → the mark stored under ``attr``, for a class and its bases (bases
    first). A subclass attribute of the same name without the mark hides the base's, as an
    override of the method would."""
    found: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            mark = getattr(value, attr, None)
            if mark is not None:
                found[name] = mark
            else:
                found.pop(name, None)
    return found
