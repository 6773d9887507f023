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
  ``idle_timeout`` seconds (not while a transfer runs), a passive port
  nobody connects to within ``data_timeout`` seconds gives 425, and a data
  connection that moves no byte for ``data_timeout`` seconds gives 426.
* Nothing dies in silence: a background task that raises closes its control
  connection with a 421 and a line on stderr (:meth:`ControlConnection.crashed`).
* Connections are capped (``Guard.max_connections``; by default as many as the
  file-descriptor limit can hold): one over the cap gets 421 and is closed, so
  descriptors never run out under a crowd of idle clients. If they run out all
  the same (other programs, ``ENFILE``), :meth:`FTPServer.accept` stops accepting
  for ``ACCEPT_RETRY`` seconds and says so on stderr once per interval. (asyncio's
  own accept loop logs a traceback per attempt: 194 MB of stderr in 20 s.)
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import resource
import socket
import sys
import time
from collections.abc import Callable
from typing import TextIO

from refimpl.ftp import (
    Close,
    CloseData,
    DataConnect,
    DataListen,
    JailedFS,
    Log,
    Reply,
    SendData,
    SendFile,
    ServerConfig,
    ServerEffect,
    ServerSession,
    Wait,
)

#: Uploads: the most one read from a data connection takes (see :class:`DataSocket`).
#: Measured with ``make bench``: 64 KiB reads pay the per-read cost too often,
#: 512 KiB did best here (about 1.2x the speed of 256 KiB, and no slower than 1 MiB).
DATA_BUFFER = 512 * 1024

#: Seconds between two complaints on stderr about the same trouble (a log that cannot be
#: written, no file descriptors left): an attack must not turn into megabytes of stderr.
LOG_COMPLAINT_INTERVAL = 10.0

#: Replies the client has not read yet, at most (about; one reply may go over). Above it the
#: connection executes no more commands and is not read (asyncio calls ``pause_writing``),
#: so pipelining ``STAT dir`` without reading costs the server this much, not megabytes.
REPLY_BUFFER = 64 * 1024

#: ``sendfile`` goes out in pieces of this size, so that a stalled download is seen
#: (:meth:`ControlConnection.stall_check`) and not hidden inside one long call.
SENDFILE_PIECE = 4 * 1024 * 1024

#: File descriptors one control connection may hold at once: its socket, a passive listener
#: or a data socket (both, for a moment, at accept), and the file being sent or stored.
FDS_PER_CONNECTION = 3

#: Descriptors kept for everything else (the listening socket, logs, the event loop, Python).
FDS_RESERVED = 64

#: The cap when neither the operator nor the descriptor limit asks for less (pyftpdlib's ``max_cons``).
DEFAULT_MAX_CONNECTIONS = 512

#: Out of descriptors: seconds before accepting again (they may free up meanwhile).
ACCEPT_RETRY = 0.5

#: Connections accepted in one go before other work gets a turn.
ACCEPT_BATCH = 16


def connections_that_fit(limit: int | None = None) -> int:
    """How many control connections the file-descriptor limit (``RLIMIT_NOFILE``) can hold."""
    if limit is None:
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if limit == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, (limit - FDS_RESERVED) // FDS_PER_CONNECTION)


