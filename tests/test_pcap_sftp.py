"""The SFTP capture (lesson 11): one SSH connection, version lines and key exchange in clear, then only
encrypted bytes - the subsystem's name, the file and its path included.

The shipped capture is re-read on every run; a fresh recording needs root and the Debian packages named in the
skip message.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.capture import record_sftp
from refimpl.capture.app import read_ssh_trace

CAPTURES = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures"
SHIPPED = CAPTURES / "sftp_session.pcap"


def check_sftp(path: Path, port: int) -> None:
    trace = read_ssh_trace(path, port)
    raw = path.read_bytes()
    assert b"SSH-2.0-OpenSSH" in raw
    for hidden in (record_sftp.MARKER.encode(), b"sftp", b"upload.txt", b"subsystem"):
        assert hidden not in raw, hidden
    clients = {e.src for e in trace if e.src != "server"}
    assert clients == {"client"}, "one TCP connection: no data connection as in FTP"
    kinds = [e.kind for e in trace if e.src == "client"]
    assert kinds[:3] == ["SYN", "version", "KEXINIT"] and "NEWKEYS" in kinds
    assert kinds[kinds.index("NEWKEYS") + 1] == "encrypted"


def test_shipped_sftp_capture():
    check_sftp(SHIPPED, record_sftp.SHIPPED_PORT)


def test_shipped_server_log_names_the_subsystem():
    text = record_sftp.server_log_path(SHIPPED).read_text()
    assert "Starting session: subsystem 'sftp'" in text


def test_fresh_sftp_recording(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("recording needs root (tcpdump on lo, sshd)")
    # sshd is started by its absolute path (it re-executes itself), so look for that one
    missing = [t for t in record_sftp.TOOLS if t != "sshd" and shutil.which(t) is None]
    missing += [] if Path(record_sftp.SSHD).exists() else [record_sftp.SSHD]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump openssh-server openssh-client)")
    path, port = record_sftp.record_sftp_session(tmp_path / "sftp.pcap", seed=12)
    check_sftp(path, port)
    assert "subsystem 'sftp'" in record_sftp.server_log_path(path).read_text()
