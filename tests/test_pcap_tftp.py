"""TFTP pcap -> Trace: the shipped capture of real programs, a fresh one recorded here, and one label for all.

refimpl/tftp/describe.py names every packet for the simulation, the capture reader and the server's log, so
the same transfer reads the same whichever way it was seen.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.capture.record_tftp import FILE_TEXT, SHIPPED_PORT, TOOLS, record_tftp_session
from refimpl.capture.tftp import read_tftp_trace, to_trace
from refimpl.tftp import Ack, Data, OptionAck, Request, scenarios
from refimpl.trace import Trace

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "tftp_session.pcap"


def check_session(trace: Trace, port: int) -> None:
    """What the capture's README and lesson 07 say about it, asserted on a parsed capture."""
    assert set(trace.hosts()) == {"client", "client2", "server"}
    # atftp asks for options; tftpd-hpa answers OACK from a new port (RFC 2347, RFC 1350 §4)
    first = [e for e in trace if "client" in (e.src, e.dst)]
    assert [e.kind for e in first[:3]] == ["RRQ", "OACK", "ACK"]
    rrq, oack, ack0 = first[:3]
    assert rrq.dst_port == port and isinstance(rrq.message, Request)
    assert rrq.message.options == {"blksize": "1024", "tsize": "0"}
    assert isinstance(oack.message, OptionAck) and oack.message.options["blksize"] == "1024"
    assert int(oack.message.options["tsize"]) == len(FILE_TEXT)
    assert oack.src_port not in (port, 69) and isinstance(ack0.message, Ack) and ack0.message.block == 0
    sizes = [len(e.message.data) for e in first if isinstance(e.message, Data)]
    assert sizes == [1024, 1024, len(FILE_TEXT) - 2048]
    # tftp-hpa asks for nothing: DATA 1 at once, 512-byte blocks, and again a new server port
    second = [e for e in trace if "client2" in (e.src, e.dst)]
    assert [e.kind for e in second[:2]] == ["RRQ", "DATA"] and second[0].message.options == {}
    assert second[1].src_port not in (port, 69, oack.src_port)
    data = b"".join(e.message.data for e in second if isinstance(e.message, Data))
    assert data == FILE_TEXT
    assert all(e.flow == "tftp" for e in trace)
    # lock-step: every DATA n is followed by ACK n before DATA n+1 (RFC 1350 §2)
    for events in (first[3:], second[1:]):
        blocks = [(e.kind, e.message.block) for e in events]
        expected = [(kind, n) for n in range(1, len(blocks) // 2 + 1) for kind in ("DATA", "ACK")]
        assert blocks == expected


def test_the_shipped_capture_reads_as_two_transfers():
    check_session(read_tftp_trace(SHIPPED, server_port=SHIPPED_PORT), SHIPPED_PORT)


def test_datagrams_of_no_transfer_are_left_out_and_junk_is_marked():
    client, server, tid, other = ("192.0.2.10", 40000), ("192.0.2.1", 69), ("192.0.2.1", 50000), ("192.0.2.99", 53)
    datagrams = [
        (1.0, other, server, b"\x00\x01x\x00octet\x00"[:3]),  # junk to 69, not a request: left out
        (1.5, client, server, Request(1, "a", "octet").encode()),
        (1.6, tid, client, Data(1, b"hi").encode()),
        (1.7, other, client, b"noise"),  # from another host: not this transfer
        (1.8, client, tid, b"\x00\x04\x00"),  # our client, malformed: kept, marked
    ]
    trace = to_trace(datagrams)
    assert [(e.kind, e.src, e.dst) for e in trace] == [
        ("RRQ", "client", "server"),
        ("DATA", "server", "client"),
        ("?", "client", "server"),
    ]
    assert trace[0].time == 0.0 and trace.addresses == {"client": ["192.0.2.10"], "server": ["192.0.2.1"]}


def labels(trace: Trace, client: str = "client") -> list[tuple]:
    """What a trace says about each packet of one client's transfers: who to whom, on which ports, and the label."""
    return [
        (e.src.replace(client, "client"), e.dst.replace(client, "client"), e.src_port, e.dst_port, e.kind, e.summary)
        for e in trace
        if not e.is_note and client in (e.src, e.dst)
    ]


def write_pcap(trace: Trace, path: Path) -> None:
    """The datagrams of a simulated trace as a capture would hold them: Ethernet, IPv4, UDP, at their times.

    The MAC addresses are given, so scapy looks nothing up (and sends nothing) to build the frames."""
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.utils import wrpcap

    frames = []
    for event in trace:
        if not event.is_note:
            ip = IP(src=event.src_ip, dst=event.dst_ip) / UDP(sport=event.src_port, dport=event.dst_port)
            frame = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / ip / event.raw
            frame.time = 1_700_000_000 + event.time
            frames.append(frame)
    wrpcap(str(path), frames)


@pytest.mark.parametrize(
    "story",
    [
        lambda: scenarios.read_file(size=3000, blksize=1428, ask_size=True),  # OACK, ACK 0, a short last block
        lambda: scenarios.write_file(size=1024),  # ACK 0, an empty last block
        scenarios.missing_file,  # ERROR 1 from a new port
    ],
    ids=["read with options", "write", "refused"],
)
def test_a_simulated_transfer_and_its_capture_label_alike(tmp_path, story):
    """One describe for both (refimpl.tftp.describe): the same datagrams, simulated, then written to a pcap and
    read back, give the same kinds, labels and packets."""
    simulated = story().trace
    write_pcap(simulated, tmp_path / "sim.pcap")
    captured = read_tftp_trace(tmp_path / "sim.pcap")
    assert labels(captured) == labels(simulated) and len(captured) >= 2
    assert [e.message for e in captured] == [e.message for e in simulated if not e.is_note]
    first = next(e.time for e in simulated if not e.is_note)
    assert [e.time for e in captured] == pytest.approx([e.time - first for e in simulated if not e.is_note])


def test_the_shipped_capture_labels_as_the_simulation_does():
    """tftp-hpa reading the 2520-byte boot.txt, captured for real, reads like the simulated read of 2520 bytes."""
    real = labels(read_tftp_trace(SHIPPED, server_port=SHIPPED_PORT), client="client2")
    simulated = labels(scenarios.read_file(size=len(FILE_TEXT)).trace)
    strip_ports = [line[:2] + line[4:] for line in real], [line[:2] + line[4:] for line in simulated]
    assert strip_ports[0] == strip_ports[1]
    assert simulated[0][4:] == ("RRQ", "boot.txt octet") and simulated[-1][4:] == ("ACK", "block=5")


def test_the_server_log_names_a_request_as_the_trace_does():
    """The socket driver's log lines take the request's label from the same describe as the trace."""
    from refimpl.sockets.tftp_server import name_request

    trace = scenarios.read_file(size=100, blksize=1428, ask_size=True).trace
    rrq = next(e for e in trace if e.kind == "RRQ")
    head, whole = name_request(rrq.raw, (rrq.src_ip, rrq.src_port))
    assert whole == f"RRQ from {rrq.src_ip}:{rrq.src_port} file {rrq.summary}"
    assert rrq.summary == "boot.txt octet blksize=1428 tsize=0" and head == "RRQ from 192.0.2.10:49152 file boot.txt"
    assert (
        name_request(b"\x00\x09", ("192.0.2.10", 1))[1]
        == "bad request from 192.0.2.10:1 (not TFTP: opcode at byte 0: unknown opcode 9)"
    )


def test_a_fresh_capture_of_real_programs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("recording a capture needs root (tcpdump)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump tftpd-hpa atftp tftp-hpa)")
    path, port = record_tftp_session(tmp_path / "tftp.pcap", seed=7)
    check_session(read_tftp_trace(path, server_port=port), port)
