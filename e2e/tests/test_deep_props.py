"""User-controlled post props of any nesting depth and size reach a Python plugin's hook intact.

Issue 12 (security): props nested 50+ levels used to exceed protobuf's recursion limit on the
Python side, the hook call failed, and the server stored the post unchanged — a word the plugin
forbids got through. `any` values now cross flat (docs/protocol.md, Dynamic values).

Everything is checked on the wire: the requests are raw JSON bytes, and the props the server
stores are compared byte for byte with what Go's encoding/json writes for them (sorted keys, no
spaces), found in the raw REST responses (Python's json module cannot parse 10,000 levels).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from mmtest.api import JSON, MattermostAPI

from .test_python_plugin import host_binary, member, py_bundle, py_plugin

__all__ = ["host_binary", "member", "py_bundle", "py_plugin"]  # fixtures used below

# The depths from the issue; JSON adds two levels (the body and "props") above the prop, and
# the server's encoding/json refuses documents nested deeper than 10,000 levels, so 9,998 is the
# deepest prop a client can post (the last case; test_server_limits checks that bound).
DEPTHS = [0, 1, 49, 50, 99, 100, 1000, 9998]
JSON_MAX_DEPTH = 10_000
LEAF = '"leaf ü 🎉"'
REJECT_REASON = "the e2e Python plugin rejects posts containing pyforbidden"
MAX_MESSAGE_RUNES = 16_383  # model.PostMessageMaxRunesV2, the server's MaxPostSize
MAX_PROPS_RUNES = 800_000  # model.PostPropsMaxRunes: runes of the props' JSON
DEFAULT_MAX_PAYLOAD = 300_000  # ServiceSettings.MaximumPayloadSizeBytes' default
# The server reads at most MaximumPayloadSizeBytes + bytes.MinRead (512) of a request body.
DEFAULT_MAX_BODY = DEFAULT_MAX_PAYLOAD + 512
RAISED_MAX_PAYLOAD = 4_000_000


def nested(kind: str, depth: int) -> str:
    """A prop value nested `depth` levels, as Go's json.Marshal writes it (keys sorted)."""
    text = LEAF if kind == "list" else "1.5"
    for i in range(depth):
        text = f"[{text},{i}]" if kind == "list" else f'{{"k":{text},"n":{i}}}'
    return text


def post_body(channel_id: str, message: str, props: str) -> bytes:
    return (
        f'{{"channel_id":{json.dumps(channel_id)},"message":{json.dumps(message)},"props":{props}}}'
    ).encode()


# Go's gob (Mattermost's plugin RPC, for Go plugins and mmplugin-host alike) encodes nested
# `any` values in time quadratic in the depth: a 9,998-level prop costs it seconds per hook call
# (mmplugin's own protobuf conversion: ~60 ms), so requests get more than the default 30 s.
SLOW = httpx.Timeout(180.0)


def create(api: MattermostAPI, body: bytes) -> httpx.Response:
    return api.http.post(
        "/api/v4/posts", content=body, headers={"Content-Type": "application/json"}, timeout=SLOW
    )


def get(api: MattermostAPI, path: str, **kwargs: Any) -> httpx.Response:
    return api.http.get(path, timeout=SLOW, **kwargs)


def post_id(raw: str) -> str:
    """The id of the post a /posts response holds (its first field, as Go writes structs)."""
    match = re.match(r'\{"id":"([a-z0-9]{26})"', raw)
    assert match, raw[:200]
    return match.group(1)


def _deep_case(
    api: MattermostAPI, channel_id: str, kind: str, depth: int, twin: tuple[str, str, str, str]
) -> None:
    forbidden, reason, rewrite, rewritten_word = twin
    deep = nested(kind, depth)
    marker = f"{forbidden}-{kind}-{depth}"
    rejected = create(api, post_body(channel_id, marker, f'{{"deep":{deep}}}'))
    assert rejected.status_code == 400, rejected.text[:500]
    assert reason in rejected.text
    recent = get(api, f"/api/v4/channels/{channel_id}/posts", params={"per_page": 200})
    assert recent.status_code == 200
    assert marker not in recent.text

    rewritten = create(
        api, post_body(channel_id, f"{rewrite} {kind} {depth}", f'{{"deep":{deep}}}')
    )
    assert rewritten.status_code == 201, rewritten.text[:500]
    stored = get(api, f"/api/v4/posts/{post_id(rewritten.text)}")
    assert stored.status_code == 200
    for raw in (rewritten.text, stored.text):
        assert f'"message":"{rewritten_word} {kind} {depth}"' in raw
        assert f'"props":{{"deep":{deep}}}' in raw  # byte for byte


PY_TWIN = ("pyforbidden", REJECT_REASON, "pyrewrite", "rewritten-by-python")
GO_TWIN = (
    "goforbidden",
    "the e2e Go plugin rejects posts containing goforbidden",
    "gorewrite",
    "rewritten-by-go",
)


# Gob's quadratic time makes the deepest case take minutes on a loaded 2-core machine: it gets
# more than pytest's default timeout (a timeout's report of these values is itself slow).
DEEPEST = pytest.param(DEPTHS[-1], marks=pytest.mark.timeout(900))


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", [*DEPTHS[:-1], DEEPEST])
def test_deep_props_cannot_smuggle_a_forbidden_word(
    py_plugin: JSON, member: tuple[str, MattermostAPI], channel: JSON, kind: str, depth: int
) -> None:
    _deep_case(member[1], channel["id"], kind, depth, PY_TWIN)


