"""The five TFTP packets of RFC 1350 §5, and OACK of RFC 2347.

Every packet starts with a two-byte opcode (network byte order). After it:

    opcode  packet  layout after the opcode                         RFC
    1       RRQ     filename NUL mode NUL [option NUL value NUL]...  1350 §5, 2347
    2       WRQ     filename NUL mode NUL [option NUL value NUL]...  1350 §5, 2347
    3       DATA    block number (2 bytes), 0 to blksize bytes       1350 §5
    4       ACK     block number (2 bytes)                           1350 §5
    5       ERROR   error code (2 bytes), message NUL                1350 §5
    6       OACK    [option NUL value NUL]...                        2347

Theory of operation. :data:`LAYOUTS` holds that table as data, and it is the
only place the layouts are written down. :func:`decode` looks up the row of
the opcode and walks it field by field (:func:`read_fields`): each field's
*size* says how to read it, and the packet's dataclass is built from the
values, in the order the row names them. :func:`encode` walks the same row
the other way (:func:`write_fields`). There is no code per opcode: change a
row and the codec reads and writes the new layout. The lesson prints its
packet pictures from the same table.

Strings are NUL-terminated ASCII ("netascii" in RFC 1350); option names and
the mode compare without regard to case (RFC 1350 §5, RFC 2347).

A malformed packet raises :class:`PacketError`, never anything else: a server
must answer junk with an ERROR and keep serving. The error names the field and
the byte offset where it starts, then the reason
(``RRQ mode at byte 8: not NUL-terminated``).

Speed without giving up the table: :func:`compile_layouts` turns each row,
once at import, into a :class:`CompiledLayout` - the opcode's two bytes, one
reader and one writer per field, and for rows of fixed-size numbers only (ACK)
or numbers then the rest of the datagram (DATA) one ``struct.Struct`` that
reads or writes them in one C call. DATA and ACK travel once per block, so
those two take that shortcut; every other row, and any DATA or ACK of the
wrong length, takes the walk. Standard library only.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from functools import partial
from operator import attrgetter
from typing import ClassVar, NamedTuple


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


class Field(NamedTuple):
    """One field after the opcode: the packet attribute it fills, how it lies on the wire, how it is read.

    ``size``:  1, 2, 4 or 8  a number of that many bytes, network byte order
               "z"           ASCII text, then one NUL byte (RFC 1350 §5)
               "z*"          name NUL value NUL ... up to the end: options (RFC 2347)
               "rest"        every byte left in the datagram (a DATA block)
    ``rule`` (strings only), what decode adds to "ASCII, then NUL":
               "nonempty"    an empty string is an error
               "nocase"      any case, read as lower case (RFC 1350 §5: "NETASCII, NetAscii, etc.")
               "lenient"     may be missing, and bytes that are not ASCII read as \\xNN escapes
    """

    name: str
    size: int | str
    rule: str = ""


# One row per opcode: the fields after the opcode, in wire order. The ERROR message is
# read leniently: a server may word its errors in its own language, or not at all, and
# the code must still reach the user (shown as \xNN escapes, it still encodes again).
# fmt: off
LAYOUTS: dict[Opcode, tuple[Field, ...]] = {
    Opcode.RRQ:   (Field("filename", "z", "nonempty"), Field("mode", "z", "nocase"), Field("options", "z*")),
    Opcode.WRQ:   (Field("filename", "z", "nonempty"), Field("mode", "z", "nocase"), Field("options", "z*")),
    Opcode.DATA:  (Field("block", 2), Field("data", "rest")),
    Opcode.ACK:   (Field("block", 2),),
    Opcode.ERROR: (Field("code", 2), Field("message", "z", "lenient")),
    Opcode.OACK:  (Field("options", "z*"),),
}
# fmt: on

MODES = ("netascii", "octet", "mail")  # RFC 1350 §1; "mail" is obsolete and refused here
DEFAULT_BLOCK_SIZE = 512  # RFC 1350 §2
TFTP_PORT = 69  # RFC 1350 §4: a request goes to the server's well-known port 69


class PacketError(ValueError):
    """Bytes that are not a well-formed TFTP packet, or a value that cannot go into one.

    ``field`` says where (``"opcode"``, ``"RRQ mode"``, ``"ACK"`` for the packet as a
    whole); ``offset`` is the byte at which that field starts (``None`` when encoding);
    ``reason`` says what is wrong. The message is short: it may go back in an ERROR packet.
    """

    def __init__(self, field: str, offset: int | None, reason: str):
        self.field, self.offset, self.reason = field, offset, reason
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{field}{where}: {reason}")


# -- the packets: plain dataclasses; every one has an ``opcode`` and encodes itself -------
class _Packet:
    __slots__ = ()

    def encode(self) -> bytes:
        return encode(self)


@dataclass(frozen=True)
class Request(_Packet):
    """RRQ or WRQ: ``Request(Opcode.RRQ, "pxelinux.0", "octet", {"blksize": "1428"})``."""

    opcode: Opcode
    filename: str
    mode: str = "octet"
    options: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Data(_Packet):
    opcode: ClassVar[Opcode] = Opcode.DATA
    block: int
    data: bytes = b""


@dataclass(frozen=True)
class Ack(_Packet):
    opcode: ClassVar[Opcode] = Opcode.ACK
    block: int


@dataclass(frozen=True)
class Error(_Packet):
    opcode: ClassVar[Opcode] = Opcode.ERROR
    code: int
    message: str = ""


@dataclass(frozen=True)
class OptionAck(_Packet):
    opcode: ClassVar[Opcode] = Opcode.OACK
    options: dict[str, str] = dataclasses.field(default_factory=dict)


Packet = Request | Data | Ack | Error | OptionAck

#: The dataclass each opcode decodes into. Its fields (but ``opcode``) are the names of
#: the opcode's row in LAYOUTS, in the same order; compile_layouts() checks it.
PACKET_TYPES: dict[Opcode, type] = {
    Opcode.RRQ: Request,
    Opcode.WRQ: Request,
    Opcode.DATA: Data,
    Opcode.ACK: Ack,
    Opcode.ERROR: Error,
    Opcode.OACK: OptionAck,
}


def kind(packet: Packet) -> str:
    """``"RRQ"``, ``"DATA"``, ... as the lessons and the trace name them."""
    return Opcode(packet.opcode).name


# -- reading one field: (raw, offset, field, layout) -> (value, where the next field starts) ---
_NUMBERS = {1: struct.Struct("!B"), 2: struct.Struct("!H"), 4: struct.Struct("!I"), 8: struct.Struct("!Q")}
RULES = ("", "nonempty", "nocase", "lenient")
_OPTION_STRING = Field("option", "z")  # each name and each value of the options (RFC 2347)


def read_number(raw: bytes, offset: int, field: Field, layout: CompiledLayout) -> tuple[int, int]:
    """``field.size`` bytes in network byte order (RFC 1350 §5: "Block #", "ErrorCode")."""
    end = offset + field.size
    if end > len(raw):
        raise PacketError(
            layout.where(field), offset, f"needs a {field.size}-byte number, {len(raw) - offset} byte(s) left"
        )
    return _NUMBERS[field.size].unpack_from(raw, offset)[0], end


def read_string(raw: bytes, offset: int, field: Field, layout: CompiledLayout) -> tuple[str, int]:
    """ASCII up to the next NUL (RFC 1350 §5), then the field's rule."""
    end = raw.find(b"\x00", offset)
    if end < 0:
        if offset < len(raw):
            raise PacketError(layout.where(field), offset, "not NUL-terminated")
        if field.rule == "lenient":
            return "", offset
        raise PacketError(layout.where(field), offset, f"missing: {layout.name} needs {layout.needs}")
    piece = raw[offset:end]
    try:
        text = piece.decode("ascii")
    except UnicodeDecodeError:
        if field.rule != "lenient":
            raise PacketError(layout.where(field), offset, "not ASCII") from None
        text = piece.decode("ascii", errors="backslashreplace")
    if field.rule == "nocase":
        text = text.lower()
    elif field.rule == "nonempty" and not text:
        raise PacketError(layout.where(field), offset, f"an empty {field.name}")
    return text, end + 1


