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
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:
    from mmplugin.testing import FakeAPI, HarnessFactory, PluginTestHarness

P = TypeVar("P")


@pytest.fixture
def mm_fake() -> FakeAPI:
    """An in-memory Mattermost behind the typed plugin API."""
    from mmplugin.testing import FakeAPI

    return FakeAPI()


@pytest.fixture
def plugin_harness() -> Iterator[HarnessFactory]:
    """``plugin_harness(PluginClass, **options)``: a ``PluginTestHarness`` (same options),
    closed after the test."""
    from mmplugin.testing import PluginTestHarness

    made: list[PluginTestHarness[Any]] = []

    def make(plugin: type[P] | Callable[[], P], **options: Any) -> PluginTestHarness[P]:
        harness = PluginTestHarness(plugin, **options)
        made.append(harness)
        return harness

    yield make
    for harness in reversed(made):
        harness.close()
