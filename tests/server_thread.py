"""An asyncio server in a background thread with its own event loop, for tests on loopback.

The test itself stays plain synchronous code (ftplib, subprocess, asserts)
while our asyncio driver serves in the thread. Used by the FTP and TFTP
interop tests::

    with ServerThread(driver.start, driver.close, "TFTP server") as live:
        ...  # talk to 127.0.0.1:live.port
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable


class ServerThread:
    """Runs ``start()`` (a coroutine returning the bound port) in a thread's loop; ``close()`` on exit."""

    def __init__(self, start: Callable[[], Awaitable[int]], close: Callable[[], Awaitable], name: str = "server"):
        self._start, self._close, self.name = start, close, name
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True, name=name)
        self.started = threading.Event()
        self.port = 0
        self.error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.port = self.loop.run_until_complete(self._start())
        except BaseException as exc:  # e.g. the port is taken: the test must hear of it
            self.error = exc
            self.started.set()
            self.loop.close()
            return
        self.started.set()
        self.loop.run_forever()
        self.loop.close()

    def call(self, coro, timeout: float = 30):
        """Run ``coro`` in the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def __enter__(self):
        self.thread.start()
        if not self.started.wait(10):
            raise RuntimeError(f"{self.name} did not start")
        if self.error is not None:
            raise RuntimeError(f"{self.name} did not start: {self.error}") from self.error
        return self

    def __exit__(self, *exc) -> None:
        if self.loop.is_closed() or not self.thread.is_alive():
            return  # closed already
        try:
            self.call(self._close(), 10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
