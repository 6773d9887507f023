"""DNS pcap -> Trace: the shipped capture of real dig against our server, a fresh one recorded here, and TCP
put back together from segments.

refimpl/dns/describe.py labels every message for the simulation and the capture reader alike, so a query
reads the same whichever way it was seen.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.capture.dns import read_dns_trace, to_trace
from refimpl.capture.ftp import Segment
from refimpl.capture.record_dns import SHIPPED_PORT, TOOLS, record_dns_session
from refimpl.dns import Message, Question, Record, Type
from refimpl.dns.sim_glue import frame
from refimpl.trace import Trace

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "dns_session.pcap"


def messages(trace: Trace) -> list:
    return [e for e in trace if e.message is not None]


def check_session(trace: Trace, port: int) -> None:
    """What the capture's README and lesson 08 say about it, asserted on a parsed capture."""
    assert set(trace.hosts()) == {"client", "server"} and all(e.flow == "dns" for e in trace)
    found = messages(trace)
    asked = [(e.transport, e.message.question.name, e.message.question.type) for e in found if not e.message.qr]
    assert asked == [
        ("udp", "www.example.com", Type.A),
        ("udp", "many.example.com", Type.A),
        ("tcp", "many.example.com", Type.A),
        ("udp", "many.example.com", Type.A),
        ("tcp", "example.com", Type.AXFR),
    ]
    queries, answers = [e for e in found if not e.message.qr], [e for e in found if e.message.qr]
    assert all(q.dst_port == port and a.src_port == port for q, a in zip(queries, answers))
    assert queries[0].message.edns is not None and queries[1].message.edns is None, "dig's default, then +noedns"
    www, cut, whole, edns, axfr = answers
    assert www.message.answer[0].value == "192.0.2.80" and www.message.aa
    assert cut.message.tc and len(cut.raw) <= 512 and 0 < len(cut.message.answer) < 40
    assert not whole.message.tc and len(whole.message.answer) == 40 and len(whole.raw) - 2 > 512
    assert not edns.message.tc and len(edns.message.answer) == 40 and 512 < len(edns.raw) <= 1232
    types = [r.type for r in axfr.message.answer]
    assert types[0] == types[-1] == Type.SOA and types.count(Type.SOA) == 2
    kinds = [e.kind for e in trace if e.transport == "tcp" and e.message is None]
    assert kinds == ["SYN", "SYN-ACK", "ACK", "FIN", "FIN", "ACK"] * 2


def test_the_shipped_capture_reads_as_four_dig_runs():
    trace = read_dns_trace(SHIPPED, server_port=SHIPPED_PORT)
    check_session(trace, SHIPPED_PORT)
    sizes = [len(e.raw) for e in messages(trace) if e.message.qr and e.transport == "udp"]
    assert SHIPPED_PORT == 45353 and sizes[1:] == [498, 685], "the numbers in the captures README"


def test_tcp_messages_are_put_together_from_segments_in_any_cut():
    """A framed message split over segments, two messages in one segment, a retransmitted copy: the reader
    gives each message once, whole."""
    c, s = ("192.0.2.10", 40000), ("192.0.2.53", 53)
    query = Message(id=1, questions=[Question("www.example.com", Type.A)])
    reply = query.reply()
    reply.answer = [Record("www.example.com", Type.A, f"192.0.2.{i}") for i in range(1, 30)]
    q, r = frame(query.encode()), frame(reply.encode())
    two = frame(reply.encode()) + frame(reply.encode())
    segs = [
        Segment(0.0, c, s, "S", 100, 0, b""),
        Segment(0.1, s, c, "SA", 500, 101, b""),
        Segment(0.2, c, s, "A", 101, 501, b""),
        Segment(0.3, c, s, "PA", 101, 501, q[:5]),
        Segment(0.4, c, s, "PA", 106, 501, q[5:]),
        Segment(0.45, c, s, "PA", 101, 501, q[:5]),  # a retransmission of bytes already had
        Segment(0.5, s, c, "PA", 501, 101 + len(q), r[:100]),
        Segment(0.6, s, c, "PA", 601, 101 + len(q), r[100:] + two),
        Segment(0.7, c, s, "FA", 101 + len(q), 501 + len(r) + len(two), b""),
    ]
    trace = to_trace([(x.time, "tcp", x) for x in segs], server_port=53)
    assert [e.kind for e in trace] == ["SYN", "SYN-ACK", "ACK", "QUERY www.example.com A"] + ["NOERROR"] * 3 + ["FIN"]
    assert [e.src for e in trace][3:7] == ["client", "server", "server", "server"]
    assert trace[4].message == reply and trace[4].raw == r


def test_udp_of_other_ports_is_left_out_and_junk_is_marked():
    c, s = ("127.0.0.1", 40000), ("127.0.0.1", 45353)
    q = Message(id=2, questions=[Question("example.com", Type.SOA)]).encode()
    items = [(1.0, "udp", (1.0, c, ("127.0.0.1", 9), q)), (1.5, "udp", (1.5, c, s, q)), (1.6, "udp", (1.6, s, c, b"x"))]
    trace = to_trace(items, server_port=45353)
    assert [(e.kind, e.src) for e in trace] == [("QUERY example.com SOA", "client"), ("?", "server")]
    assert trace[0].time == 0.0


@pytest.mark.skipif(os.geteuid() != 0, reason="tcpdump needs root")
def test_a_fresh_recording_reads_the_same_way(tmp_path):
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump bind9-dnsutils)")
    path, port = record_dns_session(tmp_path / "dns.pcap", seed=11)
    check_session(read_dns_trace(path, server_port=port), port)
