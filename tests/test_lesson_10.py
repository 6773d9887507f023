"""Lesson 10 (DHCP security and operations, issue 14): the facts its prose states hold in the runs it shows.

The generic lesson tests (figures stored, tidy, nbval) cover the notebook as a whole; this file pins what the
markdown says: who answers first, how many addresses a tool takes, what each defence stops, what a restart
keeps, what a split pool cannot do, and that the RFC text it quotes is quoted as worded.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import nbformat
import pytest
from lesson_text import prose

from refimpl.dhcp import attacks
from refimpl.quiz import bank

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "10_dhcp_security.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(LESSON, as_version=4)


# The RFC sentences the lesson quotes, transcribed from the RFCs (RFC 2131, RFC 3046, RFC 7513 abstract, RFC 8156
# abstract). Each must appear in the lesson word for word.
QUOTES = {
    "RFC 2131 §7 (insecure)": "DHCP in its current form is quite insecure.",
    "RFC 2131 §7 (rogue)": (
        "Unauthorized DHCP servers may be easily set up. Such servers can then send false and potentially "
        "disruptive information to clients such as incorrect or duplicate IP addresses, incorrect routing "
        "information (including spoof routers, etc.), incorrect domain nameserver addresses (such as spoof "
        "nameservers), and so on."
    ),
    "RFC 2131 §7 (starvation)": (
        "Where dynamic allocation of resources is used, a malicious client could claim all resources for itself, "
        "thereby denying resources to legitimate clients."
    ),
    "RFC 2131 §4.4.1": (
        "The client collects DHCPOFFER messages over a period of time, selects one DHCPOFFER message from the "
        "(possibly many) incoming DHCPOFFER messages (e.g., the first DHCPOFFER message or the DHCPOFFER message "
        "from the previously used server) and extracts the server address from the 'server identifier' option in "
        "the DHCPOFFER message. The time over which the client collects messages and the mechanism used to select "
        "one DHCPOFFER are implementation dependent."
    ),
    "RFC 2131 §3.1 step 4": (
        "The server selected in the DHCPREQUEST message commits the binding for the client to persistent storage "
        "and responds with a DHCPACK message containing the configuration parameters for the requesting client."
    ),
    "RFC 2131 §1.6 (unique)": (
        "Guarantee that any specific network address will not be in use by more than one DHCP client at a time"
    ),
    "RFC 2131 §1.6 (reboots)": "Retain DHCP client configuration across server reboots",
    "RFC 2131 §1.6 (several servers)": (
        "Some installations may include multiple, overlapping DHCP servers to enhance reliability and increase "
        "performance."
    ),
    "RFC 2131 §2.2": "the client SHOULD probe the newly received address, e.g., with ARP",
    "RFC 2131 §4.3.2": "The DHCP server SHOULD check 'ciaddr' for correctness before replying to the DHCPREQUEST",
    "RFC 3046 §2.1 (bridge)": (
        "A trusted circuit may contain a trusted downstream (closer to client) network element (bridge) between "
        "the relay agent and the client that MAY add a relay agent option but not set the giaddr field."
    ),
    "RFC 3046 §2.1 (discard)": (
        "Relay agents receiving a DHCP packet from an untrusted circuit with giaddr set to zero (indicating that "
        "they are the first-hop router) but with a Relay Agent Information option already present in the packet "
        "SHALL discard the packet and increment an error count."
    ),
    "RFC 3046 §2.1 (remove)": (
        "The Relay Agent Information option echoed by a server MUST be removed by either the relay agent or the "
        "trusted downstream network element which added it when forwarding a server-to-client response back to "
        "the client"
    ),
    "RFC 3046 §2.2": (
        "DHCP servers claiming to support the Relay Agent Information option SHALL echo the entire contents of "
        "the Relay Agent Information option in all replies."
    ),
    "RFC 3046 §3.1": "Servers MAY use the Circuit ID for IP and other parameter assignment policies.",
    "RFC 3046 §4.0": (
        "The DHCP server SHOULD implement policies that restrict the number of IP addresses to be assigned to a "
        "single remote ID."
    ),
    "RFC 7513": (
        "specifies the procedure for creating a binding between a DHCPv4/DHCPv6-assigned IP address and a binding "
        "anchor on a Source Address Validation Improvement (SAVI) device"
    ),
    "RFC 7513 (filter)": (
        "The bindings set up by this procedure are used to filter packets with forged source IP addresses."
    ),
    "RFC 8156": (
        'DHCPv6 as defined in "Dynamic Host Configuration Protocol for IPv6 (DHCPv6)" (RFC 3315) does not offer '
        "server redundancy. This document defines a protocol implementation to provide DHCPv6 failover"
    ),
}


@pytest.mark.parametrize("name", QUOTES)
def test_the_lesson_quotes_the_rfcs_as_worded(nb, name):
    assert QUOTES[name] in prose(nb), name


def test_the_tutorial_claim_stands_beside_the_rfc_text_and_our_readings_are_labelled(nb):
    text = prose(nb)
    claim = text.index("A common tutorial claim:")
    assert abs(claim - text.index("The client collects DHCPOFFER messages")) < 800
    assert "(our reading)" in text and "our policy" in text


def test_a_misquote_is_caught(nb):
    assert "The client MUST select the first DHCPOFFER" not in prose(nb)


def test_snooping_and_split_pools_are_labelled_as_practice_not_rfc(nb):
    text = prose(nb)
    assert "DHCP snooping has no RFC." in text and "common switch practice" in text
    assert "never became an RFC" in text and "RFC 8156 (2017)" in text
    assert "split pools" in text and "common practice" in text
    assert "(our simplification)" in text or "our policy" in text


# ---------------------------------------------------------------- the questions
def question_cells(nb):
    return [c for c in nb.cells if c.get("metadata", {}).get("course", {}).get("question")]


def test_the_lesson_asks_at_least_five_questions_before_their_answers(nb):
    asked = question_cells(nb)
    assert len(asked) >= 5
    order = {c.id: i for i, c in enumerate(nb.cells)}
    for cell in asked:
        qid = cell.metadata["course"]["question"]
        assert qid.startswith("10-") and f'ask("{qid}")' in cell.source
        assert cell.metadata["course"]["covers"] == list(bank.get(qid).covers)
        revealing = [c for c in nb.cells if qid in c.get("metadata", {}).get("course", {}).get("reveals", [])]
        assert revealing and order[cell.id] < order[revealing[0].id], qid
        html = "".join(o["data"].get("text/html", "") for o in cell.outputs if "data" in o)
        assert "<details><summary>Answer</summary>" in html, qid


def test_every_lesson_10_question_in_the_bank_is_asked(nb):
    asked = {c.metadata["course"]["question"] for c in question_cells(nb)}
    assert {q.id for q in bank.for_lesson("10")} == asked


# ---------------------------------------------------------------- 1 the rogue
def test_the_rogue_answers_first_and_becomes_the_gateway_and_dns():
    run = attacks.rogue_server()
    offers = [e for e in run.trace if e.kind == "DHCPOFFER" and e.dst == "victim"]
    assert [e.src for e in offers] == ["rogue", "router"]
    assert offers[1].time - offers[0].time == pytest.approx(0.002), "the question says 2 ms"
    assert any(c.event == "DHCPOFFER" and c.action == "discard" for c in run.changes()), "the later OFFER"
    assert run.client.host.gateway == attacks.ROGUE_IP
    assert run.client.client.lease.options[6] == [attacks.ROGUE_IP]
    received = [p.dst_ip for s in run.net.hosts["rogue"].udp_sockets.values() for p in s.received]
    assert sorted(received) == sorted([attacks.ROGUE_IP, attacks.OUTSIDE[0]])
    assert (
        bank.get("10-rogue-first-offer")
        .check("the rogue's: it came first, and the RFC leaves the choice to the client")
        .right
    )


# ---------------------------------------------------------------- 2 starvation
def test_the_numbers_in_the_starvation_prose_are_the_runs():
    defaults = inspect.signature(attacks.starvation).parameters
    assert (defaults["count"].default, defaults["rate"].default, defaults["victim_at"].default) == (40, 50.0, 2.0)
    first, last = (int(a.rsplit(".", 1)[1]) for a in attacks.POOL)
    assert last - first + 1 == 20


def test_starvation_takes_the_pool_before_the_victim_boots():
    run = attacks.starvation()
    assert len(run.attacker.taken) == bank.get("10-starvation-addresses").answer == 20
    last_ack = max(e.time for e in run.trace if e.kind == "DHCPACK")
    assert last_ack < 1.0, "the question asks what the tool holds a second later"
    assert not any(e.kind == "DHCPOFFER" and e.dst == "victim" for e in run.trace)
    assert run.clients["victim"].state == "LINK-LOCAL" and run.clients["victim"].host.ip.startswith("169.254.")


# ---------------------------------------------------------------- 3 snooping
def test_the_rate_limit_question_matches_its_run():
    run = attacks.snooping_starvation(spoof_source=True, rate=5.0, attack_rate=2.0)
    q = bank.get("10-rate-limit")
    assert q.options[q.answer].startswith(f"{len(run.attacker.taken)}:")
    assert run.clients["victim"].state == "BOUND"


def test_each_defence_does_what_the_table_says():
    def taken(**options):
        return len(attacks.snooping_starvation(**options).attacker.taken)

    assert taken(spoof_source=False, rate=None) == 0  # verify chaddr stops the lazy tool
    assert taken(spoof_source=True, rate=None) == 20  # ... not the careful one
    assert taken(spoof_source=True, rate=5.0) <= 3  # the limit stops a fast flood
    assert taken(spoof_source=True, rate=5.0, attack_rate=2.0) == 19  # not a patient tool
    assert taken(spoof_source=True, rate=None, max_macs=2, attack_rate=2.0) == 2  # port security caps the number


# ---------------------------------------------------------------- 4 the restart
def test_the_restart_keeps_the_binding_only_with_a_lease_file(tmp_path):
    kept, lost = attacks.restart(tmp_path), attacks.restart(None)
    assert kept.restored == ["192.0.2.100"] and lost.restored == []

    def story(run):
        offer = next(e for e in run.trace if e.kind == "DHCPOFFER" and e.dst == "pc2")
        renewal = next(e for e in run.trace if e.time > 300 and e.src == "server" and e.kind in ("DHCPACK", "DHCPNAK"))
        return offer.message.yiaddr, renewal.kind, run.clients["pc1"].host.ip

    assert story(kept) == ("192.0.2.101", "DHCPACK", "192.0.2.100")
    assert story(lost) == ("192.0.2.100", "DHCPNAK", "192.0.2.102")
    assert any(e.kind == "DHCPDECLINE" and e.src == "pc2" for e in lost.trace), "pc2's ARP probe caught it"
    q = bank.get("10-restart-address")
    assert q.options[q.answer].startswith("192.0.2.100")
    lines = (tmp_path / "dhcp4.leases").read_text().splitlines()
    assert lines[0].startswith("address,hwaddr") and lines[-1].startswith("192.0.2.100,") and len(lines) == 4
    assert any("written to disk before the ACK" in line for line in kept.server.log)


def test_the_restart_prose_times_are_the_runs():
    source = inspect.getsource(attacks.restart)
    assert "call_at(100.0, crash)" in source and "call_at(110.0, come_back)" in source
    assert "start(at=150.0)" in source and inspect.signature(attacks.restart).parameters["lease_time"].default == 600


# ---------------------------------------------------------------- 5 split pools
def test_split_pools_keep_addresses_unique_not_leases_alive():
    run = attacks.split_pools()
    first = next(e for e in run.trace if e.kind == "DHCPACK" and e.dst == "pc1")
    assert (first.src, first.message.yiaddr) == ("dhcp-a", "192.0.2.100")
    assert [c.after for c in run.changes("pc1")].count("REBINDING") >= 1
    assert any("staying silent" in line for line in run.servers["dhcp-b"].log)
    assert run.clients["pc1"].host.ip == "192.0.2.181" and run.clients["pc2"].host.ip == "192.0.2.180"
    a, b = (run.servers[n].server.store for n in ("dhcp-a", "dhcp-b"))
    assert (a.size, b.size) == (80, 20), "the 80/20 split the lesson names"


def test_the_snooping_numbers_in_the_prose_are_the_runs():
    defaults = inspect.signature(attacks.snooping_starvation).parameters
    assert defaults["rate"].default == 5.0 and defaults["attack_rate"].default == 50.0
    assert "burst=rate or 1.0" in inspect.getsource(attacks.snooping_starvation), "the burst of 5 the prose names"
    assert "net.call_at(6.0, spoof)" in inspect.getsource(attacks.snooping_rogue), "the rogue forges at t=6"
