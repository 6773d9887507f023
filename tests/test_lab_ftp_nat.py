"""The FTP-through-NAT lab: its rules, its path needs, and one real run of the six downloads."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from refimpl.lab import ftp_nat as lab
from tests import lab_needs

ROOT = Path(__file__).resolve().parent.parent


def test_the_rules_say_what_the_lesson_says():
    assert "masquerade" in lab.NAT_RULES and 'oifname "eth1"' in lab.NAT_RULES
    assert 'type "ftp"' in lab.HELPER_RULES and "tcp dport 21 ct helper set" in lab.HELPER_RULES
    closed = lab.FIREWALL_RULES.format(extra="")
    assert "policy drop" in closed and "30000" not in closed and "related" not in closed
    assert "tcp dport 30000-30009 accept" in lab.FIREWALL_RULES.format(extra=lab.OPEN_PASSIVE_RANGE)
    assert "ct state established,related accept" in lab.FIREWALL_WITH_HELPER


def test_a_path_need_skips_the_lab_where_the_kernel_lacks_it(tmp_path):
    fake = tmp_path / "kernel_lab.ipynb"
    fake.write_text(json.dumps({"metadata": {"course": {"lab": {"needs": ["/sys/module/no_such_helper_xyz"]}}}}))
    assert lab_needs.lab_missing(fake) == ["/sys/module/no_such_helper_xyz"]
    needs = json.loads((ROOT / "notebooks" / "labs" / "ftp_through_nat.ipynb").read_text())["metadata"]["course"]
    assert str(lab.HELPER_MODULE) in needs["lab"]["needs"]


def test_the_six_downloads_end_as_the_notebook_says(tmp_path):
    missing = lab.missing_tools()
    if missing:
        pytest.skip("the NAT lab needs " + ", ".join(missing))
    from refimpl.capture.ftp import read_ftp_trace

    run = lab.run_lab(tmp_path)
    outcome = {label: status for label, status, _ in run.results}
    assert outcome == {
        "NAT alone, passive": 0,
        "NAT alone, active": 30,  # the server refuses a PORT naming the private address
        "NAT + helper, active": 0,
        "firewall, passive": 28,  # the SYN to the passive port is dropped
        "firewall + range, passive": 0,
        "firewall + helper, passive": 0,
    }

    def port_address(pcap):
        port = next(e for e in read_ftp_trace(pcap, control_port=21) if e.kind == "PORT")
        return ".".join(port.summary.split(",")[:4])

    assert port_address(run.pcap("client")) == lab.CLIENT
    assert port_address(run.pcap("server")) == lab.ROUTER_OUTSIDE  # rewritten by the helper
    assert port_address(run.pcap("server", helper=False)) == lab.CLIENT  # no helper: the private address arrives
    ours = f"c{os.getpid() % 100000}"
    assert not [n for n in os.popen("ip netns list").read().split() if n.startswith(ours)]
