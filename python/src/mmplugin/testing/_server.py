"""FakeAPI, part 3: configuration and server info, the KV store, events, logs, and what
tests look at."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from mmplugin.models import (
    Channel,
    Command,
    Config,
    License,
    OpenDialogRequest,
    PluginClusterEvent,
    PluginClusterEventSendOptions,
    PluginKVSetOptions,
    Post,
    WebsocketBroadcast,
)

from ._base import FakeBase, id_of
from ._store import (
    EphemeralPost,
    LogEntry,
    WebSocketEvent,
    bad_request,
    clone,
)
from ._store import page as _page

_KEY_MAX_RUNES = 150


class ServerMixin(FakeBase):
    # --- what tests look at ---------------------------------------------------------------

    @property
    def pluginid_of(self) -> str:
        return self.store.plugin_id

    @property
    def posts(self) -> list[Post]:
        """Every saved post (deleted ones included), oldest first."""
        with self.store.lock:
            return sorted((clone(p) for p in self.store.posts.values()), key=lambda p: p.create_at)

    @property
    def ephemeral_posts(self) -> list[EphemeralPost]:
        return list(self.store.ephemeral_posts)

    @property
    def websocket_events(self) -> list[WebSocketEvent]:
        return list(self.store.websocket_events)

    @property
    def logs(self) -> list[LogEntry]:
        return list(self.store.logs)

    @property
    def commands(self) -> list[Command]:
        return [clone(c) for c in self.store.commands]

    @property
    def cluster_events(self) -> list[tuple[PluginClusterEvent, PluginClusterEventSendOptions]]:
        return list(self.store.cluster_events)

    @property
    def dialogs(self) -> list[OpenDialogRequest]:
        return list(self.store.dialogs)

    def kv_data(self) -> dict[str, bytes]:
        """The live KV entries (what ``kv_get`` would return for each key)."""
        now = self.store.now_ms()
        with self.store.lock:
            return {k: v for k, (v, exp) in self.store.kv.items() if not exp or exp > now}

    def advance_time(self, delta: timedelta | float) -> None:
        """Move the fake's clock forward (KV expiry, timestamps)."""
        self.store.advance(delta)

    def posts_in(self, channel: str | Channel) -> list[Post]:
        cid = id_of(channel)
        return [p for p in self.posts if p.channel_id == cid and not p.delete_at]

    # --- configuration and server ------------------------------------------------------------

    def set_plugin_config(self, config: Mapping[str, Any]) -> None:
        """Replace the plugin's settings (``PluginSettings.Plugins[id]``); no hook runs."""
        with self.store.lock:
            self.store.plugin_config = dict(config)

    # --- users -----------------------------------------------------------------------------

    def load_plugin_configuration(self) -> dict[str, Any]:
        # As the server's LoadPluginConfiguration: the manifest's defaults, then the saved
        # settings, every key lower-cased.
        out: dict[str, Any] = {}
        schema = self.manifest.get("settings_schema") or {}
        for s in schema.get("settings") or ():
            if s.get("key"):
                out[s["key"].lower()] = s.get("default")
        with self.store.lock:
            out.update((k.lower(), clone(v)) for k, v in self.store.plugin_config.items())
        return out

    def get_plugin_config(self) -> dict[str, Any]:
        with self.store.lock:
            return clone(self.store.plugin_config)

    def save_plugin_config(self, config: dict[str, Any] | None) -> None:
        with self.store.lock:
            self.store.plugin_config = clone(config or {})
        hooks = self.store.hooks
        if hooks is not None:
            hooks_config = getattr(hooks, "configuration_changed", None)
            if callable(hooks_config):
                hooks_config()

    def get_config(self) -> Config | None:
        config = Config()
        config.service_settings.site_url = self.store.site_url
        return config

    def get_unsanitized_config(self) -> Config | None:
        return self.get_config()

    def get_bundle_path(self) -> str:
        return self.bundle_path

    def get_server_version(self) -> str:
        return self.server_version

    def get_pluginid_of(self) -> str:
        return self.store.plugin_id

    def get_license(self) -> License | None:
        return None

    def is_enterprise_ready(self) -> bool:
        return False

    def get_diagnosticid_of(self) -> str:
        return "fake-telemetry-id"

    def get_telemetryid_of(self) -> str:
        return "fake-telemetry-id"

    # --- KV store ----------------------------------------------------------------------------

    def kv_set_with_options(
        self, key: str, value: bytes | None, options: PluginKVSetOptions
    ) -> bool:
        # As the SQL plugin store: None deletes; atomic compares with old_value (None: the key
        # must not exist); an expired entry counts as missing.
        if not options.atomic and options.old_value is not None:
            raise bad_request("PluginKVSetOptions.IsValid", "old_value needs atomic")
        if not key or len(key) > _KEY_MAX_RUNES:
            raise bad_request("PluginKeyValue.IsValid", "Invalid key.", f"key={key}")
        s = self.store
        now = s.now_ms()
        expire_at = now + options.expire_in_seconds * 1000 if options.expire_in_seconds else 0
        with s.lock:
            current = s.kv.get(key)
            exists = current is not None and (not current[1] or current[1] > now)
            if options.atomic:
                if options.old_value is None:
                    if exists or value is None:  # nil old + nil new: nothing to delete
                        return False
                elif not exists or current is None or current[0] != options.old_value:
                    return False
            if value is None:
                s.kv.pop(key, None)
            else:
                s.kv[key] = (bytes(value), expire_at)
            return True

    def kv_set(self, key: str, value: bytes | None) -> None:
        self.kv_set_with_options(key, value, PluginKVSetOptions())

    def kv_set_with_expiry(self, key: str, value: bytes | None, expire_in_seconds: int) -> None:
        self.kv_set_with_options(
            key, value, PluginKVSetOptions(expire_in_seconds=expire_in_seconds)
        )

    def kv_compare_and_set(
        self, key: str, old_value: bytes | None, new_value: bytes | None
    ) -> bool:
        return self.kv_set_with_options(
            key, new_value, PluginKVSetOptions(atomic=True, old_value=old_value)
        )

    def kv_compare_and_delete(self, key: str, old_value: bytes | None) -> bool:
        if old_value is None:
            return False
        return self.kv_set_with_options(
            key, None, PluginKVSetOptions(atomic=True, old_value=old_value)
        )

    def kv_get(self, key: str) -> bytes | None:
        return self.kv_data().get(key)

    def kv_delete(self, key: str) -> None:
        with self.store.lock:
            self.store.kv.pop(key, None)

    def kv_delete_all(self) -> None:
        with self.store.lock:
            self.store.kv.clear()

    def kv_list(self, page: int, per_page: int) -> list[str]:
        # The SQL store: key order, perPage <= 0 means 10.
        return _page(sorted(self.kv_data()), page, per_page if per_page > 0 else 10)

    # --- events, logs, dialogs ---------------------------------------------------------------

    def publish_web_socket_event(
        self, event: str, payload: dict[str, Any] | None, broadcast: WebsocketBroadcast | None
    ) -> None:
        with self.store.lock:
            self.store.websocket_events.append(
                WebSocketEvent(event, clone(payload or {}), clone(broadcast))
            )

    def publish_plugin_cluster_event(
        self, ev: PluginClusterEvent, opts: PluginClusterEventSendOptions
    ) -> None:
        with self.store.lock:
            self.store.cluster_events.append((clone(ev), clone(opts)))

    def open_interactive_dialog(self, dialog: OpenDialogRequest) -> None:
        with self.store.lock:
            self.store.dialogs.append(clone(dialog))

    def _log(self, level: str, msg: str, fields: dict[str, Any]) -> None:
        with self.store.lock:
            self.store.logs.append(LogEntry(level, msg, dict(fields)))

    def log_debug(self, msg: str, /, **key_values: Any) -> None:
        self._log("debug", msg, key_values)

    def log_info(self, msg: str, /, **key_values: Any) -> None:
        self._log("info", msg, key_values)

    def log_warn(self, msg: str, /, **key_values: Any) -> None:
        self._log("warn", msg, key_values)

    def log_error(self, msg: str, /, **key_values: Any) -> None:
        self._log("error", msg, key_values)
