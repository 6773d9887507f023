"""A DNS message (RFC 1035 §4): header, question, answer, authority, additional.

The 12-byte header (RFC 1035 §4.1.1), 16 bits to a row::

                                    1  1  1  1  1  1
      0  1  2  3  4  5  6  7  8  9  0  1  2  3  4  5
    +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    |                      ID                       |
    +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    |QR|   Opcode  |AA|TC|RD|RA| Z|AD|CD|   RCODE   |
    +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+
    |                    QDCOUNT                    |
    |                    ANCOUNT                    |
    |                    NSCOUNT                    |
    |                    ARCOUNT                    |
    +--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+--+

(AD and CD were Z bits in RFC 1035; RFC 4035 §3.2 gave them to DNSSEC.) That
picture is :data:`HEADER_FIELDS`, declared once, in bits: the encoder, the
decoder and :meth:`Message.show` read it.

Then come QDCOUNT questions (name, QTYPE, QCLASS: §4.1.2) and the three record
sections (name, TYPE, CLASS, TTL, RDLENGTH, RDATA: §4.1.3), whose RDATA comes
from the registry in :mod:`refimpl.dns.records`.

EDNS(0) (RFC 6891 §6.1): an OPT pseudo-record in the additional section whose
CLASS is the requester's UDP payload size and whose TTL holds the upper 8 bits
of a 12-bit RCODE, the version and the DO bit. It is not data, so it is taken
out of ``additional`` into :attr:`Message.edns`; :attr:`Message.rcode` is the
full 12-bit value. "If a query message with more than one OPT RR is received,
a FORMERR (RCODE=1) MUST be returned" (§6.1.1): the decoder raises.

Decoding is strict about what a peer cannot get wrong without confusing us:
counts that promise more than the bytes hold, RDATA cut short or with bytes
left over, names broken as :mod:`refimpl.dns.names` explains. Bytes after the
last record are an error too (a count that lies in the other direction).

Standard library only.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, NamedTuple

from .errors import MessageError
from .names import decode_name, encode_name, key
from .records import Class, Type, decode_rdata, encode_rdata, type_name

__all__ = [
    "HEADER_FIELDS",
    "HEADER_SIZE",
    "Edns",
    "HeaderField",
    "Message",
    "MessageError",
    "Opcode",
    "Question",
    "Rcode",
    "Record",
    "decode",
]

HEADER_SIZE = 12  # RFC 1035 §4.1.1
UDP_LIMIT = 512  # RFC 1035 §2.3.4: "UDP messages 512 octets or less"


class HeaderField(NamedTuple):
    """One field of the header, in bits from the start of the message."""

    name: str
    bit: int
    bits: int
    meaning: str


HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("id", 0, 16, "chosen by the asker, copied into the answer"),
    HeaderField("qr", 16, 1, "0 = query, 1 = response"),
    HeaderField("opcode", 17, 4, "0 QUERY, 1 IQUERY (obsolete), 2 STATUS, 4 NOTIFY, 5 UPDATE"),
    HeaderField("aa", 21, 1, "Authoritative Answer: the responder owns the zone"),
    HeaderField("tc", 22, 1, "TrunCation: the message was cut to fit the transport"),
    HeaderField("rd", 23, 1, "Recursion Desired, copied into the answer"),
    HeaderField("ra", 24, 1, "Recursion Available at this server"),
    HeaderField("z", 25, 1, "reserved, must be zero (RFC 1035 §4.1.1)"),
    HeaderField("ad", 26, 1, "Authentic Data (RFC 4035 §3.2.3)"),
    HeaderField("cd", 27, 1, "Checking Disabled (RFC 4035 §3.2.2)"),
    HeaderField("rcode", 28, 4, "0 NOERROR, 1 FORMERR, 2 SERVFAIL, 3 NXDOMAIN, 4 NOTIMP, 5 REFUSED"),
    HeaderField("qdcount", 32, 16, "entries in the question section"),
    HeaderField("ancount", 48, 16, "records in the answer section"),
    HeaderField("nscount", 64, 16, "records in the authority section"),
    HeaderField("arcount", 80, 16, "records in the additional section"),
)
FLAG_FIELDS = tuple(f for f in HEADER_FIELDS if 16 <= f.bit < 32)  # the second 16-bit word
SECTIONS = ("answer", "authority", "additional")  # after the question, in this order (§4.1)
UPDATE_TITLES = ("ZONE", "PREREQUISITE", "UPDATE", "ADDITIONAL")  # RFC 2136 §2: the same four, renamed


class Opcode(IntEnum):
    QUERY = 0  # RFC 1035 §4.1.1
    IQUERY = 1  # obsoleted by RFC 3425
    STATUS = 2
    NOTIFY = 4  # RFC 1996
    UPDATE = 5  # RFC 2136


class Rcode(IntEnum):
    NOERROR = 0  # RFC 1035 §4.1.1
    FORMERR = 1
    SERVFAIL = 2
    NXDOMAIN = 3
    NOTIMP = 4
    REFUSED = 5
    YXDOMAIN = 6  # RFC 2136 §1.3; the IANA registry: "Name Exists when it should not"
    YXRRSET = 7  # "RR Set Exists when it should not"
    NXRRSET = 8  # "RR Set that should exist does not"
    NOTAUTH = 9  # "Server Not Authoritative for zone" (RFC 2136), "Not Authorized" (RFC 8945, TSIG)
    NOTZONE = 10  # "Name not contained in zone"
    BADVERS = 16  # RFC 6891 §6.1.3, needs EDNS (12 bits)


class Question(NamedTuple):
    name: str
    type: int = Type.A
    cls: int = Class.IN

    def __str__(self) -> str:
        return f"{self.name or '.'}. {_class_name(self.cls)} {type_name(self.type)}".replace("..", ".")


class Record(NamedTuple):
    """A resource record; ``value`` as :mod:`refimpl.dns.records` describes."""

    name: str
    type: int
    value: Any
    ttl: int = 3600
    cls: int = Class.IN

    def __str__(self) -> str:
        owner = (self.name + ".") if self.name else "."
        return f"{owner} {self.ttl} {_class_name(self.cls)} {type_name(self.type)} {rdata_text(self)}".rstrip()


class Edns(NamedTuple):
    """The OPT pseudo-record's meaning (RFC 6891 §6.1.3)."""

    udp_size: int = 1232  # what we advertise; "1232" is the DNS Flag Day 2020 advice, policy
    version: int = 0
    do: bool = False  # DNSSEC OK (RFC 3225)
    options: tuple[tuple[int, bytes], ...] = ()


