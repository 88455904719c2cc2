"""The pytest plugin of mmplugin (registered as the ``mmplugin`` pytest11 entry point).

Fixtures:

- ``mm_fake``: a fresh ``FakeAPI`` (an in-memory server) for code that takes an ``API``;
- ``plugin_harness``: a factory, ``plugin_harness(MyPlugin, config={...})`` → an activated-ready
  ``PluginTestHarness`` that is closed when the test ends.

The SDK is imported only when a fixture is used, so installing mmplugin costs other test suites
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mmplugin.testing import FakeAPI, PluginTestHarness


@pytest.fixture
def mm_fake() -> FakeAPI:
    """An in-memory Mattermost behind the typed plugin API."""
    from mmplugin.testing import FakeAPI

    return FakeAPI()


@pytest.fixture
def plugin_harness() -> Iterator[Callable[..., PluginTestHarness[Any]]]:
    """``plugin_harness(PluginClass, **options)``: a harness closed after the test."""
    from mmplugin.testing import PluginTestHarness

    made: list[PluginTestHarness[Any]] = []

    def make(plugin: Callable[[], Any], **options: Any) -> PluginTestHarness[Any]:
        harness: PluginTestHarness[Any] = PluginTestHarness(plugin, **options)
        made.append(harness)
        return harness

    yield make
    for harness in reversed(made):
        harness.close()
