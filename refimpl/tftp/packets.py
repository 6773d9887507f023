"""The five TFTP packets of RFC 1350 §5, and OACK of RFC 2347.

Every packet starts with a two-byte opcode (network byte order). After it:

    opcode  packet  layout after the opcode                         RFC
    1       RRQ     filename NUL mode NUL [option NUL value NUL]...  1350 §5, 2347
    2       WRQ     filename NUL mode NUL [option NUL value NUL]...  1350 §5, 2347
    3       DATA    block number (2 bytes), 0 to blksize bytes       1350 §5
    4       ACK     block number (2 bytes)                           1350 §5
    5       ERROR   error code (2 bytes), message NUL                1350 §5
    6       OACK    [option NUL value NUL]...                        2347

:data:`LAYOUTS` holds that table as data: :func:`decode` follows it, and the
lesson draws the packet pictures from it. Strings are NUL-terminated ASCII
("netascii" in RFC 1350); option names and the mode compare without regard
to case (RFC 1350 §5, RFC 2347).

A malformed packet raises :class:`PacketError` with the reason, never
anything else: a server must answer junk with an ERROR and keep serving.
Standard library only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum


class Opcode(IntEnum):
    RRQ = 1  # read request
    WRQ = 2  # write request
    DATA = 3
    ACK = 4
    ERROR = 5
    OACK = 6  # option acknowledgment, RFC 2347


class ErrorCode(IntEnum):
    """RFC 1350 appendix "Error Codes"; 8 is RFC 2347's."""

    NOT_DEFINED = 0  # see the message
    FILE_NOT_FOUND = 1
    ACCESS_VIOLATION = 2
    DISK_FULL = 3  # disk full or allocation exceeded
    ILLEGAL_OPERATION = 4  # illegal TFTP operation
    UNKNOWN_TID = 5  # unknown transfer ID
    FILE_EXISTS = 6  # file already exists
    NO_SUCH_USER = 7
    OPTION_REFUSED = 8  # RFC 2347: the client refused the options the server acknowledged


# One row per opcode: the fields after the opcode, as (name, size). A size of
# "z" is a NUL-terminated string, "z*" any number of them in name/value pairs,
# "rest" whatever is left of the datagram.
LAYOUTS: dict[Opcode, tuple[tuple[str, int | str], ...]] = {
    Opcode.RRQ: (("filename", "z"), ("mode", "z"), ("options", "z*")),
    Opcode.WRQ: (("filename", "z"), ("mode", "z"), ("options", "z*")),
    Opcode.DATA: (("block", 2), ("data", "rest")),
    Opcode.ACK: (("block", 2),),
    Opcode.ERROR: (("code", 2), ("message", "z")),
    Opcode.OACK: (("options", "z*"),),
}

MODES = ("netascii", "octet", "mail")  # RFC 1350 §1; "mail" is obsolete and refused here
DEFAULT_BLOCK_SIZE = 512  # RFC 1350 §2
TFTP_PORT = 69  # RFC 1350 §4: a request goes to the server's well-known port 69


class PacketError(ValueError):
    """A datagram that is not a well-formed TFTP packet; the message says why."""


@dataclass(frozen=True)
class Request:
    """RRQ or WRQ: ``Request(Opcode.RRQ, "pxelinux.0", "octet", {"blksize": "1428"})``."""

    opcode: Opcode
    filename: str
    mode: str = "octet"
    options: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return struct.pack("!H", self.opcode) + _strings([self.filename, self.mode, *_pairs(self.options)])

    def summary(self) -> str:
        extra = "".join(f" {name}={value}" for name, value in self.options.items())
        return f"{self.filename} {self.mode}{extra}"


@dataclass(frozen=True)
class Data:
    block: int
    data: bytes = b""

    def encode(self) -> bytes:
        return struct.pack("!HH", Opcode.DATA, self.block) + bytes(self.data)

    def summary(self) -> str:
        return f"block={self.block} {len(self.data)} bytes"


@dataclass(frozen=True)
class Ack:
    block: int

    def encode(self) -> bytes:
        return struct.pack("!HH", Opcode.ACK, self.block)

    def summary(self) -> str:
        return f"block={self.block}"


@dataclass(frozen=True)
class Error:
    code: int
    message: str = ""

    def encode(self) -> bytes:
        return struct.pack("!HH", Opcode.ERROR, self.code) + _strings([self.message])

    def summary(self) -> str:
        try:
            name = ErrorCode(self.code).name
        except ValueError:
            name = "?"
        return f"code={self.code} ({name}) {self.message}".rstrip()