class Message:
    """A whole message; the header's fields are attributes named as in :data:`HEADER_FIELDS`.

    A plain class rather than a dataclass: ``dataclasses`` costs more to import
    than this whole package (the core must import in milliseconds).
    """

    FIELDS = ("id", "qr", "opcode", "aa", "tc", "rd", "ra", "z", "ad", "cd", "rcode")
    LISTS = ("questions", "answer", "authority", "additional")

    def __init__(
        self,
        id: int = 0,
        qr: bool = False,
        opcode: int = Opcode.QUERY,
        aa: bool = False,
        tc: bool = False,
        rd: bool = False,
        ra: bool = False,
        z: int = 0,
        ad: bool = False,
        cd: bool = False,
        rcode: int = Rcode.NOERROR,  # 12 bits when EDNS is present: the upper 8 go into the OPT TTL
        questions: list[Question] | None = None,
        answer: list[Record] | None = None,
        authority: list[Record] | None = None,
        additional: list[Record] | None = None,
        edns: Edns | None = None,
    ):
        self.id, self.qr, self.opcode, self.aa, self.tc, self.rd = id, qr, opcode, aa, tc, rd
        self.ra, self.z, self.ad, self.cd, self.rcode = ra, z, ad, cd, rcode
        self.questions = list(questions or [])
        self.answer = list(answer or [])
        self.authority = list(authority or [])
        self.additional = list(additional or [])
        self.edns = edns

    def _values(self) -> dict:
        return {name: getattr(self, name) for name in (*self.FIELDS, *self.LISTS, "edns")}

    def __eq__(self, other) -> bool:
        return isinstance(other, Message) and self._values() == other._values()

    def __repr__(self) -> str:
        return "Message(" + ", ".join(f"{k}={v!r}" for k, v in self._values().items()) + ")"

    # -- encode ---------------------------------------------------------------------------
    def encode(self, *, max_size: int | None = None, compress: bool = True) -> bytes:
        """The wire bytes. With ``max_size``, records that do not fit are dropped and TC is set.

        RFC 2181 §9: TC is set when the data the requester asked for did not all
        fit; we drop whole records from the end (additional first, which alone
        does not set TC, as RFC 2181 §9 allows) and keep the OPT record
        (RFC 6891 §7: the OPT goes into a truncated answer too).
        """
        out = self._encode(compress)
        if max_size is None or len(out) <= max_size:
            return out
        sections = {name: list(getattr(self, name)) for name in SECTIONS}
        tc = False
        while len(out) > max_size:
            for name in reversed(SECTIONS):
                if sections[name]:
                    sections[name].pop()
                    tc = tc or name != "additional"
                    break
            else:
                tc = True
                break
            trial = Message(**{**self._values(), **sections, "tc": self.tc or tc})
            out = trial._encode(compress)
        if len(out) > max_size:  # even the question does not fit: send the header alone
            trial = Message(**{**self._values(), "questions": [], **dict.fromkeys(SECTIONS, []), "tc": True})
            out = trial._encode(compress)
        return out

    def _encode(self, compress: bool) -> bytes:
        extra = list(self.additional)
        if self.edns is not None:
            extra.append(self._opt_record())
        elif self.rcode > 15:
            raise MessageError("rcode", None, f"{self.rcode} needs EDNS (RFC 6891 §6.1.3)")
        counts = (len(self.questions), len(self.answer), len(self.authority), len(extra))
        values = {**self._values(), "rcode": self.rcode & 0xF}
        values.update(zip(("qdcount", "ancount", "nscount", "arcount"), counts))
        header = 0
        for f in HEADER_FIELDS:
            value = int(values[f.name])
            if not 0 <= value < 1 << f.bits:
                raise MessageError(f.name, None, f"{value} does not fit in {f.bits} bits")
            header |= value << (96 - f.bit - f.bits)
        out = bytearray(header.to_bytes(HEADER_SIZE, "big"))
        table: dict | None = {} if compress else None
        for i, q in enumerate(self.questions):
            encode_name(q.name, out, table, f"question[{i}] name")
            out += _u16(q.type, f"question[{i}] type") + _u16(q.cls, f"question[{i}] class")
        for section, records in zip(SECTIONS, (self.answer, self.authority, extra)):
            for i, r in enumerate(records):
                where = f"{section}[{i}]"
                encode_name(r.name, out, table, f"{where} name")
                out += _u16(r.type, f"{where} type") + _u16(r.cls, f"{where} class")
                if not 0 <= r.ttl < 1 << 32:
                    raise MessageError(f"{where} ttl", None, f"{r.ttl} is not a 32-bit value")
                out += r.ttl.to_bytes(4, "big") + b"\0\0"
                start = len(out)
                if not (r.value == b"" and r.cls in (Class.ANY, Class.NONE)):  # RFC 2136 §2.4, §2.5: empty
                    encode_rdata(r.type, r.value, out, table, f"{where} rdata")
                if len(out) - start > 0xFFFF:
                    raise MessageError(f"{where} rdata", None, "RDATA over 65535 octets")
                out[start - 2 : start] = (len(out) - start).to_bytes(2, "big")
        if len(out) > 0xFFFF:
            raise MessageError("message", None, f"{len(out)} octets: over the 65535 a TCP length can say")
        return bytes(out)

    def _opt_record(self) -> Record:
        e = self.edns
        if not 0 <= e.version < 256:
            raise MessageError("edns version", None, f"{e.version} does not fit in 8 bits")
        ttl = ((self.rcode >> 4) << 24) | (e.version << 16) | (0x8000 if e.do else 0)
        return Record("", Type.OPT, tuple(e.options), ttl, e.udp_size)

    # -- reading --------------------------------------------------------------------------
    def reply(self) -> Message:
        """An empty response to this query: same id, opcode, RD and question (RFC 1035 §4.1.1)."""
        return Message(id=self.id, qr=True, opcode=self.opcode, rd=self.rd, cd=self.cd, questions=list(self.questions))

    @property
    def question(self) -> Question | None:
        return self.questions[0] if self.questions else None

    def flags(self) -> list[str]:
        return [f.name for f in FLAG_FIELDS if f.bits == 1 and f.name != "z" and getattr(self, f.name)]

    def show(self) -> str:
        """dig-like text: header, flags, then each section."""
        try:
            rcode = Rcode(self.rcode).name
        except ValueError:
            rcode = str(self.rcode)
        try:
            opcode = Opcode(self.opcode).name
        except ValueError:
            opcode = str(self.opcode)
        counts = ("ZONE", "PREREQ", "UPDATE") if self.opcode == Opcode.UPDATE else ("QUERY", "ANSWER", "AUTHORITY")
        lines = [
            f";; opcode: {opcode}, status: {rcode}, id: {self.id}",
            f";; flags: {' '.join(self.flags())}; {counts[0]}: {len(self.questions)}, {counts[1]}: {len(self.answer)},"
            f" {counts[2]}: {len(self.authority)}, ADDITIONAL: {len(self.additional) + (self.edns is not None)}",
        ]
        if self.edns is not None:
            lines.append(
                f";; EDNS: version: {self.edns.version}, udp: {self.edns.udp_size}" + (", do" if self.edns.do else "")
            )
        titles = UPDATE_TITLES if self.opcode == Opcode.UPDATE else ("QUESTION", *map(str.upper, SECTIONS))
        if self.questions:
            lines += ["", f";; {titles[0]} SECTION:"] + [f";{q}" for q in self.questions]
        for section, title in zip(SECTIONS, titles[1:]):
            records = getattr(self, section)
            if records:
                lines += ["", f";; {title} SECTION:"] + [str(r) for r in records]
        return "\n".join(lines)


