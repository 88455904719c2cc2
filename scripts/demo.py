#!/usr/bin/env python3
"""``make demo``: a Python plugin running on a real Mattermost server, ready to try with curl.

Builds the host (``go build ./cmd/mmplugin-host``), bundles an example plugin with ``mmplugin
bundle`` (wheels from PyPI), starts PostgreSQL + a Mattermost server with the e2e
infrastructure (``e2e/mmtest``), deploys the bundle with ``mmplugin deploy``, creates a demo
team, channel and user, and prints where the server is, the admin and demo credentials and
curl commands to try — then runs until Ctrl-C and cleans everything up.

``--check`` does all of that, runs the printed curl steps itself, checks their answers and exits
(0 when every step gave what it promised): the CI-style proof that the demo works.

On a fresh machine it installs what is missing first, as ``python -m mmtest test`` does:
PostgreSQL from Debian's packages (when root) and e2e/requirements.txt into this Python (run it
with the project venv's python: ``make demo``). ``--no-install`` skips that.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "e2e"))

# The plugin the demo deploys: the first of these that exists.
CANDIDATES = (
    REPO / "examples" / "hello",
    REPO / "examples" / "welcomebot",
    REPO / "e2e" / "plugins" / "pyplugin",
)

JSON = dict[str, Any]


@dataclass(frozen=True)
class Step:
    """One thing to try: an HTTP request shown as curl, and what its answer must show."""

    title: str
    method: str
    path: str  # below the site URL, e.g. /api/v4/posts
    body: JSON | None = None
    expect_status: int = 200
    expect: Callable[[Any], bool] = lambda _answer: True
    promise: str = ""  # what the answer shows, in words
    anonymous: bool = False


@dataclass
class Demo:
    """What the demo created on the server."""

    url: str
    plugin_id: str
    team: JSON
    channel: JSON
    username: str
    password: str
    token: str
    user_id: str
    steps: list[Step] = field(default_factory=list)


# --- what to try, per plugin ------------------------------------------------------------------


def pyplugin_steps(d: Demo) -> list[Step]:
    """e2e/plugins/pyplugin (see its module docstring)."""
    channel, team, uid = d.channel["id"], d.team["id"], d.user_id
    base = f"/plugins/{d.plugin_id}"
    return [
        Step(
            "post a message the plugin changes (MessageWillBePosted)",
            "POST",
            "/api/v4/posts",
            {"channel_id": channel, "message": "please pyrewrite this"},
            201,
            lambda a: a["message"] == "please rewritten-by-python this",
            'the saved post says "please rewritten-by-python this"',
        ),
        Step(
            "post a message the plugin rejects",
            "POST",
            "/api/v4/posts",
            {"channel_id": channel, "message": "pyforbidden"},
            400,
            lambda a: "rejects posts containing pyforbidden" in a["message"],
            "HTTP 400 with the plugin's reason",
        ),
        Step(
            "run the plugin's slash command",
            "POST",
            "/api/v4/commands/execute",
            {
                "channel_id": channel,
                "team_id": team,
                "command": "/pyecho hello from curl",
            },
            200,
            lambda a: a["text"] == f"pyecho {uid}: hello from curl",
            f'"text": "pyecho {uid}: hello from curl"',
        ),
        Step(
            "call the plugin's HTTP endpoint (a Starlette app)",
            "GET",
            base + "/whoami",
            None,
            200,
            lambda a: a == {"user_id": uid},
            f'{{"user_id": "{uid}"}}: the Mattermost-User-Id the server vouched for',
        ),
        Step(
            "the same endpoint without a token",
            "GET",
            base + "/whoami",
            None,
            401,
            lambda a: a == {"error": "not logged in"},
            "HTTP 401: the server sets no user for anonymous requests",
            anonymous=True,
        ),
        Step(
            "count in the plugin's KV store",
            "POST",
            base + "/counter",
            None,
            200,
            lambda a: isinstance(a.get("count"), int) and a["count"] >= 1,
            '{"count": N}, one more each time',
        ),
    ]


PROFILES: dict[str, Callable[[Demo], list[Step]]] = {
    "com.mmplugin.e2e.pyplugin": pyplugin_steps,
}


def generic_steps(d: Demo) -> list[Step]:
    """For a plugin the demo knows nothing about: its slash commands, listed by the server."""
    return [
        Step(
            "list the slash commands (the plugin's are among them)",
            "GET",
            f"/api/v4/teams/{d.team['id']}/commands/autocomplete",
            None,
            200,
            lambda a: isinstance(a, list) and len(a) > 0,
            "the team's commands, the plugin's included",
        )
    ]


# --- showing and running steps ----------------------------------------------------------------


def curl_line(step: Step) -> str:
    parts = ["curl", "-s"]
    if not step.anonymous:
        parts += ["-H", '"Authorization: Bearer $MM_TOKEN"']
    if step.method != "GET":
        parts += ["-X", step.method]
    if step.body is not None:
        parts += ["-d", shlex.quote(json.dumps(step.body))]
    parts.append(f'"$MM_URL{step.path}"')
    return " ".join(parts)


def run_step(step: Step, d: Demo) -> tuple[int, Any]:
    """Run the step as printed: with curl when it is installed, else the same request in httpx."""
    headers = {} if step.anonymous else {"Authorization": f"Bearer {d.token}"}
    data = json.dumps(step.body) if step.body is not None else None
    if shutil.which("curl"):
        args = ["curl", "-s", "-w", "\n%{http_code}", "-X", step.method]
        for k, v in headers.items():
            args += ["-H", f"{k}: {v}"]
        if data is not None:
            args += ["-d", data]
        args.append(d.url + step.path)
        out = subprocess.run(
            args, capture_output=True, text=True, timeout=60, check=False
        )
        body, _, status = out.stdout.rpartition("\n")
        code = int(status) if status.isdigit() else 0
    else:
        import httpx

        resp = httpx.request(
            step.method, d.url + step.path, headers=headers, content=data, timeout=60
        )
        body, code = resp.text, resp.status_code
    try:
        return code, json.loads(body)
    except ValueError:
        return code, body


def _essentials(answer: Any) -> Any:
    """The fields that show what a step did (a whole Post is long)."""
    if isinstance(answer, dict):
        keys = ("message", "text", "user_id", "count", "error")
        picked = {k: answer[k] for k in keys if k in answer}
        return picked or answer
    return answer


def check_steps(d: Demo) -> bool:
    ok = True
    for i, step in enumerate(d.steps, 1):
        status, answer = run_step(step, d)
        try:
            good = status == step.expect_status and bool(step.expect(answer))
        except (KeyError, TypeError, AttributeError):
            good = False
        ok &= good
        mark = "ok  " if good else "FAIL"
        shown = json.dumps(_essentials(answer))[:200]
        print(f"  [{mark}] {i}. {step.title}: HTTP {status} {shown}", flush=True)
        if not good:
            print(
                f"         expected HTTP {step.expect_status}: {step.promise}",
                flush=True,
            )
    return ok


def print_guide(d: Demo, server: Any, bundle_info: str) -> None:
    admin = server.admin
    print(
        f"""
