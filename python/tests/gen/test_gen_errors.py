"""AppError / PluginAPIError / ProtocolError and their wire forms."""

from __future__ import annotations

import pickle

import grpc
import pytest

from mmplugin import errors as e
from mmplugin.v1 import models_pb2 as pb


def test_app_error_round_trips_every_field() -> None:
    err = e.NotFoundError(
        "Unable to find the user.",
        id="app.user.missing.app_error",
        detailed_error="id=abc",
        where="GetUser",
        request_id="req",
        params={"UserId": "abc", "Count": 2},
        skip_translation=True,
    )
    m = pb.AppError.FromString(e.app_error_to_pb(err).SerializeToString())
    assert (m.id, m.status_code, m.where, m.request_id, m.skip_translation) == (
        "app.user.missing.app_error",
        404,
        "GetUser",
        "req",
        True,
    )
    back = e.app_error_from_pb(m)
    assert type(back) is e.NotFoundError
    assert back == err
    assert back.params == {"UserId": "abc", "Count": 2}


def test_app_error_params_nil_vs_empty() -> None:
    cases: list[dict[str, object] | None] = [None, {}]
    for params in cases:
        back = e.app_error_from_pb(e.app_error_to_pb(e.AppError("x", params=params)))
        assert back.params == params and type(back.params) is type(params)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, e.BadRequestError),
        (401, e.UnauthorizedError),
        (403, e.ForbiddenError),
        (404, e.NotFoundError),
        (409, e.ConflictError),
        (413, e.TooLargeError),
        (429, e.TooManyRequestsError),
        (500, e.InternalServerError),
        (501, e.NotImplementedByServerError),
        (418, e.AppError),
    ],
)
def test_app_error_subclass_by_status(status: int, cls: type[e.AppError]) -> None:
    err = e.app_error_from_pb(pb.AppError(message="m", status_code=status))
    assert type(err) is cls
    assert isinstance(err, e.AppError)
    assert err.status_code == status


def test_app_error_text_is_gos() -> None:
    assert str(e.AppError("msg", where="W", detailed_error="d")) == "W: msg, d"
    assert str(e.AppError("<untranslated>", detailed_error="d")) == "d"
    assert str(e.AppError("msg")) == "msg"
    assert e.AppError("x").status_code == 500
    assert e.NotFoundError("x").status_code == 404
    assert e.BadRequestError("x", status_code=422).status_code == 422


def test_plugin_api_error_codes() -> None:
    assert {c.name: c.value for c in e.ErrorCode} == {
        name.removeprefix("ERROR_CODE_"): value for name, value in pb.ErrorCode.items()
    }
    expected = {
        pb.ERROR_CODE_EOF: e.EndOfFileError,
        pb.ERROR_CODE_SQL_NO_ROWS: e.NoRowsError,
        pb.ERROR_CODE_SQL_CONN_DONE: e.ConnDoneError,
        pb.ERROR_CODE_SQL_TX_DONE: e.TxDoneError,
        pb.ERROR_CODE_DRIVER_SKIP: e.DriverSkipError,
        pb.ERROR_CODE_DRIVER_BAD_CONN: e.BadConnectionError,
        pb.ERROR_CODE_DRIVER_REMOVE_ARGUMENT: e.RemoveArgumentError,
        pb.ERROR_CODE_UNSPECIFIED: e.PluginAPIError,
    }
    for code, cls in expected.items():
        err = e.error_from_pb(pb.Error(message="boom", code=code))
        assert type(err) is cls and err.message == "boom" and int(err.code) == code
        assert e.error_to_pb(err) == pb.Error(message="boom", code=code)
    assert isinstance(e.EndOfFileError("EOF"), EOFError)
    assert e.NoRowsError("x").code is e.ErrorCode.SQL_NO_ROWS


def test_exceptions_to_go_errors() -> None:
    assert e.error_to_pb(ValueError("bad value")) == pb.Error(message="ValueError: bad value")
    assert e.error_to_pb(KeyError()) == pb.Error(message="KeyError")
    app = e.AppError("m", where="W")
    assert e.error_to_pb(app) == pb.Error(message="W: m", app_error=e.app_error_to_pb(app))


def test_app_error_message_is_its_id_as_in_go() -> None:
    # model.NewAppError(where, id, ...): the server shows the translation of the id, and an id
    # it does not know as it is, so AppError("text") must send "text" as the id.
    err = e.AppError("The weather service is down", status_code=503)
    assert err.id == "The weather service is down" and not err.skip_translation
    # A message of its own beside an id: shown as it is (the server would show the id).
    own = e.AppError("nothing to reset", id="reset.none")
    assert own.skip_translation
    assert not e.AppError(id="api.context.permissions.app_error").skip_translation
    assert e.AppError("shown", id="").id == ""
    got = e.app_error_from_pb(pb.AppError(id="", message="from the server", status_code=404))
    assert got.id == "" and got.message == "from the server"


def test_errors_pickle() -> None:
    err = e.ConflictError("c", id="i", params={"a": 1})
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is e.ConflictError and back == err
    perr = e.NoRowsError("none")
    assert pickle.loads(pickle.dumps(perr)) == perr


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def test_rpc_errors() -> None:
    unimpl = e.rpc_error(
        "PluginAPIService", "GetUser", FakeRpcError(grpc.StatusCode.UNIMPLEMENTED, "nope")
    )
    assert isinstance(unimpl, e.NotImplementedByServerError)
    assert unimpl.status_code == 501 and "GetUser" in str(unimpl)
    gone = e.rpc_error(
        "PluginAPIService", "GetUser", FakeRpcError(grpc.StatusCode.UNAVAILABLE, "eof")
    )
    assert isinstance(gone, e.ProtocolError)
    assert str(gone).startswith("the mmplugin host is unreachable: eof")
    assert gone.code is grpc.StatusCode.UNAVAILABLE and gone.method == "PluginAPIService.GetUser"
    other = e.rpc_error("S", "M", FakeRpcError(grpc.StatusCode.INTERNAL, "x"))
    assert isinstance(other, e.ProtocolError) and "INTERNAL: x" in str(other)


def test_a_plain_error_that_is_an_app_error_raises_the_app_error() -> None:
    # A method with a Go `error` result whose server answer is a *model.AppError: a Go plugin
    # gets the *model.AppError, so Python raises the AppError (id and status code kept).
    app = pb.AppError(id="api.command.execute_command.not_found.app_error", status_code=404)
    raised = e.exception_from_pb(pb.Error(message="command: not found", app_error=app))
    assert isinstance(raised, e.NotFoundError) and raised.id == app.id
    plain = e.exception_from_pb(pb.Error(message="boom"))
    assert isinstance(plain, e.PluginAPIError) and plain.message == "boom"
