from __future__ import annotations

import json
import os
from typing import Any

import pytest

from mmplugin._runtime.bootstrap import Bootstrap, BootstrapError, read_bootstrap


def _raw(**over: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "format": 1,
        "plugin_id": "com.example.p",
        "plugin_dir": "/plugins/p",
        "entry_point": "p:Plugin",
        "sys_path": ["/plugins/p"],
        "socket_dir": "/tmp/d",
        "plugin_socket": "/tmp/d/plugin.sock",
        "api_socket": "/tmp/d/api.sock",
        "secret": "s3cr3t-value",
        "protocol_versions": [1],
        "log_level": "debug",
    }
    raw.update(over)
    return raw


def test_parses_all_fields_and_hides_the_secret_in_repr() -> None:
    b = Bootstrap.from_json(json.dumps(_raw()))
    assert b.plugin_id == "com.example.p"
    assert b.sys_path == ("/plugins/p",)
    assert b.protocol_versions == (1,)
    assert b.secret == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(b)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1]", "must be a JSON object"),
        (json.dumps(_raw(format=2)), "bootstrap format 2 is not supported"),
        (json.dumps(_raw(secret="")), "'secret' must be a non-empty string"),
        (json.dumps(_raw(plugin_socket=3)), "'plugin_socket' must be a non-empty string"),
        (json.dumps(_raw(sys_path=[1])), "'sys_path' must be a list of strings"),
        (json.dumps(_raw(protocol_versions=[])), "'protocol_versions' must be a non-empty"),
        (json.dumps(_raw(protocol_versions=[True])), "'protocol_versions' must be a non-empty"),
    ],
)
def test_rejects_bad_bootstraps(raw: str, message: str) -> None:
    with pytest.raises(BootstrapError, match=message):
        Bootstrap.from_json(raw)


def test_reads_one_line_from_the_pipe_and_leaves_it_open() -> None:
    r, w = os.pipe()
    try:
        data = json.dumps(_raw()).encode() + b"\n"
        # Arrives in two pieces, as a pipe may deliver it.
        os.write(w, data[:10])
        os.write(w, data[10:])
        b = read_bootstrap(r)
        assert b.entry_point == "p:Plugin"
        assert not os.get_inheritable(r)
        os.write(w, b"more")  # still open: the watchdog keeps reading it
        assert os.read(r, 4) == b"more"
    finally:
        os.close(r)
        os.close(w)


def test_eof_before_the_bootstrap() -> None:
    r, w = os.pipe()
    os.write(w, b'{"format": 1')
    os.close(w)
    try:
        with pytest.raises(BootstrapError, match="closed before the bootstrap arrived"):
            read_bootstrap(r)
    finally:
        os.close(r)


def test_fd_not_open() -> None:
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(BootstrapError, match="started by mmplugin-host, not by hand"):
        read_bootstrap(r)
