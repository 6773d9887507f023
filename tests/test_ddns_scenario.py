"""The DDNS story on the simulated LAN (refimpl.dhcp.ddns_scenario): DHCP's four steps, then the UPDATEs."""

from __future__ import annotations

from refimpl.dhcp.ddns_scenario import ddns_lease
from refimpl.viz.sequence import sequence_text


def wire(run) -> list[tuple[str, str, str]]:
    return [(e.src, e.dst, e.kind) for e in run.trace if not e.is_note and e.transport == "udp"]


def test_four_steps_then_the_two_updates():
    run = ddns_lease()
    assert wire(run) == [
        ("client", "*", "DHCPDISCOVER"),
        ("server", "client", "DHCPOFFER"),
        ("client", "*", "DHCPREQUEST"),
        ("server", "client", "DHCPACK"),
        ("server", "ns1", "DNS UPDATE"),  # forward: A + DHCID if the name is free (RFC 4703 §5.3.1)
        ("ns1", "server", "UPDATE NOERROR"),
        ("server", "ns1", "DNS UPDATE"),  # reverse: PTR + DHCID (§5.4)
        ("ns1", "server", "UPDATE NOERROR"),
    ]
    assert [e.outcome for e in run.exchanges] == ["added"]
    assert "host7.example.com. 1200 IN A 192.0.2.100" in run.records("host7.example.com")
    assert any("PTR host7.example.com." in r for r in run.records("100.2.0.192.in-addr.arpa"))


def test_the_first_update_says_name_not_in_use():
    update = next(e for e in ddns_lease().trace if e.kind == "DNS UPDATE")
    assert "if host7.example.com not in use: add host7.example.com A 192.0.2.100" in update.summary


def test_runs_are_deterministic_and_draw_as_one_diagram():
    a, b = ddns_lease(), ddns_lease()
    assert a.trace.table() == b.trace.table()
    text = sequence_text(a.trace, hosts=["client", "server", "ns1"])
    assert text.index("DHCPACK") < text.index("DNS UPDATE")


def test_release_takes_the_records_out():
    run = ddns_lease(release_at=10.0)
    after = [k for s, d, k in wire(run)][8:]
    assert after == ["DHCPRELEASE"] + ["DNS UPDATE", "UPDATE NOERROR"] * 3  # RFC 4703 §5.5: A, DHCID, PTR
    assert run.records("host7.example.com") == [] and run.records("100.2.0.192.in-addr.arpa") == []


def test_expiry_takes_the_records_out():
    # Every renewal lost: the lease runs out at t=120 and the server removes the records then.
    run = ddns_lease(lease_time=120, until=200.0, drop={"DHCPREQUEST": set(range(2, 99))})
    assert [e.outcome for e in run.exchanges] == ["added", "removed"]
    removal = [e for e in run.trace if e.kind == "DNS UPDATE"][2]
    assert 120.0 <= removal.time < 121.0
    assert run.records("host7.example.com") == []


def test_a_lost_answer_is_retransmitted_and_the_dhcid_recognises_us():
    run = ddns_lease(drop={"UPDATE NOERROR": {1}})
    assert [e.outcome for e in run.exchanges] == ["added"]
    assert run.exchanges[0].steps == ["add-new: YXDOMAIN", "add-ours: NOERROR", "reverse: NOERROR"]
    resent = [e for e in run.trace if e.kind == "DNS UPDATE"][1]
    assert 2.0 <= resent.time < 2.1  # after the 2 s timeout


def test_rival_asking_for_the_same_name_gets_a_conflict():
    run = ddns_lease(rival=True)
    assert [e.outcome for e in run.exchanges] == ["added", "conflict"]
    kinds = [k for s, d, k in wire(run) if s == "ns1"]
    assert kinds == ["UPDATE NOERROR", "UPDATE NOERROR", "UPDATE YXDOMAIN", "UPDATE NXRRSET"]
    assert [r for r in run.records("host7.example.com") if " A " in r] == ["host7.example.com. 1200 IN A 192.0.2.100"]


def test_the_run_draws_as_a_matplotlib_sequence_diagram():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from refimpl.viz.sequence import sequence_diagram

    run = ddns_lease()
    fig = sequence_diagram(run.trace, hosts=["client", "server", "ns1"], title="DHCP, then DNS UPDATE")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert any("DHCPACK" in t for t in labels) and any("DNS UPDATE" in t for t in labels)
    plt.close(fig)
