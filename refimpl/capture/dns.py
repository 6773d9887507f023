"""Read a DNS capture (pcap) into the course's :class:`~refimpl.trace.Trace`.

DNS runs over both transports on one server port (RFC 1035 §4.2), so this
reader takes both:

* **UDP**: each datagram to or from ``server_port`` is one message;
* **TCP**: a byte stream, so each direction is put back in order by sequence
  number and cut into messages by the 2-byte length in front of each (RFC
  1035 §4.2.2: "The message is prefixed with a two byte length field which
  gives the message length, excluding the two byte length field"). One
  segment may hold part of a message, or several (an AXFR's answer can be
  many segments). The connection's set-up and tear-down are drawn as in the
  simulation: SYN, SYN-ACK, the handshake's ACK, each FIN and the ACK of a FIN
  (RFC 793 §3.4, §3.5); the other ACKs are left out.

Whoever talks to ``server_port`` is ``client``, the other end ``server`` (on
loopback both share 127.0.0.1: the port tells them apart). Each message is
labelled by :func:`refimpl.dns.describe.describe_message`, as in the
simulation (:mod:`refimpl.dns.sim_glue`), and TCP events keep the length in
``raw`` as the simulation does, so a capture and a simulated run print and
draw alike.

scapy reads the file (through :func:`refimpl.capture.tftp.read_udp` and
:func:`refimpl.capture.ftp.read_segments`), imported inside the functions, so
importing this module stays cheap.
"""

from __future__ import annotations

from pathlib import Path

from refimpl.dns.describe import describe_message
from refimpl.trace import Event, Trace

FLOW = "dns"
Endpoint = tuple[str, int]


class _Direction:
    """One direction of a TCP connection: bytes in order (RFC 793 §3.3), then whole framed messages."""

    def __init__(self, isn: int) -> None:
        self.next = (isn + 1) % 2**32  # the SYN takes one sequence number
        self.pending: dict[int, bytes] = {}
        self.buffer = bytearray()
        self.fin: int | None = None  # the sequence number after this side's FIN

    def add(self, seq: int, payload: bytes) -> list[bytes]:
        if payload:
            self.pending.setdefault(seq, payload)
        for _ in range(len(self.pending) + 1):  # bounded: each round takes one pending segment or stops
            chunk = self.pending.pop(self.next, None)
            if chunk is None:
                break
            self.buffer += chunk
            self.next = (self.next + len(chunk)) % 2**32
        self.pending = {s: p for s, p in self.pending.items() if (s - self.next) % 2**32 < 2**31}  # drop old copies
        framed = []
        while len(self.buffer) >= 2 and len(self.buffer) >= 2 + int.from_bytes(self.buffer[:2], "big"):
            size = 2 + int.from_bytes(self.buffer[:2], "big")
            framed.append(bytes(self.buffer[:size]))
            del self.buffer[:size]
        return framed


def datagrams_and_segments(path: str | Path) -> list[tuple[float, str, object]]:
    """Every UDP datagram and TCP segment of the capture, in capture order: ``(time, "udp"|"tcp", item)``."""
    from refimpl.capture.ftp import read_segments
    from refimpl.capture.tftp import read_udp

    items = [(d[0], "udp", d) for d in read_udp(path)] + [(s.time, "tcp", s) for s in read_segments(path)]
    return sorted(items, key=lambda item: item[0])  # sorted() is stable: capture order within one time


