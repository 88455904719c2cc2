from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest


@pytest.fixture
def sock_path() -> Iterator[str]:
    """A unix socket path short enough for sun_path (pytest's tmp_path can be too long)."""
    d = tempfile.mkdtemp(prefix="mmgen", dir="/tmp")
    try:
        yield f"{d}/s.sock"
    finally:
        shutil.rmtree(d, ignore_errors=True)
