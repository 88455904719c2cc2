"""ServerVersionError: a call of an API method the server lacks, as the host answers it
(internal/netrpc: 501 AppError mmplugin.netrpc.method_not_on_server.app_error, or a plain error
naming the method), against a fake PluginAPIService over real gRPC. What the real 9.11 server
answers is checked by the e2e matrix (e2e/tests/test_server_versions.py)."""

from __future__ import annotations

import pickle
import shutil
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc import aio

import mmplugin
from mmplugin import _serverversion as sv
from mmplugin.api import API, AsyncAPI
from mmplugin.errors import AppError, InternalServerError, PluginAPIError, ServerVersionError
from mmplugin.v1 import api_pb2 as a
from mmplugin.v1 import api_pb2_grpc as ag
from mmplugin.v1 import models_pb2 as m

NOT_ON_SERVER = "rpc: can't find method Plugin.{}"


def _missing(method: str) -> m.AppError:
    return m.AppError(
        id=sv.METHOD_NOT_ON_SERVER_ID,
        message=f"The Mattermost server has no API method {method}: it is older than the method.",
        detailed_error=NOT_ON_SERVER.format(method),
        where=f"netrpc.API.{method}",
        status_code=501,
    )


class OldServer(ag.PluginAPIServiceServicer):
    """What the host answers on a 9.11 server."""

    def __init__(self) -> None:
        self.version_calls = 0

    def GetServerVersion(
        self, request: a.GetServerVersionRequest, context: grpc.ServicerContext
    ) -> a.GetServerVersionResponse:
        self.version_calls += 1
        return a.GetServerVersionResponse(result="9.11.0")

    def GetGroupByRemoteID(
        self, request: a.GetGroupByRemoteIDRequest, context: grpc.ServicerContext
    ) -> a.GetGroupByRemoteIDResponse:
        return a.GetGroupByRemoteIDResponse(app_error=_missing("GetGroupByRemoteID"))

    def GetPropertyField(
        self, request: a.GetPropertyFieldRequest, context: grpc.ServicerContext
    ) -> a.GetPropertyFieldResponse:
        text = f"mmplugin: the Mattermost server has no API method GetPropertyField (it is older \
than the method): {NOT_ON_SERVER.format('GetPropertyField')}"
        return a.GetPropertyFieldResponse(error=m.Error(message=text))

    def GetUser(
        self, request: a.GetUserRequest, context: grpc.ServicerContext
    ) -> a.GetUserResponse:
        # A method the metadata says the server has: say so instead of a wrong version.
        return a.GetUserResponse(app_error=_missing("GetUser"))

    def GetTeam(
        self, request: a.GetTeamRequest, context: grpc.ServicerContext
    ) -> a.GetTeamResponse:
        # Any other failure stays what it was.
        return a.GetTeamResponse(
            app_error=m.AppError(id="mmplugin.netrpc.call_failed.app_error", status_code=500)
        )

    def GetBundlePath(
        self, request: a.GetBundlePathRequest, context: grpc.ServicerContext
    ) -> a.GetBundlePathResponse:
        return a.GetBundlePathResponse(error=m.Error(message="netrpc: broken pipe"))


@pytest.fixture
def old_server() -> OldServer:
    return OldServer()  # type: ignore[abstract]


@pytest.fixture
def target(old_server: OldServer) -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="mmsv", dir="/tmp")
    srv = grpc.server(ThreadPoolExecutor(max_workers=2))
    ag.add_PluginAPIServiceServicer_to_server(old_server, srv)
    assert srv.add_insecure_port(f"unix:{d}/s.sock")
    srv.start()
    try:
        yield f"unix:{d}/s.sock"
    finally:
        srv.stop(None)
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(autouse=True)
def forget_version(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sv, "_server_version", None)


def test_a_method_newer_than_the_server_names_both_versions(
    target: str, old_server: OldServer
) -> None:
    with grpc.insecure_channel(target) as channel:
        api = API(channel)
        with pytest.raises(ServerVersionError) as caught:
            api.get_group_by_remote_id("r1", "ldap")
        err = caught.value
        assert str(err) == "get_group_by_remote_id needs Mattermost 10.7; this server is 9.11.0"
        assert (err.method, err.go_method, err.required_version, err.server_version) == (
            "get_group_by_remote_id",
            "GetGroupByRemoteID",
            "10.7",
            "9.11.0",
        )
        assert err.status_code == 501
        assert err.detailed_error == "rpc: can't find method Plugin.GetGroupByRemoteID"
        # Methods with a plain error result too; the server version is asked once a process.
        with pytest.raises(ServerVersionError, match=r"^get_property_field needs .* 10\.10;") as c:
            api.get_property_field("g", "f")
        assert c.value.detailed_error == "rpc: can't find method Plugin.GetPropertyField"
    assert old_server.version_calls == 1


def test_a_documented_method_the_server_lacks_is_reported_without_a_wrong_version(
    target: str,
) -> None:
    with grpc.insecure_channel(target) as channel, pytest.raises(ServerVersionError) as caught:
        API(channel).get_user("u")
    assert str(caught.value) == (
        "get_user is not on this Mattermost server (9.11.0), although the plugin API "
        "documents it since 5.2"
    )


def test_other_failures_are_unchanged(target: str) -> None:
    with grpc.insecure_channel(target) as channel:
        api = API(channel)
        with pytest.raises(InternalServerError):
            api.get_team("t")
        with pytest.raises(PluginAPIError, match="broken pipe"):
            api.get_bundle_path()


async def test_async_client(target: str, old_server: OldServer) -> None:
    async with aio.insecure_channel(target) as channel:
        api = AsyncAPI(channel)
        with pytest.raises(ServerVersionError, match=r"needs Mattermost 10\.7; this server is 9"):
            await api.get_group_by_remote_id("r1", "ldap")
        with pytest.raises(AppError):
            await api.get_team("t")
    assert old_server.version_calls == 1


def test_exported_and_picklable() -> None:
    assert mmplugin.ServerVersionError is ServerVersionError
    err = sv.error("CreateGroup", "9.11.0", "rpc: can't find method Plugin.CreateGroup")
    assert isinstance(err, NotImplementedError)
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.required_version, back.detailed_error) == (
        str(err),
        "10.7",
        err.detailed_error,
    )


def test_metadata() -> None:
    api = sv.api_versions()
    assert api["GetGroupByRemoteID"] == sv.MethodVersion(
        "GetGroupByRemoteID", "get_group_by_remote_id", "10.7"
    )
    assert api["SendToastMessage"].min_version == "11.5"
    assert all(v.min_version for v in api.values()), "every API method documents its version"
    hooks = sv.hook_versions()
    assert hooks["OnSAMLLogin"] == sv.MethodVersion("OnSAMLLogin", "on_saml_login", "10.7")
    assert hooks["OnActivate"].min_version == "5.2"
    assert sv.parse_version("9.11.0") == sv.parse_version("9.11") < sv.parse_version("10.7")
    assert sv.parse_version("11.00") == (11, 0)
    assert sv.lacks("10.7", "9.11.0") and not sv.lacks("10.7", "10.10.0")
    assert not sv.lacks("", "9.11.0")
