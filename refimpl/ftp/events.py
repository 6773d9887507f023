"""What a :class:`~refimpl.ftp.session.ServerSession` asks its driver to do.

The session never touches a socket. Each call (``receive_data``,
``data_connected``, ``data_sent``, ...) returns a list of these small
*effects*, in order; the driver (real asyncio sockets in
:mod:`refimpl.net.ftp_server`, or a simulated network) carries them out and
reports back what happened. So the same core runs on a laptop, in a test and
in a virtual network with a virtual clock.

Control connection:  Reply (send a reply), Close (close it)
Data connection:     DataListen / DataConnect (open it), SendData / SendFile
                     (send on it), CloseData (close it)
Bookkeeping:         Log (a line for the command log or the xferlog),
                     Wait (pause this connection: the delay after a failed login)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .replies import Reply

__all__ = [
    "Reply",
    "Close",
    "DataListen",
    "DataConnect",
    "SendData",
    "SendFile",
    "CloseData",
    "Log",
    "Wait",
]


@dataclass(frozen=True)
class Close:
    """Close the control connection (after sending the replies before it)."""

    reason: str = ""


@dataclass(frozen=True)
class DataListen:
    """Passive mode: listen on ``ip`` and one of ``ports`` (tried in order).

    The driver reports the port it got with ``session.data_listening(port)``
    (the session then sends 227 or 229), or ``session.data_listen_failed()``.
    """

    ip: str
    ports: tuple[int, ...]

    @property
    def port(self) -> int:
        """The first choice (what a simulated network uses)."""
        return self.ports[0]

    def __repr__(self) -> str:
        more = f", ... {len(self.ports)} ports" if len(self.ports) > 3 else ""
        return f"DataListen(ip={self.ip!r}, ports=({', '.join(map(str, self.ports[:3]))}{more}))"


@dataclass(frozen=True)
class DataConnect:
    """Active mode: connect from ``from_port`` of our address to ``ip:port``.

    RFC 959 §3.2: the server's data port is L-1 = 20 by default. An
    unprivileged driver that cannot bind it may use ``from_port=0`` (any).
    The driver answers ``data_connected(now, peer)`` or ``data_failed(now)``.
    """

    ip: str
    port: int
    from_port: int


@dataclass(frozen=True)
class SendData:
    """Send these bytes on the data connection, then call ``data_sent(now)``."""

    data: bytes


@dataclass(frozen=True)
class SendFile:
    """Send ``count`` bytes of an open binary file from ``offset`` (sendfile(2)
    where the OS has it), then call ``data_sent(now, count)``."""

    file: Any
    offset: int
    count: int


@dataclass(frozen=True)
class CloseData:
    """Close the data connection and any listening data socket."""

    reason: str = ""


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
