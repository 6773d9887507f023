"""The record-type registry: one row per TYPE drives both decode and encode.

RFC 1035 §3.2.2 and §3.3 define the RDATA of A, NS, CNAME, SOA, PTR, MX and
TXT; RFC 3596 §2.2 AAAA; RFC 2782 SRV; RFC 6891 §6.1.2 OPT. Each row names the
RDATA's parts in order, each part one of a few *kinds*:

    u16, u32   big-endian integers
    ipv4/ipv6  an address, kept as text ("192.0.2.1", "2001:db8::1")
    name       a domain name; ``cname`` marks one that may be compressed
    strings    one or more <character-string>s (RFC 1035 §3.3): length octet + bytes
    options    EDNS options (RFC 6891 §6.1.2): code u16, length u16, data
    opaque     the rest of the RDATA as bytes (DHCID: RFC 4701 §3.1 "DNS software
               should consider the RDATA section to be opaque")

RFC 3597 §4: names in the RDATA of new types must not be compressed, only those
of the "well-known" types of RFC 1035 may be; so compression on encode is used
for NS, CNAME, SOA, PTR and MX only (``cname``), while SRV's target is plain
``name`` (RFC 2782: "name compression is not to be used for this field").
A type not in the table is kept as raw bytes (RFC 3597 §5), as is TSIG (its
RDATA has a 48-bit time, read by :mod:`refimpl.dns.tsig`). An empty RDATA
in a record of CLASS ANY or NONE (RFC 2136 §2.4 and §2.5 use those to mean
"this name/type, no data") is kept as ``b""`` whatever the type.

A value is the tuple of parts (one part: the part itself, so an A record's
value is just ``"192.0.2.1"``).
"""

from __future__ import annotations

from _socket import AF_INET, AF_INET6, inet_ntop, inet_pton  # the socket module is slow to import
from enum import IntEnum
from typing import Any, NamedTuple

from .errors import MessageError
from .names import decode_name, encode_name, labels_of


class Type(IntEnum):
    """TYPE values (RFC 1035 §3.2.2, RFC 3596, RFC 2782, RFC 6891)."""

    A = 1
    NS = 2
    CNAME = 5
    SOA = 6
    PTR = 12
    MX = 15
    TXT = 16
    AAAA = 28
    SRV = 33
    OPT = 41
    DHCID = 49  # RFC 4701 §3: RDATA kept as bytes (an opaque digest); see dhcid_rdata below
    TSIG = 250  # RFC 8945 §4.1: a meta-record, its RDATA kept as bytes here (see refimpl.dns.tsig)
    AXFR = 252  # QTYPEs only (RFC 1035 §3.2.3), like the two below and ANY
    MAILB = 253
    MAILA = 254
    ANY = 255


class Class(IntEnum):
    IN = 1  # RFC 1035 §3.2.4
    CH = 3
    NONE = 254  # RFC 2136 §1.3: in UPDATE prerequisites and deletions
    ANY = 255  # a QCLASS (§3.2.5); RFC 2136 §2.4/§2.5 use it in records too


class RecordType(NamedTuple):
    type: Type
    parts: tuple[tuple[str, str], ...]  # (part name, kind)
    meaning: str


RECORD_TYPES: dict[int, RecordType] = {
    row.type: row
    for row in (
        RecordType(Type.A, (("address", "ipv4"),), "an IPv4 address (RFC 1035 §3.4.1)"),
        RecordType(Type.NS, (("nsdname", "cname"),), "an authoritative name server (§3.3.11)"),
        RecordType(Type.CNAME, (("cname", "cname"),), "the canonical name of an alias (§3.3.1)"),
        RecordType(
            Type.SOA,
            (
                ("mname", "cname"),
                ("rname", "cname"),
                ("serial", "u32"),
                ("refresh", "u32"),
                ("retry", "u32"),
                ("expire", "u32"),
                ("minimum", "u32"),
            ),
            "the start of a zone of authority (§3.3.13)",
        ),
        RecordType(Type.PTR, (("ptrdname", "cname"),), "a pointer to another name (§3.3.12)"),
        RecordType(Type.MX, (("preference", "u16"), ("exchange", "cname")), "a mail exchange (§3.3.9)"),
        RecordType(Type.TXT, (("txt", "strings"),), "text strings (§3.3.14)"),
        RecordType(Type.AAAA, (("address", "ipv6"),), "an IPv6 address (RFC 3596 §2.2)"),
        RecordType(
            Type.SRV,
            (("priority", "u16"), ("weight", "u16"), ("port", "u16"), ("target", "name")),
            "a service location (RFC 2782)",
        ),
        RecordType(Type.OPT, (("options", "options"),), "EDNS(0) pseudo-record (RFC 6891 §6.1.2)"),
        RecordType(Type.DHCID, (("digest", "opaque"),), "a DHCP client's identity, digested (RFC 4701 §3)"),
    )
}


