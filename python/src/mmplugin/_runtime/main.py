"""``python -I -m mmplugin._runtime``: the plugin process started by mmplugin-host.

Steps: read the bootstrap from fd 3 and watch that pipe; log JSON lines on stderr; put the
plugin's path first on ``sys.path``; import the entry point and create the plugin object; serve
gRPC on the plugin socket; print the go-plugin handshake line; serve until Shutdown.

Exit codes (the host reports them with the last ``fatal`` log record): 0 stopped on request,
1 unexpected error, 2 bad or missing bootstrap, 3 entry point failed to import, 4 plugin object
could not be created or bound, 5 could not serve on the socket, 6 the host went away.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import traceback

from .binding import RuntimeContext, bind_plugin
from .bootstrap import BOOTSTRAP_FD, Bootstrap, BootstrapError, read_bootstrap
from .entrypoint import EntryPointError, instantiate, load_entry_point
from .logs import configure_logging, log_fatal
from .server import ServeError, serve
from .service import StopRequest
from .watchdog import start_watchdog

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BOOTSTRAP = 2
EXIT_IMPORT = 3
EXIT_PLUGIN_INIT = 4
EXIT_SERVE = 5

HOST_GONE_GRACE = 1.0
"""Grace period for calls in flight when the host has died (nobody is waiting for them)."""

_log = logging.getLogger("mmplugin.runtime")


def main() -> int:
    configure_logging("info")
    try:
        bootstrap = read_bootstrap(BOOTSTRAP_FD)
    except BootstrapError as e:
        log_fatal(_log, f"invalid start-up: {e}")
        return EXIT_BOOTSTRAP
    configure_logging(bootstrap.log_level)
    # The host owns the process's lifecycle: Ctrl-C in a terminal reaches the whole process
    # group, and the host decides what happens to us (as go-plugin's own plugins do).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    # One event loop for everything gRPC; set it now so code run at import time finds it.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stop_holder: list[StopRequest] = []

    def host_gone() -> None:
        if stop_holder:
            loop.call_soon_threadsafe(stop_holder[0].request, HOST_GONE_GRACE, "host went away")

    start_watchdog(BOOTSTRAP_FD, host_gone)

    for entry in reversed(bootstrap.sys_path):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        factory = load_entry_point(bootstrap.entry_point, bootstrap.sys_path)
        plugin = instantiate(bootstrap.entry_point, factory)
    except EntryPointError as e:
        log_fatal(_log, str(e), e.details)
        return EXIT_PLUGIN_INIT if e.during_creation else EXIT_IMPORT
    try:
        return loop.run_until_complete(_run(bootstrap, plugin, stop_holder))
    finally:
        loop.close()


async def _run(bootstrap: Bootstrap, plugin: object, stop_holder: list[StopRequest]) -> int:
    ctx = RuntimeContext(bootstrap)
    stop = StopRequest()
    stop_holder.append(stop)
    try:
        binding = await bind_plugin(plugin, ctx)
    except Exception as e:
        log_fatal(
            _log,
            f"the SDK could not bind plugin '{bootstrap.entry_point}': {type(e).__name__}: {e}",
            _format_exc(),
        )
        return EXIT_PLUGIN_INIT
    try:
        await serve(
            bootstrap,
            binding.servicers,
            binding.implemented_hooks,
            stop=stop,
            call_hook=binding.call_hook,
        )
    except ServeError as e:
        log_fatal(_log, str(e))
        return EXIT_SERVE
    finally:
        if binding.on_stop is not None:
            try:
                await binding.on_stop()
            except Exception:
                _log.exception("error while stopping the SDK")
        await ctx.close()
    return EXIT_OK


def _format_exc() -> str:
    return traceback.format_exc()