@pytest.mark.parametrize("kind", ["list", "object"])
@pytest.mark.parametrize("depth", [50, 1000])
def test_go_twin_sees_the_same(
    go_plugin: JSON, member: tuple[str, MattermostAPI], channel: JSON, kind: str, depth: int
) -> None:
    """The Go e2e plugin (e2e/goplugin) does the same filtering on the same server (not at
    9,998 levels, where gob, both ways, costs minutes and shows nothing of mmplugin's)."""
    _deep_case(member[1], channel["id"], kind, depth, GO_TWIN)


def _props_of_size(
    deep: str,
    *,
    runes: int | None = None,
    body_bytes: int | None = None,
    channel_id: str = "",
    message: str = "",
) -> str:
    """Props {"big": <emoji string>, "deep": deep} whose JSON has exactly `runes` runes, or
    whose post body is exactly `body_bytes` bytes (🎉 is 4 bytes; ASCII pads the rest)."""
    empty = f'{{"big":"","deep":{deep}}}'
    if runes is not None:
        return f'{{"big":"{"🎉" * (runes - len(empty))}","deep":{deep}}}'
    assert body_bytes is not None
    room = body_bytes - len(post_body(channel_id, message, empty))
    emoji, pad = divmod(room, 4)
    return f'{{"big":"{"🎉" * emoji}{"x" * pad}","deep":{deep}}}'


def _reject_and_rewrite_intact(
    api: MattermostAPI, channel_id: str, props: str, fill: str = "x"
) -> None:
    """The longest message (16,383 runes) with the forbidden word is rejected; the longest one
    the rewrite allows comes back rewritten, its props byte for byte as sent."""
    forbidden = "pyforbidden " + "x" * (MAX_MESSAGE_RUNES - len("pyforbidden "))
    rejected = create(api, post_body(channel_id, forbidden, props))
    assert rejected.status_code == 400, rejected.text[:500]
    assert REJECT_REASON in rejected.text

    # The rewrite lengthens the message by 10 runes; the result is the longest message allowed.
    grow = len("rewritten-by-python") - len("pyrewrite")
    message = "pyrewrite " + fill * (MAX_MESSAGE_RUNES - grow - len("pyrewrite "))
    rewritten = create(api, post_body(channel_id, message, props))
    assert rewritten.status_code == 201, rewritten.text[:500]
    stored = get(api, f"/api/v4/posts/{post_id(rewritten.text)}")
    expected_message = message.replace("pyrewrite", "rewritten-by-python")
    assert len(expected_message) == MAX_MESSAGE_RUNES
    for raw in (rewritten.text, stored.text):
        assert f'"message":"{expected_message}"' in raw
        assert f'"props":{props}' in raw


def test_largest_request_crosses_intact(
    py_plugin: JSON, member: tuple[str, MattermostAPI], channel: JSON
) -> None:
    """With the default configuration: a post body of exactly the size the server reads."""
    _, api = member
    longest = "pyforbidden " + "x" * (MAX_MESSAGE_RUNES - len("pyforbidden "))
    props = _props_of_size(
        nested("list", 1000), body_bytes=DEFAULT_MAX_BODY, channel_id=channel["id"],
        message=longest,
    )  # fmt: skip
    assert len(post_body(channel["id"], longest, props)) == DEFAULT_MAX_BODY
    _reject_and_rewrite_intact(api, channel["id"], props)


@pytest.fixture
def large_payloads(admin_api: MattermostAPI) -> Iterator[None]:
    """MaximumPayloadSizeBytes raised so that the props limit (800,000 runes) is what binds."""
    patch = {"ServiceSettings": {"MaximumPayloadSizeBytes": RAISED_MAX_PAYLOAD}}
    assert admin_api.call("PUT", "/config/patch", json=patch).status_code == 200
    yield
    patch = {"ServiceSettings": {"MaximumPayloadSizeBytes": DEFAULT_MAX_PAYLOAD}}
    assert admin_api.call("PUT", "/config/patch", json=patch).status_code == 200


def test_largest_props_cross_intact(
    py_plugin: JSON, member: tuple[str, MattermostAPI], channel: JSON, large_payloads: None
) -> None:
    """Props JSON of exactly 800,000 runes (3.2 MB, model.PostPropsMaxRunes) with a deep list."""
    _, api = member
    props = _props_of_size(nested("list", 1000), runes=MAX_PROPS_RUNES)
    assert len(props) == MAX_PROPS_RUNES
    _reject_and_rewrite_intact(api, channel["id"], props, fill="é")


def test_server_limits(member: tuple[str, MattermostAPI], channel: JSON) -> None:
    """The bounds the cases above use are the server's own (no plugin involved): one more level
    or one more byte of request is refused."""
    _, api = member
    deeper = nested("list", JSON_MAX_DEPTH - 1)
    too_deep = create(api, post_body(channel["id"], "too deep", f'{{"deep":{deeper}}}'))
    assert too_deep.status_code == 400, too_deep.text[:300]
    props = _props_of_size(
        "0", body_bytes=DEFAULT_MAX_BODY + 1, channel_id=channel["id"], message="x"
    )
    too_big = create(api, post_body(channel["id"], "x", props))
    assert too_big.status_code == 413, too_big.text[:300]


def test_props_rune_limit(
    member: tuple[str, MattermostAPI], channel: JSON, large_payloads: None
) -> None:
    """With large requests allowed, one rune of props beyond model.PostPropsMaxRunes is refused."""
    _, api = member
    props = _props_of_size("0", runes=MAX_PROPS_RUNES + 1)
    too_many_runes = create(api, post_body(channel["id"], "too many runes", props))
    assert too_many_runes.status_code == 400, too_many_runes.text[:300]
