"""The DHCP option registry: one table of (code, name, kind, meaning, RFC).

After the fixed BOOTP header and the magic cookie, a DHCP message carries a
list of options. Each option is a TLV (RFC 2132 §2):

    +------+--------+--------------------+
    | code | length | value (length B)   |     code and length: 1 byte each
    +------+--------+--------------------+

except PAD (code 0) and END (code 255), which are a single byte.

The *registry* below says, for each code we know, its name, the *kind* of its
value and what it means. The kind picks a codec from :data:`KINDS`: a pair of
functions ``decode(bytes) -> value`` and ``encode(value) -> bytes``. The
message codec (:mod:`refimpl.dhcp.message`), ``Message.show()`` and the
notebooks all read this one table, so adding an option is one line here.

Codes we do not know are kept as raw ``bytes`` and re-encoded unchanged.

For speed, the end of this module compiles the table, once at import, into
per-code fast codecs (:data:`FAST_DECODERS`, :data:`OPTION_ENCODERS`: mostly
C functions such as inet_ntoa and struct.Struct packers). The :data:`KINDS`
codecs stay the reference: they explain every error and handle rare inputs.

Decoders raise ``ValueError`` with a short reason ("expected 4 bytes, got 3");
the message codec turns that into a :class:`~refimpl.dhcp.message.MessageError`
that names the option and its byte offset.

Standard library only.
"""

from __future__ import annotations

import struct
from _socket import inet_ntoa  # C helper: 4 bytes -> "a.b.c.d" (the socket module itself is slow to import)
from collections.abc import Callable, Iterable, Iterator
from enum import IntEnum
from functools import partial
from operator import methodcaller
from typing import Any, NamedTuple

from refimpl.dhcp.ipv4 import ip_to_bytes

PAD = 0  # RFC 2132 §3.1: one byte of padding, may appear anywhere
END = 255  # RFC 2132 §3.2: end of the options


class MessageType(IntEnum):
    """Option 53, the DHCP message type (RFC 2132 §9.6)."""

    DISCOVER = 1
    OFFER = 2
    REQUEST = 3
    DECLINE = 4
    ACK = 5
    NAK = 6
    RELEASE = 7
    INFORM = 8


# ---------------------------------------------------------------------------
# Codecs: one decode/encode pair per kind of value
# ---------------------------------------------------------------------------


def _as_ip_bytes(value: Any) -> bytes:
    return ip_to_bytes(value if isinstance(value, str) else str(value))  # str(): ipaddress objects


