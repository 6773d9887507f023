"""The diagnosis tasks of issue 12: each broken run breaks its rule where the trace shows it, the mends mend
it, a change of any other setting does not, and with the faults off (the default) nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from refimpl import diagnosis
from refimpl.dhcp import scenarios as dhcp
from refimpl.dhcp.client import DhcpClient
from refimpl.dhcp.faults import ClientFaults, RelayFaults, ServerFaults
from refimpl.dhcp.relay import RelayAgent
from refimpl.dhcp.server import ServerConfig
from refimpl.ftp import scenarios as ftp
from refimpl.tftp import scenarios as tftp
from refimpl.tftp.server import ServerConfig as TftpConfig

ROOT = Path(__file__).resolve().parent.parent
ALL = diagnosis.all_diagnoses()
NAMES = sorted(ALL)

# Changes of one *other* setting each, which must leave the run unhealthy: they hide the fault, or do nothing.
WRONG_MENDS = {
    "dhcp-broadcast-ignored": [
        {"client_broadcast_flag": False},  # the client can still not take the unicast
        {"client_takes_unicast_early": True},  # the client gets the address, the server still breaks §4.1
        {"lease_time": 600},
    ],
    "dhcp-relay-nak-broadcast": [
        {"client_broadcast_flag": False},
        {"client_takes_unicast_early": True},  # the laptop hears the unicast NAK; the relay still breaks §4.1
        {"remembered_ip": None},  # no NAK at all: the fault is hidden, not mended
    ],
    "dhcp-renew-time": [{"lease_time": 1200}, {"renewal_time": 100}, {"rebinding_time": 550}, {"lease_time": 100000}],
    "ftp-port-through-nat": [{"announce": "public"}, {"mode": "eprt"}],
    "tftp-sorcerers-apprentice": [
        {"server_timeout": 2.0},  # the late packet is no longer late: no duplicate ACK
        {"client_retry_timeout": 0.5},  # the client's own repeats meet the same bug sooner
        {"size": 400},  # one block: nothing to duplicate
        {"size": 10000},
    ],
}


def test_the_registry_lists_the_five_diagnoses_with_their_rules():
    assert {(d.name, d.protocol, d.rule) for d in ALL.values()} == {
        ("dhcp-broadcast-ignored", "DHCP", "RFC 2131 §4.1"),
        ("dhcp-relay-nak-broadcast", "DHCP", "RFC 2131 §4.1"),
        ("dhcp-renew-time", "DHCP", "RFC 2131 §4.4.5"),
        ("ftp-port-through-nat", "FTP", "RFC 959 §4.1.2"),
        ("tftp-sorcerers-apprentice", "TFTP", "RFC 1123 §4.2.3.1"),
    }
    for d in ALL.values():
        assert d.scenario.__name__.startswith("diagnose_") and d.quote and d.mends
        assert all(len(m) == 1 and d.changed(m) for m in d.mends), d.name
    assert "RFC 1123 §4.2.3.1" in diagnosis.table()
    with pytest.raises(KeyError, match="there are"):
        diagnosis.get("dns-cache-poisoning")


@pytest.mark.parametrize("name", NAMES)
def test_the_broken_run_is_unhealthy_and_says_why(name):
    d = ALL[name]
    run = d.run()
    assert run.settings == dict(d.settings)
    assert d.problems(run) and not d.healthy(run)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("seed", [1, 2, 7])
def test_every_mend_makes_the_run_healthy(name, seed):
    d = ALL[name]
    for mend in d.mends:
        assert d.problems(d.run(mend, seed=seed)) == [], (mend, seed)


@pytest.mark.parametrize("name", NAMES)
def test_changing_another_setting_is_no_mend(name):
    d = ALL[name]
    for mend in WRONG_MENDS[name]:
        assert mend.keys() <= d.settings.keys()
        assert d.problems(d.run(mend)), mend
        assert any("still broken" in line for line in d.judge({"rule": d.rule, "mend": mend})), mend


def test_an_unknown_setting_is_refused_with_the_list_of_settings():
    with pytest.raises(ValueError, match="server_ignores_broadcast_flag"):
        dhcp.diagnose_broadcast_ignored({"server_honours_flag": True})


# --------------------------------------------------------------------------- what the trace shows


def _wire(run, kind):
    return [e for e in run.trace if not e.is_note and e.kind == kind]


def test_broadcast_ignored_the_offer_carries_b_and_goes_unicast_to_a_client_that_cannot_take_it():
    broken = dhcp.diagnose_broadcast_ignored()
    offers = _wire(broken, "DHCPOFFER")
    assert offers and all(e.message.broadcast and e.dst_ip == "192.0.2.100" and e.lost for e in offers)
    assert len(_wire(broken, "DHCPDISCOVER")) >= 3 and broken.client.state == "SELECTING"
    mended = dhcp.diagnose_broadcast_ignored({"server_ignores_broadcast_flag": False})
    assert all(e.dst_ip == "255.255.255.255" for e in _wire(mended, "DHCPOFFER") + _wire(mended, "DHCPACK"))
    assert mended.client.state == "BOUND"


def test_relay_nak_the_relay_strips_the_bit_and_sends_the_nak_to_zero():
    broken = dhcp.diagnose_relay_nak()
    from_server = [e for e in _wire(broken, "DHCPNAK") if e.src == "server"]
    from_relay = [e for e in _wire(broken, "DHCPNAK") if e.src == "relay"]
    assert from_server and all(e.message.broadcast for e in from_server)  # the server did its part (§4.3.2)
    assert from_relay and all(not e.message.broadcast and e.dst_ip == "0.0.0.0" and e.lost for e in from_relay)
    assert broken.client.state != "BOUND"
    mended = dhcp.diagnose_relay_nak({"relay_clears_nak_broadcast": False})
    assert [e.dst_ip for e in _wire(mended, "DHCPNAK") if e.src == "relay"] == ["255.255.255.255"]
    assert mended.client.state == "BOUND" and mended.client.host.ip.startswith("198.51.100.")


def test_renew_time_the_first_renewal_is_a_broadcast_at_t2():
    broken, mended = dhcp.diagnose_renew_time(), dhcp.diagnose_renew_time({"client_ignores_t1": False})
    first = [e for e in _wire(broken, "DHCPREQUEST") if e.message.ciaddr != "0.0.0.0"][0]
    assert first.is_broadcast and first.time == pytest.approx(525.003)
    assert "RENEWING" not in {c.after for c in broken.changes()}
    first = [e for e in _wire(mended, "DHCPREQUEST") if e.message.ciaddr != "0.0.0.0"][0]
    assert first.dst_ip == "192.0.2.1" and first.time == pytest.approx(300.003)


def test_port_through_nat_the_server_reads_the_inside_address():
    broken = ftp.diagnose_port_through_nat()
    ports = [e for e in broken.trace if e.kind == "PORT" and e.dst == "server"]
    assert ports and ports[0].message.text.startswith("PORT 192,0,2,10,") and ports[0].src_ip == "198.51.100.1"
    assert "LIST     FAILED  500" in broken.client.summary()
    helped = ftp.diagnose_port_through_nat({"nat_ftp_helper": True})
    ports = [e for e in helped.trace if e.kind == "PORT" and e.dst == "server"]
    assert ports[0].message.text.startswith("PORT 198,51,100,1,")


def test_sorcerers_apprentice_every_block_after_the_late_one_goes_twice():
    broken = tftp.diagnose_sorcerers_apprentice()
    blocks = [e.message.block for e in _wire(broken, "DATA")]
    assert blocks == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]  # six blocks of 3000 bytes: five travel twice
    assert broken.transfer.ok  # the file arrives: the bug costs traffic, not the file
    mended = tftp.diagnose_sorcerers_apprentice({"apprentice_bug": False})
    assert [e.message.block for e in _wire(mended, "DATA")] == [1, 2, 2, 3, 4, 5, 6]
    assert not any(e.is_note and "(the bug)" in e.summary for e in broken.trace)  # the wire tells, not the log


# --------------------------------------------------------------------------- faults off by default


def test_every_fault_is_off_by_default():
    assert not ServerConfig().faults.any and not RelayFaults().any and not ClientFaults().any
    assert not RelayAgent("198.51.100.1", ["192.0.2.1"]).faults.any
    assert not DhcpClient("02:00:00:00:00:01").faults.any
    assert TftpConfig().apprentice_bug is False
    assert ServerFaults(ignore_broadcast_flag=True).any


def test_only_the_diagnosis_runs_turn_a_fault_on():
    """No other module of refimpl sets a fault: it stays a setting of the diagnosis runs."""
    words = ("ignore_broadcast_flag=", "clear_nak_broadcast=", "ignore_t1=", "apprentice_bug=")
    allowed = {"refimpl/dhcp/faults.py", "refimpl/dhcp/scenarios.py", "refimpl/tftp/scenarios.py"}
    allowed |= {"refimpl/tftp/server.py", "refimpl/tftp/transfer.py"}  # where apprentice_bug is passed along
    for path in (ROOT / "refimpl").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if any(word in text for word in words):
            assert str(path.relative_to(ROOT)) in allowed, path


def test_the_ordinary_scenarios_are_unchanged_by_the_faults():
    run = dhcp.one_client(broadcast=True)
    assert [e.dst_ip for e in _wire(run, "DHCPOFFER") + _wire(run, "DHCPACK")] == ["255.255.255.255"] * 2
    run = dhcp.relay()
    assert run.client.state == "BOUND"
    life = dhcp.lease_life()
    assert [c.after for c in life.changes()][:4] == ["SELECTING", "REQUESTING", "REQUESTING", "BOUND"]
    assert "RENEWING" in {c.after for c in life.changes()}


# --------------------------------------------------------------------------- the grading helpers


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("RFC 2131 §4.1", ("2131", "4.1")),
        ("rfc2131 section 4.4.5", ("2131", "4.4.5")),
        ("RFC 1123, 4.2.3.1.", ("1123", "4.2.3.1")),
        ("RFC 1579", ("1579", "")),
        ("section 4.1", None),
        (2131, None),
    ],
)
def test_parse_rule(text, parsed):
    assert diagnosis.parse_rule(text) == parsed


def test_names_rule_wants_the_section_too():
    d = diagnosis.get("dhcp-relay-nak-broadcast")
    assert d.names_rule("RFC 2131 §4.1") and d.names_rule("RFC 2131 §4.3.2")
    assert not d.names_rule("RFC 2131") and not d.names_rule("RFC 2131 §4.4.5") and not d.names_rule("RFC 1542 §4.1")
    assert diagnosis.get("ftp-port-through-nat").names_rule("RFC 1579")


def test_the_public_form_is_the_same_for_right_and_wrong_answers():
    d = diagnosis.get("dhcp-renew-time")
    right = {"rule": "RFC 2131 §4.4.5", "mend": {"client_ignores_t1": False}}
    wrong = {"rule": "RFC 2132 §9.11", "mend": {"lease_time": 60}}
    unchanged = {"rule": "RFC 2131 §4.4.5", "mend": {"client_ignores_t1": True}}  # well formed, and no change
    assert (
        d.form(right) == d.form(wrong) == d.form(unchanged) == ["rule: cites an RFC", "mend: one setting of this run"]
    )
    assert d.judge(unchanged) == ["rule: right", "mend: that is the value this run already has"]
    assert d.form({"rule": "", "mend": {}})[0].startswith("rule: MISSING")
    assert d.form(right | {"mend": {"client_ignores_t1": False, "lease_time": 60}})[1] == "mend: 2 settings, not one"
    assert "not settings" in d.form(right | {"mend": {"t1": 0}})[1]
    assert d.form(None) == ["not a dict with 'rule' and 'mend': None"]


@pytest.mark.parametrize("name", NAMES)
def test_judge_prints_the_same_for_every_right_answer(name):
    d = ALL[name]
    expected = ["rule: right", "mended run, seed 1: healthy", "mended run, seed 2: healthy"]
    for rule in (d.rule, *d.also):
        for mend in d.mends:
            assert d.judge({"rule": rule, "mend": mend}) == expected, (rule, mend)
    assert d.judge({"rule": "RFC 791 §3.1", "mend": d.mends[0]})[0] == "rule: not the rule this run breaks"
