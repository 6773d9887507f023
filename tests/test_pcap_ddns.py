"""The DDNS capture: busybox udhcpc, our dhcp-server --ddns and a real BIND 9, read back as one trace.

The shipped file is re-read and checked against what its README and lesson 08 say; the simulation of the
same story (refimpl.dhcp.ddns_scenario) must read as the same sequence of messages; as root with the tools
installed, a fresh recording is made and read the same way.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from refimpl.capture.dns import read_ddns_trace
from refimpl.dhcp.ddns_scenario import ddns_lease
from refimpl.dns.tsig import find

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "dns_ddns.pcap"
STORY = (
    ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    + ["DNS UPDATE", "UPDATE NOERROR"] * 2
    + ["DHCPRELEASE"]
    + ["DNS UPDATE", "UPDATE NOERROR"] * 3
)


def check(trace) -> None:
    assert trace.kinds() == STORY
    assert set(trace.hosts()) >= {"client", "server", "ns1"}
    updates = [e for e in trace if e.kind == "DNS UPDATE"]
    assert all(e.src == "server" and e.dst == "ns1" and e.dst_port == 53 for e in updates)
    assert all(find(e.raw) is not None for e in updates), "every UPDATE is signed (TSIG)"
    assert "if host7.example.com not in use: add host7.example.com A 192.0.2.100" in updates[0].summary
    ack = next(i for i, e in enumerate(trace) if e.kind == "DHCPACK")
    first_update = next(i for i, e in enumerate(trace) if e.kind == "DNS UPDATE")
    assert ack < first_update, "the ACK goes first"
    assert [e.message.rcode for e in trace if e.kind == "UPDATE NOERROR"] == [0] * 5


def test_the_shipped_capture_tells_the_lease_story_with_bind():
    check(read_ddns_trace(SHIPPED))


def test_the_simulation_tells_the_same_story():
    sim = ddns_lease(release_at=10.0)
    kinds = [e.kind for e in sim.trace if e.flow != "arp" and not e.is_note]
    assert kinds == STORY


@pytest.mark.needs_root
@pytest.mark.needs_tool
@pytest.mark.slow
def test_a_fresh_recording_reads_the_same_way(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("network namespaces and tcpdump need root")
    missing = [t for t in ("tcpdump", "udhcpc", "named", "ip") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian: tcpdump udhcpc bind9 iproute2)")
    from refimpl.capture.record_ddns import record_ddns_session

    check(read_ddns_trace(record_ddns_session(tmp_path / "ddns.pcap")))
