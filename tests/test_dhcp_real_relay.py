"""Our relay carries a real client's exchange (busybox udhcpc) to our server across two segments.

    client ----- 192.0.2.0/24 ----- relay ----- 198.51.100.0/24 ----- server
    (no address)            192.0.2.1   198.51.100.1           198.51.100.2

The relay is also the router (IP forwarding on), so the client's unicast
RENEW and RELEASE reach the server directly, as RFC 2131 §4.4.5 intends.
"""

from __future__ import annotations

import signal

import pytest
from dhcp_real_harness import (
    DHCLIENT_SCRIPT,
    UDHCPC_SCRIPT,
    capture,
    check_dissects,
    client_script,
    dhcp_kinds,
    events,
    interface_mac,
    need_lab,
    relayed,
    start_logged,
    start_relay,
    start_server,
    stop,
    wait_until,
)

from refimpl.capture.dhcp import read_trace
from refimpl.dhcp.leasefile import LeaseFile

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_tool, pytest.mark.slow]


def test_relay_carries_udhcpc_to_our_server(tmp_path):
    need_lab("udhcpc", "tcpdump")
    script, out = client_script(tmp_path, UDHCPC_SCRIPT)
    leases = tmp_path / "leases.csv"
    with relayed("relay", forwarding=True) as (client, relay, server, c_if, rc_if, rs_if, s_if):
        with (
            capture(client, c_if, tmp_path / "client_side.pcap") as near,
            capture(server, s_if, tmp_path / "server_side.pcap") as far,
        ):
            srv, srv_log = start_server(
                server,
                tmp_path,
                "--interface",
                s_if,
                "--server-ip",
                "198.51.100.2",
                "--pool",
                "192.0.2.10-192.0.2.20",
                "--network",
                "192.0.2.0/24",
                "--router",
                "192.0.2.1",
                "--lease-file",
                str(leases),
            )
            rel, relay_log = start_relay(relay, tmp_path, rc_if, "198.51.100.2")
            udhcpc = start_logged(
                client,
                ["udhcpc", "-f", "-R", "-i", c_if, "-s", str(script), "-t", "5", "-T", "1"],
                tmp_path / "udhcpc.log",
            )
            bound = wait_until(
                lambda: [e for e in events(out) if e.startswith("bound")], 20, "udhcpc bound via the relay"
            )
            assert "ip=192.0.2.10 " in bound[0] and "serverid=198.51.100.2" in bound[0], bound
            udhcpc.send_signal(signal.SIGUSR1)  # renew: unicast to 198.51.100.2, routed by the relay box
            wait_until(lambda: "renew" in out.read_text(), 10, "the renewal")
            udhcpc.send_signal(signal.SIGTERM)  # -R: release
            udhcpc.wait(timeout=10)
            wait_until(lambda: "DHCPRELEASE of 192.0.2.10" in srv_log.read_text(), 10, "the release at the server")
            assert stop(rel) == 0 and stop(srv) == 0
        relay_macs = {interface_mac(relay, rc_if), interface_mac(relay, rs_if)}
        server_mac = interface_mac(server, s_if)
    rtext, stext = relay_log.read_text(), srv_log.read_text()
    assert "DHCPDISCOVER from" in rtext and "forwarded to 198.51.100.2:67 (giaddr 192.0.2.1, hops 1)" in rtext
    assert "DHCPOFFER on 192.0.2.10" in rtext and "DHCPACK on 192.0.2.10" in rtext
    assert "DHCPDISCOVER from" in stext and "via 192.0.2.1" in stext  # the server saw giaddr
    assert "relay: giaddr port 67" in stext
    assert {r.address: r.state for r in LeaseFile(leases).replay()} == {"192.0.2.10": "released"}
    # On the client's segment: the relay delivered OFFER and ACK; on the server's: it forwarded requests.
    assert dhcp_kinds(near, interface_mac_of(near, "relay"))[:2] == ["DHCPOFFER", "DHCPACK"]
    far_trace = read_trace(far)
    assert far_trace.kinds()[:4] == ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    assert {e.src for e in far_trace} >= {"relay", "server"}
    # The RENEW routed by the relay box is named by its IP addresses: client -> server.
    renew = [e for e in far_trace if e.kind == "DHCPREQUEST" and e.message.ciaddr == "192.0.2.10"]
    assert renew and (renew[0].src, renew[0].dst) == ("client", "server")
    assert all(e.message.giaddr == "192.0.2.1" for e in far_trace if e.kind in ("DHCPDISCOVER", "DHCPOFFER"))
    assert all(82 in e.message.options for e in far_trace if e.src == "relay" and e.src_port == 67)
    assert all(82 not in e.message.options for e in read_trace(near) if e.kind in ("DHCPOFFER", "DHCPACK"))
    assert check_dissects(near, relay_macs) >= 2
    assert check_dissects(far, relay_macs | {server_mac}) >= 4


