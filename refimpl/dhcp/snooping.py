"""DHCP snooping: the DHCP half of a switch's defences, as hooks for :class:`refimpl.sim.switch.Switch`.

There is no RFC for "DHCP snooping". It is common switch practice (Cisco's
``ip dhcp snooping``, and the like on most managed switches), and this module
does what those switches commonly do, each step labelled as such:

* **trusted and untrusted ports.** Server-to-client messages (UDP source port
  67 to port 68: OFFER, ACK, NAK) are let in only on a trusted port, the one
  towards the real server. A rogue server on an ordinary port is dropped at the
  switch, whatever addresses and MACs it claims, because the port is physical;
* **chaddr must be the source MAC** on untrusted ports (Cisco's ``ip dhcp
  snooping verify mac-address``): a client that puts another MAC into
  ``chaddr`` than it sends from is dropped. That stops a starvation tool that
  invents ``chaddr`` values but sends from its own card;
* **a rate limit** on the DHCP packets of an untrusted port (Cisco's ``ip
  dhcp snooping limit rate``; Cisco then shuts the port down, this switch only
  drops what is over the limit). It slows a starvation attack that changes its
  source MAC too; port security on the switch (``max_macs``) stops it;
* **the binding table** (MAC, address, lease time, port), learnt from the
  DHCPACKs that pass, and forgotten at DHCPRELEASE and DHCPNAK. Switches use
  it for IP source guard (Cisco's ``ip verify source``) and dynamic ARP
  inspection; ``source_guard=True`` does the first: on an untrusted port, a
  packet that is not DHCP passes only if its source address is bound to that
  port (a hand-set or forged address is dropped);
* **option 82** (RFC 3046): the switch adds the Relay Agent Information
  option to requests from untrusted ports, with the port as circuit id and the
  switch as remote id, leaves ``giaddr`` at 0 (RFC 3046 §2.1, a trusted
  "network element (bridge) between the relay agent and the client that MAY
  add a relay agent option but not set the giaddr field"), and removes the
  echoed option from the reply before the client sees it (§2.1: "The Relay
  Agent Information option echoed by a server MUST be removed by either the
  relay agent or the trusted downstream network element which added it").

The closest standard is RFC 7513, "Source Address Validation Improvement
(SAVI) Solution for DHCP", which "specifies the procedure for creating a
binding between a DHCPv4/DHCPv6-assigned IP address and a binding anchor on a
Source Address Validation Improvement (SAVI) device": the binding-table half of
snooping, used to filter forged source addresses.

The switch knows no protocol (:mod:`refimpl.sim` never names DHCP); this module
reads the UDP ports and the DHCP message and hands the switch its verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass

from refimpl.dhcp.delivery import CLIENT_PORT, SERVER_PORT
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.options import MessageType


@dataclass
class Binding:
    """One row of the binding table: what the switch saw a server grant, and on which port."""

    mac: str
    address: str
    lease_time: int
    port: str
    since: float

    def row(self) -> str:
        return f"{self.mac}  {self.address:<15} {self.lease_time:>6} s  port {self.port:<8} since t={self.since:g}"


def is_from_server(packet) -> bool:
    """Server-to-client DHCP (UDP 67 -> 68): what only a trusted port may bring in."""
    return packet.transport == "udp" and packet.src_port == SERVER_PORT and packet.dst_port == CLIENT_PORT


def is_from_client(packet) -> bool:
    """Client-to-server DHCP (UDP 68 -> 67)."""
    return packet.transport == "udp" and packet.src_port == CLIENT_PORT and packet.dst_port == SERVER_PORT


def is_dhcp(packet) -> bool:
    """Either direction: what the rate limit counts."""
    return is_from_server(packet) or is_from_client(packet)


class DhcpSnooping:
    """Snooping on ``switch``: ``DhcpSnooping(sw, rate=5, burst=5)``; ports marked ``trusted`` face the server.

    ``rate``/``burst``: DHCP packets per second an untrusted port may send
    (None: no limit). ``verify_mac``: drop client messages whose ``chaddr`` is
    not the source MAC. ``option82``: add and strip the Relay Agent Information
    option. ``source_guard``: drop other packets from a source address not bound to
    their port. ``log`` holds one line per drop and per binding, as a switch's log would.
    """

    def __init__(
        self,
        switch,
        *,
        rate: float | None = None,
        burst: float = 1.0,
        verify_mac=True,
        option82=True,
        source_guard=False,
    ):
        self.switch = switch
        self.verify_mac = verify_mac
        self.option82 = option82
        self.source_guard = source_guard
        self.bindings: dict[str, Binding] = {}  # mac -> binding
        self.log: list[str] = []
        for port in switch.ports.values():
            if not port.trusted and rate is not None:
                switch.limit(port.name, rate, burst, match=is_dhcp)
        switch.add_ingress(self.ingress)
        switch.add_egress(self.egress)

    # -- the hooks the switch calls ----------------------------------------------------
    def ingress(self, switch, packet, port):
        """A frame enters by ``port``: the packet goes on (maybe with option 82), or a reason to drop it."""
        if is_from_server(packet):
            if not port.trusted:
                return self._drop(f"DHCP server message (UDP {SERVER_PORT}) on untrusted port {port.name}")
            self._learn(packet, switch)
            return packet
        if port.trusted:
            return packet
        if not is_from_client(packet):
            return self._guard(packet, port) if self.source_guard else packet
        msg = _decode(packet.payload)
        if msg is None:
            return self._drop(f"undecodable DHCP request on port {port.name}")
        if self.verify_mac and msg.mac.lower() != packet.src_mac.lower():
            return self._drop(f"chaddr {msg.mac} is not the source MAC {packet.src_mac} (port {port.name})")
        if 82 in msg.options:
            # RFC 3046 §2.1: a relay discards option 82 from an untrusted circuit; so does this switch.
            return self._drop(f"option 82 from a client on untrusted port {port.name}")
        if msg.message_type is MessageType.RELEASE:
            self._forget(msg.mac, "DHCPRELEASE")
        if self.option82:
            msg.set(82, {1: port.name.encode(), 2: switch.name.encode()})  # RFC 3046 §3.1, §3.2
            packet.payload = msg.encode()
        return packet

    def egress(self, switch, packet, port):
        """A copy leaves by ``port``: towards a client, the option 82 this switch added is removed."""
        if not (self.option82 and is_from_server(packet) and not port.trusted):
            return packet
        msg = _decode(packet.payload)
        info = msg.options.get(82) if msg is not None else None
        if isinstance(info, dict) and info.get(2) == switch.name.encode():
            msg.set(82, None)  # RFC 3046 §2.1: removed by the element that added it
            packet.payload = msg.encode()
        return packet

    # -- the binding table -------------------------------------------------------------
    def _learn(self, packet, switch) -> None:
        msg = _decode(packet.payload)
        if msg is None:
            return
        kind = msg.message_type
        if kind is MessageType.ACK and msg.yiaddr != "0.0.0.0":
            port = switch.port_for_mac(msg.mac)
            name = port.name if port is not None else "?"
            binding = Binding(msg.mac, msg.yiaddr, int(msg.get("lease_time") or 0), name, switch.net.now)
            self.bindings[msg.mac] = binding
            self.log.append(f"t={switch.net.now:g} binding {binding.row()}")
        elif kind is MessageType.NAK:
            self._forget(msg.mac, "DHCPNAK")

    def _guard(self, packet, port):
        """IP source guard: the source address must be one the binding table has on this port."""
        if any(b.address == packet.src_ip and b.port == port.name for b in self.bindings.values()):
            return packet
        return self._drop(f"source {packet.src_ip} is not bound to port {port.name} (IP source guard)")

    def _forget(self, mac: str, why: str) -> None:
        if self.bindings.pop(mac, None) is not None:
            self.log.append(f"t={self.switch.net.now:g} binding of {mac} removed ({why})")

    def _drop(self, reason: str) -> str:
        self.log.append(f"t={self.switch.net.now:g} dropped: {reason}")
        return reason

    def table(self) -> str:
        """The binding table as text, one row per client."""
        if not self.bindings:
            return "(no bindings)"
        return "\n".join(b.row() for b in self.bindings.values())


def _decode(raw: bytes) -> Message | None:
    try:
        return Message.decode(raw)
    except MessageError:
        return None
