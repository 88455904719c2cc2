"""The runtime's gRPC server, in process: secret enforcement, health, Handshake, Shutdown."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import socket
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from mmplugin._runtime import auth
from mmplugin._runtime.bootstrap import Bootstrap
from mmplugin._runtime.server import serve
from mmplugin._runtime.service import SDK_NAME, StopRequest, choose_protocol
from mmplugin.v1 import runtime_pb2, runtime_pb2_grpc

SECRET = "test-secret-0123456789"


@pytest.fixture
def sockdir() -> Iterator[Path]:
    # Short path: unix socket paths are limited to ~104 bytes.
    with tempfile.TemporaryDirectory(prefix="rt") as d:
        yield Path(d)


def _bootstrap(d: Path) -> Bootstrap:
    return Bootstrap(
        plugin_id="p",
        plugin_dir=str(d),
        entry_point="p:P",
        socket_dir=str(d),
        plugin_socket=str(d / "plugin.sock"),
        api_socket=str(d / "api.sock"),
        secret=SECRET,
    )


async def _echo(request: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
    return request


async def _slow(request: bytes, context: aio.ServicerContext[bytes, bytes]) -> bytes:
    await asyncio.sleep(0.3)
    return b"finished"


async def _count(
    request: bytes, context: aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    for i in range(3):
        yield bytes([i])


async def _join(
    requests: AsyncIterator[bytes], context: aio.ServicerContext[bytes, bytes]
) -> bytes:
    return b"".join([m async for m in requests])


async def _pipe(
    requests: AsyncIterator[bytes], context: aio.ServicerContext[bytes, bytes]
) -> AsyncIterator[bytes]:
    async for m in requests:
        yield m.upper()


def _register(server: aio.Server) -> None:
    handler = grpc.method_handlers_generic_handler(
        "t.Test",
        {
            "Echo": grpc.unary_unary_rpc_method_handler(_echo),
            "Slow": grpc.unary_unary_rpc_method_handler(_slow),
            "Count": grpc.unary_stream_rpc_method_handler(_count),
            "Join": grpc.stream_unary_rpc_method_handler(_join),
            "Pipe": grpc.stream_stream_rpc_method_handler(_pipe),
        },
    )
    server.add_generic_rpc_handlers((handler,))


def _ident(b: bytes) -> bytes:
    return b


def _uu(ch: aio.Channel, method: str) -> aio.UnaryUnaryMultiCallable[bytes, bytes]:
    return ch.unary_unary(method, _ident, _ident)


def _us(ch: aio.Channel, method: str) -> aio.UnaryStreamMultiCallable[bytes, bytes]:
    return ch.unary_stream(method, _ident, _ident)


class Running:
    def __init__(self, d: Path, stop: StopRequest, task: asyncio.Task[StopRequest]) -> None:
        self.dir, self.stop, self.task = d, stop, task
        self.socket = f"unix:{d / 'plugin.sock'}"


@pytest.fixture
async def running(sockdir: Path) -> AsyncIterator[Running]:
    stop = StopRequest()
    out = io.StringIO()
    task = asyncio.ensure_future(
        serve(
            _bootstrap(sockdir),
            [_register],
            lambda: ["OnActivate"],
            stop=stop,
            stdout=out,
            redirect_stdout=False,
        )
    )
    for _ in range(200):
        if out.getvalue():
            break
        await asyncio.sleep(0.01)
    assert out.getvalue() == f"1|1|unix|{sockdir / 'plugin.sock'}|grpc\n"
    yield Running(sockdir, stop, task)
    stop.request(0, "test over")
    await asyncio.wait_for(task, 5)


async def test_calls_without_the_secret_are_refused(running: Running) -> None:
    async with aio.insecure_channel(running.socket) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for metadata in [(), (("mmplugin-secret", "wrong"),), (("other", SECRET),)]:
            with pytest.raises(aio.AioRpcError) as e:
                await health.Check(
                    health_pb2.HealthCheckRequest(service="plugin"), metadata=metadata
                )
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "launch secret" in (e.value.details() or "")
        # Streaming and unknown methods are refused the same way.
        count = _us(ch, "/t.Test/Count")
        with pytest.raises(aio.AioRpcError) as e:
            async for _ in count(b""):
                pass
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        unknown = _uu(ch, "/nope.Nope/Nope")
        with pytest.raises(aio.AioRpcError) as e:
            await unknown(b"")
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_with_the_secret_everything_answers(running: Running) -> None:
    interceptors = auth.client_secret_interceptors(SECRET)
    async with aio.insecure_channel(running.socket, interceptors=interceptors) as ch:
        resp = await health_pb2_grpc.HealthStub(ch).Check(
            health_pb2.HealthCheckRequest(service="plugin")
        )
        assert resp.status == health_pb2.HealthCheckResponse.SERVING
        assert await _uu(ch, "/t.Test/Echo")(b"abc") == b"abc"
        got = [m async for m in _us(ch, "/t.Test/Count")(b"")]
        assert got == [b"\x00", b"\x01", b"\x02"]

        runtime = runtime_pb2_grpc.RuntimeServiceStub(ch)
        hs = await runtime.Handshake(
            runtime_pb2.HandshakeRequest(protocol_versions=[1, 7], plugin_id="p")
        )
        assert hs.protocol_version == 1
        assert hs.sdk == SDK_NAME
        assert list(hs.implemented_hooks) == ["OnActivate"]
        assert hs.runtime_version.split(" ")[0] in {"CPython", "PyPy"}

        with pytest.raises(aio.AioRpcError) as e:
            await runtime.Handshake(runtime_pb2.HandshakeRequest(protocol_versions=[2]))
        assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "install matching versions" in (e.value.details() or "")


async def test_shutdown_waits_for_calls_in_flight(running: Running) -> None:
    interceptors = auth.client_secret_interceptors(SECRET)
    async with aio.insecure_channel(running.socket, interceptors=interceptors) as ch:
        slow = asyncio.ensure_future(_uu(ch, "/t.Test/Slow")(b""))
        await asyncio.sleep(0.05)  # the slow call is in flight
        runtime = runtime_pb2_grpc.RuntimeServiceStub(ch)
        await runtime.Shutdown(runtime_pb2.ShutdownRequest(grace_period_ms=2000))
        assert running.stop.is_set()
        assert await slow == b"finished"  # finished within the grace period
        assert running.stop.grace == 2.0
        stopped = await asyncio.wait_for(running.task, 5)
        assert stopped.reason == "the host asked the plugin to stop"
        with pytest.raises(aio.AioRpcError) as e:
            await runtime.Handshake(runtime_pb2.HandshakeRequest(protocol_versions=[1]), timeout=2)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_api_channel_adds_the_secret(sockdir: Path) -> None:
    """A fake host API server that accepts only the secret; api_channel() gets through."""
    server = aio.server(interceptors=[auth.ServerSecretInterceptor(SECRET)])
    _register(server)
    path = str(sockdir / "api.sock")
    assert server.add_insecure_port(f"unix:{path}")
    await server.start()
    try:
        ch = auth.api_channel(path, SECRET)
        assert await _uu(ch, "/t.Test/Echo")(b"hi", metadata=(("x-other", "1"),)) == b"hi"
        assert [m async for m in _us(ch, "/t.Test/Count")(b"")] == [
            b"\x00",
            b"\x01",
            b"\x02",
        ]
        assert await ch.stream_unary("/t.Test/Join", _ident, _ident)(iter([b"a", b"b"])) == b"ab"
        piped = [
            m async for m in ch.stream_stream("/t.Test/Pipe", _ident, _ident)(iter([b"x", b"y"]))
        ]
        assert piped == [b"X", b"Y"]
        await ch.close()
        async with aio.insecure_channel(f"unix:{path}") as bare:
            with pytest.raises(aio.AioRpcError) as e:
                await _uu(bare, "/t.Test/Echo")(b"hi")
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
            # Explicit metadata works too (for clients that skip the interceptor).
            echo = _uu(bare, "/t.Test/Echo")
            assert await echo(b"ok", metadata=auth.secret_metadata(SECRET)) == b"ok"
    finally:
        await server.stop(None)


def test_protocol_choice() -> None:
    assert choose_protocol([1]) == 1
    assert choose_protocol([0, 1, 2]) == 1
    assert choose_protocol([2, 3]) is None


async def test_hooks_connection_opens_before_the_handshake_line(sockdir: Path) -> None:
    """With a calls socket and call_hook, the hooks connection is dialled (with the secret)
    before the handshake line, Handshake says framed_hooks, and hook calls are answered on it."""
    calls = sockdir / "calls.sock"
    lis = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lis.bind(str(calls))
    lis.listen(1)
    lis.setblocking(False)
    loop = asyncio.get_running_loop()
    accepted = asyncio.ensure_future(loop.sock_accept(lis))
    stop = StopRequest()
    out = io.StringIO()
    bootstrap = dataclasses.replace(_bootstrap(sockdir), calls_socket=str(calls))
    task = asyncio.ensure_future(
        serve(
            bootstrap,
            [],
            lambda: ["OnActivate"],
            stop=stop,
            stdout=out,
            redirect_stdout=False,
            call_hook=lambda method, request: method.encode() + b"<" + request,
        )
    )
    try:
        conn, _ = await asyncio.wait_for(accepted, 5)
        conn.setblocking(True)
        await asyncio.to_thread(_hooks_host_side, conn)
        for _ in range(200):
            if out.getvalue():
                break
            await asyncio.sleep(0.01)
        assert out.getvalue().endswith("|grpc\n")
        interceptors = auth.client_secret_interceptors(SECRET)
        sock = f"unix:{sockdir / 'plugin.sock'}"
        async with aio.insecure_channel(sock, interceptors=interceptors) as ch:
            hs = await runtime_pb2_grpc.RuntimeServiceStub(ch).Handshake(
                runtime_pb2.HandshakeRequest(protocol_versions=[1])
            )
        assert hs.framed_hooks
    finally:
        stop.request(0, "test over")
        await asyncio.wait_for(task, 5)
        lis.close()


def _hooks_host_side(conn: socket.socket) -> None:
    def read() -> bytes:
        head = conn.recv(4, socket.MSG_WAITALL)
        return conn.recv(int.from_bytes(head, "big"), socket.MSG_WAITALL)

    hello = runtime_pb2.CallHello.FromString(read())
    assert (hello.secret, hello.role) == (SECRET, runtime_pb2.CallHello.ROLE_HOOKS)
    call = runtime_pb2.CallFrame(id=7, method="/h/Hook", request=b"req").SerializeToString()
    conn.sendall(len(call).to_bytes(4, "big") + call)
    reply = runtime_pb2.ReplyFrame.FromString(read())
    assert (reply.id, reply.code, reply.response) == (7, 0, b"/h/Hook<req")