def read_options(raw: bytes, offset: int, field: Field, layout: CompiledLayout) -> tuple[dict[str, str], int]:
    """RFC 2347: name/value string pairs up to the end; names compare without case, so they are kept lower-case."""
    options: dict[str, str] = {}
    while offset < len(raw):
        start = offset
        name, offset = read_string(raw, offset, _OPTION_STRING, layout)
        if offset == len(raw):
            raise PacketError(layout.where(field), start, f"option {quote(name)} has no value")
        value, offset = read_string(raw, offset, _OPTION_STRING, layout)
        if not name:
            raise PacketError(layout.where(field), start, "an option with an empty name")
        if name.lower() in options:
            raise PacketError(layout.where(field), start, f"option {quote(name)} given twice")
        options[name.lower()] = value
    return options, offset


def read_rest(raw: bytes, offset: int, field: Field, layout: CompiledLayout) -> tuple[bytes, int]:
    """Whatever is left of the datagram (RFC 1350 §5: DATA's 0 to 512 bytes)."""
    return raw[offset:], len(raw)


# -- writing one field: (value, field, layout) -> its bytes ---------------------------------
def write_number(value: int, field: Field, layout: CompiledLayout) -> bytes:
    try:
        return _NUMBERS[field.size].pack(value)
    except struct.error:
        raise PacketError(layout.where(field), None, f"{value!r} is not a {field.size}-byte number") from None


