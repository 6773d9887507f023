"""The TFTP server: a request on port 69 becomes a transfer on a port of its own.

RFC 1350 §4: the client sends RRQ or WRQ to the server's port 69. The server
does not answer from 69: it picks a new port (its TID) for this one transfer
and answers from there, so port 69 stays free for the next request and each
transfer is told apart by its pair of ports. :meth:`TftpServer.receive` checks
the request and returns a :class:`NewTransfer` effect; the driver opens a socket
on a fresh port for its :class:`~refimpl.tftp.transfer.Transfer`, calls
``start(now=...)``, and from then on feeds it the datagrams that reach that
socket. The server itself keeps no timer (``get_timer()`` is None): each
transfer keeps its own.

Refusals are ERROR packets sent back from that new port too (RFC 1350 §4,
"the error is sent to the requester's port"), with the codes of RFC 1350:

    1 file not found      the name is not a file below the root
    2 access violation    outside the root, a directory, or uploads not allowed
    3 disk full           an upload announced (tsize) or sent more than the limit
    4 illegal operation   not a request, malformed, or mode "mail"
    6 file exists         an upload onto an existing file (unless overwrite)

Reflection. UDP has no handshake, so the client address of a request may be
forged, and every byte the server sends then lands on a victim who never
asked. Lock-step keeps most of it away (nothing after the first packet goes
out until an ACK comes back), but resends do not wait for one: a 20-byte RRQ
that nobody acknowledged used to bring 6 x 516 bytes (x155), and after one
forged ACK 0 to an OACK of blksize 65464, 6 x 65468 bytes (x10,337). The rule
now: until the peer has acknowledged a DATA block (for an upload: sent one),
it gets the first packet (DATA 1, OACK, ACK 0) and resends of it only while
they add up to ``resend_budget`` bytes (1500, one Ethernet frame: two resends
of a 512-byte block, none of a larger one); after that the transfer waits in
silence and gives up at the usual time. A peer that repeats its ACK 0 is
answered with DATA 1, one packet for one, so a real client that lost DATA 1
still gets it. Measured on loopback: x77 for the 20-byte RRQ, x1,723 for
blksize 65464 (one DATA 1, which RFC 2348 makes as large as the client asks;
``max_blksize`` is the knob for that).

Windows (RFC 7440). A window lets the first packets out before any ACK, but
only after the OACK has been answered with ACK 0 from the client's port: a
request with options gets the OACK alone first, and the resend budget above
counts every block of a window the timer sends again. What one forged ACK 0
can still bring is one window: ``max_windowsize`` (64 by default, our policy)
blocks, and never more than ``max_window_bytes`` (64 KiB).

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .netascii import NetasciiReader, NetasciiWriter
from .options import MAX_WINDOW_BYTES, server_accepts
from .packets import Error, ErrorCode, Opcode, PacketError, Request, decode, quote
from .transfer import MAX_RETRIES, Address, Note, Receiver, Send, Sender, Transfer


@dataclass
class ServerConfig:
    timeout: float = 1.0  # seconds before a block is sent again, unless the client asks (RFC 2349)
    max_retries: int = MAX_RETRIES
    max_blksize: int = 65464  # RFC 2348's largest; a classroom may prefer 1468 (one Ethernet frame)
    max_upload: int | None = None  # the largest upload, in bytes: announced (tsize) or sent
    apprentice_bug: bool = False  # for the lesson only: answer duplicate ACKs (RFC 1123 §4.2.3.1)
    resend_budget: int = 1500  # bytes resent to a peer that acknowledged no DATA yet (see the docstring)
    max_windowsize: int | None = 64  # RFC 7440: the most blocks per window granted; None: option unknown
    max_window_bytes: int = MAX_WINDOW_BYTES  # and at most these bytes in one window (kept until ACKed)


@dataclass(frozen=True)
class NewTransfer:
    """Run ``transfer`` on a port of its own (RFC 1350 §4): open it, call ``start(now=...)``, feed it."""

    transfer: Transfer


Effect = Send | Note | NewTransfer  # a refusal's Send goes from a fresh port too (RFC 1350 §4)


class TftpServer:
    """Turns requests into transfers. ``files``: a :class:`~refimpl.tftp.files.DiskFiles` or MemoryFiles."""

    def __init__(self, files, config: ServerConfig | None = None):
        self.files = files
        self.config = config or ServerConfig()

    def receive(self, datagram: bytes, client: Address, *, now: float) -> list[Effect]:
        """A datagram that reached port 69: ``[NewTransfer]`` to run, or ``[Send(ERROR), Note]`` to refuse."""
        try:
            request = decode(datagram)
        except PacketError as exc:
            return self.refuse(client, ErrorCode.ILLEGAL_OPERATION, f"malformed request: {exc}")
        if isinstance(request, Error):  # RFC 1350 §7: an ERROR is never answered, not even here
            return [Note(f"ERROR {request.code} sent to the server port: ignored")]
        if not isinstance(request, Request):
            return self.refuse(client, ErrorCode.ILLEGAL_OPERATION, "only RRQ and WRQ go to port 69")
        if request.mode not in ("netascii", "octet"):  # RFC 1350 §1: "mail" should not be implemented
            why = f"mode {quote(request.mode)} is not supported"
            return self.refuse(client, ErrorCode.ILLEGAL_OPERATION, why)
        reading = request.opcode is Opcode.RRQ
        try:
            if reading:
                file, size = self.files.open_read(request.filename)
            else:
                file, size = self.files.open_write(request.filename), None
        except FileNotFoundError:
            return self.refuse(client, ErrorCode.FILE_NOT_FOUND, "File not found")
        except FileExistsError:
            return self.refuse(client, ErrorCode.FILE_EXISTS, "File already exists")
        except OSError as exc:  # PermissionError (and the jail's), IsADirectoryError, ...
            return self.refuse(client, ErrorCode.ACCESS_VIOLATION, f"Access violation: {exc.strerror or exc}")
        netascii = request.mode == "netascii"
        # From here on the request owns an open file (an upload: a temporary file on disk).
        # Whatever refuses it, or whatever goes wrong, drops that file: a refused request
        # leaves nothing behind, however often it is sent.
        try:
            accepted, settings = server_accepts(
                request.options,
                reading=reading,
                netascii=netascii,
                file_size=size,
                default_timeout=self.config.timeout,
                max_blksize=self.config.max_blksize,
                max_tsize=self.config.max_upload,
                max_windowsize=self.config.max_windowsize,
                max_window_bytes=self.config.max_window_bytes,
            )
        except OverflowError as exc:
            _drop(file)
            return self.refuse(client, ErrorCode.DISK_FULL, str(exc))
        except BaseException:
            _drop(file)
            raise
        common = dict(
            settings=settings,
            max_retries=self.config.max_retries,
            oack=accepted,
            request=request,
            resend_budget=self.config.resend_budget,
        )
        if reading:
            source = NetasciiReader(file) if netascii else file
            return [NewTransfer(Sender(source, client, apprentice_bug=self.config.apprentice_bug, **common))]
        sink = NetasciiWriter(file) if netascii else file
        return [NewTransfer(Receiver(sink, client, max_bytes=self.config.max_upload, **common))]

    def get_timer(self) -> float | None:
        """None: the server never needs waking; each transfer keeps its own timer."""
        return None

    def handle_timer(self, *, now: float) -> list[Effect]:
        """Nothing to do (see :meth:`get_timer`); here so every core has the same interface."""
        return []

    @staticmethod
    def refuse(client: Address, code: ErrorCode, message: str) -> list[Effect]:
        return [Send(Error(code, message), client), Note(f"refused: ERROR {int(code)} {message}")]


def _drop(file) -> None:
    """Close a file a refused request opened; an upload's ``discard`` also deletes its temporary file."""
    getattr(file, "discard", file.close)()