def interface_mac_of(pcap, role: str) -> str:
    """The MAC address the capture's host naming gave ``role``."""
    from refimpl.capture.dhcp import host_names, read_datagrams

    names = host_names(read_datagrams(pcap))
    return next(key for key, name in names.items() if name == role and ":" in key)


OLD_LEASE = """lease {{
  interface "{ifname}";
  fixed-address 203.0.113.99;
  option subnet-mask 255.255.255.0;
  option dhcp-lease-time 600;
  option dhcp-server-identifier 198.51.100.2;
  renew 4 2037/01/01 00:00:00;
  rebind 4 2037/01/01 00:00:00;
  expire 4 2037/01/01 00:00:00;
}}
"""


def test_relay_carries_a_nak_to_a_moved_dhclient(tmp_path):
    """dhclient remembers an address from another network (INIT-REBOOT); the server NAKs through
    the relay with the BROADCAST bit (RFC 2131 §4.1), the relay broadcasts it, dhclient starts over."""
    need_lab("dhclient", "tcpdump")
    script, out = client_script(tmp_path, DHCLIENT_SCRIPT)
    with relayed("relaynak") as (client, relay, server, c_if, rc_if, _, s_if):
        lease_file = tmp_path / "dhclient.leases"
        lease_file.write_text(OLD_LEASE.format(ifname=c_if))
        with capture(client, c_if, tmp_path / "near.pcap") as near:
            srv, srv_log = start_server(
                server,
                tmp_path,
                "--interface",
                s_if,
                "--server-ip",
                "198.51.100.2",
                "--pool",
                "192.0.2.10-192.0.2.20",
                "--network",
                "192.0.2.0/24",
            )
            rel, relay_log = start_relay(relay, tmp_path, rc_if, "198.51.100.2")
            common = ["-4", "-sf", str(script), "-lf", str(lease_file), "-pf", str(tmp_path / "pid")]
            dhclient = start_logged(client, ["dhclient", "-d", "-v", *common, c_if], tmp_path / "dhclient.log")
            bound = wait_until(
                lambda: [e for e in events(out) if e.startswith("BOUND")], 30, "dhclient BOUND after the NAK"
            )
            assert "ip=192.0.2.10 " in bound[0] and "server=198.51.100.2" in bound[0]
            dhclient.terminate()
            dhclient.wait(timeout=10)
            assert stop(rel) == 0 and stop(srv) == 0
    stext, rtext = srv_log.read_text(), relay_log.read_text()
    assert "DHCPREQUEST for 203.0.113.99 from" in stext and "DHCPNAK on 203.0.113.99 to" in stext
    assert "wrong network" in stext
    assert "DHCPNAK" in rtext and "relay: broadcast bit set" in rtext
    trace = read_trace(near)
    nak = [e for e in trace if e.kind == "DHCPNAK"]
    assert nak and nak[0].dst == "*" and nak[0].dst_ip == "255.255.255.255" and nak[0].message.broadcast
    kinds = trace.kinds()
    assert kinds.index("DHCPNAK") < kinds.index("DHCPDISCOVER") < kinds.index("DHCPACK")
