"""The DNS sim glue: TCP framing across segments, the stub's retries and TCP fallback, the recursive resolver."""

from __future__ import annotations

from pathlib import Path

from refimpl.dns import Message, Question, Rcode, Type, decode
from refimpl.dns.scenarios import lookup, walk
from refimpl.dns.server import AuthoritativeServer, ServerConfig
from refimpl.dns.sim_glue import DnsServerHost, _Framer, frame, register
from refimpl.dns.zone import read_zone
from refimpl.sim.network import Network

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"


def test_the_framer_cuts_a_stream_anywhere():
    messages = [bytes([i]) * (i * 7) for i in range(1, 6)]
    stream = b"".join(frame(m) for m in messages)
    for cut in (1, 2, 3, 5, 8, 13):
        framer, got = _Framer(), []
        for start in range(0, len(stream), cut):
            got += framer.feed(stream[start : start + cut])
        assert got == messages and not framer.buffer


def test_a_zone_transfer_over_simulated_tcp_spans_segments_and_comes_back_whole():
    net = Network(seed=3)
    register(net)
    lan = net.segment("lan", "192.0.2.0/24")
    primary = net.host("primary", lan, ip="192.0.2.53/24")
    secondary = net.host("secondary", lan, ip="192.0.2.54/24")
    core = AuthoritativeServer(read_zone(ZONE_FILE), ServerConfig(allow_axfr=True))
    DnsServerHost(net, primary, core)
    query = Message(id=9, questions=[Question("example.com", Type.AXFR)]).encode()
    framer, got = _Framer(), []

    def on_data(conn, data):
        got.extend(framer.feed(data))
        if got:
            conn.close()

    secondary.tcp.connect(("192.0.2.53", 53), on_connect=lambda c: c.send(frame(query)), on_data=on_data)
    net.run(until=5.0)
    (answer,) = [decode(m) for m in got]
    assert len(frame(core.transfer_messages(decode(query))[0].encode())) > net.mss, "more than one segment"
    data_segments = [e for e in net.trace if e.transport == "tcp" and e.src == "primary" and e.raw]
    assert len(data_segments) >= 2
    assert answer.answer[0].type == answer.answer[-1].type == Type.SOA


def test_a_lost_query_is_sent_again_and_nxdomain_is_an_answer():
    run = lookup("nope.example.com", drop={"QUERY nope.example.com A": {1}})
    sent = [e for e in run.trace if e.src == "laptop"]
    assert len(sent) == 2 and sent[0].lost and run.answer.rcode == Rcode.NXDOMAIN


def test_the_recursive_resolver_passes_a_name_error_back_with_ra():
    run = walk("nope.example.com")
    assert run.answer.rcode == Rcode.NXDOMAIN and run.answer.ra
    assert [e.dst for e in run.trace if e.src == "resolver"] == ["root", "com", "ns1", "laptop"]