================================================================================
 mmplugin demo: {d.plugin_id} runs on a real Mattermost server
================================================================================
 Server:      {server.url}   (loopback only; from another machine:
              ssh -L {server.port}:127.0.0.1:{server.port} <this host>)
 Admin:       {admin.username} / {admin.password}
 Demo user:   {d.username} / {d.password}  (member of team "{d.team["name"]}")
 Channel:     {d.channel["display_name"]} ({d.channel["id"]})
 Bundle:      {bundle_info}
 Server log:  {server.log_path}
 Plugin log:  MM_SERVICESETTINGS_SITEURL={server.url} MM_ADMIN_USERNAME={admin.username} \\
              MM_ADMIN_PASSWORD='{admin.password}' \\
              {sys.executable} -m mmplugin.cli logs --plugin-id {d.plugin_id} -f

 Try it (as the demo user):

   export MM_URL={d.url}
   export MM_TOKEN={d.token}
""",
        flush=True,
    )
    for i, step in enumerate(d.steps, 1):
        print(f"   # {i}. {step.title} -> {step.promise}\n   {curl_line(step)}\n")


# --- setting up -------------------------------------------------------------------------------


def pick_plugin(explicit: Path | None) -> Path:
    if explicit is not None:
        if not (explicit / "plugin.json").is_file():
            raise SystemExit(f"demo: {explicit} has no plugin.json")
        return explicit.resolve()
    for candidate in CANDIDATES:
        if (candidate / "plugin.json").is_file():
            return candidate
    raise SystemExit(
        "demo: no plugin to deploy: " + ", ".join(str(c) for c in CANDIDATES)
    )


def create_demo(server: Any, plugin_id: str) -> Demo:
    admin = server.admin_api
    suffix = secrets.token_hex(3)
    team = admin.create_team(f"demo-{suffix}", "mmplugin demo")
    channel = admin.create_channel(team["id"], f"python-{suffix}", "Python plugin demo")
    username, password = "demo", "Demo-" + secrets.token_urlsafe(9) + "-1aA"
    user = admin.create_user(username, password, "demo@example.com")
    admin.add_team_member(team["id"], user["id"])
    admin.add_channel_member(channel["id"], user["id"])
    with server.api() as anonymous:
        token, _ = anonymous.login(username, password)
    d = Demo(
        server.url, plugin_id, team, channel, username, password, token, user["id"]
    )
    d.steps = PROFILES.get(plugin_id, generic_steps)(d)
    return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="run the curl steps, check them and exit"
    )
    parser.add_argument(
        "--plugin", type=Path, help="plugin directory (default: an example)"
    )
    parser.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="Python version to bundle for (default: this Python's; the server runs it)",
    )
    parser.add_argument(
        "--no-install", action="store_true", help="skip apt-get/pip installs"
    )
    args = parser.parse_args(argv)

    from mmtest import build
    from mmtest.__main__ import _interrupt_once_on, install_requirements
    from mmtest.errors import MMTestError

    plugin_dir = pick_plugin(args.plugin)
    work = REPO / "build" / "demo"
    try:
        if not args.no_install:
            install_requirements()
        from mmtest import pyplugin
        from mmtest.server import MattermostServer

        t0 = time.monotonic()
        install = build.ensure_server()
        print(
            f"demo: Mattermost server ready ({time.monotonic() - t0:.1f}s)", flush=True
        )
        host = pyplugin.build_host(work / "host")
        print(f"demo: built {host.path} ({host.seconds:.1f}s)", flush=True)
        shutil.rmtree(work / "dist", ignore_errors=True)
        bundled = pyplugin.bundle(plugin_dir, work / "dist", host.path, args.python)
        size = bundled.path.stat().st_size / 2**20
        bundle_info = (
            f"{bundled.path} ({size:.1f} MiB, bundled in {bundled.seconds:.1f}s)"
        )
        print(f"demo: bundled {bundle_info}", flush=True)

        _interrupt_once_on(*_signals())
        server = MattermostServer(install)
        try:
            t0 = time.monotonic()
            server.start()
            print(
                f"demo: server up at {server.url} ({time.monotonic() - t0:.1f}s)",
                flush=True,
            )
            manifest = json.loads((plugin_dir / "plugin.json").read_text())
            deployed = pyplugin.deploy(bundled.path, server.url, server.admin.token)
            print(
                f"demo: mmplugin deploy: running in {deployed.seconds:.1f}s", flush=True
            )
            demo = create_demo(server, manifest["id"])
            print_guide(demo, server, bundle_info)
            if args.check:
                print("demo: --check: running the steps above", flush=True)
                ok = check_steps(demo)
                print(
                    f"demo: {'all steps work' if ok else 'some steps FAILED'}",
                    flush=True,
                )
                return 0 if ok else 1
            print("Ctrl-C stops the server and removes its files.", flush=True)
            while server.running:
                time.sleep(0.5)
            print(f"demo: the server exited; see {server.log_path}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0
        finally:
            print("demo: stopping the server", file=sys.stderr, flush=True)
            server.stop()
    except MMTestError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1


def _signals() -> tuple[Any, ...]:
    import signal

    return (signal.SIGINT, signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(main())
