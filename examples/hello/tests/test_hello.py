from __future__ import annotations

import pytest
from mmplugin.errors import BadRequestError
from mmplugin.testing import HarnessFactory, PluginTestHarness

from hello.plugin import HelloPlugin


@pytest.fixture
def hello(plugin_harness: HarnessFactory) -> PluginTestHarness[HelloPlugin]:
    # plugin.json (in the current directory) gives the id and the settings defaults.
    harness = plugin_harness(HelloPlugin)
    harness.activate()
    return harness


def test_activation_creates_the_bot_and_registers_hello(
    hello: PluginTestHarness[HelloPlugin],
) -> None:
    bot = hello.api.get_bot(hello.plugin.bot_id, False)
    assert (bot.username, bot.display_name) == ("hello", "Hello")
    assert [c.trigger for c in hello.api.commands] == ["hello"]
    assert hello.implemented == [
        "OnActivate",
        "OnConfigurationChange",
        "ExecuteCommand",
        "MessageWillBePosted",
    ]


def test_hello_greets_the_caller_or_the_given_name(hello: PluginTestHarness[HelloPlugin]) -> None:
    assert hello.command("/hello").text == "Hello, alice!"
    assert hello.command("/hello Mattermost").text == "Hello, Mattermost!"
    hello.set_config({"Greeting": "Howdy"})
    assert hello.command("/hello").text == "Howdy, alice!"


def test_the_banned_word_is_rejected(hello: PluginTestHarness[HelloPlugin]) -> None:
    with pytest.raises(BadRequestError, match="Please keep the spoilers to yourself"):
        hello.post(hello.user, hello.channel, "SPOILER: it was the butler")
    assert hello.api.posts == []
    assert hello.post(hello.user, hello.channel, "spoilers are fine").message == (
        "spoilers are fine"
    )


def test_teh_is_fixed(hello: PluginTestHarness[HelloPlugin]) -> None:
    assert hello.post(hello.user, hello.channel, "teh end").message == "the end"
    assert hello.post(hello.user, hello.channel, "tehran").message == "tehran"
