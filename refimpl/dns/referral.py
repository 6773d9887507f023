"""Delegation and iteration: how a name is found from the root down (RFC 1034 §4.3.1, §5.3.3).

No server knows every name. The root zone knows who serves ``com``; the
``com`` servers know who serves ``example.com``; only those know
``www.example.com``. A zone hands a part of the tree to other servers with NS
records at the *zone cut*, plus the addresses of those servers ("glue") when
their names lie below the cut (RFC 1034 §4.2.1).

Two modes of answering (RFC 1034 §4.3.1):

* **iterative** (non-recursive): a server answers from what it holds: the
  answer, an error, or a *referral* (AA=0, no answer, the NS records of the
  closer zone in the authority section, glue in the additional section);
* **recursive**: the server does the walking for its client and returns the
  answer or an error, "but never referrals". A client asks for it with RD=1;
  a server that offers it sets RA=1.

So a stub resolver on a laptop asks a recursive resolver once (RD=1), and
the recursive resolver iterates: root, TLD, authoritative. Here:

:class:`DelegatingServer`
    :class:`~refimpl.dns.server.AuthoritativeServer` that also gives referrals
    for names at or below a zone cut of its zone.
:class:`Iteration`
    the recursive resolver's walk as a sans-I/O core: ``start(now)`` says
    whom to ask, ``receive(data, now)`` takes the reply and says whom to ask
    next, or gives the answer. At most :data:`MAX_STEPS` servers are asked
    (policy), so a loop of referrals ends. No cache, no timers, no retries, no
    CNAME chasing across zones: the lesson's walk needs none of them (policy).

Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import MessageError
from .message import Message, Question, Rcode, Record, decode
from .names import key
from .records import Class, Type
from .server import AuthoritativeServer
from .zone import Zone

MAX_STEPS = 8  # servers asked for one name before giving up (policy)


def zone_cut(zone: Zone, name: str) -> str | None:
    """The highest name between the apex (excluded) and ``name`` that holds NS records: a delegation."""
    labels = key(name).split(".") if key(name) else []
    origin = key(zone.origin)
    depth = len(origin.split(".")) if origin else 0
    for size in range(depth + 1, len(labels) + 1):
        candidate = ".".join(labels[-size:])
        if any(r.type == Type.NS for r in zone.lookup(candidate)):
            return candidate
    return None


class DelegatingServer(AuthoritativeServer):
    """An authoritative server whose zone may delegate parts of itself: those names get a referral."""

    def answer(self, query: Message) -> Message:
        q = query.question
        cut = zone_cut(self.zone, q.name) if q is not None and self.zone.contains(q.name) else None
        if cut is None:
            return super().answer(query)
        reply = query.reply()  # RFC 1034 §4.3.1: a referral, not an answer: AA stays 0
        servers = [r for r in self.zone.lookup(cut) if r.type == Type.NS]
        reply.authority = servers
        for ns in servers:  # glue: addresses of servers named below the cut (RFC 1034 §4.2.1)
            reply.additional += [r for r in self.zone.lookup(ns.value) if r.type in (Type.A, Type.AAAA)]
        return reply


@dataclass(frozen=True)
class Ask:
    """Send ``data`` to the server at ``server`` (UDP port 53)."""

    server: str
    data: bytes
    zone: str  # the zone we believe that server serves, for the picture


@dataclass(frozen=True)
class Answer:
    message: Message  # the final response (an answer, NXDOMAIN or NODATA)
    path: tuple[str, ...]  # the zones asked, root first


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass
class Iteration:
    """Walk from the root servers to the answer for one question (RFC 1034 §5.3.3, simplified)."""

    name: str
    qtype: int = Type.A
    roots: tuple[str, ...] = ()  # the root hints: addresses of root servers
    ids: object = None  # something with randrange (a seeded random.Random), for the query IDs
    asked: list[str] = field(default_factory=list)
    done: bool = False

    def _ask(self, server: str, zone: str) -> list:
        if len(self.asked) >= MAX_STEPS:
            return self._finish(Failed(f"no answer after asking {MAX_STEPS} servers"))
        self.asked.append(zone)
        self._id = self.ids.randrange(65536) if self.ids is not None else 0
        query = Message(id=self._id, rd=False, questions=[Question(self.name, self.qtype, Class.IN)])
        return [Ask(server, query.encode(), zone)]

    def start(self, *, now: float) -> list:
        if not self.roots:
            return self._finish(Failed("no root hints"))
        return self._ask(self.roots[0], "")

    def receive(self, data: bytes, *, now: float) -> list:
        if self.done:
            return []
        try:
            reply = decode(data)
        except MessageError as exc:
            return self._finish(Failed(f"a broken reply: {exc}"))
        if not reply.qr or reply.id != self._id:
            return []  # not the reply to our query: keep waiting (RFC 5452 §9.1)
        if reply.answer or reply.rcode != Rcode.NOERROR or reply.aa:
            return self._finish(Answer(reply, tuple(self.asked)))
        servers = [r for r in reply.authority if r.type == Type.NS]
        if not servers:
            return self._finish(Failed("neither an answer nor a referral"))
        glue = {key(r.name): r.value for r in reply.additional if r.type == Type.A}
        for ns in servers:
            if key(ns.value) in glue:
                return self._ask(glue[key(ns.value)], ns.name)
        return self._finish(Failed("a referral without glue (this walk does not look up server names)"))

    def _finish(self, effect) -> list:
        self.done = True
        return [effect]


def referral_summary(reply: Message) -> str:
    """``com NS a.gtld-servers.net (glue 198.51.100.2)``: what a referral says, in one line."""
    parts = []
    glue = {key(r.name): r.value for r in reply.additional if r.type == Type.A}
    for r in reply.authority:
        if r.type == Type.NS:
            extra = f" (glue {glue[key(r.value)]})" if key(r.value) in glue else ""
            parts.append(f"{r.name or '.'} NS {r.value}{extra}")
    return "; ".join(parts)


__all__ = ["MAX_STEPS", "Answer", "Ask", "DelegatingServer", "Failed", "Iteration", "Record", "zone_cut"]
