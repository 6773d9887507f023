"""The scenarios of lesson 11 (FTP today): a download resumed with REST, and FXP beside the bounce policy."""

from __future__ import annotations

from refimpl.ftp import scenarios
from refimpl.ftp.scenarios import BIG


def codes(run, server: str) -> list[int]:
    return [reply.code for name, reply in run.client.replies if name == server]


def test_resume_joins_the_two_parts_into_the_whole_file():
    run = scenarios.resume()
    assert len(run.partial) == 3 * 1460 < len(BIG)
    assert run.resumed == BIG
    again = [(r.code, r.lines[0]) for r in run.clients["again"].replies]
    assert (213, str(len(BIG))) in again  # SIZE (RFC 3659 §4)
    assert (213, "20261122090000") in again  # MDTM (RFC 3659 §3), the file's time, a day before t=0
    assert (350, f"Restarting at {len(run.partial)}. Send STOR or RETR.") in again
    assert (226, f"Transfer complete ({len(BIG) - len(run.partial)} bytes).") in again


def test_resume_sends_only_the_missing_bytes_the_second_time():
    run = scenarios.resume(cut=2 * 1460)
    second = [e for e in run.data() if e.time > 5 and e.src == "server" and e.raw]
    assert sum(len(e.raw) for e in second if e.kind.startswith("DATA")) == len(BIG) - 2 * 1460
    assert run.resumed == BIG


def test_fxp_refused_by_default_nothing_moves():
    run = scenarios.fxp()
    assert 500 in codes(run, "B") and 150 not in codes(run, "B")
    assert "home/alice/copy.txt" not in run.files_b
    assert not [e for e in run.data() if {e.src, e.dst} == {"A", "B"}]


def test_fxp_permitted_the_file_goes_from_a_to_b_not_through_the_client():
    run = scenarios.fxp(permit=True)
    assert run.files_b["home/alice/copy.txt"] == scenarios.HELLO
    data = run.data()
    assert data and all({e.src, e.dst} == {"A", "B"} for e in data)
    syn = next(e for e in data if e.kind == "SYN")
    assert (syn.src, syn.src_port) == ("B", 20)  # B is the active side: it connects from port 20 (RFC 959 §3.2)
    assert codes(run, "A").count(226) == 1 and codes(run, "B").count(226) == 1


def test_the_security_commands_of_ftps_get_502_and_are_not_in_the_command_table():
    from refimpl.ftp.commands import COMMANDS, NO_TLS

    assert not set(NO_TLS) & set(COMMANDS)
    run = scenarios.conversation(["AUTH TLS", "PBSZ 0", "PROT P", "CCC", "QUIT"])
    assert [r.code for r in run.client.replies] == [220, 502, 502, 502, 502, 221]
