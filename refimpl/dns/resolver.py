"""A stub resolver's core: one question, UDP with retries, TCP when the answer is truncated.

RFC 1035 §4.2.1: queries go over UDP first; RFC 1035 §7.2 asks a resolver to
resend when no answer comes; a UDP answer with TC=1 is asked again over TCP
(RFC 1035 §4.2.1, RFC 7766 §5), never used as if it were whole (RFC 2181 §9).
The answer is accepted only if its ID and question match ours, and the driver
takes it only from the server we asked (the checks RFC 5452 §9.1 lists against
spoofing).

The effects tell the driver what to do:

    SendUdp(data)   send one datagram to the server
    SendTcp(data)   open a TCP connection, send it with its 2-byte length (RFC 1035 §4.2.2),
                    feed back the first message read
    Done(message)   the answer (any RCODE: NXDOMAIN is an answer too)
    Failed(reason)  no answer after ``tries`` attempts, or a broken TCP answer

``get_timer()`` is when to give up waiting; ``handle_timer(now=...)`` resends or fails.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from .errors import MessageError
from .message import Edns, Message, Question, decode
from .names import key
from .records import Class


@dataclass(frozen=True)
class SendUdp:
    data: bytes


@dataclass(frozen=True)
class SendTcp:
    data: bytes


@dataclass(frozen=True)
class Done:
    message: Message
    over_tcp: bool


@dataclass(frozen=True)
class Failed:
    reason: str


Effect = SendUdp | SendTcp | Done | Failed


class StubResolver:
    def __init__(
        self,
        name: str,
        qtype: int,
        *,
        timeout: float = 2.0,
        tries: int = 3,
        edns_size: int | None = 1232,
        recursion: bool = True,
        tcp_only: bool = False,
        ids=None,
    ):
        self.question = Question(name, qtype, Class.IN)
        self.timeout, self.tries = timeout, tries
        self.query = Message(
            # RFC 5452 §4: unpredictable IDs; ``ids`` (a seeded random.Random) for a simulation that must repeat
            id=secrets.randbelow(65536) if ids is None else ids.randrange(65536),
            rd=recursion,
            questions=[self.question],
            edns=Edns(edns_size) if edns_size else None,
        )
        self.sent = 0
        self.deadline: float | None = None
        self.tcp = tcp_only
        self.done = False

    def start(self, *, now: float) -> list[Effect]:
        return self._send(now)

    def _send(self, now: float) -> list[Effect]:
        self.sent += 1
        self.deadline = now + self.timeout
        data = self.query.encode()
        return [SendTcp(data) if self.tcp else SendUdp(data)]

    def receive(self, data: bytes, *, now: float, tcp: bool = False) -> list[Effect]:
        if self.done or tcp != self.tcp:
            return []
        try:
            reply = decode(data)
        except MessageError as exc:
            if tcp:
                return self._finish(Failed(f"a broken answer over TCP: {exc}"))
            return []  # over UDP, maybe not even from the server: keep waiting (RFC 5452 §9.1)
        if not reply.qr or reply.id != self.query.id or not self._same_question(reply):
            return [] if not tcp else self._finish(Failed("the TCP answer does not match the query"))
        if reply.tc and not tcp:
            self.tcp, self.sent = True, 0  # RFC 7766 §5: truncated over UDP -> ask again over TCP
            return self._send(now)
        return self._finish(Done(reply, tcp))

    def _same_question(self, reply: Message) -> bool:
        if len(reply.questions) != 1:
            return False
        q = reply.questions[0]
        return key(q.name) == key(self.question.name) and (q.type, q.cls) == (self.question.type, self.question.cls)

    def _finish(self, effect: Effect) -> list[Effect]:
        self.done, self.deadline = True, None
        return [effect]

    def get_timer(self) -> float | None:
        return self.deadline

    def handle_timer(self, *, now: float) -> list[Effect]:
        if self.done or self.deadline is None or now < self.deadline:
            return []
        if self.sent >= self.tries:
            return self._finish(Failed(f"no answer after {self.sent} tries over {'TCP' if self.tcp else 'UDP'}"))
        return self._send(now)
