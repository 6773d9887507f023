"""Read a real capture (pcap) into the course's :class:`~refimpl.trace.Trace`.

A capture made with ``tcpdump -w`` or Wireshark holds frames, not hosts. To
draw the same sequence diagram as the simulation we need lifelines, so this
module names the machines from what DHCP itself says about them:

* a frame sent from UDP port 68 carries a request from a **client** - the one
  whose hardware address is ``chaddr``;
* a reply whose source IP is its own server identifier (option 54) comes from
  a **server**;
* a request sent from port 67 (``giaddr`` filled in) or a reply delivered to
  port 68 by somebody who is not the server comes from a **relay**.

Hosts are keyed by MAC address (or by IP in a capture without Ethernet
headers) and called ``client``, ``server``, ``relay`` - or ``client1``,
``client2``... when there are several. Pass ``names={"02:...": "laptop"}``
(MAC or IP -> name) to choose your own. A frame sent to 255.255.255.255 or
ff:ff:ff:ff:ff:ff goes to ``"*"`` (everyone on the segment).

Each DHCP datagram becomes one :class:`~refimpl.trace.Event` whose ``message``
is decoded by our own :class:`refimpl.dhcp.Message` codec and whose ``kind``
("DHCPDISCOVER", ...) and ``summary`` (xid, the addresses set, requested
address, server id, lease) come from :mod:`refimpl.dhcp.describe` - the very
label the simulation gives the same message, so the diagrams look alike.

scapy reads the file (it is imported inside the functions: importing this
module stays cheap).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from refimpl.dhcp.describe import UNDECODABLE, kind, summary
from refimpl.dhcp.message import Message, MessageError
from refimpl.sockets.rawlink import UdpFrame
from refimpl.trace import BROADCAST, Event, Trace

DHCP_PORTS = (67, 68)
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"


@dataclass
class CapturedDatagram(UdpFrame):
    """One UDP datagram to or from a DHCP port, as found in a capture: the frame a
    driver reads off the wire (MACs ``""`` when the capture has no link-layer
    header), when it was seen, and what our codec made of it."""

    time: float = 0.0  # seconds since the epoch (the capture's timestamp)
    message: Message | None = None  # None when our codec could not decode it
    error: str = ""  # why it could not be decoded

    @property
    def src_key(self) -> str:
        return self.src_mac or self.src_ip

    @property
    def broadcast(self) -> bool:
        return self.dst_ip == "255.255.255.255" or self.dst_mac == BROADCAST_MAC


def read_datagrams(path: str | Path) -> list[CapturedDatagram]:
    """Every UDP datagram with port 67 or 68 on either side, in capture order."""
    from scapy.layers.inet import IP, UDP
    from scapy.utils import PcapReader

    found = []
    with PcapReader(str(path)) as reader:
        for packet in reader:
            if not packet.haslayer(IP) or not packet.haslayer(UDP):
                continue
            ip, udp = packet[IP], packet[UDP]
            if udp.sport not in DHCP_PORTS and udp.dport not in DHCP_PORTS:
                continue
            src_mac = dst_mac = ""
            link = packet.firstlayer()
            if link is not ip and hasattr(link, "src"):
                src_mac = str(link.src).lower() if link.src else ""
                dst_mac = str(getattr(link, "dst", "") or "").lower()
            payload = bytes(udp.payload)
            if udp.len and udp.len >= 8:
                payload = payload[: udp.len - 8]  # Ethernet padding is not part of the datagram
            try:
                message, error = Message.decode(payload), ""
            except MessageError as exc:
                message, error = None, str(exc)
            found.append(
                CapturedDatagram(
                    src_mac,
                    dst_mac,
                    ip.src,
                    ip.dst,
                    udp.sport,
                    udp.dport,
                    payload,
                    time=float(packet.time),
                    message=message,
                    error=error,
                )
            )
    return found


def _roles(datagrams: Iterable[CapturedDatagram]) -> dict[str, tuple[str, str]]:
    """MAC (or IP) -> (role, identity), from what each host sent.

    The identity groups keys that are one machine: a relay box has a MAC on
    each segment, but both use the same ``giaddr``.
    """
    roles: dict[str, tuple[str, str]] = {}
    for d in datagrams:
        m = d.message
        if m is None:
            continue
        if m.op == 1 and d.src_port == 68:
            # The client is chaddr (a frame from another MAC was routed by a router).
            roles.setdefault(m.mac, ("client", m.mac))
        elif m.op == 2 and m.get("server_id") == d.src_ip:
            roles.setdefault(d.src_key, ("server", d.src_key))
        elif m.op == 1 or (m.op == 2 and d.dst_port == 68):
            roles.setdefault(d.src_key, ("relay", m.giaddr if m.giaddr != "0.0.0.0" else d.src_key))
    return roles


def host_names(datagrams: list[CapturedDatagram], names: dict[str, str] | None = None) -> dict[str, str]:
    """MAC (and IP) -> lifeline name; ``names`` wins where given.

    IP addresses are named too, from DHCP's own fields: the server identifier
    (option 54) is the server's, ``giaddr`` the relay's, the ``yiaddr`` of a
    DHCPACK the client's. So a RENEW routed through a relay box still shows
    as "client -> server", not as a packet to the router's MAC.
    """
    roles = _roles(datagrams)
    machines: dict[str, list[str]] = {}  # role -> identities in order of appearance
    for role, identity in roles.values():
        if identity not in machines.setdefault(role, []):
            machines[role].append(identity)
    result: dict[str, str] = {}
    for key, (role, identity) in roles.items():
        same = machines[role]
        result[key] = role if len(same) == 1 else f"{role}{same.index(identity) + 1}"
    chosen = {k.lower(): v for k, v in (names or {}).items()}
    result.update(chosen)  # before naming addresses, so a client's address gets the name chosen for its MAC
    for d in datagrams:
        m = d.message
        if m is None:
            continue
        sender = result.get(d.src_key)
        role = roles.get(d.src_key, ("", ""))[0]
        if m.op == 2 and m.get("server_id") == d.src_ip and role == "server":
            result.setdefault(d.src_ip, sender)  # the server's own address
        if m.op == 1 and d.src_port == 67 and m.giaddr == d.src_ip and role == "relay":
            result.setdefault(d.src_ip, sender)  # the relay's address on the client's segment
        if m.message_type is not None and m.message_type.name == "ACK" and m.yiaddr != "0.0.0.0":
            if m.mac in result:
                result.setdefault(m.yiaddr, result[m.mac])  # the address the client was given
    # A server seen only through a relay (a capture on the client's segment):
    # name its identifier too, so routed unicasts read "client -> server".
    for d in datagrams:
        server_id = d.message.get("server_id") if d.message is not None else None
        if server_id and server_id not in result:
            taken = set(result.values())
            result[server_id] = next(n for n in ("server", *(f"server{i}" for i in range(2, 99))) if n not in taken)
    result.update(chosen)
    return result


def to_trace(datagrams: list[CapturedDatagram], names: dict[str, str] | None = None) -> Trace:
    """Events (times relative to the first datagram) from captured datagrams."""
    named = host_names(datagrams, names)

    def name_of(mac: str, ip: str, chaddr: str = "") -> str:
        return named.get(ip) or named.get(mac) or named.get(chaddr) or ip or mac

    trace = Trace()
    start = datagrams[0].time if datagrams else 0.0
    for d in datagrams:
        from_client = d.message is not None and d.message.op == 1 and d.src_port == 68
        src = name_of(d.src_mac, d.src_ip, d.message.mac if from_client else "")
        dst = BROADCAST if d.broadcast else name_of(d.dst_mac, d.dst_ip)
        message: Any = d.message
        if message is not None:
            label, text = kind(message), summary(message)
        else:
            label, text = UNDECODABLE, d.error
        trace.append(
            Event(
                time=round(d.time - start, 6),
                src=src,
                dst=dst,
                transport="udp",
                kind=label,
                src_ip=d.src_ip,
                src_port=d.src_port,
                dst_ip=d.dst_ip,
                dst_port=d.dst_port,
                message=message,
                raw=d.payload,
                summary=text,
                flow="dhcp",
            )
        )
    return trace


def read_trace(path: str | Path, names: dict[str, str] | None = None) -> Trace:
    """A pcap file as a Trace, ready for :func:`refimpl.viz.sequence.sequence_diagram`."""
    return to_trace(read_datagrams(path), names)


def read_ftp_trace(path: str | Path, control_port: int = 21) -> Trace:
    """An FTP capture as a Trace: see :mod:`refimpl.capture.ftp` (TCP needs its own reading)."""
    from refimpl.capture.ftp import read_ftp_trace as read

    return read(path, control_port)
