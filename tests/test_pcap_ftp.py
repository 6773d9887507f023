"""FTP pcap -> Trace: the shipped loopback capture, synthetic TCP corner cases, and a fresh capture."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from refimpl.capture.ftp import Segment, announced_endpoint, read_ftp_trace, segments_to_trace
from refimpl.capture.record_ftp import FILE_TEXT, SHIPPED_CONTROL_PORT, record_ftp_session
from refimpl.trace import Trace

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "ftp_session.pcap"
TCP_KINDS = {"SYN", "SYN-ACK", "ACK", "FIN", "RST"}

# The control conversation ftplib has with our server (1xx: 125 if the data connection was
# already open when LIST/RETR arrived, 150 if not - a race the test must not depend on).
CONTROL = [
    "220",
    "USER",
    "331",
    "PASS",
    "230",
    "TYPE",
    "200",
    "PASV",
    "227",
    "LIST",
    "1xx",
    "226",
    "TYPE",
    "200",
    "PASV",
    "227",
    "RETR",
    "1xx",
    "226",
    "TYPE",
    "200",
    "PORT",
    "200",
    "LIST",
    "1xx",
    "226",
    "QUIT",
    "221",
]


def _control_kinds(trace: Trace) -> list[str]:
    kinds = [e.kind for e in trace if e.flow == "ftp-control" and e.kind not in TCP_KINDS]
    return ["1xx" if k in ("125", "150") else k for k in kinds]


def _data_connection_after(trace: Trace, announcing_kind: str, nth: int = 0):
    """(announcement event, the SYN that opened the next data connection)."""
    announcements = [i for i, e in enumerate(trace) if e.kind == announcing_kind and e.flow == "ftp-control"]
    index = announcements[nth]
    syn = next(e for e in trace.events[index:] if e.flow == "ftp-data" and e.kind == "SYN")
    return trace[index], syn


def check_session(trace: Trace, port: int) -> None:
    """Everything the lesson shows about the session, asserted on a parsed capture."""
    assert trace.hosts() == ["client", "server"]
    assert trace.addresses == {"client": ["127.0.0.1"], "server": ["127.0.0.1"]}
    # The control connection opens with the three-way handshake (RFC 793 §3.4) to the control port.
    first = trace[:3]
    assert [e.kind for e in first] == ["SYN", "SYN-ACK", "ACK"]
    assert [(e.src, e.dst) for e in first] == [("client", "server"), ("server", "client"), ("client", "server")]
    assert first[0].dst_port == port and all(e.flow == "ftp-control" for e in first)
    assert _control_kinds(trace) == CONTROL
    user = next(e for e in trace if e.kind == "USER")
    assert (user.summary, user.src, user.raw) == ("anonymous", "client", b"USER anonymous\r\n")
    assert next(e for e in trace if e.kind == "220").src == "server"
    # Passive: the client connects to the address the 227 announced (RFC 959 §4.1.2).
    for nth in (0, 1):
        reply, syn = _data_connection_after(trace, "227", nth)
        assert announced_endpoint("227", reply.summary, "") == (syn.dst_ip, syn.dst_port)
        assert (syn.src, syn.dst) == ("client", "server")
    # Active: the server connects to the port the client's PORT announced (RFC 959 §3.2).
    command, syn = _data_connection_after(trace, "PORT")
    assert announced_endpoint("PORT", command.summary, "") == (syn.dst_ip, syn.dst_port)
    assert (syn.src, syn.dst) == ("server", "client") and syn.src_port == port - 1
    # One DATA event per transfer, its byte count the one the 226 reply reports.
    data = trace.where(kind="DATA")
    transfers = [e for e in trace if e.kind == "226"]
    assert len(data) == len(transfers) == 3
    for event, done in zip(data, transfers):
        assert (event.src, event.dst, event.flow) == ("server", "client", "ftp-data")
        count = int(re.search(r"\((\d+) bytes\)", done.summary).group(1))
        assert event.summary.startswith(f"{count} bytes ") and len(event.raw) == count
    assert data[1].raw == FILE_TEXT
    assert b"hello.txt" in data[0].raw and data[0].raw == data[2].raw  # LIST twice: same listing
    # Each data connection is opened and closed; the session ends with QUIT, 221, then FINs.
    data_kinds = [e.kind for e in trace if e.flow == "ftp-data"]
    assert data_kinds.count("SYN") == data_kinds.count("SYN-ACK") == 3 and data_kinds.count("FIN") == 6
    control = [e.kind for e in trace if e.flow == "ftp-control"]
    tail = control[control.index("QUIT") :]
    assert tail[:2] == ["QUIT", "221"] and set(tail[2:]) == {"FIN", "ACK"} and tail.count("FIN") == 2
    assert "RST" not in [e.kind for e in trace]
    assert [e.time for e in trace] == sorted(e.time for e in trace) and trace[0].time == 0.0


def test_shipped_capture_reads_as_the_expected_session():
    assert SHIPPED.stat().st_size < 50_000
    check_session(read_ftp_trace(SHIPPED, control_port=SHIPPED_CONTROL_PORT), SHIPPED_CONTROL_PORT)


def test_pcap_module_offers_the_ftp_reader_too():
    from refimpl.capture.dhcp import read_ftp_trace as via_pcap

    assert via_pcap(SHIPPED, SHIPPED_CONTROL_PORT).kinds() == read_ftp_trace(SHIPPED, SHIPPED_CONTROL_PORT).kinds()


def test_wrong_control_port_is_a_clear_error():
    with pytest.raises(ValueError, match="port 21"):
        read_ftp_trace(SHIPPED)  # the shipped session did not use port 21


def test_shipped_capture_draws_like_the_simulation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from refimpl.viz.sequence import sequence_diagram, sequence_text

    trace = read_ftp_trace(SHIPPED, control_port=SHIPPED_CONTROL_PORT)
    figure = sequence_diagram(trace, title="ftplib and refimpl ftp-server")
    texts = " ".join(t.get_text() for t in figure.findobj(matplotlib.text.Text))
    for kind in ("SYN-ACK", "USER", "227", "PORT", "DATA", "221"):
        assert kind in texts
    plt.close(figure)
    ascii_art = sequence_text(trace)
    assert "227" in ascii_art and "PORT" in ascii_art and "client" in ascii_art and "server" in ascii_art
    assert ascii_art.count("\n") >= len(trace) - 1  # one line per event at least


def test_the_simulation_labels_the_captured_session_as_the_capture_reader_does():
    """The shipped session's bytes replayed on the simulated network: every command, reply and
    transfer reads the same in both traces (both label with refimpl.ftp.describe)."""
    from refimpl.ftp.describe import CONTROL_FLOW, DATA_FLOW
    from refimpl.ftp.sim_glue import register
    from refimpl.sim.network import Network

    captured = read_ftp_trace(SHIPPED, control_port=SHIPPED_CONTROL_PORT)
    net = Network(seed=1)
    lan = net.segment("lan", "192.0.2.0/24")
    hosts = {
        "client": net.host("client", lan, ip="192.0.2.10/24"),
        "server": net.host("server", lan, ip="192.0.2.1/24"),
    }
    register(net)

    def connect(flow: str, port: int) -> dict:
        """One simulated connection, client -> server: its two ends by side."""
        pair = {}
        hosts["server"].tcp.listen(port, lambda conn: pair.setdefault("server", conn), flow=flow)
        pair["client"] = hosts["client"].tcp.connect(("192.0.2.1", port), flow=flow)
        net.run(until=net.now + 1)
        return pair

    ends = connect(CONTROL_FLOW, 21)
    replayed = []
    for number, e in enumerate(e for e in captured if e.raw):
        if e.flow == DATA_FLOW:  # a transfer: the bytes on a data connection of their own
            connect(DATA_FLOW, 30000 + number)[e.src].send(e.raw)
        else:
            ends[e.src].send(e.raw)
        net.run(until=net.now + 1)
        replayed.append(e)
    simulated = [e for e in net.trace if e.raw]
    assert len(replayed) == len(simulated) > 20
    for real, sim in zip(replayed, simulated):
        assert (sim.src, sim.flow, sim.kind, sim.raw) == (real.src, real.flow, real.kind, real.raw)
        if real.flow == CONTROL_FLOW:
            assert sim.summary == real.summary and sim.message.show() == real.message.show()
        else:  # the capture counts the segments a whole transfer came in; the simulation labels each one
            assert real.summary == f"{sim.summary} in 1 segment"


# -- synthetic segments: what a capture off a real network may look like ------------------------
C, S = ("192.0.2.10", 50000), ("192.0.2.1", 21)


def _seg(t, src, dst, flags, seq, ack=0, payload=b""):
    return Segment(float(t), src, dst, flags, seq, ack, payload)


def test_lines_are_reassembled_across_reordered_and_repeated_segments():
    reply = b"211-Features:\r\n EPSV\r\n211 End\r\n"
    segments = [
        _seg(0, C, S, "S", 99),
        _seg(1, S, C, "SA", 999, 100),
        _seg(2, C, S, "A", 100, 1000),
        _seg(3, S, C, "PA", 1000 + 10, 100, reply[10:20]),  # arrives before the bytes ahead of it
        _seg(4, S, C, "PA", 1000, 100, reply[:10]),
        _seg(5, S, C, "PA", 1000, 100, reply[:10]),  # a retransmission: nothing new
        _seg(6, S, C, "PA", 1000 + 20, 100, reply[20:]),
        _seg(7, C, S, "PA", 100, 1000 + len(reply), b"QUIT\r\nNO"),  # a line and half of the next
        _seg(8, C, S, "PA", 108, 1000 + len(reply), b"OP\r\n"),
        _seg(9, C, S, "FA", 112, 1000 + len(reply)),
        _seg(10, S, C, "A", 1000 + len(reply), 113),
        _seg(11, S, C, "R", 1000 + len(reply), 113),
    ]
    trace = segments_to_trace(segments)
    assert trace.kinds() == ["SYN", "SYN-ACK", "ACK", "211", "QUIT", "NOOP", "FIN", "ACK", "RST"]
    feat = trace[3]
    assert feat.raw == reply and feat.time == 6.0 and "(+2 lines)" in feat.summary
    assert feat.message.reply.code == 211
    assert [(e.src, e.dst) for e in trace][3:5] == [("server", "client"), ("client", "server")]


def test_bytes_the_capture_missed_are_marked_lost_and_what_follows_is_still_read():
    """tcpdump dropped the segment holding "LIST": the server's ACK covers it, so the reader says so and goes on."""
    segments = [
        _seg(0, C, S, "S", 99),
        _seg(1, S, C, "SA", 999, 100),
        _seg(2, C, S, "A", 100, 1000),
        _seg(3, S, C, "PA", 1000, 100, b"220 Hi\r\n"),
        # the client's "LIST\r\n" (seq 100, 6 bytes) never reached the capture
        _seg(4, S, C, "PA", 1008, 106, b"150 Here\r\n"),  # ACK 106: the server has all six
        _seg(5, C, S, "PA", 106, 1018, b"QUIT\r\n"),
        _seg(6, S, C, "PA", 1018, 112, b"221 Bye\r\n"),
        _seg(7, S, C, "FA", 1027, 112),
        _seg(8, C, S, "FA", 112, 1028),  # acknowledges the server's FIN: that is no lost byte
        _seg(9, S, C, "A", 1028, 113),
    ]
    trace = segments_to_trace(segments)
    assert trace.kinds() == ["SYN", "SYN-ACK", "ACK", "220", "LOST", "150", "QUIT", "221", "FIN", "FIN", "ACK"]
    without_quit = [seg for seg in segments if (seg.src, seg.seq) != (C, 106)]  # a second segment missed
    assert segments_to_trace(without_quit).kinds()[4:8] == ["LOST", "150", "LOST", "221"]
    lost = trace[4]
    assert (lost.src, lost.dst) == ("client", "server") and lost.summary.startswith("6 bytes not in the capture")


