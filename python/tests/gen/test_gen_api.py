"""The generated API / AsyncAPI / Driver clients against a fake PluginAPIService and
PluginDriverService served over real gRPC on a unix socket."""

from __future__ import annotations

import io
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
from grpc import aio

from mmplugin import _values
from mmplugin.api import API, AsyncAPI, AsyncDriver, Driver
from mmplugin.errors import (
    AppError,
    NoRowsError,
    NotFoundError,
    NotImplementedByServerError,
    PluginAPIError,
    ProtocolError,
)
from mmplugin.models import FileInfo, Post, UploadSession, User
from mmplugin.v1 import api_pb2 as a
from mmplugin.v1 import api_pb2_grpc as ag
from mmplugin.v1 import driver_pb2 as d
from mmplugin.v1 import driver_pb2_grpc as dg
from mmplugin.v1 import models_pb2 as m

SECRET = ("mmplugin-secret", "s3cret")


class FakeAPI(ag.PluginAPIServiceServicer):
    """A few representative methods; every other one answers UNIMPLEMENTED (the base class)."""

    def __init__(self) -> None:
        self.metadata: list[tuple[str, str]] = []
        self.logs: list[tuple[str, list[Any]]] = []
        self.uploaded: list[bytes] = []
        self.lock = threading.Lock()

    def _seen(self, context: grpc.ServicerContext) -> None:
        with self.lock:
            self.metadata = [(k, str(v)) for k, v in context.invocation_metadata()]

    def GetUser(
        self, request: a.GetUserRequest, context: grpc.ServicerContext
    ) -> a.GetUserResponse:
        self._seen(context)
        if request.user_id == "missing":
            return a.GetUserResponse(
                app_error=m.AppError(
                    id="app.user.missing",
                    message="Unable to find the user.",
                    status_code=404,
                    where="GetUser",
                    params={"Id": m.Value(string_value="missing")},
                )
            )
        if request.user_id == "nil":
            return a.GetUserResponse()
        return a.GetUserResponse(result=m.User(id=request.user_id, username="alice"))

    def GetLicense(
        self, request: a.GetLicenseRequest, context: grpc.ServicerContext
    ) -> a.GetLicenseResponse:
        return a.GetLicenseResponse()  # unlicensed: nil

    def KVGet(self, request: a.KVGetRequest, context: grpc.ServicerContext) -> a.KVGetResponse:
        if request.key == "absent":
            return a.KVGetResponse()
        if request.key == "empty":
            return a.KVGetResponse(empty=[1])
        return a.KVGetResponse(result=b"value:" + request.key.encode())

    def KVSet(self, request: a.KVSetRequest, context: grpc.ServicerContext) -> a.KVSetResponse:
        nil = not request.value and 2 not in request.empty
        return a.KVSetResponse(app_error=m.AppError(message=f"nil={nil}", status_code=400))

    def CreatePost(
        self, request: a.CreatePostRequest, context: grpc.ServicerContext
    ) -> a.CreatePostResponse:
        post = m.Post()
        post.CopyFrom(request.post)
        post.id = "new-post"
        return a.CreatePostResponse(result=post)

    def GetUsersByIds(
        self, request: a.GetUsersByIdsRequest, context: grpc.ServicerContext
    ) -> a.GetUsersByIdsResponse:
        return a.GetUsersByIdsResponse(result=[m.User(id=i) for i in request.user_ids])

    def GetEmojiImage(
        self, request: a.GetEmojiImageRequest, context: grpc.ServicerContext
    ) -> a.GetEmojiImageResponse:
        return a.GetEmojiImageResponse(result_1=b"\x89PNG", result_2="png")

    def LogInfo(
        self, request: a.LogInfoRequest, context: grpc.ServicerContext
    ) -> a.LogInfoResponse:
        with self.lock:
            self.logs.append((request.msg, [_values.from_pb(v) for v in request.key_value_pairs]))
        return a.LogInfoResponse()

    def LoadPluginConfiguration(
        self, request: a.LoadPluginConfigurationRequest, context: grpc.ServicerContext
    ) -> a.LoadPluginConfigurationResponse:
        return a.LoadPluginConfigurationResponse(config_json=b'{"Greeting": "hi", "Max": 3}')

    def EnsureBotUser(
        self, request: a.EnsureBotUserRequest, context: grpc.ServicerContext
    ) -> a.EnsureBotUserResponse:
        return a.EnsureBotUserResponse(
            error=m.Error(message="no bots", code=m.ERROR_CODE_UNSPECIFIED)
        )

    def UploadData(
        self, request_iterator: Iterator[a.UploadDataRequest], context: grpc.ServicerContext
    ) -> a.UploadDataResponse:
        first = next(request_iterator)
        assert first.WhichOneof("part") == "head"
        chunks = [r.chunk.data for r in request_iterator]
        with self.lock:
            self.uploaded = chunks
        return a.UploadDataResponse(
            result=m.FileInfo(id=first.head.us.id, size=sum(len(x) for x in chunks))
        )

    def PluginHTTP(
        self, request_iterator: Iterator[a.PluginHTTPRequest], context: grpc.ServicerContext
    ) -> Iterator[a.PluginHTTPResponse]:
        head = next(request_iterator).head
        headers = [
            m.HTTPHeader(name="X-Method", values=[head.method]),
            m.HTTPHeader(name="X-Url", values=[head.url]),
        ]
        yield a.PluginHTTPResponse(head=m.HTTPResponseHead(status_code=202, headers=headers))
        for r in request_iterator:
            if r.WhichOneof("part") == "body":
                yield a.PluginHTTPResponse(body=m.StreamChunk(data=r.body.data[::-1]))
        yield a.PluginHTTPResponse(end=m.StreamEnd())


