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

TCP lives in :mod:`refimpl.net.sim_tcp`, routers, NAT and firewalls in
:mod:`refimpl.net.sim_boxes`; this module ties them together.

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
import ipaddress
import itertools
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from refimpl.trace import BROADCAST, Event, Trace

BROADCAST_IP = "255.255.255.255"
ANY_IP = "0.0.0.0"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
EPHEMERAL_FIRST = 49152  # RFC 6335 §6: the dynamic/private port range starts here


# ---------------------------------------------------------------------------
# What travels on the wire
# ---------------------------------------------------------------------------
@dataclass
class Packet:
    """One IP packet as the simulator sees it: addresses, ports and a payload.

    ``flags`` is only used by TCP ("SYN", "SYN-ACK", "ACK", "FIN", "RST"; ""
    for a data segment). ``dst_mac`` lets a sender address a host by its
    hardware address when it has no IP yet (RFC 2131 §4.1: a server may unicast
    an OFFER to ``chaddr``/``yiaddr``). The network fills in ``iface`` (the
    receiving interface), ``src_mac`` and the description fields.
    """

    transport: str  # "udp" or "tcp"
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    payload: bytes = b""
    flags: str = ""
    dst_mac: str | None = None
    flow: str = ""
    src_mac: str = ""
    ttl: int = 16
    # filled in by the network
    iface: "Interface | None" = field(default=None, repr=False, compare=False)
    kind: str = ""
    summary: str = ""
    message: Any = field(default=None, repr=False, compare=False)

    @property
    def is_broadcast(self) -> bool:
        return self.dst_ip == BROADCAST_IP or self.dst_mac == BROADCAST_MAC

    @property
    def source(self) -> tuple[str, int]:
        """``(src_ip, src_port)``: where a reply should go."""
        return (self.src_ip, self.src_port)


class Timer:
    """A scheduled callback; ``cancel()`` it and it never runs."""

    def __init__(self, when: float, fn: Callable, args: tuple):
        self.when, self.fn, self.args = when, fn, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Timer at {self.when:.3f}{state} {getattr(self.fn, '__name__', self.fn)}>"


@dataclass
class Impairment:
    """A rule that delays or drops matching packets (loss injection).

    A packet matches when every filter given matches (``None`` = any). The
    ``count`` goes up by one for each matching packet, so ``drop_nth={2}``
    drops exactly the second match: a lesson can say "the OFFER is lost" and
    get the same picture every run. ``loss`` is a probability drawn from the
    network's seeded ``rng``.
    """

    segment: str | None = None
    src: str | None = None
    dst: str | None = None
    kind: str | None = None
    transport: str | None = None
    port: int | None = None
    match: Callable[[Packet], bool] | None = None
    loss: float = 0.0
    drop_nth: frozenset[int] = frozenset()
    delay: float | None = None
    jitter: float = 0.0
    count: int = 0
    dropped: int = 0

    def matches(self, packet: Packet, segment: str, src: str, dst: str) -> bool:
        checks = [
            (self.segment, segment),
            (self.src, src),
            (self.dst, dst),
            (self.kind, packet.kind),
            (self.transport, packet.transport),
        ]
        if any(want is not None and want != got for want, got in checks):
            return False
        if self.port is not None and self.port not in (packet.src_port, packet.dst_port):
            return False
        return self.match is None or bool(self.match(packet))


# ---------------------------------------------------------------------------
# Segments and interfaces
# ---------------------------------------------------------------------------
class Segment:
    """An L2 broadcast domain (one Ethernet switch, one Wi-Fi network)."""

    def __init__(self, net: "Network", name: str, subnet: str | None = None, delay: float | None = None):
        self.net = net
        self.name = name
        self.subnet = ipaddress.ip_network(subnet) if subnet else None
        self.delay = net.default_delay if delay is None else delay
        self.interfaces: list[Interface] = []

    def hosts(self) -> list["Host"]:
        return [iface.host for iface in self.interfaces]

    def find(self, *, ip: str | None = None, mac: str | None = None, exclude=None) -> "Interface | None":
        """The interface on this segment with that MAC (preferred) or IP: what ARP would find."""
        for iface in self.interfaces:
            if iface is exclude:
                continue
            if mac is not None and iface.mac == mac:
                return iface
            if mac is None and ip is not None and ip != ANY_IP and iface.ip == ip:
                return iface
        return None

    def __repr__(self) -> str:
        return f"<Segment {self.name} {self.subnet or ''} hosts={[h.name for h in self.hosts()]}>"


