"""Zone transfer (AXFR, RFC 5936) in our authoritative server: TCP only, closed by default, SOA first and last.

The core is tested without sockets; one test runs real ``dig axfr`` against our server on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from refimpl.dns import Message, Question, Rcode, Type, decode
from refimpl.dns.server import AuthoritativeServer, Note, Send, ServerConfig
from refimpl.dns.tsig import Key, sign, verify
from refimpl.dns.zone import read_zone

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"
CLIENT = ("127.0.0.1", 40000)


def server(**config) -> AuthoritativeServer:
    return AuthoritativeServer(read_zone(ZONE_FILE), ServerConfig(**config), keys=[Key("xfr", bytes(32))])


def axfr(name: str = "example.com", qid: int = 7) -> bytes:
    return Message(id=qid, questions=[Question(name, Type.AXFR)]).encode()


def sent(effects) -> list[Message]:
    return [decode(e.data) for e in effects if isinstance(e, Send)]


def test_over_tcp_the_whole_zone_comes_soa_first_and_last():
    s = server(allow_axfr=True)
    (reply,) = sent(s.receive(axfr(), CLIENT, now=0, tcp=True))
    assert reply.id == 7 and reply.qr and reply.aa and reply.rcode == Rcode.NOERROR
    assert reply.questions == [Question("example.com", Type.AXFR)]
    types = [r.type for r in reply.answer]
    assert types[0] == types[-1] == Type.SOA and Type.SOA not in types[1:-1]
    in_zone = sum(len(rrs) for rrs in s.zone.records.values())
    assert len(reply.answer) == in_zone + 1, "every record once, the SOA twice"


def test_not_over_udp_and_not_when_closed_and_not_below_the_apex():
    udp = sent(server(allow_axfr=True).receive(axfr(), CLIENT, now=0, tcp=False))
    closed = sent(server().receive(axfr(), CLIENT, now=0, tcp=True))
    below = sent(server(allow_axfr=True).receive(axfr("www.example.com"), CLIENT, now=0, tcp=True))
    assert [m.rcode for m in udp + closed + below] == [Rcode.NOTIMP, Rcode.REFUSED, Rcode.NOTAUTH]
    assert all(not m.answer for m in udp + closed + below)


def test_a_large_zone_takes_several_messages_none_over_the_limit():
    s = server(allow_axfr=True)
    query = decode(axfr())
    messages = s.transfer_messages(query, limit=400)
    assert len(messages) > 2
    assert all(len(m.encode()) <= 400 for m in messages)
    assert messages[0].questions and not messages[1].questions  # RFC 5936 §2.2.1: the question in the first
    stream = [r for m in messages for r in m.answer]
    assert stream[0].type == stream[-1].type == Type.SOA
    assert [r.type for r in stream[1:-1]].count(Type.SOA) == 0
    assert stream == s.transfer_messages(query)[0].answer, "the same records as one big message"


def test_a_signed_transfer_is_signed_and_notes_what_it_sent():
    s = server(allow_axfr=True)
    request, mac = sign(axfr(), s.keys["xfr"], now=1000)
    effects = s.receive(request, CLIENT, now=1000, tcp=True)
    data = next(e.data for e in effects if isinstance(e, Send))
    assert verify(data, s.keys, now=1000, request_mac=mac).error == 0
    assert any(isinstance(e, Note) and "records in 1 message" in e.text for e in effects)


def test_dig_axfr_against_our_server():
    if shutil.which("dig") is None:
        pytest.skip("needs dig (Debian package bind9-dnsutils)")
    from refimpl.sockets.dns_server import DnsServer
    from tests.server_thread import ServerThread

    driver = DnsServer(server(allow_axfr=True), "127.0.0.1", 0, idle_timeout=1.0)
    with ServerThread(driver.start, driver.close, "DNS server") as thread:
        out = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(thread.port), "+tries=1", "+time=3", "example.com", "AXFR"],
            capture_output=True,
            text=True,
            timeout=20,
        ).stdout
    lines = [line.split() for line in out.splitlines() if line and not line.startswith(";")]
    assert lines[0][3] == lines[-1][3] == "SOA", out
    assert any(line[0] == "www.example.com." and line[3] == "AAAA" for line in lines)
    assert "XFR size:" in out


def test_the_cli_flag_opens_transfers():
    from refimpl.cli.dns import server_parser

    assert server_parser().parse_args(["--zone", str(ZONE_FILE), "--allow-axfr"]).allow_axfr is True
    assert server_parser().parse_args(["--zone", str(ZONE_FILE)]).allow_axfr is False