def type_name(code: int) -> str:
    """``"A"``, or ``"TYPE999"`` for one we do not know (RFC 3597 §5)."""
    try:
        return Type(code).name
    except ValueError:
        return f"TYPE{code}"


def type_code(text: str) -> int:
    """``"mx"`` -> 15; ``"TYPE999"`` -> 999 (RFC 3597 §5). Raises ValueError."""
    text = text.upper()
    if text in Type.__members__:
        return int(Type[text])
    if text.startswith("TYPE") and text[4:].isdigit() and int(text[4:]) < 65536:
        return int(text[4:])
    raise ValueError(f"unknown record type {text!r}")


# -- decode -------------------------------------------------------------------------------
def decode_rdata(rtype: int, data: bytes, start: int, end: int, field: str) -> Any:
    """The RDATA of ``rtype`` in ``data[start:end]``; names may point anywhere before."""
    row = RECORD_TYPES.get(rtype)
    if row is None:
        return bytes(data[start:end])
    values, position = [], start
    for part, kind in row.parts:
        where = f"{field} {part}"
        if kind in ("u16", "u32"):
            size = 2 if kind == "u16" else 4
            if position + size > end:
                raise MessageError(where, position, "RDATA too short")
            values.append(int.from_bytes(data[position : position + size], "big"))
            position += size
        elif kind in ("ipv4", "ipv6"):
            size = 4 if kind == "ipv4" else 16
            if end - position != size:
                raise MessageError(where, position, f"RDLENGTH {end - start}, an address takes {size}")
            family = AF_INET if kind == "ipv4" else AF_INET6
            values.append(inet_ntop(family, bytes(data[position:end])))
            position = end
        elif kind in ("name", "cname"):
            name, position = decode_name(data[:end], position, where)
            values.append(name)
        elif kind == "opaque":
            if position == end:
                raise MessageError(where, position, "empty RDATA (RFC 4701 §3.1: type, digest type, digest)")
            values.append(bytes(data[position:end]))
            position = end
        elif kind == "strings":
            strings = []
            if position == end:
                raise MessageError(where, position, "TXT RDATA holds no string (RFC 1035 §3.3.14)")
            while position < end:
                length = data[position]
                if position + 1 + length > end:
                    raise MessageError(where, position, "a <character-string> runs past RDATA")
                strings.append(bytes(data[position + 1 : position + 1 + length]))
                position += 1 + length
            values.append(tuple(strings))
        else:  # options
            options = []
            while position < end:
                if position + 4 > end:
                    raise MessageError(where, position, "an EDNS option header cut short")
                code = int.from_bytes(data[position : position + 2], "big")
                length = int.from_bytes(data[position + 2 : position + 4], "big")
                if position + 4 + length > end:
                    raise MessageError(where, position, "an EDNS option runs past RDATA (RFC 6891 §6.1.2)")
                options.append((code, bytes(data[position + 4 : position + 4 + length])))
                position += 4 + length
            values.append(tuple(options))
    if position != end:
        raise MessageError(field, position, f"{end - position} octets left over in RDATA")
    return values[0] if len(values) == 1 else tuple(values)


# -- encode -------------------------------------------------------------------------------
def encode_rdata(rtype: int, value: Any, out: bytearray, table: dict | None, field: str) -> None:
    """Append the RDATA of ``value`` to ``out`` (which holds the message so far)."""
    row = RECORD_TYPES.get(rtype)
    if row is None:
        if not isinstance(value, (bytes, bytearray)):
            raise MessageError(field, None, f"type {rtype} is unknown: give its RDATA as bytes")
        out += value
        return
    values = (value,) if len(row.parts) == 1 else tuple(value)
    if len(values) != len(row.parts):
        raise MessageError(field, None, f"{type_name(rtype)} takes {len(row.parts)} parts, got {len(values)}")
    for (part, kind), item in zip(row.parts, values):
        where = f"{field} {part}"
        try:
            if kind in ("u16", "u32"):
                out += int(item).to_bytes(2 if kind == "u16" else 4, "big")
            elif kind == "ipv4":
                out += inet_pton(AF_INET, item)
            elif kind == "ipv6":
                out += inet_pton(AF_INET6, item)
            elif kind in ("name", "cname"):
                encode_name(item, out, table if kind == "cname" else None, where)
            elif kind == "opaque":
                if not isinstance(item, (bytes, bytearray)) or not item:
                    raise ValueError("give the RDATA as non-empty bytes")
                out += item
            elif kind == "strings":
                strings = [item] if isinstance(item, (bytes, str)) else list(item)
                for text in strings:
                    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
                    if len(raw) > 255:
                        raise MessageError(where, None, "a <character-string> holds at most 255 octets")
                    out.append(len(raw))
                    out += raw
            else:
                for code, data in item:
                    out += int(code).to_bytes(2, "big") + len(data).to_bytes(2, "big") + bytes(data)
        except (OverflowError, OSError, TypeError, ValueError) as exc:
            if isinstance(exc, MessageError):
                raise
            raise MessageError(where, None, f"bad value {item!r}: {exc}") from None


