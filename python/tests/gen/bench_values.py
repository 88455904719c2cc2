"""How much a typical post's props cost in Python, nested (before) vs flat (now) `any` values.

Run: ``python python/tests/gen/bench_values.py`` (not a test: it prints µs per post for encoding
the props to wire bytes and decoding them back; docs/protocol.md quotes the numbers). The props
are those of Go's BenchmarkPostProps (internal/convert/value_bench_test.go).
"""

from __future__ import annotations

import timeit
from typing import Any

from mmplugin import _values as v
from mmplugin.v1 import models_pb2 as pb

PROPS: dict[str, Any] = {
    "from_webhook": "true",
    "override_username": "ci",
    "disable_group_highlight": True,
    "attachments": [
        {
            "fallback": "Build 4711 passed",
            "color": "#36a64f",
            "title": "Build 4711",
            "text": "All 312 checks green",
            "fields": [
                {"title": "Branch", "value": "main", "short": True},
                {"title": "Duration", "value": "4m12s", "short": True},
            ],
        }
    ],
}


def nested_to_pb(value: Any) -> pb.Value:
    """The encoder before flat values (one protobuf level per Python level)."""
    if isinstance(value, list):
        return pb.Value(list_value=pb.ValueList(values=[nested_to_pb(x) for x in value]))
    if isinstance(value, dict):
        return pb.Value(
            map_value=pb.ValueMap(values={k: nested_to_pb(x) for k, x in value.items()})
        )
    return v.to_pb(value)


def main() -> None:
    for name, enc in (("nested", nested_to_pb), ("flat", v.to_pb)):
        wire = pb.Post(props={k: enc(x) for k, x in PROPS.items()}).SerializeToString()

        def encode(enc: Any = enc) -> bytes:
            return pb.Post(props={k: enc(x) for k, x in PROPS.items()}).SerializeToString()

        def decode(wire: bytes = wire) -> dict[str, Any]:
            return {k: v.from_pb(x) for k, x in pb.Post.FromString(wire).props.items()}

        assert decode() == PROPS
        for what, fn in (("encode", encode), ("decode", decode)):
            runs = 5000
            best = min(timeit.repeat(fn, number=runs, repeat=5)) / runs
            print(f"{name:6} {what}: {best * 1e6:6.1f} µs per post ({len(wire)} wire bytes)")


if __name__ == "__main__":
    main()
