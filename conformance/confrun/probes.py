"""The two probe plugins: build, install, and one call through each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmtest import pyplugin
from mmtest.api import MattermostAPI
from mmtest.bundle import build_go_plugin
from mmtest.server import MattermostServer

CONFORMANCE_DIR = Path(__file__).resolve().parents[1]
GO_PROBE_DIR = CONFORMANCE_DIR / "goprobe"
PY_PROBE_DIR = CONFORMANCE_DIR / "pyprobe"
GO_ID = "com.mmplugin.conformance.go"
PY_ID = "com.mmplugin.conformance.py"


@dataclass(frozen=True)
class Probe:
    """One installed probe: ``call`` sends one API call to it and returns its answer."""

    language: str
    plugin_id: str
    api: MattermostAPI

    def call(self, method: str, args: list[Any]) -> dict[str, Any]:
        response = self.api.plugin_http(
            self.plugin_id, "POST", "/call", json={"method": method, "args": args}
        )
        if response.status_code != 200:
            return {"probe_error": f"HTTP {response.status_code}: {response.text[:300]}"}
        answer: dict[str, Any] = response.json()
        return answer


def install(server: MattermostServer, work: Path) -> tuple[Probe, Probe]:
    """Build both probes, install them on ``server``; returns (Go probe, Python probe)."""
    go_bundle = build_go_plugin(work / "go", GO_PROBE_DIR)
    server.admin_api.install_plugin(go_bundle)
    host = pyplugin.build_host(work / "host")
    py_bundle = pyplugin.bundle(PY_PROBE_DIR, work / "py", host.path)
    pyplugin.deploy(py_bundle.path, server.url, server.admin.token)
    return Probe("go", GO_ID, server.admin_api), Probe("python", PY_ID, server.admin_api)
