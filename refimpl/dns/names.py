"""Domain names on the wire: labels, the 63/255 limits, and compression pointers.

RFC 1035 §3.1: a name is a sequence of labels, each a length octet and that
many octets, ended by the zero-length root label; "labels 63 octets or less",
"names 255 octets or less" (§2.3.4), counting the length octets.

RFC 1035 §4.1.4, compression: "the entire domain name or a list of labels at
the end of a domain name is replaced with a pointer to a prior occurance of
the same name" (sic): two octets whose top bits are 11, then a 14-bit offset from the
start of the message. The decoder accepts only pointers that point *backwards*
(to a "prior occurrence"): each pointer must land before the piece of
name it was read from, so every jump goes strictly backwards and no loop can
form, and it still reads every message real servers send. The bit patterns 01 and 10 are
reserved (RFC 6891 §5 retired the 01 "extended label"): an error.

Names are kept as text, without the final dot ("" is the root), as in zone
files: a dot or backslash inside a label, or a byte outside printable ASCII,
is written ``\\.``, ``\\\\`` or ``\\DDD`` (RFC 1035 §5.1), so text and bytes
convert both ways without loss. Comparison is case-insensitive (RFC 4343):
:func:`key` gives the form to compare with.
"""

from __future__ import annotations

from .errors import MessageError

MAX_LABEL = 63  # RFC 1035 §2.3.4
MAX_NAME = 255  # RFC 1035 §2.3.4, in octets on the wire
POINTER = 0xC0  # RFC 1035 §4.1.4: the two top bits of a pointer
_PLAIN = frozenset(range(0x21, 0x7F)) - {ord("."), ord("\\")}


def label_text(label: bytes) -> str:
    """One label as zone-file text, escaped as RFC 1035 §5.1 allows."""
    out = []
    for byte in label:
        if byte in _PLAIN:
            out.append(chr(byte))
        elif byte in (0x2E, 0x5C):
            out.append("\\" + chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return "".join(out)


def labels_of(name: str, field: str = "name") -> list[bytes]:
    """Text to labels (without the root label); raises MessageError on a bad name."""
    if name in ("", "."):
        return []
    if name.endswith(".") and not name.endswith("\\."):
        name = name[:-1]
    labels, current, i = [], bytearray(), 0
    while i < len(name):
        char = name[i]
        if char == "\\":
            digits = name[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit() and int(digits) < 256:
                current.append(int(digits))
                i += 4
                continue
            if i + 1 >= len(name):
                raise MessageError(field, None, f"{name!r} ends with a lone backslash")
            current += name[i + 1].encode("utf-8")
            i += 2
            continue
        if char == ".":
            labels.append(bytes(current))
            current = bytearray()
        else:
            current += char.encode("utf-8")
        i += 1
    labels.append(bytes(current))
    for label in labels:
        if not label:
            raise MessageError(field, None, f"{name!r} has an empty label")
        if len(label) > MAX_LABEL:
            raise MessageError(field, None, f"a label of {len(label)} octets, over {MAX_LABEL} (RFC 1035 §2.3.4)")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME:
        raise MessageError(field, None, f"over {MAX_NAME} octets on the wire (RFC 1035 §2.3.4)")
    return labels


def key(name: str) -> str:
    """The form to compare names with: ASCII letters folded (RFC 4343 §3), no final dot."""
    if name.endswith(".") and not name.endswith("\\."):
        name = name[:-1]
    return name.translate(_FOLD)


_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def decode_name(data: bytes, offset: int, field: str = "name") -> tuple[str, int]:
    """Read the name at ``offset``: ``(text, offset just after it in the record)``."""
    labels: list[str] = []
    wire = 1  # the root label's length octet
    end = None  # where the name ends in the record: after the first pointer, if any
    position = offset
    limit = offset  # a pointer must point before the piece of name it was read from
    while True:
        if position >= len(data):
            raise MessageError(field, position, "the name runs past the end of the message")
        length = data[position]
        top = length & POINTER
        if top == POINTER:
            if position + 1 >= len(data):
                raise MessageError(field, position, "a compression pointer cut in half")
            target = ((length & 0x3F) << 8) | data[position + 1]
            if end is None:
                end = position + 2
            if target >= limit:  # RFC 1035 §4.1.4: "a prior occurrence"; so no loop can form
                raise MessageError(
                    field, position, f"a compression pointer to {target}, not backwards of {limit} (a loop or forward)"
                )
            position = limit = target
            continue
        if top:
            raise MessageError(field, position, f"label type {top >> 6:02b} is reserved (RFC 6891 §5)")
        if length == 0:
            return ".".join(labels), (position + 1 if end is None else end)
        wire += length + 1
        if wire > MAX_NAME:
            raise MessageError(field, offset, f"the name is over {MAX_NAME} octets (RFC 1035 §2.3.4)")
        label = data[position + 1 : position + 1 + length]
        if len(label) < length:
            raise MessageError(field, position, "a label runs past the end of the message")
        labels.append(label_text(label))
        position += 1 + length


def encode_name(name: str, out: bytearray, table: dict[tuple[bytes, ...], int] | None, field: str = "name") -> None:
    """Append ``name`` to ``out``; with ``table``, compress against earlier names (RFC 1035 §4.1.4).

    ``table`` maps each suffix already written (as folded labels) to its offset; a
    suffix found there becomes a pointer. Offsets past 0x3FFF cannot be pointed at.
    """
    labels = labels_of(name, field)
    for i in range(len(labels)):
        suffix = tuple(label.lower() for label in labels[i:])
        if table is not None:
            if suffix in table:
                out += (0xC000 | table[suffix]).to_bytes(2, "big")
                return
            if len(out) <= 0x3FFF:
                table[suffix] = len(out)
        out.append(len(labels[i]))
        out += labels[i]
    out.append(0)
