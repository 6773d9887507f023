"""The zone-file parser (RFC 1035 §5) and the authoritative answer core (RFC 1035, 2308, 6891)."""

from __future__ import annotations

from pathlib import Path

import pytest

from refimpl.dns import Edns, Message, Opcode, Question, Rcode, Type, decode
from refimpl.dns.server import AuthoritativeServer, Send
from refimpl.dns.zone import ZoneError, parse_zone, read_zone

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"


@pytest.fixture(scope="module")
def server():
    return AuthoritativeServer(read_zone(ZONE_FILE))


def ask(server, name, qtype=Type.A, *, edns=None, tcp=False, **flags) -> tuple[Message, int]:
    query = Message(id=4321, rd=True, questions=[Question(name, qtype)], edns=edns, **flags)
    effects = server.receive(query.encode(), ("127.0.0.1", 5353), now=0.0, tcp=tcp)
    data = next(e.data for e in effects if isinstance(e, Send))
    return decode(data), len(data)


# -- the zone file ------------------------------------------------------------------------
def test_sample_zone_reads():
    zone = read_zone(ZONE_FILE)
    assert zone.origin == "example.com"
    assert zone.soa.value == ("ns1.example.com", "hostmaster.example.com", 2026120301, 7200, 900, 1209600, 300)
    assert [r.value for r in zone.lookup("WWW.Example.COM")] == ["192.0.2.80", "2001:db8::80"]  # RFC 4343
    assert zone.lookup("web.example.com")[0].ttl == 300
    assert zone.lookup("_ftp._tcp.example.com")[0].value == (0, 5, 21, "ftp-server.example.com")


def test_zone_syntax():
    zone = parse_zone(
        """$TTL 1h
$ORIGIN example.org.
@ IN SOA ns root ( 1 2 3 4 5 ) ; comment
  NS ns.example.org.
a 60 IN A 192.0.2.1
  IN 1d TXT "semi;colon" "quote\\"d" plain \\065
b.example.org. A 192.0.2.2
x TYPE65280 \\# 2 abcd
"""
    )
    assert zone.soa.ttl == 3600
    a = zone.lookup("a.example.org")
    assert a[0].ttl == 60 and a[1].ttl == 86400
    assert a[1].value == (b"semi;colon", b'quote"d', b"plain", b"A")
    assert zone.lookup("x.example.org")[0].value == b"\xab\xcd"


@pytest.mark.parametrize(
    "text, reason",
    [
        ("@ 1 SOA a b 1 2 3 4 5\n@ 1 SOA a b 1 2 3 4 5\n", "exactly one SOA"),
        ("$ORIGIN x.\n@ 1 SOA a b (1 2 3 4 5\n", "never closed"),
        ("$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\nw 1 A 300.1.1.1\n", "address"),
        ("$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\nw 1 AAAA 192.0.2.1\n", "IPv6"),
        ("$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\nother. 1 A 192.0.2.1\n", "outside the zone"),
        ("$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\n" + "a" * 64 + " 1 A 192.0.2.1\n", "63"),
        ("$INCLUDE other\n", "not supported"),
        ("$ORIGIN x.\n@ SOA a b 1 2 3 4 5\nw A 192.0.2.1 extra\n", "unexpected"),
        ("$ORIGIN x.\n@ 1 SOA a b 1 2 3 4 5\nw 1 MX 70000 m\n", "out of range"),
    ],
)
def test_zone_errors_name_the_line(text, reason):
    with pytest.raises(ZoneError, match=reason):
        parse_zone(text)


# -- answers ------------------------------------------------------------------------------
def test_a_answer_is_authoritative(server):
    reply, _ = ask(server, "www.example.com")
    assert (reply.id, reply.qr, reply.aa, reply.rd, reply.rcode) == (4321, True, True, True, Rcode.NOERROR)
    assert [r.value for r in reply.answer] == ["192.0.2.80"]


def test_cname_is_chased_inside_the_zone(server):
    reply, _ = ask(server, "web.example.com", Type.AAAA)
    assert [(r.name, r.type) for r in reply.answer] == [("web.example.com", Type.CNAME), ("www.example.com", Type.AAAA)]


def test_cname_out_of_zone_stops(server):
    reply, _ = ask(server, "outside.example.com")
    assert [r.type for r in reply.answer] == [Type.CNAME] and reply.rcode == Rcode.NOERROR


