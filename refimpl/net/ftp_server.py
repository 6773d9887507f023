"""The FTP server on real sockets: an asyncio driver for :class:`ServerSession`.

The protocol lives in :mod:`refimpl.ftp.session`; this file only moves bytes
and carries out the session's effects:

    Reply        -> write it on the control connection
    DataListen   -> listen on one of the offered ports, report the one we got
    DataConnect  -> connect (from port 20 if we may bind it) in a background task
    SendData     -> write on the data connection, then ask the session for more
    SendFile     -> ``loop.sendfile`` (zero-copy ``sendfile(2)`` where the OS has it)
    CloseData    -> close the data connection and the listener
    Close        -> close the control connection
    Log          -> append to the command log or the xferlog
    Wait         -> sleep (this connection only) before the next effect

The control connection keeps being read while a transfer runs, so ABOR works
in the middle of a download. Everything is bounded in time: an idle control
connection is closed after ``idle_timeout`` seconds, a data connection that
does not come within ``data_timeout`` seconds fails with 425.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from typing import Callable, TextIO

from refimpl.ftp import (Close, CloseData, DataConnect, DataListen, JailedFS, Log, Reply,
                         SendData, SendFile, ServerConfig, ServerSession, Wait)

#: Uploads: the most one read from a data connection takes (see :class:`Inflow`).
#: Measured with ``make bench``: 64 KiB reads pay the per-read cost too often,
#: 512 KiB did best here (about 1.2x the speed of 256 KiB, and no slower than 1 MiB).
DATA_BUFFER = 512 * 1024


class FTPServer:
    """``server = FTPServer(config, root); await server.start(); ...; await server.close()``."""

    def __init__(self, config: ServerConfig, root: str, host: str = "127.0.0.1", port: int = 2121,
                 command_log: TextIO | None = None, xferlog: TextIO | None = None,
                 idle_timeout: float = 300.0, data_timeout: float = 30.0,
                 clock: Callable[[], float] = time.time):
        self.config = config
        self.fs = JailedFS(root)
        self.host, self.port = host, port
        self.command_log, self.xferlog = command_log, xferlog
        self.idle_timeout, self.data_timeout = idle_timeout, data_timeout
        self.clock = clock
        self.server: asyncio.base_events.Server | None = None
        self.connections: set[Connection] = set()

    async def start(self) -> int:
        """Listen; return the port (useful with ``port=0``)."""
        # A class logging in at once overflows asyncio's default backlog of 100;
        # the kernel then answers with SYN cookies and, since an FTP server speaks
        # first, a client whose connection was dropped waits for a 220 forever.
        self.server = await asyncio.start_server(self._accept, self.host, self.port, backlog=1024)
        self.port = self.server.sockets[0].getsockname()[1]
        return self.port

    async def serve_forever(self) -> None:
        if self.server is None:
            await self.start()
        async with self.server:
            await self.server.serve_forever()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        for conn in list(self.connections):
            conn.abort()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.done.wait(), 5)

    def log(self, entry: Log) -> None:
        out = self.xferlog if entry.channel == "xferlog" else self.command_log
        if out is not None:
            out.write(entry.line + "\n")
            out.flush()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)


class Connection:
    """One control connection, its session and at most one data connection."""

    def __init__(self, server: FTPServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.reader, self.writer = reader, writer
        sock = writer.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            # ftplib sends ABOR's last byte as TCP urgent data (MSG_OOB); keep it in the stream
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        peer = writer.get_extra_info("peername")
        local = writer.get_extra_info("sockname")
        self.local_ip = local[0]
        self.session = ServerSession(server.config, server.fs, peer[:2], local[:2], now=server.clock())
        self.listener: asyncio.base_events.Server | None = None
        self.data_reader: asyncio.StreamReader | None = None
        self.data_writer: asyncio.StreamWriter | None = None
        self.tasks: set[asyncio.Task] = set()
        self.data_timer: asyncio.TimerHandle | None = None  # see listen()
        self.closed = False
        self.done = asyncio.Event()

    # -- control connection ----------------------------------------------------
    async def run(self) -> None:
        try:
            await self.apply(self.session.start(self.now()))
            loop = asyncio.get_running_loop()
            # Speed: one idle deadline per connection, moved on after each command.
            # asyncio.wait_for around every read would start a new Task per line,
            # the largest per-command cost of the driver in the profile.
            try:
                async with asyncio.timeout(self.server.idle_timeout) as idle:
                    while not self.closed:
                        data = await self.reader.read(4096)
                        if not data:
                            break
                        idle.reschedule(None)  # only reading counts as idle, not our own work
                        await self.apply(self.session.receive_data(data, self.now()))
                        idle.reschedule(loop.time() + self.server.idle_timeout)
            except TimeoutError:
                self.writer.write(Reply(421, "Idle timeout; closing control connection.").encode())
        except (ConnectionError, OSError):
            pass
        finally:
            await self.apply(self.session.connection_lost(self.now()))
            self.close_data()
            self.cancel_data_timer()
            for task in list(self.tasks):
                task.cancel()
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.done.set()

    def abort(self) -> None:
        """Server shutdown: stop reading."""
        self.closed = True
        self.writer.close()

    def now(self) -> float:
        return self.server.clock()

    async def apply(self, effects: list) -> None:
        """Carry out a session's effects, in order."""
        for e in effects:
            if isinstance(e, Reply):
                if not self.writer.is_closing():
                    self.writer.write(e.encode())
            elif isinstance(e, Log):
                self.server.log(e)
            elif isinstance(e, Wait):
                await asyncio.sleep(e.seconds)  # this connection only; others go on
            elif isinstance(e, Close):
                self.closed = True
                with contextlib.suppress(Exception):
                    await self.writer.drain()
                self.writer.close()
            elif isinstance(e, DataListen):
                await self.listen(e)
            elif isinstance(e, DataConnect):
                self.spawn(self.connect(e))
            elif isinstance(e, SendData):
                self.spawn(self.send(e))
            elif isinstance(e, SendFile):
                self.spawn(self.sendfile(e))
            elif isinstance(e, CloseData):
                self.close_data()
        if not self.writer.is_closing():
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- data connection ---------------------------------------------------------
    async def listen(self, e: DataListen) -> None:
        # Speed: try the ports with plain bind() calls and hand asyncio only the one
        # that worked. Under load many ports of the range are taken, and a failed
        # asyncio.start_server costs far more than a failed bind().
        family = socket.AF_INET6 if ":" in e.ip else socket.AF_INET
        for port in e.ports:  # bounded: the configured range (port 0: any free port)
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((e.ip, port))
                self.listener = await asyncio.start_server(self.accepted, sock=sock, limit=DATA_BUFFER)
                port = sock.getsockname()[1]
                break
            except OSError:
                sock.close()
                continue
        else:
            await self.apply(self.session.data_listen_failed(self.now()))
            return
        # Speed: a timer, not a sleeping Task, for the one deadline of each PASV.
        self.cancel_data_timer()
        self.data_timer = asyncio.get_running_loop().call_later(
            self.server.data_timeout, self.data_deadline, self.listener)
        await self.apply(self.session.data_listening(port, self.now()))

    def data_deadline(self, listener) -> None:
        """A passive port nobody connects to is closed after ``data_timeout``."""
        self.data_timer = None
        if self.listener is listener and self.data_writer is None:
            self.close_data()
            self.spawn(self.apply(self.session.data_failed(self.now(), "timeout")))

    def cancel_data_timer(self) -> None:
        if self.data_timer is not None:
            self.data_timer.cancel()
            self.data_timer = None

    async def accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.data_writer is not None or self.listener is None:
            writer.close()  # one data connection at a time
            return
        self.listener.close()  # stop listening: the port served its one connection
        self.listener = None
        self.cancel_data_timer()
        self.data_reader, self.data_writer = reader, writer
        peer = writer.get_extra_info("peername")
        await self.apply(self.session.data_connected(self.now(), peer[:2]))
        if self.data_writer is writer:
            self.read_data(reader, writer)

    async def connect(self, e: DataConnect) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in e.ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.local_ip, e.from_port))  # RFC 959 §3.2: port 20 (needs root)
            except OSError:
                sock.bind((self.local_ip, 0))
            sock.setblocking(False)
            await asyncio.wait_for(loop.sock_connect(sock, (e.ip, e.port)), self.server.data_timeout)
            reader, writer = await asyncio.open_connection(sock=sock, limit=DATA_BUFFER)
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            await self.apply(self.session.data_failed(self.now(), str(exc)))
            return
        self.data_reader, self.data_writer = reader, writer
        await self.apply(self.session.data_connected(self.now(), (e.ip, e.port)))
        if self.data_writer is writer:
            self.read_data(reader, writer)

    def read_data(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Uploads arrive here; EOF ends a STOR (RFC 959 §3.4 stream mode).

        Each chunk goes to the session (which writes it to the file) the moment
        the socket delivers it, inside :class:`Inflow`'s callback: no Task, no
        Future and no copy per chunk, which is what made uploads slow.
        """
        def received(chunk: memoryview) -> None:
            if self.data_writer is writer:  # else: closed by us meanwhile
                effects = self.session.data_received(chunk, self.now())
                if effects:  # a failed write: 451 and close
                    self.spawn(self.apply(effects))

        def ended() -> None:
            if self.data_writer is writer:
                self.data_reader = self.data_writer = None
                writer.close()
                self.spawn(self.apply(self.session.data_closed(self.now())))

        Inflow.attach(writer.transport, reader, received, ended)

    async def send(self, e: SendData) -> None:
        writer = self.data_writer
        if writer is None:
            return
        try:
            writer.write(e.data)
            await writer.drain()
        except (ConnectionError, OSError):
            if self.data_writer is writer:
                self.data_reader = self.data_writer = None
                await self.apply(self.session.data_closed(self.now()))
            return
        if self.data_writer is writer:
            await self.apply(self.session.data_sent(self.now()))

    async def sendfile(self, e: SendFile) -> None:
        writer = self.data_writer
        if writer is None:
            return
        loop = asyncio.get_running_loop()
        try:
            await writer.drain()
            sent = await loop.sendfile(writer.transport, e.file, e.offset, e.count, fallback=True)
        except (ConnectionError, OSError, RuntimeError):
            if self.data_writer is writer:
                self.data_reader = self.data_writer = None
                await self.apply(self.session.data_closed(self.now()))
            return
        if self.data_writer is writer:
            await self.apply(self.session.data_sent(self.now(), sent))

    def close_data(self) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        if self.data_writer is not None:
            self.data_writer.close()  # buffered data is still flushed before the FIN
            self.data_reader = self.data_writer = None


class Inflow(asyncio.BufferedProtocol):
    """Bytes from a data connection, received into one reused buffer and handed on at once.

    A ``StreamReader`` copies each byte three times on its way in (into its
    buffer, out as a slice, into ``bytes``), and waking a Task for every chunk
    costs more than writing it. ``Inflow`` takes over reading from the
    transport: the socket is read (``recv_into``) straight into ``buffer`` and
    ``received`` is called with a view of the bytes, which it must use before
    it returns (the next read overwrites them). Since the file is written
    inside that call, a slow disk slows the reading: flow control for free.
    Everything else - write flow control for ``drain()``, the connection's
    end - is passed on to the stream's own protocol, so the ``StreamWriter``
    keeps working for listings and downloads.
    """

    def __init__(self, transport: asyncio.Transport, inner: asyncio.BaseProtocol,
                 received: Callable[[memoryview], None], ended: Callable[[], None]):
        self.transport, self.inner = transport, inner
        self.received, self.ended = received, ended
        # Most data connections carry a listing or a download and receive
        # nothing; the buffer is made when the first bytes come (get_buffer).
        self.view: memoryview | None = None
        self.finished = False

    @classmethod
    def attach(cls, transport: asyncio.Transport, reader: asyncio.StreamReader,
               received: Callable[[memoryview], None], ended: Callable[[], None]) -> "Inflow":
        """Take over reading from ``transport``, first passing on what its ``reader`` already got.

        In active mode the client may send before we attach; those bytes (and
        an early EOF) sit in the StreamReader, which has no public way to take
        them without waiting, hence its private ``_buffer``/``_eof``.
        """
        inflow = cls(transport, transport.get_protocol(), received, ended)
        transport.set_protocol(inflow)
        if reader._buffer:
            received(memoryview(bytes(reader._buffer)))
            reader._buffer.clear()
        if reader._eof or transport.is_closing():
            inflow._end()
        return inflow

    # -- called by the transport
    def get_buffer(self, sizehint: int) -> memoryview:
        if self.view is None:
            self.view = memoryview(bytearray(DATA_BUFFER))
        return self.view

    def buffer_updated(self, nbytes: int) -> None:
        self.received(self.view[:nbytes])

    def eof_received(self) -> bool:
        self._end()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self._end()
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def _end(self) -> None:
        if not self.finished:  # EOF, then connection_lost: end once
            self.finished = True
            self.ended()


async def run_server(server: FTPServer, ready: Callable[[int], None] | None = None) -> None:
    port = await server.start()
    if ready:
        ready(port)
    try:
        await server.serve_forever()
    finally:
        await server.close()


def log_to(path: str | None) -> TextIO | None:
    if path is None:
        return None
    if path == "-":
        return sys.stderr
    return open(path, "a", encoding="utf-8")
