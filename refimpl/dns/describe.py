"""Pictures of a DNS message in text, derived from the same tables that encode it.

:func:`header_diagram_text` draws the 12-byte header the way RFC 1035 §4.1.1
does (16 bits to a row), from :data:`~refimpl.dns.message.HEADER_FIELDS`, with
a message's values when one is given. :func:`layout` says which bytes of an
encoded message belong to which piece (header fields, each question, each
record's name, TYPE, CLASS, TTL, RDLENGTH and RDATA), for hexdumps that mark a
field, as :meth:`refimpl.dns.message.Message` does not keep offsets itself.
"""

from __future__ import annotations

from typing import NamedTuple

from .message import HEADER_FIELDS, HEADER_SIZE, SECTIONS, decode, rdata_text
from .names import decode_name

ROW_BITS = 16  # RFC 1035 §4.1.1 draws the header 16 bits wide
CELL = 3  # characters per bit: "+--"


class Span(NamedTuple):
    name: str
    offset: int
    size: int


def header_diagram_text(msg=None) -> str:
    """The header as RFC 1035 draws it; each box shows the field's name, or its value in ``msg``."""
    ruler = "  " + "".join(f"{bit:>2} " for bit in range(ROW_BITS))
    border = "+" + "--+" * ROW_BITS
    lines = [ruler.rstrip(), border]
    for row_start in range(0, HEADER_SIZE * 8, ROW_BITS):
        cells = [f for f in HEADER_FIELDS if row_start <= f.bit < row_start + ROW_BITS]
        line = "|"
        for f in cells:
            width = f.bits * CELL - 1
            text = f.name.upper() if msg is None else _value_text(msg, f.name)
            line += text[:width].center(width) + "|"
        lines += [line, border]
    return "\n".join(lines)


def _value_text(msg, name: str) -> str:
    counts = {
        "qdcount": len(msg.questions),
        "ancount": len(msg.answer),
        "nscount": len(msg.authority),
        "arcount": len(msg.additional) + (msg.edns is not None),
    }
    if name in counts:
        return f"{name.upper()}={counts[name]}"
    value = getattr(msg, name)
    if name == "rcode":
        value &= 0xF
    if isinstance(value, bool):
        return str(int(value))
    return f"{name.upper()}={int(value)}" if name in ("id",) else str(int(value))


def layout(data: bytes) -> list[Span]:
    """Where each piece of the encoded message ``data`` lies (raises MessageError on bad bytes)."""
    msg = decode(data)  # checks everything first, so the walk below cannot fail
    spans = [Span(f.name, f.bit // 8, max(1, f.bits // 8)) for f in HEADER_FIELDS if f.bits % 8 == 0]
    spans.insert(1, Span("flags", 2, 2))
    position = HEADER_SIZE
    for i in range(len(msg.questions)):
        _, end = decode_name(data, position)
        spans += [Span(f"question[{i}] name", position, end - position), Span(f"question[{i}] type+class", end, 4)]
        position = end + 4
    counts = [len(msg.answer), len(msg.authority), len(msg.additional) + (msg.edns is not None)]
    for section, count in zip(SECTIONS, counts):
        for i in range(count):
            where = f"{section}[{i}]"
            _, end = decode_name(data, position)
            length = int.from_bytes(data[end + 8 : end + 10], "big")
            spans += [
                Span(f"{where} name", position, end - position),
                Span(f"{where} type", end, 2),
                Span(f"{where} class", end + 2, 2),
                Span(f"{where} ttl", end + 4, 4),
                Span(f"{where} rdlength", end + 8, 2),
                Span(f"{where} rdata", end + 10, length),
            ]
            position = end + 10 + length
    return spans


def describe_message(raw: bytes, *, framed: bool = False):
    """``(kind, summary, message)`` of one DNS message, for a trace: the same label in a simulation and a capture.

    A query reads ``QUERY www.example.com A`` / ``id=4660 rd edns=1232``; a
    response ``NOERROR TC`` / ``id=4660 aa, 9 answers: 192.0.2.1 ... (508 B)``.
    ``framed``: the bytes of a TCP segment, behind the 2-byte length of RFC 1035
    §4.2.2 (taken off when it matches). Bytes that do not decode read ``?``.
    """
    from .errors import MessageError
    from .message import Opcode, Rcode
    from .records import type_name

    data = bytes(raw)
    if framed and len(data) >= 2 and int.from_bytes(data[:2], "big") == len(data) - 2:
        data = data[2:]
    try:
        msg = decode(data)
    except MessageError as exc:
        return "?", f"not a DNS message ({len(data)} B): {exc}", None
    opcode = Opcode(msg.opcode).name if msg.opcode in Opcode._value2member_map_ else f"OPCODE{msg.opcode}"
    q = msg.question
    asked = f"{q.name or '.'} {type_name(q.type)}" if q else ""
    flags = [f for f in msg.flags() if f not in ("qr", "tc")]
    head = " ".join([f"id={msg.id}", *flags] + ([f"edns={msg.edns.udp_size}"] if msg.edns else []))
    if not msg.qr:
        return f"{opcode} {asked}".strip(), head, msg
    rcode = Rcode(msg.rcode).name if msg.rcode in Rcode._value2member_map_ else f"RCODE{msg.rcode}"
    kind = rcode + (" TC" if msg.tc else "")
    if msg.answer:
        types = {r.type for r in msg.answer}
        values = [rdata_text(r) if len(types) == 1 else type_name(r.type) for r in msg.answer]  # a zone: its types
        shown = ", ".join(values[:2]) + (f" ... +{len(values) - 2}" if len(values) > 2 else "")
        what = f"{len(values)} answer{'s' if len(values) > 1 else ''}: {shown}"
    elif msg.authority and not msg.aa and any(r.type == 2 for r in msg.authority):  # NS: a referral
        zone = msg.authority[0].name or "."
        what = f"referral to {zone} ({', '.join(str(r.value) for r in msg.authority if r.type == 2)})"
    else:
        what = "no answer"
    return kind, f"{head}, {what} ({len(data)} B)", msg
