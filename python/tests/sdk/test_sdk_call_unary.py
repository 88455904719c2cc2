"""HooksServicer.call_unary: the calls socket's path into the plugin's hooks, on the calling
thread, with the same results and failures as the grpc.aio servicer."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from mmplugin import AppError, Context, Post, Reject
from mmplugin._gen import convert as c
from mmplugin._gen.hooks import UNARY_HOOKS, HooksServicer
from mmplugin._runtime.calls import CallError
from mmplugin.v1 import hooks_pb2


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def answered(data: bytes | concurrent.futures.Future[bytes]) -> bytes:
    assert isinstance(data, bytes), "a plain def hook is answered on the calling thread"
    return data


def posted(message: str) -> bytes:
    req = hooks_pb2.MessageWillBePostedRequest(post=c.post_to_pb(Post(message=message)))
    return req.SerializeToString()


def test_a_plain_handler_runs_on_the_calling_thread(loop: asyncio.AbstractEventLoop) -> None:
    threads: list[threading.Thread] = []

    def message_will_be_posted(ctx: Context, post: Post) -> Post | Reject | None:
        threads.append(threading.current_thread())
        if post.message == "no":
            return Reject("not allowed")
        post.message = post.message.upper()
        return post

    servicer = HooksServicer({"MessageWillBePosted": message_will_be_posted})
    hook = UNARY_HOOKS["MessageWillBePosted"]
    out = hooks_pb2.MessageWillBePostedResponse.FromString(
        answered(servicer.call_unary(hook, posted("hi"), loop))
    )
    assert out.result_1.message == "HI"
    assert threads == [threading.current_thread()]
    out = hooks_pb2.MessageWillBePostedResponse.FromString(
        answered(servicer.call_unary(hook, posted("no"), loop))
    )
    assert out.result_2 == "not allowed"
    assert not out.HasField("result_1")


def test_an_async_handler_runs_on_the_loop(loop: asyncio.AbstractEventLoop) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def message_will_be_posted(ctx: Context, post: Post) -> Post | None:
        seen.append(asyncio.get_running_loop())
        post.message += "!"
        return post

    servicer = HooksServicer({"MessageWillBePosted": message_will_be_posted})
    pending = servicer.call_unary(UNARY_HOOKS["MessageWillBePosted"], posted("hi"), loop)
    # The reading thread is not kept waiting: it gets a future the loop completes.
    assert isinstance(pending, concurrent.futures.Future)
    out = hooks_pb2.MessageWillBePostedResponse.FromString(pending.result(5))
    assert out.result_1.message == "hi!"
    assert seen == [loop]

    async def failing(ctx: Context, post: Post) -> Post | None:
        raise ValueError("async boom")

    servicer = HooksServicer({"MessageWillBePosted": failing})
    pending = servicer.call_unary(UNARY_HOOKS["MessageWillBePosted"], posted("hi"), loop)
    assert isinstance(pending, concurrent.futures.Future)
    with pytest.raises(CallError) as info:
        pending.result(5)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert "raised ValueError: async boom" in info.value.details()


def test_failures_match_the_grpc_servicer(loop: asyncio.AbstractEventLoop) -> None:
    def message_will_be_posted(ctx: Context, post: Post) -> Any:
        if post.message == "raise":
            raise ValueError("bad post")
        return 42  # the wrong type

    def on_activate() -> None:
        raise AppError("cannot start", status_code=500)

    servicer = HooksServicer(
        {"MessageWillBePosted": message_will_be_posted, "OnActivate": on_activate}
    )
    with pytest.raises(CallError) as info:
        servicer.call_unary(UNARY_HOOKS["MessageWillBePosted"], posted("raise"), loop)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert "raised ValueError: bad post" in info.value.details()

    with pytest.raises(CallError) as info:
        servicer.call_unary(UNARY_HOOKS["MessageWillBePosted"], posted("x"), loop)
    assert info.value.code() is grpc.StatusCode.UNKNOWN
    assert "message_will_be_posted" in info.value.details()

    # A hook with an error result carries the exception in its response instead.
    out = hooks_pb2.OnActivateResponse.FromString(
        answered(
            servicer.call_unary(
                UNARY_HOOKS["OnActivate"], hooks_pb2.OnActivateRequest().SerializeToString(), loop
            )
        )
    )
    assert out.HasField("error")
    assert "cannot start" in out.error.message

    with pytest.raises(CallError) as info:
        servicer.call_unary(UNARY_HOOKS["MessageHasBeenPosted"], posted("x"), loop)
    assert info.value.code() is grpc.StatusCode.UNIMPLEMENTED
    assert "message_has_been_posted" in info.value.details()
