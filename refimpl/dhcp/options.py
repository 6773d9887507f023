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

from _socket import inet_ntoa  # C helper: 4 bytes -> "a.b.c.d" (the socket module itself is slow to import)
import struct
from enum import IntEnum
from functools import lru_cache, partial
from typing import Any, Callable, NamedTuple

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


@lru_cache(maxsize=4096)
def ip_to_bytes(text: str) -> bytes:
    """``"192.0.2.1"`` -> ``b"\\xc0\\x00\\x02\\x01"`` (strict: four decimal numbers 0-255).

    Cached: a server encodes the same few addresses over and over.
    """
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and p.isascii() and len(p) <= 3 for p in parts):
        raise ValueError(f"not an IPv4 address: {text!r}")
    return bytes(int(p) for p in parts)  # bytes() rejects numbers over 255


def ip_from_bytes(data: bytes) -> str:
    """4 bytes -> ``"a.b.c.d"``."""
    return inet_ntoa(data)


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


# -- sub-options: the same code/length/value layout inside one option's value
def parse_suboptions(data: bytes) -> dict[int, bytes]:
    """RFC 3046 §2.0 (option 82) and RFC 3925 §4 (option 125): code, length, value."""
    result: dict[int, bytes] = {}
    i = 0
    while i < len(data):
        if i + 2 > len(data):
            raise ValueError(f"sub-option at byte {i} has no length byte")
        code, size = data[i], data[i + 1]
        if i + 2 + size > len(data):
            raise ValueError(f"sub-option {code} at byte {i} runs past the end")
        if code in result:
            raise ValueError(f"sub-option {code} appears twice")
        result[code] = bytes(data[i + 2 : i + 2 + size])
        i += 2 + size
    return result


def build_suboptions(value: dict) -> bytes:
    out = bytearray()
    for code, data in value.items():
        data = as_bytes(data)
        if len(data) > 255:
            raise ValueError(f"sub-option {code} is longer than 255 bytes")
        out += bytes((code, len(data))) + data  # bytes() rejects a code over 255
    return bytes(out)


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


# -- option 125 vendor-identifying vendor-specific information (RFC 3925 §4):
# {enterprise number: {sub-option code: bytes}}; each block is
# enterprise (4 bytes), data length (1 byte), then sub-options.
def _dec_vivso(data: bytes) -> dict[int, dict[int, bytes]]:
    if not data:
        raise ValueError("expected at least 5 bytes")
    result: dict[int, dict[int, bytes]] = {}
    i = 0
    while i < len(data):
        if i + 5 > len(data):
            raise ValueError(f"vendor block at byte {i} is shorter than 5 bytes")
        enterprise = int.from_bytes(data[i : i + 4], "big")
        size = data[i + 4]
        if i + 5 + size > len(data):
            raise ValueError(f"vendor block {enterprise} at byte {i} runs past the end")
        if enterprise in result:
            raise ValueError(f"enterprise {enterprise} appears twice")
        result[enterprise] = parse_suboptions(data[i + 5 : i + 5 + size])
        i += 5 + size
    return result


def _enc_vivso(value: Any) -> bytes:
    out = bytearray()
    for enterprise, subs in value.items():
        block = build_suboptions(subs)
        if len(block) > 255:
            raise ValueError(f"vendor block {enterprise} is longer than 255 bytes")
        out += _enc_u32(enterprise) + bytes((len(block),)) + block
    if not out:
        raise ValueError("needs at least one enterprise")
    return bytes(out)


def _dec_raw(data: bytes) -> bytes:
    return bytes(data)


def _enc_raw(value: Any) -> bytes:
    return as_bytes(value)


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
    "vivso": Kind(_dec_vivso, _enc_vivso, "{enterprise: {sub-option code: bytes}}"),
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
    OptionSpec(42, "ntp_servers", "ips", "NTP time servers", "RFC 2132 §8.3"),
    OptionSpec(43, "vendor_specific", "bytes", "vendor-specific information (meaning set by option 60)", "RFC 2132 §8.4"),
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
    OptionSpec(82, "relay_agent_info", "relay", "added by a relay: {1: circuit id, 2: remote id}", "RFC 3046"),
    OptionSpec(121, "classless_static_routes", "routes", "static routes with prefix lengths", "RFC 3442"),
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
# * decode: "ip" -> inet_ntoa (itself rejects anything but 4 bytes); "ips" ->
#   one struct unpack into 4-byte pieces, then inet_ntoa on each; one-byte
#   kinds -> a lookup in a table of all 256 one-byte values; the rest use the
#   reference decoder.
# * encode: the result is the *whole* option - code, length and value - so the
#   message codec only joins them. Integers are one struct.Struct("!BBI").pack
#   of code, length and value (struct rejects negative or too big numbers);
#   addresses go through the cached ip_to_bytes; other kinds add the two-byte
#   code/length prefix to a value encoder for the usual Python types (a str,
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


#: value length -> a struct that cuts it into 4-byte addresses (KeyError if not n * 4, n >= 1)
_ADDRESS_SPLITTERS = {4 * n: struct.Struct("4s" * n).unpack for n in range(1, 64)}


def _fast_ips(data: bytes) -> list[str]:
    return list(map(inet_ntoa, _ADDRESS_SPLITTERS[len(data)](data)))


def _compile_decoder(kind: str) -> Callable[[bytes], Any]:
    reference = KINDS[kind].decode
    if kind == "ip":
        return inet_ntoa  # C; OSError unless exactly 4 bytes
    if kind == "ips":
        return _fast_ips
    if kind in ("u8", "msgtype", "overload"):
        return _one_byte_table(reference)
    if kind == "raw":
        return bytes
    return reference


def _compile_encoder(code: int, kind: str) -> Callable[[Any], bytes]:
    """value -> code + length + value bytes (raises if the value needs the careful path)."""
    if kind in _INT_FORMATS:
        packer = struct.Struct("!BB" + _INT_FORMATS[kind])
        return partial(packer.pack, code, packer.size - 2)  # C; struct.error if it does not fit
    if kind == "ip":
        prefix = bytes((code, 4))
        return lambda value: prefix + ip_to_bytes(value)  # cached; AttributeError if not a str
    value_encoder = _FAST_VALUE_ENCODERS.get(kind, KINDS[kind].encode)

    def encode(value: Any) -> bytes:
        raw = value_encoder(value)
        if not raw:  # every variable-size option needs at least 1 byte (RFC 2132 §3.14, §9.8, ...)
            raise ValueError("must not be empty")
        return bytes((code, len(raw))) + raw  # ValueError if over 255 bytes: the careful path splits it

    return encode


def _fast_codes(value: Any) -> bytes:
    if type(value) is not list:
        raise TypeError("not a list: the reference encoder decides")
    return bytes(value)  # ValueError over 255, TypeError for option names (the reference looks them up)


#: the common value types, without the conversions the reference encoders also offer
_FAST_VALUE_ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "ips": lambda value: ip_to_bytes(value) if isinstance(value, str) else b"".join(map(ip_to_bytes, value)),
    "str": lambda value: value.encode("utf-8", "surrogateescape"),  # bytes or numbers: AttributeError
    "codes": _fast_codes,
}


#: code -> fast decoder / whole-option encoder, for every registered code
FAST_DECODERS: dict[int, Callable[[bytes], Any]] = {c: _compile_decoder(s.kind) for c, s in OPTIONS.items()}
OPTION_ENCODERS: dict[int, Callable[[Any], bytes]] = {c: _compile_encoder(c, s.kind) for c, s in OPTIONS.items()}
