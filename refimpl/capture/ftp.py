"""Read a real FTP capture (pcap) into the course's :class:`~refimpl.trace.Trace`.

The simulation (:mod:`refimpl.ftp.sim_glue`) draws FTP as arrows: the TCP
handshake (SYN, SYN-ACK, ACK), one arrow per command or reply on the
**control connection**, the **data connections** each transfer opens, and the
FINs that close them. A capture holds TCP segments instead, so this module
turns segments back into those arrows:

* **TCP set-up and tear-down** (RFC 793 §3.4, §3.5): a SYN, a SYN-ACK, the
  ACK that completes the handshake, every FIN and RST, and the bare ACK that
  acknowledges a FIN (the simulation draws that one too). The thousands of
  other ACKs say nothing about FTP and are left out.
* **Control lines**: TCP is a byte stream, not a list of messages - one
  segment may hold half a line or three lines. So the payload is put back in
  order per direction (by sequence number) and cut at CRLF (RFC 959 §4.1:
  every command and reply line ends with CRLF). A multi-line reply
  (``211-`` ... ``211 End``, RFC 959 §4.2) stays one event. Each event gets the
  same ``kind``/``summary``/``message`` as in the simulation: both label with
  :mod:`refimpl.ftp.describe` (reply code or command verb; the rest of the line).
* **Data connections**: any other TCP connection between the same two hosts.
  Their content is a file or a listing, so instead of one arrow per segment
  there is one ``DATA`` event per connection and direction, saying how many
  bytes went (in stream mode the connection's end is the file's end, RFC 959
  §3.4.1).
* **Bytes the capture missed**: tcpdump can drop a packet (a full buffer,
  a capture started late). TCP itself saw the bytes - the receiver's ACK
  covers them (RFC 793 §3.3: an acknowledgment number is "the sequence number
  of the next data octet that the sender of the segment is expecting to
  receive") - so the reader does not wait for them forever: it draws one
  ``LOST`` arrow saying how many bytes are missing, like Wireshark's "TCP
  previous segment not captured", and goes on with what follows.

Lifelines: whoever connected to the control port is ``client``, the other side
``server``. On loopback both have the same address, so a data connection's
ends are told apart by what the control connection announced: the address in
a ``227``/``229`` reply is the server's listener, the one in ``PORT``/``EPRT``
the client's (RFC 959 §4.1.2, RFC 2428).

scapy reads the file; it is imported inside :func:`read_segments`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from refimpl.ftp.describe import CONTROL_FLOW, DATA_FLOW, describe_control, describe_data
from refimpl.trace import Event, Trace

Endpoint = tuple[str, int]  # (ip, port)


@dataclass(frozen=True)
class Segment:
    """One TCP segment as found in a capture."""

    time: float
    src: Endpoint
    dst: Endpoint
    flags: str  # scapy's letters: "S", "SA", "A", "PA", "FA", "R", ...
    seq: int
    ack: int
    payload: bytes

    @property
    def key(self) -> frozenset:
        """Both directions of a connection share one key."""
        return frozenset((self.src, self.dst))


def read_segments(path: str | Path) -> list[Segment]:
    """Every IPv4/IPv6 TCP segment in the capture, in capture order."""
    from scapy.layers.inet import IP, TCP
    from scapy.layers.inet6 import IPv6
    from scapy.utils import PcapReader

    found = []
    with PcapReader(str(path)) as reader:
        for packet in reader:
            if not packet.haslayer(TCP):
                continue
            ip = packet[IP] if packet.haslayer(IP) else packet[IPv6] if packet.haslayer(IPv6) else None
            if ip is None:
                continue
            tcp = packet[TCP]
            payload = bytes(tcp.payload)
            if packet.haslayer(IP):  # Ethernet pads short frames: trust the IP length
                payload = payload[: max(0, ip.len - ip.ihl * 4 - tcp.dataofs * 4)]
            found.append(
                Segment(
                    float(packet.time),
                    (ip.src, tcp.sport),
                    (ip.dst, tcp.dport),
                    str(tcp.flags),
                    tcp.seq,
                    tcp.ack,
                    payload,
                )
            )
    return found


class _Stream:
    """One direction of a TCP connection, put back in order by sequence number (RFC 793 §3.3)."""

    def __init__(self) -> None:
        self.next_seq: int | None = None  # the next byte we expect
        self.pending: dict[int, bytes] = {}  # segments that arrived ahead of a gap
        self.data = bytearray()  # everything delivered in order
        self.segments = 0  # segments that carried new bytes
        self.fin: int | None = None  # the sequence number the sender's FIN took

    def finished(self, seq: int) -> None:
        self.fin = seq  # an ACK of the FIN counts it: that one number is no byte

    def start(self, isn: int) -> None:
        self.next_seq = (isn + 1) % 2**32  # the SYN takes one sequence number

    def add(self, seq: int, payload: bytes) -> bytes:
        """Take one segment's payload; return the bytes that are now in order (may be empty)."""
        if not payload:
            return b""
        if self.next_seq is None:  # capture started after the handshake
            self.next_seq = seq
        self.pending[seq] = max(payload, self.pending.get(seq, b""), key=len)
        before = len(self.data)
        self._deliver()
        return self._fresh_since(before)

    def _deliver(self) -> None:
        """Move every pending segment that now starts at or before ``next_seq`` into ``data``."""
        progress = True
        while progress:
            progress = False
            for start, chunk in list(self.pending.items()):
                offset = (self.next_seq - start) % 2**32
                if offset < len(chunk):  # starts at or before next_seq and brings new bytes
                    del self.pending[start]
                    self.data += chunk[offset:]
                    self.next_seq = (self.next_seq + len(chunk) - offset) % 2**32
                    progress = True
                elif offset < 2**31:  # wholly old: a retransmission
                    del self.pending[start]

    def acknowledged(self, ack: int) -> tuple[int, bytes]:
        """The receiver says it has every byte before ``ack``; return (bytes the capture missed, bytes now in order).

        An ACK beyond ``next_seq`` means the receiver got bytes that never
        reached the capture: they are skipped, so what came after them is
        read instead of waiting for them forever.
        """
        if self.next_seq is None:
            return 0, b""
        if self.fin is not None and (ack - self.fin) % 2**32 < 2**31:
            ack = self.fin  # the FIN's own sequence number was acknowledged, not a byte
        missing = (ack - self.next_seq) % 2**32
        if not 0 < missing < 2**31:  # nothing beyond what we have (or an old ACK)
            return 0, b""
        self.next_seq = ack
        before = len(self.data)
        self._deliver()
        return missing, self._fresh_since(before)

    def _fresh_since(self, before: int) -> bytes:
        fresh = bytes(self.data[before:])
        if fresh:
            self.segments += 1
        return fresh


