"""Waiting for a background program (tcpdump, a server) to be ready, and stopping it.

The capture recorders start real programs and must not send a packet before
they listen. Each program writes a log line when it is ready; these helpers
poll that log, bounded in time, so a program that never starts is an error
instead of a hang.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``predicate`` every 50 ms; raise RuntimeError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def log_text(path: Path) -> str:
    """The log written so far ("" before the program has created it)."""
    return path.read_text() if path.exists() else ""


def stop(process: subprocess.Popen, grace: float = 10) -> None:
    """SIGTERM (tcpdump flushes its file, a server closes its sockets), then SIGKILL after ``grace`` s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
