"""Our DHCP client on a real veth link: against dnsmasq, and against our own server."""

from __future__ import annotations

import json
import signal

import pytest
from dhcp_real_harness import (
    capture,
    check_dissects,
    dhcp_kinds,
    interface_mac,
    need_lab,
    refimpl,
    start_logged,
    start_server,
    stop,
    wait_until,
)

from refimpl.lab.netns import two_hosts

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_tool, pytest.mark.slow]


def json_lines(path) -> list[dict]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.startswith("{")]


def dnsmasq(host, ifname, tmp, *extra: str):
    """dnsmasq as a DHCP server only (no DNS: --port=0), everything in ``tmp``."""
    argv = [
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--port=0",
        "--user=root",
        "--group=root",
        f"--interface={ifname}",
        "--bind-interfaces",
        "--log-dhcp",
        "--log-facility=-",
        "--dhcp-range=192.0.2.50,192.0.2.60,255.255.255.0,2m",
        f"--dhcp-leasefile={tmp / 'dnsmasq.leases'}",
        f"--pid-file={tmp / 'dnsmasq.pid'}",
        "--dhcp-option=option:router,192.0.2.1",
        *extra,
    ]
    log = tmp / "dnsmasq.log"
    process = start_logged(host, argv, log)
    wait_until(lambda: "DHCP, IP range" in log.read_text() or process.poll() is not None, 10, "dnsmasq to start")
    assert process.poll() is None, log.read_text()
    return process, log


def test_client_gets_renews_and_releases_with_dnsmasq(tmp_path):
    need_lab("dnsmasq", "tcpdump")
    with two_hosts("dnsmasq") as (server, client, s_if, c_if):
        with capture(client, c_if, tmp_path / "client.pcap") as pcap:
            # T1 = 3 s, T2 = 6 s (dnsmasq's shortest lease is 2 minutes).
            dns, dns_log = dnsmasq(server, s_if, tmp_path, "--dhcp-option=option:T1,3", "--dhcp-option=option:T2,6")
            out = tmp_path / "client.json"
            ours = start_logged(client, refimpl("dhcp-client", "--interface", c_if, "--configure", "--release"), out)
            first = wait_until(lambda: json_lines(out), 15, "a lease from dnsmasq")[0]
            assert first["address"].startswith("192.0.2.") and 50 <= int(first["address"].split(".")[-1]) <= 60
            assert first["server_id"] == "192.0.2.1" and first["router"] == ["192.0.2.1"]
            assert first["lease_time"] == 120 and first["netmask"] == "255.255.255.0"
            assert f"{first['address']}/24" in client.ip("-4", "addr", "show", "dev", c_if).stdout
            leases = (tmp_path / "dnsmasq.leases").read_text()
            assert first["address"] in leases and first["mac"] in leases
            # T1: a unicast DHCPREQUEST to dnsmasq, a new ACK, a second JSON line.
            second = wait_until(lambda: json_lines(out)[1:], 10, "the renewal")[0]
            assert second["address"] == first["address"]
            ours.send_signal(signal.SIGTERM)  # --release: DHCPRELEASE, then exit
            assert ours.wait(timeout=10) == 0, out.read_text()
            wait_until(lambda: "DHCPRELEASE" in dns_log.read_text(), 10, "dnsmasq to log the release")
            wait_until(
                lambda: first["address"] not in (tmp_path / "dnsmasq.leases").read_text(),
                10,
                "dnsmasq to drop the lease",
            )
            assert f"{first['address']}/24" not in client.ip("-4", "addr", "show", "dev", c_if).stdout
            stop(dns)
        mac = interface_mac(client, c_if)
    text = dns_log.read_text()
    assert "DHCPDISCOVER" in text and "DHCPACK" in text
    sent = dhcp_kinds(pcap, mac)
    assert sent == ["DHCPDISCOVER", "DHCPREQUEST", "DHCPREQUEST", "DHCPRELEASE"], sent
    assert check_dissects(pcap, {mac}) == 4


def test_client_once_against_our_server_with_broadcast_flag(tmp_path):
    """--once --release --broadcast: lease printed, released at once; the server broadcast its replies."""
    need_lab()
    with two_hosts("ours", a_address="203.0.113.1/24") as (server, client, s_if, c_if):
        srv, log = start_server(
            server,
            tmp_path,
            "--interface",
            s_if,
            "--server-ip",
            "203.0.113.1",
            "--pool",
            "203.0.113.100-203.0.113.101",
            "--lease-file",
            str(tmp_path / "l.csv"),
        )
        r = client.run(
            refimpl(
                "dhcp-client",
                "--interface",
                c_if,
                "--once",
                "--release",
                "--broadcast",
                "--no-arp-probe",
                "--timeout",
                "15",
            ),
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        lease = json.loads(r.stdout.splitlines()[0])
        assert lease["address"] == "203.0.113.100" and lease["server_id"] == "203.0.113.1"
        wait_until(lambda: "DHCPRELEASE of 203.0.113.100" in log.read_text(), 10, "the release")
        assert "broadcast bit: broadcast" in log.read_text()
        # SIGINT stops the server cleanly, the lease file intact (the release is its last line).
        assert stop(srv, signal.SIGINT) == 0
        assert "stopped:" in log.read_text()
        last = (tmp_path / "l.csv").read_text().splitlines()[-1].split(",")
        assert last[0] == "203.0.113.100" and last[5] == "released"
        # No server on a silent link: --timeout gives up with a clear message.
        r = client.run(refimpl("dhcp-client", "--interface", c_if, "--once", "--timeout", "2"), timeout=30)
        assert r.returncode == 1 and "no lease within 2 s" in r.stderr