@dataclass
class _Connection:
    """What we know about one TCP connection while walking the capture."""

    initiator: Endpoint | None = None  # who sent the SYN
    streams: dict[Endpoint, _Stream] = field(default_factory=dict)  # by sender
    handshake_done: bool = False
    synack_from: Endpoint | None = None
    fin_seq: dict[Endpoint, int] = field(default_factory=dict)  # sender -> sequence number of its FIN
    fin_acked: set = field(default_factory=set)  # senders whose FIN has been acknowledged
    lines: dict[Endpoint, bytearray] = field(default_factory=dict)  # control: bytes not yet a whole line
    data_event: dict[Endpoint, int] = field(default_factory=dict)  # data: sender -> index of its DATA event
    skip_to_line_end: set = field(default_factory=set)  # control: senders whose line a capture gap cut

    def stream(self, sender: Endpoint) -> _Stream:
        return self.streams.setdefault(sender, _Stream())


def _control_connection(segments: list[Segment], control_port: int) -> tuple[Endpoint, Endpoint]:
    """(client endpoint, server endpoint) of the control connection: who sent SYN to ``control_port``."""
    for s in segments:
        if s.dst[1] == control_port and s.flags == "S":
            return s.src, s.dst
    for s in segments:  # no SYN captured: the side on the control port is the server
        if s.dst[1] == control_port:
            return s.src, s.dst
        if s.src[1] == control_port:
            return s.dst, s.src
    raise ValueError(f"no TCP segment to or from port {control_port} in the capture (wrong control_port?)")


_NUMBERS = re.compile(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)")


