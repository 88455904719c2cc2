from __future__ import annotations

from collections.abc import Iterator

import pytest

from mmplugin.db import Store
from mmplugin.db._transport import DriverClient, stub_invoker

from .fakedriver import SECRET, Served, serve


@pytest.fixture
def served() -> Iterator[Served]:
    yield from serve()


@pytest.fixture
def client(served: Served) -> Iterator[DriverClient]:
    channel = served.channel()
    try:
        yield DriverClient(stub_invoker(channel, [("mmplugin-secret", SECRET)], timeout=10))
    finally:
        channel.close()


@pytest.fixture
def store(client: DriverClient) -> Store:
    return Store(client)
