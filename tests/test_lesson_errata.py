"""The lessons' sentences that were once wrong stay right (issue 14, "Errors to mend").

nbval checks that a stored output is what a fresh run prints; these tests check
what nbval cannot: that prose quoting an RFC quotes the right section in its
own words, that numbers in prose come from the run (a markdown cell built from
the trace, whose stored text nbval then compares), and that every figure cell
stores its picture.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("0[2-7]_*.ipynb"))
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def lesson(prefix: str) -> nbformat.NotebookNode:
    (path,) = (ROOT / "notebooks").glob(f"{prefix}_*.ipynb")
    return nbformat.read(path, as_version=4)


def cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def shown(c) -> str:
    """What a reader sees of a cell: its markdown, or the markdown/text a code cell displayed."""
    if c.cell_type == "markdown":
        return c.source
    parts = []
    for out in c.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        else:
            data = out.get("data", {})
            parts.append(data.get("text/markdown", data.get("text/plain", "")))
    return "".join(parts)


def flat(text: str) -> str:
    """Whitespace folded, so a quote may wrap anywhere."""
    return " ".join(text.split())


def prose(nb) -> str:
    return flat("\n".join(c.source for c in nb.cells if c.cell_type == "markdown"))


# -- every figure cell stores its picture -------------------------------------------


def _is_figure_cell(c) -> bool:
    if c.cell_type != "code":
        return False
    lines = [line for line in c.source.strip().splitlines() if line.strip()]
    last = lines[-1].strip() if lines else ""
    plain = "".join(o.get("data", {}).get("text/plain", "") for o in c.get("outputs", []))
    return last in ("fig", "plt.show()") or last.startswith("display(fig") or "<Figure" in plain


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_cell_stores_its_picture(path):
    nb = nbformat.read(path, as_version=4)
    figures = [c for c in nb.cells if _is_figure_cell(c)]
    missing = [
        c.get("id")
        for c in figures
        if not any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in c.outputs)
    ]
    assert not missing, f"figure cells without a stored image: {missing}"


def test_the_figure_check_sees_a_cell_without_its_picture():
    empty = nbformat.v4.new_code_cell("fig = plot()\nfig")
    assert _is_figure_cell(empty) and not empty.outputs
    # a cell whose stored output is only the Figure's repr (03's lease timeline before the fix)
    bare = nbformat.v4.new_code_cell(
        "draw_timeline(life)",
        outputs=[nbformat.v4.new_output("execute_result", {"text/plain": "<Figure size 640x200 with 1 Axes>"})],
    )
    assert _is_figure_cell(bare)


def test_03s_lease_timeline_stores_its_picture():
    nb = lesson("03")
    start = next(
        i for i, c in enumerate(nb.cells) if c.cell_type == "markdown" and "A whole life in one run" in c.source
    )
    images = [
        c
        for c in nb.cells[start : start + 6]
        if any("image/png" in o.get("data", {}) or "image/svg+xml" in o.get("data", {}) for o in c.get("outputs", []))
    ]
    assert images, "no stored picture in 03's 'A whole life in one run'"


# -- 06: numbers in prose come from the run --------------------------------------------


def test_06_ports_in_prose_are_the_runs_ports():
    from refimpl.ftp import datachannel, scenarios

    nb = lesson("06")
    passive = scenarios.login_list("passive")
    reply = next(e for e in passive.trace if e.kind == "227")
    _, port = datachannel.parse_227(reply.summary)
    text = flat(shown(cell(nb, "s1-read")))
    assert f"the server listens on {port}" in text
    assert f"227 {reply.summary}" in text
    # no hand-typed passive port or 227 numbers anywhere in the markdown
    assert not re.search(r"\b300\d\d\b|\(192,0,2,1,\d+,\d+\)|\|\|\|\d+\|", prose(nb))


def test_06_retries_in_prose_are_the_traces_retries():
    from refimpl.ftp import scenarios

    nb = lesson("06")
    blocked = scenarios.server_firewall("passive")
    syns = [e.time for e in blocked.data() if e.kind == "SYN"]
    gaps = [f"{b - a:.0f}" for a, b in zip(syns, syns[1:])]
    text = flat(shown(cell(nb, "s5-fw-read")))
    assert f"sends it {len(syns)} times" in text
    assert f"tries again after {', '.join(gaps[:-1])} and {gaps[-1]} s" in text
    assert "1, 2, 4 and 8 s" not in prose(nb) + text


def test_06_quotes_rfc_2577_section_3_as_worded():
    nb = lesson("06")
    text = prose(nb)
    assert (
        '"To avoid such bounce attacks, it is suggested that servers not open data connections to TCP ports less '
        "than 1024. If a server receives a PORT command containing a TCP port number less than 1024, the suggested "
        "response is 504" in text
    )
    assert "suggests that servers refuse a PORT that names another host" not in text
    assert "common server practice" in text and "port_promiscuous" in text and "permit_foreign_addresses" in text


def test_06_browsers_no_longer_speak_ftp():
    text = prose(lesson("06"))
    assert "Firefox" in text and "Chrome" in text and "2021" in text
    assert "browsers, `curl` and `lftp` all default to passive mode" not in text


@pytest.mark.parametrize("tree", ["solutions", "exercises"])
def test_exercise_06_does_not_put_the_address_check_in_rfc_2577_section_3(tree):
    """Exercise 06 is owned elsewhere; this only reads it (issue 14: it once said §3 refuses another host)."""
    nb = nbformat.read(ROOT / tree / "06_ftp_active_passive.ipynb", as_version=4)
    text = prose(nb)
    assert "common server practice, not an RFC rule" in text
    assert "RFC 2577 §3 suggests servers refuse those, with reply 504" in text
    assert not re.search(r"RFC 2577 §3 (says|asks|requires)[^.]*(another host|not the client)", text)


def test_is_bounce_docstring_labels_the_address_check_as_policy():
    from refimpl.ftp.datachannel import is_bounce

    doc = flat(is_bounce.__doc__)
    assert "our policy" in doc and "RFC 2577 §3 does not ask for it" in doc


# -- 07: the TFTP security sentence is RFC 1350's, and has no MUST ---------------------


def test_07_security_quote_is_rfc_1350s():
    text = prose(lesson("07"))
    assert "RFC 1123 §4.2.3.4 says" not in text and "MUST use care" not in text
    assert (
        'RFC 1350 says so in its Security Considerations, with no MUST in it: *"Since TFTP includes no login or '
        "access control mechanisms, care must be taken in the rights granted to a TFTP server process" in text
    )


# -- 03: the backoff sentence whole, NAKs in RENEWING as policy, send and arrival times ---


def test_03_quotes_the_backoff_sentence_whole_and_the_xid_choice():
    text = prose(lesson("03"))
    assert (
        "For example, in a 10Mb/sec Ethernet internetwork, the delay before the first retransmission SHOULD be 4 "
        "seconds randomized by the value of a uniform random number chosen from the range -1 to +1."
        in text.replace("> ", "")
    )
    assert "Selecting a new 'xid' for each retransmission is an implementation decision." in text
    assert "the RFC's first wait is 4 s" not in text


def test_backoff_docstring_names_the_example():
    import refimpl.dhcp.client as client_module

    source = flat(open(client_module.__file__, encoding="utf-8").read())
    assert 'RFC 2131 §4.1\'s example "in a 10Mb/sec Ethernet internetwork"' in source


def test_03_nak_in_renewing_is_labelled_policy():
    text = prose(lesson("03"))
    assert "in RENEWING when the binding is not the client's" not in text
    assert "For RENEWING, §4.3.2 names no NAK at all" in text and "that is **our policy**" in text
    assert "should return a DHCPACK message regardless." in text


def test_03_request_time_is_the_sending_time_and_the_trace_shows_arrival():
    from refimpl.dhcp import scenarios

    life = scenarios.lease_life()
    sent = next(c.time for c in life.changes() if c.event == "DHCPOFFER")
    arrived = next(e.time for e in life.trace if e.kind == "DHCPREQUEST")
    assert arrived > sent
    text = shown(cell(lesson("03"), "renew-times"))
    assert f"counted from t={sent:.3f}, when the client sent the REQUEST" in text
    assert f"REQUEST at t={arrived:.3f}: trace times are arrival times" in text


# -- 02/04: the NAK's broadcast bit through a relay is RFC 2131 §4.3.2's -----------------


def test_reply_destination_cites_4_3_2_for_the_naks_broadcast_bit():
    import inspect

    from refimpl.dhcp.delivery import reply_destination

    source = flat(inspect.getsource(reply_destination))
    assert "RFC 2131 §4.3.2: \"If 'giaddr' is set in the DHCPREQUEST message" in source
    assert "RFC 2131 §4.1: a NAK through a relay" not in source


def test_04_the_way_back_cites_4_3_2():
    text = flat(cell(lesson("04"), "back-md").source)
    assert "that rule is RFC 2131 §4.3.2's (not §4.1's)" in text
    assert "The server MUST set the broadcast bit in the DHCPNAK" in text


# -- 04: option 82 from below is dropped only from an untrusted circuit (RFC 3046 §2.1) ---


def _relay_from_bridge(trusted: bool):
    from refimpl.dhcp.delivery import Outgoing
    from refimpl.dhcp.message import Message
    from refimpl.dhcp.relay import RelayAgent

    ask = Message.discover("02:00:00:00:00:09", 0x43)
    ask.set(82, {1: b"bridge-port-3"})
    agent = RelayAgent("198.51.100.1", ["192.0.2.1"], circuit_id=b"port-7", trusted_circuit=trusted)
    return [e for e in agent.receive(ask.encode(), now=1.0) if isinstance(e, Outgoing)]


def test_relay_drops_option_82_with_giaddr_0_from_an_untrusted_circuit():
    assert _relay_from_bridge(trusted=False) == []


def test_relay_forwards_a_trusted_bridges_option_82_without_adding_a_second():
    (sent,) = _relay_from_bridge(trusted=True)
    assert sent.message.giaddr == "198.51.100.1"
    assert sent.message.options.get(82) == {1: b"bridge-port-3"}


def test_04_names_trusted_circuits_and_the_one_flag_simplification():
    nb = lesson("04")
    text = flat(cell(nb, "trust-md").source)
    assert "Relay agents receiving a DHCP packet from an untrusted circuit with giaddr set to zero" in text
    assert "trust is one flag for the whole relay" in text
    shown_text = shown(cell(nb, "trust"))
    assert "trusted_circuit=False -> dropped" in shown_text and "trusted_circuit=True  -> forwarded" in shown_text


# -- 02: where the binding is kept, the ARP probe as it is and as RFC 5227 has it -------


def test_02_the_binding_table_agrees_with_the_servers_log():
    nb = lesson("02")
    text = prose(nb)
    assert "(written to disk before the ACK leaves)" not in text
    logged = "".join(shown(c) for c in nb.cells if c.cell_type == "code")
    assert "(kept in memory)" in logged and 'its log below says "kept in memory"' in text
    assert 'commits the binding for the client to persistent storage and responds with a DHCPACK message"' in text


def test_arp_lines_have_no_ports():
    from refimpl.dhcp import scenarios

    run = scenarios.one_client()
    probe = next(e for e in run.trace if e.kind == "ARP probe")
    assert probe.endpoints() == f"0.0.0.0 -> {probe.dst_ip}"
    for path in LESSONS:
        stored = "".join(shown(c) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert not re.search(r"ARP\s+\S+:0 ->", stored), path.name


def test_02_names_the_arp_simplification_and_figure_5():
    from refimpl.dhcp import client as client_module

    nb = lesson("02")
    text = prose(nb)
    assert "and 0 as the sender's IP address, to avoid confusing ARP caches in other hosts on the same subnet." in text
    assert "RFC 5227 (IPv4 address conflict detection, §2.1.1) has a host send **three** such probes" in text
    assert "One arrow of figure 5 is split in two here." in text
    assert "ARP probes sent: 1, sender address 0.0.0.0" in shown(cell(nb, "arp-probe"))
    doc = flat(client_module.__doc__)
    assert "one ARP probe (sender IP 0.0.0.0, §4.4.1)" in doc and "RFC 5227 §2.1.1 sends three probes" in doc


# -- the tutorial claims that were still uncorrected --------------------------------------


def test_02_claims_sname_file_option_6_broadcast_and_the_42_bytes():
    nb = lesson("02")
    text = flat(cell(nb, "claims-md").source)
    assert '`sname` *"Server host name or options"* and `file` *"Client boot file name or options"*' in text
    assert "in the DHCPOFFER **and** the DHCPACK" in text
    assert '"The minimum length for this option is 4 octets, and the length MUST always be a multiple of 4."' in text
    assert "a broadcast is an **address**, not a kind of UDP" in text
    assert "Ethernet 14 + IPv4 20 + UDP 8" in text
    measured = shown(cell(nb, "claims-check"))
    assert "option 6 with 3 server(s): 12 bytes" in measured
    assert "= Ethernet 14 + IPv4 20 + UDP 8 + DHCP" in measured and "(headers 42 bytes)" in measured
    assert "destination: Ethernet ff:ff:ff:ff:ff:ff, IP 255.255.255.255, UDP port 67" in measured


def test_03_init_reboot_broadcasts_its_request():
    nb = lesson("03")
    text = flat(cell(nb, "reboot-claim-md").source)
    assert '"The client then broadcasts the DHCPREQUEST on the local hardware broadcast address' in text
    measured = shown(cell(nb, "reboot-claim"))
    assert re.search(r"INIT-REBOOT \(at boot\)\s+0\.0\.0\.0:68 -> 255\.255\.255\.255:67\s+broadcast", measured)
    assert re.search(r"RENEWING \(at T1\)\s+\S+ -> 192\.0\.2\.1:67\s+unicast", measured)


def test_05_ftp_is_8_bit_only_in_its_transfer_byte():
    text = prose(lesson("05"))
    assert "What RFC 959 fixes at 8 bits is the **transfer byte**" in text
    assert (
        '"The data are sent as contiguous bits which, for transfer, are packed into the 8-bit transfer bytes"' in text
    )
