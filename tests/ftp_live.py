"""Run the asyncio FTP server in a background thread, for interop tests on loopback."""

from __future__ import annotations

import asyncio
import io
import threading

from refimpl.ftp import ServerConfig
from refimpl.net.ftp_server import FTPServer


class LiveServer:
    """``with LiveServer(config, root) as srv: ftplib.FTP().connect("127.0.0.1", srv.port)``."""

    def __init__(self, config: ServerConfig, root, host: str = "127.0.0.1", **kw):
        self.xferlog, self.command_log = io.StringIO(), io.StringIO()
        self.server = FTPServer(config, str(root), host, 0, command_log=self.command_log,
                                xferlog=self.xferlog, idle_timeout=30, data_timeout=10, **kw)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = threading.Event()
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.port = self.loop.run_until_complete(self.server.start())
        self.started.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.close())
        self.loop.close()

    def __enter__(self) -> "LiveServer":
        self.thread.start()
        if not self.started.wait(10):
            raise RuntimeError("FTP server did not start")
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
