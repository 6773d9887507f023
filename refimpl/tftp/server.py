"""The TFTP server: a request on port 69 becomes a transfer on a port of its own.

RFC 1350 §4: the client sends RRQ or WRQ to the server's port 69. The server
does not answer from 69: it picks a new port (its TID) for this one transfer
and answers from there, so port 69 stays free for the next request and each
transfer is told apart by its pair of ports. :meth:`TftpServer.receive_request`
checks the request and returns a :class:`~refimpl.tftp.transfer.Transfer`; the
driver opens a socket on a fresh port for it, calls ``start``, and from then on
feeds it the datagrams that reach that socket.

Refusals are ERROR packets sent back from that new port too (RFC 1350 §4,
"the error is sent to the requester's port"), with the codes of RFC 1350:

    1 file not found      the name is not a file below the root
    2 access violation    outside the root, a directory, or uploads not allowed
    3 disk full           an upload announced (tsize) or sent more than the limit
    4 illegal operation   not a request, malformed, or mode "mail"
    6 file exists         an upload onto an existing file (unless overwrite)

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

from .netascii import NetasciiReader, NetasciiWriter
from .options import server_accepts
from .packets import Error, ErrorCode, Opcode, PacketError, Request, decode, quote
from .transfer import MAX_RETRIES, Address, Note, Receiver, Send, Sender, Transfer


@dataclass
class ServerConfig:
    timeout: float = 1.0  # seconds before a block is sent again, unless the client asks (RFC 2349)
    max_retries: int = MAX_RETRIES
    max_blksize: int = 65464  # RFC 2348's largest; a classroom may prefer 1468 (one Ethernet frame)
    max_upload: int | None = None  # the largest upload, in bytes: announced (tsize) or sent
    apprentice_bug: bool = False  # for the lesson only: answer duplicate ACKs (RFC 1123 §4.2.3.1)


class TftpServer:
    """Turns requests into transfers. ``files``: a :class:`~refimpl.tftp.files.DiskFiles` or MemoryFiles."""

    def __init__(self, files, config: ServerConfig | None = None):
        self.files = files
        self.config = config or ServerConfig()

    def receive_request(self, datagram: bytes, client: Address, now: float) -> tuple[Transfer | None, list]:
        """A datagram that reached port 69: ``(transfer, [])`` to run, or ``(None, [ERROR])`` to send."""
        try:
            request = decode(datagram)
        except PacketError as exc:
            return None, self.refuse(client, ErrorCode.ILLEGAL_OPERATION, f"malformed request: {exc}")
        if isinstance(request, Error):  # RFC 1350 §7: an ERROR is never answered, not even here
            return None, [Note(f"ERROR {request.code} sent to the server port: ignored")]
        if not isinstance(request, Request):
            return None, self.refuse(client, ErrorCode.ILLEGAL_OPERATION, "only RRQ and WRQ go to port 69")
        if request.mode not in ("netascii", "octet"):  # RFC 1350 §1: "mail" should not be implemented
            why = f"mode {quote(request.mode)} is not supported"
            return None, self.refuse(client, ErrorCode.ILLEGAL_OPERATION, why)
        reading = request.opcode is Opcode.RRQ
        try:
            if reading:
                file, size = self.files.open_read(request.filename)
            else:
                file, size = self.files.open_write(request.filename), None
        except FileNotFoundError:
            return None, self.refuse(client, ErrorCode.FILE_NOT_FOUND, "File not found")
        except FileExistsError:
            return None, self.refuse(client, ErrorCode.FILE_EXISTS, "File already exists")
        except OSError as exc:  # PermissionError (and the jail's), IsADirectoryError, ...
            return None, self.refuse(client, ErrorCode.ACCESS_VIOLATION, f"Access violation: {exc.strerror or exc}")
        netascii = request.mode == "netascii"
        try:
            accepted, settings = server_accepts(
                request.options, reading=reading, netascii=netascii, file_size=size,
                default_timeout=self.config.timeout, max_blksize=self.config.max_blksize,
                max_tsize=self.config.max_upload)  # fmt: skip
        except OverflowError as exc:
            discard = getattr(file, "discard", file.close)
            discard()
            return None, self.refuse(client, ErrorCode.DISK_FULL, str(exc))
        common = dict(settings=settings, max_retries=self.config.max_retries, oack=accepted, request=request)
        if reading:
            source = NetasciiReader(file) if netascii else file
            return Sender(source, client, apprentice_bug=self.config.apprentice_bug, **common), []
        sink = NetasciiWriter(file) if netascii else file
        return Receiver(sink, client, max_bytes=self.config.max_upload, **common), []

    @staticmethod
    def refuse(client: Address, code: ErrorCode, message: str) -> list:
        return [Send(Error(code, message), client), Note(f"refused: ERROR {int(code)} {message}")]
