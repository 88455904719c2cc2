"""The calls socket (mmplugin._runtime.calls) against a host played by the test over a real unix
socket: API calls from many threads, hook calls answered out of order and re-entrantly, failures."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from mmplugin._runtime.calls import (
    AsyncCallsClient,
    CallError,
    CallsClient,
    HookServer,
    release_hook_reader,
)
from mmplugin.v1 import runtime_pb2 as r

SECRET = "s3cret"


def read_frame(sock: socket.socket) -> bytes | None:
    head = _read_exact(sock, 4)
    if head is None:
        return None
    return _read_exact(sock, int.from_bytes(head, "big"))


def _read_exact(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def write_frame(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(len(payload).to_bytes(4, "big") + payload)


class FakeHost:
    """Listens on a calls socket; ``serve`` runs per accepted connection after its hello."""

    def __init__(self, path: str, serve: Callable[[socket.socket, r.CallHello], None]) -> None:
        self.path = path
        self.hellos: list[r.CallHello] = []
        self.conns: list[socket.socket] = []
        self._serve = serve
        self._lis = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._lis.bind(path)
        self._lis.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._lis.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        data = read_frame(conn)
        if data is None:
            return
        hello = r.CallHello.FromString(data)
        self.hellos.append(hello)
        if hello.secret != SECRET:
            reply = r.ReplyFrame(id=0, code=16, message="missing or wrong mmplugin launch secret")
            write_frame(conn, reply.SerializeToString())
            conn.close()
            return
        # OSError: the test closed the host under a connection still being served.
        with contextlib.suppress(OSError):
            self._serve(conn, hello)

    def close(self) -> None:
        self._lis.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def sock_path() -> Iterator[str]:
    # AF_UNIX paths are short: pytest's tmp_path can exceed the limit.
    with tempfile.TemporaryDirectory(prefix="mmcalls") as d:
        yield str(Path(d) / "calls.sock")


def echo_api(conn: socket.socket, hello: r.CallHello) -> None:
    """The host side of an API connection: echoes the request, fails method "/x/Fail"."""
    while (data := read_frame(conn)) is not None:
        call = r.CallFrame.FromString(data)
        if call.method == "/x/Fail":
            reply = r.ReplyFrame(id=call.id, code=9, message="precondition: no")
        elif call.method == "/x/Slow":
            time.sleep(0.3)
            reply = r.ReplyFrame(id=call.id, response=b"late")
        else:
            reply = r.ReplyFrame(id=call.id, response=call.method.encode() + b":" + call.request)
        write_frame(conn, reply.SerializeToString())


def test_api_calls_round_trip_on_one_connection_per_thread(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = CallsClient(sock_path, SECRET)
    try:
        assert client.call("/svc/A", b"one") == b"/svc/A:one"
        assert client.call("/svc/B", b"two") == b"/svc/B:two"
        results: list[bytes] = []

        def worker(i: int) -> None:
            for j in range(20):
                results.append(client.call("/svc/T", f"{i}-{j}".encode()))

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == sorted(
            f"/svc/T:{i}-{j}".encode() for i in range(4) for j in range(20)
        )
        # The main thread and the four workers each dialled once, as API connections.
        assert len(host.hellos) == 5
        assert {h.role for h in host.hellos} == {r.CallHello.ROLE_API}
        assert {h.secret for h in host.hellos} == {SECRET}
    finally:
        client.close()
        host.close()


def test_api_call_failures_carry_the_hosts_status(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = CallsClient(sock_path, SECRET)
    try:
        with pytest.raises(CallError) as info:
            client.call("/x/Fail", b"")
        assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        assert info.value.details() == "precondition: no"
        assert isinstance(info.value, grpc.RpcError)
        # The connection stays usable after a status answer.
        assert client.call("/svc/A", b"ok") == b"/svc/A:ok"
        assert len(host.hellos) == 1
    finally:
        client.close()
        host.close()


def test_a_wrong_secret_is_refused(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = CallsClient(sock_path, "wrong")
    try:
        with pytest.raises(CallError) as info:
            client.call("/svc/A", b"")
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        assert "secret" in info.value.details()
    finally:
        client.close()
        host.close()


def test_a_timeout_drops_the_connection_and_the_next_call_dials_again(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = CallsClient(sock_path, SECRET)
    try:
        with pytest.raises(CallError) as info:
            client.call("/x/Slow", b"", timeout=0.05)
        assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        # The late reply must not be taken for the next call's answer.
        assert client.call("/svc/A", b"next") == b"/svc/A:next"
        assert len(host.hellos) == 2
    finally:
        client.close()
        host.close()


def test_no_host_and_a_host_that_goes_away_are_unavailable(sock_path: str) -> None:
    with pytest.raises(CallError) as info:
        CallsClient(sock_path, SECRET).call("/svc/A", b"")
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE
    assert sock_path in info.value.details()

    def hang_up(conn: socket.socket, hello: r.CallHello) -> None:
        read_frame(conn)
        conn.close()

    host = FakeHost(sock_path, hang_up)
    client = CallsClient(sock_path, SECRET)
    try:
        with pytest.raises(CallError) as info:
            client.call("/svc/A", b"")
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        client.close()
        host.close()


def test_closed_client_refuses_calls(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = CallsClient(sock_path, SECRET)
    client.call("/svc/A", b"")
    client.close()
    try:
        with pytest.raises(CallError) as info:
            client.call("/svc/A", b"")
        assert info.value.code() is grpc.StatusCode.UNAVAILABLE
    finally:
        host.close()


class HooksHost:
    """The host side of a hooks connection: sends calls, collects replies by id."""

    def __init__(self, sock_path: str) -> None:
        self.ready = threading.Event()
        self.replies: dict[int, r.ReplyFrame] = {}
        self.order: list[int] = []
        self.ended = threading.Event()
        self._cond = threading.Condition()
        self.conn: socket.socket | None = None
        self.host = FakeHost(sock_path, self._serve)

    def _serve(self, conn: socket.socket, hello: r.CallHello) -> None:
        assert hello.role == r.CallHello.ROLE_HOOKS
        self.conn = conn
        self.ready.set()
        while (data := read_frame(conn)) is not None:
            reply = r.ReplyFrame.FromString(data)
            with self._cond:
                self.replies[reply.id] = reply
                self.order.append(reply.id)
                self._cond.notify_all()
        self.ended.set()

    def send(self, call_id: int, method: str, request: bytes = b"") -> None:
        assert self.conn is not None
        write_frame(
            self.conn, r.CallFrame(id=call_id, method=method, request=request).SerializeToString()
        )

    def stop(self, server: HookServer) -> None:
        """Half-close (as the host does before it stops the process), close, clean up."""
        assert self.conn is not None
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_WR)
        server.close(5)
        self.host.close()

    def wait(self, ids: set[int], timeout: float = 10) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: ids <= set(self.replies), timeout), (
                f"replies {sorted(self.replies)}, want {sorted(ids)}"
            )


def test_hook_calls_are_answered_concurrently_and_out_of_order(sock_path: str) -> None:
    hooks = HooksHost(sock_path)

    running = max_running = 0
    lock = threading.Lock()

    def handle(method: str, request: bytes) -> bytes:
        nonlocal running, max_running
        with lock:
            running += 1
            max_running = max(max_running, running)
        time.sleep(float(request.decode()))
        with lock:
            running -= 1
        return method.encode()

    server = HookServer.open(sock_path, SECRET, handle, max_threads=8)
    try:
        assert hooks.ready.wait(5)
        hooks.send(1, "/h/Slow", b"0.4")
        hooks.send(2, "/h/Fast", b"0")
        hooks.wait({1, 2})
        assert hooks.order == [2, 1]
        assert hooks.replies[1].response == b"/h/Slow"
        assert hooks.replies[2].code == 0

        # 40 calls of 50 ms on 8 threads: several run at the same time.
        for i in range(100, 140):
            hooks.send(i, "/h/Many", b"0.05")
        hooks.wait(set(range(100, 140)))
        assert max_running >= 2
    finally:
        hooks.stop(server)


@pytest.mark.parametrize("blocks", ["after the takeover time", "saying so first"])
def test_a_blocked_handler_leaves_another_thread_reading(sock_path: str, blocks: str) -> None:
    """A hook that waits on a second hook (as an API call that runs the plugin's hooks again
    does) gets it: the thread that read the first one hands the reading on, after the monitor's
    takeover time or, when the hook says it is about to block (release_hook_reader, what API
    calls do first), at once (the takeover time is then an hour)."""
    hooks = HooksHost(sock_path)
    second_seen = threading.Event()
    says_so = blocks == "saying so first"

    def handle(method: str, request: bytes) -> bytes:
        if method == "/h/First":
            if says_so:
                release_hook_reader()
            assert second_seen.wait(5), "the second call was never read"
            return b"first"
        second_seen.set()
        return b"second"

    takeover = 3600 if says_so else 0.001
    server = HookServer.open(sock_path, SECRET, handle, max_threads=2, takeover=takeover)
    try:
        assert hooks.ready.wait(5)
        hooks.send(1, "/h/First")
        hooks.send(2, "/h/Second")
        hooks.wait({1, 2})
        assert hooks.order == [2, 1]
        assert hooks.replies[1].response == b"first"
    finally:
        hooks.stop(server)


def test_hook_failures_become_status_replies(sock_path: str) -> None:
    hooks = HooksHost(sock_path)

    def handle(method: str, request: bytes) -> bytes:
        if method == "/h/Status":
            raise CallError(grpc.StatusCode.UNIMPLEMENTED, "not here")
        raise RuntimeError("boom")

    server = HookServer.open(sock_path, SECRET, handle)
    try:
        assert hooks.ready.wait(5)
        hooks.send(1, "/h/Status")
        hooks.send(2, "/h/Bug")
        hooks.wait({1, 2})
        assert (hooks.replies[1].code, hooks.replies[1].message) == (12, "not here")
        assert hooks.replies[2].code == grpc.StatusCode.UNKNOWN.value[0]
        assert "RuntimeError: boom" in hooks.replies[2].message
    finally:
        hooks.stop(server)


def test_close_waits_for_hooks_in_flight_then_closes_the_connection(sock_path: str) -> None:
    hooks = HooksHost(sock_path)

    def handle(method: str, request: bytes) -> bytes:
        time.sleep(0.3)
        return b"done"

    server = HookServer.open(sock_path, SECRET, handle)
    assert hooks.ready.wait(5)
    hooks.send(1, "/h/Slow")
    hooks.send(2, "/h/Slow")
    assert hooks.conn is not None
    hooks.conn.shutdown(socket.SHUT_WR)  # as the host does before it asks the process to stop
    server.close(5)
    # Both calls sent before the half-close were read and answered before the close.
    assert hooks.ended.wait(5)
    hooks.wait({1, 2})
    assert hooks.replies[1].response == hooks.replies[2].response == b"done"
    hooks.host.close()


def test_close_gives_up_after_the_grace_period(sock_path: str) -> None:
    hooks = HooksHost(sock_path)
    release = threading.Event()

    def handle(method: str, request: bytes) -> bytes:
        release.wait(10)
        return b"late"

    server = HookServer.open(sock_path, SECRET, handle)
    assert hooks.ready.wait(5)
    hooks.send(1, "/h/Stuck")
    server.close(0.2)  # the host never half-closes and the hook never finishes
    assert hooks.ended.wait(5)
    assert 1 not in hooks.replies
    release.set()
    hooks.host.close()


async def test_async_calls_use_one_connection_per_call_in_flight(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = AsyncCallsClient(sock_path, SECRET)
    try:
        assert await client.call("/svc/A", b"one") == b"/svc/A:one"
        assert await client.call("/svc/A", b"two") == b"/svc/A:two"
        assert len(host.hellos) == 1  # the idle connection was reused
        got = await asyncio.gather(*(client.call("/svc/T", bytes([i])) for i in range(5)))
        assert got == [b"/svc/T:" + bytes([i]) for i in range(5)]
        assert len(host.hellos) == 5  # five in flight at once: five connections
        assert {h.role for h in host.hellos} == {r.CallHello.ROLE_API}

        with pytest.raises(CallError) as info:
            await client.call("/x/Fail", b"")
        assert info.value.code() is grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(CallError) as info:
            await client.call("/x/Slow", b"", timeout=0.05)
        assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert await client.call("/svc/A", b"after") == b"/svc/A:after"
    finally:
        client.close()
        host.close()
    with pytest.raises(CallError) as info:
        await client.call("/svc/A", b"")
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE


async def test_async_calls_with_a_wrong_secret_are_refused(sock_path: str) -> None:
    host = FakeHost(sock_path, echo_api)
    client = AsyncCallsClient(sock_path, "wrong")
    try:
        with pytest.raises(CallError) as info:
            await client.call("/svc/A", b"")
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
    finally:
        client.close()
        host.close()


def test_hook_after_hook_runs_on_the_reading_thread(sock_path: str) -> None:
    """Sequential hooks that do not block never switch threads: the reader runs them inline."""
    hooks = HooksHost(sock_path)
    threads: list[str] = []

    def handle(method: str, request: bytes) -> bytes:
        threads.append(threading.current_thread().name)
        return b""

    # No takeover by time (a loaded machine can stretch a hook past any threshold).
    server = HookServer.open(sock_path, SECRET, handle, takeover=3600)
    try:
        assert hooks.ready.wait(5)
        for i in range(1, 51):
            hooks.send(i, "/h/Quick")
            hooks.wait({i})
        assert len(threads) == 50
        assert len(set(threads)) == 1
    finally:
        hooks.stop(server)


def test_release_hook_reader_elsewhere_is_a_no_op() -> None:
    release_hook_reader()  # not a hook thread: nothing to hand on, nothing raised


def test_a_call_answered_later_does_not_hold_up_the_reader(sock_path: str) -> None:
    """A handler may return a future (an async def hook on the event loop): the reader reads on
    and the reply goes out when the future completes, from the thread that completes it."""
    hooks = HooksHost(sock_path)
    later: concurrent.futures.Future[bytes] = concurrent.futures.Future()

    def handle(method: str, request: bytes) -> bytes | concurrent.futures.Future[bytes]:
        if method == "/h/Later":
            return later
        if method == "/h/Failed":
            failed: concurrent.futures.Future[bytes] = concurrent.futures.Future()
            failed.set_exception(CallError(grpc.StatusCode.ABORTED, "no"))
            return failed
        return b"now"

    server = HookServer.open(sock_path, SECRET, handle, takeover=3600)
    try:
        assert hooks.ready.wait(5)
        hooks.send(1, "/h/Later")
        hooks.send(2, "/h/Now")
        hooks.send(3, "/h/Failed")
        hooks.wait({2, 3})
        assert 1 not in hooks.replies
        assert (hooks.replies[3].code, hooks.replies[3].message) == (10, "no")
        threading.Thread(target=later.set_result, args=(b"later",)).start()
        hooks.wait({1})
        assert hooks.replies[1].response == b"later"
        assert hooks.order == [2, 3, 1]
    finally:
        hooks.stop(server)


def test_all_threads_blocked_is_logged_and_hooks_wait_their_turn(
    sock_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    hooks = HooksHost(sock_path)
    release = threading.Event()

    def handle(method: str, request: bytes) -> bytes:
        if method == "/h/Block":
            release_hook_reader()
            assert release.wait(5)
        return method.encode()

    server = HookServer.open(sock_path, SECRET, handle, max_threads=2, takeover=3600)
    try:
        assert hooks.ready.wait(5)
        with caplog.at_level(logging.WARNING, logger="mmplugin.runtime"):
            hooks.send(1, "/h/Block")
            hooks.send(2, "/h/Block")
            hooks.send(3, "/h/Quick")
            for _ in range(100):
                if "all 2 hook threads are busy" in caplog.text:
                    break
                time.sleep(0.02)
        assert "all 2 hook threads are busy" in caplog.text
        assert 3 not in hooks.replies  # nobody reads while both threads block
        release.set()
        hooks.wait({1, 2, 3})
    finally:
        release.set()
        hooks.stop(server)
