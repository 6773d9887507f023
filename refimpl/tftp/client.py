"""The TFTP client: a request, then the same lock-step as the server.

:func:`get` and :func:`put` build the transfer for one file; the driver calls
``start(now=...)`` (which sends the RRQ or WRQ to the server's port 69), then
feeds it what arrives on the client's port (``receive``) and calls
``handle_timer`` when ``get_timer()`` says. The server answers from a new port; the transfer learns it from
the first reply and from then on refuses every other (RFC 1350 §4).

Options (RFC 2347-2349, RFC 7440's windowsize) are only asked for, never assumed: if the server
answers DATA 1 (or ACK 0) instead of OACK, it knows no options and the
transfer goes on with 512-byte blocks, one at a time.
"""

from __future__ import annotations

from typing import BinaryIO

from .netascii import NetasciiReader, NetasciiWriter
from .options import MAX_WINDOWSIZE, MIN_WINDOWSIZE, Settings
from .packets import TFTP_PORT, Opcode, Request
from .transfer import MAX_RETRIES, Receiver, Sender


class _Borrowed:
    """The caller's file: the transfer may flush it at the end, but closing it is the caller's job."""

    def __init__(self, file: BinaryIO):
        self.file = file

    def read(self, size: int) -> bytes:
        """Exactly ``size`` bytes unless the file ends: a short block *is* the end of the file
        in TFTP (RFC 1350 §6), so one short read of a pipe or a raw file must not end the transfer."""
        chunk = self.file.read(size)
        while chunk and len(chunk) < size:
            more = self.file.read(size - len(chunk))
            if not more:
                break
            chunk += more
        return chunk

    def write(self, chunk: bytes) -> int:
        return self.file.write(chunk)

    def close(self) -> None:
        self.file.flush()


def _request(
    opcode: Opcode,
    filename: str,
    mode: str,
    blksize: int | None,
    timeout: int | None,
    tsize: int | None,
    windowsize: int | None = None,
) -> Request:
    options: dict[str, str] = {}
    if blksize is not None:
        options["blksize"] = str(blksize)
    if timeout is not None:
        options["timeout"] = str(timeout)
    if tsize is not None:
        options["tsize"] = str(tsize)
    if windowsize is not None:  # RFC 7440 §3: 1 to 65535 blocks
        if not MIN_WINDOWSIZE <= windowsize <= MAX_WINDOWSIZE:
            raise ValueError(f"windowsize must be {MIN_WINDOWSIZE}..{MAX_WINDOWSIZE} (RFC 7440 §3), got {windowsize}")
        options["windowsize"] = str(windowsize)
    request = Request(opcode, filename, mode, options)
    request.encode()  # a name that cannot go on the wire (not ASCII, a NUL) fails here, not in the driver
    return request


def get(
    filename: str,
    into: BinaryIO,
    server_ip: str,
    *,
    server_port: int = TFTP_PORT,
    mode: str = "octet",
    blksize: int | None = None,
    timeout: int | None = None,
    ask_size: bool = False,
    retry_timeout: float = 1.0,
    max_retries: int = MAX_RETRIES,
    windowsize: int | None = None,
) -> Receiver:
    """Read ``filename`` from the server into ``into`` (RRQ). ``ask_size``: send tsize 0.
    ``windowsize``: ask for windows of that many blocks (RFC 7440); None: lock-step, no option."""
    mode = mode.lower()  # RFC 1350 §5: "NETASCII" is netascii too, and needs its line-end conversion
    request = _request(Opcode.RRQ, filename, mode, blksize, timeout, 0 if ask_size else None, windowsize)
    sink = NetasciiWriter(_Borrowed(into)) if mode == "netascii" else _Borrowed(into)
    return Receiver(
        sink,
        (server_ip, 0),
        settings=Settings(timeout=retry_timeout),
        max_retries=max_retries,
        client=True,
        request=request,
        server_port=server_port,
    )


def put(
    filename: str,
    source: BinaryIO,
    server_ip: str,
    *,
    server_port: int = TFTP_PORT,
    mode: str = "octet",
    blksize: int | None = None,
    timeout: int | None = None,
    size: int | None = None,
    retry_timeout: float = 1.0,
    max_retries: int = MAX_RETRIES,
    windowsize: int | None = None,
) -> Sender:
    """Write ``source`` to the server as ``filename`` (WRQ). ``size``: announce it as tsize.
    ``windowsize``: ask for windows of that many blocks (RFC 7440)."""
    mode = mode.lower()  # RFC 1350 §5: the mode is case-insensitive
    request = _request(Opcode.WRQ, filename, mode, blksize, timeout, size, windowsize)
    reader = NetasciiReader(_Borrowed(source)) if mode == "netascii" else _Borrowed(source)
    return Sender(
        reader,
        (server_ip, 0),
        settings=Settings(timeout=retry_timeout),
        max_retries=max_retries,
        client=True,
        request=request,
        server_port=server_port,
    )
