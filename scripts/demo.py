#!/usr/bin/env python3
"""``make demo``: Python plugins running on a real Mattermost server, ready to try with curl.

Builds the host (``go build ./cmd/mmplugin-host``), bundles the example plugin
(``examples/hello``, or ``examples/welcomebot`` if hello is not there) and the e2e plugin
(``e2e/plugins/pyplugin``: an ASGI app, KV, a bot) with ``mmplugin bundle`` (wheels from PyPI),
starts PostgreSQL + a Mattermost server with the e2e infrastructure (``e2e/mmtest``), deploys
the bundles with ``mmplugin deploy``, creates a demo team, channel and user, and prints where the
server is, the admin and demo credentials and curl commands to try — then runs until Ctrl-C and
cleans everything up. ``--plugin DIR`` (repeatable) deploys other plugins instead.

``--check`` does all of that, runs the printed curl steps itself, checks their answers and exits
(0 when every step gave what it promised): the CI-style proof that the demo works.

On a fresh machine it installs what is missing first, as ``python -m mmtest test`` does:
PostgreSQL from Debian's packages (when root) and e2e/requirements.txt into this Python (run it
with the project venv's python: ``make demo``). ``--no-install`` skips that.
"""

from __future__ import annotations

import argparse
import dataclasses
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

# The plugins the demo deploys: the first example that exists, and the e2e plugin.
EXAMPLES = (REPO / "examples" / "hello", REPO / "examples" / "welcomebot")
E2E_PLUGIN = REPO / "e2e" / "plugins" / "pyplugin"

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
    plugin_id: str = ""  # set by create_demo


@dataclass
class Demo:
    """What the demo created on the server."""

    url: str
    plugin_ids: list[str]
    team: JSON
    channel: JSON
    username: str
    password: str
    token: str
    user_id: str
    steps: list[Step] = field(default_factory=list)


# --- what to try, per plugin ------------------------------------------------------------------


def hello_steps(d: Demo, plugin_id: str) -> list[Step]:
    """examples/hello: fixes "teh", rejects its banned word, answers /hello with its greeting
    (the two settings' defaults are read from its plugin.json)."""
    channel, team = d.channel["id"], d.team["id"]
    manifest = json.loads((EXAMPLES[0] / "plugin.json").read_text())
    defaults = {x["key"]: x.get("default") for x in manifest["settings_schema"]["settings"]}
    greeting, banned = defaults.get("Greeting") or "Hello", defaults.get("BannedWord") or "spoiler"
    return [
        Step(
            "post a message the plugin changes (MessageWillBePosted)",
            "POST",
            "/api/v4/posts",
            {"channel_id": channel, "message": "teh Python plugin fixed this"},
            201,
            lambda a: a["message"] == "the Python plugin fixed this",
            'the saved post says "the Python plugin fixed this"',
        ),
        Step(
            "post a message the plugin rejects",
            "POST",
            "/api/v4/posts",
            {"channel_id": channel, "message": f"a {banned}: it was the butler"},
            400,
            lambda a: a["message"].startswith("Post rejected by plugin") and banned in a["message"],
            f"HTTP 400: Post rejected by plugin. Please keep the {banned}s to yourself.",
        ),
        Step(
            "run the slash command (it looks you up through the plugin API)",
            "POST",
            "/api/v4/commands/execute",
            {"channel_id": channel, "team_id": team, "command": "/hello"},
            200,
            lambda a: a["text"] == f"{greeting}, {d.username}!",
            f'"text": "{greeting}, {d.username}!"',
        ),
        Step(
            "the slash command with a name",
            "POST",
            "/api/v4/commands/execute",
            {"channel_id": channel, "team_id": team, "command": "/hello Python"},
            200,
            lambda a: a["text"] == f"{greeting}, Python!",
            f'"text": "{greeting}, Python!"',
        ),
    ]


def pyplugin_steps(d: Demo, plugin_id: str) -> list[Step]:
    """e2e/plugins/pyplugin (see its module docstring)."""
    channel, team, uid = d.channel["id"], d.team["id"], d.user_id
    base = f"/plugins/{plugin_id}"
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


PROFILES: dict[str, Callable[[Demo, str], list[Step]]] = {
    "com.example.hello": hello_steps,
    "com.mmplugin.e2e.pyplugin": pyplugin_steps,
}


