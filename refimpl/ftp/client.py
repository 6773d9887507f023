"""The FTP client, sans-I/O: every step of a session as a visible event.

Theory of operation
-------------------
A client asks for *operations* - ``login``, ``retr``, ``stor``, ``list`` - and
each one is a short conversation: ``USER``/``331``/``PASS``/``230``, or
``TYPE I``/``200``/``PASV``/``227``/``RETR``/``150``/data/``226``. Each
operation is written as a *generator* that reads like that conversation::

    def _login(self, user, password):
        reply = yield SendCommand(f"USER {user}")     # wait for the reply
        if reply.code == 331:                         # RFC 959 §5.4: 331 = send PASS
            reply = yield SendCommand(f"PASS {password}")
        ...

The engine (:meth:`FTPClient._pump`) runs the generator until it must wait -
for a reply, for the data connection to end, for a port to listen on - and
returns the effects to carry out. The driver reports what happened with
``receive`` (control bytes), ``data_received`` / ``data_closed`` /
``data_failed`` (data connection) and ``data_listening`` (active mode), each
with the time as the keyword ``now``, and gets a ``list[ClientEffect]`` back.
Replies and data are queued, so it does not matter whether the ``226`` or the
end of the data comes first. A 4yz/5yz reply while we wait for the data (the
server's ``425`` when the data connection never came) ends the wait, as it
makes ``ftplib`` raise.

Effects for the driver (the data connection's are the server's too, :mod:`refimpl.ftp.events`)::

    SendCommand(line)       write line + CRLF on the control connection
    DataConnect(ip, port)   passive: open the data connection to the server
    DataListen(ip)          active: listen on any port of ip, then call data_listening(port)
    SendData(bytes)         STOR: send on the data connection once it is open
    CloseData()             close the data connection (the end of an upload)

Events for the user (also in the returned list)::

    ReplyReceived(reply)    every reply, as it is parsed
    Done(name, reply, data) an operation succeeded (data: what RETR/LIST got)
    Failed(name, reply)     an operation got a 4yz/5yz reply; the next one runs
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator
from typing import Any

from .datachannel import DataChannelError, format_eprt, format_host_port, parse_227, parse_229
from .events import ClientEffect, CloseData, DataConnect, DataListen, Done, Failed, ReplyReceived, SendCommand, SendData
from .replies import Reply

__all__ = [
    "ReplyParser",
    "FTPClient",
    "SendCommand",
    "DataConnect",
    "DataListen",
    "SendData",
    "CloseData",
    "ReplyReceived",
    "Done",
    "Failed",
    "ProtocolError",
]


class ProtocolError(ValueError):
    """The server sent something that is not an FTP reply."""


class ReplyParser:
    """Bytes from the control connection in, complete :class:`Reply` objects out.

    RFC 959 §4.2: a reply is ``ddd text``; a multi-line reply starts with
    ``ddd-text`` and runs until a line that starts with the same ``ddd``
    followed by a space. Lines in between may be anything.
    """

    def __init__(self) -> None:
        self.buffer = b""
        self.code: int | None = None  # inside a multi-line reply
        self.lines: list[str] = []

    def feed(self, data: bytes) -> list[Reply]:
        self.buffer += data
        replies = []
        while b"\n" in self.buffer:
            raw, self.buffer = self.buffer.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode("utf-8", "surrogateescape")
            reply = self._line(line)
            if reply is not None:
                replies.append(reply)
        return replies

    def _line(self, line: str) -> Reply | None:
        if self.code is not None:  # inside a multi-line reply
            if line[:3] == str(self.code) and line[3:4] == " ":
                lines, self.code, self.lines = [*self.lines, line[4:]], None, []
                return Reply(int(line[:3]), lines)
            self.lines.append(line)
            return None
        if len(line) < 3 or not line[:3].isdigit() or line[3:4] not in ("", " ", "-"):
            raise ProtocolError(f"not an FTP reply: {line[:60]!r}")
        if line[3:4] == "-":
            self.code, self.lines = int(line[:3]), [line[4:]]
            return None
        return Reply(int(line[:3]), line[4:])


# what a generator yields to wait without sending anything
class _WaitReply:
    pass


class _WaitData:
    pass


WAIT_REPLY, WAIT_DATA = _WaitReply(), _WaitData()


class OperationFailed(Exception):
    def __init__(self, reply: Reply | None, reason: str = ""):
        super().__init__(reason or str(reply))
        self.reply, self.reason = reply, reason


def _expect(reply: Reply, *codes: int) -> Reply:
    """Go on only with one of ``codes`` (or, with none given, any 1yz-3yz)."""
    if (codes and reply.code not in codes) or (not codes and reply.code >= 400):
        raise OperationFailed(reply)
    return reply


Op = Generator[Any, Any, Any]
_TRANSFERS = ("RETR", "STOR", "LIST", "NLST")  # the operations with a data connection


class FTPClient:
    """The client side of one control connection.

    ``local_ip`` is our address on the control connection (PORT/EPRT announce
    it), ``server_ip`` the server's (EPSV's reply has only a port).
    """

    def __init__(self, local_ip: str = "192.0.2.10", server_ip: str = "192.0.2.1", mode: str = "passive"):
        assert mode in ("passive", "epsv", "active", "eprt")
        self.local_ip, self.server_ip, self.mode = local_ip, server_ip, mode
        self.parser = ReplyParser()
        self.ops: deque[tuple[str, Op]] = deque()
        self.current: tuple[str, Op] | None = None
        self.waiting: object | None = None
        self.replies: deque[Reply] = deque()
        self.data = bytearray()
        self.data_done = False
        self.data_error: str | None = None  # why the data connection failed (data_failed)
        self.listen_port: int | None = None
        self.closed = False
        self.type: str | None = None
        self._queue("greeting", self._greeting())

    # -- driver API --------------------------------------------------------------
    def receive(self, data: bytes, *, now: float) -> list[ClientEffect]:
        """Bytes from the control connection."""
        events: list[ClientEffect] = []
        try:
            replies = self.parser.feed(data)
        except ProtocolError as exc:
            # not FTP at all (a web server? a port scanner?): give up on this connection
            self.closed = True
            name = self.current[0] if self.current else "connection"
            self.current = None
            return [Failed(name, None, str(exc))]
        for reply in replies:
            events.append(ReplyReceived(reply))
            if reply.code == 421 and self.current is None:
                self.closed = True  # RFC 959 §4.2: 421 may come at any time
            self.replies.append(reply)
        return events + self._pump()

    def data_received(self, data: bytes, *, now: float) -> list[ClientEffect]:
        self.data += data
        return []

    def data_closed(self, *, now: float) -> list[ClientEffect]:
        """The server closed the data connection: in stream mode, the end of the file."""
        self.data_done = True
        return self._pump()

    def data_listening(self, port: int, *, now: float) -> list[ClientEffect]:
        """Active mode: the driver listens on ``port``."""
        self.listen_port = port
        return self._pump()

    def data_failed(self, reason: str = "", *, now: float) -> list[ClientEffect]:
        """The data connection could not be made (connect refused or timed out,
        nobody reached our listener): the current transfer fails.

        The server still owes the command a final reply, and replies come in
        order, so the transfer does not give up at once: it sends ``ABOR``
        and reads the command's final reply (426, or the 425 already sent)
        and ABOR's (226/225) - RFC 959 §4.1.3 - then fails with ``reason``.
        The session stays usable."""
        if self.current is None or self.current[0] not in _TRANSFERS:
            return []
        if self.waiting is DataListen:  # active mode, nothing sent yet: fail now
            name, op = self.current
            op.close()
            self.current = None
            return [Failed(name, None, reason or "cannot listen"), *self._pump()]
        self.data_error = reason or "data connection failed"
        self.data_done = True  # no data will come
        return self._pump()

    def connection_lost(self, *, now: float) -> list[ClientEffect]:
        self.closed = True
        events: list[ClientEffect] = []
        if self.current:
            events.append(Failed(self.current[0], None, "connection lost"))
            self.current = None
        return events

    # -- operations -----------------------------------------------------------------
    def login(self, user: str = "anonymous", password: str = "anonymous@") -> list[ClientEffect]:
        return self._queue("login", self._login(user, password))

    def command(self, line: str) -> list[ClientEffect]:
        """Any simple command, e.g. ``PWD``, ``CWD pub``, ``MKD x``."""
        return self._queue(line.split(" ")[0].upper(), self._simple(line))

    def retr(self, path: str, rest: int = 0, binary: bool = True) -> list[ClientEffect]:
        return self._queue("RETR", self._transfer(f"RETR {path}", binary=binary, rest=rest))

    def stor(self, path: str, data: bytes, rest: int = 0, binary: bool = True) -> list[ClientEffect]:
        return self._queue("STOR", self._transfer(f"STOR {path}", binary=binary, rest=rest, upload=data))

    def list(self, path: str = "") -> list[ClientEffect]:
        return self._queue("LIST", self._transfer(f"LIST {path}".strip(), binary=False))

    def nlst(self, path: str = "") -> list[ClientEffect]:
        return self._queue("NLST", self._transfer(f"NLST {path}".strip(), binary=False))

    def quit(self) -> list[ClientEffect]:
        return self._queue("QUIT", self._simple("QUIT"))

    # -- the conversations ----------------------------------------------------------
    def _greeting(self) -> Op:
        reply = yield WAIT_REPLY
        return _expect(reply, 220)  # RFC 959 §5.4: 120 (wait) then 220, or 421

    def _login(self, user: str, password: str) -> Op:
        reply = _expect((yield SendCommand(f"USER {user}")), 230, 331)
        if reply.code == 331:
            reply = _expect((yield SendCommand(f"PASS {password}")), 230, 202)
        return reply

    def _simple(self, line: str) -> Op:
        return _expect((yield SendCommand(line)))

    def _open_data(self) -> Op:
        """PASV/EPSV/PORT/EPRT: the data connection set-up (RFC 959 §3.2, RFC 2428)."""
        if self.mode == "passive":
            reply = _expect((yield SendCommand("PASV")), 227)
            try:
                ip, port = parse_227(reply.text)
            except DataChannelError as exc:
                raise OperationFailed(reply, str(exc)) from None
            yield DataConnect(ip, port)
        elif self.mode == "epsv":
            reply = _expect((yield SendCommand("EPSV")), 229)
            try:
                port = parse_229(reply.text)
            except DataChannelError as exc:
                raise OperationFailed(reply, str(exc)) from None
            yield DataConnect(self.server_ip, port)  # RFC 2428 §3: same address as control
        else:
            self.listen_port = None
            port = yield DataListen(self.local_ip)  # any free port
            if self.mode == "active":
                _expect((yield SendCommand(f"PORT {format_host_port(self.local_ip, port)}")), 200)
            else:
                _expect((yield SendCommand(f"EPRT {format_eprt(self.local_ip, port)}")), 200)

    def _transfer(self, line: str, binary: bool, rest: int = 0, upload: bytes | None = None) -> Op:
        wanted = "I" if binary else "A"
        if self.type != wanted:
            _expect((yield SendCommand(f"TYPE {wanted}")), 200)
            self.type = wanted
        self.data, self.data_done, self.data_error = bytearray(), False, None
        yield from self._open_data()
        if rest:
            _expect((yield SendCommand(f"REST {rest}")), 350)
        reply = _expect((yield SendCommand(line)), 125, 150)  # RFC 959 §5.4: 125/150 then 226
        if upload is not None:
            yield SendData(upload)
            yield CloseData()  # stream mode: closing the connection ends the file
            self.data_done = True
        data = yield WAIT_DATA
        if self.data_error is not None:
            # RFC 959 §4.1.3: ABOR; the transfer's final reply comes first, then ABOR's
            final = yield SendCommand("ABOR")
            yield WAIT_REPLY
            raise OperationFailed(final, self.data_error)
        reply = _expect((yield WAIT_REPLY), 226, 250)
        return reply, (None if upload is not None else data)

    # -- the engine --------------------------------------------------------------------
    def _queue(self, name: str, op: Op) -> list[ClientEffect]:
        self.ops.append((name, op))
        return self._pump()

    def _pump(self) -> list[ClientEffect]:
        """Run operations until one has to wait; return the effects and events."""
        out: list[ClientEffect] = []
        while True:
            if self.current is None:
                if not self.ops or self.closed:
                    return out
                self.current, self.waiting = self.ops.popleft(), None
                value: Any = None
            elif self.waiting is WAIT_REPLY:
                if not self.replies:
                    return out
                value = self.replies.popleft()
                if 100 <= value.code < 200 and not self._wants_preliminary():
                    continue  # a 1yz reply where none was asked for: skip it
            elif self.waiting is WAIT_DATA:
                if not self.data_done and self.replies and self.replies[0].code >= 400:
                    self.data_done = True  # e.g. 425: the data connection will not come
                if not self.data_done:
                    return out
                value = bytes(self.data)
            elif self.waiting is DataListen:
                if self.listen_port is None:
                    return out
                value = self.listen_port
            else:
                value = None
            name, op = self.current
            try:
                effect = op.send(value)
            except StopIteration as stop:
                result = stop.value
                if isinstance(result, tuple):
                    out.append(Done(name, result[0], result[1]))
                else:
                    out.append(Done(name, result))
                self.current = None
                continue
            except OperationFailed as exc:
                out.append(Failed(name, exc.reply, exc.reason))
                self.current = None
                self.data, self.data_done, self.data_error = bytearray(), False, None
                if exc.reply is not None and exc.reply.code == 421:
                    self.closed = True
                continue
            if isinstance(effect, SendCommand):
                out.append(effect)
                self.waiting = WAIT_REPLY
            elif effect is WAIT_REPLY or effect is WAIT_DATA:
                self.waiting = effect
            elif isinstance(effect, DataListen):
                out.append(effect)
                self.waiting = DataListen
            else:  # DataConnect, SendData, CloseData: nothing to wait for
                out.append(effect)
                self.waiting = None

    def _wants_preliminary(self) -> bool:
        # the generators that accept 125/150 are the transfers, right after their command
        return self.current is not None and self.current[0] in _TRANSFERS
