"""The clear-text start of an SSH connection: the version line and the binary packets up to NEWKEYS (RFC 4253).

An SSH connection begins in the open. Each side sends one line naming its
protocol and software (RFC 4253 §4.2: ``SSH-protoversion-softwareversion SP
comments CR LF``), then binary packets (§6)::

    uint32    packet_length     bytes after this field, MAC not counted
    byte      padding_length
    byte[n1]  payload           n1 = packet_length - padding_length - 1
    byte[n2]  random padding    n2 = padding_length
    byte[m]   mac               m = 0 until keys are in use

The first payloads are the key exchange: KEXINIT (§7.1) lists, in order of
preference, the algorithms each side can use (key exchange, host key,
cipher, MAC and compression for each direction); a Diffie-Hellman exchange
follows (message numbers 30 and 31 for the ECDH and curve25519 methods,
RFC 5656 §4, RFC 8731); then NEWKEYS (§7.3). From there on each side's
packets are encrypted with the new keys: this module stops reading and
counts the rest as encrypted bytes, which is all a capture can show.

Theory of operation. :func:`parse_version` reads the line,
:func:`read_packet` one packet at an offset, :func:`parse_kexinit` a
KEXINIT's fields (its layout is the table :data:`KEXINIT_LISTS`), and
:func:`read_handshake` walks one direction of a connection up to NEWKEYS.
:func:`negotiate` is the rule of §7.1: the first algorithm on the client's
list that the server also lists. A malformed stream raises
:class:`SshError` with the offset, never anything else. Standard library
only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

MESSAGES: dict[int, str] = {
    1: "DISCONNECT",  # RFC 4253 §11.1
    2: "IGNORE",  # §11.2
    3: "UNIMPLEMENTED",  # §11.4
    4: "DEBUG",  # §11.3
    5: "SERVICE_REQUEST",  # §10
    6: "SERVICE_ACCEPT",  # §10
    7: "EXT_INFO",  # RFC 8308 §2.3
    20: "KEXINIT",  # RFC 4253 §7.1
    21: "NEWKEYS",  # §7.3
    30: "KEX_ECDH_INIT",  # RFC 5656 §7.1 (also curve25519, RFC 8731)
    31: "KEX_ECDH_REPLY",  # RFC 5656 §7.1
}
"""Message numbers seen before and around NEWKEYS, by number."""

KEXINIT_LISTS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)
"""RFC 4253 §7.1: after ``byte SSH_MSG_KEXINIT`` and ``byte[16] cookie``, these ten name-lists, in this order."""

MAX_VERSION_LINE = 255  # RFC 4253 §4.2: "The maximum length of the string is 255 characters, including the CR LF"
MAX_PACKET = 35000  # RFC 4253 §6.1: implementations "SHOULD support longer packets" than 35000; we read the handshake


class SshError(ValueError):
    """Not the clear-text start of SSH; ``offset`` is where the bad part starts."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class Version:
    """``SSH-2.0-OpenSSH_9.2p1 Debian-2`` -> proto ``2.0``, software ``OpenSSH_9.2p1``, comments ``Debian-2``."""

    proto: str
    software: str
    comments: str
    line: bytes  # as sent, CR LF included


@dataclass(frozen=True)
class Packet:
    """One binary packet (RFC 4253 §6) read before keys are in use (no MAC)."""

    packet_length: int
    padding_length: int
    payload: bytes
    padding: bytes

    @property
    def number(self) -> int:
        return self.payload[0] if self.payload else -1

    @property
    def name(self) -> str:
        return MESSAGES.get(self.number, f"message {self.number}")

    @property
    def size(self) -> int:
        """Bytes on the wire: the length field, then packet_length bytes."""
        return 4 + self.packet_length


@dataclass(frozen=True)
class KexInit:
    """A KEXINIT's fields: the cookie, the ten name-lists by :data:`KEXINIT_LISTS` name, and the flag."""

    cookie: bytes
    lists: dict[str, tuple[str, ...]]
    first_kex_packet_follows: bool


@dataclass
class Handshake:
    """One direction up to and with NEWKEYS: lines before the version, the version, the packets; what follows."""

    banner: list[bytes] = field(default_factory=list)  # RFC 4253 §4.2: a server may send lines before its version
    version: Version | None = None
    packets: list[tuple[int, Packet]] = field(default_factory=list)  # (offset, packet)
    encrypted_from: int | None = None  # offset of the first byte after NEWKEYS
    encrypted_bytes: int = 0

    def kexinit(self) -> KexInit | None:
        for _, packet in self.packets:
            if packet.name == "KEXINIT":
                return parse_kexinit(packet.payload)
        return None


