"""mmplugin._streams' wire values: any bytes a client sends cross as those bytes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mmplugin.http
from mmplugin import Plugin, _streams
from mmplugin.testing import PluginTestHarness
from mmplugin.v1 import models_pb2 as _m


@given(st.lists(st.tuples(st.sampled_from(["X-Raw", "Accept", "x-raw"]), st.binary()), max_size=6))
def test_header_bytes_round_trip(pairs: list[tuple[str, bytes]]) -> None:
    headers = [(name, value.decode("utf-8", "surrogateescape")) for name, value in pairs]
    wire = _m.HTTPRequestHead(headers=_streams.headers_to_pb(headers))
    back = _m.HTTPRequestHead.FromString(wire.SerializeToString())
    got = _streams.headers_from_pb(back.headers)
    # Grouped by name (first spelling), values in order, bytes unchanged.
    want: dict[str, list[bytes]] = {}
    for name, value in pairs:
        want.setdefault(name.lower(), []).append(value)
    seen: dict[str, list[bytes]] = {}
    for name, text in got:
        seen.setdefault(name.lower(), []).append(_streams.wire_bytes(text))
    assert seen == want


@given(st.binary())
def test_url_bytes_round_trip(raw: bytes) -> None:
    text = raw.decode("utf-8", "surrogateescape")
    s, b = _streams.wire_fields(text)
    head = _m.HTTPRequestHead.FromString(_m.HTTPRequestHead(url=s, raw_url=b).SerializeToString())
    assert _streams.wire_bytes(_streams.wire_str(head.url, head.raw_url)) == raw


def test_a_utf8_value_stays_a_string_field() -> None:
    [h] = _streams.headers_to_pb([("X-Name", "grüße ✓")])
    assert list(h.values) == ["grüße ✓"] and not h.raw_values
    [h] = _streams.headers_to_pb([("X-Raw", b"\xff".decode("utf-8", "surrogateescape"))])
    assert list(h.raw_values) == [b"\xff"] and not h.values


RAW = b"obs-text \xff\xfe"
TEXT = "gr\u00fc\u00dfe \u2713"  # not latin-1: ASGI and WSGI must still get its UTF-8 bytes


async def _asgi_echo(scope: Any, receive: Any, send: Any) -> None:
    headers = dict(scope["headers"])
    body = (headers[b"x-raw"] + b"|" + headers[b"x-text"] + b"|" + scope["query_string"]).hex()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-back", RAW)]})
    await send({"type": "http.response.body", "body": body.encode()})


def _wsgi_echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    def raw(name: str) -> bytes:
        return str(environ[name]).encode("latin-1")  # PEP 3333: bytes as a latin-1 str

    body = (raw("HTTP_X_RAW") + b"|" + raw("HTTP_X_TEXT") + b"|" + raw("QUERY_STRING")).hex()
    start_response("200 OK", [("X-Back", RAW.decode("latin-1"))])
    return [body.encode()]


@pytest.mark.parametrize("app", [mmplugin.http.asgi(_asgi_echo), mmplugin.http.wsgi(_wsgi_echo)])
def test_asgi_and_wsgi_apps_get_the_bytes_the_client_sent(app: Any) -> None:
    class Echo(Plugin):
        serve_http = app

    with PluginTestHarness(Echo) as h:
        result = h.http_get(
            "/echo?q=" + "\u2713",
            headers={"X-Raw": RAW.decode("utf-8", "surrogateescape"), "X-Text": TEXT},
        )
    assert result.status_code == 200
    sent = RAW + b"|" + TEXT.encode() + b"|" + "q=\u2713".encode()
    assert bytes.fromhex(result.body.decode()) == sent
    [back] = [v for k, v in result.headers if k.lower() == "x-back"]
    assert _streams.wire_bytes(back) == RAW
