"""A deterministic simulated network: hosts, segments, UDP, TCP and a virtual clock.

Why simulate? A lesson must print the same thing every time it runs, must not
need root, and must be able to *break* the network on purpose ("drop the 2nd
packet", "put a NAT in front of the client"). So this module gives the sans-I/O
protocol cores a tiny, predictable world:

* **Virtual clock and event queue.** ``net.now`` is a float in seconds. Nothing
  sleeps: :meth:`Network.run` pops scheduled callbacks (a ``heapq``) in time
  order and jumps the clock to each one. ``run`` is always bounded
  (``until=`` and ``max_events=``), so a buggy protocol cannot hang a notebook.
* **Seeded randomness.** ``net.rng = random.Random(seed)`` decides random loss
  and jitter; same seed, same trace, byte for byte.
* **Segments are Ethernet broadcast domains.** Every :class:`Interface` sits on
  one :class:`Segment`. A datagram to 255.255.255.255 reaches every other
  interface on that segment and never crosses a router (RFC 919 §7; RFC 1812
  §5.3.5.1: limited broadcasts are not forwarded).
* **The sim knows no protocol.** It moves bytes. To get readable traces, a
  protocol registers a decoder: ``net.describe(67, fn)`` where
  ``fn(raw) -> (kind, summary, message)``.
* **Everything on the wire is recorded** in ``net.trace`` (a
  :class:`refimpl.trace.Trace`), delivered or lost, one event per hop.

The pieces live in small modules: packets, timers and loss rules in
:mod:`refimpl.sim.packet`; segments, interfaces, UDP and hosts in
:mod:`refimpl.sim.host`; TCP in :mod:`refimpl.sim.tcp`; routers, NAT
and firewalls in :mod:`refimpl.sim.boxes`. This module is the network
itself (clock, queue, wire, trace) and imports them all, so
``from refimpl.sim.network import Network, Packet, Host`` is all a lesson needs.

Example::

    net = Network(seed=1)
    lan = net.segment("lan", "192.0.2.0/24")
    server = net.host("server", lan, ip="192.0.2.1")
    client = net.host("client", lan)              # no address yet: 0.0.0.0
    server.udp(67, lambda pkt: server.send_udp(67, pkt.src_ip, 68, b"hi"))
    client.udp(68, lambda pkt: print(pkt.payload))
    client.send_udp(68, "255.255.255.255", 67, b"hello?")
    net.run(until=1)
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from refimpl.sim.host import Host, Interface, Segment, UdpSocket
from refimpl.sim.packet import (
    ANY_IP,
    BROADCAST_IP,
    BROADCAST_MAC,
    EPHEMERAL_FIRST,
    Impairment,
    Packet,
    Timer,
    default_description,
)
from refimpl.trace import BROADCAST, Event, Trace

__all__ = [
    "ANY_IP",
    "BROADCAST_IP",
    "BROADCAST_MAC",
    "EPHEMERAL_FIRST",
    "Host",
    "Impairment",
    "Interface",
    "Network",
    "Packet",
    "Segment",
    "Timer",
    "UdpSocket",
    "default_description",
]


# ---------------------------------------------------------------------------
# The network: clock, queue, wire, trace
# ---------------------------------------------------------------------------
class Network:
    """The whole simulated world. Build it, then ``run()`` it.

    ``delay`` is the default one-hop latency in seconds (each segment may
    override it).
    """

    def __init__(self, seed: int = 0, delay: float = 0.001):
        self.now = 0.0
        self.rng = random.Random(seed)
        self.seed = seed
        self.default_delay = delay
        self.trace = Trace()
        self.segments: dict[str, Segment] = {}
        self.hosts: dict[str, Host] = {}
        self.impairments: list[Impairment] = []
        self.mss = 1460  # largest TCP payload per segment
        self.tcp_rto = 1.0  # first SYN retransmission timeout (RFC 6298 §2.1: 1 s)
        self.tcp_syn_retries = 3
        self._describers: dict[Any, tuple[Callable, str]] = {}
        self._queue: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._macs = itertools.count(1)

    # -- building ----------------------------------------------------------
    def segment(self, name: str, subnet: str | None = None, delay: float | None = None) -> Segment:
        if name in self.segments:
            raise ValueError(f"segment {name!r} already exists")
        seg = Segment(self, name, subnet, delay)
        self.segments[name] = seg
        return seg

    def _add_host(self, host: Host) -> Host:
        if host.name in self.hosts:
            raise ValueError(f"host {host.name!r} already exists")
        if not host.name or host.name == BROADCAST:
            raise ValueError(f"bad host name {host.name!r}")
        self.hosts[host.name] = host
        return host

    def host(
        self,
        name: str,
        segment: Segment | None = None,
        ip: str | None = None,
        mac: str | None = None,
        gateway: str | None = None,
    ) -> Host:
        """Add a host; with ``segment`` it gets one interface (``ip=None``: unconfigured, 0.0.0.0)."""
        host = self._add_host(Host(self, name))
        if segment is not None:
            host.attach(segment, ip, mac)
        host.gateway = gateway
        return host

    def router(self, name: str, *links: tuple[Segment, str], gateway: str | None = None) -> Host:
        """A router joining segments: ``net.router("r", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))``."""
        from refimpl.sim.boxes import Router

        return self._attach_all(Router(self, name), links, gateway)

    def box(
        self, name: str, *links: tuple[Segment, str], hook: Callable | None = None, gateway: str | None = None
    ) -> Host:
        """A generic forwarding box; ``hook(box, packet, iface) -> Packet | None`` inspects/rewrites/drops."""
        from refimpl.sim.boxes import Router

        box = self._attach_all(Router(self, name), links, gateway)
        if hook is not None:
            box.add_hook(lambda packet, iface: hook(box, packet, iface))
        return box

    def nat(
        self, name: str, inside: tuple[Segment, str], outside: tuple[Segment, str], gateway: str | None = None
    ) -> Host:
        """A NAT box (RFC 3022 NAPT): inside hosts share the outside address; unsolicited inbound is dropped."""
        from refimpl.sim.boxes import NatBox

        return self._attach_all(NatBox(self, name), (inside, outside), gateway)

    def firewall(
        self, name: str, inside: tuple[Segment, str], outside: tuple[Segment, str], allow=(), gateway: str | None = None
    ) -> Host:
        """A stateful firewall: outbound and replies pass, new inbound only to ``allow`` = [("tcp", 21), ...]."""
        from refimpl.sim.boxes import FirewallBox

        box = self._attach_all(FirewallBox(self, name), (inside, outside), gateway)
        box.allow = {(t, p) for t, p in allow}
        return box

    def _attach_all(self, host: Host, links, gateway) -> Host:
        self._add_host(host)
        for segment, ip in links:
            host.attach(segment, ip)
        host.gateway = gateway
        return host

    def topology(self) -> str:
        """The network as text: each segment with the interfaces on it (a lesson's first print)."""
        lines = []
        for seg in self.segments.values():
            lines.append(f"segment {seg.name} {seg.subnet or ''} (delay {seg.delay * 1000:g} ms)".replace("  ", " "))
            for iface in seg.interfaces:
                host = iface.host
                address = f"{iface.ip}/{iface.prefixlen}" if iface.ip != ANY_IP else "0.0.0.0 (no address)"
                extra = f"  gateway {host.gateway}" if host.gateway else ""
                role = f"  [{type(host).__name__.lower()}]" if type(host) is not Host else ""
                lines.append(f"  {host.name:<10} {address:<20} {iface.mac}{extra}{role}")
        return "\n".join(lines)

    # -- loss and delay injection -------------------------------------------
    def impair(self, **rule) -> Impairment:
        """Add a loss/delay rule, e.g. ``net.impair(kind="DHCPOFFER", drop_nth={1})``.

        Filters: segment (name), src, dst (host names), kind, transport, port,
        match (callable). Effects: loss (probability), drop_nth (set of match
        numbers, 1-based), delay (seconds), jitter (seconds, uniform).
        """
        if "segment" in rule and isinstance(rule["segment"], Segment):
            rule["segment"] = rule["segment"].name
        for key in ("src", "dst"):
            if isinstance(rule.get(key), Host):
                rule[key] = rule[key].name
        rule["drop_nth"] = frozenset(rule.get("drop_nth", ()))
        loss = rule.get("loss", 0.0)
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss must be a probability in [0, 1], not {loss}")
        imp = Impairment(**rule)
        self.impairments.append(imp)
        return imp

    # -- describing packets -------------------------------------------------
    def describe(self, key, fn: Callable[[bytes], tuple[str, str, Any]], flow: str = "") -> None:
        """Register a decoder: ``fn(raw) -> (kind, summary, message)``.

        ``key`` is a port (``67``: either end), ``("udp", 67)``, or a flow
        name (``"ftp-data"``). ``flow`` names the conversation in the trace.
        """
        self._describers[key] = (fn, flow)

    def _describe(self, packet: Packet) -> None:
        if packet.flags and not packet.payload:
            packet.kind, packet.summary = packet.flags, ""
            return
        keys = (
            packet.flow,
            (packet.transport, packet.dst_port),
            (packet.transport, packet.src_port),
            packet.dst_port,
            packet.src_port,
        )  # the most specific first
        for key in keys:
            if key and key in self._describers:
                fn, flow = self._describers[key]
                try:
                    packet.kind, packet.summary, packet.message = fn(packet.payload)
                except Exception as exc:  # bad bytes must not stop the simulation
                    packet.kind, packet.summary = "?", f"undecodable: {exc}"
                packet.flow = packet.flow or flow
                return
        packet.kind, packet.summary = default_description(packet)

    # -- clock and queue ----------------------------------------------------
    def call_at(self, when: float, fn: Callable, *args) -> Timer:
        """Run ``fn(*args)`` at virtual time ``when`` (never in the past)."""
        timer = Timer(max(when, self.now), fn, args)
        heapq.heappush(self._queue, (timer.when, next(self._order), timer))
        return timer

    def call_later(self, delay: float, fn: Callable, *args) -> Timer:
        return self.call_at(self.now + delay, fn, *args)

    def pending(self) -> int:
        """How many scheduled callbacks are still waiting."""
        return sum(1 for _, _, t in self._queue if not t.cancelled)

    def run(self, until: float | None = None, max_events: int = 100_000) -> int:
        """Process scheduled callbacks in time order; returns how many ran.

        Stops when the queue is empty, the next callback is later than
        ``until`` (the clock then moves to ``until``), or ``max_events`` ran.
        """
        if max_events < 0:
            raise ValueError("max_events must be >= 0")
        done = 0
        while self._queue and done < max_events:
            when, _, timer = self._queue[0]
            if until is not None and when > until:
                break
            heapq.heappop(self._queue)
            if timer.cancelled:
                continue
            self.now = when
            timer.fn(*timer.args)
            done += 1
        if until is not None and until > self.now and done < max_events:
            self.now = until
        return done

    # -- notes --------------------------------------------------------------
    def note(self, host: Host | str, text: str, summary: str = "") -> None:
        """Add an annotation on a host's lifeline, e.g. ``net.note(client, "T1 reached")``."""
        name = host.name if isinstance(host, Host) else host
        self.trace.append(Event(self.now, name, name, "note", text, summary=summary))

    # -- what hosts call: the network's side of a host ----------------------
    # A Host (sim/host.py) owns its interfaces, sockets and routing table; the
    # Network owns the clock, the wire and the trace. Besides the clock
    # (call_at, call_later), these five methods are all a host asks of it.
    def new_mac(self) -> str:
        """A fresh MAC address for a new interface: 02:00:00:00:00:01, ...02, ... (deterministic)."""
        n = next(self._macs)
        # 02:... is a locally administered address (IEEE 802: bit 1 of the first octet)
        return f"02:00:00:00:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}"

    def record_address(self, name: str, ip: str) -> None:
        """Remember every address a host had: the lifeline headers of the diagrams show them."""
        known = self.trace.addresses.setdefault(name, [])
        if ip not in known:
            known.append(ip)

    def transmit(
        self, iface: Interface, packet: Packet, next_hop: str | None, not_before: float = 0.0
    ) -> tuple[float, bool]:
        """Put ``packet`` on the segment of ``iface``, towards ``next_hop`` (or everyone, if a broadcast).

        Applies the impairments, schedules the arrival (never before
        ``not_before``: TCP keeps its segments in order that way) and returns
        ``(arrival time, lost?)``; lost means dropped or nobody there to take it.
        """
        seg = iface.segment
        packet.src_mac = iface.mac
        self._describe(packet)
        if packet.is_broadcast:
            receivers = [i for i in seg.interfaces if i is not iface]
            dst_name = BROADCAST
        else:
            target = seg.find(mac=packet.dst_mac) if packet.dst_mac else seg.find(ip=next_hop, exclude=iface)
            receivers = [target] if target else []
            dst_name = target.host.name if target else packet.dst_ip
        delay, lost = seg.delay, False
        for imp in self.impairments:
            if imp.matches(packet, seg.name, iface.host.name, dst_name):
                imp.count += 1
                if imp.count in imp.drop_nth or (imp.loss and self.rng.random() < imp.loss):
                    lost = True
                    imp.dropped += 1
                if imp.delay is not None:
                    delay = max(delay, imp.delay)
                if imp.jitter:
                    delay += self.rng.uniform(0.0, imp.jitter)
        arrival = max(self.now + delay, not_before)
        reason = "" if receivers else "no host " + (packet.dst_mac or next_hop or packet.dst_ip)
        self.call_at(arrival, self._arrive, iface, packet, receivers, dst_name, lost, reason)
        return arrival, lost or not receivers

    def drop_unroutable(self, host: Host, packet: Packet) -> tuple[float, bool]:
        """``host`` has no route for ``packet``: record it as lost ("no route") after one hop's delay."""
        self._describe(packet)
        packet.src_ip = packet.src_ip or host.ip
        seg = host.iface.segment if host.interfaces else None
        arrival = self.now + (seg.delay if seg else self.default_delay)
        self.call_at(arrival, self._arrive, host.iface, packet, [], packet.dst_ip, True, "no route")
        return arrival, True

    def arp_probe(self, iface: Interface, ip: str) -> bool:
        """Is ``ip`` in use on the segment of ``iface``? Records the probe and any reply (RFC 5227 §2.1.1)."""
        seg = iface.segment
        host = iface.host
        others = tuple(i.host.name for i in seg.interfaces if i is not iface)
        self.trace.append(
            Event(
                self.now,
                host.name,
                BROADCAST,
                "arp",
                "ARP probe",
                src_ip=ANY_IP,
                dst_ip=ip,
                summary=f"who-has {ip}? tell {iface.mac}",
                reached=others,
                flow="arp",
            )
        )
        owner = seg.find(ip=ip, exclude=iface)
        if owner is not None:
            self.trace.append(
                Event(
                    self.now,
                    owner.host.name,
                    host.name,
                    "arp",
                    "ARP reply",
                    src_ip=ip,
                    dst_ip=ANY_IP,
                    summary=f"{ip} is-at {owner.mac}",
                    flow="arp",
                )
            )
        return owner is not None

    # -- the wire: arrival ---------------------------------------------------
    def _arrive(
        self, iface: Interface, packet: Packet, receivers: list[Interface], dst_name: str, lost: bool, reason: str
    ) -> None:
        event = Event(
            self.now,
            iface.host.name,
            dst_name,
            packet.transport,
            packet.kind,
            src_ip=packet.src_ip,
            src_port=packet.src_port,
            dst_ip=packet.dst_ip,
            dst_port=packet.dst_port,
            message=packet.message,
            raw=packet.payload,
            summary=packet.summary,
            flow=packet.flow,
            reached=tuple(r.host.name for r in receivers) if dst_name == BROADCAST else (),
        )
        if lost or reason:
            self.trace.append(replace(event, lost=True, summary=_with_reason(event.summary, reason)))
            return
        index = len(self.trace.events)
        self.trace.append(event)  # first, so notes made by the receiver come after it
        taken, why = False, ""
        for receiver in receivers:
            copy = replace(packet, iface=None)
            result = receiver.host.receive(copy, receiver)
            taken = taken or result is None
            why = why or (result or "")
        if not taken:
            self.trace.events[index] = replace(event, lost=True, summary=_with_reason(event.summary, why))


def _with_reason(summary: str, reason: str) -> str:
    return f"{summary} [{reason}]".strip() if reason else summary
