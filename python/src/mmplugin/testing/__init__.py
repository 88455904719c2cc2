"""Testing Python plugins without a server: an in-memory API and a hook harness.

::

    from mmplugin.testing import PluginTestHarness

    def test_greets() -> None:
        with PluginTestHarness(Greeter) as h:
            h.activate()
            assert h.command("/hello").text == "Hello!"

``FakeAPI`` is an in-memory Mattermost behind the typed ``API`` (``FakeAsyncAPI`` behind
``AsyncAPI``); ``PluginTestHarness`` runs a plugin on it the way the server and the plugin
process would. With pytest, the ``mm_fake`` and ``plugin_harness`` fixtures are available as
soon as mmplugin is installed (see ``mmplugin.testing.pytest_plugin``).
"""

from ._http import HTTPResult
from ._store import EphemeralPost, LogEntry, WebSocketEvent
from .fake import BOT_USER_KEY, FakeAPI, FakeAsyncAPI, NotSupportedByFake
from .harness import HarnessFactory, PluginTestHarness

__all__ = [
    "BOT_USER_KEY",
    "EphemeralPost",
    "FakeAPI",
    "FakeAsyncAPI",
    "HTTPResult",
    "HarnessFactory",
    "LogEntry",
    "NotSupportedByFake",
    "PluginTestHarness",
    "WebSocketEvent",
]
