"""TSIG (RFC 8945): a shared-secret MAC over a whole DNS message, HMAC-SHA256 only.

The TSIG record is the last record of the additional section (RFC 8945 §4.2:
TYPE 250, "CLASS: This MUST be ANY.", "TTL: This MUST be 0."); its owner is the
key's name and its RDATA::

    Algorithm Name   a domain name, "MUST NOT be compressed" ("hmac-sha256")
    Time Signed      48 bits: seconds since 1970-01-01 UTC
    Fudge            16 bits: "the allowed time difference in seconds"
    MAC Size, MAC    16 bits, then that many octets
    Original ID      16 bits: the message ID when it was signed
    Error            16 bits: the TSIG RCODE (in responses; 0 in requests)
    Other Len, Data  16 bits, then that many (the server's time, on BADTIME)

What the MAC covers (RFC 8945 §4.3), in this order, nothing between:

1. in a response, the request's MAC, preceded by its 2-octet length (§4.3.1);
2. the message as it was before the TSIG record was added: ARCOUNT one less
   and the ID the Original ID (§4.3.2);
3. the "TSIG Variables" (§4.3.3): the key NAME "in canonical wire format"
   (lower case, not compressed), CLASS (ANY), TTL (0), the Algorithm Name (also
   canonical), Time Signed, Fudge, Error, Other Len and Other Data. Not the MAC
   size, the MAC or the Original ID.

Checks on receipt, in the order of RFC 8945 §5.2 "server processing of
request" (paraphrased here, not quoted):

* the TSIG record must be the last record of the additional section, and
  only one: else FORMERR;
* key check: a key name or algorithm the server does not know: BADKEY;
* MAC check: a MAC that does not verify: BADSIG. Truncation (the RFC's
  truncation rules, same section): a MAC Size above the HMAC's length, or
  below 10 octets or half the HMAC's length, is a FORMERR; a shorter MAC that
  local policy does not accept is BADTRUNC. Our policy accepts only the full
  32 octets of HMAC-SHA256;
* time check: ``|now - Time Signed| > Fudge``: BADTIME, and the answer
  carries the server's time in Other Data so the client sees the skew.

The response to a failed check has RCODE NOTAUTH and the TSIG error in the
TSIG record's Error field (RFC 8945 §5.3, answers with errors); for BADKEY
and BADSIG it is unsigned (MAC Size 0: the server cannot or must not sign with
a key the request did not prove), for BADTIME it is signed. BIND and nsupdate
behave so (the interop tests read nsupdate's "NOTAUTH(BADSIG)").

The MACs are compared with :func:`hmac.compare_digest` (constant time, so a
forger cannot learn the MAC byte by byte from response times). Standard
library only: ``hmac`` and ``hashlib``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from enum import IntEnum
from typing import NamedTuple

from .errors import MessageError
from .message import HEADER_SIZE, Rcode
from .names import decode_name, encode_name, key
from .records import Class, Type

ALGORITHM = "hmac-sha256"  # RFC 8945 §6: "MUST" implement, "RECOMMENDED" to use
MAC_SIZE = 32  # SHA-256's output
DEFAULT_FUDGE = 300  # seconds; what nsupdate sends too (policy)


class TsigError(IntEnum):
    """The TSIG record's Error field (RFC 8945 §3 IANA table); 0 is NOERROR."""

    NOERROR = 0
    BADSIG = 16
    BADKEY = 17
    BADTIME = 18
    BADTRUNC = 22


class Key(NamedTuple):
    name: str  # the TSIG record's owner, compared without case
    secret: bytes
    algorithm: str = ALGORITHM


def parse_key(text: str) -> Key:
    """``[hmac-sha256:]name:base64secret`` as ``nsupdate -y`` takes it; raises ValueError."""
    parts = text.split(":")
    if len(parts) == 3:
        algorithm, name, secret = parts
    elif len(parts) == 2:
        algorithm, (name, secret) = ALGORITHM, parts
    else:
        raise ValueError("a TSIG key is [hmac-sha256:]NAME:BASE64")
    if key(algorithm) != ALGORITHM:
        raise ValueError(f"only {ALGORITHM} is supported, not {algorithm!r}")
    try:
        raw = base64.b64decode(secret, validate=True)
    except ValueError:
        raise ValueError("the secret is not base64") from None
    if not raw or not name:
        raise ValueError("a TSIG key needs a name and a non-empty secret")
    return Key(key(name), raw)


_KEY_STATEMENT = None  # compiled on first use: the core must import in milliseconds