def generic_steps(d: Demo, plugin_id: str) -> list[Step]:
    """For a plugin the demo knows nothing about: its slash commands, listed by the server."""
    return [
        Step(
            "list the slash commands (the plugin's are among them)",
            "GET",
            f"/api/v4/teams/{d.team['id']}/commands/autocomplete",
            None,
            200,
            lambda a: any(c.get("plugin_id") == plugin_id for c in a),
            f"the team's commands, with those of {plugin_id}",
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
        out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
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


def print_guide(d: Demo, server: Any, bundles: list[str]) -> None:
    admin = server.admin
    shown_bundles = "\n              ".join(bundles)
    print(
        f"""
================================================================================
 mmplugin demo: Python plugins on a real Mattermost server
================================================================================
 Server:      {server.url}   (loopback only; from another machine:
              ssh -L {server.port}:127.0.0.1:{server.port} <this host>)
 Admin:       {admin.username} / {admin.password}
 Demo user:   {d.username} / {d.password}  (member of team "{d.team["name"]}")
 Channel:     {d.channel["display_name"]} ({d.channel["id"]})
 Plugins:     {", ".join(d.plugin_ids)}
 Bundles:     {shown_bundles}
 Server log:  {server.log_path}
 Plugin log:  MM_SERVICESETTINGS_SITEURL={server.url} MM_ADMIN_USERNAME={admin.username} \\
              MM_ADMIN_PASSWORD='{admin.password}' \\
              {sys.executable} -m mmplugin.cli logs --plugin-id {d.plugin_ids[0]} -f

 Try it (as the demo user):

   export MM_URL={d.url}
   export MM_TOKEN={d.token}
""",
        flush=True,
    )
    for i, step in enumerate(d.steps, 1):
        print(f"   # {i}. [{step.plugin_id}] {step.title}")
        print(f"   #    -> {step.promise}\n   {curl_line(step)}\n")


# --- setting up -------------------------------------------------------------------------------


def pick_plugins(explicit: list[Path] | None) -> list[Path]:
    if explicit:
        for plugin in explicit:
            if not (plugin / "plugin.json").is_file():
                raise SystemExit(f"demo: {plugin} has no plugin.json")
        return [p.resolve() for p in explicit]
    example = next((e for e in EXAMPLES if (e / "plugin.json").is_file()), None)
    return [example, E2E_PLUGIN] if example is not None else [E2E_PLUGIN]


def create_demo(server: Any, plugin_ids: list[str]) -> Demo:
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
    d = Demo(server.url, plugin_ids, team, channel, username, password, token, user["id"])
    for plugin_id in plugin_ids:
        steps = PROFILES.get(plugin_id, generic_steps)(d, plugin_id)
        d.steps += [dataclasses.replace(step, plugin_id=plugin_id) for step in steps]
    return d


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="run the curl steps, check them and exit"
    )
    parser.add_argument(
        "--plugin",
        type=Path,
        action="append",
        help="plugin directory to deploy (repeatable; default: an example and the e2e plugin)",
    )
    parser.add_argument(
        "--python",
        default=f"{sys.version_info.major}.{sys.version_info.minor}",
        help="Python version to bundle for (default: this Python's; the server runs it)",
    )
    parser.add_argument("--no-install", action="store_true", help="skip apt-get/pip installs")
    args = parser.parse_args(argv)

    from mmtest import build
    from mmtest.__main__ import _interrupt_once_on, install_requirements
    from mmtest.errors import MMTestError

    plugin_dirs = pick_plugins(args.plugin)
    work = REPO / "build" / "demo"
    try:
        if not args.no_install:
            install_requirements()
        from mmtest import pyplugin
        from mmtest.server import MattermostServer

        t0 = time.monotonic()
        install = build.ensure_server()
        print(f"demo: Mattermost server ready ({time.monotonic() - t0:.1f}s)", flush=True)
        host = pyplugin.build_host(work / "host")
        print(f"demo: built {host.path} ({host.seconds:.1f}s)", flush=True)
        shutil.rmtree(work / "dist", ignore_errors=True)
        bundles, infos, plugin_ids = [], [], []
        for plugin_dir in plugin_dirs:
            plugin_ids.append(json.loads((plugin_dir / "plugin.json").read_text())["id"])
            out = work / "dist" / plugin_dir.name
            bundled = pyplugin.bundle(plugin_dir, out, host.path, args.python)
            size = bundled.path.stat().st_size / 2**20
            infos.append(f"{bundled.path} ({size:.1f} MiB, bundled in {bundled.seconds:.1f}s)")
            print(f"demo: bundled {infos[-1]}", flush=True)
            bundles.append(bundled.path)

        _interrupt_once_on(*_signals())
        server = MattermostServer(install)
        try:
            t0 = time.monotonic()
            server.start()
            print(f"demo: server up at {server.url} ({time.monotonic() - t0:.1f}s)", flush=True)
            for plugin_id, bundle in zip(plugin_ids, bundles, strict=True):
                deployed = pyplugin.deploy(bundle, server.url, server.admin.token)
                print(
                    f"demo: mmplugin deploy: {plugin_id} running in {deployed.seconds:.1f}s",
                    flush=True,
                )
            demo = create_demo(server, plugin_ids)
            print_guide(demo, server, infos)
            if args.check:
                print("demo: --check: running the steps above", flush=True)
                ok = check_steps(demo)
                print(f"demo: {'all steps work' if ok else 'some steps FAILED'}", flush=True)
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
