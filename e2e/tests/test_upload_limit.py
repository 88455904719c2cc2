"""The plugin upload limit of a stock server's default settings, measured.

POST /api/v4/plugins is a "file API" route: Mattermost caps its request body at
FileSettings.MaxFileSize + 512 bytes (default 100 MiB; channels/web/handlers.go). The 50 MiB
constant in the upload handler (MaxPluginMemory) only decides how much of the multipart form is
held in memory, not what is accepted. ``mmplugin bundle`` warns above 100 MiB
(mmplugin.bundle.tarball.MAX_UPLOAD_BYTES); this proves the number on the real server.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import httpx
import pytest
from mmplugin.bundle.tarball import MAX_UPLOAD_BYTES

from mmtest.api import APIError, MattermostAPI
from mmtest.versions import ServerVersion

PLUGIN_ID = "com.mmplugin.e2e.bigbundle"
DEFAULT_MAX_FILE_SIZE = 100 * 1024 * 1024


def _bundle(path: Path, size: int) -> Path:
    """A valid plugin bundle (manifest only, no server part) padded with random bytes to
    ``size`` bytes or at most 16 KiB less (tar's blocks make the exact size hard to hit). Stored
    (gzip level 0): padding adds its own size, and nothing is spent compressing random bytes."""
    manifest = json.dumps({"id": PLUGIN_ID, "name": "big", "version": "0.1.0"}).encode()
    filler = 0
    for _ in range(3):
        raw = io.BytesIO()
        with (
            gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, compresslevel=0) as gz,
            tarfile.open(fileobj=gz, mode="w") as tar,
        ):
            for name, data in (("plugin.json", manifest), ("filler.bin", os.urandom(filler))):
                info = tarfile.TarInfo(f"{PLUGIN_ID}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        if size - 16384 <= len(raw.getvalue()) <= size:
            break
        filler += size - len(raw.getvalue()) - 8192
    assert size - 16384 <= len(raw.getvalue()) <= size, "could not pad the bundle"
    path.write_bytes(raw.getvalue())
    return path


def test_the_default_limit_is_file_settings_max_file_size(admin_api: MattermostAPI) -> None:
    config = admin_api.get("/config")
    assert config["FileSettings"]["MaxFileSize"] == DEFAULT_MAX_FILE_SIZE == MAX_UPLOAD_BYTES


def test_a_bundle_at_the_limit_installs_and_one_over_it_is_refused(
    admin_api: MattermostAPI, tmp_path: Path, server_version: ServerVersion
) -> None:
    # Over the 50 MiB people quote, at the limit: accepted and installed.
    fits = _bundle(tmp_path / "fits.tar.gz", MAX_UPLOAD_BYTES)
    manifest = admin_api.upload_plugin(fits)
    try:
        assert manifest["id"] == PLUGIN_ID
        assert any(p["id"] == PLUGIN_ID for p in admin_api.get("/plugins")["inactive"])
    finally:
        admin_api.remove_plugin(PLUGIN_ID)

    # The cap is on the whole request body (the form around the file included), at
    # MaxFileSize + 512: a file just over the limit is refused with 413.
    over = _bundle(tmp_path / "over.tar.gz", MAX_UPLOAD_BYTES + 16384 + 1024)
    try:
        admin_api.upload_plugin(over)
    except APIError as e:
        if server_version < "10.10":
            # Expected on 9.11: the server answers Go's own MaxBytesReader error as a 400
            # ("http: request body too large"), not its 413 AppError.
            assert e.status_code == 400, e
            assert "request body too large" in str(e), e
        else:
            assert e.status_code == 413, e
            assert e.error_id == "api.plugin.upload.file_too_large.app_error", e
    except httpx.TransportError as e:  # pragma: no cover - the server may close mid-upload
        pytest.fail(f"the server closed the connection instead of answering 413: {e!r}")
    else:
        pytest.fail("a bundle over FileSettings.MaxFileSize was accepted")