def parse_key_file(text: str) -> list[Key]:
    """The ``key`` statements of a BIND key file (what ``tsig-keygen`` prints)::

        key "ddns-key.example.com" {
            algorithm hmac-sha256;
            secret "base64...";
        };

    Only that form (name, algorithm, secret; ``#`` and ``//`` comments); raises ValueError.
    """
    global _KEY_STATEMENT
    import re

    if _KEY_STATEMENT is None:
        _KEY_STATEMENT = re.compile(
            r'key\s+"?([^"\s{]+)"?\s*\{\s*algorithm\s+"?([\w-]+)"?\s*;\s*secret\s+"([^"]+)"\s*;\s*\}\s*;'
        )
    text = re.sub(r"(#|//)[^\n]*", "", text)
    found = [parse_key(f"{algorithm}:{name}:{secret}") for name, algorithm, secret in _KEY_STATEMENT.findall(text)]
    if not found:
        raise ValueError('no \'key "NAME" { algorithm hmac-sha256; secret "..."; };\' statement found')
    return found


class Tsig(NamedTuple):
    """One TSIG record, read: where it starts in the message and its fields."""

    key_name: str
    algorithm: str
    time_signed: int
    fudge: int
    mac: bytes
    original_id: int
    error: int
    other: bytes
    start: int  # offset of the record in the message


class Verified(NamedTuple):
    """What :func:`verify` found; ``error`` NOERROR means the message is authentic and fresh."""

    error: int  # a TsigError, or Rcode.FORMERR for a malformed TSIG
    tsig: Tsig | None
    key: Key | None


# -- reading ----------------------------------------------------------------------------
def _u16(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 2], "big")


def _record_starts(data: bytes) -> list[tuple[int, int]]:
    """(offset, TYPE) of every record after the questions; ``data`` must already decode."""
    position = HEADER_SIZE
    for _ in range(_u16(data, 4)):
        _, position = decode_name(data, position)
        position += 4
    starts = []
    for _ in range(_u16(data, 6) + _u16(data, 8) + _u16(data, 10)):
        start = position
        _, position = decode_name(data, position)
        starts.append((start, _u16(data, position)))
        position += 10 + _u16(data, position + 8)
    return starts


def find(data: bytes) -> Tsig | None:
    """The TSIG record of a message that decodes, or None; MessageError if misplaced or malformed."""
    starts = _record_starts(data)
    tsigs = [i for i, (_, rtype) in enumerate(starts) if rtype == Type.TSIG]
    if not tsigs:
        return None
    additional_from = len(starts) - _u16(data, 10)
    if tsigs != [len(starts) - 1] or tsigs[0] < additional_from:
        raise MessageError(
            "tsig", starts[tsigs[0]][0], "TSIG must be the one last record, in additional (RFC 8945 §5.2)"
        )
    start = starts[-1][0]
    name, position = decode_name(data, start)
    cls, ttl = _u16(data, position + 2), int.from_bytes(data[position + 4 : position + 8], "big")
    if cls != Class.ANY or ttl != 0:
        raise MessageError("tsig", start, f"CLASS {cls} TTL {ttl}: must be ANY and 0 (RFC 8945 §4.2)")
    rdata = data[position + 10 : position + 10 + _u16(data, position + 8)]
    algorithm, at = decode_name(rdata, 0, "tsig algorithm")  # offset 0: no pointer can be "prior"
    if len(rdata) < at + 10:
        raise MessageError("tsig rdata", start, "the TSIG RDATA is cut short before the MAC")
    time_signed = int.from_bytes(rdata[at : at + 6], "big")
    fudge, mac_size = _u16(rdata, at + 6), _u16(rdata, at + 8)
    mac = rdata[at + 10 : at + 10 + mac_size]
    at += 10 + mac_size
    if len(rdata) < at + 6:
        raise MessageError("tsig rdata", start, "the TSIG RDATA is cut short after the MAC")
    original_id, error, other_len = _u16(rdata, at), _u16(rdata, at + 2), _u16(rdata, at + 4)
    other = rdata[at + 6 : at + 6 + other_len]
    if at + 6 + other_len != len(rdata):
        raise MessageError("tsig rdata", start, "Other Len does not match the RDATA's end")
    return Tsig(key(name), key(algorithm), time_signed, fudge, bytes(mac), original_id, error, bytes(other), start)


# -- the MAC ----------------------------------------------------------------------------
def _canonical(name: str) -> bytes:
    out = bytearray()
    encode_name(key(name), out, None)
    return bytes(out)


def variables(key_name: str, algorithm: str, time_signed: int, fudge: int, error: int, other: bytes) -> bytes:
    """The TSIG Variables of RFC 8945 §4.3.3, in order."""
    return (
        _canonical(key_name)
        + Class.ANY.to_bytes(2, "big")
        + (0).to_bytes(4, "big")  # TTL
        + _canonical(algorithm)
        + time_signed.to_bytes(6, "big")
        + fudge.to_bytes(2, "big")
        + error.to_bytes(2, "big")
        + len(other).to_bytes(2, "big")
        + other
    )


