"""pytest fixtures for the end-to-end suite: one real Mattermost server per session.

The server is the build ``$MMTEST_SERVER`` selects (``e2e/mmserver/v<major>.<minor>``; default:
the newest); ``python -m mmtest test`` runs the suite once per server of the matrix.

Fixtures other suites can reuse:
    mm_server       the running MattermostServer (session)
    server_version  the version it reports, as a ServerVersion ("9.11.0", compares with "10.10")
    admin_api       MattermostAPI as the system admin (session)
    new_user        factory: new_user() -> (Credentials, MattermostAPI), closed after the test
    team, channel   a new open team and a public channel in it, created by the admin
    unique          a short random suffix for names
    go_plugin       the Go twin plugin, installed and running (session); its manifest
Helpers live in mmtest: MattermostAPI.install_plugin(bundle_path), .wait_for_plugin(id),
mmtest.bundle.pack_directory(dir, out), mmtest.ws.EventStream(url, token).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from mmtest.api import JSON, MattermostAPI
from mmtest.build import ensure_server, selected_build
from mmtest.bundle import build_go_plugin
from mmtest.errors import MMTestError
from mmtest.matrix import RESULTS_ENV
from mmtest.net import tail
from mmtest.server import Credentials, MattermostServer, NewUser
from mmtest.versions import ServerVersion

_running: list[MattermostServer] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    # Build (or find cached) before any test runs, outside the per-test timeout.
    if not session.config.option.collectonly:
        try:
            ensure_server()
        except MMTestError as exc:
            pytest.exit(f"mmtest: {exc}", returncode=pytest.ExitCode.INTERNAL_ERROR)


def pytest_report_header(config: pytest.Config) -> str:
    server = selected_build()
    return f"Mattermost server build: e2e/mmserver/v{server.name} ({server.pinned_version()})"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # The counts `python -m mmtest test` puts into its matrix line (errors count as failed).
    results = os.environ.get(RESULTS_ENV)
    if results:
        stats = terminalreporter.stats
        counts = {
            "passed": len(stats.get("passed", [])),
            "failed": len(stats.get("failed", [])) + len(stats.get("error", [])),
        }
        Path(results).write_text(json.dumps(counts) + "\n")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and _running:
        server = _running[0]
        report.sections.append(
            (f"Mattermost server log ({server.log_path})", tail(server.log_path))
        )
    return report


@pytest.fixture(scope="session")
def mm_server() -> Iterator[MattermostServer]:
    with MattermostServer() as server:
        _running.append(server)
        try:
            yield server
        finally:
            _running.remove(server)


@pytest.fixture(scope="session")
def server_version(mm_server: MattermostServer) -> ServerVersion:
    """What the running server reports (``model.CurrentVersion`` of its build)."""
    assert mm_server.install is not None
    return ServerVersion.parse(str(mm_server.install.info["mattermost_version"]))


@pytest.fixture(scope="session")
def admin_api(mm_server: MattermostServer) -> MattermostAPI:
    return mm_server.admin_api


@pytest.fixture
def unique() -> str:
    return secrets.token_hex(4)


@pytest.fixture
def new_user(mm_server: MattermostServer, admin_api: MattermostAPI) -> Iterator[NewUser]:
    """Creates users (by the admin), logs each in; their sessions are closed afterwards."""
    sessions: list[MattermostAPI] = []

    def create() -> tuple[Credentials, MattermostAPI]:
        username = f"user-{secrets.token_hex(4)}"
        password = "Mm-" + secrets.token_urlsafe(12) + "-1aA"
        user = admin_api.create_user(username, password)
        with mm_server.api() as anonymous:
            token, _ = anonymous.login(username, password)
        session = mm_server.api(token)
        sessions.append(session)
        return Credentials(user["id"], username, user["email"], password, token), session

    yield create
    for session in sessions:
        session.close()


@pytest.fixture
def team(admin_api: MattermostAPI, unique: str) -> JSON:
    """A new open team (the admin is its member)."""
    return admin_api.create_team(f"team-{unique}", f"Team {unique}")


@pytest.fixture
def channel(admin_api: MattermostAPI, team: JSON, unique: str) -> JSON:
    """A new public channel in ``team``."""
    return admin_api.create_channel(team["id"], f"channel-{unique}", f"Channel {unique}")


@pytest.fixture(scope="session")
def go_plugin(admin_api: MattermostAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[JSON]:
    """The Go twin plugin (com.mmplugin.e2e.goplugin), uploaded, enabled and running."""
    bundle = build_go_plugin(tmp_path_factory.mktemp("goplugin"))
    manifest = admin_api.install_plugin(bundle)
    yield manifest
    admin_api.remove_plugin(manifest["id"])
