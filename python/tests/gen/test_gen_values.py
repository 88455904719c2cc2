"""Go `any` values (the Value message) ⇄ Python data, times, logging key/values, config JSON."""

from __future__ import annotations

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
        ([1, "a"], "list_value"),
        ((1, "a"), "list_value"),
        ({"a": 1}, "map_value"),
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
    assert m.WhichOneof("kind") == kind
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


def test_typed_nil_reads_as_none() -> None:
    for m in (
        pb.Value(list_value=pb.ValueList(), is_nil=True),
        pb.Value(map_value=pb.ValueMap(), is_nil=True),
        pb.Value(bytes_value=b"", is_nil=True),
        pb.Value(typed_value=pb.TypedValue(type="*model.PreviewPost"), is_nil=True),
    ):
        assert v.from_pb(m) is None


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
