"""TFTP pcap -> Trace: the shipped capture of real programs, and a fresh one recorded here."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.net.pcap_tftp import read_tftp_trace, to_trace
from refimpl.net.tftp_capture import FILE_TEXT, SHIPPED_PORT, TOOLS, record_tftp_session
from refimpl.tftp import Ack, Data, OptionAck, Request
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
    assert [(e.kind, e.src, e.dst) for e in trace] == [("RRQ", "client", "server"), ("DATA", "server", "client"),
                                                       ("?", "client", "server")]  # fmt: skip
    assert trace[0].time == 0.0 and trace.addresses == {"client": ["192.0.2.10"], "server": ["192.0.2.1"]}


def test_a_fresh_capture_of_real_programs(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("recording a capture needs root (tcpdump)")
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump tftpd-hpa atftp tftp-hpa)")
    path, port = record_tftp_session(tmp_path / "tftp.pcap", seed=7)
    check_session(read_tftp_trace(path, server_port=port), port)