def parse_version(line: bytes, offset: int = 0) -> Version:
    """RFC 4253 §4.2: ``SSH-protoversion-softwareversion SP comments CR LF`` (comments optional)."""
    if not line.endswith(b"\r\n"):
        raise SshError(offset, "the version line must end with CR LF (RFC 4253 §4.2)")
    if len(line) > MAX_VERSION_LINE:
        raise SshError(offset, f"version line of {len(line)} characters, more than 255 (RFC 4253 §4.2)")
    text = line[:-2].decode("ascii", "replace")
    if not text.startswith("SSH-"):
        raise SshError(offset, "a version line starts with 'SSH-'")
    ident, _, comments = text.partition(" ")
    parts = ident.split("-", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise SshError(offset, "expected SSH-protoversion-softwareversion")
    return Version(proto=parts[1], software=parts[2], comments=comments, line=line)


def read_packet(data: bytes, offset: int = 0) -> Packet:
    """The packet at ``offset``; raises :class:`SshError` if it is cut short or its lengths disagree."""
    if len(data) - offset < 5:
        raise SshError(offset, "packet cut short before its length fields")
    packet_length, padding_length = struct.unpack_from("!IB", data, offset)
    if packet_length > MAX_PACKET:
        raise SshError(offset, f"packet_length {packet_length}: larger than any handshake packet")
    if padding_length < 4 or padding_length + 1 > packet_length:  # §6: "at least four bytes of padding"
        raise SshError(offset + 4, f"padding_length {padding_length} with packet_length {packet_length}")
    end = offset + 4 + packet_length
    if end > len(data):
        raise SshError(offset, f"packet of {packet_length} bytes, only {len(data) - offset - 4} there")
    body = data[offset + 5 : end]
    n1 = packet_length - padding_length - 1
    return Packet(packet_length, padding_length, body[:n1], body[n1:])


def _name_list(payload: bytes, at: int) -> tuple[tuple[str, ...], int]:
    """RFC 4251 §5: a name-list is a uint32 length and comma-separated US-ASCII names."""
    if at + 4 > len(payload):
        raise SshError(at, "name-list cut short")
    (length,) = struct.unpack_from("!I", payload, at)
    end = at + 4 + length
    if end > len(payload):
        raise SshError(at, f"name-list of {length} bytes runs past the packet")
    raw = payload[at + 4 : end]
    if not raw.isascii():
        raise SshError(at, "a name-list is US-ASCII (RFC 4251 §5)")
    return (tuple(raw.decode().split(",")) if raw else ()), end


def parse_kexinit(payload: bytes) -> KexInit:
    """The fields of a KEXINIT payload (RFC 4253 §7.1), the lists in :data:`KEXINIT_LISTS` order."""
    if payload[:1] != b"\x14":
        raise SshError(0, "not a KEXINIT (message 20)")
    if len(payload) < 17:
        raise SshError(1, "KEXINIT cut short in its cookie")
    at, lists = 17, {}
    for name in KEXINIT_LISTS:
        lists[name], at = _name_list(payload, at)
    if at + 5 > len(payload):
        raise SshError(at, "KEXINIT cut short before first_kex_packet_follows")
    return KexInit(cookie=payload[1:17], lists=lists, first_kex_packet_follows=payload[at] != 0)


def negotiate(client: tuple[str, ...], server: tuple[str, ...]) -> str | None:
    """RFC 4253 §7.1: "the first algorithm on the client's name-list that is also on the server's name-list"."""
    return next((name for name in client if name in server), None)


def read_handshake(stream: bytes) -> Handshake:
    """One direction of a connection, from its first byte, up to and with NEWKEYS; the rest counted as encrypted."""
    shake = Handshake()
    at = 0
    while shake.version is None:
        end = stream.find(b"\n", at, at + MAX_VERSION_LINE + 1)
        if end < 0:
            raise SshError(at, "no version line (RFC 4253 §4.2)")
        line = stream[at : end + 1]
        if line.startswith(b"SSH-"):
            shake.version = parse_version(line, at)
        elif len(shake.banner) >= 20:
            raise SshError(at, "too many lines before the version line")
        else:
            shake.banner.append(line)
        at = end + 1
    while at < len(stream):
        packet = read_packet(stream, at)
        shake.packets.append((at, packet))
        at += packet.size
        if packet.name == "NEWKEYS":
            shake.encrypted_from = at
            shake.encrypted_bytes = len(stream) - at
            break
    return shake