# -- DHCID (RFC 4701) ---------------------------------------------------------------------
# RFC 4701 §3.1: "the DHCID resource record RDATA consists of a 2-octet
# identifier type, in network byte order, followed by a 1-octet digest type,
# followed by one or more octets representing the actual identifier". The
# record's value is those bytes (the "opaque" kind); a zone file gives them in
# the RFC 3597 form (backslash-hash, length, hex): the base64 presentation form
# of §3.2 is not read. These functions build and read the bytes.


class DhcidIdentifier(IntEnum):
    """RFC 4701 §3.3: what the digest was computed over."""

    #: "The 1-octet 'htype' followed by 'hlen' octets of 'chaddr' from a DHCPv4 client's DHCPREQUEST"
    HTYPE_CHADDR = 0x0000
    #: "The data octets (i.e., the Type and Client-Identifier fields) from a DHCPv4 client's Client Identifier option"
    CLIENT_ID = 0x0001
    #: "The client's DUID (i.e., the data octets of a DHCPv6 client's Client Identifier option or the DUID
    #: field from a DHCPv4 client's Client Identifier option)"
    DUID = 0x0002


DHCID_SHA256 = 1  # RFC 4701 §3.4: the only digest type defined


def canonical_wire(name: str) -> bytes:
    """A name in the canonical wire form (RFC 4034 §6.2): uncompressed, ASCII letters lowercased."""
    return b"".join(bytes((len(label),)) + label.lower() for label in labels_of(name, "DHCID name")) + b"\0"


def dhcid_rdata(identifier_type: int, identifier: bytes, fqdn: str) -> bytes:
    """RFC 4701 §3.5: ``type (2) | digest type 1 (1) | SHA-256(identifier | FQDN in canonical wire form)``."""
    import hashlib  # lazy: importing the DNS core stays fast

    digest = hashlib.sha256(bytes(identifier) + canonical_wire(fqdn)).digest()
    return int(identifier_type).to_bytes(2, "big") + bytes((DHCID_SHA256,)) + digest


def dhcid_for_dhcpv4(fqdn: str, *, chaddr: bytes, htype: int = 1, client_id: bytes | None = None) -> bytes:
    """The DHCID of a DHCPv4 client: from its client identifier (option 61) when it sent one, else htype + chaddr.

    RFC 4701 §3.5.2 and §3.5.3 (summarised): the client identifier when the client
    sent one, else ``htype`` and ``chaddr``; a client identifier of type 255 carries
    an RFC 4361 DUID after its 4-octet IAID (RFC 4361 §6.1), and the DUID is then
    the identifier (type 0x0002, the table above).
    """
    if client_id:
        if client_id[0] == 255 and len(client_id) > 5:  # RFC 4361 §6.1: type 255, IAID (4), DUID
            return dhcid_rdata(DhcidIdentifier.DUID, client_id[5:], fqdn)
        return dhcid_rdata(DhcidIdentifier.CLIENT_ID, client_id, fqdn)
    return dhcid_rdata(DhcidIdentifier.HTYPE_CHADDR, bytes((htype,)) + bytes(chaddr), fqdn)


def parse_dhcid(rdata: bytes) -> tuple[int, int, bytes]:
    """``(identifier type, digest type, digest)``; MessageError if under the 3 octets of §3.1 plus one."""
    if len(rdata) < 4:
        raise MessageError("DHCID rdata", 0, f"{len(rdata)} octets: needs type (2), digest type (1) and a digest")
    return int.from_bytes(rdata[:2], "big"), rdata[2], bytes(rdata[3:])
