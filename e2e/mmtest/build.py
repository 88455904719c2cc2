"""Build the real Mattermost servers once and cache them, keyed by their version.

Each server of the e2e matrix is compiled from the ``server/v8`` Go module pinned in its own
build module, ``e2e/mmserver/v<major>.<minor>/go.mod`` (modules of their own, so the servers'
dependencies never reach the main module or each other). ``MMTEST_SERVER=<major>.<minor>``
selects one (default: the newest); ``python -m mmtest test`` runs the suite on each. The binary
and the runtime assets the server looks up next to its executable (``i18n``, ``templates``,
``fonts``) are copied out of the Go module cache into::

    ${MMPLUGIN_CACHE:-~/.cache/mmplugin}/mattermost-server/<server/v8 version>/
        bin/mattermost  i18n/  templates/  fonts/  build-info.json

A cache entry is complete once ``build-info.json`` exists; a half-built entry is never used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from mmtest.errors import SetupError

E2E_DIR = Path(__file__).resolve().parent.parent
MMSERVER_DIR = E2E_DIR / "mmserver"
SERVER_ENV = "MMTEST_SERVER"
SERVER_MODULE = "github.com/mattermost/mattermost/server/v8"
PUBLIC_MODULE = "github.com/mattermost/mattermost/server/public"
SERVER_PACKAGE = SERVER_MODULE + "/cmd/mattermost"
RUNTIME_ASSETS = ("i18n", "templates", "fonts")
BUILD_INFO = "build-info.json"
# A cold build (empty Go caches, modules downloaded) takes 2.5-5 minutes on 2 cores.
BUILD_TIMEOUT_SECONDS = 45 * 60


@dataclass(frozen=True)
class ServerInstall:
    """A complete, cached Mattermost server build."""

    root: Path
    version: str

    @property
    def binary(self) -> Path:
        return self.root / "bin" / "mattermost"

    @property
    def info(self) -> dict[str, object]:
        info: dict[str, object] = json.loads((self.root / BUILD_INFO).read_text())
        return info


@dataclass(frozen=True)
class ServerBuild:
    """One build module of the matrix: ``e2e/mmserver/v<name>/`` (``name`` like ``"9.11"``)."""

    name: str

    @property
    def module_dir(self) -> Path:
        return MMSERVER_DIR / f"v{self.name}"

    @property
    def sort_key(self) -> tuple[int, ...]:
        return tuple(int(part) for part in self.name.split("."))

    def pinned_version(self, module: str = SERVER_MODULE) -> str:
        """The version of ``module`` this build module requires."""
        go_mod = (self.module_dir / "go.mod").read_text()
        match = re.search(rf"^\s*{re.escape(module)}\s+(v\S+)", go_mod, re.MULTILINE)
        if match is None:
            raise SetupError(f"{module} is not required in {self.module_dir / 'go.mod'}")
        return match.group(1)

    def inputs_sha256(self) -> str:
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            digest.update((self.module_dir / name).read_bytes())
        return digest.hexdigest()


def server_builds() -> list[ServerBuild]:
    """Every build module under ``e2e/mmserver``, oldest server first."""
    builds = [
        ServerBuild(path.parent.name[1:])
        for path in MMSERVER_DIR.glob("v*/go.mod")
        if re.fullmatch(r"v\d+\.\d+", path.parent.name)
    ]
    if not builds:
        raise SetupError(f"no server build module (v<major>.<minor>/go.mod) in {MMSERVER_DIR}")
    return sorted(builds, key=lambda b: b.sort_key)


def selected_build(name: str | None = None) -> ServerBuild:
    """The build ``name`` (else ``$MMTEST_SERVER``, else the newest), checked to exist."""
    builds = server_builds()
    name = name or os.environ.get(SERVER_ENV) or builds[-1].name
    for each in builds:
        if each.name == name.removeprefix("v"):
            return each
    known = ", ".join(b.name for b in builds)
    raise SetupError(f"no server build {name!r} in {MMSERVER_DIR} (there are: {known})")


def cache_root() -> Path:
    """``$MMPLUGIN_CACHE``, else ``~/.cache/mmplugin``."""
    configured = os.environ.get("MMPLUGIN_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "mmplugin"


def install_dir(version: str) -> Path:
    return cache_root() / "mattermost-server" / version


def cached_server(build: ServerBuild | None = None) -> ServerInstall | None:
    """The cached server of ``build`` (default: the selected one), or None if there is none.

    A build made from a different ``go.mod``/``go.sum`` (say, another dependency substitution)
    does not count.
    """
    build = build or selected_build()
    version = build.pinned_version()
    install = ServerInstall(install_dir(version), version)
    if not (install.root / BUILD_INFO).is_file() or not os.access(install.binary, os.X_OK):
        return None
    if install.info.get("inputs_sha256") != build.inputs_sha256():
        return None
    return install


def ensure_server(
    build: ServerBuild | None = None, *, force: bool = False, log: bool = True
) -> ServerInstall:
    """The cached server of ``build`` (default: the selected one), built first if it is
    missing (or ``force``). Each version has its own cache entry and lock."""
    build = build or selected_build()
    if not force and (install := cached_server(build)) is not None:
        return install
    version = build.pinned_version()
    root = install_dir(version)
    root.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive_lock(root.parent / f".{version}.lock"):
        # Another process may have finished the build while this one waited for the lock.
        if not force and (install := cached_server(build)) is not None:
            return install
        return _build(root, build, log=log)


def go_binary() -> str:
    go = shutil.which("go")
    if go is None:
        raise SetupError(
            "the Go toolchain is needed to build the Mattermost server: install Go "
            "(the newest `go` line of e2e/mmserver/v*/go.mod or newer) and put `go` on PATH"
        )
    return go


def _build(root: Path, build: ServerBuild, *, log: bool) -> ServerInstall:
    if platform.system() != "Linux":
        raise SetupError("the end-to-end server build is only supported on Linux")
    go = go_binary()
    version = build.pinned_version()
    staging = root.with_name(f".{root.name}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    (staging / "bin").mkdir(parents=True)
    if log:
        print(
            f"mmtest: building Mattermost server {version} into {root} "
            "(first time only; a cold build takes several minutes)",
            file=sys.stderr,
            flush=True,
        )
    started = time.monotonic()
    commit = version.rsplit("-", 1)[-1]
    ldflags = " ".join(
        f"-X {PUBLIC_MODULE}/model.{name}={value}"
        for name, value in (
            ("BuildNumber", f"{version}-mmplugin-e2e"),
            ("BuildHash", commit),
            ("BuildDate", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
            ("BuildEnterpriseReady", "false"),
        )
    )
    env = {**os.environ, "CGO_ENABLED": os.environ.get("CGO_ENABLED", "0")}
    try:
        _run(
            [go, "build", "-buildvcs=false", "-trimpath", "-ldflags", ldflags,
             "-o", str(staging / "bin" / "mattermost"), SERVER_PACKAGE],
            cwd=build.module_dir, env=env, timeout=BUILD_TIMEOUT_SECONDS,
        )  # fmt: skip
        module_dir = Path(
            _run([go, "list", "-m", "-f", "{{.Dir}}", SERVER_MODULE],
                 cwd=build.module_dir, env=env, timeout=300).strip()
        )  # fmt: skip
        for asset in RUNTIME_ASSETS:
            shutil.copytree(module_dir / asset, staging / asset)
            # The Go module cache is read-only; the copies need not be.
            for path in [staging / asset, *(staging / asset).rglob("*")]:
                path.chmod(0o755 if path.is_dir() else 0o644)
        public_dir = Path(
            _run([go, "list", "-m", "-f", "{{.Dir}}", PUBLIC_MODULE],
                 cwd=build.module_dir, env=env, timeout=300).strip()
        )  # fmt: skip
        go_version = _run([go, "env", "GOVERSION"], cwd=build.module_dir, env=env, timeout=60)
        seconds = round(time.monotonic() - started, 1)
        info = {
            "mattermost_version": _current_version(public_dir / "model" / "version.go"),
            "server_v8_version": version,
            "build_module": f"e2e/mmserver/v{build.name}",
            "server_public_version": build.pinned_version(PUBLIC_MODULE),
            "commit": commit,
            "inputs_sha256": build.inputs_sha256(),
            "go": go_version.strip(),
            "build_seconds": seconds,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (staging / BUILD_INFO).write_text(json.dumps(info, indent=2) + "\n")
        shutil.rmtree(root, ignore_errors=True)
        staging.rename(root)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if log:
        print(f"mmtest: built Mattermost server in {seconds:.0f}s", file=sys.stderr, flush=True)
    return ServerInstall(root, version)


def _current_version(version_go: Path) -> str:
    """``model.CurrentVersion``: the first entry of ``versions`` in model/version.go."""
    match = re.search(r"var versions = \[\]string\{\s*\"([^\"]+)\"", version_go.read_text())
    return match.group(1) if match else "unknown"


def _run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float) -> str:
    try:
        done = subprocess.run(
            args, cwd=cwd, env=env, timeout=timeout, capture_output=True, text=True, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise SetupError(f"`{' '.join(args[:2])}` took longer than {timeout:.0f}s") from exc
    if done.returncode != 0:
        raise SetupError(
            f"`{' '.join(args[:2])}` failed in {cwd} (exit {done.returncode}):\n"
            f"{done.stderr[-4000:]}"
        )
    return done.stdout


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
