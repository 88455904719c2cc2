"""The Python side of mmplugin's conformance suite: one ``self.api`` call per HTTP request.

POST /call {"method": "GetUser", "args": [...]} calls ``self.api.get_user`` with the arguments
decoded into the SDK's types (by the method's type hints) and answers the canonical JSON of the
outcome, as the Go probe (conformance/goprobe) does for ``plugin.API``.
"""

from __future__ import annotations

import base64
import inspect
import json
import re
import typing
from pathlib import Path
from typing import Any

from mmplugin import Context, Plugin
from mmplugin._gen import api as generated_api
from mmplugin._jsoncodec import decode_as
from mmplugin._streams import SyncHTTPRequest, SyncResponseWriter

from pyprobe.canon import encode, encode_error
from pyprobe.hooks import RecordingHooks

# Go parameters a Python method does not take: LoadPluginConfiguration's dest (Python returns
# the configuration instead).
_GO_ONLY_PARAMS = {"LoadPluginConfiguration": 1}


def snake(go_name: str) -> str:
    """The SDK's Python name of a Go method (``GetUsersByIds`` → ``get_users_by_ids``)."""
    out = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", go_name)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", out).lower()


class Probe(RecordingHooks, Plugin):
    def serve_http(self, ctx: Context, w: SyncResponseWriter, r: SyncHTTPRequest) -> None:
        path = r.url.split("?")[0]
        if path in ("/hooks", "/hooks/start"):
            if r.method == "POST":
                self.hooks.start()
            w.start(200, [("Content-Type", "application/json")])
            w.write(json.dumps({"events": self.hooks.events()}).encode())
            return
        if path != "/call" or r.method != "POST":
            w.start(404)
            w.write(b"not found")
            return
        try:
            request = json.loads(r.read())
            answer = call(self.api, str(request["method"]), list(request.get("args") or []))
        except Exception as exc:  # the probe answers every failure as data
            answer = {"probe_error": f"{type(exc).__name__}: {exc}"}
        w.start(200, [("Content-Type", "application/json")])
        w.write(json.dumps(answer).encode())


def call(api: Any, go_method: str, args: list[Any]) -> dict[str, Any]:
    """One call of ``api`` (the SDK's API, or anything with its methods: the testing fake) by
    Go method name, answered in canonical form."""
    name = _python_name(go_method)
    method = getattr(api, name, None)
    if method is None:
        return {"probe_error": f"the SDK's API has no method {name} (Go {go_method})"}
    args = args[_GO_ONLY_PARAMS.get(go_method, 0) :]
    hints = typing.get_type_hints(method)
    params = list(inspect.signature(method).parameters.values())
    positional: list[Any] = []
    keywords: dict[str, Any] = {}
    for i, param in enumerate(params):
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            pairs = args[i] if i < len(args) else []
            keywords = {str(k): v for k, v in zip(pairs[::2], pairs[1::2], strict=True)}
            break
        if i >= len(args):
            return {"probe_error": f"{name} takes {len(params)} arguments, got {len(args)}"}
        hint = hints.get(param.name, Any)
        if "BinaryData" in str(hint):
            positional.append(base64.b64decode(args[i] or ""))
        else:
            positional.append(decode_as(args[i], hint, f"{name} arg {i}"))
    try:
        result = method(*positional, **keywords)
    except Exception as exc:
        error = encode_error(exc)
        if error is None:
            return {"probe_error": f"{type(exc).__name__}: {exc}"}
        return {"error": error}
    returns = hints.get("return")
    if returns is type(None) or returns is None:
        return {"result": []}
    if typing.get_origin(returns) is tuple:
        return {"result": encode(list(result))}
    return {"result": [encode(result)]}


def _python_name(go_method: str) -> str:
    """The Python name the generator's surface.json gives a Go method (else its snake case)."""
    if not _SURFACE:
        surface = Path(generated_api.__file__).parent / "surface.json"
        if surface.is_file():
            data = json.loads(surface.read_text())
            _SURFACE.update({m["go"]: m["python"] for m in data["api"]})
    return _SURFACE.get(go_method, snake(go_method))


_SURFACE: dict[str, str] = {}
