"""Go `any` values (the Value message) ⇄ Python data, times, logging key/values, config JSON."""

from __future__ import annotations

import copy
import pickle
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from mmplugin import _values as v
from mmplugin._gen import models as md
from mmplugin.v1 import models_pb2 as pb

UTC = timezone.utc


def wire(x: Any) -> pb.Value:
    return pb.Value.FromString(v.to_pb(x).SerializeToString())


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (None, None),
        (True, "bool_value"),
        (7, "int64_value"),
        (-(1 << 63), "int64_value"),
        ((1 << 63), "uint64_value"),
        (v.GoInt(7), "int_value"),
        (v.GoInt32(-7), "int32_value"),
        (v.GoUint64(3), "uint64_value"),
        (1.5, "float64_value"),
        (v.GoFloat32(1.5), "float32_value"),
        ("s", "string_value"),
        (b"\x00", "bytes_value"),
        (bytearray(b"ab"), "bytes_value"),
        ([1, "a"], "nodes"),
        ((1, "a"), "nodes"),
        ({"a": 1}, "nodes"),
        (v.GoStringList(["a"]), "string_list_value"),
        (v.GoStringMap({"a": "b"}), "string_map_value"),
        (datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC), "time_value"),
        ([md.MessageAttachment(text="x")], "typed_value"),
        (md.AutocompleteTextArg(hint="h"), "typed_value"),
        (md.PreviewPost(post_id="p"), "typed_value"),
    ],
)
def test_value_kinds(value: Any, kind: str | None) -> None:
    m = wire(value)
    if kind == "nodes":  # lists and dicts cross flat
        assert m.WhichOneof("kind") is None and len(m.nodes) == 1 + len(value)
    else:
        assert m.WhichOneof("kind") == kind and not m.nodes
    back = v.from_pb(m)
    expected = list(value) if isinstance(value, (tuple, bytearray)) else value
    if isinstance(value, bytearray):
        expected = bytes(value)
    assert back == expected


def test_go_types_survive_a_python_round_trip() -> None:
    # A value the plugin passes back unchanged keeps its Go type (int stays int, not int64).
    for m in (
        pb.Value(int_value=5),
        pb.Value(int32_value=5),
        pb.Value(uint64_value=5),
        pb.Value(float32_value=0.5),
        pb.Value(string_list_value=pb.StringList(values=["a", "b"])),
        pb.Value(string_map_value=pb.StringMap(values={"a": "b"})),
    ):
        assert v.to_pb(v.from_pb(m)) == m


def test_typed_values_decode_to_dataclasses() -> None:
    atts = [md.MessageAttachment(text="hi", fields=[md.MessageAttachmentField(title="t")])]
    m = wire(atts)
    assert m.typed_value.type == "[]*model.SlackAttachment"
    assert v.from_pb(m) == atts
    opts = [md.PluginPropertyOption(data={"id": "o", "name": "n"})]
    assert wire(opts).typed_value.type == "model.PropertyOptions[*model.PluginPropertyOption]"
    assert v.from_pb(wire(opts)) == opts
    owners = [md.PropertyOwner(id="u", type="user", scopes=[])]
    assert wire(owners).typed_value.type == "[]model.PropertyOwner"
    assert v.from_pb(wire(owners)) == owners


def test_typed_nils_keep_their_type() -> None:
    for m, go_type in (
        (pb.Value(list_value=pb.ValueList(), is_nil=True), "[]any"),  # the nested form
        (pb.Value(map_value=pb.ValueMap(), is_nil=True), "map[string]any"),
        (pb.Value(nodes=[pb.ValueNode(list_len=0, is_nil=True)]), "[]any"),
        (pb.Value(nodes=[pb.ValueNode(map_len=0, is_nil=True)]), "map[string]any"),
        (pb.Value(bytes_value=b"", is_nil=True), "[]byte"),
        (pb.Value(string_list_value=pb.StringList(), is_nil=True), "[]string"),
        (pb.Value(string_map_value=pb.StringMap(), is_nil=True), "map[string]string"),
        (pb.Value(typed_value=pb.TypedValue(type="*model.PreviewPost"), is_nil=True), None),
        (pb.Value(typed_value=pb.TypedValue(type="[]*model.SlackAttachment"), is_nil=True), None),
    ):
        back = v.from_pb(m)
        expected = go_type or m.typed_value.type
        assert back == v.GoNil(expected) and not back
        again = wire(back)
        assert v.from_pb(again) == back
        if m.WhichOneof("kind") in ("list_value", "map_value"):
            assert again.nodes[0].is_nil  # written flat
        else:
            assert again == m
    with pytest.raises(ValueError, match=r"GoNil\('chan int'\)"):
        v.to_pb(v.GoNil("chan int"))


def test_empty_typed_lists_keep_their_go_type() -> None:
    for name in ("[]*model.SlackAttachment", "model.PropertyOptions[*model.PluginPropertyOption]"):
        empty = v.from_pb(pb.Value(typed_value=pb.TypedValue(type=name, data=b"\x10\x01")))
        assert isinstance(empty, v.GoTypedList) and empty == [] and empty.go_type == name
        assert wire(empty).typed_value.type == name
    assert wire([]).nodes[0].list_len == 0  # a plain empty list is a []any