def _u16(value: int, where: str) -> bytes:
    if not 0 <= int(value) < 65536:
        raise MessageError(where, None, f"{value} is not a 16-bit value")
    return int(value).to_bytes(2, "big")


def _class_name(cls: int) -> str:
    try:
        return Class(cls).name
    except ValueError:
        return f"CLASS{cls}"


def rdata_text(r: Record) -> str:
    """The RDATA in zone-file form (RFC 1035 §5.1), as dig prints it."""
    value = r.value
    if value == b"" and r.cls in (Class.ANY, Class.NONE):  # RFC 2136 §2.4/§2.5: no RDATA, as dig prints it
        return ""
    if r.type == Type.TXT:
        return " ".join('"' + _quoted(s) + '"' for s in value)
    if isinstance(value, bytes):  # RFC 3597 §5: \# length hex
        return f"\\# {len(value)} {value.hex()}"
    parts = value if isinstance(value, tuple) else (value,)
    return " ".join((str(p) + "." if isinstance(p, str) and not _is_address(p) else str(p)) for p in parts).replace(
        "..", "."
    )


def _is_address(text: str) -> bool:
    return ":" in text or text.replace(".", "").isdigit()


def _quoted(raw: bytes) -> str:
    out = []
    for byte in raw:
        if byte in (0x22, 0x5C):
            out.append("\\" + chr(byte))
        elif 0x20 <= byte < 0x7F:
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


