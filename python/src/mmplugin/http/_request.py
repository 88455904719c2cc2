"""What ASGI scopes and WSGI environs are made of: the request head as Mattermost sends it.

Mattermost routes ``<site>/plugins/<plugin id>/<rest>`` to the plugin and strips the prefix from
``r.URL.Path`` before calling ServeHTTP, so the head's ``url`` is ``/<rest>?<query>``, while
``request_uri`` keeps what the client asked for. The prefix (with the server's subpath, if it
has one) becomes the app's mount point: ASGI ``root_path`` / WSGI ``SCRIPT_NAME``, so frameworks
route on ``/<rest>`` and build correct absolute URLs and redirects, as behind any reverse proxy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from mmplugin._streams import wire_bytes


class RequestHead(Protocol):
    """The fields of mmplugin._streams.HTTPRequest / SyncHTTPRequest this package reads."""

    method: str
    url: str
    proto_major: int
    proto_minor: int
    headers: list[tuple[str, str]]
    host: str
    remote_addr: str
    request_uri: str
    content_length: int


@dataclass(frozen=True)
class Target:
    """The request target split the way ASGI and WSGI want it."""

    escaped_root: str
    """The mount point as sent: ``/plugins/<id>`` (``/<subpath>/plugins/<id>``)."""
    escaped_path: str
    """The path below it as sent (percent-encoded); ``""`` for the mount point itself."""
    query: str
    """The query string as sent, without ``?``."""

    @property
    def root_path(self) -> str:
        return unquote(self.escaped_root)

    @property
    def path(self) -> str:
        """The path below the mount point, decoded: Go's ``r.URL.Path``."""
        return unquote(self.escaped_path)

    @property
    def raw_path(self) -> bytes:
        return (self.escaped_root + self.escaped_path).encode("latin-1", errors="replace")


def target(head: RequestHead, plugin_id: str | None) -> Target:
    url = urlsplit(head.url)
    return Target(
        escaped_root=_mount_point(head.request_uri, url.path, plugin_id),
        escaped_path=url.path,
        query=url.query,
    )


def wsgi_str(escaped: str) -> str:
    """A percent-encoded path as PEP 3333 wants it: the decoded bytes as a latin-1 str."""
    return unquote_to_bytes(escaped).decode("latin-1")


def native_str(value: str) -> str:
    """A header value or query string as PEP 3333 wants it: its bytes (as the client sent them,
    see mmplugin._streams.wire_str) as a latin-1 str."""
    return wire_bytes(value).decode("latin-1")


def from_native(value: str) -> str:
    """A PEP 3333 header value (bytes as a latin-1 str) back to the wire's str."""
    try:
        data = value.encode("latin-1")
    except UnicodeEncodeError:  # not a native string, as PEP 3333 asks: take it as text
        data = value.encode("utf-8", "surrogateescape")
    return data.decode("utf-8", "surrogateescape")


def _mount_point(request_uri: str, escaped_path: str, plugin_id: str | None) -> str:
    # The client's path ends with the path Mattermost left us: what precedes it is the prefix.
    # Requests from other plugins (API.PluginHTTP) or the server itself have no such URI.
    uri_path = urlsplit(request_uri).path if request_uri else ""
    if uri_path and "/plugins/" in uri_path and uri_path.endswith(escaped_path):
        prefix = uri_path[: len(uri_path) - len(escaped_path)]
        if "/plugins/" in prefix + "/" and not prefix.endswith("/"):
            return prefix
    return f"/plugins/{plugin_id}" if plugin_id else ""


def header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    key = name.lower()
    for n, v in headers:
        if n.lower() == key:
            return v
    return None


def scheme(headers: Iterable[tuple[str, str]]) -> str:
    """``https`` when the proxy in front of Mattermost says so, else ``http``.

    Mattermost does not tell plugins whether its own listener uses TLS; ``X-Forwarded-Proto``
    (set by the usual nginx configuration) is the best available hint.
    """
    proto = (header(headers, "X-Forwarded-Proto") or "").split(",")[0].strip().lower()
    return "https" if proto in ("https", "wss") else "http"


def split_host_port(value: str, default_port: int | None) -> tuple[str, int | None]:
    """``host:port`` / ``[v6]:port`` / ``host`` → (host, port)."""
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif value.count(":") == 1:
        host, _, port = value.partition(":")
    else:
        host, port = value, ""
    return host, int(port) if port.isdigit() else default_port


def client(head: RequestHead) -> tuple[str, int] | None:
    if not head.remote_addr:
        return None
    host, port = split_host_port(head.remote_addr, 0)
    return host, port or 0


def server(head: RequestHead, url_scheme: str) -> tuple[str, int]:
    default = 443 if url_scheme == "https" else 80
    host, port = split_host_port(head.host or "localhost", default)
    return host, port or default


def http_version(head: RequestHead) -> str:
    if head.proto_major >= 2:
        return str(head.proto_major)
    return f"{head.proto_major or 1}.{head.proto_minor if head.proto_major else 1}"


def body_allowed(method: str, status: int) -> bool:
    """Whether a response may have a body (Go's net/http refuses writes otherwise)."""
    return method != "HEAD" and status >= 200 and status not in (204, 304)


def mattermost_info(head: RequestHead, ctx: Any, plugin: Any, path: str) -> dict[str, Any]:
    """``scope["mattermost"]`` / ``environ["mattermost"]``: what Mattermost adds to a request."""
    return {
        "user_id": header(head.headers, "Mattermost-User-Id") or None,
        # Set by the server on requests from another plugin (API.PluginHTTP): the caller's id.
        "source_plugin_id": header(head.headers, "Mattermost-Plugin-ID") or None,
        "context": ctx,
        "plugin": plugin,
        "path": path,
    }
