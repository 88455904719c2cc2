"""The plugin process runtime: what runs under ``python -I -m mmplugin._runtime``.

mmplugin-host starts this module, sends the bootstrap on fd 3, waits for the go-plugin handshake
line on stdout and then talks gRPC over a private unix socket. The SDK extends the runtime with
``register_binder`` (see ``binding``); nothing here knows about individual hooks or API methods.
"""

from .auth import SECRET_METADATA_KEY, api_channel, secret_metadata
from .binding import Binder, Binding, RuntimeContext, ServicerRegistrar, register_binder
from .bootstrap import Bootstrap, BootstrapError, read_bootstrap
from .entrypoint import EntryPointError, load_entry_point
from .main import main
from .server import HEALTH_SERVICE, handshake_line, serve
from .service import SUPPORTED_PROTOCOL_VERSIONS, StopRequest

__all__ = [
    "HEALTH_SERVICE",
    "SECRET_METADATA_KEY",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "Binder",
    "Binding",
    "Bootstrap",
    "BootstrapError",
    "EntryPointError",
    "RuntimeContext",
    "ServicerRegistrar",
    "StopRequest",
    "api_channel",
    "handshake_line",
    "load_entry_point",
    "main",
    "read_bootstrap",
    "register_binder",
    "secret_metadata",
    "serve",
]
