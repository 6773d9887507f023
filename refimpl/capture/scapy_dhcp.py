"""Between our :class:`~refimpl.dhcp.message.Message` and scapy packets and pcap files.

Why a bridge and not scapy everywhere: scapy is a superb dissector and pcap
tool, but it takes seconds to import and its DHCP layer is a flat list of
``(name, value)`` tuples. The course core stays small and fast; this module
lets a student hand our messages to scapy (Wireshark-style dissection, pcap
files) and read captures back.

scapy is imported **inside** each function, so importing this module is cheap.

Our bytes are the single source of truth: :func:`to_scapy` hands scapy the
bytes we encoded and lets scapy dissect them; :func:`from_scapy` takes the
bytes of the BOOTP layer and decodes them with our codec. So a round trip
through scapy is exact.

scapy quirks seen while testing (scapy 2.5-2.8), useful when comparing:

* an option that appears several times, or one longer than 255 bytes split by
  RFC 3396, stays several ``(name, value)`` entries; scapy does not join them;
* option overload (52) is not followed: options in ``file``/``sname`` stay bytes;
* address lists are flattened: ``("router", "192.0.2.1", "192.0.2.2")``;
* text options (hostname, domain, ...) are ``bytes``; option 82 and 125 are raw bytes;
* option 121 routes are strings ``"10.0.0.0/8:192.0.2.1"``;
* names differ from ours (``name_server``, ``requested_addr``, ``message-type``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from refimpl.dhcp.delivery import CLIENT_PORT, SERVER_PORT
from refimpl.dhcp.message import Message


def to_scapy(
    msg: Message,
    src_ip: str | None = None,
    dst_ip: str | None = None,
    src_port: int | None = None,
    dst_port: int | None = None,
    src_mac: str | None = None,
    dst_mac: str | None = None,
) -> Any:
    """An ``Ether/IP/UDP/BOOTP/DHCP`` packet carrying ``msg.encode()``.

    Defaults follow RFC 2131 §4.1 for a client without an address: requests go
    from ``0.0.0.0:68`` (or ``ciaddr``) to ``255.255.255.255:67``; replies go
    from the server id to ``255.255.255.255:68``, or to ``giaddr:67`` through a
    relay. Pass any address to override.
    """
    from scapy.layers.dhcp import BOOTP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether

    request = msg.op == 1
    if request:
        src_ip = src_ip or msg.ciaddr
        dst_ip = dst_ip or "255.255.255.255"
        src_port = src_port or CLIENT_PORT
        dst_port = dst_port or SERVER_PORT
        src_mac = src_mac or (msg.mac if msg.hlen == 6 else "00:00:00:00:00:00")
    else:
        relayed = msg.giaddr != "0.0.0.0"
        server_id = msg.get("server_id")
        src_ip = src_ip or (server_id if isinstance(server_id, str) else "0.0.0.0")
        dst_ip = dst_ip or (msg.giaddr if relayed else "255.255.255.255")
        src_port = src_port or SERVER_PORT
        dst_port = dst_port or (SERVER_PORT if relayed else CLIENT_PORT)
        src_mac = src_mac or "00:00:00:00:00:00"
    dst_mac = dst_mac or "ff:ff:ff:ff:ff:ff"
    return (
        Ether(src=src_mac, dst=dst_mac)
        / IP(src=src_ip, dst=dst_ip)
        / UDP(sport=src_port, dport=dst_port)
        / BOOTP(msg.encode())
    )


def from_scapy(pkt: Any) -> Message:
    """Decode the BOOTP layer of a scapy packet (or raw bytes) with our codec."""
    from scapy.layers.dhcp import BOOTP

    if isinstance(pkt, (bytes, bytearray)):
        return Message.decode(bytes(pkt))
    if BOOTP in pkt:
        return Message.decode(bytes(pkt[BOOTP]))
    from scapy.layers.inet import UDP

    if UDP in pkt and (pkt[UDP].sport in (67, 68) or pkt[UDP].dport in (67, 68)):
        return Message.decode(bytes(pkt[UDP].payload))
    raise ValueError(f"no BOOTP/DHCP layer in {pkt.summary()}")


def write_pcap(path: str, items: Iterable[Any]) -> int:
    """Write messages (converted with :func:`to_scapy`) and/or scapy packets; return the count."""
    from scapy.utils import wrpcap

    packets = [to_scapy(item) if isinstance(item, Message) else item for item in items]
    wrpcap(str(path), packets)
    return len(packets)


def read_pcap(path: str) -> list[Message]:
    """Every DHCP message in a capture, in order (other packets are skipped).

    A packet on UDP 67/68 whose payload is not a valid message raises
    :class:`~refimpl.dhcp.message.MessageError` naming the field and offset.
    """
    from scapy.layers.inet import UDP
    from scapy.utils import rdpcap

    messages = []
    for pkt in rdpcap(str(path)):
        if UDP in pkt and {pkt[UDP].sport, pkt[UDP].dport} & {67, 68}:
            messages.append(from_scapy(pkt))
    return messages


def scapy_options(pkt: Any) -> list:
    """The raw ``DHCP.options`` list scapy dissected (handy in notebooks and tests)."""
    from scapy.layers.dhcp import DHCP

    return list(pkt[DHCP].options) if DHCP in pkt else []
