"""The TFTP client on real sockets: :func:`refimpl.tftp.get` and ``put`` under asyncio.

    transfer = await get("127.0.0.1", "pub/a.bin", open("a.bin", "wb"), port=6969, blksize=1428)
    transfer = await put("127.0.0.1", "upload.bin", open("upload.bin", "rb"), port=6969)

The core builds the transfer (the request, the lock-step, the timers); this
module only gives it a socket. The client's socket is bound to an ephemeral
port - the client's TID (RFC 1350 §4) - and sends the request to the server's
well-known port; the server answers from a port of its own, and the core
takes that as the server's TID from then on. The same :class:`TransferSocket`
as the server's does the reading, sending and the one timer.

A transfer that does not end well raises :class:`TftpError`: refused by the
server (ERROR n from the server), no answer after the retries, or an OACK we
could not accept (RFC 2347: we then send ERROR 8).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import BinaryIO

from refimpl.sockets.tftp_server import TransferSocket, open_udp
from refimpl.tftp import client as core
from refimpl.tftp.packets import TFTP_PORT
from refimpl.tftp.transfer import MAX_RETRIES, Receiver, Sender, Transfer

log = logging.getLogger(__name__)  # "refimpl.sockets.tftp_client"


class TftpError(Exception):
    """A transfer that failed; ``str(error)`` says why, ``error.transfer`` is the core's transfer."""

    def __init__(self, message: str, transfer: Transfer | None = None):
        super().__init__(message)
        self.transfer = transfer


async def resolve(host: str, port: int) -> str:
    """The numeric address of ``host``: the core compares it with where answers come from."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except socket.gaierror as exc:
        raise TftpError(f"cannot resolve {host!r}: {exc.strerror}") from None
    return infos[0][4][0]


async def run(transfer: Transfer, name: str = "tftp", logger: logging.Logger = log) -> Transfer:
    """Run one client transfer to its end on a fresh ephemeral port; raise :class:`TftpError` if it fails."""
    sock = open_udp("::" if ":" in transfer.peer_ip else "0.0.0.0")
    if sock is None:
        raise TftpError("no free UDP port for the client")
    loop = asyncio.get_running_loop()
    ended = loop.create_future()

    def on_end(_: TransferSocket) -> None:
        if not ended.done():
            ended.set_result(None)

    running = TransferSocket(transfer, sock, name, logger=logger, on_end=on_end)
    try:
        running.start()
        await ended
    finally:
        if not running.closed:  # cancelled: tell the server, drop the file (RFC 1350 §7)
            running.abort("transfer cancelled")
    if not transfer.ok:
        raise TftpError(transfer.error or "transfer did not complete", transfer)
    logger.debug("%s: done, %d bytes, %d timeouts", name, transfer.bytes, running.timeouts)
    return transfer


async def get(
    host: str,
    filename: str,
    into: BinaryIO,
    *,
    port: int = TFTP_PORT,
    mode: str = "octet",
    blksize: int | None = None,
    timeout: int | None = None,
    ask_size: bool = False,
    retry_timeout: float = 1.0,
    max_retries: int = MAX_RETRIES,
    windowsize: int | None = None,
    logger: logging.Logger = log,
) -> Receiver:
    """Read ``filename`` from ``host`` into ``into`` (RRQ); the finished transfer, or :class:`TftpError`.

    ``blksize``, ``timeout``, ``ask_size``, ``windowsize``: options to ask for (RFC 2348, 2349, 7440);
    ``retry_timeout``: our own seconds before sending again when nothing came.
    ``into`` is flushed, not closed; after a failure it holds what arrived.
    It returns once the client has dallied after its last ACK (RFC 1350 §6), in
    case that ACK was lost: a timeout or two after the last block arrived.
    """
    ip = await resolve(host, port)
    transfer = core.get(
        filename,
        into,
        ip,
        server_port=port,
        mode=mode,
        blksize=blksize,
        timeout=timeout,
        ask_size=ask_size,
        retry_timeout=retry_timeout,
        max_retries=max_retries,
        windowsize=windowsize,
    )
    return await run(transfer, f"RRQ to {ip}:{port} file {filename}", logger)


async def put(
    host: str,
    filename: str,
    source: BinaryIO,
    *,
    port: int = TFTP_PORT,
    mode: str = "octet",
    blksize: int | None = None,
    timeout: int | None = None,
    size: int | None = None,
    retry_timeout: float = 1.0,
    max_retries: int = MAX_RETRIES,
    windowsize: int | None = None,
    logger: logging.Logger = log,
) -> Sender:
    """Write ``source`` to ``host`` as ``filename`` (WRQ); ``size`` is announced as tsize (RFC 2349),
    ``windowsize`` asked for (RFC 7440)."""
    ip = await resolve(host, port)
    transfer = core.put(
        filename,
        source,
        ip,
        server_port=port,
        mode=mode,
        blksize=blksize,
        timeout=timeout,
        size=size,
        retry_timeout=retry_timeout,
        max_retries=max_retries,
        windowsize=windowsize,
    )
    return await run(transfer, f"WRQ to {ip}:{port} file {filename}", logger)