class Interface:
    """A network card: a MAC address, maybe an IPv4 address, on one segment."""

    def __init__(self, host: "Host", segment: Segment, mac: str, ip: str | None = None, prefixlen: int | None = None):
        self.host = host
        self.segment = segment
        self.mac = mac
        self.ip = ANY_IP
        self.prefixlen = 0
        if ip:
            self.configure(ip, prefixlen)
        else:
            host.net._record_address(host.name, ANY_IP)

    def configure(self, ip: str, prefixlen: int | None = None) -> None:
        """Give the interface an address, e.g. after a DHCPACK. ``"192.0.2.10/24"`` works too."""
        if "/" in ip:
            ip, length = ip.split("/")
            prefixlen = int(length)
        if prefixlen is None:
            prefixlen = self.segment.subnet.prefixlen if self.segment.subnet else 24
        ipaddress.ip_address(ip)  # raises ValueError on nonsense
        self.ip, self.prefixlen = ip, prefixlen
        self.host.net._record_address(self.host.name, ip)

    def unconfigure(self) -> None:
        """Drop the address (lease expired or released): back to 0.0.0.0."""
        self.ip, self.prefixlen = ANY_IP, 0

    @property
    def network(self):
        if self.ip == ANY_IP:
            return None
        return ipaddress.ip_interface(f"{self.ip}/{self.prefixlen}").network

    def on_link(self, ip: str) -> bool:
        """Can ``ip`` be reached directly on this segment (same subnet)?"""
        net = self.network
        return net is not None and ipaddress.ip_address(ip) in net

    def __repr__(self) -> str:
        return f"<Interface {self.host.name} {self.ip}/{self.prefixlen} {self.mac} on {self.segment.name}>"


# ---------------------------------------------------------------------------
# UDP
# ---------------------------------------------------------------------------
class UdpSocket:
    """A bound UDP port on a host. Incoming datagrams go to ``handler(packet)``."""

    def __init__(self, host: "Host", port: int, handler: Callable[[Packet], Any] | None, flow: str = ""):
        self.host, self.port, self.handler, self.flow = host, port, handler, flow
        self.received: list[Packet] = []  # kept when no handler is given, handy in lessons

    def sendto(self, data: bytes, address: tuple[str, int], **kw) -> None:
        """Send ``data`` to ``(ip, port)`` from this port. Keywords as :meth:`Host.send_udp`."""
        kw.setdefault("flow", self.flow)
        self.host.send_udp(self.port, address[0], address[1], data, **kw)

    def close(self) -> None:
        if self.host.udp_sockets.get(self.port) is self:
            del self.host.udp_sockets[self.port]

    def _deliver(self, packet: Packet) -> None:
        if self.handler is None:
            self.received.append(packet)
        else:
            self.handler(packet)