def as_bytes(value: Any) -> bytes:
    """bytes-like -> bytes, str -> UTF-8; anything else (an int!) is an error, not ``bytes(n)`` zeros."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise ValueError(f"expected bytes or str, got {type(value).__name__}")


def _wrong_size(data: bytes, size: int) -> ValueError:
    return ValueError(f"expected {size} bytes, got {len(data)}")


# The codecs below are on the hot path of every message, so they are written
# plainly and without helper calls: check the length, convert, return.


# -- one IPv4 address (RFC 2132 §3.3 subnet mask, §9.1 requested address, ...)
def _dec_ip(data: bytes) -> str:
    if len(data) != 4:
        raise _wrong_size(data, 4)
    return inet_ntoa(data)


def _enc_ip(value: Any) -> bytes:
    return ip_to_bytes(value if isinstance(value, str) else str(value))


# -- a list of IPv4 addresses, at least one (RFC 2132 §3.5 routers, §3.8 DNS, ...)
def _dec_ips(data: bytes) -> list[str]:
    size = len(data)
    if size == 4:
        return [inet_ntoa(data)]
    if not size or size % 4:
        raise ValueError(f"expected a multiple of 4 bytes (at least 4), got {size}")
    return [inet_ntoa(data[i : i + 4]) for i in range(0, size, 4)]


def _enc_ips(value: Any) -> bytes:
    if isinstance(value, str):  # a single address is a list of one
        return ip_to_bytes(value)
    if not value:
        raise ValueError("needs at least one address")
    return b"".join([_as_ip_bytes(v) for v in value])


# -- unsigned integers in network byte order
def _int_codec(size: int) -> tuple[Callable, Callable]:
    def decode(data: bytes) -> int:
        if len(data) != size:
            raise _wrong_size(data, size)
        return int.from_bytes(data, "big")

    def encode(value: Any) -> bytes:
        try:
            return value.to_bytes(size, "big")  # int.to_bytes refuses negative or too big
        except (AttributeError, OverflowError):
            raise ValueError(f"expected an integer 0..{(1 << 8 * size) - 1}, got {value!r}") from None

    return decode, encode


_dec_u8, _enc_u8 = _int_codec(1)
_dec_u16, _enc_u16 = _int_codec(2)
_dec_u32, _enc_u32 = _int_codec(4)


# -- option 2 time offset (RFC 2132 §3.4): a *signed* 32-bit number of seconds
def _dec_s32(data: bytes) -> int:
    if len(data) != 4:
        raise _wrong_size(data, 4)
    return int.from_bytes(data, "big", signed=True)


def _enc_s32(value: Any) -> bytes:
    try:
        return value.to_bytes(4, "big", signed=True)
    except (AttributeError, OverflowError):
        raise ValueError(f"expected an integer -2**31..2**31-1, got {value!r}") from None


_MESSAGE_TYPES = {t.value: t for t in MessageType}


# -- option 53 message type (RFC 2132 §9.6); an unknown number stays an int
def _dec_msgtype(data: bytes) -> MessageType | int:
    if len(data) != 1:
        raise _wrong_size(data, 1)
    return _MESSAGE_TYPES.get(data[0], data[0])


def _enc_msgtype(value: Any) -> bytes:
    if isinstance(value, str):
        name = value.upper().removeprefix("DHCP")
        if name not in MessageType.__members__:
            raise ValueError(f"unknown message type {value!r}")
        value = MessageType[name]
    return _enc_u8(value)


# -- option 52 overload (RFC 2132 §9.3): 1 = file, 2 = sname, 3 = both
def _dec_overload(data: bytes) -> int:
    value = _dec_u8(data)
    if value not in (1, 2, 3):
        raise ValueError(f"overload must be 1, 2 or 3, got {value}")
    return value


def _enc_overload(value: Any) -> bytes:
    data = _enc_u8(value)
    _dec_overload(data)
    return data


# -- option 55 parameter request list (RFC 2132 §9.8): a list of option codes
def _dec_codes(data: bytes) -> list[int]:
    if not data:
        raise ValueError("expected at least 1 byte")
    return list(data)


def _enc_codes(value: Any) -> bytes:
    codes = [v if isinstance(v, int) else option_spec(v).code for v in value]
    if not codes:
        raise ValueError("needs at least one code")
    return bytes(codes)


# -- text (RFC 2132 §3.14 host name, ...): NVT ASCII in the RFC; we accept UTF-8
# and keep undecodable bytes as surrogate escapes, so any bytes round-trip exactly.
def _dec_str(data: bytes) -> str:
    if not data:
        raise ValueError("expected at least 1 byte")  # RFC 2132: minimum length 1
    return data.decode("utf-8", "surrogateescape")


def _enc_str(value: Any) -> bytes:
    data = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogateescape")
    if not data:
        raise ValueError("must not be empty")
    return data


# -- opaque bytes (RFC 2132 §8.4 vendor specific, §9.13 vendor class id)
def _bytes_codec(min_len: int) -> tuple[Callable, Callable]:
    def decode(data: bytes) -> bytes:
        if len(data) < min_len:
            raise ValueError(f"expected at least {min_len} bytes, got {len(data)}")
        return bytes(data)

    def encode(value: Any) -> bytes:
        return decode(as_bytes(value))

    return decode, encode


_dec_bytes, _enc_bytes = _bytes_codec(1)
_dec_client_id, _enc_client_id = _bytes_codec(2)  # RFC 2132 §9.14: type byte + at least 1


# -- one walk for every code/length/value layout ------------------------------
class BlockError(ValueError):
    """A key/length/value block that does not fit in its area.

    ``length`` is None when the area ends before the length byte; otherwise the
    value of ``length`` bytes runs past ``end``.
    """

    def __init__(self, what: str, offset: int, key: int, length: int | None, end: int, key_size: int = 1):
        self.offset, self.key, self.length, self.end = offset, key, length, end
        if length is None:
            text = f"{what} at byte {offset} is shorter than {key_size + 1} bytes (no length byte)"
        else:
            text = f"{what} {key} at byte {offset} runs past the end"
        super().__init__(text)


def walk_blocks(
    data: bytes,
    start: int = 0,
    end: int | None = None,
    *,
    key_size: int = 1,
    pad_end: bool = False,
    what: str = "sub-option",
) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(offset, key, value)`` for each key, length (1 byte), value block of ``data[start:end]``.

    DHCP uses this one layout at three levels, and this is the one walk over it:

    * the options of a message (RFC 2132 §2: code and length 1 byte each). With
      ``pad_end``, PAD (RFC 2132 §3.1) is yielded as ``(offset, 0, b"")`` and END
      (§3.2) as ``(offset, 255, b"")``, which ends the walk;
    * the sub-options of options 82 and 125 (RFC 3046 §2.0, RFC 3925 §4);
    * the vendor blocks of option 125, keyed by a 4-byte enterprise number
      (``key_size=4``, RFC 3925 §4).

    Raises :class:`BlockError` for a block that does not fit. (Decoding a whole
    message takes a faster path first, :func:`refimpl.dhcp.message._options_in_one_pass`,
    and comes here only for what that path does not handle.)
    """
    end = len(data) if end is None else end
    i = start
    while i < end:
        key = int.from_bytes(data[i : min(i + key_size, end)], "big")
        if pad_end and key in (PAD, END):
            yield i, key, b""
            if key == END:
                return
            i += 1
            continue
        if i + key_size >= end:
            raise BlockError(what, i, key, None, end, key_size)
        stop = i + key_size + 1 + data[i + key_size]
        if stop > end:
            raise BlockError(what, i, key, data[i + key_size], end, key_size)
        yield i, key, bytes(data[i + key_size + 1 : stop])
        i = stop


