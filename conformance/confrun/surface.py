"""Which plugin.API methods and hooks exist: those mmplugin pins (python/src/mmplugin/_gen/
surface.json) and those of the server under test, read from the Go source of its
``server/public`` module (the version the selected e2e server build module requires:
``$MMTEST_SERVER``, else the newest) in the Go module cache."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from mmtest.build import selected_build

REPO = Path(__file__).resolve().parents[2]
SURFACE = REPO / "python" / "src" / "mmplugin" / "_gen" / "surface.json"
PUBLIC = "github.com/mattermost/mattermost/server/public"


def pinned_api() -> list[str]:
    return [m["go"] for m in json.loads(SURFACE.read_text())["api"]]


def pinned_hooks() -> list[str]:
    return [h["go"] for h in json.loads(SURFACE.read_text())["hooks"]]


def server_public_dir() -> Path:
    version = selected_build().pinned_version(PUBLIC)
    cache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    path = Path(cache) / f"{PUBLIC}@{version}"
    if not path.is_dir():
        raise RuntimeError(
            f"{path} is missing: build the server first (cd e2e && python -m mmtest build)"
        )
    return path


def interface_methods(go_file: Path, interface: str) -> list[str]:
    """Method names of ``type <interface> interface { ... }`` in ``go_file``."""
    lines = go_file.read_text().splitlines()
    start = lines.index(f"type {interface} interface {{")
    names = []
    for line in lines[start + 1 :]:
        if line.startswith("}"):
            break
        if m := re.match(r"^\t([A-Z]\w*)\(", line):
            names.append(m.group(1))
    return names


def server_api() -> set[str]:
    return set(interface_methods(server_public_dir() / "plugin" / "api.go", "API"))


# Hooks interface methods the server never fires as a hook (Implemented is the handshake).
NOT_FIRED = {"Implemented"}


def server_hooks() -> set[str]:
    """The hooks the server fires: its Hooks interface without NOT_FIRED."""
    found = set(interface_methods(server_public_dir() / "plugin" / "hooks.go", "Hooks"))
    return found - NOT_FIRED