class FakeDriver(dg.PluginDriverServiceServicer):
    def Conn(self, request: d.ConnRequest, context: grpc.ServicerContext) -> d.ConnResponse:
        if not request.is_master:
            return d.ConnResponse(
                error=m.Error(message="sql: no rows", code=m.ERROR_CODE_SQL_NO_ROWS)
            )
        return d.ConnResponse(result="conn-1")

    def RowsNext(
        self, request: d.RowsNextRequest, context: grpc.ServicerContext
    ) -> d.RowsNextResponse:
        n = len(request.dest)
        return d.RowsNextResponse(dest=[_values.to_pb(i * 10) for i in range(n)])

    def RowsColumnTypePrecisionScale(
        self, request: d.RowsColumnTypePrecisionScaleRequest, context: grpc.ServicerContext
    ) -> d.RowsColumnTypePrecisionScaleResponse:
        return d.RowsColumnTypePrecisionScaleResponse(result_1=10, result_2=2, result_3=True)


@pytest.fixture
def fake() -> FakeAPI:
    # The stubs declare every RPC abstract; the fake implements a few and lets the generated
    # base class answer UNIMPLEMENTED for the rest, which the tests rely on.
    return FakeAPI()  # type: ignore[abstract]


@pytest.fixture
def server(fake: FakeAPI, sock_path: str) -> Iterator[str]:
    srv = grpc.server(ThreadPoolExecutor(max_workers=4))
    ag.add_PluginAPIServiceServicer_to_server(fake, srv)
    dg.add_PluginDriverServiceServicer_to_server(FakeDriver(), srv)  # type: ignore[abstract]
    assert srv.add_insecure_port(f"unix:{sock_path}")
    srv.start()
    try:
        yield f"unix:{sock_path}"
    finally:
        srv.stop(None)


@pytest.fixture
def api(server: str) -> Iterator[API]:
    with grpc.insecure_channel(server) as channel:
        yield API(channel, metadata=[SECRET])


def test_typed_calls(api: API, fake: FakeAPI) -> None:
    user = api.get_user("u1")
    assert user == User(id="u1", username="alice")
    assert SECRET in fake.metadata  # the call metadata (launch secret) is sent
    post = api.create_post(Post(channel_id="c", message="hi", props={"n": 1}, file_ids=[]))
    assert post == Post(id="new-post", channel_id="c", message="hi", props={"n": 1}, file_ids=[])
    assert api.get_users_by_ids(["a", "b"]) == [User(id="a"), User(id="b")]
    assert api.get_emoji_image("e") == (b"\x89PNG", "png")


