"""Plug the sans-I/O DNS cores into the simulated network: a server, a stub resolver, a recursive resolver.

* :class:`DnsServerHost`: an :class:`~refimpl.dns.server.AuthoritativeServer`
  (or a :class:`~refimpl.dns.referral.DelegatingServer`) on UDP and TCP port 53
  of a simulated host. Over TCP each message has the 2-byte length in front
  (RFC 1035 §4.2.2); the server leaves closing to the client (§4.2.2: "The
  server should assume that the client will initiate connection closing").
* :class:`StubHost`: a :class:`~refimpl.dns.resolver.StubResolver` asking one
  server: UDP, retries on its timer, TCP when the answer comes back truncated.
* :class:`RecursiveHost`: a recursive resolver. It takes a stub's query on
  UDP 53, walks from the root with :class:`~refimpl.dns.referral.Iteration`
  and answers the stub with RA=1 (RFC 1034 §4.3.1). No cache (policy: the
  lesson's walk is one question).

Every DNS packet is labelled by :func:`refimpl.dns.describe.describe_message`,
the same labels the capture reader (:mod:`refimpl.capture.dns`) gives, so a
simulated run and a real capture print and draw alike. Nothing here decides
anything about DNS: every rule lives in the cores.
"""

from __future__ import annotations

from refimpl.dns.describe import describe_message
from refimpl.dns.message import Message, decode
from refimpl.dns.referral import Answer, Ask, Failed, Iteration
from refimpl.dns.resolver import Done, SendTcp, SendUdp, StubResolver
from refimpl.dns.resolver import Failed as StubFailed
from refimpl.dns.server import Note, Send

DNS_PORT = 53  # RFC 1035 §4.2
FLOW = "dns"


def register(net) -> None:
    """Make ``net``'s trace read DNS on UDP and TCP port 53."""
    net.describe(("udp", DNS_PORT), describe_message, flow=FLOW)
    net.describe(("tcp", DNS_PORT), lambda raw: describe_message(raw, framed=True), flow=FLOW)


def frame(data: bytes) -> bytes:
    """RFC 1035 §4.2.2: "The message is prefixed with a two byte length field"."""
    return len(data).to_bytes(2, "big") + data


class _Framer:
    """Whole messages out of a TCP byte stream (a segment may hold part of one, or several)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        messages = []
        while len(self.buffer) >= 2:
            size = int.from_bytes(self.buffer[:2], "big")
            if len(self.buffer) < 2 + size:
                break
            messages.append(bytes(self.buffer[2 : 2 + size]))
            del self.buffer[: 2 + size]
        return messages


class DnsServerHost:
    """A DNS server core on UDP and TCP ``port`` of a simulated host; its notes go into :attr:`log`."""

    def __init__(self, net, host, server, port: int = DNS_PORT, epoch: float = 0.0):
        self.net, self.host, self.server, self.port, self.epoch = net, host, server, port, epoch
        self.log: list[str] = []
        self.udp = host.udp(port, self._on_datagram, flow=FLOW)
        self.listener = host.tcp.listen(port, self._on_accept, flow=FLOW)

    def _effects(self, effects, send) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                send(effect)
            elif isinstance(effect, Note):
                self.log.append(f"t={self.net.now:g} {effect.text}")

    def _on_datagram(self, packet) -> None:
        effects = self.server.receive(packet.payload, packet.source, now=self.epoch + self.net.now)
        self._effects(effects, lambda e: self.udp.sendto(e.data, e.to, flow=FLOW))

    def _on_accept(self, conn) -> None:
        framer = _Framer()

        def on_data(conn, data: bytes) -> None:
            for message in framer.feed(data):
                effects = self.server.receive(message, conn.remote, now=self.epoch + self.net.now, tcp=True)
                self._effects(effects, lambda e: conn.send(frame(e.data)))

        conn.on_data = on_data


class StubHost:
    """A stub resolver on a simulated host: one question to ``server_ip``; the result in :attr:`result`."""

    def __init__(self, net, host, server_ip: str, resolver: StubResolver):
        self.net, self.host, self.server_ip, self.resolver = net, host, server_ip, resolver
        self.result: Done | StubFailed | None = None
        self.udp = host.udp(0, self._on_datagram, flow=FLOW)
        self._timer = None

    def start(self, at: float = 0.0) -> None:
        self.net.call_at(at, lambda: self._run(self.resolver.start(now=self.net.now)))

    def _run(self, effects) -> None:
        for effect in effects:
            if isinstance(effect, SendUdp):
                self.udp.sendto(effect.data, (self.server_ip, DNS_PORT), flow=FLOW)
            elif isinstance(effect, SendTcp):
                self._ask_over_tcp(effect.data)
            else:
                self.result = effect
        if self._timer is not None:
            self._timer.cancelled = True
        when = self.resolver.get_timer()
        self._timer = self.net.call_at(when, self._on_timer) if when is not None else None

    def _ask_over_tcp(self, data: bytes) -> None:
        framer = _Framer()

        def on_data(conn, chunk: bytes) -> None:
            for message in framer.feed(chunk):
                conn.close()  # one question per connection; the client closes (RFC 1035 §4.2.2)
                self._run(self.resolver.receive(message, now=self.net.now, tcp=True))

        self.host.tcp.connect(
            (self.server_ip, DNS_PORT), flow=FLOW, on_connect=lambda conn: conn.send(frame(data)), on_data=on_data
        )

    def _on_datagram(self, packet) -> None:
        if packet.src_ip == self.server_ip:  # RFC 5452 §9.1: only from the server we asked
            self._run(self.resolver.receive(packet.payload, now=self.net.now))

    def _on_timer(self) -> None:
        self._timer = None
        self._run(self.resolver.handle_timer(now=self.net.now))


class RecursiveHost:
    """A recursive resolver on UDP 53: each stub query becomes one walk from ``roots`` down."""

    def __init__(self, net, host, roots: tuple[str, ...], ids):
        self.net, self.host, self.roots, self.ids = net, host, roots, ids
        self.walks: list[Iteration] = []
        self.results: list = []
        self.service = host.udp(DNS_PORT, self._on_query, flow=FLOW)
        self.upstream = host.udp(0, self._on_reply, flow=FLOW)
        self._current: tuple[Iteration, Message, tuple] | None = None

    def _on_query(self, packet) -> None:
        query = decode(packet.payload)
        q = query.question
        walk = Iteration(q.name, q.type, roots=self.roots, ids=self.ids)
        self.walks.append(walk)
        self._current = (walk, query, packet.source)
        self._run(walk.start(now=self.net.now))

    def _on_reply(self, packet) -> None:
        if self._current is not None:
            self._run(self._current[0].receive(packet.payload, now=self.net.now))

    def _run(self, effects) -> None:
        walk, query, stub = self._current
        for effect in effects:
            if isinstance(effect, Ask):
                self.upstream.sendto(effect.data, (effect.server, DNS_PORT), flow=FLOW)
            elif isinstance(effect, (Answer, Failed)):
                self.results.append(effect)
                reply = query.reply()
                reply.ra = True  # RFC 1035 §4.1.1: recursion available here
                if isinstance(effect, Answer):
                    reply.rcode, reply.answer = effect.message.rcode, list(effect.message.answer)
                    reply.authority = list(effect.message.authority) if not reply.answer else []
                else:
                    reply.rcode = 2  # SERVFAIL
                self.service.sendto(reply.encode(), stub, flow=FLOW)
                self._current = None


__all__ = ["DNS_PORT", "DnsServerHost", "RecursiveHost", "StubHost", "frame", "register"]
