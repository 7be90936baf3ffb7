"""Wait for a process's HTTP endpoint to answer 200: how the server helper and the Orthanc launcher know a process
they started is up."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import requests

__all__ = ["wait_for_http"]


def wait_for_http(
    url: str,
    process: subprocess.Popen,
    name: str,
    timeout: float,
    log_tail: Callable[[], str],
    on_timeout: Callable[[], None],
    poll: float = 0.2,
) -> None:
    """Return once ``url`` answers 200; raise RuntimeError with ``log_tail()`` if ``process`` exits first, or (after
    ``on_timeout()``, which should stop it) if ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log_tail()}")
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            on_timeout()
            raise RuntimeError(f"{name} did not answer within {timeout:.0f} s:\n{log_tail()}")
        time.sleep(poll)
