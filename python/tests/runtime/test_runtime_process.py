"""``python -I -m mmplugin._runtime`` as mmplugin-host starts it: bootstrap on fd 3, handshake
line on stdout, JSON log lines on stderr, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc  # type: ignore[import-untyped]

from mmplugin._runtime.auth import secret_metadata
from mmplugin.v1 import runtime_pb2, runtime_pb2_grpc

SECRET = "process-test-secret"

PLUGIN = """
import asyncio, logging
from mmplugin._runtime import Binding, register_binder

class Plugin:
    pass

def bind(plugin, ctx):
    loop = asyncio.get_running_loop()
    loop.call_later(0.05, print, "said on stdout")
    return Binding(implemented_hooks=lambda: ["OnDeactivate"])

register_binder(bind)
"""


class Child:
    def __init__(self, proc: subprocess.Popen[bytes], boot_w: int, sock: str) -> None:
        self.proc, self.boot_w, self.sock = proc, boot_w, sock

    def records(self) -> list[dict[str, Any]]:
        assert self.proc.stderr is not None
        out = []
        for line in self.proc.stderr.read().decode().splitlines():
            if line.startswith("{"):
                out.append(json.loads(line))
        return out


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="rp") as d:
        yield Path(d)


def _spawn(workdir: Path, bootstrap: bytes | None, entry: str = "plug:Plugin") -> Child:
    (workdir / "plug.py").write_text(PLUGIN)
    sock = str(workdir / "plugin.sock")
    r, w = os.pipe()
    if bootstrap is None:
        boot = {
            "format": 1,
            "plugin_id": "p",
            "plugin_dir": str(workdir),
            "entry_point": entry,
            "sys_path": [str(workdir)],
            "socket_dir": str(workdir),
            "plugin_socket": sock,
            "api_socket": str(workdir / "api.sock"),
            "secret": SECRET,
            "protocol_versions": [1],
            "log_level": "info",
        }
        bootstrap = json.dumps(boot).encode() + b"\n"

    def child_setup() -> None:
        os.dup2(r, 3)  # the host passes the bootstrap pipe as fd 3

    proc = subprocess.Popen(
        [sys.executable, "-I", "-m", "mmplugin._runtime"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
        close_fds=False,  # fd 3 must survive; our other fds are close-on-exec
        preexec_fn=child_setup,
        env={"PATH": os.environ.get("PATH", "")},
    )
    os.close(r)
    os.write(w, bootstrap)
    return Child(proc, w, sock)


def _channel(sock: str) -> grpc.Channel:
    return grpc.insecure_channel(f"unix:{sock}")


def test_lifecycle_handshake_then_shutdown(workdir: Path) -> None:
    child = _spawn(workdir, None)
    try:
        assert child.proc.stdout is not None
        line = child.proc.stdout.readline().decode()
        assert line == f"1|1|unix|{child.sock}|grpc\n"
        md = secret_metadata(SECRET)
        with _channel(child.sock) as ch:
            health = health_pb2_grpc.HealthStub(ch).Check(
                health_pb2.HealthCheckRequest(service="plugin"), metadata=md, timeout=5
            )
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            runtime = runtime_pb2_grpc.RuntimeServiceStub(ch)
            hs = runtime.Handshake(
                runtime_pb2.HandshakeRequest(protocol_versions=[1]), metadata=md, timeout=5
            )
            assert list(hs.implemented_hooks) == ["OnDeactivate"]
            time.sleep(0.2)  # let the plugin's print happen
            runtime.Shutdown(runtime_pb2.ShutdownRequest(grace_period_ms=500), metadata=md)
        assert child.proc.wait(timeout=10) == 0
        records = child.records()
        printed = [r for r in records if r["msg"] == "said on stdout"]
        assert printed == [{"level": "info", "msg": "said on stdout", "logger": "stdout"}]
        assert child.proc.stdout.read() == b""  # nothing but the handshake on the real stdout
    finally:
        os.close(child.boot_w)
        child.proc.kill()
        child.proc.wait()


def test_exits_when_the_host_goes_away(workdir: Path) -> None:
    child = _spawn(workdir, None)
    try:
        assert child.proc.stdout is not None
        assert child.proc.stdout.readline().startswith(b"1|1|unix|")
    finally:
        os.close(child.boot_w)  # what the kernel does when the host dies
    start = time.monotonic()
    code = child.proc.wait(timeout=10)
    assert time.monotonic() - start < 5
    assert code == 0
    msgs = [r["msg"] for r in child.records()]
    assert "mmplugin-host went away (bootstrap pipe closed); stopping the plugin" in msgs


def test_import_failure_exits_3_with_one_fatal_record(workdir: Path) -> None:
    child = _spawn(workdir, None, entry="plug:Missing")
    os.close(child.boot_w)
    assert child.proc.wait(timeout=10) == 3
    fatal = [r for r in child.records() if r.get("fatal")]
    assert [r["msg"] for r in fatal] == [
        "entry point 'plug:Missing' failed to import: module 'plug' has no attribute 'Missing'"
    ]


def test_bad_bootstrap_exits_2(workdir: Path) -> None:
    child = _spawn(workdir, b'{"format": 99}\n')
    os.close(child.boot_w)
    assert child.proc.wait(timeout=10) == 2
    (fatal,) = [r for r in child.records() if r.get("fatal")]
    assert fatal["msg"].startswith("invalid start-up: bootstrap format 99 is not supported")


def test_started_by_hand_explains_itself() -> None:
    proc = subprocess.run(
        [sys.executable, "-I", "-m", "mmplugin._runtime"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert b"started by mmplugin-host, not by hand" in proc.stderr
