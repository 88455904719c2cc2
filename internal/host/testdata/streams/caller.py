"""Plugin A of the PluginHTTP tests: its handlers call other plugins through API.PluginHTTP.

/relay streams a generated body up to the plain plugin's /upload (which hashes it) and
streams that plugin's /download back, hashing it here; /go stores and reads back a value
through the harness's Go plugin (POST and GET /kv/<key>).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator

from mmplugin import Context, Plugin
from mmplugin.http import SyncHTTPRequest, SyncResponseWriter

PATTERN = bytes(range(256)) * 256


def generate(size: int) -> Iterator[bytes]:
    sent = 0
    while sent < size:
        chunk = PATTERN[: min(len(PATTERN), size - sent)]
        sent += len(chunk)
        yield chunk


class TestPlugin(Plugin):
    def serve_http(
        self, ctx: Context, w: SyncResponseWriter, r: SyncHTTPRequest
    ) -> None:
        path, _, query = r.url.partition("?")
        result: dict[str, object] = {}
        if path == "/relay":
            target = query.removeprefix("target=")
            size = int(r.header("X-Size") or "0")
            with self.api.plugin_http(
                "POST",
                f"/{target}/upload",
                headers={"Content-Type": "application/octet-stream"},
                body=generate(size),
            ) as up:
                result["upload_status"] = up.status_code
                result["upload_answer"] = up.read().decode()
                result["source_plugin"] = up.header("X-Source-Plugin")
            digest = hashlib.sha256()
            count = 0
            with self.api.plugin_http(
                "GET", f"/{target}/download?bytes={size}"
            ) as down:
                result["download_status"] = down.status_code
                for chunk in down.iter_body():
                    digest.update(chunk)
                    count += len(chunk)
            result["download_answer"] = f"{count} {digest.hexdigest()}"
        elif path == "/go":
            target = query.removeprefix("target=")
            value = r.read()
            with self.api.plugin_http(
                "POST", f"/{target}/kv/relayed", body=iter([value])
            ) as put:
                result["put_status"] = put.status_code
            with self.api.plugin_http("GET", f"/{target}/kv/relayed") as got:
                result["get_status"] = got.status_code
                result["value"] = got.read().decode()
            with self.api.plugin_http("GET", f"/{target}/kv/missing") as missing:
                result["missing_status"] = missing.status_code
        else:
            w.start(404)
            return
        w.start(200, [("Content-Type", "application/json")])
        w.write(json.dumps(result).encode())