def test_go_time_keeps_nanoseconds() -> None:
    ts = v.time_to_pb(datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC))
    ts.nanos += 789
    t = v.time_from_pb(ts)
    assert isinstance(t, v.GoTime) and isinstance(t, datetime)
    assert (t.microsecond, t.nanosecond) == (123456, 789)
    assert v.time_to_pb(t) == ts
    assert t != datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)  # the nanoseconds count
    assert t == v.GoTime(2024, 5, 6, 7, 8, 9, 123456, UTC, nanosecond=789)
    assert "nanosecond=789" in repr(t)
    assert copy.copy(t).nanosecond == 789 and pickle.loads(pickle.dumps(t)).nanosecond == 789
    assert type(v.time_from_pb(v.time_to_pb(t.replace(microsecond=1)))) is datetime
    with pytest.raises(ValueError, match=r"0\.\.999"):
        v.GoTime(2024, 1, 1, nanosecond=1000)


@pytest.mark.parametrize("depth", [0, 1, 49, 50, 99, 100, 1000, 10_000])
def test_deep_values_cross_flat(depth: int) -> None:
    nested_list: Any = "leaf"
    nested_map: Any = v.GoInt(7)
    for i in range(depth):
        nested_list = [nested_list, i]
        nested_map = {"k": nested_map, "s": "x"}
    for value in (nested_list, nested_map):
        m = wire(value)  # serializing and parsing: no protobuf recursion limit applies
        assert len(m.nodes) == (2 * depth + 1 if depth else 0)
        back = v.from_pb(m)
        # Walk down without recursion (== on 10,000 levels would hit Python's limit).
        a, b = value, back
        for _ in range(depth):
            assert type(a) is type(b) and len(a) == len(b)
            if isinstance(a, list):
                assert a[1] == b[1]
                a, b = a[0], b[0]
            else:
                assert a["s"] == b["s"]
                a, b = a["k"], b["k"]
        assert a == b and type(a) is type(b)


def test_nested_form_is_still_read() -> None:
    nested = pb.Value(
        list_value=pb.ValueList(
            values=[pb.Value(map_value=pb.ValueMap(values={"a": pb.Value(int_value=1)}))]
        )
    )
    assert v.from_pb(nested) == [{"a": 1}]
    assert type(v.from_pb(nested)[0]["a"]) is v.GoInt


def test_malformed_flat_values_are_errors() -> None:
    with pytest.raises(ValueError, match="truncated"):
        v.from_pb(pb.Value(nodes=[pb.ValueNode(list_len=2), pb.ValueNode(bool_value=True)]))
    with pytest.raises(ValueError, match="truncated"):
        v.from_pb(
            pb.Value(
                nodes=[
                    pb.ValueNode(map_len=2),
                    pb.ValueNode(list_len=1),
                    pb.ValueNode(int64_value=1),
                ]
            )
        )
    with pytest.raises(ValueError, match="after its root"):
        v.from_pb(pb.Value(nodes=[pb.ValueNode(list_len=0), pb.ValueNode(bool_value=True)]))


def test_unsupported_values_are_named() -> None:
    with pytest.raises(TypeError, match=r"cannot send a builtins\.set"):
        v.to_pb({1, 2})
    with pytest.raises(TypeError, match=r"cannot send a .*Post as a Go `any`"):
        v.to_pb(md.Post())  # Post is not in Mattermost's gob registry
    with pytest.raises(TypeError, match="str keys"):
        v.to_pb({1: "a"})
    with pytest.raises(OverflowError):
        v.to_pb(1 << 64)
    with pytest.raises(ValueError, match="unknown TypedValue type"):
        v.from_pb(pb.Value(typed_value=pb.TypedValue(type="*model.Nope")))


def test_times() -> None:
    assert v.time_from_pb(v.time_to_pb(v.GO_ZERO_TIME)) == v.GO_ZERO_TIME
    assert v.time_to_pb(v.GO_ZERO_TIME).seconds == -62135596800  # Go's time.Time{}.Unix()
    t = datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    ts = v.time_to_pb(t)
    assert (ts.seconds, ts.nanos) == (-1, 999999000)
    assert v.time_from_pb(ts) == t
    naive = datetime(2020, 1, 1)  # taken as UTC
    assert v.time_from_pb(v.time_to_pb(naive)) == naive.replace(tzinfo=UTC)
    plus2 = timezone(timedelta(hours=2))
    assert v.time_from_pb(v.time_to_pb(datetime(2020, 1, 1, 2, tzinfo=plus2))) == datetime(
        2020, 1, 1, tzinfo=UTC
    )


def test_key_values_are_lenient() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque!"

    out = v.key_values_to_pb({"user": "u1", "n": 3, "obj": Opaque()})
    assert [v.from_pb(x) for x in out] == ["user", "u1", "n", 3, "obj", "opaque!"]


def test_config_from_json() -> None:
    assert v.config_from_json(b"") == {}
    assert v.config_from_json(b"null") == {}
    assert v.config_from_json(b'{"A": 1}') == {"A": 1}
    with pytest.raises(ValueError, match="not an object"):
        v.config_from_json(b"[1]")


def test_json_keeps_go_time_nanoseconds() -> None:
    from mmplugin import _jsoncodec

    t = v.GoTime(2024, 1, 2, 3, 4, 5, 0, UTC, nanosecond=7)
    text = _jsoncodec.to_jsonable(t)
    assert text == "2024-01-02T03:04:05.000000007+00:00"  # RFC 3339 with nanoseconds, as Go
    assert _jsoncodec.decode_as(text, datetime) == t
    assert _jsoncodec.decode_as("2024-01-02T03:04:05.123456789Z", datetime).nanosecond == 789
    plain: datetime = _jsoncodec.decode_as("2024-01-02T03:04:05.5Z", datetime)
    assert type(plain) is datetime and plain.microsecond == 500000
