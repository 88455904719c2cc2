"""Hook sweep plugin: defines every hook of the SDK's hook table, generated at import time.

Installed by internal/host/sweep_test.go as the bundle's ``plugin.py``. Each handler logs
``sweep hook`` with ``hook=<Go name>`` through the API (synchronously, so the record exists when
the hook returns) and answers the hook's "no change" value: None where the hook allows it, 0 for
RunDataRetention, True for OnSharedChannelsPing, an empty SyncResponse for
OnSharedChannelsSyncMsg. ServeHTTP/ServeMetrics echo the request; FileWillBeUploaded writes the
upload back upper-cased.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mmplugin import Plugin
from mmplugin._dispatch import HookSpec, Outcome
from mmplugin._gen import models
from mmplugin._gen.hooks import HOOKS


def no_change(spec: HookSpec) -> Any:
    members = [m.strip() for m in spec.returns.split("|")]
    if "None" in members:
        return None
    if members == ["int"]:
        return 0
    if members == ["bool"]:
        return True
    return getattr(models, members[0])()


def make_handler(spec: HookSpec) -> Callable[..., Any]:
    name = spec.go_name

    if spec.outcome is Outcome.HTTP:

        def serve(self: Plugin, ctx: Any, w: Any, r: Any) -> None:
            self.api.log_info("sweep hook", hook=name)
            body = r.read()
            w.start(200, {"Content-Type": "text/plain", "X-Sweep-Hook": name})
            w.write(f"{name} {r.method} {r.url} {body.decode()}".encode())

        return serve

    if spec.outcome is Outcome.UPLOAD:

        def upload(self: Plugin, ctx: Any, info: Any, file: Any, output: Any) -> None:
            self.api.log_info("sweep hook", hook=name, file=info.name)
            output.write(file.read().upper())

        return upload

    result = no_change(spec)

    def handler(self: Plugin, *args: Any) -> Any:
        self.api.log_info("sweep hook", hook=name)
        return result

    return handler


TestPlugin = type(
    "TestPlugin",
    (Plugin,),
    {
        "__module__": __name__,
        **{s.py_name: make_handler(s) for s in HOOKS if s.outcome is not Outcome.IMPLEMENTED},
    },
)