def write_string(value: str, field: Field, layout: CompiledLayout) -> bytes:
    if not value.isascii():  # RFC 1350 §5: netascii strings; decode refuses the rest too
        raise PacketError(layout.where(field), None, f"{quote(value)} is not ASCII")
    if "\x00" in value:
        raise PacketError(layout.where(field), None, f"a NUL byte inside {quote(value)}")
    return value.encode("ascii") + b"\x00"


def write_options(options: dict[str, str], field: Field, layout: CompiledLayout) -> bytes:
    return b"".join(
        write_string(name, _OPTION_STRING, layout) + write_string(str(value), _OPTION_STRING, layout)
        for name, value in options.items()
    )


def write_rest(value: bytes, field: Field, layout: CompiledLayout) -> bytes:
    return bytes(value)


#: The sizes of LAYOUTS that are not numbers, and the functions that read and write them.
READERS: dict[str, Callable] = {"z": read_string, "z*": read_options, "rest": read_rest}
WRITERS: dict[str, Callable] = {"z": write_string, "z*": write_options, "rest": write_rest}


# -- the walks -------------------------------------------------------------------------------
class CompiledLayout:
    """One row of LAYOUTS made ready to run, once: its reader and writer per field, and the shortcut."""

    def __init__(self, opcode: Opcode, fields: tuple[Field, ...]):
        self.opcode, self.name, self.fields = opcode, opcode.name, fields
        self.prefix = struct.pack("!H", opcode)  # the two bytes every packet of this row starts with
        packet_type = PACKET_TYPES[opcode]
        attributes = tuple(f.name for f in dataclasses.fields(packet_type))
        self.build = packet_type
        if attributes[:1] == ("opcode",):  # Request, for RRQ and WRQ alike: the opcode comes first
            self.build, attributes = partial(packet_type, opcode), attributes[1:]
        names = tuple(f.name for f in fields)
        if names != attributes:
            raise ValueError(f"LAYOUTS[{self.name}] names {names}, but {packet_type.__name__} has {attributes}")
        for f in fields:
            if (f.size not in READERS and f.size not in _NUMBERS) or f.rule not in RULES:
                raise ValueError(f"LAYOUTS[{self.name}]: {f} has no such size or rule")
        self.values = attrgetter(*names) if len(names) > 1 else lambda packet: (getattr(packet, names[0]),)
        self.readers = tuple((f, READERS.get(f.size, read_number)) for f in fields)
        self.writers = tuple((f, WRITERS.get(f.size, write_number)) for f in fields)
        self.needs = " and ".join(f"a {f.name}" for f in fields if f.size == "z" and f.rule != "lenient")
        # The shortcut: a row of fixed-size numbers (ACK), or of numbers then the rest (DATA),
        # is one struct.Struct with the opcode in front: read or written in one C call.
        sizes = [f.size for f in fields]
        numbers = [size for size in sizes if size in _NUMBERS]
        self.fixed = self.ends_with_rest = self.opcode_and_values = None
        if sizes in (numbers, numbers + ["rest"]):
            self.fixed = struct.Struct("!H" + "".join(_NUMBERS[size].format[1:] for size in numbers))
            self.ends_with_rest = sizes != numbers
            self.opcode_and_values = attrgetter("opcode", *names)

    def where(self, field: Field) -> str:
        """How an error names a field: ``"RRQ mode"``."""
        return f"{self.name} {field.name}"


