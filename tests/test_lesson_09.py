"""Lesson 09 (DHCP options that configure a host, and DHCPv6; issue 14): what its prose states holds in its runs.

The generic lesson tests (questions, figures, nbval) cover the notebook as a whole; this file pins what the
markdown says: 121 beats 3 and 33 in the printed table, option 33 turns 10.1.2.0 into a /8, the option bytes
decode as printed, siaddr/file name the boot server, option 82 is the relay's, and the RFC text it quotes is
quoted as worded.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from lesson_text import flat, outputs, prose

from refimpl.dhcp import host_config as hc
from refimpl.dhcp.options import OPTIONS, decode_option, encode_option
from refimpl.quiz import bank

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "09_dhcp_options.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(LESSON, as_version=4)


# The RFC sentences the lesson quotes, transcribed from the RFCs. Each must appear in the lesson word for word.
QUOTES = {
    "RFC 3442 (router)": (
        "If the DHCP server returns both a Classless Static Routes option and a Router option, the DHCP client "
        "MUST ignore the Router option."
    ),
    "RFC 3442 (33)": (
        "Similarly, if the DHCP server returns both a Classless Static Routes option and a Static Routes option, "
        "the DHCP client MUST ignore the Static Routes option."
    ),
    "RFC 3442 (no mask)": "The Static Routes option (option 33) does not provide a subnet mask for each route",
    "RFC 2132 §3.5": (
        "The router option specifies a list of IP addresses for routers on the client's subnet. Routers SHOULD be "
        "listed in order of preference."
    ),
    "RFC 2132 §3.3": (
        "If both the subnet mask and the router option are specified in a DHCP reply, the subnet mask option "
        "MUST be first."
    ),
    "RFC 2132 §3.3 (what)": "The subnet mask option specifies the client's subnet mask as per RFC 950 [5].",
    "RFC 2132 §9.3": (
        "If this option is present, the client interprets the specified additional fields after it concludes "
        "interpretation of the standard option fields."
    ),
    "RFC 2132 §5.8": "The default route (0.0.0.0) is an illegal destination for a static route.",
    "RFC 2132 §9.14": "Identifiers SHOULD be treated as opaque objects by DHCP servers.",
    "RFC 2131 §2": "IP address of next server to use in bootstrap; returned in DHCPOFFER, DHCPACK by server.",
    "RFC 3046 §2.1": (
        "The Relay Agent Information option echoed by a server MUST be removed by either the relay agent or the "
        "trusted downstream network element which added it when forwarding a server-to-client response back to "
        "the client."
    ),
    "RFC 8415 §7.2": (
        "Clients listen for DHCP messages on UDP port 546. Servers and relay agents listen for DHCP messages on "
        "UDP port 547."
    ),
    "RFC 4861 §4.2 (M)": (
        "When set, it indicates that addresses are available via Dynamic Host Configuration Protocol [DHCPv6]."
    ),
    "RFC 4861 §4.2 (O)": (
        "When set, it indicates that other configuration information is available via DHCPv6. Examples of such "
        "information are DNS-related information or information on other servers within the network."
    ),
}


@pytest.mark.parametrize("where", sorted(QUOTES))
def test_quotes_are_as_worded(nb, where):
    assert flat(QUOTES[where]) in prose(nb), where


def test_every_section_is_there(nb):
    text = prose(nb)
    for heading in ("## 1 Options that configure the host", "## 2 Identifying", "## 3 IPv6, in outline"):
        assert heading.replace("*", "") in text
    assert "This section is an outline" in text


def test_at_least_five_questions_each_in_the_bank(nb):
    ids = [c.metadata["course"]["question"] for c in nb.cells if c.metadata.get("course", {}).get("question")]
    assert len(ids) >= 5 and all(i.startswith("09-") and i in bank.BY_ID for i in ids)
    assert set(ids) == {q.id for q in bank.for_lesson("09")}


def test_the_mask_comes_before_the_router_on_the_wire(nb):
    lines = [line.split()[0] for line in outputs(nb).splitlines() if re.match(r"\s*\d+ \w+ +[0-9a-f]{2} ", line)]
    assert lines.index("1") < lines.index("3"), "RFC 2132 §3.3: the subnet mask option MUST be first"


def test_121_beats_3_in_the_printed_table(nb):
    out = outputs(nb)
    assert "0.0.0.0/0            192.0.2.2        option 121" in out
    assert "ignored: option 3 (router)" in out and "ignored: option 33" in out
    assert "203.0.113.9    -> 192.0.2.2 (option 121)" in out


def test_option_33_becomes_a_slash_8_as_the_prose_says(nb):
    assert "10.0.0.0/8           192.0.2.254      option 33 (classful)" in outputs(nb)
    assert "the host installed 10.0.0.0/8" in prose(nb)
    assert bank.get("09-option-33-prefix").answer == 8


def test_option_bytes_decode_as_printed(nb):
    out = outputs(nb)
    assert "option 121 bytes: 18 c6 33 64 c0 00 02 fe 00 c0 00 02 02" in out
    assert decode_option(121, bytes.fromhex("18c63364c00002fe00c0000202")) == [
        ("198.51.100.0/24", "192.0.2.254"),
        ("0.0.0.0/0", "192.0.2.2"),
    ]
    assert "option 33 bytes: 0a 01 02 00 c0 00 02 fe" in out
    assert "82 bytes: 01 09 73 77 33 2f 70 6f 72 74 37 02 06 02 00 00 00 0f f0" in out
    assert decode_option(82, bytes.fromhex("01097377332f706f7274370206020000000ff0")) == {
        1: b"sw3/port7",
        2: bytes.fromhex("020000000ff0"),
    }
    raw125 = encode_option(125, {32473: {1: b"tftp://192.0.2.69/", 2: b"cfg-7"}})
    assert f"125 bytes: {raw125.hex(' ')}" in out


def test_the_printed_host_table_is_what_host_config_builds(nb):
    options = {1: "255.255.255.0", 3: ["192.0.2.1", "192.0.2.3"]}
    assert hc.host_config("192.0.2.50", options).table() in outputs(nb)


def test_pxe_and_boot_facts(nb):
    out = outputs(nb)
    assert "siaddr 192.0.2.69, file 'pxelinux.0', option 66 None, option 67 None" in out
    for code in (33, 93, 94, 97, 124, 125):
        assert code in OPTIONS
    assert "0 = Intel x86PC" in prose(nb)


def test_overload_keeps_every_option(nb):
    out = outputs(nb)
    assert "option 52 = 1" in out and "the decoded message has the same options: True" in out


def test_wrong_claims_stand_beside_the_rfc(nb):
    text = prose(nb)
    assert 'A common tutorial claim: "siaddr is a loopback address"' in text
    assert "A common tutorial claim:" in text.split("## 3 IPv6")[1]


def test_lesson_10_topics_are_left_to_lesson_10(nb):
    text = prose(nb).lower()
    assert "starvation" not in text and "snooping" not in text
