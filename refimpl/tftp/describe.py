"""The one label of a TFTP packet, for every trace and every log line.

A packet is named by its kind (``RRQ``, ``DATA``, ...; :func:`~refimpl.tftp.packets.kind`)
and a short summary of the fields worth a glance::

    RRQ    boot.txt octet blksize=1428 tsize=0
    OACK   blksize=1428 tsize=3000
    DATA   block=3 512 bytes
    ACK    block=3
    ERROR  code=1 (FILE_NOT_FOUND) File not found

The simulated network (:mod:`refimpl.tftp.sim_glue`), the capture reader
(:mod:`refimpl.capture.tftp`) and the server's log lines
(:mod:`refimpl.sockets.tftp_server`) all take their words from here, so a
simulated run, a capture of real programs and a log say the same thing the
same way, and their diagrams look alike. Standard library only.
"""

from __future__ import annotations

from .packets import Ack, Data, Error, ErrorCode, OptionAck, Packet, PacketError, Request, decode, kind


def options_text(options: dict[str, str]) -> str:
    """``"blksize=1428 tsize=0"``, in the order they travel (RFC 2347)."""
    return " ".join(f"{name}={value}" for name, value in options.items())


def summary(packet: Packet) -> str:
    """What a trace shows after the kind: ``"boot.txt octet blksize=1428"``, ``"block=3 512 bytes"``."""
    if isinstance(packet, Request):
        options = options_text(packet.options)
        return f"{packet.filename} {packet.mode}" + (f" {options}" if options else "")
    if isinstance(packet, Data):
        return f"block={packet.block} {len(packet.data)} bytes"
    if isinstance(packet, Ack):
        return f"block={packet.block}"
    if isinstance(packet, Error):
        try:
            name = ErrorCode(packet.code).name
        except ValueError:
            name = "?"
        return f"code={packet.code} ({name}) {packet.message}".rstrip()
    assert isinstance(packet, OptionAck), packet
    return options_text(packet.options)


def describe_datagram(raw: bytes) -> tuple[str, str, Packet | None]:
    """``(kind, summary, packet)`` of one datagram, as a trace records it; junk is ``("?", "not TFTP: why", None)``."""
    try:
        packet = decode(raw)
    except PacketError as exc:
        return "?", f"not TFTP: {exc}", None
    return kind(packet), summary(packet), packet
