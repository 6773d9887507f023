"""The FTP client on real sockets: an asyncio driver for :class:`refimpl.ftp.client.FTPClient`.

    async with AsyncFTP("127.0.0.1", 2121, mode="passive") as ftp:
        await ftp.login("anonymous", "me@example.org")
        listing = await ftp.list("/pub")
        data = await ftp.retr("/pub/hello.txt")
        await ftp.stor("/incoming/up.txt", b"hello")

Each method queues one operation in the sans-I/O client and waits for its
``Done`` (returned) or ``Failed`` (raised as :class:`FTPError`). Every effect
and event is also appended to ``self.events``, so a lesson can show the steps.
Bounded in time: every wait has ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from refimpl.ftp.client import FTPClient
from refimpl.ftp.events import (
    ClientEffect,
    CloseData,
    DataConnect,
    DataListen,
    Done,
    Failed,
    ReplyReceived,
    SendCommand,
    SendData,
)


class FTPError(Exception):
    def __init__(self, failed: Failed):
        super().__init__(f"{failed.name}: {failed.reply or failed.reason}")
        self.failed = failed
        self.reply = failed.reply


class AsyncFTP:
    def __init__(self, host: str, port: int = 21, mode: str = "passive", timeout: float = 10.0):
        self.host, self.port, self.mode, self.timeout = host, port, mode, timeout
        self.events: list = []
        self.client: FTPClient | None = None
        self.results: asyncio.Queue = asyncio.Queue()
        self.tasks: set[asyncio.Task] = set()
        self.data_writer: asyncio.StreamWriter | None = None
        self.data_ready = asyncio.Event()
        self.listener = None
        self.upload: list[bytes] = []

    async def __aenter__(self) -> AsyncFTP:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def connect(self) -> Done:
        self.reader, self.writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), self.timeout)
        local = self.writer.get_extra_info("sockname")[0]
        peer = self.writer.get_extra_info("peername")[0]
        self.client = FTPClient(local, peer, mode=self.mode)
        self._spawn(self._read_control())
        return await self._result()

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        self._close_data()
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()

    # -- operations ---------------------------------------------------------------
    async def login(self, user: str = "anonymous", password: str = "anonymous@") -> Done:
        return await self._do(self.client.login(user, password))

    async def command(self, line: str) -> Done:
        return await self._do(self.client.command(line))

    async def retr(self, path: str, rest: int = 0, binary: bool = True) -> bytes:
        return (await self._do(self.client.retr(path, rest=rest, binary=binary))).data

    async def stor(self, path: str, data: bytes, rest: int = 0) -> Done:
        return await self._do(self.client.stor(path, data, rest=rest))

    async def list(self, path: str = "") -> bytes:
        return (await self._do(self.client.list(path))).data

    async def nlst(self, path: str = "") -> list[str]:
        return (await self._do(self.client.nlst(path))).data.decode("utf-8", "replace").split()

    async def quit(self) -> Done:
        return await self._do(self.client.quit())

    # -- the engine ------------------------------------------------------------------
    async def _do(self, effects: list[ClientEffect]) -> Done:
        await self._apply(effects)
        return await self._result()

    async def _result(self) -> Done:
        result = await asyncio.wait_for(self.results.get(), self.timeout)
        if isinstance(result, Failed):
            raise FTPError(result)
        return result

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _read_control(self) -> None:
        while True:
            data = await self.reader.read(4096)
            if not data:
                await self._apply(self.client.connection_lost(now=self._now()))
                return
            await self._apply(self.client.receive(data, now=self._now()))

    @staticmethod
    def _now() -> float:
        return time.time()  # the client core keeps no clock of its own; the contract passes one anyway

    async def _apply(self, effects: list[ClientEffect]) -> None:
        for e in effects:
            self.events.append(e)
            if isinstance(e, (Done, Failed)):
                self.results.put_nowait(e)
            elif isinstance(e, SendCommand):
                self.writer.write(e.encode())
                await self.writer.drain()
            elif isinstance(e, DataConnect):
                try:
                    reader, writer = await asyncio.wait_for(asyncio.open_connection(e.ip, e.port), self.timeout)
                except (TimeoutError, OSError) as exc:
                    # the transfer sends ABOR and fails once the server has answered
                    await self._apply(self.client.data_failed(str(exc) or "connect failed", now=self._now()))
                    continue  # the command after DataConnect (RETR...) must still go out
                self._data_open(reader, writer)
            elif isinstance(e, DataListen):
                self.listener = await asyncio.start_server(self._accepted, e.ip, e.port)
                port = self.listener.sockets[0].getsockname()[1]
                await self._apply(self.client.data_listening(port, now=self._now()))
            elif isinstance(e, SendData):
                self.upload.append(e.data)
            elif isinstance(e, CloseData):
                self._spawn(self._upload(self.upload))  # stream mode: the close ends the file
                self.upload = []
            elif isinstance(e, ReplyReceived):
                pass

    async def _accepted(self, reader, writer) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self._data_open(reader, writer)

    def _data_open(self, reader, writer) -> None:
        self.data_writer = writer
        self.data_ready.set()
        self._spawn(self._read_data(reader, writer))

    async def _upload(self, chunks: list[bytes]) -> None:
        """Send an upload once the data connection is up, then close it."""
        await asyncio.wait_for(self.data_ready.wait(), self.timeout)
        writer = self.data_writer
        for chunk in chunks:
            writer.write(chunk)
            await writer.drain()
        self._close_data()

    async def _read_data(self, reader, writer) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while True:
                chunk = await reader.read(64 * 1024)
                if not chunk or self.data_writer is not writer:
                    break
                self.client.data_received(chunk, now=self._now())
        if self.data_writer is writer:  # the server ended it (not our own close)
            self._close_data()
            await self._apply(self.client.data_closed(now=self._now()))

    def _close_data(self) -> None:
        if self.data_writer is not None:
            with contextlib.suppress(OSError):
                self.data_writer.close()
            self.data_writer = None
        self.data_ready.clear()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
