"""Run the asyncio FTP server in a background thread, for interop tests on loopback."""

from __future__ import annotations

import io

from server_thread import ServerThread

from refimpl.ftp import ServerConfig
from refimpl.sockets.ftp_server import FTPServer


class LiveServer(ServerThread):
    """``with LiveServer(config, root) as srv: ftplib.FTP().connect("127.0.0.1", srv.port)``."""

    def __init__(self, config: ServerConfig, root, host: str = "127.0.0.1", **kw):
        self.xferlog, self.command_log = io.StringIO(), io.StringIO()
        self.server = FTPServer(
            config,
            str(root),
            host,
            0,
            command_log=self.command_log,
            xferlog=self.xferlog,
            idle_timeout=30,
            data_timeout=10,
            **kw,
        )
        super().__init__(self.server.start, self.server.close, "FTP server")