def test_nil_results(api: API) -> None:
    assert api.get_license() is None  # a method without an error result: nil means unlicensed
    assert api.get_user("nil") is None  # nil without an error: None, as Go would see nil
    assert api.kv_get("absent") is None
    assert api.kv_get("empty") == b""
    assert api.kv_get("k") == b"value:k"


def test_nil_and_empty_parameters(api: API) -> None:
    with pytest.raises(AppError, match="nil=True"):
        api.kv_set("k", None)
    with pytest.raises(AppError, match="nil=False"):
        api.kv_set("k", b"")


def test_errors(api: API) -> None:
    with pytest.raises(NotFoundError) as err:
        api.get_user("missing")
    assert (err.value.id, err.value.status_code, err.value.where) == (
        "app.user.missing",
        404,
        "GetUser",
    )
    assert err.value.params == {"Id": "missing"}
    with pytest.raises(PluginAPIError, match="no bots"):
        api.ensure_bot_user(None)
    with pytest.raises(NotImplementedByServerError, match="GetTeam") as unimpl:
        api.get_team("t")
    assert unimpl.value.status_code == 501


def test_logging_key_values(api: API, fake: FakeAPI) -> None:
    api.log_info("user joined", user_id="u1", count=3, msg="not the message")
    assert fake.logs == [("user joined", ["user_id", "u1", "count", 3, "msg", "not the message"])]


def test_plugin_configuration(api: API) -> None:
    assert api.load_plugin_configuration() == {"Greeting": "hi", "Max": 3}


@pytest.mark.parametrize(
    "data",
    [
        b"a" * 150_000,
        io.BytesIO(b"a" * 150_000),
        [b"a" * 100_000, b"", b"a" * 50_000],
    ],
    ids=["bytes", "file", "iterable"],
)
def test_upload_streams_in_chunks(api: API, fake: FakeAPI, data: Any) -> None:
    info = api.upload_data(UploadSession(id="us1"), data)
    assert info == FileInfo(id="us1", size=150_000)
    assert b"".join(fake.uploaded) == b"a" * 150_000
    assert max(len(x) for x in fake.uploaded) <= 64 * 1024 and len(fake.uploaded) == 3


def test_plugin_http(api: API) -> None:
    with api.plugin_http("post", "/other/hello", headers={"A": "b"}, body=[b"abc", b"def"]) as resp:
        assert resp.status_code == 202
        assert resp.header("x-method") == "POST" and resp.header("X-Url") == "/other/hello"
        assert resp.read() == b"cbafed"


def test_unreachable_host(sock_path: str) -> None:
    with grpc.insecure_channel(f"unix:{sock_path}") as channel:
        api = API(channel, timeout=5)
        with pytest.raises(ProtocolError, match="the mmplugin host is unreachable"):
            api.get_user("u")


def test_driver(server: str) -> None:
    with grpc.insecure_channel(server) as channel:
        drv = Driver(channel)
        assert drv.conn(True) == "conn-1"
        with pytest.raises(NoRowsError):
            drv.conn(False)
        dest: list[Any] = [None, None, None]
        drv.rows_next("rows-1", dest)
        assert dest == [0, 10, 20]
        assert drv.rows_column_type_precision_scale("rows-1", 0) == (10, 2, True)


async def test_async_api(server: str, fake: FakeAPI) -> None:
    async with aio.insecure_channel(server) as channel:
        api = AsyncAPI(channel, metadata=[SECRET])
        assert await api.get_user("u2") == User(id="u2", username="alice")
        assert SECRET in fake.metadata
        with pytest.raises(NotFoundError):
            await api.get_user("missing")
        assert await api.kv_get("absent") is None

        async def chunks() -> AsyncIterator[bytes]:
            yield b"x" * 70_000
            yield b"y"

        info = await api.upload_data(UploadSession(id="us2"), chunks())
        assert info.size == 70_001
        resp = await api.plugin_http("GET", "/p/x", body=b"hello")
        assert resp.status_code == 202 and await resp.read() == b"olleh"
        drv = AsyncDriver(channel)
        assert await drv.conn(True) == "conn-1"
        with pytest.raises(NotImplementedByServerError, match="GetTeam"):
            await api.get_team("t")
