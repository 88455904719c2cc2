"""``pyformat`` placeholders (``%s``, ``%(name)s``) → the server driver's own (``$1`` or ``?``).

mmplugin.db uses the paramstyle Python's PostgreSQL drivers use (psycopg, pg8000 with format),
so SQL written for them works unchanged. The Mattermost server hands the statement to its Go
driver as it is: lib/pq wants ``$1, $2, …``; the MySQL driver of older servers wants ``?``.

The rules are psycopg's: with parameters, every ``%`` in the statement is a placeholder or
``%%`` (a literal percent sign, also inside string literals); without parameters (``None``) the
statement is sent untouched. A named parameter used twice becomes one ``$n``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from .exceptions import ProgrammingError

Placeholder = Literal["dollar", "qmark"]
"""``dollar``: PostgreSQL's ``$1`` (lib/pq). ``qmark``: ``?`` (the MySQL driver)."""

_TOKEN = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<conv>.?)", re.S)


@functools.lru_cache(maxsize=512)
def _parse(query: str, named: bool) -> tuple[tuple[str, ...], tuple[str | int, ...]]:
    """Split ``query`` into literal pieces and the parameter keys between them.

    Returns ``(pieces, keys)`` with ``len(pieces) == len(keys) + 1``; keys are names for a
    mapping, positions (0, 1, …) for a sequence.
    """
    pieces: list[str] = []
    keys: list[str | int] = []
    buf: list[str] = []
    last = 0
    position = 0
    for m in _TOKEN.finditer(query):
        buf.append(query[last : m.start()])
        last = m.end()
        name, conv = m.group("name"), m.group("conv")
        if name is None and conv == "%":
            buf.append("%")
            continue
        if conv != "s":
            shown = m.group(0) if conv else "%"
            raise ProgrammingError(
                f"unsupported placeholder {shown!r} at position {m.start()} of the statement: "
                "mmplugin.db uses the pyformat paramstyle (%s or %(name)s; write %% for a "
                "literal %)"
            )
        if named and name is None:
            raise ProgrammingError(
                "the statement uses %s but the parameters are a mapping: use %(name)s "
                "placeholders with a mapping, %s with a sequence"
            )
        if not named and name is not None:
            raise ProgrammingError(
                f"the statement uses %({name})s but the parameters are a sequence: use %s "
                "placeholders with a sequence, %(name)s with a mapping"
            )
        pieces.append("".join(buf))
        buf = []
        if name is not None:
            keys.append(name)
        else:
            keys.append(position)
            position += 1
    buf.append(query[last:])
    pieces.append("".join(buf))
    return tuple(pieces), tuple(keys)


def translate(
    query: str,
    params: Sequence[object] | Mapping[str, object] | None,
    placeholder: Placeholder = "dollar",
) -> tuple[str, list[object]]:
    """The statement with the server driver's placeholders, and the values in their order."""
    if params is None:
        return query, []
    if isinstance(params, (str, bytes, bytearray)):
        raise ProgrammingError(
            "parameters must be a sequence or a mapping, not a single "
            f"{type(params).__name__}: write execute(sql, (value,)) for one parameter"
        )
    named = isinstance(params, Mapping)
    if not named and not isinstance(params, Sequence):
        raise ProgrammingError(
            f"parameters must be a sequence or a mapping, not {type(params).__name__}"
        )
    pieces, keys = _parse(query, named)
    values: list[object] = []
    out = [pieces[0]]
    if named:
        assert isinstance(params, Mapping)
        index: dict[str | int, int] = {}
        for key, piece in zip(keys, pieces[1:], strict=True):
            if key not in params:
                raise ProgrammingError(f"the statement uses %({key})s but no such parameter")
            if placeholder == "dollar":
                n = index.get(key)
                if n is None:
                    values.append(params[key])  # type: ignore[index]
                    n = index[key] = len(values)
                out.append(f"${n}")
            else:
                values.append(params[key])  # type: ignore[index]
                out.append("?")
            out.append(piece)
    else:
        assert isinstance(params, Sequence)
        if len(keys) != len(params):
            raise ProgrammingError(
                f"the statement has {len(keys)} placeholder(s) but {len(params)} parameter(s) "
                "were given"
            )
        values.extend(params)
        for i, piece in enumerate(pieces[1:], start=1):
            out.append(f"${i}" if placeholder == "dollar" else "?")
            out.append(piece)
    return "".join(out), values
