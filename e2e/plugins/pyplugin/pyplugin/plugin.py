"""The e2e suite's Python plugin (com.mmplugin.e2e.pyplugin): one of each thing a plugin does.

- MessageWillBePosted: ``pyrewrite`` becomes ``rewritten-by-python``; a post containing
  ``pyforbidden`` is rejected with a reason.
- MessageHasBeenPosted: a post containing ``pytrigger`` gets a reply from the plugin's bot.
- ``/pyecho <text>``: an ephemeral ``pyecho <user id>: <text>``.
- An ASGI (Starlette) app below ``/plugins/com.mmplugin.e2e.pyplugin``: ``GET /whoami`` (the
  ``Mattermost-User-Id``; 401 for anonymous requests), ``GET|POST /counter`` (a KV counter),
  ``GET /setting`` (the current value of the ``Greeting`` setting).
"""

from __future__ import annotations

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


app = Starlette(
    routes=[
        Route("/whoami", whoami),
        Route("/counter", counter, methods=["GET", "POST"]),
        Route("/setting", setting),
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
