"""The e2e suite's Python plugin (com.mmplugin.e2e.pyplugin): one of each thing a plugin does.

- MessageWillBePosted: ``pyrewrite`` becomes ``rewritten-by-python``; a post containing
  ``pyforbidden`` is rejected with a reason.
- MessageHasBeenPosted: a post containing ``pytrigger`` gets a reply from the plugin's bot.
- ``/pyecho <text>``: an ephemeral ``pyecho <user id>: <text>``.
- An ASGI (Starlette) app below ``/plugins/com.mmplugin.e2e.pyplugin``: ``GET /whoami`` (the
  ``Mattermost-User-Id``; 401 for anonymous requests), ``GET|POST /counter`` (a KV counter),
  ``GET /setting`` (the current value of the ``Greeting`` setting), ``GET /db`` (the caller's
  user row and a committed/rolled-back write to the plugin's own table, through DB-API).
"""

from __future__ import annotations

import asyncio
from typing import Any

import mmplugin.http
from mmplugin import CommandCall, Context, Plugin, Reject, Settings, command
from mmplugin.models import Post
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REWRITE_MARKER = "pyrewrite"
REWRITTEN = "rewritten-by-python"
FORBIDDEN_MARKER = "pyforbidden"
REJECT_REASON = "the e2e Python plugin rejects posts containing pyforbidden"
TRIGGER = "pytrigger"
COUNTER_KEY = "counter"


class PySettings(Settings):
    greeting: str = "hello from the defaults"


def _plugin(request: Request) -> PyPlugin:
    plugin = mmplugin.http.mattermost(request)["plugin"]
    assert isinstance(plugin, PyPlugin)
    return plugin


async def whoami(request: Request) -> JSONResponse:
    user_id = mmplugin.http.user_id(request)
    if user_id is None:
        return JSONResponse({"error": "not logged in"}, status_code=401)
    return JSONResponse({"user_id": user_id}, headers={"Mattermost-User-Id": user_id})


async def counter(request: Request) -> JSONResponse:
    plugin = _plugin(request)
    if request.method == "POST":
        value = await plugin.async_kv.set_atomic_with_retries(
            COUNTER_KEY, lambda old: (old or 0) + 1
        )
        plugin.log.info("counter incremented", count=value)
    else:
        value = await plugin.async_kv.get(COUNTER_KEY) or 0
    return JSONResponse({"count": value})


async def setting(request: Request) -> JSONResponse:
    return JSONResponse({"greeting": _plugin(request).config.greeting})


NOTES_TABLE = "com_mmplugin_e2e_pyplugin_notes"


def _db_report(plugin: PyPlugin, user_id: str) -> dict[str, Any]:
    """DB-API 2.0 (mmplugin.db) over the server's own database driver."""
    report: dict[str, Any] = {"driver": plugin.store.driver_name()}
    with plugin.store.connect() as conn:
        cur = conn.execute("SELECT Username, Email FROM Users WHERE Id = %s", (user_id,))
        report["columns"] = [d[0].lower() for d in cur.description or ()]
        report["user"] = list(cur.fetchone() or ())
        cur = conn.execute("SELECT COUNT(*) FROM Users WHERE DeleteAt = %(zero)s", {"zero": 0})
        report["active_users"] = (cur.fetchone() or (None,))[0]
        conn.execute(f"CREATE TABLE IF NOT EXISTS {NOTES_TABLE} (id TEXT PRIMARY KEY, body TEXT)")
    with plugin.store.connect() as conn:  # a transaction that commits
        conn.execute(f"INSERT INTO {NOTES_TABLE} VALUES (%s, %s)", (user_id, "kept"))
    conn = plugin.store.connect()  # one that rolls back
    conn.execute(f"INSERT INTO {NOTES_TABLE} VALUES (%s, %s)", (user_id + "-x", "dropped"))
    conn.rollback()
    cur = conn.execute(
        f"SELECT id, body FROM {NOTES_TABLE} WHERE id LIKE %s ORDER BY id", (user_id + "%",)
    )
    report["notes"] = [list(row) for row in cur.fetchall()]
    conn.close()
    return report


async def db(request: Request) -> JSONResponse:
    user_id = mmplugin.http.user_id(request)
    if user_id is None:
        return JSONResponse({"error": "not logged in"}, status_code=401)
    return JSONResponse(await asyncio.to_thread(_db_report, _plugin(request), user_id))


app = Starlette(
    routes=[
        Route("/whoami", whoami),
        Route("/counter", counter, methods=["GET", "POST"]),
        Route("/setting", setting),
        Route("/db", db),
    ]
)


class PyPlugin(Plugin):
    config: PySettings
    serve_http = mmplugin.http.asgi(app)

    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot("pybot", display_name="Python e2e bot")
        self.log.info("pyplugin activated", bot_id=self.bot_id)

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | None:
        if FORBIDDEN_MARKER in post.message:
            return Reject(REJECT_REASON)
        if REWRITE_MARKER in post.message:
            post.message = post.message.replace(REWRITE_MARKER, REWRITTEN)
            return post
        return None

    def message_has_been_posted(self, ctx: Context, post: Post) -> None:
        if TRIGGER not in post.message or post.user_id == self.bot_id:
            return
        self.api.create_post(
            Post(
                channel_id=post.channel_id,
                user_id=self.bot_id,
                root_id=post.root_id or post.id,
                message=f"pybot heard {post.user_id}",
            )
        )

    @command("pyecho", description="Echo the text back", hint="<text>")
    def pyecho(self, call: CommandCall) -> str:
        return f"pyecho {call.command_args.user_id}: {call.text}"
