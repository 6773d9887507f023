"""The DHCP lab with real daemons: its parsing, its skip rule, and one real run checked against the pcap."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from refimpl.lab import dhcp_daemons as lab
from tests import lab_needs

ROOT = Path(__file__).resolve().parent.parent
LAB = ROOT / "notebooks" / "labs" / "dhcp_real_servers.ipynb"


def test_lease_lines_leave_the_clock_out():
    dnsmasq = lab.LeaseRun("dnsmasq", Path("/nowhere"))
    assert lab.lease_lines(dnsmasq, "1796329248 02:00:00:00:00:42 192.0.2.128 * 01:02\n\n") == [
        "02:00:00:00:00:42 192.0.2.128 *"
    ]
    kea = lab.LeaseRun("kea", Path("/nowhere"))
    csv = (
        "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n"
        "192.0.2.100,02:00:00:00:00:42,,600,1796329250,1,0,0,,0,\n"
        "192.0.2.100,02:00:00:00:00:42,,0,1796328650,1,0,0,,0,\n"
    )
    assert lab.lease_lines(kea, csv) == [
        "address=192.0.2.100 hwaddr=02:00:00:00:00:42 valid_lifetime=600 state=0",
        "address=192.0.2.100 hwaddr=02:00:00:00:00:42 valid_lifetime=0 state=0",
    ]


def test_only_the_two_servers_are_known():
    with pytest.raises(ValueError, match="dnsmasq' or 'kea'"):
        lab.lease_from("dhcpd", "/tmp/never-made")


def test_the_lab_uses_documentation_addresses_and_local_macs():
    from refimpl.lab.netns import check_documentation_address

    for address in (lab.SERVER_ADDRESS, *lab.POOL):
        check_documentation_address(address)
    for mac in (lab.CLIENT_MAC, lab.SERVER_MAC):
        assert int(mac.split(":")[0], 16) & 0b10, "a locally administered MAC (RFC 7042 §2.1)"


def test_a_lab_notebook_declares_what_it_needs_and_is_skipped_without_it(tmp_path):
    needs = json.loads(LAB.read_text())["metadata"]["course"]["lab"]["needs"]
    assert {"root", "tcpdump", "dhclient", "dnsmasq", "kea-dhcp4", "tshark"} <= set(needs)
    fake = tmp_path / "fake_lab.ipynb"
    fake.write_text(json.dumps({"metadata": {"course": {"lab": {"needs": ["no-such-program-xyz"]}}}, "cells": []}))
    assert lab_needs.lab_missing(fake) == ["no-such-program-xyz"]
    lesson = ROOT / "notebooks" / "02_dhcp_lease.ipynb"
    assert lab_needs.lab_missing(lesson) == [], "a lesson needs nothing: it is never skipped"


def test_a_real_run_leaves_what_the_notebook_prints(tmp_path):
    missing = lab.missing_tools()
    if missing:
        pytest.skip("the DHCP lab needs " + ", ".join(missing))
    from refimpl.capture.dhcp import read_datagrams

    run = lab.lease_from("kea", tmp_path / "kea")
    kinds = [d.message.message_type.name for d in read_datagrams(run.pcap) if d.message is not None]
    assert kinds == ["DISCOVER", "OFFER", "REQUEST", "ACK", "RELEASE"]
    assert run.address_after_lease == f"{lab.POOL[0]}/24" and run.address_after_release == "(none)"
    assert any(line.startswith(f"BOUND ip={lab.POOL[0]} ") for line in run.client_log)
    assert lab.lease_lines(run, run.leases_after_release)[-1].endswith("valid_lifetime=0 state=0")
    # nothing is left behind: no namespace of the lab, no daemon
    ours = f"c{os.getpid() % 100000}"  # refimpl.lab.netns names this process's namespaces so
    assert not [n for n in os.popen("ip netns list").read().split() if n.startswith(ours)]
    assert str(run.workdir) not in os.popen("ps -eo args").read(), "kea-dhcp4 still runs"
