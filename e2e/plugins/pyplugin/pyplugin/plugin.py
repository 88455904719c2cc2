"""The e2e suite's Python plugin (com.mmplugin.e2e.pyplugin): one of each thing a plugin does.

- MessageWillBePosted: ``pyrewrite`` becomes ``rewritten-by-python``; a post containing
  ``pyforbidden`` is rejected with a reason.
- MessageHasBeenPosted: a post containing ``pytrigger`` gets a reply from the plugin's bot.
- ``/pyecho <text>``: an ephemeral ``pyecho <user id>: <text>``.
- ``/pyweather set <unit> <station> [--note text]``: typed autocomplete arguments (a static
  list, a dynamic list answered by ``stations``, a text argument); ``/pyweather purge``: for
  system admins only.
- A scheduled job ``e2e-tick`` whose interval is the ``TickSeconds`` setting; ``GET /job``
  reports its runs and stored metadata.
- An ASGI (Starlette) app below ``/plugins/com.mmplugin.e2e.pyplugin``: ``GET /whoami`` (the
  ``Mattermost-User-Id``; 401 for anonymous requests), ``GET|POST /counter`` (a KV counter),
  ``GET /setting`` (the current value of the ``Greeting`` setting), ``GET /db`` (the caller's
  user row and a committed/rolled-back write to the plugin's own table, through DB-API),
  ``GET /versions`` (the server's version and what calls of API methods newer than some
  servers do: a result, an error, or ``ServerVersionError`` on a server older than the method).
- ChannelWillBeArchived (Mattermost 11.7, newer than every server of the e2e matrix): rejects
  archiving a channel named ``pykeep-*``; servers older than the hook never call it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

import mmplugin.http
from mmplugin import CommandCall, Context, Plugin, Reject, ServerVersionError, Settings, command
from mmplugin.commands import (
    SYSTEM_ADMIN,
    AutocompleteQuery,
    DynamicList,
    ListItem,
    StaticList,
    Text,
)
from mmplugin.errors import AppError, PluginAPIError
from mmplugin.models import Channel, Post
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

REWRITE_MARKER = "pyrewrite"
REWRITTEN = "rewritten-by-python"
FORBIDDEN_MARKER = "pyforbidden"
REJECT_REASON = "the e2e Python plugin rejects posts containing pyforbidden"
TRIGGER = "pytrigger"
KEEP_PREFIX = "pykeep-"
COUNTER_KEY = "counter"


class PySettings(Settings):
    greeting: str = "hello from the defaults"
    tick_seconds: int = 3600


STATIONS = ("berlin-1", "bergen-2", "oslo-3")


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


async def job(request: Request) -> JSONResponse:
    plugin = _plugin(request)
    md = await plugin.tick_job.ametadata()
    return JSONResponse(
        {
            "runs": plugin.tick_job.runs,
            "never_ran": md.never_ran,
            "last_finished": md.last_finished.isoformat(),
        }
    )


def _probe(call: Callable[[], object]) -> dict[str, Any]:
    """What one API call did, as JSON."""
    try:
        result = call()
    except ServerVersionError as exc:
        return {
            "outcome": "ServerVersionError",
            "message": str(exc),
            "method": exc.method,
            "required_version": exc.required_version,
            "server_version": exc.server_version,
            "detailed_error": exc.detailed_error,
        }
    except AppError as exc:
        return {"outcome": type(exc).__name__, "id": exc.id, "message": str(exc)}
    except PluginAPIError as exc:
        return {"outcome": type(exc).__name__, "message": str(exc)}
    return {"outcome": "ok", "result": result if isinstance(result, str) else repr(result)}


def versions(request: Request) -> JSONResponse:
    """Calls of API methods that Mattermost added after some servers of the e2e matrix (a def
    endpoint: Starlette runs it on a worker thread, where the sync API may block)."""
    api = _plugin(request).api
    # Each call is meant for servers with and without the method (mmplugin check leaves the
    # marked lines out of the version the plugin needs).
    probes = {
        # 10.1, no error result: an older server's answer cannot be told from "".
        "get_plugin_id": lambda: api.get_plugin_id(),  # mmplugin: version-checked
        # 10.7, *model.AppError result.
        "get_group_by_remote_id": lambda: api.get_group_by_remote_id(
            "e2e-nothing", "custom"
        ),  # mmplugin: version-checked
        # 10.10, plain error result.
        "get_property_field": lambda: api.get_property_field(
            "e2e-nothing", "e2e-nothing"
        ),  # mmplugin: version-checked
        # 11.10: newer than every server of the matrix.
        "restore_channel": lambda: api.restore_channel(
            "e2enothing0000000000000000"
        ),  # mmplugin: version-checked
    }
    return JSONResponse(
        {
            "server_version": api.get_server_version(),
            "probes": {name: _probe(call) for name, call in probes.items()},
        }
    )


app = Starlette(
    routes=[
        Route("/job", job),
        Route("/whoami", whoami),
        Route("/counter", counter, methods=["GET", "POST"]),
        Route("/setting", setting),
        Route("/db", db),
        Route("/versions", versions),
    ]
)


class PyPlugin(Plugin):
    config: PySettings
    serve_http = mmplugin.http.asgi(app)

    def on_activate(self) -> None:
        self.bot_id = self.ensure_bot("pybot", display_name="Python e2e bot")
        self.tick_job = self.schedule(
            "e2e-tick", lambda: dt.timedelta(seconds=self.config.tick_seconds), self.tick
        )
        self.log.info("pyplugin activated", bot_id=self.bot_id)

    def tick(self) -> None:
        self.log.debug("e2e-tick ran")

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

    # 11.7: servers older than the hook never call it (mmplugin check leaves it out).
    def channel_will_be_archived(  # mmplugin: version-checked
        self, ctx: Context, channel: Channel
    ) -> Reject | None:
        if channel.name.startswith(KEEP_PREFIX):
            return Reject("the e2e Python plugin keeps pykeep channels")
        return None

    @command("pyecho", description="Echo the text back", hint="<text>")
    def pyecho(self, call: CommandCall) -> str:
        return f"pyecho {call.command_args.user_id}: {call.text}"

    @command(
        "pyweather set",
        description="Set unit and station",
        arguments=[
            StaticList(
                ["celsius", ListItem(item="fahrenheit", hint="F")], help_text="Unit", required=True
            ),
            DynamicList("stations", help_text="Station", required=True),
            Text(hint="[note]", pattern=r"[a-z ]*", help_text="A note", name="note"),
        ],
    )
    def pyweather_set(self, call: CommandCall) -> str:
        return f"pyweather set {' '.join(call.args)}"

    @command("pyweather purge", description="Delete all reports", role=SYSTEM_ADMIN)
    def pyweather_purge(self, call: CommandCall) -> str:
        return "pyweather purged"

    def stations(self, query: AutocompleteQuery) -> list[str | ListItem]:
        return [ListItem(item=s, hint=query.user_id) for s in STATIONS]
