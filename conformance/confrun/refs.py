"""References in scenario arguments: "$name.path" and "${name.path}" (see scenarios), and
{"$merge": [a, b]}: the objects a and b merged (b's keys win)."""

from __future__ import annotations

import re
from typing import Any

_WHOLE = re.compile(r"^\$([A-Za-z_][\w]*(?:\.[\w-]+)*)$")
_INNER = re.compile(r"\$\{([A-Za-z_][\w]*(?:\.[\w-]+)*)\}")


def lookup(values: dict[str, Any], ref: str) -> Any:
    """``values[name][path...]``; list indices are numbers. KeyError names what is missing."""
    name, *path = ref.split(".")
    if name not in values:
        raise KeyError(f"${ref}: no fixture or setup call named {name!r}")
    current = values[name]
    for step in path:
        if isinstance(current, list) and step.isdigit() and int(step) < len(current):
            current = current[int(step)]
        elif isinstance(current, dict) and step in current:
            current = current[step]
        else:
            raise KeyError(f"${ref}: {step!r} not found")
    return current


def resolve(data: Any, values: dict[str, Any]) -> Any:
    """``data`` with every reference replaced by its value."""
    if isinstance(data, str):
        whole = _WHOLE.match(data)
        if whole:
            return lookup(values, whole.group(1))
        return _INNER.sub(lambda m: str(lookup(values, m.group(1))), data)
    if isinstance(data, list):
        return [resolve(x, values) for x in data]
    if isinstance(data, dict):
        if set(data) == {"$merge"}:  # {"$merge": [object, object...]}: later keys win
            merged: dict[str, Any] = {}
            for part in resolve(data["$merge"], values):
                merged.update(part)
            return merged
        return {resolve(k, values): resolve(v, values) for k, v in data.items()}
    return data
