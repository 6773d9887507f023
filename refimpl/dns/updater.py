"""A small DNS UPDATE client core (RFC 2136): build a signed request, check the signed answer.

The record forms of RFC 2136 §2.4 and §2.5, one function each, so a request
reads like the operation it asks for::

    request = UpdateRequest("example.com", key)
    request.require(name_not_in_use("host7.example.com"))
    request.change(add("host7.example.com", Type.A, "192.0.2.7", 300))
    data = request.encode(now=time.time())          # signed with TSIG
    ...send, receive...
    answer = request.check_answer(reply_bytes, now=time.time())   # raises UpdateFailed

Sans-I/O: the bytes go out through :mod:`refimpl.sockets.dns_update`.
"""

from __future__ import annotations

import random

from .errors import MessageError
from .message import Message, Opcode, Question, Rcode, Record, decode
from .records import Class, Type
from .tsig import Key, TsigError, verify
from .tsig import sign as tsig_sign


# -- prerequisites (§2.4) ---------------------------------------------------------------
def rrset_exists(name: str, rtype: int) -> Record:
    """§2.4.1 RRset exists (value independent): CLASS ANY, TTL 0, no RDATA."""
    return Record(name, rtype, b"", 0, Class.ANY)


def rrset_is(name: str, rtype: int, value) -> Record:
    """§2.4.2 RRset exists (value dependent): one record of the set, CLASS of the zone, TTL 0."""
    return Record(name, rtype, value, 0, Class.IN)


def rrset_absent(name: str, rtype: int) -> Record:
    """§2.4.3 RRset does not exist: CLASS NONE."""
    return Record(name, rtype, b"", 0, Class.NONE)


def name_in_use(name: str) -> Record:
    """§2.4.4 Name is in use: CLASS ANY, TYPE ANY."""
    return Record(name, Type.ANY, b"", 0, Class.ANY)


def name_not_in_use(name: str) -> Record:
    """§2.4.5 Name is not in use: CLASS NONE, TYPE ANY."""
    return Record(name, Type.ANY, b"", 0, Class.NONE)


# -- updates (§2.5) ---------------------------------------------------------------------
def add(name: str, rtype: int, value, ttl: int) -> Record:
    """§2.5.1 Add to an RRset."""
    return Record(name, rtype, value, ttl, Class.IN)


def delete_rrset(name: str, rtype: int) -> Record:
    """§2.5.2 Delete an RRset: CLASS ANY, TTL 0, no RDATA."""
    return Record(name, rtype, b"", 0, Class.ANY)


def delete_name(name: str) -> Record:
    """§2.5.3 Delete all RRsets from a name: CLASS ANY, TYPE ANY."""
    return Record(name, Type.ANY, b"", 0, Class.ANY)


def delete_rr(name: str, rtype: int, value) -> Record:
    """§2.5.4 Delete an RR from an RRset: CLASS NONE, TTL 0, the RDATA."""
    return Record(name, rtype, value, 0, Class.NONE)


def rcode_name(code: int) -> str:
    try:
        return Rcode(code).name
    except ValueError:
        return str(code)


class UpdateFailed(Exception):
    """No acceptable answer: a bad or missing TSIG on it, or not an answer to our request."""


class UpdateRejected(UpdateFailed):
    """The server's answer says our TSIG failed (BADKEY, BADSIG, BADTIME...): no point waiting on."""


class UpdateRequest:
    def __init__(self, zone: str, key: Key | None = None, *, ident: int | None = None):
        self.zone, self.key = zone, key
        self.ident = random.randrange(65536) if ident is None else ident
        self.prerequisites: list[Record] = []
        self.updates: list[Record] = []
        self.mac: bytes | None = None

    def require(self, *records: Record) -> UpdateRequest:
        self.prerequisites += records
        return self

    def change(self, *records: Record) -> UpdateRequest:
        self.updates += records
        return self

    def message(self) -> Message:
        return Message(
            id=self.ident,
            opcode=Opcode.UPDATE,
            questions=[Question(self.zone, Type.SOA)],  # the zone section (§2.3)
            answer=list(self.prerequisites),
            authority=list(self.updates),
        )

    def encode(self, *, now: float) -> bytes:
        data = self.message().encode()
        if self.key is None:
            return data
        data, self.mac = tsig_sign(data, self.key, now=now)
        return data

    def check_answer(self, data: bytes, *, now: float) -> Message:
        """The answer, once its ID, opcode and (when we signed) its TSIG check out; its RCODE is the result."""
        try:
            answer = decode(data)
        except MessageError as exc:
            raise UpdateFailed(f"the answer does not decode: {exc}") from None
        if not answer.qr or answer.id != self.ident or answer.opcode != Opcode.UPDATE:
            raise UpdateFailed("not an answer to this update")
        if self.key is not None:
            checked = verify(data, {self.key.name: self.key}, now=now, request_mac=self.mac)
            if checked.tsig is None:
                raise UpdateFailed(f"the answer ({rcode_name(answer.rcode)}) is not signed")
            if checked.tsig.error != TsigError.NOERROR:  # the server's verdict on our request (RFC 8945 §5.3)
                raise UpdateRejected(
                    f"the server says {TsigError(checked.tsig.error).name} ({rcode_name(answer.rcode)})"
                )
            if checked.error != TsigError.NOERROR:
                raise UpdateFailed(f"the answer's TSIG fails: {checked.error!r}")
        return answer