def test_a_gap_in_the_middle_of_a_line_drops_only_that_line():
    segments = [
        _seg(0, C, S, "S", 99),
        _seg(1, S, C, "SA", 999, 100),
        _seg(2, C, S, "A", 100, 1000),
        _seg(3, C, S, "PA", 100, 1000, b"NO"),  # half a line, then its other half is lost
        _seg(4, S, C, "A", 1000, 104),  # covers "NO" and the lost "OP"
        _seg(5, C, S, "PA", 104, 1000, b"\r\nQUIT\r\n"),
        _seg(6, S, C, "PA", 1000, 112, b"221 Bye\r\n"),
    ]
    kinds = segments_to_trace(segments).kinds()
    assert "NOOP" not in kinds and "NO" not in kinds
    assert kinds[3] == "LOST" and kinds[-2:] == ["QUIT", "221"]


def test_data_connections_are_named_by_address_on_a_real_network():
    d_client, d_server = ("192.0.2.10", 50001), ("192.0.2.1", 30000)
    segments = [
        _seg(0, C, S, "S", 0),
        _seg(0.1, S, C, "SA", 0, 1),
        _seg(0.2, C, S, "A", 1, 1),
        _seg(1, d_client, d_server, "S", 0),
        _seg(1.1, d_server, d_client, "SA", 0, 1),
        _seg(1.2, d_client, d_server, "A", 1, 1),
        _seg(2, d_server, d_client, "PA", 1, 1, b"x" * 1000),
        _seg(2.1, d_server, d_client, "PA", 1001, 1, b"y" * 500),
        _seg(2.2, d_server, d_client, "FA", 1501, 1),
        _seg(3, ("198.51.100.7", 1), S, "S", 0),  # somebody else: not part of this session
    ]
    trace = segments_to_trace(segments)
    data = trace.where(kind="DATA")
    assert len(data) == 1 and data[0].summary.startswith("1500 bytes ") and data[0].summary.endswith("in 2 segments")
    assert (data[0].src, data[0].dst, data[0].time) == ("server", "client", 2.0)
    assert trace.kinds() == ["SYN", "SYN-ACK", "ACK", "SYN", "SYN-ACK", "ACK", "DATA", "FIN"]


