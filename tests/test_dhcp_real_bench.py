"""The perfdhcp bench section: its parser and report (no root needed), and a short real run (root)."""

from __future__ import annotations

import pytest

from refimpl.bench import dhcp_load
from refimpl.bench.dhcp_load import Step, parse_perfdhcp

SAMPLE = """Running: perfdhcp -4 -l veth -r 1000 -p 5 -R 200 192.0.2.1
***Rate statistics***
Rate: 881.985 4-way exchanges/second, expected rate: 1000

***Malformed Packets***
Malformed packets: 0
***Statistics for: DISCOVER-OFFER***
sent packets: 4990
received packets: 4575
drops: 415
drops ratio: 8.31663 %
min delay: 0.286 ms
avg delay: 598.888 ms
***Statistics for: REQUEST-ACK***
sent packets: 4575
received packets: 4451
drops: 124
avg delay: 461.369 ms
"""


def test_parse_perfdhcp():
    step = parse_perfdhcp(SAMPLE, 1000)
    assert step.rate == 1000 and step.achieved == pytest.approx(881.985)
    assert step.drops == pytest.approx(1 - 4451 / 4990)  # DISCOVERs that never got their ACK
    assert (step.offer_ms, step.ack_ms) == (pytest.approx(598.888), pytest.approx(461.369))
    assert not step.passed
    with pytest.raises(AttributeError):
        parse_perfdhcp("perfdhcp: cannot open socket", 10)


def test_report_gives_rates_side_by_side_and_ratios():
    results = {
        "refimpl": [Step(500, 499.0, 0.002, 3.0, 2.0), Step(700, 600.0, 0.2, 90.0, 80.0)],
        "kea": [Step(500, 498.0, 0.0, 1.0, 1.0)],
        "dnsmasq": "skipped: dnsmasq not installed",
    }
    lines = dhcp_load._report(results, "noise: 10 junk datagrams")
    text = "\n".join(lines)
    row = lines[3]
    assert "refimpl" in row and " 499 " in row and " 600 " in row and "700: 600 20.0%" in row
    assert "dnsmasq    skipped: dnsmasq not installed" in text
    assert "refimpl / kea: 1.00x exchanges per second (< 1% lost), 1.20x at peak" in text
    assert "refimpl / dnsmasq" not in text
    assert lines[-1] == "noise: 10 junk datagrams"


def test_overload_report_gives_both_ratios_and_cpu_per_exchange():
    best = Step(4500, 4480.0, 0.002, 1.0, 1.0, 13440, 150.0)
    rounds = {
        1.5: {"load": "1.00 0.50 0.20", "refimpl": Step(6720, 4400.0, 0.3, 5.0, 4.0, 35200, 155.0), "kea": "x"},
        2.0: {
            "load": "1.10 0.60 0.20",
            "refimpl": Step(8960, 4100.0, 0.5, 5.0, 4.0, 32800, 160.4),
            "kea": Step(8960, 5125.0, 0.4, 9.0, 8.0, 41000, 190.0),
        },
    }
    text = "\n".join(dhcp_load._overload_report(rounds, best))
    assert "x1.5 and x2 our best (4480 exch/s, 150 us server CPU per exchange)" in text
    assert "x1.5 (load 1.00 0.50 0.20): refimpl keeps 98% of its best" in text
    assert "x2 (load 1.10 0.60 0.20): refimpl keeps 92% of its best; refimpl / kea: 0.80x completed exchanges" in text
    assert "160 us" in text and "kea        x" in text
    assert dhcp_load._overload_report({}, None) == ["overload: skipped (no passing step of ours to scale from)"]


def test_cpu_seconds_reads_this_process():
    import os

    assert 0 < dhcp_load.cpu_seconds(os.getpid()) < 1e6
    assert dhcp_load.cpu_seconds(2**22 + 12345) != dhcp_load.cpu_seconds(2**22 + 12345)  # nan: no such process


@pytest.mark.needs_root
@pytest.mark.needs_tool
@pytest.mark.slow
def test_perfdhcp_with_junk_thrown_at_the_server(tmp_path):
    """perfdhcp (a relay: replies go to giaddr:67) while another sender throws junk at port 67."""
    import sys

    from dhcp_real_harness import need_lab, start_server, stop

    from refimpl.lab.netns import two_hosts

    need_lab("perfdhcp")
    noise = tmp_path / "noise.py"
    noise.write_text(dhcp_load.NOISE)
    with two_hosts("perf", b="load", b_address="192.0.2.2/24") as (server, load, s_if, l_if):
        srv, log = start_server(
            server,
            tmp_path,
            "--interface",
            s_if,
            "--server-ip",
            "192.0.2.1",
            "--pool",
            "192.0.2.10-192.0.2.250",
            "--quiet",
        )
        thrower = load.run([sys.executable, str(noise), "192.0.2.1", "3"], background=True)
        step = dhcp_load.perfdhcp(load, l_if, 100, seconds=2)
        junk = int(thrower.communicate(timeout=30)[0].decode().strip())
        assert isinstance(step, Step), step
        assert step.achieved > 50 and step.drops < 0.05, step
        assert srv.poll() is None  # still serving
        assert stop(srv) == 0
    text = log.read_text()
    assert junk > 100
    # Each junk datagram that reached the server is logged as dropped (a few may die in the kernel queue).
    assert text.count("dropped") >= junk * 0.9, (junk, text.count("dropped"))
    assert "not a DHCP message" in text
    assert "stopped:" in text
