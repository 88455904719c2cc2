"""What the server does with hook results: the Python plugin beside its Go twin, real server.

e2e/plugins/hookres (Python) and e2e/goplugin/hookres (Go) answer the same hooks the same way,
each in its language's idiom: the Python one returns None to keep an edit, the Go one returns
the edited post; None and nil from MessagesWillBeConsumed; an AppError, or an exception (a panic
in Go), from a command. Each scenario runs with no plugin, then with the Go twin alone, then
with the Python twin alone (one enabled at a time, since the server chains MessageWillBeUpdated
through every plugin), and the test asserts the two plugins give the same result.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mmtest import pyplugin
from mmtest.api import JSON, APIError, MattermostAPI, PluginState
from mmtest.bundle import GOPLUGIN_DIR, build_go_plugin
from mmtest.server import MattermostServer, NewUser

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"
GO_ID = "com.mmplugin.e2e.hookres.go"
PY_ID = "com.mmplugin.e2e.hookres.py"
TRIGGERS = {GO_ID: "hookres-go", PY_ID: "hookres-py"}
NO_EDIT_REASON = "edits containing noedit are not allowed"
CONSUMED_MESSAGE = "replaced by the plugin when read"
# Props that a second trip through the RPC encoding used to change (an empty list came back null).
AWKWARD_PROPS: dict[str, Any] = {
    "empty_list": [],
    "empty_map": {},
    "nested": {"a": [1, 2.5, "three", None, True, {"b": []}]},
    "unicode": "grüße ✓",
    "big": 2**53,
}


@dataclass
class Twins:
    api: MattermostAPI
    ids: tuple[str, ...]

    def only(self, plugin_id: str | None) -> None:
        """Enable one twin (or none), disable the other."""
        for pid in self.ids:
            if pid != plugin_id:
                self.api.disable_plugin(pid)
        for pid in self.ids:
            if pid != plugin_id:
                self.api.wait_for_plugin(pid, PluginState.NOT_RUNNING)
        if plugin_id is not None:
            self.api.enable_plugin(plugin_id)
            self.api.wait_for_plugin(plugin_id)


@pytest.fixture(scope="module")
def twins(
    mm_server: MattermostServer, admin_api: MattermostAPI, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Twins]:
    work = tmp_path_factory.mktemp("hookres")
    go_bundle = build_go_plugin(work / "go", GOPLUGIN_DIR / "hookres")
    host = pyplugin.build_host(work / "host")
    py_bundle = pyplugin.bundle(PLUGINS_DIR / "hookres", work / "py", host.path)
    admin_api.install_plugin(go_bundle)
    pyplugin.deploy(py_bundle.path, mm_server.url, mm_server.admin.token)
    yield Twins(admin_api, (GO_ID, PY_ID))
    for pid in (GO_ID, PY_ID):
        admin_api.remove_plugin(pid)


@pytest.fixture
def author(new_user: NewUser, admin_api: MattermostAPI, team: JSON, channel: JSON) -> MattermostAPI:
    creds, api = new_user()
    admin_api.add_team_member(team["id"], creds.user_id)
    admin_api.add_channel_member(channel["id"], creds.user_id)
    return api


def _each(twins: Twins, run: Callable[[str | None], Any]) -> dict[str | None, Any]:
    """run(plugin id or None) with no plugin, the Go twin alone, then the Python twin alone."""
    results = {}
    for pid in (None, GO_ID, PY_ID):
        twins.only(pid)
        results[pid] = run(pid)
    return results


def test_an_edit_passes_a_hook_that_keeps_it(
    twins: Twins, author: MattermostAPI, channel: JSON
) -> None:
    def edit(pid: str | None) -> tuple[int, str, str]:
        post = author.create_post(channel["id"], f"original {pid}")
        patched = author.call("PUT", f"/posts/{post['id']}/patch", json={"message": "edited"})
        stored = author.get(f"/posts/{post['id']}")
        return patched.status_code, patched.json()["message"], stored["message"]

    results = _each(twins, edit)
    # Python's None keeps the edit, as the Go twin's returning it does (a Go nil would reject).
    assert results[PY_ID] == results[GO_ID] == results[None] == (200, "edited", "edited")


def test_a_rejected_edit_shows_the_same_reason(
    twins: Twins, author: MattermostAPI, channel: JSON
) -> None:
    def reject(pid: str | None) -> tuple[int, str, str]:
        post = author.create_post(channel["id"], "keep me")
        try:
            author.call("PUT", f"/posts/{post['id']}/patch", json={"message": "noedit please"})
        except APIError as err:
            return err.status_code, err.detail, author.get(f"/posts/{post['id']}")["message"]
        return 200, "", author.get(f"/posts/{post['id']}")["message"]

    results = _each(twins, reject)
    assert results[None] == (200, "", "noedit please")
    expected = (400, f"Post rejected by plugin. {NO_EDIT_REASON}", "keep me")
    assert results[GO_ID] == results[PY_ID] == expected


def test_posts_read_through_a_keeping_hook_are_byte_for_byte_the_servers(
    twins: Twins, author: MattermostAPI, channel: JSON
) -> None:
    kept = author.create_post(channel["id"], "read me as I am", props=AWKWARD_PROPS)
    replaced = author.create_post(channel["id"], "consume-replace me")

    def read(pid: str | None) -> tuple[bytes, bytes, str]:
        one = author.call("GET", f"/posts/{kept['id']}").content
        page = author.call("GET", f"/channels/{channel['id']}/posts").json()
        page_post = json.dumps(page["posts"][kept["id"]], sort_keys=True).encode()
        return one, page_post, page["posts"][replaced["id"]]["message"]

    results = _each(twins, read)
    baseline_one, baseline_page, original = results[None]
    assert original == "consume-replace me"
    assert json.loads(baseline_one)["props"] == AWKWARD_PROPS
    for pid in (GO_ID, PY_ID):
        one, page_post, replaced_message = results[pid]
        # The hook ran (it replaced the marked post), and left every other post as it was.
        assert replaced_message == CONSUMED_MESSAGE, pid
        assert one == baseline_one, pid
        assert page_post == baseline_page, pid


def _command_error(api: MattermostAPI, channel: JSON, command: str) -> tuple[int, str, str]:
    try:
        api.execute_command(channel["id"], command, channel["team_id"])
    except APIError as err:
        return err.status_code, err.error_id, err.detail
    raise AssertionError(f"{command} did not fail")


def _normalized(pid: str, result: tuple[int, str, str]) -> tuple[int, str, str]:
    status, error_id, message = result
    return status, error_id, message.replace(TRIGGERS[pid], "TRIGGER").replace(pid, "PLUGIN")


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ("fail", (503, "The weather service is down", "The weather service is down")),
        ("failid", (503, "weather.down", "nicer text")),
    ],
)
def test_users_see_a_commands_app_error_as_the_plugin_wrote_it(
    twins: Twins, author: MattermostAPI, channel: JSON, sub: str, expected: tuple[int, str, str]
) -> None:
    seen = {}
    for pid in (GO_ID, PY_ID):
        twins.only(pid)
        seen[pid] = _command_error(author, channel, f"/{TRIGGERS[pid]} {sub}")
    assert seen[PY_ID] == seen[GO_ID] == expected


def test_a_crashing_command_names_the_command_and_the_plugin(
    twins: Twins, author: MattermostAPI, channel: JSON
) -> None:
    seen = {}
    for pid in (PY_ID, GO_ID):  # the Go twin last: its panic takes its process down
        twins.only(pid)
        seen[pid] = _normalized(pid, _command_error(author, channel, f"/{TRIGGERS[pid]} crash"))
    expected = (
        500,
        "model.plugin_command_crash.error.app_error",
        "/TRIGGER command crashed the PLUGIN plugin. Please contact your system administrator",
    )
    assert seen[PY_ID] == seen[GO_ID] == expected
    twins.only(None)  # restarts the Go twin's process for the tests after this one
    # The Python process did not crash: the command still answers.
    twins.only(PY_ID)
    response = author.execute_command(channel["id"], f"/{TRIGGERS[PY_ID]}", channel["team_id"])
    assert response["text"] == "ok"


def test_a_crashing_http_handler_answers_500_without_its_details(
    twins: Twins, author: MattermostAPI
) -> None:
    seen = {}
    for pid in (PY_ID, GO_ID):  # the Go twin last: its panic takes its process down
        twins.only(pid)
        response = author.plugin_http(pid, "GET", "/crash")
        seen[pid] = (response.status_code, response.text)
        assert "secret detail" not in response.text
    twins.only(None)
    assert seen[PY_ID] == seen[GO_ID] == (500, "500 internal server error\n")


def _raw_get(
    server: MattermostServer, token: str, target: bytes, header: bytes
) -> tuple[int, bytes]:
    """GET target with an X-Raw header, bytes as given (no client library normalizes them)."""
    host, port = server.url.removeprefix("http://").split(":")
    request = (
        b"GET " + target + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\nX-Raw: " + header + b"\r\n"
        b"Connection: close\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, body


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + body[:size], body[size + 2 :]
    return out


def test_header_and_query_bytes_reach_the_plugin_as_sent(
    twins: Twins, mm_server: MattermostServer, author: MattermostAPI
) -> None:
    """A header value that is not UTF-8 (legal obs-text) and such a query string reach the
    Python plugin as the same bytes the Go twin gets, instead of a bare 500."""
    header, query = b"obs-text \xff\xfe gr\xc3\xbc\xc3\x9fe", b"q=\xff\xfe&r=%41"
    seen = {}
    for pid in (GO_ID, PY_ID):
        twins.only(pid)
        target = f"/plugins/{pid}/echo?".encode() + query
        seen[pid] = _raw_get(mm_server, mm_server.admin.token, target, header)
    assert seen[GO_ID][0] == 200
    assert seen[PY_ID] == seen[GO_ID]
    # The server re-encodes the query before plugins see it (url.Values.Encode).
    assert seen[PY_ID][1] == (header.hex() + "|" + b"q=%FF%FE&r=A".hex()).encode()


RESTART_POSTS = 500
RESTART_CLIENTS = 4
RESTART_RATE = 40.0  # posts per second, all clients together
RESTART_KILLS = 3


def test_restarts_skip_no_hook(
    twins: Twins,
    mm_server: MattermostServer,
    new_user: NewUser,
    admin_api: MattermostAPI,
    team: JSON,
    channel: JSON,
) -> None:
    """500 posts at 40/s from 4 clients while the Python process is SIGKILLed 3 times: every
    post is rewritten by message_will_be_posted and seen by message_has_been_posted."""
    twins.only(PY_ID)
    clients = []
    for _ in range(RESTART_CLIENTS):
        creds, api = new_user()
        admin_api.add_team_member(team["id"], creds.user_id)
        admin_api.add_channel_member(channel["id"], creds.user_id)
        clients.append(api)
    plugin_dir = mm_server.plugin_dir / PY_ID
    created: list[JSON] = []
    failures: list[str] = []
    lock = threading.Lock()
    per_client = RESTART_POSTS // RESTART_CLIENTS
    interval = RESTART_CLIENTS / RESTART_RATE

    def post(i: int, api: MattermostAPI) -> None:
        start = time.monotonic()
        for n in range(per_client):
            time.sleep(max(0.0, start + n * interval - time.monotonic()))
            try:
                made = api.create_post(channel["id"], f"restart-probe {i}-{n}")
            except APIError as err:
                with lock:
                    failures.append(str(err))
                continue
            with lock:
                created.append(made)

    recoveries: list[float] = []

    def kill() -> None:
        for k in range(RESTART_KILLS):
            time.sleep(2.5 if k == 0 else 3.0)
            pids = pyplugin.python_processes(plugin_dir)
            if len(pids) != 1:
                failures.append(f"kill {k}: expected one Python process, found {pids}")
                return
            killed = time.monotonic()
            os.kill(pids[0], signal.SIGKILL)
            while time.monotonic() - killed < 30:
                new = pyplugin.python_processes(plugin_dir)
                answered = admin_api.plugin_http(PY_ID, "GET", "/ping").status_code == 200
                if new and new != pids and answered:
                    recoveries.append(time.monotonic() - killed)
                    break
                time.sleep(0.05)

    threads = [threading.Thread(target=post, args=(i, api)) for i, api in enumerate(clients)]
    threads.append(threading.Thread(target=kill))
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert not failures, failures[:5]
    assert len(created) == RESTART_POSTS
    unrewritten = [p["id"] for p in created if not p["message"].startswith("rewritten ")]
    stored = [admin_api.get(f"/posts/{p['id']}")["message"] for p in created]
    unrewritten += [m for m in stored if not m.startswith("rewritten ")]

    def seen() -> int:
        return int(admin_api.plugin_http(PY_ID, "GET", "/seen").text)

    deadline = time.monotonic() + 30
    while seen() < RESTART_POSTS and time.monotonic() < deadline:
        time.sleep(0.5)
    missed = RESTART_POSTS - seen()
    recoveries.sort()
    print(
        f"\nrestarts: {len(recoveries)} SIGKILLs under {RESTART_RATE:.0f} posts/s, "
        f"{len(unrewritten)} posts unrewritten, {missed} message_has_been_posted missed, "
        f"recovery median {statistics.median(recoveries):.2f}s max {max(recoveries):.2f}s"
    )
    assert len(recoveries) == RESTART_KILLS
    assert unrewritten == []
    assert missed == 0


def test_a_fail_closed_gate_rejects_while_its_process_is_down(
    mm_server: MattermostServer,
    admin_api: MattermostAPI,
    author: MattermostAPI,
    channel: JSON,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """props.python.fail_closed_hooks: a post made while the gate's Python process restarts is
    rejected with a reason naming the plugin, instead of walking past the gate."""
    gate_id = "com.mmplugin.e2e.failclosed"
    work = tmp_path_factory.mktemp("failclosed")
    host = pyplugin.build_host(work / "host")
    bundle = pyplugin.bundle(PLUGINS_DIR / "failclosed", work / "py", host.path)
    pyplugin.deploy(bundle.path, mm_server.url, mm_server.admin.token)
    try:
        assert author.create_post(channel["id"], "allowed")["message"] == "allowed"
        [pid] = pyplugin.python_processes(mm_server.plugin_dir / gate_id)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(APIError) as rejected:
            author.create_post(channel["id"], "forbidden while the gate is down")
        assert rejected.value.status_code == 400
        assert rejected.value.detail == (
            f"Post rejected by plugin. The {gate_id} plugin could not check this because it is "
            "unavailable (restarting or failing); try again shortly."
        )
        # Once it is back, the gate decides again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                author.create_post(channel["id"], "after the restart")
                break
            except APIError:
                time.sleep(0.2)
        with pytest.raises(APIError, match="forbidden word"):
            author.create_post(channel["id"], "forbidden")
    finally:
        admin_api.remove_plugin(gate_id)