# -- decode -------------------------------------------------------------------------------
def decode(data: bytes) -> Message:
    """Bytes to a :class:`Message`; raises :class:`MessageError` and nothing else."""
    data = bytes(data)
    if len(data) < HEADER_SIZE:
        raise MessageError("header", 0, f"{len(data)} octets, the header alone takes {HEADER_SIZE}")
    header = int.from_bytes(data[:HEADER_SIZE], "big")
    values = {f.name: (header >> (96 - f.bit - f.bits)) & ((1 << f.bits) - 1) for f in HEADER_FIELDS}
    msg = Message(
        **{f.name: (bool(values[f.name]) if f.bits == 1 and f.name != "z" else values[f.name]) for f in FLAG_FIELDS}
    )
    msg.id = values["id"]
    position = HEADER_SIZE
    for i in range(values["qdcount"]):
        where = f"question[{i}]"
        if position >= len(data):
            raise MessageError("qdcount", 4, f"says {values['qdcount']} questions, the message holds {i}")
        name, position = decode_name(data, position, f"{where} name")
        if position + 4 > len(data):
            raise MessageError(f"{where} type", position, "the question is cut short")
        msg.questions.append(
            Question(
                name,
                int.from_bytes(data[position : position + 2], "big"),
                int.from_bytes(data[position + 2 : position + 4], "big"),
            )
        )
        position += 4
    for section, count_field, count_at in zip(SECTIONS, ("ancount", "nscount", "arcount"), (6, 8, 10)):
        records = getattr(msg, section)
        for i in range(values[count_field]):
            where = f"{section}[{i}]"
            if position >= len(data):
                raise MessageError(count_field, count_at, f"says {values[count_field]} records, the message holds {i}")
            name, position = decode_name(data, position, f"{where} name")
            if position + 10 > len(data):
                raise MessageError(f"{where} type", position, "the record header is cut short")
            rtype = int.from_bytes(data[position : position + 2], "big")
            cls = int.from_bytes(data[position + 2 : position + 4], "big")
            ttl = int.from_bytes(data[position + 4 : position + 8], "big")
            length = int.from_bytes(data[position + 8 : position + 10], "big")
            start = position + 10
            if start + length > len(data):
                raise MessageError(
                    f"{where} rdlength", position + 8, f"RDLENGTH {length} runs past the end of the message"
                )
            if length == 0 and cls in (Class.ANY, Class.NONE):  # RFC 2136 §2.4, §2.5: "RDLENGTH zero"
                value = b""
            else:
                value = decode_rdata(rtype, data, start, start + length, f"{where} rdata")
            position = start + length
            if rtype == Type.OPT:
                if section != "additional":
                    raise MessageError(
                        f"{where} type", start - 10, "OPT outside the additional section (RFC 6891 §6.1.1)"
                    )
                if msg.edns is not None:
                    raise MessageError(f"{where} type", start - 10, "a second OPT record (RFC 6891 §6.1.1)")
                if name != "":
                    raise MessageError(f"{where} name", start - 10, "OPT's owner must be the root (RFC 6891 §6.1.2)")
                msg.edns = Edns(udp_size=cls, version=(ttl >> 16) & 0xFF, do=bool(ttl & 0x8000), options=value)
                msg.rcode |= (ttl >> 24) << 4
                continue
            records.append(Record(name, rtype, value, ttl, cls))
    if position != len(data):
        raise MessageError("message", position, f"{len(data) - position} octets after the last record")
    return msg


def same_name(a: str, b: str) -> bool:
    """Names compare without regard to ASCII case (RFC 4343 §3)."""
    return key(a) == key(b)
