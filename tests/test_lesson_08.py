"""Lesson 08 (the application layer: the map, DNS, DDNS; issue 13): what its prose states holds.

The generic lesson tests (questions before answers, nbval) cover the notebook as a whole; this file pins what
the markdown says: the RFC text it quotes is quoted as worded, the numbers it names are the ones the code
computes, and the common tutorial claims stand next to the RFC text that corrects them.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lesson_text import outputs, prose

from refimpl import app_ports
from refimpl.dns import Message, Question, Record, Type, decode, scenarios
from refimpl.dns.describe import layout
from refimpl.quiz import bank, dns_tour

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "08_application_layer.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(LESSON, as_version=4)


# The RFC sentences the lesson quotes, transcribed from the RFC texts; each must appear word for word.
QUOTES = {
    "RFC 6335 §6 (well known)": "the System Ports, also known as the Well Known Ports, from 0-1023 (assigned by IANA)",
    "RFC 6335 §6 (ephemeral)": (
        "the Dynamic Ports, also known as the Private or Ephemeral Ports, from 49152-65535 (never assigned)"
    ),
    "RFC 2131 §4.1": dns_tour.RFC2131_PORTS,
    "RFC 1035 §4.2": dns_tour.RFC1035_TRANSPORT,
    "RFC 1035 §4.2.1 (UDP)": dns_tour.RFC1035_UDP,
    "RFC 1035 §4.1.2": dns_tour.RFC1035_QNAME,
    "RFC 1035 §4.1.4": dns_tour.RFC1035_OFFSET,
    "RFC 1035 §4.2.1 (512)": dns_tour.RFC1035_512,
    "RFC 2181 §9": dns_tour.RFC2181_TC,
    "RFC 1035 §4.2.2": (
        "The message is prefixed with a two byte length field which gives the message length, excluding the two "
        "byte length field."
    ),
    "RFC 1034 §4.3.1 (non-recursive)": dns_tour.RFC1034_NON_RECURSIVE,
    "RFC 1034 §4.3.1 (recursive)": dns_tour.RFC1034_RECURSIVE,
    "RFC 1035 §4.2 (refresh)": dns_tour.RFC1035_REFRESH,
    "RFC 5936 §4.2": dns_tour.RFC5936_UDP,
    "RFC 5936 §2.2": (
        "The first message MUST begin with the SOA resource record of the zone, and the last message MUST conclude "
        "with the same SOA resource record."
    ),
    "RFC 1035 §2.3.4": "UDP messages 512 octets or less",
    "RFC 6891 §4.3": dns_tour.RFC6891_512,
    "RFC 6891 §6.2.3": (
        "The requestor's UDP payload size (encoded in the RR CLASS field) is the number of octets of the largest UDP "
        "payload that can be reassembled and delivered in the requestor's network stack."
    ),
    "RFC 5452 §3 (ID)": "The ID field of the reply packet matches that of the question packet.",
    "RFC 5452 §3 (address)": "The response comes from the same network address to which the question was sent.",
    "RFC 6840 §5.7": (
        "This document defines setting the AD bit in a query as a signal indicating that the requester understands "
        "and is interested in the value of the AD bit in the response."
    ),
    "RFC 6891 §6.2.3 (512)": "Values lower than 512 MUST be treated as equal to 512.",
    "RFC 2136 (abstract, opcode)": dns_tour.RFC2136_ABSTRACT,
    "RFC 2136 (abstract, atomic)": dns_tour.RFC2136_ATOMIC,
    "RFC 4703 (abstract)": dns_tour.RFC4703_ABSTRACT,
    "RFC 2136 §2.4.5": "Name is not in use. No RR of any type is owned by a specified NAME.",
    "RFC 2136 §2.4.5 (form)": "CLASS must be specified as NONE. TYPE must be specified as ANY.",
}


@pytest.mark.parametrize("name", QUOTES)
def test_the_lesson_quotes_the_rfcs_as_worded(nb, name):
    assert QUOTES[name] in prose(nb), name


def test_a_misquote_is_caught(nb):
    assert "Messages carried by UDP are restricted to 1232 bytes" not in prose(nb)


# ---------------------------------------------------------------- the questions
def question_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("question")]


def test_every_lesson_08_question_in_the_bank_is_asked_before_its_answer(nb):
    asked = question_cells(nb)
    assert len(asked) >= 5
    ids = [c.metadata["course"]["question"] for c in asked]
    assert {q.id for q in dns_tour.QUESTIONS} <= set(ids), "every DNS/DDNS question is asked (HTTP's come later)"
    order = {c.id: i for i, c in enumerate(nb.cells)}
    for cell in asked:
        qid = cell.metadata["course"]["question"]
        assert qid.startswith("08-") and f'ask("{qid}")' in cell.source
        revealing = [c for c in nb.cells if qid in c.get("metadata", {}).get("course", {}).get("reveals", [])]
        assert revealing and order[cell.id] < order[revealing[0].id], qid
        assert cell.metadata["course"]["covers"] == list(bank.get(qid).covers)
        html = "".join(o["data"].get("text/html", "") for o in cell.outputs if "data" in o)
        assert "<details><summary>Answer</summary>" in html, f"{qid}: the static view of the question is stored"


# ---------------------------------------------------------------- 1 the map
def test_the_map_printed_is_the_table(nb):
    assert app_ports.table() in outputs(nb)
    assert app_ports.port_of("DNS") == (53,) and app_ports.port_of("DHCP") == (67, 68)


def test_the_simulator_hands_out_ephemeral_ports_from_49152():
    from refimpl.sim.network import Network

    net = Network()
    host = net.host("h", net.segment("lan", "192.0.2.0/24"), ip="192.0.2.9/24")
    assert host.ephemeral_port() == 49152


# ---------------------------------------------------------------- 2 the message
def query() -> Message:
    return Message(id=0x1234, rd=True, questions=[Question("www.example.com", Type.A)])


def test_the_query_is_as_long_as_the_question_says():
    data = query().encode()
    assert len(data) == bank.get("08-query-size").answer == 12 + 17 + 4
    assert data[2:4] == b"\x01\x00", "only RD set, as the prose says"


def test_the_answers_name_is_a_pointer_to_offset_12():
    answer = query().reply()
    answer.aa = True
    answer.answer = [Record("www.example.com", Type.A, "192.0.2.80")]
    answer.authority = [Record("example.com", Type.NS, "ns1.example.com")]
    answer.additional = [Record("ns1.example.com", Type.A, "192.0.2.53")]
    wire = answer.encode()
    spans = {s.name: s for s in layout(wire)}
    at = spans["answer[0] name"].offset
    assert at == 33 and wire[at : at + 2] == b"\xc0\x0c"
    assert bank.get("08-pointer-offset").answer == 0x0C == 12
    ns = spans["authority[0] rdata"]
    assert wire[ns.offset : ns.offset + ns.size] == b"\x03ns1\xc0\x10", "labels ending with a pointer"
    a = spans["answer[0] rdata"]
    assert wire[a.offset] & 0xC0 == 0xC0, "the A RDATA starts with the pointer bits, as the prose warns"
    assert decode(wire).answer[0].value == "192.0.2.80"


# ---------------------------------------------------------------- 3 a query and its answer
def test_a_small_answer_is_two_datagrams():
    run = scenarios.lookup("www.example.com")
    assert [(e.transport, e.src) for e in run.trace] == [("udp", "laptop"), ("udp", "ns1")]
    assert run.answer.aa and run.answer.answer[0].value == "192.0.2.80"
    assert run.trace.events[0].src_port == 49152 and run.trace.events[1].dst_port == 49152


def test_the_pool_is_truncated_over_udp_and_whole_over_tcp():
    run = scenarios.lookup("pool.example.com", edns=None)
    udp = [e for e in run.trace if e.transport == "udp"]
    tcp = [e for e in run.trace if e.transport == "tcp" and e.message is not None]
    assert len(udp) == 2 and udp[1].message.tc and len(udp[1].raw) <= 512
    assert 0 < len(udp[1].message.answer) < scenarios.POOL_SIZE
    assert [e.message.qr for e in tcp] == [False, True]
    assert not tcp[1].message.tc and len(tcp[1].message.answer) == scenarios.POOL_SIZE
    kinds = [e.kind for e in run.trace if e.transport == "tcp"]
    assert kinds[:3] == ["SYN", "SYN-ACK", "ACK"] and kinds[5] == "FIN", "the laptop closes first"
    assert run.trace.events[kinds.index("FIN") + 2].src == "laptop"
    assert run.answer is tcp[1].message or run.answer == tcp[1].message
    assert bank.get("08-tc-retry").check("drops it and asks the same question again over TCP").right


def test_with_edns_the_pool_fits_in_one_datagram():
    run = scenarios.lookup("pool.example.com", edns=1232)
    assert [e.transport for e in run.trace] == ["udp", "udp"]
    assert 512 < len(run.trace.events[1].raw) <= 1232 and not run.answer.tc


def test_a_lost_answer_is_asked_again():
    run = scenarios.lookup("www.example.com", drop={"NOERROR": {1}})
    queries = [e for e in run.trace if e.src == "laptop"]
    assert len(queries) == 2 and queries[1].time - queries[0].time == pytest.approx(2.0)
    assert run.answer is not None


# ---------------------------------------------------------------- 4 recursion and iteration
def test_the_walk_goes_root_com_example_and_the_laptop_sees_no_referral():
    run = scenarios.walk("www.example.com")
    assert [(e.src, e.dst) for e in run.trace] == [
        ("laptop", "resolver"),
        ("resolver", "root"),
        ("root", "resolver"),
        ("resolver", "com"),
        ("com", "resolver"),
        ("resolver", "ns1"),
        ("ns1", "resolver"),
        ("resolver", "laptop"),
    ]
    root = run.trace.events[2].message
    assert not root.aa and not root.answer and root.authority[0].name == "com" and root.additional
    assert run.trace.events[0].message.rd and run.answer.ra and run.answer.answer[0].value == "192.0.2.80"
    assert run.resolver.results[0].path == ("", "com", "example.com")
    q = bank.get("08-root-referral")
    assert q.options[q.answer].startswith("a referral")


# ---------------------------------------------------------------- 3 and 5: the real capture
SHIPPED = ROOT / "refimpl" / "data" / "captures" / "dns_session.pcap"


@pytest.fixture(scope="module")
def capture():
    from refimpl.capture.dns import read_dns_trace
    from refimpl.capture.record_dns import SHIPPED_PORT

    return read_dns_trace(SHIPPED, SHIPPED_PORT)


def test_the_capture_numbers_the_prose_names(capture, nb):
    text = prose(nb)
    answers = [e for e in capture if e.message is not None and e.message.qr]
    edns_many = answers[3]
    assert edns_many.transport == "udp" and len(edns_many.raw) == 685 and "685-byte datagram" in text
    assert len(edns_many.message.answer) == 40 and "40 addresses" in text
    assert capture[0].message.edns.udp_size == 1232 and capture[0].message.edns.options[0][0] == 10, "a COOKIE"
    tcp_query = next(e for e in capture if e.transport == "tcp" and e.message is not None)
    assert tcp_query.message.id != capture[2].message.id, "dig's TCP retry has a new ID, as the prose says"
    assert capture[0].message.ad and not answers[0].message.ad, "dig sets AD; our server leaves it 0"
    axfr = answers[-1]
    assert axfr.transport == "tcp" and "this one fitted in one" in text
    assert sum(1 for e in capture if e.message is not None and e.message.qr and e.transport == "tcp") == 2


def test_our_server_gives_what_the_prose_says_about_sizes_and_transfers():
    from refimpl.dns.server import ServerConfig

    assert ServerConfig().max_udp == 1232 and ServerConfig().allow_axfr is False
    zone = (ROOT / "refimpl" / "data" / "example.zone").read_text()
    assert sum(1 for line in zone.splitlines() if line.startswith("many ")) == 40


def test_the_512_byte_claim_stands_beside_the_rfc_text(nb):
    text = prose(nb)
    claim = text.index('A common tutorial claim: "DNS answers never exceed 512 bytes"')
    assert abs(claim - text.index("Messages carried by UDP are restricted to 512 bytes", claim - 100)) < 400
    assert "our policy" in text


# ---------------------------------------------------------------- 6 DDNS
def test_the_ddns_claim_stands_beside_the_rfc_text(nb):
    text = prose(nb)
    claim = text.index('A common tutorial claim: DDNS stands for "Dynamic Domain Name Server"')
    assert abs(claim - text.index(dns_tour.RFC2136_ABSTRACT)) < 400
    assert "Dynamic Updates in the Domain Name System (DNS UPDATE)" in text


def test_a_lease_puts_the_name_in_both_zones_with_a_third_of_the_lease_as_ttl(nb):
    from refimpl.dhcp.ddns_scenario import ddns_lease

    run = ddns_lease()
    kinds = [e.kind for e in run.trace if e.flow != "arp" and not e.is_note]
    assert kinds[:4] == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    assert kinds[4:] == ["DNS UPDATE", "UPDATE NOERROR"] * 2, "the UPDATEs after the ACK"
    update = next(e for e in run.trace if e.kind == "DNS UPDATE").message
    assert update.opcode == 5 and (update.answer[0].cls, update.answer[0].type) == (254, 255), "NONE ANY"
    a = next(r for r in run.dns.server_for("example.com").zone.lookup("host7.example.com") if r.type == 1)
    assert a.ttl == 1200 == 3600 // 3 and "1200 s, is a third of the 3600 s lease" in prose(nb)
    assert any("PTR host7.example.com." in line for line in run.records("100.2.0.192.in-addr.arpa"))


def test_the_rival_gets_yxdomain_then_nxrrset_and_keeps_its_lease(nb):
    from refimpl.dhcp.ddns_scenario import ddns_lease

    run = ddns_lease(rival=True)
    answers = [e.kind for e in run.trace if e.kind.startswith("UPDATE") and e.time >= 2]
    assert answers == ["UPDATE YXDOMAIN", "UPDATE NXRRSET"]
    assert [x.outcome for x in run.exchanges] == ["added", "conflict"]
    assert run.records("host7.example.com")[0].endswith("A 192.0.2.100")
    assert run.clients["rival"].host.ip == "192.0.2.101"
    assert next(e.time for e in run.trace if e.src == "rival") == pytest.approx(2.001), "2 s later"
    q = bank.get("08-rival-dhcid")
    assert q.options[q.answer].startswith("the first client's A record and DHCID")


def test_a_release_takes_the_records_out():
    from refimpl.dhcp.ddns_scenario import ddns_lease

    run = ddns_lease(release_at=10.0)
    assert run.records("host7.example.com") == [] and run.records("100.2.0.192.in-addr.arpa") == []
    assert sum(1 for e in run.trace if e.kind == "DNS UPDATE" and e.time >= 10) == 3


def test_the_lesson_file_stays_small(nb):
    """Sections 1-6 under 200 kB; the whole lesson (HTTP, Telnet, SSH and RDP appended from section 7 on) under 300."""
    import json

    cells = nb.cells
    seven = next((i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## 7")), None)
    assert sum(len(json.dumps(c)) for c in cells[:seven]) < 200_000
    assert LESSON.stat().st_size < 300_000
