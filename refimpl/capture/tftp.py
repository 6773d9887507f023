"""Read a TFTP capture (pcap) into the course's :class:`~refimpl.trace.Trace`.

TFTP cannot be picked out of a capture by port number alone: only the request
goes to port 69, and the rest of the transfer runs between two ports chosen
for it (RFC 1350 §4). So this reader follows the protocol the way the two
ends do:

* a datagram to ``server_port`` that decodes as RRQ or WRQ opens a transfer
  and names its client endpoint (address and port);
* every later datagram to or from that client endpoint belongs to it; the
  first answer from the server's address gives the server's TID.

The endpoints are named ``client`` and ``server`` (``client2``... when several
clients appear), so a capture on loopback, where both ends share 127.0.0.1,
still draws two lifelines. Datagrams that belong to no transfer are left out.
Each packet is labelled by :func:`refimpl.tftp.describe.describe_datagram`, as
in the simulation, so a capture and a simulated run print and draw alike.

scapy reads the file; it is imported inside the function, so importing this
module stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from refimpl.tftp.describe import describe_datagram
from refimpl.tftp.packets import TFTP_PORT, Request
from refimpl.trace import Event, Trace

Endpoint = tuple[str, int]


def read_udp(path: str | Path) -> list[tuple[float, Endpoint, Endpoint, bytes]]:
    """Every UDP datagram of an IPv4 capture: ``(time, source, destination, payload)``."""
    from scapy.layers.inet import IP, UDP
    from scapy.utils import PcapReader

    found = []
    with PcapReader(str(path)) as reader:
        for packet in reader:
            if packet.haslayer(IP) and packet.haslayer(UDP):
                ip, udp = packet[IP], packet[UDP]
                payload = bytes(udp.payload)
                if udp.len and udp.len >= 8:
                    payload = payload[: udp.len - 8]  # Ethernet padding is not part of the datagram
                found.append((float(packet.time), (ip.src, udp.sport), (ip.dst, udp.dport), payload))
    return found


def to_trace(datagrams: list[tuple[float, Endpoint, Endpoint, bytes]], server_port: int = TFTP_PORT) -> Trace:
    """Events (times relative to the first TFTP datagram) for every transfer found."""
    clients: dict[Endpoint, str] = {}  # client endpoint -> its lifeline name
    server_ips: dict[Endpoint, str] = {}  # client endpoint -> the server address it asked
    trace = Trace()
    start = None
    for time, src, dst, payload in datagrams:
        label, text, packet = describe_datagram(payload)
        if dst[1] == server_port and isinstance(packet, Request):
            if src not in clients:
                clients[src] = "client" if not clients else f"client{len(clients) + 1}"
                server_ips[src] = dst[0]
            client, towards_server = src, True
        elif src in clients and dst[0] == server_ips[src]:
            client, towards_server = src, True
        elif dst in clients and src[0] == server_ips[dst]:
            client, towards_server = dst, False
        else:
            continue
        start = time if start is None else start
        name = clients[client]
        for host, ip in ((name, client[0]), ("server", server_ips[client])):
            if ip not in trace.addresses.setdefault(host, []):
                trace.addresses[host].append(ip)
        trace.append(
            Event(
                time=round(time - start, 6),
                src=name if towards_server else "server",
                dst="server" if towards_server else name,
                transport="udp",
                kind=label,
                src_ip=src[0],
                src_port=src[1],
                dst_ip=dst[0],
                dst_port=dst[1],
                message=packet,
                raw=payload,
                summary=text,
                flow="tftp",
            )
        )
    return trace


def read_tftp_trace(path: str | Path, server_port: int = TFTP_PORT) -> Trace:
    """A TFTP capture as a Trace, ready for :func:`refimpl.viz.sequence.sequence_diagram`."""
    return to_trace(read_udp(path), server_port)
