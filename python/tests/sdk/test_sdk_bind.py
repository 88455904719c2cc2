"""The SDK's runtime binder over real gRPC: the plugin process's hooks server and API clients.

The runtime's ``serve`` runs the binder's servicers on a unix socket; an in-process
PluginAPIService (a few methods, backed by FakeAPI) stands in for mmplugin-host's API socket.
Hooks are called the way the host calls them, and the plugin's sync (``API`` on a blocking
channel) and async (``AsyncAPI`` on the runtime's channel) calls go over gRPC with the secret.
"""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc import aio

from mmplugin import CommandCall, Context, Plugin, Post, Reject, Settings, command
from mmplugin._bind import bind, own_hooks
from mmplugin._gen import convert as c
from mmplugin._runtime import RuntimeContext, serve
from mmplugin._runtime.auth import ServerSecretInterceptor, secret_metadata
from mmplugin._runtime.bootstrap import Bootstrap
from mmplugin._runtime.service import StopRequest
from mmplugin.models import CommandArgs
from mmplugin.testing import FakeAPI
from mmplugin.v1 import (
    api_pb2,
    api_pb2_grpc,
    hooks_pb2,
    hooks_pb2_grpc,
    models_pb2,
    runtime_pb2,
    runtime_pb2_grpc,
)

SECRET = "bind-test-secret-0123456789"


class FakeHostAPI(api_pb2_grpc.PluginAPIServiceServicer):
    """The handful of PluginAPIService methods the test plugin uses, backed by FakeAPI."""

    def __init__(self, fake: FakeAPI) -> None:
        self.fake = fake

    async def LoadPluginConfiguration(self, request: Any, context: Any) -> Any:
        config = self.fake.load_plugin_configuration()
        return api_pb2.LoadPluginConfigurationResponse(config_json=json.dumps(config).encode())

    async def RegisterCommand(self, request: Any, context: Any) -> Any:
        self.fake.register_command(c.command_from_pb(request.command))
        return api_pb2.RegisterCommandResponse()

    async def KVGet(self, request: Any, context: Any) -> Any:
        return api_pb2.KVGetResponse(result=self.fake.kv_get(request.key) or b"")

    async def KVSetWithOptions(self, request: Any, context: Any) -> Any:
        options = c.plugin_kv_set_options_from_pb(request.options)
        value = request.value if request.value or 2 in request.empty else None
        ok = self.fake.kv_set_with_options(request.key, value, options)
        return api_pb2.KVSetWithOptionsResponse(result=ok)


@pytest.fixture
async def world() -> AsyncIterator[tuple[Path, FakeAPI]]:
    with tempfile.TemporaryDirectory(prefix="sdk") as d:  # short: socket path limits
        path = Path(d)
        (path / "plugin.json").write_text(json.dumps({"id": "com.example.bind"}))
        fake = FakeAPI(plugin_id="com.example.bind", config={"Greeting": "Hej"})
        server = aio.server(interceptors=[ServerSecretInterceptor(SECRET)])
        host = FakeHostAPI(fake)  # type: ignore[abstract]  # the other RPCs stay unimplemented
        api_pb2_grpc.add_PluginAPIServiceServicer_to_server(host, server)
        server.add_insecure_port(f"unix:{path / 'api.sock'}")
        await server.start()
        yield path, fake
        await server.stop(0)


class Conf(Settings):
    greeting: str = "Hello"


class Bound(Plugin):
    config: Conf

    @command("greet", description="Greets")
    async def greet(self, call: CommandCall) -> str:
        await self.async_kv.set("greeted", call.user_id)
        return f"{self.config.greeting}, {call.text}"

    def message_will_be_posted(self, ctx: Context, post: Post) -> Post | Reject | None:
        # A plain def hook: runs in a worker thread and uses the blocking API client.
        if self.kv.get("greeted") is None:
            return Reject("greet first")
        post.message += " (checked)"
        return post


async def test_hooks_and_api_calls_cross_grpc_with_the_secret(
    world: tuple[Path, FakeAPI],
) -> None:
    path, fake = world
    bootstrap = Bootstrap(
        plugin_id="com.example.bind",
        plugin_dir=str(path),
        entry_point="x:Bound",
        socket_dir=str(path),
        plugin_socket=str(path / "plugin.sock"),
        api_socket=str(path / "api.sock"),
        secret=SECRET,
    )
    ctx = RuntimeContext(bootstrap)
    plugin = Bound()
    binding = bind(plugin, ctx)
    stop = StopRequest()
    serving = asyncio.create_task(
        serve(
            bootstrap,
            binding.servicers,
            binding.implemented_hooks,
            stop=stop,
            stdout=io.StringIO(),
            redirect_stdout=False,
        )
    )
    try:
        channel = aio.insecure_channel(f"unix:{path / 'plugin.sock'}")
        await channel.channel_ready()
        md = secret_metadata(SECRET)
        runtime = runtime_pb2_grpc.RuntimeServiceStub(channel)
        hello = await runtime.Handshake(
            runtime_pb2.HandshakeRequest(protocol_versions=[1]), metadata=md
        )
        assert list(hello.implemented_hooks) == [
            "OnActivate",
            "OnConfigurationChange",
            "ExecuteCommand",
            "MessageWillBePosted",
        ]

        hooks = hooks_pb2_grpc.PluginHooksServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await hooks.OnActivate(hooks_pb2.OnActivateRequest())  # no secret
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED

        # The host's activation: OnConfigurationChange, then OnActivate.
        r1 = await hooks.OnConfigurationChange(
            hooks_pb2.OnConfigurationChangeRequest(), metadata=md
        )
        assert not r1.HasField("error")
        assert plugin.config == Conf(greeting="Hej")
        r2 = await hooks.OnActivate(hooks_pb2.OnActivateRequest(), metadata=md)
        assert not r2.HasField("error")
        assert [cmd.trigger for cmd in fake.commands] == ["greet"]

        post = models_pb2.Post(user_id="u1", channel_id="c1", message="hi")
        rejected = await hooks.MessageWillBePosted(
            hooks_pb2.MessageWillBePostedRequest(post=post), metadata=md
        )
        assert rejected.result_2 == "greet first" and not rejected.HasField("result_1")

        args = c.command_args_to_pb(
            CommandArgs(user_id="u1", channel_id="c1", command="/greet world")
        )
        reply = await hooks.ExecuteCommand(hooks_pb2.ExecuteCommandRequest(args=args), metadata=md)
        assert c.command_response_from_pb(reply.result).text == "Hej, world"
        assert fake.kv_data() == {"greeted": b'"u1"'}

        allowed = await hooks.MessageWillBePosted(
            hooks_pb2.MessageWillBePostedRequest(post=post), metadata=md
        )
        assert c.post_from_pb(allowed.result_1).message == "hi (checked)"
        await channel.close()
    finally:
        stop.request(0, "test over")
        await serving
        assert binding.on_stop is not None
        await binding.on_stop()
        await ctx.close()


def test_hooks_are_found_by_name_and_misspelt_ones_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Plain:
        def on_activate(self) -> None: ...

        def on_activte(self) -> None: ...  # misspelt: warned about, not served

    assert list(own_hooks(Plain())) == ["OnActivate"]
    assert "Plain.on_activte is not a hook and will never be called; did you mean" in caplog.text