def to_trace(
    items: list[tuple[float, str, object]],
    server_port: int = 53,
    names: tuple[str, str] = ("client", "server"),
    start: float | None = None,
) -> Trace:
    """Events from the capture's items; ``names``: the lifelines of the asking and the answering side.

    Times are relative to ``start`` (a capture timestamp), by default the first DNS packet's.
    """
    trace = Trace()
    asker, answerer = names
    directions: dict[tuple[Endpoint, Endpoint], _Direction] = {}
    synack_seen: set[frozenset] = set()
    handshake_done: set[frozenset] = set()

    def emit(time, src: Endpoint, dst: Endpoint, transport: str, kind: str, summary="", message=None, raw=b""):
        nonlocal start
        start = time if start is None else start
        to_server = dst[1] == server_port
        for host, ip in ((asker, (src if to_server else dst)[0]), (answerer, (dst if to_server else src)[0])):
            if ip not in trace.addresses.setdefault(host, []):
                trace.addresses[host].append(ip)
        trace.append(
            Event(
                time=round(time - start, 6),
                src=asker if to_server else answerer,
                dst=answerer if to_server else asker,
                transport=transport,
                kind=kind,
                src_ip=src[0],
                src_port=src[1],
                dst_ip=dst[0],
                dst_port=dst[1],
                message=message,
                raw=raw,
                summary=summary,
                flow=FLOW,
            )
        )

    for time, transport, item in items:
        if transport == "udp":
            _, src, dst, payload = item
            if server_port not in (src[1], dst[1]):
                continue
            kind, summary, message = describe_message(payload)
            emit(time, src, dst, "udp", kind, summary, message, payload)
            continue
        s = item
        if server_port not in (s.src[1], s.dst[1]):
            continue
        conn = frozenset((s.src, s.dst))
        flags = set(s.flags)
        if "R" in flags:
            emit(s.time, s.src, s.dst, "tcp", "RST")
            continue
        if "S" in flags:
            directions[(s.src, s.dst)] = _Direction(s.seq)
            if "A" in flags:
                synack_seen.add(conn)
            emit(s.time, s.src, s.dst, "tcp", "SYN-ACK" if "A" in flags else "SYN")
            continue
        mine, theirs = directions.get((s.src, s.dst)), directions.get((s.dst, s.src))
        if mine is None:
            continue  # a connection whose SYN the capture missed: its bytes cannot be put in order
        if conn in synack_seen and conn not in handshake_done and "A" in flags and not s.payload:
            handshake_done.add(conn)
            emit(s.time, s.src, s.dst, "tcp", "ACK")
            continue
        for framed in mine.add(s.seq, s.payload):
            kind, summary, message = describe_message(framed, framed=True)
            emit(s.time, s.src, s.dst, "tcp", kind, summary, message, framed)
        if "F" in flags and mine.fin is None:
            mine.fin = (s.seq + len(s.payload) + 1) % 2**32
            emit(s.time, s.src, s.dst, "tcp", "FIN")
        elif theirs is not None and theirs.fin is not None and s.ack == theirs.fin and not s.payload:
            theirs.fin = -1  # acknowledged: draw it once
            emit(s.time, s.src, s.dst, "tcp", "ACK")
    return trace


def read_dns_trace(path: str | Path, server_port: int = 53) -> Trace:
    """A DNS capture as a Trace, ready for :func:`refimpl.viz.sequence.sequence_diagram`."""
    return to_trace(datagrams_and_segments(path), server_port)


def read_ddns_trace(path: str | Path, dns_port: int = 53) -> Trace:
    """A capture of DHCP and the DNS UPDATEs it causes, as one Trace on one clock.

    The DHCP datagrams are read as :func:`refimpl.capture.dhcp.read_trace`
    reads them (lifelines ``client`` and ``server``); the DNS messages to and
    from ``dns_port`` are the DHCP server (``server``) talking to the DNS
    server (``ns1``), each UPDATE labelled as the simulation labels it
    (:func:`refimpl.dhcp.ddns_scenario.describe_dns`). Times are relative to
    the first packet of either.
    """
    from dataclasses import replace

    from refimpl.capture.dhcp import read_datagrams
    from refimpl.capture.dhcp import to_trace as dhcp_trace
    from refimpl.dhcp.ddns_scenario import describe_dns

    datagrams = read_datagrams(path)
    items = [i for i in datagrams_and_segments(path) if dns_port in _ports(i)]
    firsts = [d.time for d in datagrams[:1]] + [i[0] for i in items[:1]]
    if not firsts:
        return Trace()
    start = min(firsts)
    dhcp = dhcp_trace(datagrams)
    shift = datagrams[0].time - start if datagrams else 0.0
    dns = to_trace(items, dns_port, names=("server", "ns1"), start=start)
    updates = []
    for e in dns:  # an UPDATE reads as in the simulation (refimpl.dhcp.ddns_scenario): what it adds or deletes
        if e.message is not None and e.message.opcode == 5 and e.transport == "udp":
            kind, summary, _ = describe_dns(e.raw)
            e = replace(e, kind=kind, summary=summary)
        updates.append(e)
    events = [replace(e, time=round(e.time + shift, 6)) for e in dhcp] + updates
    trace = Trace(sorted(events, key=lambda e: e.time))  # stable: DHCP first at one instant
    for part in (dhcp, dns):
        for host, ips in part.addresses.items():
            trace.addresses.setdefault(host, []).extend(ip for ip in ips if ip not in trace.addresses[host])
    return trace


def _ports(item) -> tuple[int, int]:
    _, transport, x = item
    return (x[1][1], x[2][1]) if transport == "udp" else (x.src[1], x.dst[1])
