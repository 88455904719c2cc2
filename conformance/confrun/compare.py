"""Normalizing a probe's answer and comparing two answers field by field.

Normalization makes the Go and the Python run comparable although each made its own fixtures:
  1. a string equal to a fixture's value (an id, a random name) becomes "<fixture.field>", and
     such values inside longer strings are replaced too;
  2. any other Mattermost id (26 characters of [a-z0-9]: one the call itself created) becomes
     "<new:N>", numbered in order of first appearance, so id reuse is still compared;
  3. a timestamp field (name ending in "_at", "last_*_update", "*_time") that is not 0 becomes
     "<time>";
  4. a top-level result that is nil in Go and empty in Python is equal (the SDK documents that
     mapping: "a nil slice or map result is returned empty"); inside values nil and empty differ;
  5. a password hash (a fresh salt each time) that is not empty becomes "<hash>";
  6. the scenario's ``unordered`` lists are sorted, and its ``ignore`` paths are removed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from typing import Any

_ID = re.compile(r"^[a-z0-9]{26}$")
_INNER_ID = re.compile(r"(?<![a-z0-9])[a-z0-9]{26}(?![a-z0-9])")
# A top-level result the SDK documents as mapped: a nil slice or map comes back empty.
_TOP_RESULT = re.compile(r"^result\.\d+$")
_TIME_KEY = re.compile(r"(_at|^last_.*_update|_time|^timestamp)$")


def fixture_names(values: dict[str, Any]) -> dict[str, str]:
    """value → "<fixture.field>" for the distinctive strings of every fixture."""
    names: dict[str, str] = {}
    plugin = values.get("plugin")
    if isinstance(plugin, dict):
        names[plugin["id"]] = "<plugin.id>"  # each probe's own id
    for fixture, data in values.items():
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if isinstance(value, str) and value not in names and _distinctive(value):
                names[value] = f"<{fixture}.{key}>"
    return names


def _distinctive(value: str) -> bool:
    return bool(_ID.match(value)) or bool(re.search(r"[a-z][0-9a-f]{10}", value))


class Normalizer:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names
        self.inner = sorted((v for v in names if len(v) >= 8), key=len, reverse=True)
        self.new: dict[str, str] = {}

    def string(self, value: str) -> str:
        if value in self.names:
            return self.names[value]
        if _ID.match(value):
            return self.new.setdefault(value, f"<new:{len(self.new) + 1}>")
        for known in self.inner:
            if known in value:
                value = value.replace(known, self.names[known])
        return _INNER_ID.sub(lambda m: self.string(m.group(0)), value)

    def value(self, data: Any, key: str = "") -> Any:
        if isinstance(data, str):
            if key == "password" and data:
                return "<hash>"
            return self.string(data)
        if isinstance(data, bool) or data is None:
            return data
        if isinstance(data, (int, float)) and key and _TIME_KEY.search(key):
            return data if data == 0 else "<time>"
        if isinstance(data, list):
            return [self.value(x, key) for x in data]
        if isinstance(data, dict):
            return {self.string(k): self.value(data[k], k) for k in sorted(data)}
        return data


def drop(data: Any, patterns: tuple[str, ...], path: str = "") -> Any:
    """``data`` without the parts whose dotted path matches one of ``patterns``."""
    if isinstance(data, dict):
        out = {}
        for k, v in data.items():
            p = f"{path}.{k}" if path else str(k)
            if not any(fnmatch.fnmatchcase(p, pat) for pat in patterns):
                out[k] = drop(v, patterns, p)
        return out
    if isinstance(data, list):
        out_list = []
        for i, v in enumerate(data):
            p = f"{path}.{i}" if path else str(i)
            ignored = any(fnmatch.fnmatchcase(p, pat) for pat in patterns)
            out_list.append("<ignored>" if ignored else drop(v, patterns, p))
        return out_list
    return data


def normalize(
    answer: dict[str, Any],
    values: dict[str, Any],
    ignore: tuple[str, ...],
    unordered: tuple[str, ...] = (),
) -> Any:
    """The comparable form of ``answer``; lists at ``unordered`` paths are sorted."""
    return sort_lists(drop(Normalizer(fixture_names(values)).value(answer), ignore), unordered)


def sort_lists(data: Any, patterns: tuple[str, ...], path: str = "") -> Any:
    """``data`` with the lists whose path matches one of ``patterns`` sorted (by their JSON)."""
    if isinstance(data, dict):
        return {
            k: sort_lists(v, patterns, f"{path}.{k}" if path else str(k)) for k, v in data.items()
        }
    if isinstance(data, list):
        items = [
            sort_lists(v, patterns, f"{path}.{i}" if path else str(i)) for i, v in enumerate(data)
        ]
        if any(fnmatch.fnmatchcase(path, pat) for pat in patterns):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    return data


def outcome(answer: dict[str, Any]) -> Any:
    """What "compare": "outcome" compares: ok, or the error's kind, status and id."""
    if "error" in answer:
        e = answer["error"]
        return {"error": [e.get("kind"), e.get("status_code"), e.get("id")]}
    return {k: ("ok" if k == "result" else v) for k, v in answer.items()}


def differences(go: Any, py: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(path, Go value, Python value) of every leaf that differs."""
    if isinstance(go, dict) and isinstance(py, dict):
        out = []
        for k in sorted(set(go) | set(py), key=str):
            p = f"{path}.{k}" if path else str(k)
            if k not in py:
                out.append((p, go[k], "<missing>"))
            elif k not in go:
                out.append((p, "<missing>", py[k]))
            else:
                out.extend(differences(go[k], py[k], p))
        return out
    if isinstance(go, list) and isinstance(py, list) and len(go) == len(py):
        out = []
        for i, (g, q) in enumerate(zip(go, py, strict=True)):
            out.extend(differences(g, q, f"{path}.{i}" if path else str(i)))
        return out
    if go is None and py in ([], {}) and _TOP_RESULT.match(path):
        return []
    if (go == py and type(go) is type(py)) or (_number(go) and _number(py) and go == py):
        return []
    return [(path, go, py)]


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)
