"""Every generated model type round-trips Python → protobuf bytes → Python unchanged."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest

from mmplugin._gen import convert as c
from mmplugin._gen import models as md
from mmplugin.models import Context, PluginContext

from .filler import Filler

MODES = ("nil", "empty", "random")
SEEDS_PER_MODE = 4


def roundtrip(codec: c.ModelCodec, value: Any) -> Any:
    data = codec.to_pb(value).SerializeToString()
    return codec.from_pb(codec.message.FromString(data))


@pytest.mark.parametrize("codec", c.MODELS, ids=lambda codec: codec.name)
def test_every_model_round_trips(codec: c.ModelCodec) -> None:
    descriptor = codec.message.DESCRIPTOR
    cases = 0
    for mode in MODES:
        for seed in range(SEEDS_PER_MODE):
            filler = Filler(seed=hash((codec.name, mode, seed)) & 0xFFFF, mode=mode)
            value = filler.instance(codec.model, descriptor)
            assert roundtrip(codec, value) == value, f"{codec.name} mode={mode} seed={seed}"
            cases += 1
    # The zero value (Go's zero struct) too.
    assert roundtrip(codec, codec.model()) == codec.model()
    assert cases == len(MODES) * SEEDS_PER_MODE


def test_every_message_has_a_codec() -> None:
    names = {codec.name for codec in c.MODELS}
    classes = {n for n in md.__all__ if dataclasses.is_dataclass(getattr(md, n))}
    assert names == classes
    assert len(names) > 200


def test_nil_and_empty_stay_different() -> None:
    for file_ids in (None, [], ["f1"]):
        for props in (None, {}, {"a": 1}):
            post = md.Post(channel_id="c", message="hi", file_ids=file_ids, props=props)
            back = c.post_from_pb(md_post_wire(post))
            assert back.file_ids == file_ids and type(back.file_ids) is type(file_ids)
            assert back.props == props and type(back.props) is type(props)


def md_post_wire(post: md.Post) -> Any:
    return type(c.post_to_pb(post)).FromString(c.post_to_pb(post).SerializeToString())


def test_pointer_scalars_keep_unset_apart_from_zero() -> None:
    for value in (None, False, True):
        s = md.BotPatch(username=None, display_name="", description=None)
        assert c.bot_patch_from_pb(c.bot_patch_to_pb(s)) == s
        p = md.Post(is_following=value)
        assert c.post_from_pb(c.post_to_pb(p)).is_following is value


def test_defaults_are_go_zero_values() -> None:
    post = md.Post(channel_id="c", message="hi")
    assert post.id == "" and post.create_at == 0 and post.is_pinned is False
    assert post.props is None and post.metadata is None and post.remote_id is None
    cfg = md.Config()
    assert isinstance(cfg.service_settings, md.ServiceSettings)  # nested value structs
    assert cfg.service_settings.site_url is None
    # The proto encoding of a zero value is empty except for always-present values.
    assert c.post_to_pb(md.Post()).ByteSize() == 0


def test_context_alias() -> None:
    assert Context is PluginContext
    ctx = Context(session_id="s", request_id="r")
    assert c.plugin_context_from_pb(c.plugin_context_to_pb(ctx)) == ctx


def test_annotations_resolve() -> None:
    # Every annotation names something importable: the dataclasses are usable with
    # typing.get_type_hints (pydantic, cattrs, dataclass-based serializers do this).
    for name in md.__all__:
        typing.get_type_hints(getattr(md, name), vars(md))
