"""What the FTP cores ask their drivers to do, and what they report: the effects.

Neither core touches a socket. Every input the driver gives them
(``receive``, ``data_connected``, ``data_sent``, ...) returns a list of these
small *effects*, in order; the driver (real asyncio sockets in
:mod:`refimpl.sockets`, the simulated network in :mod:`refimpl.ftp.sim_glue`,
or :mod:`refimpl.ftp.pair` in memory) carries them out and reports back what
happened. So the same cores run on a laptop, in a test and in a virtual
network with a virtual clock.

Both sides (:data:`ServerEffect`, :data:`ClientEffect`):

    DataListen, DataConnect   open the data connection (listen for it / connect it)
    SendData, CloseData       send on it / close it (for an upload, the close ends the file)

The server's (:class:`~refimpl.ftp.session.ServerSession`):

    Reply                     send a reply on the control connection
    Close                     close the control connection
    SendFile                  send part of a file on the data connection (sendfile(2))
    Log                       a line for the command log or the xferlog
    Wait                      pause this connection (the delay after a failed login)

The client's (:class:`~refimpl.ftp.client.FTPClient`):

    SendCommand               write a command line on the control connection
    ReplyReceived             a reply was parsed (for the user to watch)
    Done, Failed              an operation ended
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .replies import Reply

__all__ = [
    "ClientEffect",
    "Close",
    "CloseData",
    "DataConnect",
    "DataListen",
    "Done",
    "Effect",
    "Failed",
    "Log",
    "Reply",
    "ReplyReceived",
    "SendCommand",
    "SendData",
    "SendFile",
    "ServerEffect",
    "Wait",
]


# -- the data connection (both sides) ------------------------------------------------
@dataclass(frozen=True)
class DataListen:
    """Listen on ``ip`` and one of ``ports`` (tried in order; 0 = any free port).

    The server in passive mode (PASV/EPSV: a port of its range, RFC 2577 §8),
    the client in active mode (PORT/EPRT: any port). The driver reports the
    port it got with ``data_listening(port, now=...)`` (the server then sends
    227 or 229, the client its PORT), or that it got none with
    ``data_listen_failed`` (server) / ``data_failed`` (client).
    """

    ip: str
    ports: tuple[int, ...] = (0,)

    @property
    def port(self) -> int:
        """The first choice (what a simulated network uses)."""
        return self.ports[0]

    def __repr__(self) -> str:
        shown = ", ".join(map(str, self.ports[:3])) + ("," if len(self.ports) == 1 else "")
        more = f", ... {len(self.ports)} ports" if len(self.ports) > 3 else ""
        return f"DataListen(ip={self.ip!r}, ports=({shown}{more}))"


@dataclass(frozen=True)
class DataConnect:
    """Connect the data connection to ``ip:port``, from local port ``from_port`` (0 = any).

    The server in active mode: RFC 959 §3.2, its data port is L-1 = 20 by
    default (an unprivileged driver that cannot bind it takes any). The client
    in passive mode, to the port 227/229 announced. The driver answers
    ``data_connected(peer, now=...)`` (server) or, when it fails,
    ``data_failed(reason, now=...)`` (both).
    """

    ip: str
    port: int
    from_port: int = 0


@dataclass(frozen=True)
class SendData:
    """Send these bytes on the data connection (the server: then call ``data_sent(now=...)``)."""

    data: bytes


@dataclass(frozen=True)
class CloseData:
    """Close the data connection and any listening data socket."""

    reason: str = ""


# -- the server's ------------------------------------------------------------------------
@dataclass(frozen=True)
class Close:
    """Close the control connection (after sending the replies before it)."""

    reason: str = ""


@dataclass(frozen=True)
class SendFile:
    """Send ``count`` bytes of an open binary file from ``offset`` (sendfile(2)
    where the OS has it), then call ``data_sent(count, now=...)``."""

    file: Any
    offset: int
    count: int


@dataclass(frozen=True)
class Log:
    """A log line: ``channel`` is ``"command"`` or ``"xferlog"``."""

    channel: str
    line: str


@dataclass(frozen=True)
class Wait:
    """Do nothing on this connection for ``seconds`` (before the effects after it).

    After a failed login the server waits before answering, so a password
    guesser gets only a few tries a second (vsftpd ``delay_failed_login``).
    A simulation just advances its clock.
    """

    seconds: float


# -- the client's ------------------------------------------------------------------------
@dataclass(frozen=True)
class SendCommand:
    """Write ``line`` and CRLF on the control connection (RFC 959 §4.1)."""

    line: str

    def encode(self) -> bytes:
        return (self.line + "\r\n").encode("utf-8", "surrogateescape")

    def __str__(self) -> str:
        return "PASS ****" if self.line.upper().startswith("PASS ") else self.line


@dataclass(frozen=True)
class ReplyReceived:
    """A reply came and was parsed (the client shows every step)."""

    reply: Reply


@dataclass(frozen=True)
class Done:
    """An operation succeeded; ``data`` is what RETR/LIST/NLST got."""

    name: str
    reply: Reply | None
    data: bytes | None = None


@dataclass(frozen=True)
class Failed:
    """An operation got a 4yz/5yz reply, or its connection failed; the next one runs."""

    name: str
    reply: Reply | None
    reason: str = ""


#: What :class:`~refimpl.ftp.session.ServerSession` returns.
ServerEffect = Reply | Close | DataListen | DataConnect | SendData | SendFile | CloseData | Log | Wait
#: What :class:`~refimpl.ftp.client.FTPClient` returns.
ClientEffect = SendCommand | DataListen | DataConnect | SendData | CloseData | ReplyReceived | Done | Failed
#: Either (a driver of both, like :class:`~refimpl.ftp.pair.Pair`).
Effect = ServerEffect | ClientEffect