def announced_endpoint(kind: str, summary: str, peer_ip: str) -> Endpoint | None:
    """The data endpoint a control line announces, or None.

    ``PORT h1,h2,h3,h4,p1,p2`` and ``227 ... (h1,...,p1,p2)`` give address and
    port = p1*256+p2 (RFC 959 §4.1.2); ``EPRT |1|ip|port|`` and
    ``229 ... (|||port|)`` (RFC 2428 §2, §3; EPSV names no address: the
    server's own, ``peer_ip``, is meant).
    """
    if kind in ("PORT", "227"):
        match = _NUMBERS.search(summary)
        if match:
            n = [int(x) for x in match.groups()]
            return ".".join(map(str, n[:4])), n[4] * 256 + n[5]
    elif kind == "EPRT" and len(summary) > 1:
        parts = summary.split(summary[0])
        if len(parts) >= 4 and parts[3].isdigit():
            return parts[2], int(parts[3])
    elif kind == "229":
        match = re.search(r"\((.)\1\1(\d+)\1\)", summary)
        if match:
            return peer_ip, int(match.group(2))
    return None


def _control_lines(buffer: bytearray) -> list[bytes]:
    """Cut whole commands/replies off the front of ``buffer`` (what is left stays in it).

    RFC 959 §4.2: ``123-text`` opens a multi-line reply that ends with a line
    starting ``123 ``; the lines in between belong to it.
    """
    found = []
    while True:
        end = buffer.find(b"\r\n")
        if end < 0:
            return found
        first = bytes(buffer[:end])
        if len(first) >= 4 and first[:3].isdigit() and first[3:4] == b"-":
            closing = b"\r\n" + first[:3] + b" "
            last = buffer.find(closing)
            if last < 0:
                return found  # the rest of the reply has not arrived yet
            end = buffer.find(b"\r\n", last + 2)
            if end < 0:
                return found
        found.append(bytes(buffer[: end + 2]))
        del buffer[: end + 2]


def _data_summary(conn: _Connection, sender: Endpoint) -> tuple[str, bytes]:
    stream = conn.stream(sender)
    _, summary, raw = describe_data(bytes(stream.data), segments=stream.segments)
    return summary, raw


def read_ftp_trace(path: str | Path, control_port: int = 21) -> Trace:
    """A pcap of one FTP session as a Trace, ready for :func:`refimpl.viz.sequence.sequence_diagram`.

    ``control_port`` is the server's control port (21 unless the server runs
    elsewhere, like our ``ftp-server`` on an unprivileged port).
    """
    return segments_to_trace(read_segments(path), control_port)


