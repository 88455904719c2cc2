"""The Mattermost WebSocket API (``/api/v4/websocket``) over the ``websockets`` library.

Authentication uses the documented ``authentication_challenge`` action with a session token.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

Event = dict[str, Any]


class EventStream:
    """A WebSocket session as one user. Use as a context manager."""

    def __init__(self, ws_url: str, token: str, *, timeout: float = 10.0) -> None:
        self.url = ws_url.rstrip("/") + "/api/v4/websocket"
        self._token = token
        self._timeout = timeout
        self._conn: ClientConnection | None = None
        self._seq = 0
        self._pending: list[Event] = []
        self._stack = ExitStack()

    def __enter__(self) -> EventStream:
        with ExitStack() as stack:
            self._conn = stack.enter_context(
                connect(self.url, open_timeout=self._timeout, close_timeout=5)
            )
            reply = self.send("authentication_challenge", {"token": self._token})
            if reply.get("status") != "OK":
                raise RuntimeError(f"WebSocket authentication failed: {reply.get('error')}")
            self.wait_for("hello")
            self._stack = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()
        self._conn = None

    def send(self, action: str, data: dict[str, Any] | None = None) -> Event:
        """Send an action and return the server's reply (the message with our ``seq_reply``)."""
        self._seq += 1
        seq = self._seq
        self._connection.send(json.dumps({"seq": seq, "action": action, "data": data or {}}))
        return self._next(lambda m: m.get("seq_reply") == seq, f"the reply to {action}")

    def wait_for(
        self,
        event: str,
        predicate: Callable[[Event], bool] | None = None,
        *,
        timeout: float | None = None,
    ) -> Event:
        """The next ``event`` (optionally matching ``predicate``); earlier others are kept."""

        def matches(message: Event) -> bool:
            return message.get("event") == event and (predicate is None or predicate(message))

        return self._next(matches, f"a {event!r} event", timeout)

    @property
    def _connection(self) -> ClientConnection:
        if self._conn is None:
            raise RuntimeError("EventStream is not connected: use it in a `with` block")
        return self._conn

    def _next(
        self, matches: Callable[[Event], bool], what: str, timeout: float | None = None
    ) -> Event:
        for index, message in enumerate(self._pending):
            if matches(message):
                return self._pending.pop(index)
        limit = self._timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                raw = self._connection.recv(timeout=remaining)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                raise RuntimeError(f"WebSocket closed while waiting for {what}: {exc}") from exc
            received: Event = json.loads(raw)
            if matches(received):
                return received
            self._pending.append(received)
        seen = sorted({str(m.get("event") or m.get("seq_reply")) for m in self._pending})
        raise TimeoutError(f"no {what} within {limit:.0f}s on {self.url} (saw: {seen})")
