"""The generated HooksServicer over a real grpc.aio server on a unix socket.

Handlers are plain ``def`` (run in the dispatcher's thread pool) and ``async def`` (run on the
loop); every result idiom (None, a model, Reject, DISMISS, str, values, raising) is checked on
the wire, as the host sees it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest
from grpc import aio

from mmplugin import _dispatch
from mmplugin._gen import convert as c
from mmplugin._gen.hooks import DISMISS_POST_ERROR, HOOKS, HooksServicer
from mmplugin._hookresults import DISMISS, Reject
from mmplugin._streams import (
    HTTPRequest,
    ResponseWriter,
    SyncHTTPRequest,
    SyncResponseWriter,
    SyncUploadReader,
    SyncUploadWriter,
)
from mmplugin.errors import NoRowsError, NotFoundError
from mmplugin.models import (
    CommandArgs,
    CommandResponse,
    Context,
    FileInfo,
    Post,
    RemoteCluster,
    User,
)
from mmplugin.v1 import hooks_pb2 as h
from mmplugin.v1 import hooks_pb2_grpc as hg
from mmplugin.v1 import models_pb2 as m


class Base:
    """Stands for the SDK's Plugin base class: its hook-named methods are not the plugin's."""

    def on_deactivate(self) -> None:
        raise AssertionError("a base-class method must not be dispatched")

    def user_has_been_created(self, ctx: Context, user: User) -> None:
        raise AssertionError("a base-class method must not be dispatched")


class Sample(Base):
    def __init__(self) -> None:
        self.barrier = threading.Barrier(2, timeout=10)
        self.seen: list[Any] = []

    def on_activate(self) -> None:
        raise RuntimeError("cannot start: missing setting")

    def on_deactivate(self) -> None:  # overrides the base: counts
        raise NoRowsError("sql: no rows in result set")

    def message_will_be_posted(self, ctx: Context, post: Post) -> Any:
        self.seen.append((ctx, post))
        match post.message:
            case "replace":
                return Post(channel_id=post.channel_id, message="replaced", props={"n": 1})
            case "reject":
                return Reject("not here")
            case "dismiss":
                return DISMISS
            case "wrong":
                return 42
            case "boom":
                raise ValueError("kaput")
        return None

    async def message_will_be_updated(self, ctx: Context, new_post: Post, old_post: Post) -> Any:
        await asyncio.sleep(0)
        return Post(message=old_post.message + "+" + new_post.message)

    def execute_command(self, ctx: Context, args: CommandArgs) -> CommandResponse:
        if args.command == "/missing":
            raise NotFoundError("no such thing", id="cmd.missing")
        if args.command == "/crash":
            raise KeyError("k")
        return CommandResponse(response_type="ephemeral", text=f"ran {args.command}")

    def user_will_log_in(self, ctx: Context, user: User) -> Any:
        return "locked out" if user.username == "bad" else None

    def user_has_logged_in(self, ctx: Context, user: User) -> None:
        self.barrier.wait()  # both calls must be running at once

    async def messages_will_be_consumed(self, posts: list[Post]) -> list[Post] | None:
        if any(p.message == "keep" for p in posts):
            return None
        return [p for p in posts if p.message != "secret"]

    def on_shared_channels_ping(self, rc: RemoteCluster) -> Any:
        return rc.name == "up" or None

    async def run_data_retention(self, now_time: int, batch_size: int) -> int:
        return now_time + batch_size

    def on_activte(self) -> None:  # misspelled on purpose
        pass

    async def serve_http(self, ctx: Context, w: ResponseWriter, r: HTTPRequest) -> None:
        if r.url == "/raise":
            raise RuntimeError("handler failed")
        if r.url == "/empty":
            return
        await w.start(201, [("Content-Type", "text/plain"), ("X-User", r.user_id or "")])
        async for chunk in r.body:
            await w.write(chunk.upper())
            await w.flush()

    def serve_metrics(self, ctx: Context, w: SyncResponseWriter, r: SyncHTTPRequest) -> None:
        w.start(200, {"X-Ctx": ctx.request_id})
        for chunk in r.body:
            w.write(chunk[::-1])
            w.flush()

    def file_will_be_uploaded(
        self, ctx: Context, info: FileInfo, file: SyncUploadReader, output: SyncUploadWriter
    ) -> Any:
        data = file.read()
        if info.name == "virus.exe":
            return Reject("no executables")
        if info.name == "keep.txt":
            return None
        output.write(data.upper())
        return FileInfo(name="upper-" + info.name, size=len(data))


@asynccontextmanager
async def served(plugin: object, sock_path: str) -> AsyncIterator[hg.PluginHooksServiceAsyncStub]:
    handlers = _dispatch.discover_handlers(plugin, HOOKS, base=Base)
    servicer = HooksServicer(handlers)
    server = aio.server()
    hg.add_PluginHooksServiceServicer_to_server(servicer, server)
    assert server.add_insecure_port(f"unix:{sock_path}")
    await server.start()
    channel = aio.insecure_channel(f"unix:{sock_path}")
    try:
        yield hg.PluginHooksServiceStub(channel)
    finally:
        await channel.close()
        await server.stop(None)
        servicer.close()


async def read_rest(call: Any) -> list[Any]:
    """The remaining responses of a stream call used with read()/write()."""
    out = []
    while (msg := await call.read()) is not aio.EOF:
        out.append(msg)
    return out


async def read_one(call: Any) -> Any:
    msg = await call.read()
    assert msg is not aio.EOF
    return msg


def ctx_pb() -> m.PluginContext:
    return m.PluginContext(session_id="s1", request_id="r1", user_agent="ua")


def post_pb(message: str) -> m.Post:
    return c.post_to_pb(Post(id="p1", channel_id="c1", message=message, file_ids=[]))


def test_discovery_and_misspellings(caplog: pytest.LogCaptureFixture) -> None:
    plugin = Sample()
    handlers = _dispatch.discover_handlers(plugin, HOOKS, base=Base)
    assert "OnDeactivate" in handlers  # overridden
    assert "UserHasBeenCreated" not in handlers  # only on the base
    assert "Implemented" not in handlers
    assert handlers["OnActivate"] == plugin.on_activate
    with caplog.at_level(logging.WARNING, logger="mmplugin.hooks"):
        found = _dispatch.warn_misspelled_hooks(plugin, HOOKS, base=Base)
    assert found == [("on_activte", "on_activate")]
    assert "Sample.on_activte is not a hook" in caplog.text and "on_activate" in caplog.text


def test_hook_table() -> None:
    assert len(HOOKS) == 52
    specs = {s.go_name: s for s in HOOKS}
    mwbp = specs["MessageWillBePosted"]
    assert mwbp.py_name == "message_will_be_posted" and mwbp.context
    assert [p.name for p in mwbp.params] == ["ctx", "post"]
    assert mwbp.returns == "Post | Reject | Dismiss | None"
    assert mwbp.outcome is _dispatch.Outcome.REPLACE
    assert "DISMISS" in mwbp.doc and "Minimum server version: 5.2" in mwbp.doc
    assert mwbp.signature == (
        "def message_will_be_posted(self, ctx: Context, post: Post) "
        "-> Post | Reject | Dismiss | None"
    )
    assert not specs["OnWebSocketConnect"].context
    assert specs["OnActivate"].outcome is _dispatch.Outcome.ERROR
    assert specs["UserWillLogIn"].outcome is _dispatch.Outcome.REJECT
    assert specs["ExecuteCommand"].outcome is _dispatch.Outcome.VALUE_APP_ERROR
    assert specs["ServeHTTP"].outcome is _dispatch.Outcome.HTTP
    assert DISMISS_POST_ERROR == "plugin.message_will_be_posted.dismiss_post"


async def test_implemented(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        resp = await stub.Implemented(h.ImplementedRequest())
    table_order = [s.go_name for s in HOOKS]
    assert list(resp.result) == sorted(resp.result, key=table_order.index)
    assert set(resp.result) == {
        "OnActivate",
        "OnDeactivate",
        "ServeHTTP",
        "ExecuteCommand",
        "UserWillLogIn",
        "UserHasLoggedIn",
        "MessageWillBePosted",
        "MessageWillBeUpdated",
        "MessagesWillBeConsumed",
        "FileWillBeUploaded",
        "RunDataRetention",
        "ServeMetrics",
        "OnSharedChannelsPing",
    }


async def test_message_will_be_posted_outcomes(
    sock_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    plugin = Sample()
    async with served(plugin, sock_path) as stub:

        async def call(message: str) -> h.MessageWillBePostedResponse:
            req = h.MessageWillBePostedRequest(context=ctx_pb(), post=post_pb(message))
            return await stub.MessageWillBePosted(req)

        allow = await call("hello")
        assert not allow.HasField("result_1") and allow.result_2 == ""
        ctx, post = plugin.seen[0]
        assert ctx == Context(session_id="s1", request_id="r1", user_agent="ua")
        assert post.message == "hello" and post.file_ids == []

        replaced = await call("replace")
        assert c.post_from_pb(replaced.result_1) == Post(
            channel_id="c1", message="replaced", props={"n": 1}
        )
        assert replaced.result_2 == ""

        rejected = await call("reject")
        assert not rejected.HasField("result_1") and rejected.result_2 == "not here"

        dismissed = await call("dismiss")
        assert dismissed.result_2 == "plugin.message_will_be_posted.dismiss_post"

        with caplog.at_level(logging.ERROR, logger="mmplugin.hooks"):
            with pytest.raises(aio.AioRpcError) as wrong:
                await call("wrong")
            assert wrong.value.code() == grpc.StatusCode.UNKNOWN
            assert "message_will_be_posted returned int 42" in str(wrong.value.details())
            assert "expected Post | Reject | Dismiss | None" in str(wrong.value.details())

            with pytest.raises(aio.AioRpcError) as boom:
                await call("boom")
            assert boom.value.code() == grpc.StatusCode.UNKNOWN
            assert "raised ValueError: kaput" in str(boom.value.details())
        assert "Traceback" in caplog.text and "ValueError: kaput" in caplog.text


async def test_async_handler_and_two_models(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        req = h.MessageWillBeUpdatedRequest(
            context=ctx_pb(), new_post=post_pb("new"), old_post=post_pb("old")
        )
        resp = await stub.MessageWillBeUpdated(req)
    assert c.post_from_pb(resp.result_1).message == "old+new"


async def test_error_hooks(sock_path: str, caplog: pytest.LogCaptureFixture) -> None:
    async with served(Sample(), sock_path) as stub:
        with caplog.at_level(logging.ERROR, logger="mmplugin.hooks"):
            act = await stub.OnActivate(h.OnActivateRequest())
        assert act.error == m.Error(message="RuntimeError: cannot start: missing setting")
        assert "cannot start" in caplog.text  # logged with its traceback too
        deact = await stub.OnDeactivate(h.OnDeactivateRequest())
        assert deact.error == m.Error(
            message="sql: no rows in result set", code=m.ERROR_CODE_SQL_NO_ROWS
        )


async def test_execute_command(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:

        async def run(command: str) -> h.ExecuteCommandResponse:
            args = c.command_args_to_pb(CommandArgs(command=command, user_id="u"))
            return await stub.ExecuteCommand(h.ExecuteCommandRequest(context=ctx_pb(), args=args))

        ok = await run("/hello")
        assert c.command_response_from_pb(ok.result).text == "ran /hello"
        missing = await run("/missing")
        assert not missing.HasField("result")
        assert (missing.app_error.status_code, missing.app_error.id) == (404, "cmd.missing")
        with pytest.raises(aio.AioRpcError) as crash:
            await run("/crash")
        assert "raised KeyError" in str(crash.value.details())


async def test_reject_value_and_keep_hooks(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        login = h.UserWillLogInRequest(context=ctx_pb(), user=m.User(username="bad"))
        assert (await stub.UserWillLogIn(login)).result == "locked out"
        login.user.username = "good"
        assert (await stub.UserWillLogIn(login)).result == ""

        posts = [post_pb("a"), post_pb("secret")]
        consumed = await stub.MessagesWillBeConsumed(h.MessagesWillBeConsumedRequest(posts=posts))
        assert [p.message for p in consumed.result] == ["a"]
        keep = [post_pb("keep"), post_pb("secret")]
        kept = await stub.MessagesWillBeConsumed(h.MessagesWillBeConsumedRequest(posts=keep))
        # None keeps the server's posts: nothing is sent back (Go nil), so the server replaces
        # none of them with a copy that went through the encoding twice.
        assert kept == h.MessagesWillBeConsumedResponse()

        up = h.OnSharedChannelsPingRequest(rc=m.RemoteCluster(name="up"))
        assert (await stub.OnSharedChannelsPing(up)).result is True
        with pytest.raises(aio.AioRpcError) as ping:
            await stub.OnSharedChannelsPing(h.OnSharedChannelsPingRequest(rc=m.RemoteCluster()))
        assert "expected bool" in str(ping.value.details())

        retention = h.RunDataRetentionRequest(now_time=100, batch_size=5)
        assert (await stub.RunDataRetention(retention)).result == 105


async def test_sync_hooks_run_concurrently(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        req = h.UserHasLoggedInRequest(context=ctx_pb(), user=m.User(id="u"))
        # Each call blocks on a 2-party barrier: they only finish if both run at the same time.
        await asyncio.wait_for(
            asyncio.gather(stub.UserHasLoggedIn(req), stub.UserHasLoggedIn(req)), timeout=20
        )


async def test_unimplemented_hook(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        with pytest.raises(aio.AioRpcError) as err:
            await stub.OnInstall(h.OnInstallRequest(context=ctx_pb()))
    assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "on_install" in str(err.value.details())


def http_head(url: str) -> m.HTTPRequestHead:
    return m.HTTPRequestHead(
        context=ctx_pb(),
        method="POST",
        url=url,
        headers=[m.HTTPHeader(name="Mattermost-User-Id", values=["u1"])],
        content_length=-1,
    )


async def test_serve_http_streams_both_ways(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        call = stub.ServeHTTP()
        await call.write(h.ServeHTTPRequest(head=http_head("/echo")))
        await call.write(h.ServeHTTPRequest(body=m.StreamChunk(data=b"abc")))
        head = await call.read()
        assert isinstance(head, h.ServeHTTPResponse)
        assert head.head.status_code == 201
        assert [(x.name, list(x.values)) for x in head.head.headers] == [
            ("Content-Type", ["text/plain"]),
            ("X-User", ["u1"]),
        ]
        # The first chunk comes back before the request body has ended: streamed, not buffered.
        assert (await read_one(call)).body.data == b"ABC"
        assert (await read_one(call)).WhichOneof("part") == "flush"
        await call.write(h.ServeHTTPRequest(body=m.StreamChunk(data=b"def")))
        await call.write(h.ServeHTTPRequest(end=m.StreamEnd()))
        await call.done_writing()
        rest = await read_rest(call)
    assert [msg.WhichOneof("part") for msg in rest] == ["body", "flush", "end"]
    assert rest[0].body.data == b"DEF" and not rest[2].end.HasField("error")


async def test_serve_metrics_sync_handler(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        call = stub.ServeMetrics()
        await call.write(h.ServeMetricsRequest(head=http_head("/metrics")))
        await call.write(h.ServeMetricsRequest(body=m.StreamChunk(data=b"abc")))
        head = await call.read()
        assert isinstance(head, h.ServeMetricsResponse)
        assert head.head.status_code == 200
        assert head.head.headers[0] == m.HTTPHeader(name="X-Ctx", values=["r1"])
        assert (await read_one(call)).body.data == b"cba"  # before the body ended
        await call.done_writing()  # half-close = end of body
        rest = [msg.WhichOneof("part") for msg in await read_rest(call)]
    assert rest == ["flush", "end"]


async def test_serve_http_defaults_and_failures(sock_path: str) -> None:
    async with served(Sample(), sock_path) as stub:
        call = stub.ServeHTTP()
        await call.write(h.ServeHTTPRequest(head=http_head("/empty")))
        await call.done_writing()
        parts = await read_rest(call)
        assert parts[0].head.status_code == 200 and parts[1].WhichOneof("part") == "end"

        failing = stub.ServeHTTP()
        await failing.write(h.ServeHTTPRequest(head=http_head("/raise")))
        await failing.done_writing()
        with pytest.raises(aio.AioRpcError) as err:
            await read_rest(failing)
    assert err.value.code() == grpc.StatusCode.UNKNOWN
    assert "handler failed" in str(err.value.details())


async def upload(
    stub: hg.PluginHooksServiceAsyncStub, name: str, chunks: list[bytes]
) -> list[h.FileWillBeUploadedResponse]:
    call = stub.FileWillBeUploaded()
    head = h.FileWillBeUploadedRequestHead(context=ctx_pb(), info=m.FileInfo(name=name))
    await call.write(h.FileWillBeUploadedRequest(head=head))
    for chunk in chunks:
        await call.write(h.FileWillBeUploadedRequest(chunk=m.StreamChunk(data=chunk)))
    await call.write(h.FileWillBeUploadedRequest(end=m.StreamEnd()))
    await call.done_writing()
    return await read_rest(call)


async def test_file_will_be_uploaded(sock_path: str) -> None:
    big = [b"x" * 70_000, b"y" * 10]
    async with served(Sample(), sock_path) as stub:
        replaced = await upload(stub, "a.txt", big)
        kept = await upload(stub, "keep.txt", [b"data"])
        rejected = await upload(stub, "virus.exe", [b"MZ"])
    data = b"".join(msg.replacement.data for msg in replaced[:-1])
    assert data == b"X" * 70_000 + b"Y" * 10
    assert len(replaced) > 2  # the replacement is streamed in chunks
    result = replaced[-1].result
    assert c.file_info_from_pb(result.result_1) == FileInfo(name="upper-a.txt", size=70_010)
    assert [msg.WhichOneof("part") for msg in kept] == ["result"]
    assert not kept[0].result.HasField("result_1") and kept[0].result.result_2 == ""
    assert rejected[-1].result.result_2 == "no executables"