def test_announcements_are_parsed():
    assert announced_endpoint("227", "Entering Passive Mode (192,0,2,1,117,48).", "") == ("192.0.2.1", 30000)
    assert announced_endpoint("PORT", "192,0,2,10,195,80", "") == ("192.0.2.10", 50000)
    assert announced_endpoint("EPRT", "|1|192.0.2.10|50000|", "") == ("192.0.2.10", 50000)
    assert announced_endpoint("229", "Entering Extended Passive Mode (|||30001|)", "192.0.2.1") == ("192.0.2.1", 30001)
    assert announced_endpoint("200", "PORT command successful.", "") is None


# -- a fresh capture ------------------------------------------------------------------------------
def test_a_fresh_capture_parses_the_same_way(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: tcpdump must capture on lo")
    if shutil.which("tcpdump") is None:
        pytest.skip("needs tcpdump (Debian package tcpdump)")
    for attempt in range(3):  # tcpdump may drop a packet on a busy machine: the reader marks it LOST
        path, port = record_ftp_session(tmp_path / f"fresh-{attempt}.pcap")
        trace = read_ftp_trace(path, control_port=port)
        if "LOST" not in trace.kinds():
            break
    assert "LOST" not in trace.kinds(), "three captures in a row missed packets"
    assert path.stat().st_size < 50_000
    check_session(trace, port)
