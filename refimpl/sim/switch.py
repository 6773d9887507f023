"""An Ethernet switch with ports: the box where LAN defences live.

A :class:`~refimpl.sim.host.Segment` is one broadcast domain with no inside:
every interface on it hears every broadcast and nobody can tell *which cable*
a frame came in on. A switch can. Here each switch port is a link of its own
(a :class:`PortLink`, a segment with two ends: the host's interface and the
switch's), and the :class:`Switch` joins them at layer 2:

* it **learns** the source MAC of every frame and the port it came in on
  (the MAC table), and sends a frame for a known MAC out of that port only;
* it **floods** broadcasts to every other port (a broadcast domain, as before);
* an IP unicast goes out of the port whose host has that address, or, for an
  address off the subnet, the port of the sender's gateway (the sim's shortcut
  for "ARP gave the sender the MAC, the MAC table gives the port").

What makes it the place for defences is that the port is physical: a host can
lie about its MAC, its IP, anything inside the packet, but not about the cable
it is plugged into. Per port the switch keeps:

* ``trusted``: a flag the switch itself ignores; ingress hooks read it (DHCP
  snooping, in :mod:`refimpl.dhcp.snooping`, lets server replies in only on
  trusted ports);
* ``rate`` / ``burst``: a token bucket for packets matching ``limit_match``
  (all packets by default); packets beyond it are dropped;
* ``max_macs``: at most that many source MACs (common switch practice, "port
  security"); frames from a further MAC are dropped.

Hooks, as everywhere in the sim: ``switch.add_ingress(fn)`` with
``fn(switch, packet, port) -> Packet | str`` sees each frame as it enters
(return the packet, perhaps rewritten, or a string: the reason it is dropped,
shown in the trace as "blocked by switch: <reason>"); ``switch.add_egress(fn)``
the same for each copy as it leaves by ``port``. The switch knows no protocol;
the hooks do.

Simplifications, so the lessons can trust the pictures: the sim stamps a
forwarded frame with the switch port's MAC (a real switch keeps the sender's;
the MAC table is learnt on ingress, before that), each crossing costs one hop
of delay on the way out, and an ARP probe for an address behind another port
is answered in the switch's name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from refimpl.sim.host import Host, Interface, Segment
from refimpl.sim.packet import Packet


class PortLink(Segment):
    """The cable between one host and one switch port.

    Whatever the host sends that is not for the host itself lands on the switch
    end: :meth:`find` answers with the switch's interface for any MAC or IP
    that sits behind another port of the same switch.
    """

    def __init__(self, net, name: str, switch: Switch, subnet: str | None = None, delay: float | None = None):
        super().__init__(net, name, subnet, delay)
        self.switch = switch

    def find(self, *, ip: str | None = None, mac: str | None = None, exclude=None) -> Interface | None:
        local = super().find(ip=ip, mac=mac, exclude=exclude)
        if local is not None:
            return local
        port = self.switch.ports_by_link.get(self.name)
        if port is None or port.iface is exclude:
            return None  # the switch looking for a host on its own port: it is there or nowhere
        if self.switch.behind_other_port(port, ip=ip, mac=mac):
            return port.iface
        return None


@dataclass
class Port:
    """One switch port: its name, the link to the host, and its per-port settings (see the module docstring)."""

    name: str
    link: PortLink
    iface: Interface  # the switch's end of the link
    trusted: bool = False
    rate: float | None = None  # tokens per second; None: no limit
    burst: float = 1.0
    limit_match: Callable[[Packet], bool] | None = None
    max_macs: int | None = None
    macs: list[str] = field(default_factory=list)  # source MACs seen on this port, first seen first
    tokens: float = 0.0
    refilled_at: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def host(self) -> Host | None:
        """The host at the other end of the cable (None while nothing is plugged in)."""
        others = [i for i in self.link.interfaces if i is not self.iface]
        return others[0].host if others else None

    def count_drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1


class Switch(Host):
    """A learning switch; build it with :func:`add_switch`, then plug hosts into :meth:`port`."""

    forwarding = False

    def __init__(self, net, name: str, subnet: str | None = None):
        super().__init__(net, name)
        self.subnet = subnet
        self.ports: dict[str, Port] = {}
        self.ports_by_link: dict[str, Port] = {}
        self._by_iface: dict[int, Port] = {}
        self.mac_table: dict[str, Port] = {}
        self.ingress: list[Callable[[Switch, Packet, Port], Packet | str]] = []
        self.egress: list[Callable[[Switch, Packet, Port], Packet | str]] = []

    # -- building ----------------------------------------------------------
    def port(
        self,
        name: str,
        *,
        trusted: bool = False,
        rate: float | None = None,
        burst: float = 1.0,
        limit_match: Callable[[Packet], bool] | None = None,
        max_macs: int | None = None,
    ) -> PortLink:
        """A new port ``name``; returns its link, to give to ``net.host(..., link)``."""
        if name in self.ports:
            raise ValueError(f"{self.name}: port {name!r} exists")
        link_name = f"{self.name}/{name}"
        if link_name in self.net.segments:
            raise ValueError(f"segment {link_name!r} already exists")
        link = PortLink(self.net, link_name, self, self.subnet)
        self.net.segments[link_name] = link
        iface = self.attach(link)
        port = Port(name, link, iface, trusted=trusted, max_macs=max_macs)
        self.ports[name] = port
        self.ports_by_link[link_name] = port
        self._by_iface[id(iface)] = port
        self.limit(name, rate, burst, limit_match)
        return link

    def limit(
        self, name: str, rate: float | None, burst: float = 1.0, match: Callable[[Packet], bool] | None = None
    ) -> None:
        """Rate-limit port ``name``: ``rate`` matching packets per second, ``burst`` at once (None: no limit)."""
        if rate is not None and (rate <= 0 or burst < 1):
            raise ValueError(f"a rate limit needs rate > 0 and burst >= 1, not {rate}, {burst}")
        port = self.ports[name]
        port.rate, port.burst, port.limit_match = rate, float(burst), match
        port.tokens, port.refilled_at = float(burst), self.net.now

    def add_ingress(self, hook: Callable[[Switch, Packet, Port], Packet | str]) -> None:
        self.ingress.append(hook)

    def add_egress(self, hook: Callable[[Switch, Packet, Port], Packet | str]) -> None:
        self.egress.append(hook)

    # -- questions ---------------------------------------------------------
    def port_of(self, iface: Interface) -> Port | None:
        return self._by_iface.get(id(iface))

    def port_for_mac(self, mac: str) -> Port | None:
        """The port the MAC table says ``mac`` lives behind (what it learnt last)."""
        return self.mac_table.get(mac.lower())

    def behind_other_port(self, port: Port, *, ip: str | None = None, mac: str | None = None) -> bool:
        """Is there a host with this MAC (learnt) or IP (configured) behind a port other than ``port``?"""
        if mac is not None:
            known = self.mac_table.get(mac.lower())
            return known is not None and known is not port
        return self._port_for_ip(ip, exclude=port) is not None

    def _port_for_ip(self, ip: str | None, exclude: Port | None = None) -> Port | None:
        for other in self.ports.values():
            if other is exclude:
                continue
            if any(i.ip == ip for i in other.link.interfaces if i is not other.iface):
                return other
        return None

    # -- the frame's way through ---------------------------------------------
    def receive(self, packet: Packet, iface: Interface) -> str | None:
        port = self.port_of(iface)
        if port is None:  # pragma: no cover - every interface of a switch is a port
            return f"{self.name}: not a port"
        why = self._admit(packet, port)
        if why:
            port.count_drop(why)
            return f"blocked by {self.name}: {why}"
        for hook in self.ingress:
            result = hook(self, packet, port)
            if isinstance(result, str):
                port.count_drop(result)
                return f"blocked by {self.name}: {result}"
            packet = result
        outs = self._egress_ports(packet, port)
        if not outs and not packet.is_broadcast:
            return f"{self.name}: no port for {packet.dst_mac or packet.dst_ip}"
        for out, next_hop in outs:
            copy = replace(packet, iface=None, kind="", summary="", message=None)
            for hook in self.egress:
                result = hook(self, copy, out)
                if isinstance(result, str):
                    out.count_drop(result)
                    copy = None
                    break
                copy = result
            if copy is not None:
                self.net.transmit(out.iface, copy, next_hop)
        return None

    def _admit(self, packet: Packet, port: Port) -> str:
        """Port security and the rate limit; learn the source MAC. Returns why not, or ''."""
        mac = packet.src_mac.lower()
        if mac not in port.macs:
            if port.max_macs is not None and len(port.macs) >= port.max_macs:
                return f"port {port.name} already has {len(port.macs)} MACs (max {port.max_macs}), not {mac}"
            port.macs.append(mac)
        self.mac_table[mac] = port
        if port.rate is not None and (port.limit_match is None or port.limit_match(packet)):
            now = self.net.now
            port.tokens = min(port.burst, port.tokens + (now - port.refilled_at) * port.rate)
            port.refilled_at = now
            if port.tokens < 1.0:
                return f"port {port.name} over its rate limit ({port.rate:g}/s)"
            port.tokens -= 1.0
        return ""

    def _egress_ports(self, packet: Packet, came_in: Port) -> list[tuple[Port, str]]:
        """Where a copy goes: ``(port, next hop)`` pairs."""
        others = [(p, packet.dst_ip) for p in self.ports.values() if p is not came_in]
        if packet.is_broadcast:
            return others
        if packet.dst_mac:
            known = self.mac_table.get(packet.dst_mac.lower())
            if known is not None:
                return [(known, packet.dst_ip)] if known is not came_in else []
            return others  # unknown unicast is flooded
        out = self._port_for_ip(packet.dst_ip, exclude=came_in)
        if out is not None:
            return [(out, packet.dst_ip)]
        sender = came_in.host()
        if sender is not None and sender.gateway and not sender.iface.on_link(packet.dst_ip):
            out = self._port_for_ip(sender.gateway, exclude=came_in)  # the sender sent it to its router
            if out is not None:
                return [(out, sender.gateway)]
        return []


def add_switch(net, name: str, subnet: str | None = None) -> Switch:
    """Put a :class:`Switch` into ``net``: ``sw = add_switch(net, "switch", "192.0.2.0/24")``."""
    if name in net.hosts:
        raise ValueError(f"host {name!r} already exists")
    switch = Switch(net, name, subnet)
    net.hosts[name] = switch  # the registry net.host() fills; the network needs no method of its own for it
    return switch
