"""Boxes in the middle of the simulated network: routers, NAT, firewalls.

A box is a :class:`~refimpl.sim.network.Host` with ``forwarding = True`` and
interfaces on several segments. Anything that wants to look at, rewrite or
drop packets on their way through (a NAT, a firewall, a DHCP relay, a
student's own experiment) adds a hook: ``box.add_hook(fn)`` with
``fn(packet, iface) -> Packet | None``. ``None`` drops the packet and the
trace shows it as lost, "blocked by <box>".

Why NAT and firewalls in an FTP course? Because FTP puts addresses *inside*
its commands (``PORT 192,0,2,10,195,80``, RFC 959 §4.1.2) and opens a second
connection, in active mode *from the server to the client*. A NAT or a
stateful firewall in front of the client drops that inbound SYN; passive mode
(the client connects out, RFC 959 ``PASV``) gets through. The lessons show
both side by side.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from refimpl.sim.host import Host, Interface
from refimpl.sim.packet import Packet


class Router(Host):
    """Forwards packets between its segments: to the attached subnet that holds the destination, else to ``gateway``."""

    forwarding = True


class TwoSidedBox(Router):
    """A box with an inside (its first interface) and an outside (its second)."""

    @property
    def inside(self) -> Interface:
        return self.interfaces[0]

    @property
    def outside(self) -> Interface:
        return self.interfaces[1]


class NatBox(TwoSidedBox):
    """A NAPT (RFC 3022 §2.2): inside hosts share the outside address.

    The first interface is *inside*, the second *outside*. Outbound packets
    get the outside address and a mapped port (the inside port if it is free:
    "port preservation", RFC 4787 §4.1). Inbound packets pass only if they
    answer a mapping to that same remote address and port ("address and port
    dependent filtering", RFC 4787 §5), or match a static ``forward_port``.
    Everything else from outside is dropped: that is the whole lesson.
    """

    def __init__(self, net, name: str):
        super().__init__(net, name)
        self.mappings: dict[tuple[str, str, int], int] = {}  # (transport, inside ip, port) -> outside port
        self.reverse: dict[tuple[str, int], tuple[str, int]] = {}  # (transport, outside port) -> inside
        self.contacted: set[tuple[str, int, str, int]] = set()  # (transport, outside port, remote ip, port)
        self.forwards: dict[tuple[str, int], tuple[str, int]] = {}
        self._spare_ports = itertools.count(61000)
        self.add_hook(self._translate)

    def forward_port(self, transport: str, port: int, to_ip: str, to_port: int | None = None) -> None:
        """A static inbound rule ("port forwarding"): outside ``port`` goes to ``to_ip:to_port``."""
        self.forwards[(transport, port)] = (to_ip, to_port or port)

    def _outside_port(self, transport: str, ip: str, port: int) -> int:
        key = (transport, ip, port)
        for (t, outside_port), target in self.forwards.items():
            if t == transport and target == (ip, port):
                return outside_port  # the reply of a forwarded connection keeps the public port
        if key not in self.mappings:
            mapped = port
            while (transport, mapped) in self.reverse or (transport, mapped) in self.forwards:
                mapped = next(self._spare_ports)
            self.mappings[key] = mapped
            self.reverse[(transport, mapped)] = (ip, port)
        return self.mappings[key]

    def _translate(self, packet: Packet, iface: Interface) -> Packet | None:
        if packet.is_broadcast or (iface is self.inside and packet.dst_ip in self.ips()):
            return packet  # for the box itself (or a broadcast on one side): no translation
        if iface is self.inside:
            if self.inside.on_link(packet.dst_ip):
                return packet
            port = self._outside_port(packet.transport, packet.src_ip, packet.src_port)
            self.contacted.add((packet.transport, port, packet.dst_ip, packet.dst_port))
            return replace(packet, src_ip=self.outside.ip, src_port=port)
        # from outside
        if packet.dst_ip != self.outside.ip:
            return None  # inside addresses are not reachable from outside
        key = (packet.transport, packet.dst_port)
        if key in self.forwards:
            ip, port = self.forwards[key]
            return replace(packet, dst_ip=ip, dst_port=port)
        inside = self.reverse.get(key)
        if inside and (packet.transport, packet.dst_port, packet.src_ip, packet.src_port) in self.contacted:
            return replace(packet, dst_ip=inside[0], dst_port=inside[1])
        if inside is None and self._listens(packet):
            return packet  # a service on the box itself
        return None

    def _listens(self, packet: Packet) -> bool:
        if packet.transport == "udp":
            return packet.dst_port in self.udp_sockets
        return packet.dst_port in self.tcp.listeners


class FirewallBox(TwoSidedBox):
    """A stateful firewall: inside -> outside always passes, and so do the replies.

    New inbound traffic passes only to ``allow`` = {("tcp", 21), ...}. The
    first interface is *inside*, the second *outside*. No address rewriting.
    """

    def __init__(self, net, name: str):
        super().__init__(net, name)
        self.allow: set[tuple[str, int]] = set()
        self.flows: set[tuple[str, str, int, str, int]] = set()  # seen from inside: (t, in ip, port, out ip, port)
        self.add_hook(self._filter)

    def _filter(self, packet: Packet, iface: Interface) -> Packet | None:
        t = packet.transport
        if iface is self.inside or packet.is_broadcast or packet.dst_ip in self.ips():
            self.flows.add((t, packet.src_ip, packet.src_port, packet.dst_ip, packet.dst_port))
            return packet
        if (t, packet.dst_ip, packet.dst_port, packet.src_ip, packet.src_port) in self.flows:
            return packet  # a reply within a conversation an inside host started
        if (t, packet.dst_port) in self.allow:
            self.flows.add((t, packet.dst_ip, packet.dst_port, packet.src_ip, packet.src_port))
            return packet
        return None