def segments_to_trace(segments: list[Segment], control_port: int = 21) -> Trace:
    """Events (times relative to the first segment) from captured TCP segments."""
    client, server = _control_connection(segments, control_port)
    control_key = frozenset((client, server))
    hosts = {client[0], server[0]}
    # Which data endpoints belong to which side: from the announcements on the control connection.
    owner: dict[Endpoint, str] = {client: "client", server: "server"}
    stream = {client: _Stream(), server: _Stream()}
    buffers = {client: bytearray(), server: bytearray()}
    for s in segments:
        if s.key == control_key:
            if "S" in s.flags:
                stream[s.src].start(s.seq)
            buffers[s.src] += stream[s.src].add(s.seq, s.payload)
            if "F" in s.flags:
                stream[s.src].finished((s.seq + len(s.payload)) % 2**32)
            if "A" in s.flags:
                missing, fresh = stream[s.dst].acknowledged(s.ack)
                if missing:
                    buffers[s.dst].clear()  # a line cut by the gap cannot be read
                buffers[s.dst] += fresh
    for side, name in ((client, "client"), (server, "server")):
        for line in _control_lines(buffers[side]):
            kind, summary, _ = describe_control(line)
            where = announced_endpoint(kind, summary, server[0])
            if where is not None:
                owner.setdefault(where, name)

    def name_of(end: Endpoint, peer: Endpoint, initiator: Endpoint | None) -> str:
        if end in owner:
            return owner[end]
        if peer in owner:
            return "server" if owner[peer] == "client" else "client"
        if client[0] != server[0]:
            return "client" if end[0] == client[0] else "server"
        return "client" if end == initiator else "server"  # a guess: passive mode is the usual case

    trace = Trace(addresses={"client": [client[0]], "server": [server[0]]})
    connections: dict[frozenset, _Connection] = {}
    start = segments[0].time if segments else 0.0

    def emit(s: Segment, kind: str, summary: str = "", message=None, raw: bytes = b"", flow: str = "") -> int:
        conn = connections[s.key]
        trace.append(
            Event(
                time=round(s.time - start, 6),
                src=name_of(s.src, s.dst, conn.initiator),
                dst=name_of(s.dst, s.src, conn.initiator),
                transport="tcp",
                kind=kind,
                src_ip=s.src[0],
                src_port=s.src[1],
                dst_ip=s.dst[0],
                dst_port=s.dst[1],
                message=message,
                raw=raw,
                summary=summary,
                flow=flow,
            )
        )
        return len(trace.events) - 1

    def deliver(s: Segment, fresh: bytes, flow: str) -> None:
        """Bytes of ``s.src`` now in order: control lines become events, data its one DATA event."""
        conn = connections[s.key]
        if fresh and flow == CONTROL_FLOW:
            if s.src in conn.skip_to_line_end:
                end = fresh.find(b"\r\n")
                if end < 0:
                    return
                conn.skip_to_line_end.discard(s.src)
                fresh = fresh[end + 2 :]
            buffer = conn.lines.setdefault(s.src, bytearray())
            buffer += fresh
            for line in _control_lines(buffer):
                kind, summary, message = describe_control(line)
                emit(s, kind, summary, message, line, flow)
        elif fresh:
            if s.src not in conn.data_event:
                conn.data_event[s.src] = emit(s, "DATA", flow=flow)  # summary filled in at the end

    for s in segments:
        if s.src[0] not in hosts or s.dst[0] not in hosts:
            continue  # another conversation that happened to be captured
        flow = CONTROL_FLOW if s.key == control_key else DATA_FLOW
        conn = connections.setdefault(s.key, _Connection())
        flags = set(s.flags)
        if "R" in flags:
            emit(s, "RST", flow=flow)  # RFC 793 §3.4: the connection is refused or aborted
            continue
        if "S" in flags:
            conn.stream(s.src).start(s.seq)
            if "A" in flags:
                conn.synack_from = s.src
                emit(s, "SYN-ACK", flow=flow)
            else:
                conn.initiator = s.src
                emit(s, "SYN", flow=flow)
            continue
        fresh = conn.stream(s.src).add(s.seq, s.payload)
        if not conn.handshake_done and conn.synack_from == s.dst and "A" in flags:
            conn.handshake_done = True  # RFC 793 §3.4: the third segment of the handshake
            if not s.payload:
                emit(s, "ACK", flow=flow)
        if "A" in flags:  # the ACK may cover bytes of the peer's that the capture missed (drawn first: sent first)
            missing, after_gap = conn.stream(s.dst).acknowledged(s.ack)
            if missing:
                sent = replace(s, src=s.dst, dst=s.src, payload=b"")
                emit(sent, "LOST", f"{missing} bytes not in the capture (the receiver acknowledged them)", flow=flow)
                if conn.lines.get(s.dst):  # the gap cut a line: the rest of it, up to its CRLF, is no line
                    conn.skip_to_line_end.add(s.dst)
                conn.lines.pop(s.dst, None)
                deliver(sent, after_gap, flow)
        deliver(s, fresh, flow)
        if "F" in flags:
            conn.stream(s.src).finished((s.seq + len(s.payload)) % 2**32)
        peer_fin = conn.fin_seq.get(s.dst)
        if peer_fin is not None and s.dst not in conn.fin_acked and "A" in flags and s.ack == (peer_fin + 1) % 2**32:
            conn.fin_acked.add(s.dst)
            if "F" not in flags and not s.payload:
                emit(s, "ACK", flow=flow)  # RFC 793 §3.5: the FIN is acknowledged
        if "F" in flags and s.src not in conn.fin_seq:
            conn.fin_seq[s.src] = (s.seq + len(s.payload)) % 2**32
            emit(s, "FIN", flow=flow)  # RFC 793 §3.5: this side has no more to send

    for conn in connections.values():
        for sender, index in conn.data_event.items():
            summary, raw = _data_summary(conn, sender)
            trace.events[index] = replace(trace.events[index], summary=summary, raw=raw, message=raw)
    return trace
