"""pytest fixtures for the end-to-end suite: one real Mattermost server per session.

Fixtures other suites can reuse:
    mm_server       the running MattermostServer (session)
    admin_api       MattermostAPI as the system admin (session)
    new_user        factory: new_user() -> (Credentials, MattermostAPI), closed after the test
    team, channel   a new open team and a public channel in it, created by the admin
    unique          a short random suffix for names
    go_plugin       the Go twin plugin, installed and running (session); its manifest
Helpers live in mmtest: MattermostAPI.install_plugin(bundle_path), .wait_for_plugin(id),
mmtest.bundle.pack_directory(dir, out), mmtest.ws.EventStream(url, token).
"""

from __future__ import annotations

import secrets
from collections.abc import Generator, Iterator

import pytest

from mmtest.api import JSON, MattermostAPI
from mmtest.build import ensure_server
from mmtest.bundle import build_go_plugin
from mmtest.errors import MMTestError
from mmtest.net import tail
from mmtest.server import Credentials, MattermostServer, NewUser

_running: list[MattermostServer] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    # Build (or find cached) before any test runs, outside the per-test timeout.
    if not session.config.option.collectonly:
        try:
            ensure_server()
        except MMTestError as exc:
            pytest.exit(f"mmtest: {exc}", returncode=pytest.ExitCode.INTERNAL_ERROR)


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
