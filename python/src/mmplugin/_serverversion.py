"""Which Mattermost version each API method and hook needs, and ``ServerVersionError``.

mmplugin is generated from a newer plugin API than many servers run. A server older than an API
method has no RPC for it: the host sees net/rpc's ``rpc: can't find method Plugin.<Method>`` and
answers with a 501 AppError whose id is ``mmplugin.netrpc.method_not_on_server.app_error`` (or,
for methods returning a plain error, an error message starting with ``mmplugin: the Mattermost
server has no API method``). The API clients turn that answer into ``ServerVersionError``, which
names the method, the version it needs (the ``Minimum server version`` of its generated
docstring) and the server's version (``GetServerVersion``, asked once per process).

Hooks newer than the server are never called there: the server only calls the hooks it knows.

The metadata comes from the generated files (never edited by hand): the Go/Python names from
``_gen/surface.json``, the API methods' minimum versions from the docstrings in ``_gen/api.py``
(read with ``ast``, so importing this module loads neither gRPC nor the generated clients), the
hooks' from ``_gen/hooks.py``'s ``HookSpec(min_version=...)``.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "METHOD_NOT_ON_SERVER_ID",
    "MethodVersion",
    "ServerVersionError",
    "api_versions",
    "hook_versions",
    "parse_version",
]

METHOD_NOT_ON_SERVER_ID = "mmplugin.netrpc.method_not_on_server.app_error"
"""The AppError id the host answers a call to a method the server lacks with (internal/netrpc)."""

_PLAIN_ERROR_PREFIX = "mmplugin: the Mattermost server has no API method "
_GEN = Path(__file__).resolve().parent / "_gen"
_MIN_VERSION = re.compile(r"Minimum server version: (\d+(?:\.\d+)*)")


class ServerVersionError(NotImplementedError):
    """An API method the connected Mattermost server does not have: it is older than the method.

    ``method`` is the Python name (``get_group_by_remote_id``), ``go_method`` the Go one,
    ``required_version`` the version the method needs ("10.7"; empty when unknown) and
    ``server_version`` what the server reports ("9.11.0"). Like ``NotImplementedByServerError``
    it has ``status_code`` 501, an ``id`` and ``detailed_error`` (the host's text). Check the
    version first (``api.get_server_version()``) or declare ``min_server_version`` in
    plugin.json (``mmplugin check`` says which) to avoid it.
    """

    status_code = 501

    def __init__(
        self,
        message: str,
        *,
        method: str,
        go_method: str,
        required_version: str,
        server_version: str,
        detailed_error: str = "",
    ) -> None:
        self.message = message
        self.method = method
        self.go_method = go_method
        self.required_version = required_version
        self.server_version = server_version
        self.id = METHOD_NOT_ON_SERVER_ID
        self.detailed_error = detailed_error
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild,
            (
                self.message,
                self.method,
                self.go_method,
                self.required_version,
                self.server_version,
                self.detailed_error,
            ),
        )


def _rebuild(
    message: str, method: str, go_method: str, required: str, server: str, detail: str
) -> ServerVersionError:
    return ServerVersionError(
        message,
        method=method,
        go_method=go_method,
        required_version=required,
        server_version=server,
        detailed_error=detail,
    )


# -- metadata ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MethodVersion:
    """An API method or hook and the Mattermost version that introduced it ("" if unknown).

    ``has_error``: the Go method returns an error (``error`` or ``*model.AppError``), so a server
    without it can be reported (ServerVersionError); one without (``GetPluginID() string``)
    returns its zero value there. Always True for hooks, which older servers never call.
    """

    go_name: str
    py_name: str
    min_version: str
    has_error: bool = True


def _go_has_error(doc: str) -> bool:
    """Whether the ``Go: API.X(params) results`` line of a generated docstring returns an error."""
    go = " ".join(doc.partition("Go: API.")[2].split())
    depth = 0
    for index, char in enumerate(go):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ")" and depth == 0:
            return "error" in go[index + 1 :].lower()
    return True


def parse_version(text: str) -> tuple[int, ...]:
    """``"9.11.0"`` → ``(9, 11, 0)``; ``"11.00"`` → ``(11, 0)``; build suffixes are ignored."""
    match = re.match(r"v?(\d+(?:\.\d+)*)", text.strip())
    if match is None:
        raise ValueError(f"not a Mattermost version (like 9.11 or 9.11.0): {text!r}")
    parts = [int(part) for part in match.group(1).split(".")]
    while len(parts) > 2 and parts[-1] == 0:  # 9.11.0 == 9.11
        parts.pop()
    return tuple(parts)


def lacks(min_version: str, server_version: str) -> bool:
    """Whether a server of ``server_version`` predates ``min_version`` (unknown: it does not)."""
    return bool(min_version) and parse_version(server_version) < parse_version(min_version)


@functools.cache
def _surface() -> dict[str, Any]:
    surface: dict[str, Any] = json.loads((_GEN / "surface.json").read_text(encoding="utf-8"))
    return surface


@functools.cache
def api_versions() -> dict[str, MethodVersion]:
    """Every API method, by Go name, with the minimum version its generated docstring gives."""
    docs: dict[str, str] = {}
    tree = ast.parse((_GEN / "api.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "API":
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    docs[item.name] = ast.get_docstring(item) or ""
    out: dict[str, MethodVersion] = {}
    for entry in _surface()["api"]:
        doc = docs.get(entry["python"], "")
        match = _MIN_VERSION.search(doc)
        out[entry["go"]] = MethodVersion(
            entry["go"], entry["python"], match[1] if match else "", _go_has_error(doc)
        )
    return out


@functools.cache
def hook_versions() -> dict[str, MethodVersion]:
    """Every hook, by Go name, with its ``HookSpec.min_version`` from ``_gen/hooks.py``."""
    out: dict[str, MethodVersion] = {}
    tree = ast.parse((_GEN / "hooks.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "HookSpec"):
            continue
        fields = {
            kw.arg: kw.value.value
            for kw in node.keywords
            if isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
        }
        if "go_name" in fields:
            go, py = fields["go_name"], fields.get("py_name", "")
            out[go] = MethodVersion(go, py, fields.get("min_version", ""))
    return out


# -- the clients' error path ---------------------------------------------------------------------

_ERROR_FIELD: dict[type, str | None] = {}
_server_version: str | None = None  # what GetServerVersion answered, once per process
_UNKNOWN = "an unknown version"


def _error_field(response: Any) -> str | None:
    """The response message's error field ("app_error", "error" or None), cached per type."""
    kind = type(response)
    if kind not in _ERROR_FIELD:
        names = response.DESCRIPTOR.fields_by_name
        _ERROR_FIELD[kind] = next((n for n in ("app_error", "error") if n in names), None)
    return _ERROR_FIELD[kind]


def not_on_server(response: Any) -> str | None:
    """The host's text when ``response`` says the server has no such method, else None."""
    field = _error_field(response)
    if field == "app_error":
        app_error = response.app_error
        return str(app_error.detailed_error) if app_error.id == METHOD_NOT_ON_SERVER_ID else None
    if field == "error":
        message = str(response.error.message)
        if not message.startswith(_PLAIN_ERROR_PREFIX):
            return None
        # "<prefix>X (it is older than the method): <net/rpc's text>": keep net/rpc's text.
        return message.partition("): ")[2] or message
    return None


def error_for(client: Any, go_method: str, detail: str) -> ServerVersionError:
    """The error for a sync API client's call of ``go_method`` the server lacks; asks the
    server's version (``client.get_server_version()``) the first time in the process."""
    global _server_version
    if _server_version is None:
        try:
            _server_version = str(client.get_server_version()) or _UNKNOWN
        except Exception:  # the version only completes the message; ask again next time
            return error(go_method, _UNKNOWN, detail)
    return error(go_method, _server_version, detail)


async def async_error_for(client: Any, go_method: str, detail: str) -> ServerVersionError:
    """``error_for`` for an asyncio API client."""
    global _server_version
    if _server_version is None:
        try:
            _server_version = str(await client.get_server_version()) or _UNKNOWN
        except Exception:
            return error(go_method, _UNKNOWN, detail)
    return error(go_method, _server_version, detail)


def error(go_method: str, server_version: str, detail: str) -> ServerVersionError:
    """The ServerVersionError for a call of ``go_method`` the server answered it lacks."""
    known = api_versions().get(go_method)
    method = known.py_name if known else go_method
    required = known.min_version if known else ""
    if required and lacks(required, server_version):
        message = f"{method} needs Mattermost {required}; this server is {server_version}"
    elif required:
        # The Go comment says the server should have it; say so rather than guess.
        message = (
            f"{method} is not on this Mattermost server ({server_version}), although the plugin "
            f"API documents it since {required}"
        )
    else:
        message = f"{method} is not on this Mattermost server ({server_version})"
    return ServerVersionError(
        message,
        method=method,
        go_method=go_method,
        required_version=required,
        server_version=server_version,
        detailed_error=detail,
    )
