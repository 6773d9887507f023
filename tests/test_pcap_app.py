"""The HTTP, Telnet and SSH captures of lesson 08: what their README rows and the lesson say, asserted on the bytes.

The shipped files are read by refimpl.capture.app; a fresh recording of each runs the real programs
(root and the Debian packages named in each skip message).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl import ssh_wire, telnet
from refimpl.capture import app, record_http, record_ssh, record_telnet

CAPTURES = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures"


def needs_h11() -> None:
    pytest.importorskip("h11", reason="HTTP captures are read with h11 (Python package h11)")


def check_http(trace, port):
    messages = [(e.src, e.kind, e.summary.split(",")[0]) for e in trace if e.kind not in ("SYN", "FIN", "RST")]
    assert messages == [
        ("client", "GET", "/hello.txt"),
        ("server", "200", "OK"),
        ("client", "GET", "/index.html"),
        ("server", "200", "OK"),
        ("client", "HEAD", "/hello.txt"),
        ("server", "200", "OK"),
        ("client", "GET", "/hello.txt"),
        ("server", "200", "OK"),
        ("client2", "GET", "/missing.txt"),
        ("server", "404", "File not found"),
    ]
    # one connection for four requests (RFC 9112 §9.3), a second one for the 404
    assert [e.src for e in trace if e.kind == "SYN"] == ["client", "client2"]
    first = [e for e in trace if "client" in (e.src, e.dst)]
    assert [e.kind for e in first][-2:] == ["FIN", "FIN"] and first[0].kind == "SYN"
    responses = [e.message for e in trace if e.kind in ("200", "404")]
    assert responses[0].body == record_http.HELLO and responses[1].body == record_http.INDEX
    head = responses[2]
    assert head.body == b"" and head.header("Content-Length") == str(len(record_http.HELLO))  # RFC 9110 §9.3.2
    closing = [e.message for e in trace if e.kind == "GET"][2]
    assert closing.header("Connection") == "close"
    assert responses[3].start == "HTTP/1.1 200 OK" and responses[4].header("Connection") == "close"
    assert all(e.dst_port == port for e in trace if e.src != "server")


def check_telnet(trace):
    pieces = [(e.src, p) for e in trace if e.kind not in ("SYN", "FIN", "RST") for p in e.message]
    commands = [(src, p) for src, p in pieces if isinstance(p, telnet.Command)]
    assert ("server", telnet.Command("DO", 24)) in commands  # telnetd asks for the terminal type
    assert ("client", telnet.Command("WILL", 24)) in commands
    assert ("server", telnet.Subnegotiation(24, b"\x01")) in pieces  # SEND (RFC 1091)
    assert ("client", telnet.Subnegotiation(24, b"\x00VT100")) in pieces  # IS VT100
    assert ("server", telnet.Command("WILL", 1)) in commands and ("client", telnet.Command("DO", 1)) in commands
    # every request the client did not want got a refusal (RFC 1123 §3.2.1)
    for src, p in commands:
        if src == "server" and p.verb == "DO" and p.option not in record_telnet.WILL:
            assert ("client", telnet.Command("WONT", p.option)) in commands
    client_text = b"".join(p.data for src, p in pieces if src == "client" and isinstance(p, telnet.Text))
    assert record_telnet.PASSWORD.encode() + b"\r\n" in client_text  # the password, in clear
    assert record_telnet.USER.encode() in client_text
    assert not any(e.kind == "RST" for e in trace)


def check_ssh(trace, path, port):
    kexinits = {(e.src, e.dst): e.message for e in trace if e.kind == "KEXINIT"}
    assert len(kexinits) == 4
    chosen = []
    for name in ("client", "client2"):
        c, s = kexinits[(name, "server")], kexinits[("server", name)]
        key = "compression_algorithms_client_to_server"
        assert s.lists[key] == ("none", "zlib@openssh.com")
        chosen.append(ssh_wire.negotiate(c.lists[key], s.lists[key]))
    assert chosen == ["none", "zlib@openssh.com"]  # compression is negotiated, not always on (RFC 4253 §6.2)
    for name in ("client", "client2"):
        kinds = [e.kind for e in trace if e.src == name]
        assert kinds[:5] == ["SYN", "version", "KEXINIT", "KEX_ECDH_INIT", "NEWKEYS"] and "encrypted" in kinds
        assert [e.kind for e in trace if e.dst == name][:5] == [
            "version",
            "KEXINIT",
            "KEX_ECDH_REPLY",
            "NEWKEYS",
            "encrypted",
        ]
    for e in trace:
        if isinstance(e.message, ssh_wire.Packet):  # RFC 4253 §6: a multiple of 8 (no cipher yet), >= 4 padding
            assert e.message.size % 8 == 0 and e.message.padding_length >= 4
    conns = app.connections(app.read_segments(path), port)
    for conn in conns:
        for from_client in (True, False):
            shake = ssh_wire.read_handshake(conn.stream(from_client))
            assert shake.encrypted_bytes > 0 and shake.packets[-1][1].name == "NEWKEYS"
    raw = path.read_bytes()
    assert b"SSH-2.0-OpenSSH" in raw and record_ssh.MARKER.encode() not in raw  # the command and its output: encrypted


def test_shipped_http_capture():
    needs_h11()
    check_http(app.read_http_trace(CAPTURES / "http_session.pcap", record_http.SHIPPED_PORT), record_http.SHIPPED_PORT)


def test_shipped_telnet_capture():
    check_telnet(app.read_telnet_trace(CAPTURES / "telnet_session.pcap", record_telnet.SHIPPED_PORT))


def test_shipped_ssh_capture():
    path = CAPTURES / "ssh_session.pcap"
    check_ssh(app.read_ssh_trace(path, record_ssh.SHIPPED_PORT), path, record_ssh.SHIPPED_PORT)


def needs(*tools: str, debian: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("recording needs root (tcpdump on lo)")
    missing = [t for t in tools if shutil.which(t) is None and not Path(t).exists()]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: {debian})")


def test_fresh_http_recording(tmp_path):
    needs_h11()
    needs("tcpdump", debian="tcpdump")
    path, port = record_http.record_http_session(tmp_path / "http.pcap", seed=8)
    check_http(app.read_http_trace(path, port), port)


def test_fresh_telnet_recording(tmp_path):
    needs("tcpdump", record_telnet.TELNETD, "useradd", "login", debian="tcpdump inetutils-telnetd passwd login")
    path, port = record_telnet.record_telnet_session(tmp_path / "telnet.pcap", seed=8)
    check_telnet(app.read_telnet_trace(path, port))


def test_fresh_ssh_recording(tmp_path):
    needs("tcpdump", record_ssh.SSHD, "ssh", "ssh-keygen", debian="tcpdump openssh-server openssh-client")
    path, port = record_ssh.record_ssh_session(tmp_path / "ssh.pcap", seed=8)
    check_ssh(app.read_ssh_trace(path, port), path, port)


def test_connections_put_bytes_back_in_order():
    conns = app.connections(app.read_segments(CAPTURES / "http_session.pcap"), record_http.SHIPPED_PORT)
    assert len(conns) == 2
    assert conns[0].stream(True).startswith(b"GET /hello.txt HTTP/1.1\r\n")
    assert conns[1].stream(False).startswith(b"HTTP/1.1 404 File not found\r\n")