class FTPServer:
    """``server = FTPServer(config, root); await server.start(); ...; await server.close()``."""

    def __init__(
        self,
        config: ServerConfig,
        root: str,
        host: str = "127.0.0.1",
        port: int = 2121,
        command_log: TextIO | None = None,
        xferlog: TextIO | None = None,
        idle_timeout: float = 300.0,
        data_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        self.config = config
        self.fs = JailedFS(root)
        self.host, self.port = host, port
        self.command_log, self.xferlog = command_log, xferlog
        self.idle_timeout, self.data_timeout = idle_timeout, data_timeout
        self.clock = clock
        self.listener: socket.socket | None = None
        self.stopped: asyncio.Future | None = None  # set by close(): serve_forever returns
        self.accept_tasks: set[asyncio.Task] = set()
        self.connections: set[ControlConnection] = set()
        self.complained: dict[str, float] = {}  # kind of trouble -> when stderr last heard of it

    async def start(self) -> int:
        """Listen; return the port (useful with ``port=0``)."""
        self.loop = asyncio.get_running_loop()
        guard = self.config.guard
        fit = connections_that_fit()
        if guard.max_connections is None:
            guard.max_connections = min(DEFAULT_MAX_CONNECTIONS, fit)
        elif guard.max_connections > fit:
            self.complain(
                f"warning: {guard.max_connections} connections may need more file descriptors than the limit "
                f"({resource.getrlimit(resource.RLIMIT_NOFILE)[0]}) allows; {fit} would fit"
            )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            # A class logging in at once overflows a backlog of 100; the kernel then
            # answers with SYN cookies and, since an FTP server speaks first, a client
            # whose connection was dropped waits for a 220 forever.
            sock.listen(1024)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.listener = sock
        self.stopped = self.loop.create_future()
        self.loop.add_reader(sock.fileno(), self.accept)
        self.port = sock.getsockname()[1]
        return self.port

    def accept(self) -> None:
        """The listening socket is readable: take the waiting connections (a bounded batch).

        Out of file descriptors (``EMFILE``/``ENFILE``), the connection stays in the
        kernel's queue; we stop looking for ``ACCEPT_RETRY`` seconds instead of trying
        again at once (which is what filled stderr), and say so once per interval."""
        for _ in range(ACCEPT_BATCH):
            try:
                conn, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    self.complain(f"out of file descriptors: {exc.strerror}; not accepting for {ACCEPT_RETRY} s")
                    self.loop.remove_reader(self.listener.fileno())
                    self.loop.call_later(ACCEPT_RETRY, self.resume_accepting)
                    return
                continue  # ECONNABORTED and the like: that client is gone, take the next
            guard = self.config.guard
            if guard.max_connections is not None and guard.total + len(self.accept_tasks) >= guard.max_connections:
                self.refuse(conn)  # at once: no transport, no task, the descriptor back now
                continue
            task = self.loop.create_task(self.attach(conn))
            self.accept_tasks.add(task)
            task.add_done_callback(self.accept_tasks.discard)

    @staticmethod
    def refuse(conn: socket.socket) -> None:
        """Over the cap: 421 (RFC 959 §4.2, "Service not available, closing control connection")."""
        conn.setblocking(False)
        with contextlib.suppress(OSError):
            conn.send(Reply(421, "Too many users connected; try again later.").encode())
        conn.close()

    def resume_accepting(self) -> None:
        if self.listener is not None:
            self.loop.add_reader(self.listener.fileno(), self.accept)

    async def attach(self, conn: socket.socket) -> None:
        """Give an accepted socket its transport and :class:`ControlConnection` (which greets it)."""
        try:
            # each reply is one small write: without TCP_NODELAY, Nagle holds the 226 back
            # until the client's delayed ACK (40 ms a transfer here)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await self.loop.connect_accepted_socket(lambda: ControlConnection(self), conn)
        except Exception as exc:  # e.g. the client reset the connection meanwhile
            conn.close()
            self.complain(f"cannot set up a connection: {type(exc).__name__}: {exc}")

    async def serve_forever(self) -> None:
        if self.listener is None:
            await self.start()
        await self.stopped

    async def close(self) -> None:
        if self.listener is not None:
            self.loop.remove_reader(self.listener.fileno())
            self.listener.close()
            self.listener = None
        if self.stopped is not None and not self.stopped.done():
            self.stopped.set_result(None)
        for conn in list(self.connections):
            conn.abort()
        for conn in list(self.connections):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.done.wait(), 5)

    def log(self, entry: Log) -> None:
        """Append one line. A log that cannot be written (a full disk, a closed file) is reported
        on stderr once per ``LOG_COMPLAINT_INTERVAL``; it never stops the command or the clean-up
        of a connection that produced the line."""
        out = self.xferlog if entry.channel == "xferlog" else self.command_log
        if out is None:
            return
        try:
            out.write(entry.line + "\n")
            out.flush()
        except (OSError, ValueError) as exc:  # ValueError: a closed file, or text it cannot encode
            self.complain(f"cannot write the {entry.channel} log: {exc}")

    def complain(self, what: str) -> None:
        """One line on stderr, at most once per interval for the same kind of trouble."""
        now = time.monotonic()
        kind = what.split(":")[0]
        if now - self.complained.get(kind, -LOG_COMPLAINT_INTERVAL) >= LOG_COMPLAINT_INTERVAL:
            self.complained[kind] = now
            print(f"ftp server: {what}", file=sys.stderr, flush=True)


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
        self.data_timer: asyncio.TimerHandle | None = None  # passive: nobody connected yet
        self.stall_timer: asyncio.TimerHandle | None = None  # an open data connection that moves nothing
        self.idle_timer: asyncio.TimerHandle | None = None
        self.last_active = self.loop.time()  # the last command, or the end of the last transfer
        self.tasks: set[asyncio.Task] = set()
        self.done = asyncio.Event()

    def now(self) -> float:
        return self.server.clock()

    # -- the event loop calls these ------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        transport.set_write_buffer_limits(high=REPLY_BUFFER)
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
        self.carry_out(self.session.start(now=self.now()))

    def data_received(self, data: bytes) -> None:
        if self.closed:
            return
        self.last_active = self.loop.time()
        self.carry_out(self.session.receive(data, now=self.now(), max_lines=1))
        self.run_lines()

    def run_lines(self) -> None:
        """Execute the client's pipelined lines one by one, while we may: not during a Wait,
        not while effects are queued, and not while more than ``REPLY_BUFFER`` bytes of replies
        wait for the client to read them (``pause_writing``). ``resume_writing`` and
        ``wait_over`` call this again. Bounded: each turn executes one line of the buffer."""
        while self.session.lines_waiting and not (self.closed or self.waiting or self.write_paused or self.queue):
            self.carry_out(self.session.receive(b"", now=self.now(), max_lines=1))

    def eof_received(self) -> bool:
        return False  # the client closed its side: close ours (connection_lost follows)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.waiting = False  # nothing more is sent; the rest of the queue is only logs and closes
        try:
            self.carry_out(self.session.connection_lost(now=self.now()))
        finally:  # whatever went wrong above, the connection's resources are given back
            self.close_data()
            for timer in (self.idle_timer, self.data_timer, self.stall_timer):
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
        self.run_lines()
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
            self.carry_out(self.session.data_failed("timeout", now=self.now()))

    def stall_check(self, data: DataSocket) -> None:
        """An open data connection on which no byte moved for ``data_timeout`` is closed (426).

        The idle timer does not run during a transfer, so without this a client that
        opens the data connection and never reads it would hold the session for ever."""
        self.stall_timer = None
        if self.data is not data or self.closed:
            return
        quiet = self.loop.time() - data.last_progress
        if quiet < self.server.data_timeout:
            self.stall_timer = self.loop.call_later(self.server.data_timeout - quiet, self.stall_check, data)
            return
        self.close_data()
        self.carry_out(self.session.data_timed_out(now=self.now()))

    def crashed(self, where: str, exc: BaseException) -> None:
        """A bug met at run time: tell the client (421 closes the control connection, RFC 959
        §4.2) and the operator (stderr), instead of a task that dies and a client that waits."""
        self.server.complain(f"internal error in {where}: {type(exc).__name__}: {exc}")
        if not self.closed and self.transport is not None:
            self.transport.write(Reply(421, "Internal server error; closing control connection.").encode())
            self.closed = True
            self.transport.close()

    # -- effects -----------------------------------------------------------------------
    def carry_out(self, effects: list[ServerEffect], first: bool = False) -> None:
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

    def do(self, e: ServerEffect) -> None:
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
        """The Wait is over: the queued effects go on, then the lines the session held."""
        self.waiting = False
        self.carry_out(self.session.handle_timer(now=self.now()))
        self.run_lines()

    def update_reading(self) -> None:
        """Read the client's commands unless a Wait is under way, it does not read our replies,
        or lines it sent earlier still wait (the session's buffer stays one read long at most)."""
        if self.transport is None or self.transport.is_closing():
            return
        if self.waiting or self.write_paused or self.session.lines_waiting:
            self.transport.pause_reading()
        else:
            self.transport.resume_reading()

    def spawn(self, coro) -> asyncio.Task:
        """Run ``coro`` in the background; if it raises, the connection is closed (:meth:`crashed`)."""
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.task_done)
        return task

    def task_done(self, task: asyncio.Task) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.crashed(task.get_coro().__qualname__, task.exception())

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
            self.carry_out(self.session.data_listen_failed(now=self.now()), first=True)
            return
        self.close_data()  # a second PASV replaces the first
        self.listener = sock
        self.loop.add_reader(sock.fileno(), self.accept_data, sock)
        self.data_timer = self.loop.call_later(self.server.data_timeout, self.data_deadline, sock)
        self.carry_out(self.session.data_listening(sock.getsockname()[1], now=self.now()), first=True)

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
        if not self.session.data_peer_allowed(peer[0]):
            # RFC 2577 §8, port stealing: another host got to our port first. Close it and
            # keep listening for the client's own connection (which is in the queue behind it).
            sock.close()
            self.carry_out(self.session.data_peer_refused(peer[:2], now=self.now()))
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
        except (TimeoutError, OSError) as exc:
            sock.close()
            self.carry_out(self.session.data_failed(str(exc), now=self.now()))
            return
        except asyncio.CancelledError:
            sock.close()
            raise
        self.opened(sock, (e.ip, e.port))

    def opened(self, sock: socket.socket, peer: tuple) -> None:
        """We accepted or connected a data connection: tell the session, then listen for its bytes."""
        sock.setblocking(False)
        data = self.data = DataSocket(self, sock)
        self.stall_timer = self.loop.call_later(self.server.data_timeout, self.stall_check, data)
        self.carry_out(self.session.data_connected(peer, now=self.now()))
        if self.data is data:  # not refused by the bounce check (RFC 2577 §2-3) or closed meanwhile
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
        if self.stall_timer is not None:
            self.stall_timer.cancel()
            self.stall_timer = None
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
    def data_sent(self, data: DataSocket, count: int) -> None:
        if self.data is data:
            self.carry_out(self.session.data_sent(count, now=self.now()), first=self.running)

    def data_arrived(self, data: DataSocket, chunk: memoryview) -> None:
        if self.data is data:
            effects = self.session.data_received(chunk, now=self.now())
            if effects:  # a failed write: 451 and close
                self.carry_out(effects, first=self.running)

    def data_ended(self, data: DataSocket) -> None:
        """The client closed the data connection (EOF), or it broke."""
        if self.data is data:
            self.data = None
            data.close()
            self.last_active = self.loop.time()
            self.carry_out(self.session.data_closed(now=self.now()), first=self.running)


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
        self.last_progress = self.loop.time()  # when a byte last moved (ControlConnection.stall_check)

    def send(self, data: bytes) -> None:
        try:
            sent = self.sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self.owner.data_ended(self)
            return
        if sent == len(data):
            self.last_progress = self.loop.time()
            self.owner.data_sent(self, sent)
        else:
            self.sending = self.owner.spawn(self._send_rest(data, sent))

    async def _send_rest(self, data: bytes, sent: int) -> None:
        try:
            await self.loop.sock_sendall(self.sock, memoryview(data)[sent:])
        except OSError:
            self.owner.data_ended(self)
            return
        self.last_progress = self.loop.time()
        self.owner.data_sent(self, len(data))

    def send_file(self, file, offset: int, count: int) -> None:
        self.sending = self.owner.spawn(self._send_file(file, offset, count))

    async def _send_file(self, file, offset: int, count: int) -> None:
        """``count`` bytes from ``offset``, in pieces. ``count`` may be 0 (an empty file, or REST
        at its end): ``sock_sendfile`` refuses 0 with a ValueError, so no call is made at all."""
        sent = 0
        try:
            while sent < count:
                piece = min(count - sent, SENDFILE_PIECE)
                sent += await self.loop.sock_sendfile(self.sock, file, offset + sent, piece, fallback=True)
                self.last_progress = self.loop.time()
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
        self.last_progress = self.loop.time()
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
    # The lines are escaped already (refimpl.ftp.xferlog.escape); backslashreplace is the second belt.
    return open(path, "a", encoding="utf-8", errors="backslashreplace")