# ---------------------------------------------------------------------------
# Hosts
# ---------------------------------------------------------------------------
class Host:
    """A machine with one or more interfaces, UDP sockets, a TCP stack and timers.

    Hooks: ``host.add_hook(fn)`` with ``fn(packet, iface) -> Packet | None``
    sees every packet the host receives, before anything else; return the
    (possibly rewritten) packet to go on, or ``None`` to drop it (recorded as
    lost, "blocked by <host>"). NAT and firewall boxes are hosts with a hook.
    """

    forwarding = False  # routers set this: packets not addressed to us are routed on

    def __init__(self, net: "Network", name: str):
        from refimpl.net.sim_tcp import TcpStack  # TCP is its own module

        self.net = net
        self.name = name
        self.interfaces: list[Interface] = []
        self.gateway: str | None = None
        self.udp_sockets: dict[int, UdpSocket] = {}
        self.hooks: list[Callable[[Packet, Interface], Packet | None]] = []
        self.tcp = TcpStack(self)
        self._named_timers: dict[str, Timer] = {}
        self._next_port = EPHEMERAL_FIRST

    # -- addresses -------------------------------------------------------
    def attach(self, segment: Segment, ip: str | None = None, mac: str | None = None) -> Interface:
        """Plug a new interface into ``segment`` (give ``ip`` as "x.x.x.x" or "x.x.x.x/len")."""
        iface = Interface(self, segment, mac or self.net._next_mac(), ip)
        self.interfaces.append(iface)
        segment.interfaces.append(iface)
        return iface

    @property
    def iface(self) -> Interface:
        """The first interface (most hosts have only one)."""
        if not self.interfaces:
            raise ValueError(f"host {self.name!r} has no interface; attach() it to a segment")
        return self.interfaces[0]

    @property
    def ip(self) -> str:
        return self.iface.ip

    @property
    def mac(self) -> str:
        return self.iface.mac

    def ips(self) -> list[str]:
        return [iface.ip for iface in self.interfaces if iface.ip != ANY_IP]

    def configure(self, ip: str, prefixlen: int | None = None, gateway: str | None = None, iface: Interface | None = None) -> None:
        """Set an address (and default gateway) on an interface, e.g. when a lease is bound."""
        (iface or self.iface).configure(ip, prefixlen)
        if gateway is not None:
            self.gateway = gateway

    def ephemeral_port(self) -> int:
        """The next free port from 49152 up: deterministic, so traces repeat."""
        for _ in range(65536 - EPHEMERAL_FIRST):
            port = self._next_port
            self._next_port = port + 1 if port < 65535 else EPHEMERAL_FIRST
            if port not in self.udp_sockets and not self.tcp.port_in_use(port):
                return port
        raise RuntimeError(f"{self.name}: no free ephemeral port")

    # -- timers (for sans-I/O cores: get_timer() / handle_timer(now)) ------
    def call_at(self, when: float, fn: Callable, *args) -> Timer:
        return self.net.call_at(when, fn, *args)

    def call_later(self, delay: float, fn: Callable, *args) -> Timer:
        return self.net.call_later(delay, fn, *args)

    def set_timer(self, name: str, when: float | None, fn: Callable, *args) -> Timer | None:
        """Keep at most one timer called ``name``: re-arm it at ``when`` (``None`` cancels).

        This is the shape a sans-I/O core wants: after every input, ask the
        core ``core.get_timer()`` and call ``host.set_timer("dhcp", that, ...)``.
        """
        old = self._named_timers.pop(name, None)
        if old is not None:
            old.cancel()
        if when is None:
            return None
        timer = self.net.call_at(when, fn, *args)
        self._named_timers[name] = timer
        return timer

    # -- UDP ---------------------------------------------------------------
    def udp(self, port: int = 0, handler: Callable[[Packet], Any] | None = None, flow: str = "") -> UdpSocket:
        """Bind a UDP port (0 = pick an ephemeral one). ``handler(packet)`` gets each datagram."""
        port = port or self.ephemeral_port()
        if port in self.udp_sockets:
            raise OSError(f"{self.name}: UDP port {port} already bound")
        sock = UdpSocket(self, port, handler, flow)
        self.udp_sockets[port] = sock
        return sock

    def send_udp(
        self,
        src_port: int,
        dst_ip: str,
        dst_port: int,
        data: bytes,
        *,
        src_ip: str | None = None,
        iface: Interface | None = None,
        dst_mac: str | None = None,
        flow: str = "",
    ) -> None:
        """Send one datagram. To 255.255.255.255 it reaches the whole segment of ``iface``."""
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError(f"UDP payload must be bytes, not {type(data).__name__}")
        packet = Packet("udp", src_ip or "", src_port, dst_ip, dst_port, bytes(data), dst_mac=dst_mac, flow=flow)
        self.send(packet, iface=iface)

    # -- sending and routing ---------------------------------------------
    def route(self, dst_ip: str) -> tuple[Interface, str] | None:
        """Pick ``(interface, next hop)``: on-link first, else via the default gateway."""
        for iface in self.interfaces:
            if iface.ip == dst_ip or iface.on_link(dst_ip):
                return iface, dst_ip
        if self.gateway:
            for iface in self.interfaces:
                if iface.on_link(self.gateway) or iface.segment.find(ip=self.gateway, exclude=iface):
                    return iface, self.gateway
        return None

    def send(self, packet: Packet, iface: Interface | None = None, not_before: float = 0.0) -> tuple[float, bool]:
        """Put ``packet`` on the wire. Returns ``(arrival time, lost on the link?)``."""
        next_hop = None
        if packet.is_broadcast or packet.dst_mac:
            iface = iface or self.iface
        elif iface is not None:
            next_hop = packet.dst_ip if iface.on_link(packet.dst_ip) or not self.gateway else self.gateway
        else:
            found = self.route(packet.dst_ip)
            if found is None:
                return self.net._unroutable(self, packet)
            iface, next_hop = found
        if not packet.src_ip:
            packet.src_ip = iface.ip
        return self.net._transmit(iface, packet, next_hop, not_before)

    # -- receiving ---------------------------------------------------------
    def add_hook(self, hook: Callable[[Packet, Interface], Packet | None]) -> None:
        self.hooks.append(hook)

    def _receive(self, packet: Packet, iface: Interface) -> str | None:
        """Handle an arriving packet. Returns ``None`` if it was taken, else why not."""
        for hook in self.hooks:
            packet = hook(packet, iface)
            if packet is None:
                return f"blocked by {self.name}"
        packet.iface = iface
        mine = packet.is_broadcast or packet.dst_ip in self.ips() or not self.forwarding
        if mine:
            return self._deliver_local(packet)
        return self._forward(packet)

    def _deliver_local(self, packet: Packet) -> str | None:
        if packet.transport == "udp":
            sock = self.udp_sockets.get(packet.dst_port)
            if sock is None:
                return f"no listener on {packet.dst_port}"
            sock._deliver(packet)
            return None
        if packet.transport == "tcp":
            return self.tcp.receive(packet)
        return f"unknown transport {packet.transport}"

    def _forward(self, packet: Packet) -> str | None:
        # RFC 1812 §5.3.5.1: a router never forwards a limited broadcast.
        if packet.is_broadcast:
            return None
        if packet.ttl <= 1:
            return "TTL expired"
        found = self.route(packet.dst_ip)
        if found is None:
            return "no route"
        out, _ = found
        fwd = replace(packet, ttl=packet.ttl - 1, dst_mac=None, iface=None, kind="", summary="", message=None)
        self.send(fwd, iface=out)
        return None

    # -- ARP (RFC 5227 probe) --------------------------------------------
    def arp_probe(self, ip: str, iface: Interface | None = None) -> bool:
        """Ask "is ``ip`` in use on my segment?" (an ARP probe, sender IP 0.0.0.0).

        RFC 2131 §2.2 says a client SHOULD check an offered address before
        using it; RFC 5227 §2.1.1 says how: a broadcast ARP request with
        sender IP 0.0.0.0. The sim answers at once from the configured
        interfaces and records both the probe and any reply in the trace.
        """
        return self.net._arp_probe(self, iface or self.iface, ip)

    def __repr__(self) -> str:
        addrs = ", ".join(f"{i.ip}@{i.segment.name}" for i in self.interfaces)
        return f"<{type(self).__name__} {self.name} [{addrs}]>"


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

    def host(self, name: str, segment: Segment | None = None, ip: str | None = None, mac: str | None = None, gateway: str | None = None) -> Host:
        """Add a host; with ``segment`` it gets one interface (``ip=None``: unconfigured, 0.0.0.0)."""
        host = self._add_host(Host(self, name))
        if segment is not None:
            host.attach(segment, ip, mac)
        host.gateway = gateway
        return host

    def router(self, name: str, *links: tuple[Segment, str], gateway: str | None = None) -> Host:
        """A router joining segments: ``net.router("r", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))``."""
        from refimpl.net.sim_boxes import Router

        return self._attach_all(Router(self, name), links, gateway)

    def box(self, name: str, *links: tuple[Segment, str], hook: Callable | None = None, gateway: str | None = None) -> Host:
        """A generic forwarding box; ``hook(box, packet, iface) -> Packet | None`` inspects/rewrites/drops."""
        from refimpl.net.sim_boxes import Router

        box = self._attach_all(Router(self, name), links, gateway)
        if hook is not None:
            box.add_hook(lambda packet, iface: hook(box, packet, iface))
        return box

    def nat(self, name: str, inside: tuple[Segment, str], outside: tuple[Segment, str], gateway: str | None = None) -> Host:
        """A NAT box (RFC 3022 NAPT): inside hosts share the outside address; unsolicited inbound is dropped."""
        from refimpl.net.sim_boxes import NatBox

        return self._attach_all(NatBox(self, name), (inside, outside), gateway)

    def firewall(self, name: str, inside: tuple[Segment, str], outside: tuple[Segment, str], allow=(), gateway: str | None = None) -> Host:
        """A stateful firewall: outbound and replies pass, new inbound only to ``allow`` = [("tcp", 21), ...]."""
        from refimpl.net.sim_boxes import FirewallBox

        box = self._attach_all(FirewallBox(self, name), (inside, outside), gateway)
        box.allow = {(t, p) for t, p in allow}
        return box

    def _attach_all(self, host: Host, links, gateway) -> Host:
        self._add_host(host)
        for segment, ip in links:
            host.attach(segment, ip)
        host.gateway = gateway
        return host

    def _next_mac(self) -> str:
        n = next(self._macs)
        # 02:... is a locally administered address (IEEE 802: bit 1 of the first octet)
        return "02:00:00:00:{:02x}:{:02x}".format(n >> 8 & 0xFF, n & 0xFF)

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
        for key in (packet.flow, (packet.transport, packet.dst_port), (packet.transport, packet.src_port), packet.dst_port, packet.src_port):
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

    def _record_address(self, name: str, ip: str) -> None:
        """Remember every address a host had: the lifeline headers of the diagrams show them."""
        known = self.trace.addresses.setdefault(name, [])
        if ip not in known:
            known.append(ip)

    # -- notes --------------------------------------------------------------
    def note(self, host: Host | str, text: str, summary: str = "") -> None:
        """Add an annotation on a host's lifeline, e.g. ``net.note(client, "T1 reached")``."""
        name = host.name if isinstance(host, Host) else host
        self.trace.append(Event(self.now, name, name, "note", text, summary=summary))

    # -- the wire -------------------------------------------------------------
    def _transmit(self, iface: Interface, packet: Packet, next_hop: str | None, not_before: float = 0.0) -> tuple[float, bool]:
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

    def _arrive(self, iface: Interface, packet: Packet, receivers: list[Interface], dst_name: str, lost: bool, reason: str) -> None:
        event = Event(
            self.now, iface.host.name, dst_name, packet.transport, packet.kind,
            src_ip=packet.src_ip, src_port=packet.src_port, dst_ip=packet.dst_ip, dst_port=packet.dst_port,
            message=packet.message, raw=packet.payload, summary=packet.summary, flow=packet.flow,
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
            result = receiver.host._receive(copy, receiver)
            taken = taken or result is None
            why = why or (result or "")
        if not taken:
            self.trace.events[index] = replace(event, lost=True, summary=_with_reason(event.summary, why))

    def _unroutable(self, host: Host, packet: Packet) -> tuple[float, bool]:
        self._describe(packet)
        packet.src_ip = packet.src_ip or host.ip
        seg = host.iface.segment if host.interfaces else None
        arrival = self.now + (seg.delay if seg else self.default_delay)
        self.call_at(arrival, self._arrive, host.iface, packet, [], packet.dst_ip, True, "no route")
        return arrival, True

    def _arp_probe(self, host: Host, iface: Interface, ip: str) -> bool:
        seg = iface.segment
        others = tuple(i.host.name for i in seg.interfaces if i is not iface)
        self.trace.append(Event(
            self.now, host.name, BROADCAST, "arp", "ARP probe", src_ip=ANY_IP, dst_ip=ip,
            summary=f"who-has {ip}? tell {iface.mac}", reached=others, flow="arp",
        ))
        owner = seg.find(ip=ip, exclude=iface)
        if owner is not None:
            self.trace.append(Event(
                self.now, owner.host.name, host.name, "arp", "ARP reply", src_ip=ip, dst_ip=ANY_IP,
                summary=f"{ip} is-at {owner.mac}", flow="arp",
            ))
        return owner is not None


def _with_reason(summary: str, reason: str) -> str:
    return f"{summary} [{reason}]".strip() if reason else summary


def default_description(packet: Packet) -> tuple[str, str]:
    """``(kind, summary)`` when no decoder is registered.

    A CRLF-terminated text line (FTP commands and replies use Telnet end of
    line, RFC 959 §4) becomes kind = its first word and summary = the rest,
    e.g. ``("227", "Entering Passive Mode (...)")``; other bytes become
    ``("DATA", "1460 bytes")``.
    """
    raw = packet.payload
    if packet.flags and not raw:
        return packet.flags, ""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text and text.endswith("\r\n") and all(c.isprintable() or c in "\r\n\t" for c in text):
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
        first = lines[0] if lines else ""
        kind, _, rest = first.partition(" ")
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        return kind or "DATA", (rest + more).strip()
    name = "DATA" if packet.transport == "tcp" else packet.transport.upper()
    return name, f"{len(raw)} bytes"
