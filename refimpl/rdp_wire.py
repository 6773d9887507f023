"""The first bytes of an RDP connection: the Client X.224 Connection Request ([MS-RDPBCGR] §2.2.1.1).

RDP (Microsoft's Remote Desktop Protocol) listens on port 3389. Its first
message, from client to server, is three layers deep::

    tpktHeader  4 bytes   version 3, reserved 0, length of the whole packet   RFC 1006 §6, [T123] §8
    x224Crq     7 bytes   LI, CR-CDT 0xE0, DST-REF 0, SRC-REF 0, class 0      [X224] §13.3
    cookie      optional  "Cookie: mstshash=NAME" CR LF                        [MS-RDPBCGR] §2.2.1.1
    rdpNegReq   8 bytes   type 1, flags, length 8, requestedProtocols         [MS-RDPBCGR] §2.2.1.1.1

TPKT numbers are big-endian (network order); the RDP Negotiation Request,
like the rest of RDP, is little-endian. LI (length indicator) counts the
X.224 header after itself and everything after it, so LI = length - 5.

Theory of operation. :data:`PROTOCOLS` names the bits of requestedProtocols;
:func:`connection_request` builds the bytes, :func:`fields` reads them back
as ``(offset, size, name, value)`` rows for a picture, and
:class:`RdpError` names what is wrong. What comes after (the server's
Connection Confirm, TLS or CredSSP, MCS, capabilities, bitmaps) is not here:
the lesson only shows how a connection starts. Standard library only.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

PORT = 3389
TPKT_VERSION = (
    3  # RFC 1006 §6: "vrsn 8 bits This field is always 3 for the version of the protocol described in this memo."
)
X224_CR = 0xE0  # [X224] §13.3: CR TPDU code 1110, credit 0000
TYPE_RDP_NEG_REQ = 0x01

PROTOCOLS: dict[str, int] = {
    "PROTOCOL_RDP": 0x00000000,  # Standard RDP Security ([MS-RDPBCGR] §5.3)
    "PROTOCOL_SSL": 0x00000001,  # TLS 1.0, 1.1 or 1.2
    "PROTOCOL_HYBRID": 0x00000002,  # CredSSP (TLS and then NLA)
    "PROTOCOL_RDSTLS": 0x00000004,
    "PROTOCOL_HYBRID_EX": 0x00000008,  # CredSSP with the Early User Authorization Result PDU
}
"""requestedProtocols bits of the RDP Negotiation Request ([MS-RDPBCGR] §2.2.1.1.1)."""


class RdpError(ValueError):
    """Not a Client X.224 Connection Request; ``offset`` is where the bad field starts."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


class Field(NamedTuple):
    offset: int
    size: int
    name: str
    value: object


def protocol_names(bits: int) -> list[str]:
    """``0x3`` -> ``["PROTOCOL_SSL", "PROTOCOL_HYBRID"]``; 0 is PROTOCOL_RDP."""
    if bits == 0:
        return ["PROTOCOL_RDP"]
    return [name for name, bit in PROTOCOLS.items() if bit and bits & bit]


def connection_request(cookie: str | None = None, protocols: int | None = 0, flags: int = 0) -> bytes:
    """The bytes a client sends first. ``protocols=None`` leaves the Negotiation Request out (old clients)."""
    body = b""
    if cookie is not None:
        body += b"Cookie: mstshash=" + cookie.encode("ascii") + b"\r\n"
    if protocols is not None:
        body += struct.pack("<BBHI", TYPE_RDP_NEG_REQ, flags, 8, protocols)
    x224 = struct.pack("!BBHHB", 6 + len(body), X224_CR, 0, 0, 0)  # LI counts what follows it
    length = 4 + len(x224) + len(body)
    return struct.pack("!BBH", TPKT_VERSION, 0, length) + x224 + body


def fields(data: bytes) -> list[Field]:
    """Each field of a Connection Request, in order; raises :class:`RdpError` where it does not fit."""
    if len(data) < 11:  # [MS-RDPBCGR] §3.3.5.3.1: "less than 11 bytes" is a reason to drop the connection
        raise RdpError(0, f"{len(data)} bytes: a Connection Request has at least 11")
    version, reserved, length = struct.unpack_from("!BBH", data)
    if version != TPKT_VERSION:
        raise RdpError(0, f"TPKT version {version}, not 3")
    if length != len(data):
        raise RdpError(2, f"TPKT length {length}, but {len(data)} bytes came")
    li, code, dst, src, klass = struct.unpack_from("!BBHHB", data, 4)
    if li != length - 5:
        raise RdpError(4, f"X.224 LI {li}, expected {length - 5}")
    if code != X224_CR:
        raise RdpError(5, f"X.224 code 0x{code:02x}, not CR (0xe0)")
    rows = [
        Field(0, 1, "TPKT version", version),
        Field(1, 1, "TPKT reserved", reserved),
        Field(2, 2, "TPKT length", length),
        Field(4, 1, "X.224 LI", li),
        Field(5, 1, "X.224 CR-CDT", f"0x{code:02x}"),
        Field(6, 2, "X.224 DST-REF", dst),
        Field(8, 2, "X.224 SRC-REF", src),
        Field(10, 1, "X.224 class and options", klass),
    ]
    at = 11
    if data.startswith(b"Cookie: ", at):
        end = data.find(b"\r\n", at)
        if end < 0:
            raise RdpError(at, "cookie without its CR LF")
        rows.append(Field(at, end + 2 - at, "cookie", data[at:end].decode("ascii", "replace")))
        at = end + 2
    if at < len(data):
        if len(data) - at < 8 or data[at] != TYPE_RDP_NEG_REQ:
            raise RdpError(at, "expected an 8-byte RDP Negotiation Request (type 1)")
        kind, neg_flags, neg_length, requested = struct.unpack_from("<BBHI", data, at)
        if neg_length != 8:
            raise RdpError(at + 2, f"RDP_NEG_REQ length {neg_length}, must be 8")
        rows += [
            Field(at, 1, "rdpNegReq type", kind),
            Field(at + 1, 1, "rdpNegReq flags", neg_flags),
            Field(at + 2, 2, "rdpNegReq length", neg_length),
            Field(at + 4, 4, "rdpNegReq requestedProtocols", " | ".join(protocol_names(requested))),
        ]
        at += 8
    if at != len(data):
        raise RdpError(at, f"{len(data) - at} bytes after the Negotiation Request (correlation info is not read here)")
    return rows
