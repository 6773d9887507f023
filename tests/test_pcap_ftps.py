"""The FTPS capture (lesson 11): clear text up to AUTH TLS / 234, then only TLS records; no secret in the file.

The shipped capture is re-read on every run; a fresh recording (vsftpd, lftp and curl on loopback) needs root
and the Debian packages named in the skip message.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.capture import record_ftps
from refimpl.capture.ftps import TlsRecord, read_ftps_trace, split_stream

CAPTURES = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures"
SHIPPED = CAPTURES / "ftps_session.pcap"


def check_ftps(path: Path, port: int) -> None:
    trace = read_ftps_trace(path, port)
    raw = path.read_bytes()
    # nothing the user typed or fetched is readable: name, password, the file's words
    for secret in (record_ftps.USER, record_ftps.PASSWORD, record_ftps.FILE_TEXT.decode().strip()):
        assert secret.encode() not in raw, secret
    explicit = [e for e in trace if e.flow == "ftps-control" and e.kind != "SYN"]
    kinds = [e.kind for e in explicit]
    # explicit: in clear up to the client's AUTH TLS and the server's 234 (RFC 4217 §4), then only records
    auth = kinds.index("AUTH")
    assert explicit[auth].message == "AUTH TLS" and "234" in kinds
    after = [e for e in explicit[kinds.index("234") + 1 :]]
    assert after and all(e.kind == "TLS" for e in after)
    assert after[0].message.content_type == 22 and after[0].src == "client"  # the ClientHello: a handshake record
    assert {e.message.content_type for e in after} >= {22, 23}
    assert not [e for e in explicit[:auth] if e.src == "client" and e.kind in ("USER", "PASS")]
    # implicit: TLS from the first byte, no FTP line at all
    implicit = [e for e in trace if e.flow == "ftps-implicit" and e.kind != "SYN"]
    assert implicit and all(e.kind == "TLS" for e in implicit) and implicit[0].message.content_type == 22
    # the data connections are TLS too (PROT P, RFC 4217 §9)
    data = [e for e in trace if e.flow == "ftps-data" and e.kind != "SYN"]
    assert len({e.src for e in data} - {"server"}) == 2 and all(e.kind == "TLS" for e in data)


def test_shipped_ftps_capture():
    check_ftps(SHIPPED, record_ftps.SHIPPED_PORT)


def test_shipped_lftp_transcript_shows_the_commands_inside_tls_password_masked():
    text = record_ftps.transcript_path(SHIPPED).read_text()
    lines = text.splitlines()
    order = ["---> AUTH TLS", "<--- 234 Proceed with negotiation.", "---> PASS ****", "---> PBSZ 0", "---> PROT P"]
    assert [lines.index(line) for line in order] == sorted(lines.index(line) for line in order)
    assert record_ftps.PASSWORD not in text


def test_split_stream_cuts_lines_then_records():
    stream = b"220 hi\r\n" + bytes([22, 3, 1, 0, 2]) + b"ab" + bytes([23, 3, 3, 0, 1]) + b"z"
    pieces = split_stream(stream)
    assert pieces[0] == (0, b"220 hi\r\n")
    assert pieces[1] == (8, TlsRecord(22, (3, 1), 2)) and pieces[2] == (15, TlsRecord(23, (3, 3), 1))
    assert TlsRecord(21, (3, 3), 2).name == "alert"


def test_fresh_ftps_recording(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("recording needs root (tcpdump on lo, useradd, vsftpd)")
    missing = [t for t in record_ftps.TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump vsftpd lftp curl openssl passwd)")
    path, port = record_ftps.record_ftps_session(tmp_path / "ftps.pcap", seed=11)
    check_ftps(path, port)
    assert "---> PROT P" in record_ftps.transcript_path(path).read_text()
