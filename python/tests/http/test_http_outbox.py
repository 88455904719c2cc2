"""The response outbox of ServeHTTP: plain ``def`` writers do not wait for the event loop to take
each message (only for room), and body chunks already waiting leave as one message."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest

from mmplugin import _streams
from mmplugin.v1 import hooks_pb2, models_pb2


def _body(data: bytes) -> hooks_pb2.ServeHTTPResponse:
    return hooks_pb2.ServeHTTPResponse(body=models_pb2.StreamChunk(data=data))


def _flush() -> hooks_pb2.ServeHTTPResponse:
    return hooks_pb2.ServeHTTPResponse(flush=models_pb2.HTTPFlush())


async def test_waiting_body_chunks_leave_as_one_message_up_to_the_limit() -> None:
    outbox = _streams._Outbox(asyncio.get_running_loop(), maxsize=16)
    for i in range(5):
        await outbox.put(_body(bytes([i]) * 4))
    await outbox.put(_flush())
    await outbox.put(_body(b"after flush"))

    first = await outbox.get()
    merged = outbox.merge_following(first, "body", limit=12)
    assert merged.body.data == b"\x00" * 4 + b"\x01" * 4 + b"\x02" * 4  # the limit stops it
    merged = outbox.merge_following(await outbox.get(), "body", limit=1024)
    assert merged.body.data == b"\x03" * 4 + b"\x04" * 4  # the flush marker stops it
    assert (await outbox.get()).WhichOneof("part") == "flush"
    assert outbox.merge_following(await outbox.get(), "body").body.data == b"after flush"


async def test_a_thread_writer_waits_for_room_not_for_the_loop() -> None:
    loop = asyncio.get_running_loop()
    outbox = _streams._Outbox(loop, maxsize=3)
    put = []
    fourth_started = threading.Event()

    def writer() -> None:
        for i in range(4):
            if i == 3:
                fourth_started.set()
            outbox.put_blocking(_body(bytes([i])))
            put.append(i)

    thread = threading.Thread(target=writer)
    thread.start()
    # The loop takes nothing while the thread writes: three writes complete at once, the
    # fourth waits for room.
    await asyncio.to_thread(fourth_started.wait, 5)
    await asyncio.sleep(0.05)
    assert put == [0, 1, 2]
    got = [(await outbox.get()).body.data for _ in range(4)]
    await asyncio.to_thread(thread.join, 5)
    assert got == [b"\x00", b"\x01", b"\x02", b"\x03"]
    assert put == [0, 1, 2, 3]


async def test_abandon_wakes_a_thread_writer_waiting_for_room() -> None:
    outbox = _streams._Outbox(asyncio.get_running_loop(), maxsize=1)
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            for _ in range(3):
                outbox.put_blocking(_body(b"x"))
        except BaseException as e:
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    await asyncio.sleep(0.05)
    outbox.abandon()
    await asyncio.to_thread(thread.join, 5)
    assert not thread.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], _streams.StreamClosedError)
    with pytest.raises(_streams.StreamClosedError):
        await outbox.put(_body(b"y"))


async def test_a_plain_handler_streams_a_large_body_intact_and_in_order() -> None:
    blocks = [i.to_bytes(4, "big") * (_streams.CHUNK_SIZE // 4) for i in range(64)]

    def handler(ctx: Any, w: _streams.SyncResponseWriter, r: _streams.SyncHTTPRequest) -> None:
        w.start(200, {"Content-Type": "application/octet-stream"})
        for block in blocks:
            w.write(block)

    async def requests() -> AsyncIterator[Any]:
        yield hooks_pb2.ServeHTTPRequest(head=models_pb2.HTTPRequestHead(method="GET", url="/"))
        yield hooks_pb2.ServeHTTPRequest(end=models_pb2.StreamEnd())

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        body = bytearray()
        messages = 0
        async for msg in _streams.serve_http(
            handler,
            False,
            pool,
            requests(),
            hooks_pb2.ServeHTTPResponse,
            lambda ctx: ctx,
            _streams._log,
            "serve_http",
        ):
            if msg.WhichOneof("part") == "body":
                assert len(msg.body.data) <= _streams.MERGE_LIMIT
                body += msg.body.data
                messages += 1
                await asyncio.sleep(0.001)  # a slow consumer: chunks pile up and merge
    assert bytes(body) == b"".join(blocks)
    assert messages < len(blocks)
