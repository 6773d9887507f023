"""The shared capture recorder: tcpdump around a block, programs with their logs, everything stopped after."""

from __future__ import annotations

import os
import shutil
import socket
import sys

import pytest

from refimpl.capture.recorder import recorder_main, recording, require


def test_require_names_every_missing_program():
    require("sh")
    with pytest.raises(RuntimeError, match=r"needs no-such-tool-1, no-such-tool-2 \(Debian: pkg\)"):
        require("sh", "no-such-tool-1", "no-such-tool-2", debian="pkg")


def test_recorder_command_line_prints_help_and_refuses_bad_arguments(capsys):
    class Table:
        def __init__(self, *args):
            self.args = args

        def table(self):
            return f"read {self.args}"

    recorded = []

    def record(pcap, port=None):
        recorded.append((pcap, port))
        return f"{pcap}!", port or 4242

    assert recorder_main("the doc", ["--help"], record, Table) == 0
    assert capsys.readouterr().out == "the doc\n"
    assert recorder_main("the doc", [], record, Table, port_label="port") == 2
    assert recorder_main("the doc", ["a.pcap", "1", "2"], record, Table, port_label="port") == 2
    assert recorder_main("the doc", ["a.pcap", "1"], record, Table) == 2  # no port without a port_label
    assert recorder_main("the doc", ["-x"], record, Table) == 2
    assert recorded == []
    capsys.readouterr()
    assert recorder_main("the doc", ["a.pcap", "1"], record, Table, port_label="server port") == 0
    assert recorder_main("the doc", ["b.pcap"], record, Table, port_label="server port") == 0
    assert recorded == [("a.pcap", 1), ("b.pcap", None)]
    assert capsys.readouterr().out == "server port 1\nread ('a.pcap!', 1)\nserver port 4242\nread ('b.pcap!', 4242)\n"
    assert recorder_main("the doc", ["c.pcap"], lambda pcap: pcap + "!", Table) == 0
    assert capsys.readouterr().out == "read ('c.pcap!',)\n"


def need_tcpdump():
    if os.geteuid() != 0:
        pytest.skip("needs root: tcpdump must capture on lo")
    if shutil.which("tcpdump") is None:
        pytest.skip("needs tcpdump (Debian package tcpdump)")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_what_is_sent_inside_the_block_is_in_the_file_and_the_programs_are_stopped(tmp_path):
    need_tcpdump()
    from scapy.layers.inet import UDP
    from scapy.utils import rdpcap

    port = free_udp_port()
    with recording(tmp_path / "x.pcap", "lo", f"udp and port {port}", logs=tmp_path) as rec:
        ready_then_sleep = "print('ready', flush=True); import time; time.sleep(60)"
        sleeper = rec.start("sleeper", [sys.executable, "-c", ready_then_sleep], ready="ready")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"inside the block", ("127.0.0.1", port))
        assert "ready" in rec.log("sleeper")
        tcpdump = rec.processes[0]
    assert sleeper.poll() is not None and tcpdump.poll() is not None
    payloads = [bytes(packet[UDP].payload) for packet in rdpcap(str(tmp_path / "x.pcap"))]
    assert payloads == [b"inside the block"]


def test_a_program_that_dies_at_once_is_an_error_quoting_its_log_and_nothing_is_left_running(tmp_path):
    need_tcpdump()
    started = []
    with pytest.raises(RuntimeError, match="broken failed: no config"):
        with recording(tmp_path / "x.pcap", "lo", "udp and port 9", logs=tmp_path, linger=0) as rec:
            started.append(rec.processes[0])  # tcpdump
            rec.start("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
            started.append(rec.processes[1])
            rec.start("broken", [sys.executable, "-c", "import sys; print('no config'); sys.exit(1)"], ready="never")
    assert len(started) == 2 and all(process.poll() is not None for process in started)


def test_tcpdump_on_a_missing_interface_is_an_error(tmp_path):
    need_tcpdump()
    with pytest.raises(RuntimeError, match="tcpdump failed"):
        with recording(tmp_path / "x.pcap", "no-such-if0", "udp", logs=tmp_path):
            pytest.fail("the block must not run when tcpdump is not listening")
