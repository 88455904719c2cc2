"""GET /plugins/com.mmplugin.e2e.whereami/whereami: the interpreter, and every module file and
mapped shared library of this process that lies outside the plugin directory."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable
from typing import Any

import mmplugin.http
from mmplugin import Plugin


def _outside(paths: Iterable[str], root: str) -> list[str]:
    out = set()
    for p in paths:
        real = os.path.realpath(p)
        if os.path.commonpath([real, root]) != root:
            out.add(real)
    return sorted(out)


def _mapped_files() -> list[str]:
    with open("/proc/self/maps", encoding="utf-8") as maps:
        fields = (line.split(maxsplit=5) for line in maps)
        return [f[5].strip() for f in fields if len(f) == 6 and f[5].startswith("/")]


def report() -> dict[str, Any]:
    root = os.path.realpath(os.getcwd())  # the host starts Python in the plugin directory
    modules = [getattr(m, "__file__", None) for m in list(sys.modules.values())]
    return {
        "plugin_dir": root,
        "executable": os.path.realpath(sys.executable),
        "base_prefix": os.path.realpath(sys.base_prefix),
        "version": ".".join(map(str, sys.version_info[:3])),
        "modules_outside": _outside((m for m in modules if m), root),
        "maps_outside": _outside(_mapped_files(), root),
    }


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps(report()).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


class WhereAmI(Plugin):
    serve_http = mmplugin.http.wsgi(app)