def test_nxdomain_has_soa_with_minimum_ttl(server):
    reply, _ = ask(server, "nope.example.com")
    assert reply.rcode == Rcode.NXDOMAIN and reply.aa and not reply.answer
    assert [r.type for r in reply.authority] == [Type.SOA] and reply.authority[0].ttl == 300  # RFC 2308 §3


def test_nodata_is_noerror_with_soa(server):
    reply, _ = ask(server, "mail.example.com", Type.AAAA)
    assert reply.rcode == Rcode.NOERROR and not reply.answer and reply.authority[0].type == Type.SOA


def test_empty_non_terminal_is_nodata_not_nxdomain(server):
    reply, _ = ask(server, "empty.nonterminal.example.com")
    assert reply.rcode == Rcode.NOERROR and not reply.answer


def test_mx_brings_its_address(server):
    reply, _ = ask(server, "example.com", Type.MX)
    assert reply.answer[0].value == (10, "mail.example.com")
    assert [(r.name, r.value) for r in reply.additional] == [("mail.example.com", "192.0.2.25")]


def test_outside_the_zone_is_refused(server):
    reply, _ = ask(server, "www.example.net")
    assert reply.rcode == Rcode.REFUSED and not reply.aa


def test_other_opcodes_are_not_implemented(server):
    reply, _ = ask(server, "www.example.com", opcode=Opcode.NOTIFY)  # UPDATE is implemented: test_dns_update*.py
    assert reply.rcode == Rcode.NOTIMP


def test_edns_version_1_gets_badvers(server):
    reply, _ = ask(server, "www.example.com", edns=Edns(1232, version=1))
    assert reply.rcode == Rcode.BADVERS


def test_garbage_with_a_header_gets_formerr(server):
    effects = server.receive(b"\xab\xcd\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\xc0", ("h", 1), now=0.0)
    reply = decode(effects[0].data)
    assert reply.id == 0xABCD and reply.rcode == Rcode.FORMERR


def test_responses_and_short_bytes_are_not_answered(server):
    response = Message(id=1, qr=True, questions=[Question("www.example.com")]).encode()
    for data in (response, b"\x00" * 5):
        assert not [e for e in server.receive(data, ("h", 1), now=0.0) if isinstance(e, Send)]


def test_two_questions_formerr(server):
    query = Message(questions=[Question("www.example.com"), Question("ns1.example.com")])
    reply = decode(server.receive(query.encode(), ("h", 1), now=0.0)[0].data)
    assert reply.rcode == Rcode.FORMERR


def test_truncation_without_edns_at_512(server):
    reply, size = ask(server, "many.example.com")
    assert reply.tc and size <= 512 and len(reply.answer) < 40


def test_edns_size_lets_it_fit(server):
    reply, size = ask(server, "many.example.com", edns=Edns(4096))
    assert not reply.tc and len(reply.answer) == 40 and size > 512 and reply.edns.udp_size == 1232


def test_edns_size_below_512_counts_as_512(server):
    _, size = ask(server, "big.example.com", Type.TXT, edns=Edns(100))
    assert 100 < size <= 512  # RFC 6891 §6.2.5


def test_tcp_gets_it_all(server):
    reply, size = ask(server, "big.example.com", Type.TXT, tcp=True)
    assert not reply.tc and len(reply.answer) == 3 and size > 512


def test_timer_contract(server):
    assert server.get_timer() is None and server.handle_timer(now=1.0) == []


# -- whatever comes in, only the documented errors come out --------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ZONE_ALPHABET = st.sampled_from(list('abc@$.;()"\\ \t\n019') + ["IN", " A ", " MX ", " SOA ", "$TTL", "$ORIGIN", "TXT"])


@settings(max_examples=300, deadline=None)
@given(st.lists(ZONE_ALPHABET, max_size=60).map("".join))
def test_zone_parser_raises_only_zone_error(text):
    try:
        parse_zone(text, "example.org")
    except ZoneError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=12, max_size=300))
def test_server_never_raises_and_answers_only_queries(data):
    srv = AuthoritativeServer(read_zone(ZONE_FILE))
    for effect in srv.receive(data, ("h", 1), now=0.0):
        if isinstance(effect, Send):
            reply = decode(effect.data)
            assert reply.qr and reply.id == int.from_bytes(data[:2], "big") and len(effect.data) <= 1232
            assert not data[2] & 0x80