def _unique_blocks(data: bytes, *, key_size: int = 1, what: str = "sub-option") -> dict[int, bytes]:
    """Every block of ``data`` as {key: value}; a key that repeats is an error."""
    result: dict[int, bytes] = {}
    for _, key, value in walk_blocks(data, key_size=key_size, what=what):
        if key in result:
            raise ValueError(f"{what} {key} appears twice")
        result[key] = value
    return result


def join_blocks(blocks: Iterable[tuple[int, bytes]], *, key_size: int = 1, what: str = "sub-option") -> bytes:
    """The reverse of :func:`walk_blocks`: key, length, value for each ``(key, value)``."""
    out = bytearray()
    for key, value in blocks:
        if len(value) > 255:
            raise ValueError(f"{what} {key} is longer than 255 bytes")
        try:
            out += key.to_bytes(key_size, "big")
        except (AttributeError, OverflowError):
            raise ValueError(f"{what} key must be an integer 0..{(1 << 8 * key_size) - 1}, got {key!r}") from None
        out += bytes((len(value),)) + value
    return bytes(out)


# -- sub-options: the same code/length/value layout inside one option's value
def parse_suboptions(data: bytes) -> dict[int, bytes]:
    """RFC 3046 §2.0 (option 82) and RFC 3925 §4 (option 125): code, length, value."""
    return _unique_blocks(data)


def build_suboptions(value: dict) -> bytes:
    return join_blocks((code, as_bytes(data)) for code, data in value.items())


# -- option 82 relay agent information (RFC 3046): {1: circuit id, 2: remote id, ...}
def _dec_relay(data: bytes) -> dict[int, bytes]:
    if not data:
        raise ValueError("expected at least 1 sub-option")
    return parse_suboptions(data)


def _enc_relay(value: Any) -> bytes:
    data = build_suboptions(value)
    _dec_relay(data)  # same rules both ways
    return data


# -- option 121 classless static routes (RFC 3442): [("10.0.0.0/8", "192.0.2.1"), ...]
# Each route is: width (0-32), then only the ceil(width/8) significant octets of
# the destination, then the 4-byte router. "0.0.0.0/0" is the default route.
def _dec_routes(data: bytes) -> list[tuple[str, str]]:
    if not data:
        raise ValueError("expected at least 5 bytes")
    routes = []
    i = 0
    while i < len(data):
        width = data[i]
        if width > 32:
            raise ValueError(f"route at byte {i}: prefix length {width} > 32")
        significant = (width + 7) // 8
        end = i + 1 + significant + 4
        if end > len(data):
            raise ValueError(f"route at byte {i} runs past the end")
        dest = bytes(data[i + 1 : i + 1 + significant]).ljust(4, b"\0")
        routes.append((f"{inet_ntoa(dest)}/{width}", inet_ntoa(data[end - 4 : end])))
        i = end
    return routes


