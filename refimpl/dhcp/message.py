"""A DHCP message: the BOOTP fixed header, the magic cookie, then options.

Theory of operation
-------------------
DHCP (RFC 2131) reuses the BOOTP message of RFC 951 unchanged and puts its
own information in the old "vendor extensions" area, now called *options*::

    offset  size  field
         0     1  op        1 = BOOTREQUEST (client -> server), 2 = BOOTREPLY
         1     1  htype     hardware type, 1 = Ethernet
         2     1  hlen      hardware address length, 6 for Ethernet
         3     1  hops      relay agents passed
         4     4  xid       transaction id
         8     2  secs      seconds since the client started
        10     2  flags     leftmost bit = BROADCAST
        12     4  ciaddr    client IP (only if it already has one)
        16     4  yiaddr    "your" IP, the address the server gives
        20     4  siaddr    next server (bootstrap, e.g. TFTP)
        24     4  giaddr    relay agent IP
        28    16  chaddr    client hardware address
        44    64  sname     server host name
       108   128  file      boot file name
       236     4  cookie    99.130.83.99: "options follow in DHCP format"
       240     -  options   code/length/value ... END

That table is :data:`HEADER_FIELDS`, declared **once**. Everything else reads
it: the encoder and decoder (one ``struct.Struct`` built from it at import),
``Message.show()``, ``Message.layout()`` and the field diagrams drawn in the
notebooks. Options come from the registry in :mod:`refimpl.dhcp.options`.

Rules this module follows (each cited where it is applied):

* encode pads the message to 300 bytes, the BOOTP minimum (RFC 1542 §2.1), with
  PAD bytes after END;
* decode accepts PAD anywhere between options and ignores everything after END;
* a missing END is **accepted** when the options end exactly at the end of the
  data (robustness principle, RFC 1122 §1.2.2: some clients omit it); an
  option whose length runs past the end of its area is an error;
* an option that appears several times is joined into one (RFC 3396 §7), and
  an option longer than 255 bytes is split when encoded (RFC 3396 §5);
* option overload (option 52): options continue in ``file`` and then
  ``sname`` (RFC 2131 §4.1, RFC 2132 §9.3, order from RFC 3396 §5).

Speed without giving up the table: at import, the table becomes one
``struct.Struct`` (all 236 header bytes + cookie in one C call) and one
``operator.attrgetter`` (all fields read in one C call). The option registry
is compiled, once, into per-code fast codecs (mostly C functions: inet_ntoa,
struct.Struct packers, lookup tables; see the end of options.py): decoding an
option is one dictionary lookup and one call, and encoding one returns the
whole code/length/value piece, so the message only joins them. When a fast
codec raises, the reference codecs redo the work and explain the error.
``python -m refimpl bench dhcp_codec`` compares this with scapy on the same bytes.

Sans-I/O and standard library only.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Any, NamedTuple

from .options import (
    DECODER_BY_CODE,
    DECODERS,
    END,
    OPTION_ENCODERS,
    OPTIONS,
    PAD,
    BlockError,
    MessageType,
    address_text,
    as_bytes,
    describe,
    encode_option,
    ip_to_bytes,
    normalize,
    option_spec,
    walk_blocks,
)

__all__ = [
    "COOKIE",
    "HEADER_FIELDS",
    "HeaderField",
    "Message",
    "MessageError",
    "MessageType",
    "Span",
    "hexdump",
    "layout_of",
]


class MessageError(ValueError):
    """Bad bytes or a bad value: says which field and at which byte offset.

    ``field`` is a header field name (``"hlen"``), ``"cookie"``, or an option
    (``"option 51 (lease_time)"``); ``offset`` is the byte offset in the
    message where that field starts (``None`` when there is no byte position,
    e.g. a bad value given to the encoder).
    """

    def __init__(self, field: str, offset: int | None, reason: str):
        self.field = field
        self.offset = offset
        self.reason = reason
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{field}{where}: {reason}")


class HeaderField(NamedTuple):
    """One row of the fixed BOOTP/DHCP header."""

    name: str
    offset: int
    size: int
    kind: str  # "u8", "u16", "u32", "ip" (dotted quad), "bytes" (fixed size)
    meaning: str
    rfc: str


# fmt: off
HEADER_FIELDS: tuple[HeaderField, ...] = (
    HeaderField("op",      0,   1, "u8",    "message op code: 1 = BOOTREQUEST (client to server), 2 = BOOTREPLY", "RFC 951 §3, RFC 2131 §2"),
    HeaderField("htype",   1,   1, "u8",    "hardware address type: 1 = Ethernet (ARP hardware types)", "RFC 2131 §2"),
    HeaderField("hlen",    2,   1, "u8",    "hardware address length: 6 for Ethernet", "RFC 2131 §2"),
    HeaderField("hops",    3,   1, "u8",    "relay agents passed; the client sends 0", "RFC 2131 §2, RFC 1542 §4.1"),
    HeaderField("xid",     4,   4, "u32",   "transaction id chosen by the client; replies carry the same one", "RFC 2131 §2"),
    HeaderField("secs",    8,   2, "u16",   "seconds since the client began acquiring or renewing an address", "RFC 2131 §2"),
    HeaderField("flags",   10,  2, "u16",   "leftmost bit BROADCAST: reply by broadcast; other bits must be 0", "RFC 2131 §2, figure 2"),
    HeaderField("ciaddr",  12,  4, "ip",    "client IP address, set by the client only when it already has one", "RFC 2131 §2, table 5"),
    HeaderField("yiaddr",  16,  4, "ip",    "'your' IP address: the address the server gives the client", "RFC 2131 §2"),
    HeaderField("siaddr",  20,  4, "ip",    "next server to use in bootstrap (e.g. TFTP); set by the server", "RFC 2131 §2"),
    HeaderField("giaddr",  24,  4, "ip",    "relay agent IP address; 0 when no relay is involved", "RFC 2131 §2, RFC 1542"),
    HeaderField("chaddr",  28,  16, "bytes", "client hardware address (the first hlen bytes count)", "RFC 2131 §2"),
    HeaderField("sname",   44,  64, "bytes", "optional server host name, NUL terminated (or options: option 52)", "RFC 2131 §2"),
    HeaderField("file",    108, 128, "bytes", "boot file name, NUL terminated (or options: option 52)", "RFC 2131 §2"),
)
# fmt: on

#: RFC 2131 §3 / RFC 1497: the first 4 bytes of the options area say "DHCP options follow".
COOKIE = bytes((99, 130, 83, 99))
COOKIE_OFFSET = 236
OPTIONS_OFFSET = 240
BOOTP_MIN_SIZE = 300  # RFC 1542 §2.1: pad BOOTP messages to at least 300 bytes
OVERLOAD_OPTIONS_ROOM = 312 - len(COOKIE)  # RFC 2131 §2: clients accept an options field of 312 bytes
BROADCAST_FLAG = 0x8000  # RFC 2131 §2 figure 2: the leftmost bit of flags

# The table drives one precompiled struct: "!BBBBIHH4s4s4s4s16s64s128s4s".
_STRUCT_CODES = {"u8": "B", "u16": "H", "u32": "I", "ip": "4s", "bytes": "{size}s"}
_HEADER = struct.Struct("!" + "".join(_STRUCT_CODES[f.kind].format(size=f.size) for f in HEADER_FIELDS) + "4s")
assert _HEADER.size == OPTIONS_OFFSET, "HEADER_FIELDS offsets must add up to 236 + cookie"
assert all(a.offset + a.size == b.offset for a, b in zip(HEADER_FIELDS, HEADER_FIELDS[1:]))

_FIELD = {f.name: f for f in HEADER_FIELDS}
# Option code by its code or exact registry name, for the fast path of get()/set();
# names that are also header fields or properties are left out (those win in get()).
_OPTION_CODE: dict[Any, int] = {code: code for code in OPTIONS} | {
    spec.name: code
    for code, spec in OPTIONS.items()
    if spec.name not in _FIELD and spec.name not in ("broadcast", "mac", "message_type")
}
_NAMES = tuple(f.name for f in HEADER_FIELDS)
_get_header = attrgetter(*_NAMES)  # one C call reads every header field
_IP_INDEXES = tuple(i for i, f in enumerate(HEADER_FIELDS) if f.kind == "ip")
_IP_SLICE = slice(_IP_INDEXES[0], _IP_INDEXES[-1] + 1)  # the four addresses are neighbours
assert _IP_SLICE.stop - _IP_SLICE.start == len(_IP_INDEXES)
_ZERO_IP = "0.0.0.0"
_ZERO_IP_BYTES = bytes(4)
_CODE_LENGTH = struct.Struct("BB").pack  # the two bytes before each option value


def _zero(field: HeaderField) -> Any:
    return {"ip": _ZERO_IP, "bytes": bytes(field.size)}.get(field.kind, 0)


#: A new message: every field zero, except a request (op 1) from Ethernet (htype 1, hlen 6).
_DEFAULTS = {f.name: _zero(f) for f in HEADER_FIELDS} | {"op": 1, "htype": 1, "hlen": 6}


class Span(NamedTuple):
    """Where one named piece lies in the encoded bytes (for hexdump highlighting)."""

    name: str
    offset: int
    size: int


def _check_header_value(field: HeaderField, value: Any) -> Any:
    """Validate one header value and return it in its stored form (raises MessageError)."""
    kind = field.kind
    try:
        if kind == "ip":
            value = str(value)
            ip_to_bytes(value)
            return value
        if kind == "bytes":
            value = as_bytes(value)
            if len(value) > field.size:
                raise ValueError(f"{len(value)} bytes do not fit in {field.size}")
            return value.ljust(field.size, b"\0")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected an integer, got {value!r}")
        if not 0 <= value < 1 << (8 * field.size):
            raise ValueError(f"{value} does not fit in {field.size} byte(s)")
        return value
    except (TypeError, ValueError) as exc:
        raise MessageError(field.name, field.offset, str(exc)) from None


def _mac_to_bytes(mac: str | bytes) -> bytes:
    """``"02:00:00:00:00:01"``, ``"02-00-..."``, ``"0200.0000.0001"`` or bytes -> bytes."""
    try:
        if not isinstance(mac, str):
            return as_bytes(mac)
        text = mac.replace("-", ":").replace(".", "")
        parts = text.split(":") if ":" in text else [text[i : i + 2] for i in range(0, len(text), 2)]
        return bytes(int(p, 16) for p in parts)
    except ValueError:
        raise MessageError("chaddr", 28, f"not a MAC address: {mac!r}") from None


def _option_name(code: Any) -> str:
    spec = OPTIONS.get(code)
    return spec.name if spec else f"option_{code}"


def _option_label(code: int) -> str:
    spec = OPTIONS.get(code)
    return f"option {code} ({spec.name})" if spec else f"option {code}"


class Message:
    """One DHCP message. Header fields are attributes; options are ``self.options``.

    ``options`` is an ordered ``dict`` {code: value}; the order is kept on the
    wire. Build a message field by field (``Message().set("xid", 5)``), with a
    constructor (``Message.discover(mac=...)``, ``Message.offer(request, ...)``)
    or from bytes (``Message.decode(data)``).
    """

    def __init__(self, **fields: Any):
        """An empty BOOTREQUEST for Ethernet; keyword arguments set fields or options by name."""
        self.__dict__.update(_DEFAULTS, options={})
        for name, value in fields.items():
            if name == "options":  # Message(options={"router": [...], 51: 3600})
                for option, option_value in value.items():
                    self.set(option, option_value)
            else:
                self.set(name, value)

    # -- attribute access: header fields are checked when assigned --------
    def __setattr__(self, name: str, value: Any) -> None:
        field = _FIELD.get(name)
        if field is not None:
            self.__dict__[name] = _check_header_value(field, value)
        elif name == "options" or isinstance(getattr(type(self), name, None), property):
            object.__setattr__(self, name, value)
        else:  # a typo such as m.yaddr would otherwise be silently ignored
            raise AttributeError(f"Message has no field {name!r}")

    @property
    def broadcast(self) -> bool:
        """The BROADCAST flag: the client cannot receive unicast before it has an address."""
        return bool(self.flags & BROADCAST_FLAG)

    @broadcast.setter
    def broadcast(self, on: bool) -> None:
        self.flags = (self.flags | BROADCAST_FLAG) if on else (self.flags & ~BROADCAST_FLAG)

    @property
    def mac(self) -> str:
        """The client hardware address as ``"aa:bb:cc:dd:ee:ff"`` (first ``hlen`` bytes of chaddr)."""
        return self.chaddr[: min(self.hlen, 16)].hex(":")  # one C call: servers ask for it per message

    @mac.setter
    def mac(self, value: str | bytes) -> None:
        raw = _mac_to_bytes(value)
        self.chaddr = raw  # checks the 16-byte limit
        self.hlen = len(raw)

    @property
    def message_type(self) -> MessageType | None:
        """Option 53 (RFC 2132 §9.6); ``None`` for a plain BOOTP message."""
        value = self.options.get(53)
        return value if isinstance(value, MessageType) else None

    # -- by-name access for builders and notebooks --------------------------
    def get(self, name: str | int, default: Any = None) -> Any:
        """A header field (``"xid"``), ``"broadcast"``, ``"mac"``, or an option by name or code."""
        code = _OPTION_CODE.get(name)  # fast path for a known option code or exact name (servers ask a lot)
        if code is not None:
            return self.options.get(code, default)
        if isinstance(name, str) and (name in _FIELD or name in ("broadcast", "mac", "message_type")):
            return getattr(self, name)
        return self.options.get(option_spec(name).code, default)

    def set(self, name: str | int, value: Any) -> Message:
        """Set a header field or an option by name (``None`` removes an option). Returns self."""
        if isinstance(name, str) and (name in _FIELD or name in ("broadcast", "mac")):
            setattr(self, name, value)
            return self
        code = _OPTION_CODE.get(name)  # fast path, as in get()
        if code is None:
            code = option_spec(name).code
        if value is None:
            self.options.pop(code, None)
            return self
        try:
            self.options[code] = normalize(code, value)
        except (TypeError, ValueError, KeyError) as exc:
            raise MessageError(_option_label(code), None, str(exc)) from None
        return self

    def copy(self) -> Message:
        """A deep copy: changing the copy's option lists leaves this message alone."""
        import copy  # only when used: keeps `import refimpl.dhcp` fast

        return copy.deepcopy(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return _get_header(self) == _get_header(other) and list(self.options.items()) == list(other.options.items())

    def __repr__(self) -> str:
        kind = self.message_type
        kind_text = f"DHCP{kind.name}" if kind else ("BOOTREQUEST" if self.op == 1 else "BOOTREPLY")
        opts = ", ".join(f"{OPTIONS[c].name if c in OPTIONS else c}={v!r}" for c, v in self.options.items())
        return f"<Message {kind_text} xid=0x{self.xid:08x} mac={self.mac} yiaddr={self.yiaddr} {{{opts}}}>"

    # -- bytes -> Message ----------------------------------------------------
    @classmethod
    def decode(cls, data: bytes) -> Message:
        """Parse the bytes of a UDP payload; raise MessageError (with field and offset) if bad."""
        data = bytes(data)
        if len(data) < OPTIONS_OFFSET:
            for field in HEADER_FIELDS:
                if field.offset + field.size > len(data):
                    break
            else:
                field = HeaderField("cookie", COOKIE_OFFSET, 4, "bytes", "", "")
            raise MessageError(
                field.name,
                field.offset,
                f"message is only {len(data)} bytes; needs 240 (236-byte header + 4-byte cookie)",
            )
        values = list(_HEADER.unpack_from(data))
        if values[-1] != COOKIE:  # RFC 2131 §3: 99.130.83.99
            raise MessageError("cookie", COOKIE_OFFSET, f"expected 99.130.83.99, got {'.'.join(map(str, values[-1]))}")
        if values[0] not in (1, 2):  # RFC 951 §3: 1 = BOOTREQUEST, 2 = BOOTREPLY
            raise MessageError("op", 0, f"must be 1 (BOOTREQUEST) or 2 (BOOTREPLY), got {values[0]}")
        if values[2] > 16:  # chaddr holds 16 bytes
            raise MessageError("hlen", 2, f"hardware address length {values[2]} > 16 (size of chaddr)")
        values[_IP_SLICE] = map(address_text, values[_IP_SLICE])  # ciaddr..giaddr -> "a.b.c.d" (cached)
        message = object.__new__(cls)
        d = message.__dict__
        d.update(zip(_NAMES, values))  # zip stops before the cookie

        options = _options_in_one_pass(data)
        if options is None:  # something unusual: take the careful path
            options = _options_carefully(data, d)
        d["options"] = options
        return message

    # -- Message -> bytes ----------------------------------------------------
    def encode(self) -> bytes:
        """The UDP payload: header, cookie, options, END, PAD up to 300 bytes."""
        header = self._pack_header()
        if 52 in self.options:
            return self._encode_overloaded(header, self._option_chunks_checked())
        try:  # each code's compiled encoder gives the whole option: code, length, value
            options = [OPTION_ENCODERS[code](value) for code, value in self.options.items()]
        except Exception:  # the careful path: unknown codes, long values to split, bad values to explain
            options = self._option_chunks_checked()
        data = b"".join([header, *options, b"\xff"])  # RFC 2132 §3.2: END
        if len(data) < BOOTP_MIN_SIZE:  # RFC 1542 §2.1: pad to 300 bytes
            data += bytes(BOOTP_MIN_SIZE - len(data))
        return data

    def _pack_header(self) -> bytes:
        # Every value was checked when it was assigned (__setattr__), so this is
        # just the table's struct; the addresses turn back into 4 bytes each.
        values = list(_get_header(self))
        values[_IP_SLICE] = map(ip_to_bytes, values[_IP_SLICE])
        return _HEADER.pack(*values, COOKIE)

    def _option_chunks_checked(self) -> list[bytes]:
        """Each option as code, length, value, with the reference encoders, naming the option
        that fails; longer than 255 bytes -> several options (RFC 3396 §5)."""
        chunks = []
        for code, value in self.options.items():
            try:
                if not isinstance(code, int) or not 1 <= code <= 254:  # 0 = PAD, 255 = END
                    raise ValueError("option codes are 1-254")
                raw = encode_option(code, value)  # unknown codes: raw bytes
            except (TypeError, ValueError, KeyError) as exc:
                raise MessageError(_option_label(code), None, str(exc)) from None
            chunks += _split(code, raw)
        return chunks

    def _encode_overloaded(self, header: bytes, chunks: list[bytes]) -> bytes:
        """Options that do not fit in 312 bytes go on into file, then sname (RFC 2131 §4.1)."""
        overload = self.options[52]
        areas = [("options", OPTIONS_OFFSET, OVERLOAD_OPTIONS_ROOM)]
        if overload & 1:
            areas.append(("file", 108, 128))
        if overload & 2:
            areas.append(("sname", 44, 64))
        for name, offset, _size in areas[1:]:
            if any(getattr(self, name)):
                raise MessageError(name, offset, "option 52 says this field carries options, so it must be empty")
        # Rebuild (code, value) pairs, then fill each area in turn, splitting an
        # option wherever an area is full (RFC 3396 §5 allows any split point).
        values: list[tuple[int, bytes]] = []
        for chunk in chunks:
            if values and values[-1][0] == chunk[0]:
                values[-1] = (chunk[0], values[-1][1] + chunk[2:])
            else:
                values.append((chunk[0], chunk[2:]))
        filled: list[bytearray] = [bytearray() for _ in areas]
        area = 0
        for code, raw in values:
            while True:
                room = min(255, areas[area][2] - 1 - 2 - len(filled[area]))  # keep 1 byte for END
                if room < len(raw) and (room <= 0 or code == 52 or not raw):
                    area += 1  # this area is full: go on in the next one
                    if area == len(areas):
                        raise MessageError("options", OPTIONS_OFFSET, "options do not fit even with overload")
                    continue
                if code == 52 and area != 0:
                    raise MessageError(_option_label(52), None, "must be in the options field (RFC 2131 §4.1)")
                piece, raw = raw[:room], raw[room:]
                filled[area] += _CODE_LENGTH(code, len(piece)) + piece
                if not raw:
                    break
        data = bytearray(header)
        for (_name, offset, _size), content in zip(areas[1:], filled[1:]):
            content += b"\xff"
            data[offset : offset + len(content)] = content
        data += filled[0] + b"\xff"
        if len(data) < BOOTP_MIN_SIZE:
            data += bytes(BOOTP_MIN_SIZE - len(data))
        return bytes(data)

    # -- constructors: the client side (RFC 2131 §4.4.1, table 5) -----------
    @classmethod
    def _client(
        cls,
        kind: MessageType,
        mac: str | bytes,
        xid: int,
        secs: int = 0,
        broadcast: bool = False,
        ciaddr: str = _ZERO_IP,
    ) -> Message:
        message = cls(op=1, xid=xid, secs=secs, ciaddr=ciaddr)
        message.mac = mac
        message.broadcast = broadcast
        message.options[53] = kind  # RFC 2131 §3: every DHCP message carries option 53
        return message

    def _set_options(self, pairs: Iterable[tuple[str, Any]]) -> Message:
        for name, value in pairs:
            if value is not None:
                self.set(name, value)
        return self

    @classmethod
    def discover(
        cls,
        mac: str | bytes,
        xid: int,
        secs: int = 0,
        broadcast: bool = False,
        requested_ip: str | None = None,
        params: list | None = None,
        client_id: bytes | str | None = None,
        hostname: str | None = None,
    ) -> Message:
        """DHCPDISCOVER: ciaddr 0; MAY ask for an address (50); MUST NOT name a server (54)."""
        message = cls._client(MessageType.DISCOVER, mac, xid, secs, broadcast)
        return message._set_options(
            [
                ("client_id", client_id),
                ("requested_ip", requested_ip),
                ("hostname", hostname),
                ("param_request_list", params),
            ]
        )

    @classmethod
    def request(
        cls,
        mac: str | bytes,
        xid: int,
        secs: int = 0,
        broadcast: bool = False,
        requested_ip: str | None = None,
        server_id: str | None = None,
        ciaddr: str = _ZERO_IP,
        params: list | None = None,
        client_id: bytes | str | None = None,
        hostname: str | None = None,
    ) -> Message:
        """DHCPREQUEST. Table 5 says which fields each client state fills:

        * SELECTING: requested_ip = the offered yiaddr, server_id = the chosen server, ciaddr 0;
        * INIT-REBOOT: requested_ip = the old address, no server_id, ciaddr 0;
        * RENEWING / REBINDING: ciaddr = the address in use, no requested_ip, no server_id.
        """
        message = cls._client(MessageType.REQUEST, mac, xid, secs, broadcast, ciaddr)
        return message._set_options(
            [
                ("client_id", client_id),
                ("requested_ip", requested_ip),
                ("server_id", server_id),
                ("hostname", hostname),
                ("param_request_list", params),
            ]
        )

    @classmethod
    def decline(
        cls,
        mac: str | bytes,
        xid: int,
        requested_ip: str,
        server_id: str,
        client_id: bytes | str | None = None,
        message: str | None = None,
    ) -> Message:
        """DHCPDECLINE: the offered address is already in use (RFC 2131 §3.1 step 5); ciaddr 0."""
        result = cls._client(MessageType.DECLINE, mac, xid)
        return result._set_options(
            [("client_id", client_id), ("requested_ip", requested_ip), ("server_id", server_id), ("message", message)]
        )

    @classmethod
    def release(
        cls,
        mac: str | bytes,
        xid: int,
        ciaddr: str,
        server_id: str,
        client_id: bytes | str | None = None,
        message: str | None = None,
    ) -> Message:
        """DHCPRELEASE: give the address back; ciaddr = that address, server_id MUST be set."""
        result = cls._client(MessageType.RELEASE, mac, xid, ciaddr=ciaddr)
        return result._set_options([("client_id", client_id), ("server_id", server_id), ("message", message)])

    @classmethod
    def inform(
        cls,
        mac: str | bytes,
        xid: int,
        ciaddr: str,
        secs: int = 0,
        broadcast: bool = False,
        params: list | None = None,
        client_id: bytes | str | None = None,
        hostname: str | None = None,
    ) -> Message:
        """DHCPINFORM: the client has an address (ciaddr) and wants only configuration."""
        message = cls._client(MessageType.INFORM, mac, xid, secs, broadcast, ciaddr)
        return message._set_options([("client_id", client_id), ("hostname", hostname), ("param_request_list", params)])

    # -- constructors: the server side (RFC 2131 §4.3.1, table 3) -----------
    @classmethod
    def _reply(cls, request: Message, kind: MessageType, server_id: str) -> Message:
        # Table 3: htype, hlen, xid, flags, giaddr and chaddr come from the client's
        # message; hops and secs are 0 (a relay counts hops on the way back itself).
        # The values come from a message that was checked when it was built or
        # decoded, so we fill __dict__ directly instead of re-checking each one in
        # __setattr__ (a server builds a reply for every message it answers).
        message = cls.__new__(cls)
        message.__dict__.update(
            _DEFAULTS,
            options={},
            op=2,
            htype=request.htype,
            hlen=request.hlen,
            hops=0,
            xid=request.xid,
            secs=0,
            flags=request.flags,
            giaddr=request.giaddr,
            chaddr=request.chaddr,
        )
        message.options[53] = kind
        message.set("server_id", server_id)  # table 3: server identifier MUST
        if 61 in request.options:  # RFC 6842 (updates table 3): echo the client identifier
            message.options[61] = request.options[61]
        return message

    def _add_lease(self, lease_time: int | None, options: dict | None) -> None:
        extra = dict(options or {})
        if lease_time is None:
            lease_time = extra.pop("lease_time", extra.pop(51, None))
        if lease_time is None:
            raise MessageError(_option_label(51), None, "an OFFER or ACK MUST carry the lease time (RFC 2131 table 3)")
        self.set("lease_time", lease_time)
        for name, value in extra.items():
            if option_spec(name).code != 51:
                self.set(name, value)

    @classmethod
    def offer(
        cls,
        request: Message,
        yiaddr: str,
        server_id: str,
        lease_time: int | None = None,
        siaddr: str = _ZERO_IP,
        options: dict | None = None,
    ) -> Message:
        """DHCPOFFER to a DISCOVER: ciaddr 0, yiaddr = the offered address (table 3)."""
        message = cls._reply(request, MessageType.OFFER, server_id)
        message.yiaddr = yiaddr
        message.siaddr = siaddr
        message._add_lease(lease_time, options)
        return message

    @classmethod
    def ack(
        cls,
        request: Message,
        yiaddr: str = _ZERO_IP,
        server_id: str = _ZERO_IP,
        lease_time: int | None = None,
        siaddr: str = _ZERO_IP,
        options: dict | None = None,
    ) -> Message:
        """DHCPACK: ciaddr copied from the request; yiaddr = the assigned address.

        To an INFORM (RFC 2131 §4.3.5): no yiaddr and no lease time, only configuration.
        """
        message = cls._reply(request, MessageType.ACK, server_id)
        message.ciaddr = request.ciaddr
        message.siaddr = siaddr
        if request.message_type == MessageType.INFORM:
            if lease_time is not None or any(option_spec(k).code == 51 for k in options or {}):
                raise MessageError(_option_label(51), None, "an ACK to an INFORM MUST NOT carry a lease time")
            for name, value in (options or {}).items():
                message.set(name, value)
            return message
        message.yiaddr = yiaddr
        message._add_lease(lease_time, options)
        return message

    @classmethod
    def nak(cls, request: Message, server_id: str, message: str | None = None) -> Message:
        """DHCPNAK: every address field 0; only type, server id and an optional text (table 3)."""
        result = cls._reply(request, MessageType.NAK, server_id)
        if message:
            result.set("message", message)
        return result

    # -- text for students ---------------------------------------------------
    def show(self) -> str:
        """Each header field with its value and meaning, then the options by name."""
        overload = self.options.get(52, 0) if isinstance(self.options.get(52), int) else 0
        lines = []
        for f in HEADER_FIELDS:
            lines.append(f"{f.name:<7} {_header_text(self, f, overload):<22} {f.meaning}")
        lines.append(f"{'cookie':<7} {'99.130.83.99':<22} magic cookie: DHCP options follow (RFC 2131 §3)")
        lines.append("options:")
        for code, value in self.options.items():
            try:
                text = describe(code, value)
            except (TypeError, ValueError, AttributeError):  # a value set by hand, not yet checked
                text = repr(value)
            lines.append(f"  {code:>3} {_option_name(code):<24} {text}")
        if not self.options:
            lines.append("  (none: a plain BOOTP message)")
        return "\n".join(lines)

    def hexdump(self) -> str:
        return hexdump(self.encode())

    def layout(self) -> list[Span]:
        """Span(name, offset, size) for every header field, the cookie and each option."""
        return layout_of(self.encode())


def _split(code: int, raw: bytes) -> list[bytes]:
    """Code, length, value; a value over 255 bytes becomes several options (RFC 3396 §5)."""
    pieces = [raw[k : k + 255] for k in range(0, len(raw), 255)] or [b""]
    return [_CODE_LENGTH(code, len(piece)) + piece for piece in pieces]


def _header_text(message: Message, field: HeaderField, overload: int) -> str:
    value = getattr(message, field.name)
    if field.name == "op":
        return f"{value} ({ {1: 'BOOTREQUEST', 2: 'BOOTREPLY'}.get(value, '?') })"
    if field.name == "xid":
        return f"0x{value:08x}"
    if field.name == "flags":
        return f"0x{value:04x}" + (" (broadcast)" if value & BROADCAST_FLAG else "")
    if field.name == "chaddr":
        return message.mac
    if field.name in ("sname", "file"):
        if overload & (1 if field.name == "file" else 2):
            return "(options, see 52)"
        text = value.rstrip(b"\0")
        return repr(text.decode("utf-8", "backslashreplace")) if text else "(empty)"
    return str(value)


def _options_in_one_pass(data: bytes) -> dict[int, Any] | None:
    """The usual message, in one pass: each option is decoded the moment it is found.

    Returns None for anything unusual - an option that repeats (it must be
    joined first, RFC 3396 §7), overload (option 52), a length that runs past
    the end, no END, a value its fast decoder refuses - and Message.decode then
    takes the careful path, which applies every rule and names the problem.

    ``DECODER_BY_CODE[code]`` is the fast decoder of every code 0-255 (``bytes``
    for codes we do not know), None for PAD and END. No explicit bound check:
    reading the code byte at or past the end raises IndexError, and that is
    where the walk goes after an option that ran past the end, too.
    """
    options: dict[int, Any] = {}
    decoders = DECODER_BY_CODE
    i = OPTIONS_OFFSET
    try:
        while True:
            code = data[i]
            decode = decoders[code]
            if decode is None:
                if code:  # RFC 2132 §3.2: END
                    break
                i += 1  # RFC 2132 §3.1: PAD
                continue
            if code in options:
                return None
            stop = i + 2 + data[i + 1]
            options[code] = decode(data[i + 2 : stop])
            i = stop
    except Exception:  # no END, no length byte, or a value the fast decoder refuses
        return None
    return None if 52 in options else options


def _options_carefully(data: bytes, fields: dict[str, Any]) -> dict[int, Any]:
    """Every rule of the module docstring, with the reference decoders; MessageError if bad.

    Clears sname/file in ``fields`` when they carry options (overload).
    """
    found: dict[int, bytes] = {}  # code -> value bytes, repeats joined
    _scan_options(data, OPTIONS_OFFSET, len(data), "end of the message", found)
    overload = 0
    if 52 in found:  # RFC 2132 §9.3: options continue in file, then sname
        overload = _decode_or_explain(data, 52, found[52], 0)
        for start, end, name in _option_areas(len(data), overload)[1:]:
            _scan_options(data, start, end, f"end of {name}", found)
            fields[name] = bytes(end - start)  # it held options, not a name
    return {code: _decode_or_explain(data, code, raw, overload) for code, raw in found.items()}


def _walk_area(data: bytes, start: int, end: int, end_name: str) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, code, value)`` of every option, PAD and END in ``data[start:end]``
    (:func:`~refimpl.dhcp.options.walk_blocks`); a MessageError names the option that does not fit.

    No END before the end of the area is accepted (see the module docstring).
    """
    try:
        yield from walk_blocks(data, start, end, pad_end=True)
    except BlockError as exc:
        if exc.length is None:
            reason = f"no length byte before the {end_name} (byte {end})"
        else:
            reason = f"length {exc.length} runs past the {end_name} (byte {end})"
        raise MessageError(_option_label(exc.key), exc.offset, reason) from None


def _scan_options(data: bytes, start: int, end: int, end_name: str, found: dict[int, bytes]) -> None:
    """Read code/length/value options from data[start:end] into found, joining repeats.

    RFC 2132 §3.1: PAD (0) is one byte, skip it. §3.2: END (255) stops the scan.
    RFC 3396 §7: an option seen again is appended to the first one.
    """
    for _, code, value in _walk_area(data, start, end, end_name):
        if code == PAD or code == END:
            continue
        found[code] = found[code] + value if code in found else value


def _option_areas(size: int, overload: int) -> list[tuple[int, int, str]]:
    """(start, end, name) of each area holding options, in reading order.

    RFC 2131 §4.1 / RFC 3396 §5: the options field, then file (overload 1 or 3),
    then sname (overload 2 or 3).
    """
    areas = [(OPTIONS_OFFSET, size, "options")]
    if overload & 1:
        areas.append((108, 236, "file"))
    if overload & 2:
        areas.append((44, 108, "sname"))
    return areas


def _first_offset(data: bytes, code: int, overload: int) -> int | None:
    """Byte offset of the first occurrence of an option (for error messages only)."""
    for start, end, name in _option_areas(len(data), overload):
        for offset, found, _ in _walk_area(data, start, end, name):
            if found == code:
                return offset
    return None


def _decode_or_explain(data: bytes, code: int, raw: bytes, overload: int) -> Any:
    """Decode one option; on failure raise MessageError with its name and offset."""
    try:
        return DECODERS.get(code, bytes)(raw)
    except ValueError as exc:
        raise MessageError(_option_label(code), _first_offset(data, code, overload), str(exc)) from None


def layout_of(data: bytes) -> list[Span]:
    """Spans of the header fields, the cookie and every option of encoded bytes.

    Option pieces are named ``"<name>.code"``, ``"<name>.length"`` and
    ``"<name>.value"`` (``"lease_time.value"``); also ``"pad"`` and ``"end"``.
    With option overload, spans of options carried in ``file``/``sname`` lie
    inside those fields' spans. Bytes that do not decode raise MessageError.
    """
    spans = [Span(f.name, f.offset, f.size) for f in HEADER_FIELDS]
    spans.append(Span("cookie", COOKIE_OFFSET, 4))
    message = Message.decode(data)
    overload = message.options.get(52, 0)
    for start, end, area in _option_areas(len(data), overload):
        for i, code, value in _walk_area(data, start, end, area):
            if code == PAD:
                spans.append(Span("pad", i, 1))
            elif code == END:
                spans.append(Span("end", i, 1))
                if end == len(data) and i + 1 < end:
                    spans.append(Span("pad", i + 1, end - i - 1))  # RFC 1542 §2.1 padding after END
            else:
                name = option_spec(code).name
                spans += [
                    Span(f"{name}.code", i, 1),
                    Span(f"{name}.length", i + 1, 1),
                    Span(f"{name}.value", i + 2, len(value)),
                ]
    return spans


def hexdump(data: bytes) -> str:
    """Offset, 16 bytes in hex, then the same bytes as ASCII ('.' if not printable)."""
    lines = []
    for start in range(0, len(data), 16):
        row = data[start : start + 16]
        hexes = " ".join(f"{b:02x}" for b in row[:8]) + "  " + " ".join(f"{b:02x}" for b in row[8:])
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
        lines.append(f"{start:04x}  {hexes:<48}  |{text}|")
    return "\n".join(lines)