@dataclass(frozen=True)
class OptionAck:
    options: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return struct.pack("!H", Opcode.OACK) + _strings(list(_pairs(self.options)))

    def summary(self) -> str:
        return " ".join(f"{name}={value}" for name, value in self.options.items())


Packet = Request | Data | Ack | Error | OptionAck


def kind(packet: Packet) -> str:
    """``"RRQ"``, ``"DATA"``, ... as the lessons and the trace name them."""
    if isinstance(packet, Request):
        return packet.opcode.name
    return {Data: "DATA", Ack: "ACK", Error: "ERROR", OptionAck: "OACK"}[type(packet)]


def decode(raw: bytes) -> Packet:
    """Read one datagram; raise :class:`PacketError` if it is not a TFTP packet."""
    raw = bytes(raw)
    if len(raw) < 2:
        raise PacketError(f"{len(raw)} byte(s): too short for an opcode")
    (code,) = struct.unpack_from("!H", raw)
    try:
        opcode = Opcode(code)
    except ValueError:
        raise PacketError(f"unknown opcode {code}") from None
    body = raw[2:]
    if opcode in (Opcode.DATA, Opcode.ACK, Opcode.ERROR):
        if len(body) < 2:
            raise PacketError(f"{opcode.name} needs a 2-byte number after the opcode")
        (number,) = struct.unpack_from("!H", body)
        rest = body[2:]
        if opcode is Opcode.DATA:
            return Data(number, rest)
        if opcode is Opcode.ACK:
            if rest:
                raise PacketError(f"ACK with {len(rest)} extra byte(s)")
            return Ack(number)
        if rest and not rest.endswith(b"\x00"):
            raise PacketError("ERROR message: the last string is not NUL-terminated")
        if b"\x00" in rest[:-1]:
            raise PacketError("ERROR with bytes after its message")
        # Lenient here only: a server may word its errors in its own language, and the
        # code must still reach the user. Other bytes show as \xNN escapes (still ASCII,
        # so the packet can be encoded again as it reads).
        return Error(number, rest[:-1].decode("ascii", errors="backslashreplace"))
    strings = _split(body, opcode.name)
    if opcode is Opcode.OACK:
        return OptionAck(_options(strings, "OACK"))
    if len(strings) < 2:
        raise PacketError(f"{opcode.name} needs a filename and a mode")
    filename, mode = strings[0], strings[1].lower()
    if not filename:
        raise PacketError(f"{opcode.name} with an empty filename")
    return Request(opcode, filename, mode, _options(strings[2:], opcode.name))


# -- helpers ------------------------------------------------------------------------------
def _strings(values: list[str]) -> bytes:
    out = bytearray()
    for value in values:
        if not value.isascii():  # RFC 1350 §5: netascii strings; decode() refuses the rest too
            raise PacketError(f"{quote(value)} is not ASCII")
        encoded = value.encode("ascii")
        if b"\x00" in encoded:
            raise PacketError(f"a NUL byte inside {quote(value)}")
        out += encoded + b"\x00"
    return bytes(out)


def _pairs(options: dict[str, str]):
    for name, value in options.items():
        yield name
        yield str(value)


def _split(body: bytes, what: str) -> list[str]:
    """NUL-terminated ASCII strings; the last one must end with its NUL."""
    if not body:
        return []
    if not body.endswith(b"\x00"):
        raise PacketError(f"{what}: the last string is not NUL-terminated")
    try:
        return body[:-1].decode("ascii").split("\x00")
    except UnicodeDecodeError:
        raise PacketError(f"{what}: a string is not ASCII") from None


def quote(text: str, limit: int = 40) -> str:
    """A piece of a packet, quoted for an error message and cut short: the message may go
    back in an ERROR packet, which must stay small whatever junk came in."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


def _options(strings: list[str], what: str) -> dict[str, str]:
    """RFC 2347: name/value pairs; names compare without case, so they are stored lower-case."""
    if len(strings) % 2:
        raise PacketError(f"{what}: option {quote(strings[-1])} has no value")
    options: dict[str, str] = {}
    for name, value in zip(strings[::2], strings[1::2]):
        if not name:
            raise PacketError(f"{what}: an option with an empty name")
        if name.lower() in options:
            raise PacketError(f"{what}: option {quote(name)} given twice")
        options[name.lower()] = value
    return options
