"""Exit when the host goes away.

The host keeps the write end of the bootstrap pipe (fd 3) open for as long as it runs. When it
dies, for whatever reason, the kernel closes it and our read returns EOF: we then stop serving
and, if that does not finish quickly, exit hard. (On Linux the host also sets a parent-death
signal as a second guard.)
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

HOST_GONE_EXIT_CODE = 6
_log = logging.getLogger("mmplugin.runtime")


def start_watchdog(
    fd: int,
    on_host_gone: Callable[[], None],
    hard_exit_after: float = 3.0,
    exit: Callable[[int], None] = os._exit,
) -> threading.Thread:
    """Watch ``fd`` in a daemon thread; at EOF call ``on_host_gone``, then ``exit`` if alive."""

    def run() -> None:
        try:
            while os.read(fd, 4096):
                pass  # nothing else is sent today; read and ignore
        except OSError:
            pass
        _log.warning("mmplugin-host went away (bootstrap pipe closed); stopping the plugin")
        try:
            on_host_gone()
        finally:
            time.sleep(hard_exit_after)
            exit(HOST_GONE_EXIT_CODE)

    thread = threading.Thread(target=run, name="mmplugin-watchdog", daemon=True)
    thread.start()
    return thread
