"""The FTP server on real sockets: an asyncio driver for :class:`ServerSession`.

The protocol lives in :mod:`refimpl.ftp.session`; this file only moves bytes
and carries out the session's effects:

    Reply        -> write it on the control connection
    DataListen   -> listen on one of the offered ports, report the one we got
    DataConnect  -> connect (from port 20 if we may bind it), in the background
    SendData     -> send on the data connection, then ask the session for more
    SendFile     -> ``loop.sock_sendfile`` (zero-copy ``sendfile(2)`` where the OS has it)
    CloseData    -> close the data connection and the listener
    Close        -> close the control connection
    Log          -> append to the command log or the xferlog
    Wait         -> stop reading this connection for a while (others go on)

How it is built, and why:

* The control connection is an :class:`asyncio.Protocol`: the event loop
  calls ``data_received`` with the client's bytes, the session answers with
  effects, and most effects are done on the spot. Only a few must wait
  (``Wait``, connecting, a send the kernel cannot take at once); while one
  waits, the effects after it wait in a queue and the connection is not read,
  so everything still happens in the order the session asked for.
* A data connection is a plain non-blocking socket (:class:`DataSocket`):
  accept it, send on it, receive into one reused buffer, close it. FTP
  opens one per listing or file, so the less each costs the better: no
  transport, stream or Task unless a send has to wait.
* Everything is bounded in time: an idle control connection is closed after
  ``idle_timeout`` seconds (not while a transfer runs), and a passive port
  nobody connects to within ``data_timeout`` seconds gives 425.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import socket
import sys
import time
from typing import Callable, TextIO

from refimpl.ftp import (Close, CloseData, DataConnect, DataListen, JailedFS, Log, Reply,
                         SendData, SendFile, ServerConfig, ServerSession, Wait)

#: Uploads: the most one read from a data connection takes (see :class:`DataSocket`).
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
        self.connections: set[ControlConnection] = set()

    async def start(self) -> int:
        """Listen; return the port (useful with ``port=0``)."""
        # A class logging in at once overflows asyncio's default backlog of 100;
        # the kernel then answers with SYN cookies and, since an FTP server speaks
        # first, a client whose connection was dropped waits for a 220 forever.
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(lambda: ControlConnection(self), self.host, self.port,
                                               backlog=1024)
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


class ControlConnection(asyncio.Protocol):
    """One control connection, its session, and at most one data connection."""

    def __init__(self, server: FTPServer):
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.session: ServerSession | None = None
        self.queue: collections.deque = collections.deque()  # effects not carried out yet
        self.running = False  # inside carry_out's loop (effects may cause more effects)
        self.waiting = False  # an effect is under way; the queue waits for it
        self.write_paused = False  # the client does not read its replies: stop reading its commands
        self.closed = False
        self.listener: socket.socket | None = None  # passive mode, until the client connects
        self.data: DataSocket | None = None
        self.data_timer: asyncio.TimerHandle | None = None
        self.idle_timer: asyncio.TimerHandle | None = None
        self.last_active = self.loop.time()  # the last command, or the end of the last transfer
        self.tasks: set[asyncio.Task] = set()
        self.done = asyncio.Event()

    def now(self) -> float:
        return self.server.clock()

    # -- the event loop calls these ------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        self.server.connections.add(self)
        sock = transport.get_extra_info("socket")
        with contextlib.suppress(OSError, AttributeError):
            # ftplib sends ABOR's last byte as TCP urgent data (MSG_OOB); keep it in the stream
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self.local_ip = local[0]
        self.session = ServerSession(self.server.config, self.server.fs, peer[:2], local[:2], now=self.now())
        # Speed: one timer per connection, re-armed only when it fires (see idle_check);
        # moving a deadline after every command would cost a timer each time.
        self.idle_timer = self.loop.call_later(self.server.idle_timeout, self.idle_check)
        self.carry_out(self.session.start(self.now()))

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_active = self.loop.time()
        self.carry_out(self.session.receive_data(data, self.now()))

    def eof_received(self) -> bool:
        return False  # the client closed its side: close ours (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.waiting = False  # nothing more is sent; the rest of the queue is only logs and closes
        self.carry_out(self.session.connection_lost(self.now()))
        self.close_data()
        for timer in (self.idle_timer, self.data_timer):
            if timer is not None:
                timer.cancel()
        for task in list(self.tasks):
            task.cancel()
        self.server.connections.discard(self)
        self.done.set()

    def pause_writing(self) -> None:
        self.write_paused = True
        self.update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self.update_reading()

    # -- timers ----------------------------------------------------------------------
    def idle_check(self) -> None:
        """Close a control connection that said nothing for ``idle_timeout`` seconds.

        A running transfer is not idleness: a long download sends no commands. The
        clock restarts when a transfer ends, so a client that reads the 226 after a
        long download has the whole ``idle_timeout`` to send its next command.
        """
        quiet = self.loop.time() - self.last_active
        if self.closed:
            return
        if quiet >= self.server.idle_timeout and self.data is None:
            self.transport.write(Reply(421, "Idle timeout; closing control connection.").encode())
            self.closed = True
            self.transport.close()
            return
        left = self.server.idle_timeout - quiet if self.data is None else self.server.idle_timeout
        self.idle_timer = self.loop.call_later(max(left, 0.05), self.idle_check)

    def data_deadline(self, listener: socket.socket) -> None:
        """A passive port nobody connects to is closed after ``data_timeout``."""
        self.data_timer = None
        if self.listener is listener and self.data is None:
            self.close_data()
            self.carry_out(self.session.data_failed(self.now(), "timeout"))

    # -- effects -----------------------------------------------------------------------
    def carry_out(self, effects: list, first: bool = False) -> None:
        """Do ``effects`` in order. ``first``: they follow from the effect being done, so they go
        before what is queued already."""
        if first:
            self.queue.extendleft(reversed(effects))
        else:
            self.queue.extend(effects)
        if self.running:
            return  # the loop below, further up the stack, will get to them
        self.running = True
        try:
            while self.queue and not self.waiting:
                self.do(self.queue.popleft())
        finally:
            self.running = False
        self.update_reading()

    def do(self, e) -> None:
        if isinstance(e, Reply):
            if not self.closed:
                self.transport.write(e.encode())
        elif isinstance(e, Log):
            self.server.log(e)
        elif isinstance(e, Wait):
            if not self.closed:
                self.waiting = True  # this connection only; others go on
                self.loop.call_later(e.seconds, self.wait_over)
        elif isinstance(e, Close):
            self.closed = True
            self.transport.close()  # replies written before it are still sent
        elif isinstance(e, DataListen):
            self.listen(e)
        elif isinstance(e, DataConnect):
            self.spawn(self.connect(e))  # in the background: ABOR still works meanwhile
        elif isinstance(e, SendData):
            if self.data is not None:
                self.data.send(e.data)
        elif isinstance(e, SendFile):
            if self.data is not None:
                self.data.send_file(e.file, e.offset, e.count)
        elif isinstance(e, CloseData):
            self.close_data()

    def wait_over(self) -> None:
        self.waiting = False
        self.carry_out([])

    def update_reading(self) -> None:
        """Read the client's commands unless a Wait is under way or it does not read our replies."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.waiting or self.write_paused:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- the data connection ---------------------------------------------------------------
    def listen(self, e: DataListen) -> None:
        # Speed: try the ports with plain bind() calls. Under load many ports of
        # the range are taken, and every failed bind is one cheap system call.
        family = socket.AF_INET6 if ":" in e.ip else socket.AF_INET
        for port in e.ports:  # bounded: the configured range (port 0: any free port)
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((e.ip, port))
                sock.listen(8)
                sock.setblocking(False)
                break
            except OSError:
                sock.close()
        else:
            self.carry_out(self.session.data_listen_failed(self.now()), first=True)
            return
        self.close_data()  # a second PASV replaces the first
        self.listener = sock
        self.loop.add_reader(sock.fileno(), self.accept_data, sock)
        self.data_timer = self.loop.call_later(self.server.data_timeout, self.data_deadline, sock)
        self.carry_out(self.session.data_listening(sock.getsockname()[1], self.now()), first=True)

    def accept_data(self, listener: socket.socket) -> None:
        """The passive port is readable: a client is connecting."""
        try:
            sock, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            return  # e.g. the connection was reset before we took it; wait for another
        if self.listener is not listener or self.data is not None:
            sock.close()  # one data connection at a time
            return
        self.close_listener()  # the port served its one connection
        self.opened(sock, peer[:2])

    async def connect(self, e: DataConnect) -> None:
        family = socket.AF_INET6 if ":" in e.ip else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.local_ip, e.from_port))  # RFC 959 §3.2: port 20 (needs root)
            except OSError:
                sock.bind((self.local_ip, 0))
            sock.setblocking(False)
            await asyncio.wait_for(self.loop.sock_connect(sock, (e.ip, e.port)), self.server.data_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            sock.close()
            self.carry_out(self.session.data_failed(self.now(), str(exc)))
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        self.opened(sock, (e.ip, e.port))

    def opened(self, sock: socket.socket, peer: tuple) -> None:
        """We accepted or connected a data connection: tell the session, then listen for its bytes."""
        sock.setblocking(False)
        data = self.data = DataSocket(self, sock)
        self.carry_out(self.session.data_connected(self.now(), peer))
        if self.data is data:  # not refused (RFC 2577) or closed meanwhile
            data.start_receiving()

    def close_listener(self) -> None:
        if self.listener is not None:
            self.loop.remove_reader(self.listener.fileno())
            self.listener.close()
            self.listener = None
        if self.data_timer is not None:
            self.data_timer.cancel()
            self.data_timer = None

    def close_data(self) -> None:
        self.close_listener()
        if self.data is not None:
            data, self.data = self.data, None
            data.close()
            self.last_active = self.loop.time()

    def abort(self) -> None:
        """Server shutdown: stop this connection."""
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    # -- what the data connection reports ----------------------------------------------------
    def data_sent(self, data: "DataSocket", count: int) -> None:
        if self.data is data:
            self.carry_out(self.session.data_sent(self.now(), count), first=self.running)

    def data_arrived(self, data: "DataSocket", chunk: memoryview) -> None:
        if self.data is data:
            effects = self.session.data_received(chunk, self.now())
            if effects:  # a failed write: 451 and close
                self.carry_out(effects, first=self.running)

    def data_ended(self, data: "DataSocket") -> None:
        """The client closed the data connection (EOF), or it broke."""
        if self.data is data:
            self.data = None
            data.close()
            self.last_active = self.loop.time()
            self.carry_out(self.session.data_closed(self.now()), first=self.running)


class DataSocket:
    """One data connection: a plain non-blocking socket, and what is being sent on it.

    Sending: try ``send`` at once, which for a listing nearly always takes
    everything; what the kernel cannot take yet goes out from a Task
    (``loop.sock_sendall``). Files go out with ``loop.sock_sendfile``.

    Receiving: when the socket is readable the loop calls :meth:`readable`,
    which reads (``recv_into``) straight into one reused buffer and hands the
    session a view of those bytes; the session writes them to the file before
    the call returns, so a slow disk slows the reading: flow control for free.
    No copy, Future or Task per chunk - uploads are as fast as the disk.
    """

    def __init__(self, owner: ControlConnection, sock: socket.socket):
        self.owner, self.sock = owner, sock
        self.loop = owner.loop
        self.fd = sock.fileno()
        self.sending: asyncio.Task | None = None
        self.receiving = False
        # Most data connections carry a listing or a download and receive
        # nothing: the buffer is made when the first bytes come.
        self.view: memoryview | None = None

    def send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.owner.data_ended(self)
            return
        if sent == len(data):
            self.owner.data_sent(self, sent)
        else:
            self.sending = asyncio.ensure_future(self._send_rest(data, sent))

    async def _send_rest(self, data: bytes, sent: int) -> None:
        try:
            await self.loop.sock_sendall(self.sock, memoryview(data)[sent:])
        except OSError:
            self.owner.data_ended(self)
            return
        self.owner.data_sent(self, len(data))

    def send_file(self, file, offset: int, count: int) -> None:
        self.sending = asyncio.ensure_future(self._send_file(file, offset, count))

    async def _send_file(self, file, offset: int, count: int) -> None:
        try:
            sent = await self.loop.sock_sendfile(self.sock, file, offset, count, fallback=True)
        except (OSError, RuntimeError):
            self.owner.data_ended(self)
            return
        self.owner.data_sent(self, sent)

    def start_receiving(self) -> None:
        """Uploads, and the client's EOF or reset for any transfer (RFC 959 §3.4: EOF ends a STOR)."""
        self.receiving = True
        self.loop.add_reader(self.fd, self.readable)

    def readable(self) -> None:
        if self.view is None:
            self.view = memoryview(bytearray(DATA_BUFFER))
        try:
            n = self.sock.recv_into(self.view)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            n = 0  # reset by the peer: the transfer ends here too
        if n:
            self.owner.data_arrived(self, self.view[:n])
        else:
            self.owner.data_ended(self)

    def close(self) -> None:
        """Close now. Bytes already sent still reach the client, then a FIN."""
        if self.sending is not None and not self.sending.done():
            self.sending.cancel()
        if self.receiving:
            self.loop.remove_reader(self.fd)
            self.receiving = False
        self.loop.remove_writer(self.fd)  # a cancelled sock_sendall/sock_sendfile may leave one
        self.sock.close()


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
