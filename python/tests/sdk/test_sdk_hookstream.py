"""HookStreamService over a real grpc.aio server: the unary hooks carried on one stream, answered
by the same generated servicer (and so with the same conversions and failure statuses)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from grpc import aio

from mmplugin import Reject, _dispatch
from mmplugin._gen import convert as c
from mmplugin._gen.hooks import HOOKS, HooksServicer
from mmplugin._hookstream import HookStream
from mmplugin.models import Context, Post
from mmplugin.v1 import hooks_pb2 as h
from mmplugin.v1 import models_pb2 as m
from mmplugin.v1 import runtime_pb2 as r
from mmplugin.v1 import runtime_pb2_grpc as rg


class Sample:
    def __init__(self) -> None:
        self.release = threading.Event()

    def message_will_be_posted(self, ctx: Context, post: Post) -> Any:
        if post.message == "slow":
            self.release.wait(10)
        if post.message == "reject":
            return Reject("not here")
        if post.message == "boom":
            raise ValueError("boom")
        post.message = post.message.upper()
        return post

    async def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        pass


@pytest.fixture
def sock_path() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="mmhs", dir="/tmp")  # short enough for sun_path
    try:
        yield f"{d}/s.sock"
    finally:
        shutil.rmtree(d, ignore_errors=True)


@asynccontextmanager
async def stream(plugin: Sample, sock_path: str) -> AsyncIterator[Any]:
    servicer = HooksServicer(_dispatch.discover_handlers(plugin, HOOKS))
    server = aio.server()
    rg.add_HookStreamServiceServicer_to_server(HookStream(servicer), server)
    assert server.add_insecure_port(f"unix:{sock_path}")
    await server.start()
    channel = aio.insecure_channel(f"unix:{sock_path}")
    try:
        yield rg.HookStreamServiceStub(channel).HookCalls()
    finally:
        plugin.release.set()
        await channel.close()
        await server.stop(None)
        servicer.close()


def call(id: int, message: str, method: str = "MessageWillBePosted") -> r.HookCallsRequest:
    req = h.MessageWillBePostedRequest(
        context=m.PluginContext(request_id="r1"),
        post=c.post_to_pb(Post(id=f"p{id}", channel_id="c1", message=message)),
    )
    return r.HookCallsRequest(id=id, method=method, request=req.SerializeToString())


def code(status: grpc.StatusCode) -> int:
    value: tuple[int, str] = status.value
    return value[0]


async def test_replies_match_calls_by_id_and_out_of_order(sock_path: str) -> None:
    plugin = Sample()
    async with stream(plugin, sock_path) as hook_calls:
        await hook_calls.write(call(1, "slow"))
        await hook_calls.write(call(2, "hello"))
        first = await hook_calls.read()
        assert first.id == 2 and first.code == 0  # the slow call does not hold the fast one
        answer = h.MessageWillBePostedResponse.FromString(first.response)
        assert answer.result_1.message == "HELLO"
        plugin.release.set()
        second = await hook_calls.read()
        assert second.id == 1 and second.code == 0


async def test_failures_are_the_unary_statuses(
    sock_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with stream(Sample(), sock_path) as hook_calls:
        await hook_calls.write(call(1, "boom"))
        failed = await hook_calls.read()
        assert failed.id == 1 and failed.code == code(grpc.StatusCode.UNKNOWN)
        assert "boom" in failed.message and not failed.response
        await hook_calls.write(call(2, "x", method="OnActivate"))  # not implemented
        missing = await hook_calls.read()
        assert missing.code == code(grpc.StatusCode.UNIMPLEMENTED)
        assert "on_activate" in missing.message
        await hook_calls.write(call(3, "x", method="ServeHTTP"))  # streaming: not on the stream
        wrong = await hook_calls.read()
        assert wrong.code == code(grpc.StatusCode.UNIMPLEMENTED)
        await hook_calls.write(call(4, "reject"))
        rejected = h.MessageWillBePostedResponse.FromString((await hook_calls.read()).response)
        assert rejected.result_2 == "not here"


async def test_half_close_answers_calls_in_flight_then_ends(sock_path: str) -> None:
    plugin = Sample()
    async with stream(plugin, sock_path) as hook_calls:
        await hook_calls.write(call(1, "slow"))
        await hook_calls.done_writing()
        await asyncio.sleep(0.05)
        plugin.release.set()
        reply = await hook_calls.read()
        assert reply.id == 1 and reply.code == 0
        assert await hook_calls.read() is aio.EOF
        assert await hook_calls.code() == grpc.StatusCode.OK