def compute_mac(k: Key, unsigned: bytes, tsig_vars: bytes, request_mac: bytes | None) -> bytes:
    """HMAC-SHA256 over (request MAC) + message without TSIG + TSIG variables (§4.3)."""
    prefix = b"" if request_mac is None else len(request_mac).to_bytes(2, "big") + request_mac
    return hmac.new(k.secret, prefix + unsigned + tsig_vars, hashlib.sha256).digest()


def record_size(k: Key) -> int:
    """Octets our TSIG record adds to a message signed with ``k`` (to leave room when truncating)."""
    return len(_tsig_record(k.name, k.algorithm, 0, 0, bytes(MAC_SIZE), 0, 0, b""))


def _tsig_record(k_name: str, algorithm: str, time_signed, fudge, mac, original_id, error, other) -> bytes:
    rdata = (
        _canonical(algorithm)
        + time_signed.to_bytes(6, "big")
        + fudge.to_bytes(2, "big")
        + len(mac).to_bytes(2, "big")
        + mac
        + original_id.to_bytes(2, "big")
        + error.to_bytes(2, "big")
        + len(other).to_bytes(2, "big")
        + other
    )
    return (
        _canonical(k_name)
        + Type.TSIG.to_bytes(2, "big")
        + Class.ANY.to_bytes(2, "big")
        + (0).to_bytes(4, "big")
        + len(rdata).to_bytes(2, "big")
        + rdata
    )


def sign(
    data: bytes,
    k: Key,
    *,
    now: float,
    fudge: int = DEFAULT_FUDGE,
    request_mac: bytes | None = None,
    error: int = 0,
    other: bytes = b"",
    unsigned_error: bool = False,
) -> tuple[bytes, bytes]:
    """Append a TSIG record to the encoded message ``data``: ``(signed bytes, MAC)``.

    ``request_mac``: for a response, the MAC of the request (§4.3.1).
    ``unsigned_error``: a BADKEY/BADSIG answer, sent with an empty MAC (RFC 8945 §5.3).
    """
    time_signed = int(now)
    original_id = _u16(data, 0)
    if unsigned_error:
        mac = b""
    else:
        tsig_vars = variables(k.name, k.algorithm, time_signed, fudge, error, other)
        mac = compute_mac(k, data, tsig_vars, request_mac)
    arcount = _u16(data, 10) + 1
    record = _tsig_record(k.name, k.algorithm, time_signed, fudge, mac, original_id, error, other)
    return data[:10] + arcount.to_bytes(2, "big") + data[12:] + record, mac


def unsigned_form(data: bytes, tsig: Tsig) -> bytes:
    """§4.3.2: the message without its TSIG record, ARCOUNT one less, the Original ID back."""
    arcount = _u16(data, 10) - 1
    return tsig.original_id.to_bytes(2, "big") + data[2:10] + arcount.to_bytes(2, "big") + data[12 : tsig.start]


def verify(
    data: bytes, keys: dict[str, Key], *, now: float, request_mac: bytes | None = None, tsig: Tsig | None = None
) -> Verified:
    """Check the TSIG of ``data`` (a message that decodes) against ``keys`` (by lower-case name).

    For a response, pass the request's MAC. Returns the first failure in the
    order of §5.2; a message without TSIG gives ``Verified(NOERROR, None, None)``:
    the caller decides what unsigned means (our server's policy: REFUSED for UPDATE).
    """
    if tsig is None:
        try:
            tsig = find(data)
        except MessageError:
            return Verified(Rcode.FORMERR, None, None)
    if tsig is None:
        return Verified(TsigError.NOERROR, None, None)
    k = keys.get(tsig.key_name)
    if k is None or key(k.algorithm) != tsig.algorithm:  # §5.2.1
        return Verified(TsigError.BADKEY, tsig, None)
    if len(tsig.mac) > MAC_SIZE or len(tsig.mac) < max(10, MAC_SIZE // 2):  # §5.2, truncation rules
        return Verified(Rcode.FORMERR, tsig, k)
    if len(tsig.mac) < MAC_SIZE:  # a truncation our policy does not accept
        return Verified(TsigError.BADTRUNC, tsig, k)
    tsig_vars = variables(tsig.key_name, tsig.algorithm, tsig.time_signed, tsig.fudge, tsig.error, tsig.other)
    expected = compute_mac(k, unsigned_form(data, tsig), tsig_vars, request_mac)
    if not hmac.compare_digest(expected, tsig.mac):  # §5.2.2
        return Verified(TsigError.BADSIG, tsig, k)
    if abs(now - tsig.time_signed) > tsig.fudge:  # §5.2.3
        return Verified(TsigError.BADTIME, tsig, k)
    return Verified(TsigError.NOERROR, tsig, k)