def read_fields(layout: CompiledLayout, raw: bytes) -> list:
    """The walk: the value of each field of ``layout``, in order, from just after the opcode.

    Each field's reader takes the bytes and the offset where the field starts,
    and returns its value and where the next field starts. Bytes left over after
    the last field are an error.
    """
    values, offset = [], 2
    for field, read in layout.readers:
        value, offset = read(raw, offset, field, layout)
        values.append(value)
    if offset < len(raw):
        last = layout.fields[-1].name if layout.fields else "opcode"
        raise PacketError(layout.name, offset, f"{len(raw) - offset} extra byte(s) after its {last}")
    return values


def write_fields(layout: CompiledLayout, packet: Packet) -> bytes:
    """The walk the other way: the opcode, then each field of ``layout`` as its size says."""
    pieces = [layout.prefix]
    for (field, write), value in zip(layout.writers, layout.values(packet)):
        pieces.append(write(value, field, layout))
    return b"".join(pieces)


def decode(raw: bytes) -> Packet:
    """Read one datagram; raise :class:`PacketError` if it is not a TFTP packet."""
    raw = bytes(raw)
    layout = _BY_PREFIX.get(raw[:2])
    if layout is None:
        if len(raw) < 2:
            raise PacketError("opcode", 0, f"{len(raw)} byte(s), too short for an opcode")
        raise PacketError("opcode", 0, f"unknown opcode {struct.unpack_from('!H', raw)[0]}")
    fixed = layout.fixed
    if fixed is not None:  # the shortcut, once per block: DATA and ACK of the right length
        if layout.ends_with_rest and len(raw) >= fixed.size:
            return layout.build(*fixed.unpack_from(raw)[1:], raw[fixed.size :])
        if len(raw) == fixed.size:
            return layout.build(*fixed.unpack_from(raw)[1:])
    return layout.build(*read_fields(layout, raw))


def encode(packet: Packet) -> bytes:
    """The bytes of ``packet``; :class:`PacketError` if a value cannot go on the wire."""
    layout = _BY_OPCODE.get(packet.opcode)
    if layout is None:
        raise PacketError("opcode", None, f"unknown opcode {packet.opcode!r}")
    fixed = layout.fixed
    if fixed is not None:  # the shortcut for DATA and ACK
        values = layout.opcode_and_values(packet)
        try:
            if layout.ends_with_rest:
                return fixed.pack(*values[:-1]) + values[-1]
            return fixed.pack(*values)
        except struct.error:
            pass  # a number that does not fit: the walk says which
    return write_fields(layout, packet)


_BY_PREFIX: dict[bytes, CompiledLayout] = {}  # b"\x00\x03" -> DATA's
_BY_OPCODE: dict[int, CompiledLayout] = {}


def compile_layouts() -> None:
    """Make every row of LAYOUTS ready for decode and encode: at import, and again after LAYOUTS changed."""
    compiled = [CompiledLayout(Opcode(opcode), fields) for opcode, fields in LAYOUTS.items()]
    _BY_OPCODE.clear()
    _BY_OPCODE.update({layout.opcode: layout for layout in compiled})
    _BY_PREFIX.clear()
    _BY_PREFIX.update({layout.prefix: layout for layout in compiled})


def quote(text: str, limit: int = 40) -> str:
    """A piece of a packet, quoted for an error message and cut short: the message may go
    back in an ERROR packet, which must stay small whatever junk came in."""
    quoted = repr(text)
    return quoted if len(quoted) <= limit else quoted[:limit] + "..."


compile_layouts()
