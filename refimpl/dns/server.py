"""An authoritative answer core for one zone: a query's bytes in, a response's bytes out.

The rules, each where it is applied:

* a message with QR=1 is never answered (it is a response; answering could
  loop two servers), nor one shorter than the 12-byte header (no ID to copy);
* bytes that do not decode get FORMERR with the query's ID (RFC 1035 §4.1.1
  "Format error - The name server was unable to interpret the query"), as does a
  QDCOUNT other than 1 (RFC 9619, abstract: it constrains "the QDCOUNT parameter
  in DNS messages with OPCODE = 0 (QUERY) to a maximum of one");
* an opcode other than QUERY: NOTIMP (§4.1.1 "Not Implemented");
  an EDNS version above 0: BADVERS (RFC 6891 §6.1.3);
* a name outside the zone: REFUSED with AA=0 (we are no recursive resolver,
  policy, as BIND answers with ``recursion no``);
* inside: AA=1 (§4.1.1); CNAMEs are followed inside the zone (RFC 1034 §4.3.2
  step 3.a), at most :data:`MAX_CHAIN` links;
* no such name: NXDOMAIN; the name exists but has no record of that type (or
  exists only as an empty non-terminal): NOERROR with an empty answer, i.e.
  NODATA. Both carry the zone's SOA in the authority section, with TTL the
  smaller of the SOA's TTL and its MINIMUM (RFC 2308 §3 and §5);
* additional-section processing for NS, MX and SRV targets in the zone
  (RFC 1035 §3.3.9, §3.3.11; RFC 2782);
* size: over UDP, 512 octets without EDNS (RFC 1035 §4.2.1 "Messages carried
  by UDP are restricted to 512 bytes"), else the requester's advertised size
  (RFC 6891 §6.2.3: "Values lower than 512 MUST be treated as equal to 512"),
  capped by ours (:attr:`ServerConfig.max_udp`); what does not fit is dropped
  and TC set (RFC 2181 §9); over TCP up to 65535 (RFC 7766 §8).

UPDATE (RFC 2136, :mod:`refimpl.dns.update`) and TSIG (RFC 8945,
:mod:`refimpl.dns.tsig`):

* a message that carries a TSIG record is verified first (RFC 8945 §5.2);
  a failure gets RCODE NOTAUTH with the TSIG error (BADKEY, BADSIG, BADTRUNC
  unsigned; BADTIME signed, with our time), and nothing else is looked at;
* the answer to a verified message is signed with the same key, the
  request's MAC included (RFC 8945 §4.3.1), queries as well as updates;
* RFC 8945 §5.2.3 advises remembering, per key, the latest Time Signed and
  answering BADTIME to an earlier one: we do, so a captured update cannot be
  replayed once a newer one was accepted, even inside the fudge window;
* policy: an UPDATE is accepted only when signed with one of our keys; an
  unsigned one gets REFUSED (RFC 2136 §3.3 names REFUSED for "not permitted").
  With no key configured every UPDATE is REFUSED. RFC 2136 §3.3.2 puts the
  permission check after the prerequisites; we check first (policy), so an
  unsigned requester learns nothing about the zone from prerequisite RCODEs.
  The zone changes in memory
  only (no journal, nothing written back to the zone file: policy).

``now`` given to :meth:`AuthoritativeServer.receive` is Unix time (TSIG's
Time Signed counts seconds since 1970).

Zone transfer, AXFR (RFC 5936), :meth:`AuthoritativeServer.transfer`:

* over TCP only: "AXFR sessions over UDP transport are not defined" (§4.2);
  over UDP we answer NOTIMP (the RFC names no RCODE: policy);
* only when :attr:`ServerConfig.allow_axfr` says so, else REFUSED: a zone's
  whole content is not for everybody (§6 leaves access to the operator; our
  default is closed, policy);
* only for the zone's apex (another name: NOTAUTH, policy, as BIND does);
* the SOA first, every other record, the same SOA last (§2.2: "The first
  message MUST begin with the SOA resource record of the zone, and the last
  message MUST conclude with the same SOA resource record."), AA=1, the
  question in the first message; as many records in a message as fit in
  65535 octets, so a large zone takes several messages on the one connection;
* a transfer asked for with TSIG is signed when it fits in one message; a
  signed transfer of several messages (each MAC chained to the one before,
  RFC 8945 §5.3.1) is not implemented: REFUSED (policy).

Delegations below the apex are :mod:`refimpl.dns.referral`'s; wildcards
(RFC 4592), IXFR and NOTIFY are not implemented (NOTIFY gets NOTIMP).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MessageError
from .message import HEADER_SIZE, UDP_LIMIT, Edns, Message, Opcode, Rcode, Record, decode
from .names import key
from .records import Class, Type
from .tsig import Key, TsigError, Verified, find, record_size, sign, verify
from .update import apply_update
from .zone import Zone

MAX_CHAIN = 8  # CNAME links followed in one answer (policy)


@dataclass
class ServerConfig:
    max_udp: int = 1232  # our own EDNS payload size (policy: DNS Flag Day 2020's value)
    allow_axfr: bool = False  # zone transfers (RFC 5936) to anyone who asks over TCP; closed by default (policy)


@dataclass(frozen=True)
class Send:
    data: bytes
    to: object


@dataclass(frozen=True)
class Note:
    text: str


Effect = Send | Note


class AuthoritativeServer:
    """Answers for one :class:`Zone`; the driver says whether the bytes came over UDP or TCP."""

    def __init__(self, zone: Zone, config: ServerConfig | None = None, keys: list[Key] | tuple[Key, ...] = ()):
        self.zone = zone
        self.config = config or ServerConfig()
        self.keys = {k.name: k for k in keys}
        self.last_signed: dict[str, int] = {}  # key name -> latest Time Signed accepted (RFC 8945 §5.2.3)

    def receive(self, data: bytes, client, *, now: float, tcp: bool = False) -> list[Effect]:
        try:
            query = decode(data)
            tsig = find(data)
        except MessageError as exc:
            if len(data) < HEADER_SIZE or data[2] & 0x80:
                return [Note(f"dropped {len(data)} octets: {exc}")]
            reply = Message(id=int.from_bytes(data[:2], "big"), qr=True, opcode=(data[2] >> 3) & 0xF)
            reply.rcode = Rcode.FORMERR
            return [Send(reply.encode(), client), Note(f"FORMERR: {exc}")]
        if query.qr:
            return [Note("a response sent to the server: ignored")]
        checked = verify(data, self.keys, now=now, tsig=tsig) if tsig else Verified(TsigError.NOERROR, None, None)
        if checked.error != TsigError.NOERROR:
            return self.tsig_failure(query, checked, client, now)
        if checked.tsig is not None:
            if checked.tsig.time_signed < self.last_signed.get(checked.key.name, 0):  # §5.2.3: older than seen
                return self.tsig_failure(query, checked._replace(error=TsigError.BADTIME), client, now)
            self.last_signed[checked.key.name] = checked.tsig.time_signed
        if query.opcode == Opcode.QUERY and len(query.questions) == 1 and query.question.type == Type.AXFR:
            return self.transfer(query, client, checked, now=now, tcp=tcp)
        if query.opcode == Opcode.UPDATE:
            reply, note = self.update(query, checked)
        else:
            reply = self.answer(query)
            q = query.question
            note = f"{q.name or '.'} {q.type}" if q else "no question"
        limit = 0xFFFF if tcp else self.udp_limit(query)
        if checked.key is None:
            out = reply.encode(max_size=limit)
        else:  # truncate so that our TSIG record still fits, then sign
            room = record_size(checked.key)
            out, _ = sign(reply.encode(max_size=limit - room), checked.key, now=now, request_mac=checked.tsig.mac)
        signed = " (TSIG " + checked.key.name + ")" if checked.key else ""
        return [Send(out, client), Note(f"{note} -> {Rcode(reply.rcode).name}{' TC' if out[2] & 2 else ''}{signed}")]

    def transfer(self, query: Message, client, checked: Verified, *, now: float, tcp: bool) -> list[Effect]:
        """AXFR (RFC 5936): the whole zone, SOA first and last, in as many messages as it takes."""
        reply = query.reply()
        q = query.question
        if not tcp:
            reply.rcode, why = Rcode.NOTIMP, "not over UDP (RFC 5936 §4.2)"
        elif not self.config.allow_axfr:
            reply.rcode, why = Rcode.REFUSED, "transfers are not allowed (ServerConfig.allow_axfr)"
        elif key(q.name) != key(self.zone.origin):
            reply.rcode, why = Rcode.NOTAUTH, f"{q.name or '.'} is not the apex of {self.zone.origin or '.'}"
        else:
            messages = self.transfer_messages(query)
            if checked.key is not None and len(messages) > 1:
                reply.rcode, why = Rcode.REFUSED, "a signed transfer of several messages is not implemented"
            else:
                out = [m.encode() for m in messages]
                if checked.key is not None:
                    out = [sign(out[0], checked.key, now=now, request_mac=checked.tsig.mac)[0]]
                records = sum(len(m.answer) for m in messages)
                note = f"AXFR {self.zone.origin or '.'}: {records} records in {len(out)} message(s)"
                return [Send(data, client) for data in out] + [Note(note)]
        out = reply.encode()
        if checked.key is not None:
            out = sign(out, checked.key, now=now, request_mac=checked.tsig.mac)[0]
        return [Send(out, client), Note(f"AXFR {q.name or '.'}: {Rcode(reply.rcode).name}, {why}")]

    def transfer_messages(self, query: Message, limit: int = 0xFFFF) -> list[Message]:
        """The zone as AXFR response messages of at most ``limit`` octets each (RFC 5936 §2.2)."""
        soa = self.zone.soa
        rest = [r for rrs in self.zone.records.values() for r in rrs if r.type != Type.SOA]
        stream = [soa, *rest, soa]
        messages: list[Message] = []
        current = query.reply()
        current.aa = True
        for record in stream:
            current.answer.append(record)
            if len(current.encode()) > limit:
                current.answer.pop()
                if not current.answer:
                    raise MessageError("axfr", None, f"{record.name}: one record over {limit} octets")
                messages.append(current)
                current = Message(id=query.id, qr=True, aa=True, answer=[record])  # later: no question (§2.2.1)
        messages.append(current)
        return messages

    def update(self, query: Message, checked: Verified) -> tuple[Message, str]:
        """RFC 2136 on our zone; the response carries the zone section back, as BIND's does."""
        reply = Message(id=query.id, qr=True, opcode=Opcode.UPDATE, questions=list(query.questions))
        if checked.key is None:  # policy: unsigned updates are not permitted (§3.3: REFUSED)
            reply.rcode = Rcode.REFUSED
            return reply, "UPDATE unsigned: refused"
        outcome = apply_update(self.zone, query)
        reply.rcode = outcome.rcode
        return reply, f"UPDATE {outcome.note}"

    def tsig_failure(self, query: Message, checked: Verified, client, now: float) -> list[Effect]:
        """RFC 8945 §5.2 and §5.3 (paraphrased): NOTAUTH and the TSIG error; signed only for BADTIME."""
        reply = Message(id=query.id, qr=True, opcode=query.opcode, questions=list(query.questions))
        if checked.error == Rcode.FORMERR or checked.tsig is None:
            reply.rcode = Rcode.FORMERR
            return [Send(reply.encode(), client), Note("FORMERR: a malformed TSIG")]
        reply.rcode = Rcode.NOTAUTH
        t = checked.tsig
        name = TsigError(checked.error).name
        if checked.error == TsigError.BADTIME:  # signed; Other Data: our time, 48 bits (§5.2.3)
            out, _ = sign(
                reply.encode(),
                checked.key,
                now=t.time_signed,
                fudge=t.fudge,
                request_mac=t.mac,
                error=checked.error,
                other=int(now).to_bytes(6, "big"),
            )
        else:
            k = checked.key or Key(t.key_name, b"", t.algorithm)
            out, _ = sign(reply.encode(), k, now=now, fudge=t.fudge, error=checked.error, unsigned_error=True)
        return [Send(out, client), Note(f"TSIG {name} for key {t.key_name}: NOTAUTH")]

    def udp_limit(self, query: Message) -> int:
        if query.edns is None:
            return UDP_LIMIT
        return max(UDP_LIMIT, min(query.edns.udp_size, self.config.max_udp))

    def answer(self, query: Message) -> Message:
        """The full response (before any truncation)."""
        reply = query.reply()
        if query.edns is not None:
            reply.edns = Edns(udp_size=self.config.max_udp)
            if query.edns.version > 0:  # RFC 6891 §6.1.3
                reply.rcode = Rcode.BADVERS
                return reply
        if query.opcode != Opcode.QUERY:
            reply.rcode = Rcode.NOTIMP
            return reply
        if len(query.questions) != 1:
            reply.rcode = Rcode.FORMERR
            return reply
        q = query.question
        if q.cls not in (Class.IN, Class.ANY) or q.type == Type.OPT or not self.zone.contains(q.name):
            reply.rcode = Rcode.REFUSED
            return reply
        reply.aa = True
        name = q.name
        for _ in range(MAX_CHAIN + 1):
            records = self.zone.lookup(name)
            matching = [r for r in records if q.type in (r.type, Type.ANY)]
            cname = [r for r in records if r.type == Type.CNAME]
            if matching:
                reply.answer += [r._replace(name=name) for r in matching]
                break
            if cname and q.type != Type.CNAME:
                reply.answer.append(cname[0]._replace(name=name))
                name = cname[0].value
                if not self.zone.contains(name):
                    break  # the resolver goes on from here (RFC 1034 §4.3.2 step 3.a)
                continue
            if key(name) not in self.zone.names:
                reply.rcode = Rcode.NXDOMAIN  # RFC 2308 §2.1; after a CNAME too (RFC 6604 §2)
            reply.authority.append(self.negative_soa())
            break
        reply.additional += self.glue(reply.answer)
        return reply

    def negative_soa(self) -> Record:
        soa = self.zone.soa
        return soa._replace(ttl=min(soa.ttl, soa.value[6]))  # RFC 2308 §3

    def glue(self, answer: list[Record]) -> list[Record]:
        targets = []
        for r in answer:
            if r.type == Type.NS:
                targets.append(r.value)
            elif r.type == Type.MX:
                targets.append(r.value[1])
            elif r.type == Type.SRV:
                targets.append(r.value[3])
        extra: list[Record] = []
        for target in dict.fromkeys(key(t) for t in targets):
            extra += [r for r in self.zone.lookup(target) if r.type in (Type.A, Type.AAAA)]
        return extra

    def get_timer(self) -> float | None:
        """None: answering keeps no state between queries."""
        return None

    def handle_timer(self, *, now: float) -> list[Effect]:
        return []