def _enc_routes(value: Any) -> bytes:
    out = bytearray()
    for cidr, router in value:
        address, sep, width_text = str(cidr).partition("/")
        if not sep or not width_text.isdigit() or int(width_text) > 32:
            raise ValueError(f"route destination must be 'a.b.c.d/width', got {cidr!r}")
        width = int(width_text)
        out.append(width)
        out += ip_to_bytes(address)[: (width + 7) // 8]
        out += _as_ip_bytes(router)
    if not out:
        raise ValueError("needs at least one route")
    return bytes(out)


# -- option 33 static routes (RFC 2132 §5.8): [("destination", "router"), ...]
# Pairs of addresses, 8 bytes a pair; the destination's mask is its class's
# (no prefix length on the wire), which is why RFC 3442 replaced it with 121.
def _dec_ip_pairs(data: bytes) -> list[tuple[str, str]]:
    if not data or len(data) % 8:
        raise ValueError(f"expected a multiple of 8 bytes (at least 8), got {len(data)}")
    return [(inet_ntoa(data[i : i + 4]), inet_ntoa(data[i + 4 : i + 8])) for i in range(0, len(data), 8)]


def _enc_ip_pairs(value: Any) -> bytes:
    if not value:
        raise ValueError("needs at least one (destination, router) pair")
    return b"".join(_as_ip_bytes(dest) + _as_ip_bytes(router) for dest, router in value)


# -- option 125 vendor-identifying vendor-specific information (RFC 3925 §4):
# {enterprise number: {sub-option code: bytes}}; each block is
# enterprise (4 bytes), data length (1 byte), then sub-options.
def _dec_vivso(data: bytes) -> dict[int, dict[int, bytes]]:
    if not data:
        raise ValueError("expected at least 5 bytes")
    blocks = _unique_blocks(data, key_size=4, what="vendor block")
    return {enterprise: parse_suboptions(block) for enterprise, block in blocks.items()}


def _enc_vivso(value: Any) -> bytes:
    blocks = ((enterprise, build_suboptions(subs)) for enterprise, subs in value.items())
    out = join_blocks(blocks, key_size=4, what="vendor block")
    if not out:
        raise ValueError("needs at least one enterprise")
    return bytes(out)


def _dec_raw(data: bytes) -> bytes:
    return bytes(data)


def _enc_raw(value: Any) -> bytes:
    return as_bytes(value)


# -- option 81 client FQDN (RFC 4702 §2): flags, RCODE1, RCODE2, domain name
class ClientFqdn(NamedTuple):
    """The value of option 81 (RFC 4702 §2)::

        Code   Len    Flags  RCODE1 RCODE2   Domain Name
       +------+------+------+------+------+------+--
       |  81  |   n  |      |      |      |       ...
       +------+------+------+------+------+------+--

    ``flags`` is the whole flags octet (RFC 4702 §2.1: ``| MBZ |N|E|O|S|``,
    bit 7 = S, the least significant), kept as sent so any octet round-trips.
    ``name`` is text: with E=1 (§2.1: "1 indicates canonical wire format,
    without compression. 0 indicates a now-deprecated ASCII encoding.") each
    label is written as in a zone file (``\\DDD`` for bytes outside printable
    ASCII) and a *fully qualified* name ends with ``"."``
    (its wire form ends with the zero-length root label); without the final dot
    it is a partial name. With E=0 it is the deprecated ASCII form (§2.3.1),
    decoded like option 12. RCODE1 and RCODE2 are deprecated (§2.2): "A client
    SHOULD set these to 0 when sending the option and SHOULD ignore them on
    receipt. A server SHOULD set these to 255 when sending the option and MUST
    ignore them on receipt."
    """

    flags: int = 0x04  # E set: the wire format, as RFC 4702 §2.1 asks of new clients
    name: str = ""
    rcode1: int = 0
    rcode2: int = 0

    S = 0x01  # the server SHOULD (client) / did (server) do the A RR update (§2.1)
    O = 0x02  # noqa: E741 - the RFC's name: the server overrode the client's S (server replies only)
    E = 0x04  # the name is in wire format (1) or ASCII (0)
    N = 0x08  # the server SHOULD NOT do any DNS update (client) / did none (server)

    @property
    def s(self) -> bool:
        return bool(self.flags & self.S)

    @property
    def o(self) -> bool:
        return bool(self.flags & self.O)

    @property
    def e(self) -> bool:
        return bool(self.flags & self.E)

    @property
    def n(self) -> bool:
        return bool(self.flags & self.N)

    @property
    def fully_qualified(self) -> bool:
        """A name that ends with an unescaped dot (RFC 4702 §2.3: "including the terminating zero-length label")."""
        return _split_final_dot(self.name)[1]

    def __str__(self) -> str:
        flags = " ".join(letter for letter in "NEOS" if self.flags & getattr(self, letter)) or "none"
        return f"flags {flags}, name {self.name!r}"


def _split_final_dot(text: str) -> tuple[str, bool]:
    """``"a.b."`` -> ``("a.b", True)``; a dot escaped by an odd run of backslashes is part of the label."""
    if not text.endswith("."):
        return text, False
    run = len(text) - 1 - len(text[:-1].rstrip("\\"))
    if run % 2:
        return text, False
    return text[:-1], True


def _dec_fqdn(data: bytes) -> ClientFqdn:
    if len(data) < 3:
        raise ValueError(f"expected at least 3 bytes (flags, RCODE1, RCODE2), got {len(data)}")
    flags, rcode1, rcode2 = data[0], data[1], data[2]
    raw = data[3:]
    if not flags & ClientFqdn.E:  # RFC 4702 §2.3.1: the deprecated ASCII encoding
        return ClientFqdn(flags, raw.decode("utf-8", "surrogateescape"), rcode1, rcode2)
    from refimpl.dns.names import MAX_NAME, label_text  # lazy: only messages that carry option 81 pay for it

    labels, i, fully = [], 0, False
    while i < len(raw):
        length = raw[i]
        if length == 0:  # the root label ends a fully qualified name (§2.3)
            if i + 1 != len(raw):
                raise ValueError(f"{len(raw) - i - 1} bytes after the root label")
            fully = True
            break
        if length > 63:  # also every compression pointer (0xC0..): RFC 4702 §2.3 forbids compression
            raise ValueError(f"label length {length} at byte {3 + i}: over 63, or a compression pointer")
        if i + 1 + length > len(raw):
            raise ValueError(f"label at byte {3 + i} runs past the end")
        labels.append(label_text(raw[i + 1 : i + 1 + length]))
        i += 1 + length
    if sum(len(label) + 1 for label in _wire_labels(labels)) + 1 > MAX_NAME:
        raise ValueError(f"name over {MAX_NAME} octets (RFC 1035 §2.3.4)")
    return ClientFqdn(flags, ".".join(labels) + ("." if fully else ""), rcode1, rcode2)


def _wire_labels(texts: list[str]) -> list[bytes]:
    from refimpl.dns.names import labels_of

    return labels_of(".".join(texts)) if texts else []


def fqdn_wire(name: str) -> bytes:
    """A name as option 81 carries it with E=1: labels, and the root label when fully qualified."""
    from refimpl.dns.names import labels_of

    text, fully = _split_final_dot(name)
    labels = labels_of(text, "client FQDN") if text else []  # MessageError (a ValueError) past 63 or 255
    return b"".join(bytes((len(label),)) + label for label in labels) + (b"\0" if fully else b"")


def _enc_fqdn(value: Any) -> bytes:
    if isinstance(value, str):
        value = ClientFqdn(name=value)
    if not isinstance(value, ClientFqdn):
        raise ValueError(f"expected a ClientFqdn or a name, got {type(value).__name__}")
    head = bytes((value.flags, value.rcode1, value.rcode2))  # ValueError if any is not 0..255
    if value.e:
        return head + fqdn_wire(value.name)
    return head + value.name.encode("utf-8", "surrogateescape")


class Kind(NamedTuple):
    """How one kind of option value goes from bytes to Python and back."""

    decode: Callable[[bytes], Any]
    encode: Callable[[Any], bytes]
    python: str  # the Python type a student sees, for show() and the docs


KINDS: dict[str, Kind] = {
    "ip": Kind(_dec_ip, _enc_ip, '"a.b.c.d"'),
    "ips": Kind(_dec_ips, _enc_ips, '["a.b.c.d", ...]'),
    "u8": Kind(_dec_u8, _enc_u8, "int (1 byte)"),
    "u16": Kind(_dec_u16, _enc_u16, "int (2 bytes)"),
    "u32": Kind(_dec_u32, _enc_u32, "int (4 bytes)"),
    "s32": Kind(_dec_s32, _enc_s32, "int (4 bytes, signed)"),
    "msgtype": Kind(_dec_msgtype, _enc_msgtype, "MessageType"),
    "overload": Kind(_dec_overload, _enc_overload, "int 1/2/3"),
    "codes": Kind(_dec_codes, _enc_codes, "[option code, ...]"),
    "str": Kind(_dec_str, _enc_str, "str"),
    "bytes": Kind(_dec_bytes, _enc_bytes, "bytes"),
    "client_id": Kind(_dec_client_id, _enc_client_id, "bytes (type byte + id)"),
    "relay": Kind(_dec_relay, _enc_relay, "{sub-option code: bytes}"),
    "routes": Kind(_dec_routes, _enc_routes, '[("a.b.c.d/width", "router"), ...]'),
    "ip_pairs": Kind(_dec_ip_pairs, _enc_ip_pairs, '[("destination", "router"), ...]'),
    "vivso": Kind(_dec_vivso, _enc_vivso, "{enterprise: {sub-option code: bytes}}"),
    "fqdn": Kind(_dec_fqdn, _enc_fqdn, "ClientFqdn(flags, name, rcode1, rcode2)"),
    "raw": Kind(_dec_raw, _enc_raw, "bytes (unknown option)"),
}


# ---------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------


class OptionSpec(NamedTuple):
    """One row of the registry."""

    code: int
    name: str
    kind: str  # a key of KINDS
    meaning: str
    rfc: str

    @property
    def decode(self) -> Callable[[bytes], Any]:
        return KINDS[self.kind].decode

    @property
    def encode(self) -> Callable[[Any], bytes]:
        return KINDS[self.kind].encode


_REGISTRY = (
    OptionSpec(1, "subnet_mask", "ip", "subnet mask of the client's network", "RFC 2132 §3.3"),
    OptionSpec(2, "time_offset", "s32", "offset of the client's subnet from UTC, seconds", "RFC 2132 §3.4"),
    OptionSpec(3, "router", "ips", "default routers (gateways), in order of preference", "RFC 2132 §3.5"),
    OptionSpec(6, "dns_servers", "ips", "DNS name servers", "RFC 2132 §3.8"),
    OptionSpec(12, "hostname", "str", "the client's host name", "RFC 2132 §3.14"),
    OptionSpec(15, "domain_name", "str", "DNS domain the client should use", "RFC 2132 §3.17"),
    OptionSpec(26, "interface_mtu", "u16", "MTU to use on this interface", "RFC 2132 §5.1"),
    OptionSpec(28, "broadcast_address", "ip", "broadcast address of the client's subnet", "RFC 2132 §5.3"),
    OptionSpec(33, "static_routes", "ip_pairs", "classful routes: (destination, router) pairs", "RFC 2132 §5.8"),
    OptionSpec(42, "ntp_servers", "ips", "NTP time servers", "RFC 2132 §8.3"),
    OptionSpec(
        43, "vendor_specific", "bytes", "vendor-specific information (meaning set by option 60)", "RFC 2132 §8.4"
    ),
    OptionSpec(44, "netbios_name_servers", "ips", "NetBIOS over TCP/IP name servers (WINS)", "RFC 2132 §8.5"),
    OptionSpec(50, "requested_ip", "ip", "the address the client asks for", "RFC 2132 §9.1"),
    OptionSpec(51, "lease_time", "u32", "lease time in seconds (0xffffffff = infinite)", "RFC 2132 §9.2"),
    OptionSpec(52, "overload", "overload", "options continue in file (1), sname (2) or both (3)", "RFC 2132 §9.3"),
    OptionSpec(53, "message_type", "msgtype", "DHCP message type (DISCOVER, OFFER, ...)", "RFC 2132 §9.6"),
    OptionSpec(54, "server_id", "ip", "address of the DHCP server that sent / is chosen", "RFC 2132 §9.7"),
    OptionSpec(55, "param_request_list", "codes", "option codes the client wants back", "RFC 2132 §9.8"),
    OptionSpec(56, "message", "str", "error text (in a NAK) or reason (DECLINE)", "RFC 2132 §9.9"),
    OptionSpec(57, "max_message_size", "u16", "largest DHCP message the client accepts (>= 576)", "RFC 2132 §9.10"),
    OptionSpec(58, "renewal_time", "u32", "T1: seconds until the client starts RENEWING", "RFC 2132 §9.11"),
    OptionSpec(59, "rebinding_time", "u32", "T2: seconds until the client starts REBINDING", "RFC 2132 §9.12"),
    OptionSpec(60, "vendor_class_id", "bytes", "kind of client, e.g. b'MSFT 5.0'", "RFC 2132 §9.13"),
    OptionSpec(61, "client_id", "client_id", "client identifier: type byte (1 = Ethernet) + id", "RFC 2132 §9.14"),
    OptionSpec(66, "tftp_server_name", "str", "TFTP server for network boot", "RFC 2132 §9.4"),
    OptionSpec(67, "bootfile_name", "str", "boot file name for network boot", "RFC 2132 §9.5"),
    OptionSpec(81, "client_fqdn", "fqdn", "the client's FQDN and who updates DNS (flags S, O, E, N)", "RFC 4702 §2"),
    OptionSpec(82, "relay_agent_info", "relay", "added by a relay: {1: circuit id, 2: remote id}", "RFC 3046"),
    OptionSpec(
        93, "client_arch", "bytes", "client system architecture(s), 2 bytes each (0 = x86 BIOS)", "RFC 4578 §2.1"
    ),
    OptionSpec(94, "client_ndi", "bytes", "client network interface: type 1 (UNDI), major, minor", "RFC 4578 §2.2"),
    OptionSpec(97, "client_machine_id", "bytes", "client machine id: type 0 + 16-byte UUID/GUID", "RFC 4578 §2.3"),
    OptionSpec(121, "classless_static_routes", "routes", "static routes with prefix lengths", "RFC 3442"),
    OptionSpec(124, "vivco", "bytes", "vendor-identifying vendor class: enterprise (4 bytes), data", "RFC 3925 §3"),
    OptionSpec(125, "vivso", "vivso", "vendor-identifying vendor-specific information", "RFC 3925 §4"),
)

#: code -> OptionSpec, for every option we know
OPTIONS: dict[int, OptionSpec] = {spec.code: spec for spec in _REGISTRY}

_BY_NAME: dict[str, OptionSpec] = {spec.name: spec for spec in _REGISTRY}

#: A few other spellings students meet (scapy's names, RFC titles).
ALIASES: dict[str, str] = {
    "lease": "lease_time",
    "requested_addr": "requested_ip",
    "requested_address": "requested_ip",
    "server_identifier": "server_id",
    "name_server": "dns_servers",
    "domain_name_server": "dns_servers",
    "dns": "dns_servers",
    "domain": "domain_name",
    "param_req_list": "param_request_list",
    "parameter_request_list": "param_request_list",
    "client_identifier": "client_id",
    "vendor_class": "vendor_class_id",
    "relay_agent_information": "relay_agent_info",
    "fqdn": "client_fqdn",
    "routers": "router",
    "t1": "renewal_time",
    "t2": "rebinding_time",
}


def option_spec(name_or_code: str | int) -> OptionSpec:
    """Find an option by code (``51``) or name (``"lease_time"``, ``"lease-time"``).

    An unknown *code* gets a generic "raw bytes" spec, so every code 1-254 has
    one; an unknown *name* raises ``KeyError``.
    """
    if isinstance(name_or_code, int):
        if name_or_code in OPTIONS:
            return OPTIONS[name_or_code]
        if not 1 <= name_or_code <= 254:
            raise KeyError(f"option code must be 1-254, got {name_or_code}")
        return OptionSpec(name_or_code, f"option_{name_or_code}", "raw", "unknown option", "")
    key = name_or_code.lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key in _BY_NAME:
        return _BY_NAME[key]
    if key.startswith("option_") and key[7:].isdigit():
        return option_spec(int(key[7:]))
    raise KeyError(f"unknown DHCP option {name_or_code!r}")


def decode_option(code: int, data: bytes) -> Any:
    """Bytes of one (joined) option value -> Python value; ValueError if malformed."""
    return DECODERS.get(code, _dec_raw)(data)


def encode_option(code: int, value: Any) -> bytes:
    """Python value -> bytes of the option value (any length; the message splits it)."""
    return ENCODERS.get(code, _enc_raw)(value)


def normalize(code: int, value: Any) -> Any:
    """The value as ``decode`` would give it back (validates it, too)."""
    return decode_option(code, encode_option(code, value))


def describe(code: int, value: Any) -> str:
    """Short text for show(): ``DISCOVER``, ``192.0.2.1, 192.0.2.2``, ``3600 s``."""
    spec = OPTIONS.get(code)
    kind = spec.kind if spec else "raw"
    if kind == "msgtype":
        return value.name if isinstance(value, MessageType) else str(value)
    if kind == "ips" and isinstance(value, list):
        return ", ".join(value)
    if kind == "overload" and value in (1, 2, 3):
        return f"{value} (options go on in {['file', 'sname', 'file, then sname'][value - 1]})"
    if kind == "codes":
        return ", ".join(f"{c} {OPTIONS[c].name}" if c in OPTIONS else str(c) for c in value)
    if kind == "u32" and code in (51, 58, 59):
        return "infinite" if value == 0xFFFFFFFF else f"{value} s"
    if kind == "fqdn" and isinstance(value, ClientFqdn):
        return str(value)
    if kind == "routes":
        return ", ".join(f"{dest} via {router}" for dest, router in value)
    if kind == "str" or not isinstance(value, (str, int)):
        return repr(value)
    return str(value)


#: code -> decode / encode function, looked up once per option on the fast path
DECODERS: dict[int, Callable[[bytes], Any]] = {c: KINDS[s.kind].decode for c, s in OPTIONS.items()}
ENCODERS: dict[int, Callable[[Any], bytes]] = {c: KINDS[s.kind].encode for c, s in OPTIONS.items()}


# ---------------------------------------------------------------------------
# The fast path: codecs compiled once from the registry
# ---------------------------------------------------------------------------
# The codecs above are the *reference*: they check everything and explain
# every error. For the hot path of Message.decode/encode each registry row is
# also compiled, once at import, into the cheapest callable that accepts
# exactly the same input and gives exactly the same result - where possible a
# C function, so no Python frame runs per option:
#
# * decode: "ip" -> inet_ntoa (itself rejects anything but 4 bytes), its
#   answers remembered in a bounded cache; "ips" -> one struct unpack into
#   4-byte pieces, then the same on each; one-byte kinds -> a lookup in a table
#   of all 256 one-byte values; the rest use the reference decoder.
# * encode: the result is the *whole* option - code, length and value - so the
#   message codec only joins them. Integers are one struct.Struct("!BBI").pack
#   of code, length and value (struct rejects negative or too big numbers);
#   a single address is a lookup in a bounded cache of whole options (text ->
#   code, 4, bytes); other kinds add the two-byte code/length prefix (a table
#   per code) to a value encoder for the usual Python types (a str,
#   a list) or, for the rest, to the reference encoder.
#
# A fast codec signals trouble by raising *any* exception (OSError, KeyError,
# struct.error, ...). The message codec then redoes the work with the reference
# codecs, which either succeed (say, a value longer than 255 bytes, which must
# be split) or raise a ValueError that names the problem. tests/test_dhcp_options.py
# checks that both paths agree.

_INT_FORMATS = {"u8": "B", "u16": "H", "u32": "I", "s32": "i", "msgtype": "B"}


def _one_byte_table(decode: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    """All 256 one-byte inputs decoded in advance; a dict lookup (C) on the hot path."""
    table = {}
    for n in range(256):
        try:
            table[bytes((n,))] = decode(bytes((n,)))
        except ValueError:
            pass  # not in the table: the lookup raises KeyError, as the reference raises ValueError
    return table.__getitem__


class _AddressText(dict):
    """4 bytes -> ``"a.b.c.d"``, remembered: a server meets the same few addresses in every message.

    A hit is one dictionary lookup in C, several times cheaper than
    ``inet_ntoa``; a miss calls ``inet_ntoa`` (which refuses anything but 4
    bytes) and keeps the text. Bounded: when full it starts again, so random
    addresses cannot make it grow. The texts are immutable strings, safe to share.
    """

    __slots__ = ()
    LIMIT = 4096

    def __missing__(self, key: bytes) -> str:
        text = inet_ntoa(key)
        if len(self) >= self.LIMIT:
            self.clear()
        self[key] = text
        return text


#: the cache of address texts (the header's ciaddr..giaddr and every address option)
ADDRESS_TEXT = _AddressText()
address_text: Callable[[bytes], str] = ADDRESS_TEXT.__getitem__

#: value length -> a struct that cuts it into 4-byte addresses (KeyError if not n * 4, n >= 1)
_ADDRESS_SPLITTERS = {4 * n: struct.Struct("4s" * n).unpack for n in range(1, 64)}


def _fast_ips(data: bytes) -> list[str]:
    return list(map(address_text, _ADDRESS_SPLITTERS[len(data)](data)))


def _compile_decoder(kind: str) -> Callable[[bytes], Any]:
    reference = KINDS[kind].decode
    if kind == "ip":
        return address_text  # C on a hit; OSError unless exactly 4 bytes
    if kind == "ips":
        return _fast_ips
    if kind in ("u8", "msgtype", "overload"):
        return _one_byte_table(reference)
    if kind == "raw":
        return bytes
    return reference


class _WholeAddressOption(dict):
    """Address text -> the whole option (code, 4, the 4 bytes) for one "ip" code, remembered.

    The encoding twin of :class:`_AddressText`: a hit is one dictionary lookup
    in C. Anything but a str (an ``ipaddress`` object, a number) raises
    TypeError, and the reference encoder decides. Bounded like the other.
    """

    __slots__ = ("prefix",)
    LIMIT = 4096

    def __init__(self, code: int):
        super().__init__()
        self.prefix = bytes((code, 4))

    def __missing__(self, text: str) -> bytes:
        if type(text) is not str:
            raise TypeError("not a str: the reference encoder decides")
        whole = self.prefix + ip_to_bytes(text)  # ValueError unless strict dotted decimal
        if len(self) >= self.LIMIT:
            self.clear()
        self[text] = whole
        return whole


def _compile_encoder(code: int, kind: str) -> Callable[[Any], bytes]:
    """value -> code + length + value bytes (raises if the value needs the careful path)."""
    if kind in _INT_FORMATS:
        packer = struct.Struct("!BB" + _INT_FORMATS[kind])
        return partial(packer.pack, code, packer.size - 2)  # C; struct.error if it does not fit
    if kind == "ip":
        return _WholeAddressOption(code).__getitem__  # C on a hit
    value_encoder = _FAST_VALUE_ENCODERS.get(kind, KINDS[kind].encode)
    prefixes = tuple(bytes((code, n)) for n in range(256))  # code and length, for every length up to 255

    def encode(value: Any) -> bytes:
        raw = value_encoder(value)
        if not raw:  # every variable-size option needs at least 1 byte (RFC 2132 §3.14, §9.8, ...)
            raise ValueError("must not be empty")
        return prefixes[len(raw)] + raw  # IndexError if over 255 bytes: the careful path splits it

    return encode


def _fast_codes(value: Any) -> bytes:
    if type(value) is not list:
        raise TypeError("not a list: the reference encoder decides")
    return bytes(value)  # ValueError over 255, TypeError for option names (the reference looks them up)


def _fast_addresses(value: Any) -> bytes:
    return b"".join(map(ip_to_bytes, value)) if type(value) is list else ip_to_bytes(value)


#: the common value types, without the conversions the reference encoders also offer
_FAST_VALUE_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "ips": _fast_addresses,  # a list of texts, or one text (a list of one)
    "str": methodcaller("encode", "utf-8", "surrogateescape"),  # C; bytes or numbers: AttributeError
    "codes": _fast_codes,
}


#: code -> fast decoder / whole-option encoder, for every registered code
FAST_DECODERS: dict[int, Callable[[bytes], Any]] = {c: _compile_decoder(s.kind) for c, s in OPTIONS.items()}
#: the same for every code 0-255, as a tuple indexed by code: unknown codes stay ``bytes``; None for PAD and END
DECODER_BY_CODE: tuple[Callable[[bytes], Any] | None, ...] = tuple(
    None if c in (PAD, END) else FAST_DECODERS.get(c, bytes) for c in range(256)
)
OPTION_ENCODERS: dict[int, Callable[[Any], bytes]] = {c: _compile_encoder(c, s.kind) for c, s in OPTIONS.items()}
