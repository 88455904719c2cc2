"""The base of FakeAPI's parts: the state and the plugin's identity."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mmplugin.api import API
from mmplugin.models import Channel, Post, Team, User

from ._store import Store


def id_of(value: str | User | Team | Channel | Post) -> str:
    """An id, given the id or the object."""
    return value if isinstance(value, str) else value.id


class FakeBase(API):
    """State shared by the FakeAPI parts (see mmplugin.testing.fake)."""

    def __init__(
        self,
        *,
        plugin_id: str = "com.example.plugin",
        bundle_path: str | None = None,
        config: Mapping[str, Any] | None = None,
        manifest: Mapping[str, Any] | None = None,
        site_url: str = "http://localhost:8065",
        server_version: str = "10.11.0",
    ) -> None:
        # No super().__init__(): there is no channel behind the fake.
        self.store = Store(plugin_id, site_url)
        self.store.plugin_config = dict(config or {})
        self.bundle_path = bundle_path or os.getcwd()
        self.manifest: dict[str, Any] = dict(manifest or {})
        self.server_version = server_version

    @property
    def plugin_id(self) -> str:
        return self.store.plugin_id
