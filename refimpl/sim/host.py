"""Segments, interfaces, UDP sockets and hosts of the simulated network.

A :class:`Segment` is one broadcast domain; an :class:`Interface` plugs a
:class:`Host` into it with a MAC and (maybe) an IPv4 address. A host sends
with :meth:`Host.send_udp` or its TCP stack, picks the outgoing interface by
a two-rule routing table (on-link, else the default gateway) and hands the
packet to the :class:`~refimpl.sim.network.Network`, which owns the wire.

The two sides talk through public methods only. A host asks the network for
``new_mac()``, ``record_address()``, ``transmit()``, ``drop_unroutable()`` and
``arp_probe()``; the network hands each arriving packet to ``Host.receive()``,
which gives it to ``UdpSocket.deliver()`` or to the TCP stack
(:mod:`refimpl.sim.tcp`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from refimpl.sim.packet import ANY_IP, EPHEMERAL_FIRST, Packet, Timer

if TYPE_CHECKING:  # pragma: no cover
    from refimpl.sim.network import Network


# ---------------------------------------------------------------------------
# Segments and interfaces
# ---------------------------------------------------------------------------
class Segment:
    """An L2 broadcast domain (one Ethernet switch, one Wi-Fi network)."""

    def __init__(self, net: Network, name: str, subnet: str | None = None, delay: float | None = None):
        self.net = net
        self.name = name
        self.subnet = ipaddress.ip_network(subnet) if subnet else None
        self.delay = net.default_delay if delay is None else delay
        self.interfaces: list[Interface] = []

    def hosts(self) -> list[Host]:
        return [iface.host for iface in self.interfaces]

    def find(self, *, ip: str | None = None, mac: str | None = None, exclude=None) -> Interface | None:
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

    def __init__(self, host: Host, segment: Segment, mac: str, ip: str | None = None, prefixlen: int | None = None):
        self.host = host
        self.segment = segment
        self.mac = mac
        self.ip = ANY_IP
        self.prefixlen = 0
        if ip:
            self.configure(ip, prefixlen)
        else:
            host.net.record_address(host.name, ANY_IP)

    def configure(self, ip: str, prefixlen: int | None = None) -> None:
        """Give the interface an address, e.g. after a DHCPACK. ``"192.0.2.10/24"`` works too."""
        if "/" in ip:
            ip, length = ip.split("/")
            prefixlen = int(length)
        if prefixlen is None:
            prefixlen = self.segment.subnet.prefixlen if self.segment.subnet else 24
        ipaddress.ip_address(ip)  # raises ValueError on nonsense
        self.ip, self.prefixlen = ip, prefixlen
        self.host.net.record_address(self.host.name, ip)

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

    def __init__(self, host: Host, port: int, handler: Callable[[Packet], Any] | None, flow: str = ""):
        self.host, self.port, self.handler, self.flow = host, port, handler, flow
        self.received: list[Packet] = []  # kept when no handler is given, handy in lessons

    def sendto(self, data: bytes, address: tuple[str, int], **kw) -> None:
        """Send ``data`` to ``(ip, port)`` from this port. Keywords as :meth:`Host.send_udp`."""
        kw.setdefault("flow", self.flow)
        self.host.send_udp(self.port, address[0], address[1], data, **kw)

    def close(self) -> None:
        if self.host.udp_sockets.get(self.port) is self:
            del self.host.udp_sockets[self.port]

    def deliver(self, packet: Packet) -> None:
        """A datagram for this port: to ``handler``, or kept in ``received`` when there is none."""
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

    def __init__(self, net: Network, name: str):
        from refimpl.sim.tcp import TcpStack  # TCP is its own module

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
        iface = Interface(self, segment, mac or self.net.new_mac(), ip)
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

    def configure(
        self, ip: str, prefixlen: int | None = None, gateway: str | None = None, iface: Interface | None = None
    ) -> None:
        """Set an address (and default gateway) on an interface, e.g. when a lease is bound."""
        (iface or self.iface).configure(ip, prefixlen)
        if gateway is not None:
            self.gateway = gateway

    def count_ephemeral_ports_from(self, port: int) -> None:
        """Make the next ephemeral port ``port`` (then up, wrapping to 49152 after 65535).

        Real systems differ in where they count from (Linux by default 32768-60999, the
        IANA range of RFC 6335 §6 is 49152-65535), so an exercise can give each student
        a laptop of its own. Ports below 1024 are refused: no OS hands them out as
        ephemeral ports, and a trace that showed one would teach the wrong thing.
        """
        if not 1024 <= port <= 65535:
            raise ValueError(f"{self.name}: an ephemeral port must be in 1024-65535, not {port}")
        self._next_port = port

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
                return self.net.drop_unroutable(self, packet)
            iface, next_hop = found
        if not packet.src_ip:
            packet.src_ip = iface.ip
        return self.net.transmit(iface, packet, next_hop, not_before)

    # -- receiving ---------------------------------------------------------
    def add_hook(self, hook: Callable[[Packet, Interface], Packet | None]) -> None:
        self.hooks.append(hook)

    def receive(self, packet: Packet, iface: Interface) -> str | None:
        """A packet arrived on ``iface`` (the network calls this). Returns ``None`` if it was taken, else why not."""
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
            sock.deliver(packet)
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
        return self.net.arp_probe(iface or self.iface, ip)

    def __repr__(self) -> str:
        addrs = ", ".join(f"{i.ip}@{i.segment.name}" for i in self.interfaces)
        return f"<{type(self).__name__} {self.name} [{addrs}]>"
