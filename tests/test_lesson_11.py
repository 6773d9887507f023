"""Lesson 11 (FTP today, and IPv6; issue 14): the facts its prose states hold in the runs and captures it shows.

The generic lesson tests (questions before answers, figures stored, nbval) cover the notebook as a whole; this
file pins what the markdown and the question prompts say: the RFC sentences quoted as worded, the numbers of the
resume and FXP runs, our server's replies to AUTH and to a foreign PORT (policy, and labelled so), the ports of
the shipped FTPS capture, and the DHCPv6 facts of the table.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lesson_text import flat, outputs, prose

from refimpl.capture import record_ftps
from refimpl.ftp import scenarios
from refimpl.ftp.commands import COMMANDS, NO_TLS
from refimpl.ftp.datachannel import parse_227
from refimpl.quiz import bank

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "11_ftp_today_and_ipv6.ipynb"


@pytest.fixture(scope="module")
def nb():
    return nbformat.read(LESSON, as_version=4)


# The RFC sentences the lesson quotes, transcribed from the RFCs. Each must appear in the lesson word for word.
QUOTES = {
    "RFC 3659 §5.3": (
        "The numeric value gives the number of octets of the immediately following transfer to not actually send, "
        "effectively causing the transmission to be restarted at a later point. A value of zero effectively "
        "disables restart, causing the entire file to be transmitted. The server-PI will respond to the REST "
        "command with a 350 reply, indicating that the REST parameter has been saved, and that another command, "
        "which should be either RETR or STOR, should then follow to complete the restart."
    ),
    "RFC 3659 §4": (
        "The FTP command, SIZE OF FILE (SIZE), is used to obtain the transfer size of a file from the server-FTP "
        "process. This is the exact number of octets (8 bit bytes) that would be transmitted over the data "
        "connection should that file be transmitted."
    ),
    "RFC 3659 §3": (
        "The FTP command, MODIFICATION TIME (MDTM), can be used to determine when a file in the server NVFS was "
        "last modified."
    ),
    "RFC 4217 §8": (
        "For FTP-TLS, which appears to the FTP application as a streaming protection mechanism, this is not "
        "required. Thus, the PBSZ command MUST still be issued, but must have a parameter of '0' to indicate that "
        "no buffering is taking place and the data connection should not be encapsulated."
    ),
    "RFC 959 §4.2.2": "502 Command not implemented.",
    "RFC 4254 §6.5 (programs)": (
        "Once the session has been set up, a program is started at the remote end. The program can be a shell, an "
        "application program, or a subsystem with a host-independent name. Only one of these requests can succeed "
        "per channel."
    ),
    "RFC 4254 §6.5 (subsystem)": (
        "This last form executes a predefined subsystem. It is expected that these will include a general file "
        "transfer mechanism, and possibly other features."
    ),
    "RFC 2577 §1": (
        "The File Transfer Protocol specification (FTP) [PR85] provides a mechanism that allows a client to "
        'establish an FTP control connection and transfer a file between two FTP servers. This "proxy FTP" '
        "mechanism can be used to decrease the amount of traffic on the network; the client instructs one server "
        "to transfer a file to another server, rather than transferring the file from the first server to the "
        "client and then from the client to the second server."
    ),
    "RFC 2577 §3": (
        "To avoid such bounce attacks, it is suggested that servers not open data connections to TCP ports less "
        "than 1024."
    ),
    "RFC 2428 §2": (
        "The EPRT command allows for the specification of an extended address for the data connection. The "
        "extended address MUST consist of the network protocol as well as the network and transport addresses."
    ),
    "RFC 2428 §3": (
        "The EPSV command requests that a server listen on a data port and wait for a connection. The EPSV command "
        "takes an optional argument. The response to this command includes only the TCP port number of the "
        "listening connection."
    ),
    "RFC 4861 §4.2 (M)": (
        "When set, it indicates that addresses are available via Dynamic Host Configuration Protocol [DHCPv6]."
    ),
    "RFC 4861 §4.2 (O)": (
        "When set, it indicates that other configuration information is available via DHCPv6. Examples of such "
        "information are DNS-related information or information on other servers within the network."
    ),
    "RFC 8415 §7.1": "All_DHCP_Relay_Agents_and_Servers (ff02::1:2)",
}


@pytest.mark.parametrize("where", sorted(QUOTES))
def test_quotes_are_as_worded(nb, where):
    assert flat(QUOTES[where]) in prose(nb), where


def test_the_sections_the_brief_asks_for_in_order(nb):
    heads = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line[:3] == "## "]
    assert [h.split(" ", 2)[1] for h in heads[:5]] == ["1", "2", "3", "4", "5"]
    assert ["REST", "FTPS", "SFTP", "FXP", "IPv6"] == [h.split(" ", 2)[2].split()[0].rstrip(":") for h in heads[:5]]
    assert heads[-1] == "## What this lesson leaves out"


def test_lesson_is_small_and_asks_its_own_questions(nb):
    assert LESSON.stat().st_size < 250_000
    asked = [
        c.metadata["course"]["question"] for c in nb.cells if c.get("metadata", {}).get("course", {}).get("question")
    ]
    assert len(asked) >= 5 and all(q.startswith("11-") for q in asked)
    assert sorted(asked) == sorted(q.id for q in bank.QUESTIONS if q.id.startswith("11-"))


def test_resume_numbers_in_the_prompt_and_outputs_are_the_runs(nb):
    run = scenarios.resume()
    q = bank.get("11-rest-offset")
    assert f"{len(run.partial)} bytes" in q.prompt and f"({len(scenarios.BIG):,} bytes)".replace(",", " ") in q.prompt
    assert q.check(len(run.partial)).right and not q.check(len(run.partial) - 1).right
    assert f"REST {len(run.partial)}" in outputs(nb)
    assert f"bytes sent after REST: {len(scenarios.BIG) - len(run.partial)}" in outputs(nb)
    assert f"Restarting at {len(run.partial)}" in q.why or str(len(scenarios.BIG) - len(run.partial)) in q.why


def test_size_answered_in_type_i_only_as_the_prose_says(nb):
    run = scenarios.conversation(
        ["USER alice", f"PASS {scenarios.PASSWORDS['alice']}", "SIZE notes.txt", "TYPE I", "SIZE notes.txt", "QUIT"]
    )
    codes = [r.code for r in run.client.replies]
    assert codes[3] == 550 and codes[5] == 213
    assert "our server answers it in TYPE I only (policy" in prose(nb)


def test_auth_gets_502_and_the_lesson_calls_it_policy(nb):
    assert {"AUTH", "PBSZ", "PROT"} <= set(NO_TLS) and not {"AUTH", "PBSZ", "PROT"} & set(COMMANDS)
    run = scenarios.conversation(["AUTH TLS", "QUIT"])
    assert [r.code for r in run.client.replies][:2] == [220, 502]
    assert "This is our policy" in prose(nb)
    assert (
        bank.get("11-auth-reply")
        .check("502: the command is not implemented (our policy: a teaching server without TLS)")
        .right
    )


def test_fxp_prompts_are_the_runs_numbers(nb):
    refused, moved = scenarios.fxp(), scenarios.fxp(permit=True)
    reply_227 = next(r for name, r in refused.client.replies if name == "A" and r.code == 227)
    assert f"227 {reply_227.text.rstrip('.')}" in bank.get("11-fxp-port").prompt
    ip, port = parse_227(reply_227.text)
    refused_q = bank.get("11-fxp-refused")
    assert ip == "192.0.2.1" and f"port {port} is above it" in refused_q.why.lower()
    assert f"{port} is below 1024" in " ".join(refused_q.options)  # the wrong answer names the same port
    assert port > 1024  # why RFC 2577 §3's check alone would not stop it
    assert [r.code for name, r in refused.client.replies if name == "B"] == [220, 331, 230, 200, 500, 221]
    assert moved.files_b["home/alice/copy.txt"] == scenarios.HELLO
    assert "our policy" in prose(nb) and "port_promiscuous" in prose(nb) and "permit_foreign_addresses" in prose(nb)


def test_ftps_capture_ports_in_the_prose_are_the_recorders(nb):
    text = prose(nb)
    assert f"control port {record_ftps.SHIPPED_PORT}" in text and f"port {record_ftps.SHIPPED_PORT + 1}" in text
    assert "RFC 4217 does not define this mode" in text


def test_sftp_and_dhcpv6_facts(nb):
    text = prose(nb)
    assert "never became an RFC" in text and '"subsystem"' in text
    for fact in ("546", "547", "ff02::1:2", "DUID", "SLAAC", "RFC 4862", "IPv6 has no broadcast"):
        assert fact in text, fact
    assert bank.get("11-dhcpv6-client-port").check(546).right


def test_no_word_of_the_course_requests_in_the_prose(nb):
    assert "seed" not in prose(nb).lower()
