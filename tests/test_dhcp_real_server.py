"""Our DHCP server on a real veth link, against real clients: busybox udhcpc and ISC dhclient.

Each test: a server namespace (192.0.2.1/24) and a client namespace with no
address, joined by a veth pair; tcpdump records the link; afterwards every
frame our server sent must dissect cleanly in scapy.
"""

from __future__ import annotations

import pickle
import random
import signal
import sys

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
    start_logged,
    start_server,
    stop,
    wait_until,
)

from refimpl.dhcp.leasefile import LeaseFile
from refimpl.lab.netns import two_hosts

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_tool, pytest.mark.slow]

SERVER_ARGS = [
    "--server-ip",
    "192.0.2.1",
    "--pool",
    "192.0.2.10-192.0.2.20",
    "--router",
    "192.0.2.1",
    "--dns",
    "192.0.2.53",
    "198.51.100.53",
]


def lease_states(path) -> dict[str, str]:
    """address -> state of its last line in our lease file."""
    return {record.address: record.state for record in LeaseFile(path).replay()}


def test_udhcpc_gets_renews_and_releases(tmp_path):
    need_lab("udhcpc", "tcpdump")
    script, out = client_script(tmp_path, UDHCPC_SCRIPT, "udhcpc")
    leases = tmp_path / "leases.csv"
    with two_hosts("udhcpc") as (server, client, s_if, c_if):
        with capture(server, s_if, tmp_path / "udhcpc.pcap") as pcap:
            srv, log = start_server(
                server, tmp_path, "--interface", s_if, *SERVER_ARGS, "--lease-time", "600", "--lease-file", str(leases)
            )
            # -f foreground, -R release on exit, -t/-T: 5 DISCOVERs 1 s apart, no ARP check.
            udhcpc = start_logged(
                client,
                ["udhcpc", "-f", "-R", "-i", c_if, "-s", str(script), "-t", "5", "-T", "1"],
                tmp_path / "udhcpc.log",
            )
            bound = wait_until(lambda: [e for e in events(out) if e.startswith("bound")], 15, "udhcpc bound")
            assert "ip=192.0.2.10 " in bound[0] and "router=192.0.2.1" in bound[0], bound
            assert "dns=192.0.2.53 198.51.100.53" in bound[0] and "serverid=192.0.2.1" in bound[0], bound
            assert "lease=600" in bound[0]
            assert "192.0.2.10/24" in client.ip("-4", "addr", "show", "dev", c_if).stdout
            # busybox stretches short leases to 122 s; SIGUSR1 asks it to renew now (unicast to us).
            udhcpc.send_signal(signal.SIGUSR1)
            wait_until(lambda: any(e.startswith("renew") for e in events(out)), 12, "udhcpc renew")
            assert lease_states(leases) == {"192.0.2.10": "bound"}
            udhcpc.send_signal(signal.SIGTERM)  # -R: release on exit
            udhcpc.wait(timeout=10)
            wait_until(lambda: "DHCPRELEASE of 192.0.2.10" in log.read_text(), 10, "the server to log the release")
            assert lease_states(leases) == {"192.0.2.10": "released"}
            assert stop(srv) == 0
        text = log.read_text()
        assert "DHCPDISCOVER from" in text and "DHCPOFFER on 192.0.2.10 to" in text and "DHCPACK on 192.0.2.10" in text
        our_mac = interface_mac(server, s_if)
    sent = dhcp_kinds(pcap, our_mac)
    assert sent[:2] == ["DHCPOFFER", "DHCPACK"] and sent.count("DHCPACK") >= 2, sent  # first ACK, then renewals
    assert check_dissects(pcap, {our_mac}) == len(sent)
    assert lease_states(leases) == {"192.0.2.10": "released"}  # the file survived the SIGTERM intact


def test_udhcpc_broadcast_flag_and_second_client(tmp_path):
    """With -B the client asks for broadcast replies; a second client gets another address."""
    need_lab("udhcpc")
    script, _ = client_script(tmp_path, UDHCPC_SCRIPT)
    with two_hosts("udhcpcB", b="c1") as (server, c1, s_if, c1_if):
        c2 = server.lab.host("c2")
        _, c2_if = server.lab.link(server, "198.51.100.1/24", c2, None)
        srv, log = start_server(server, tmp_path, "--interface", s_if, *SERVER_ARGS)
        r = c1.run(["udhcpc", "-n", "-q", "-B", "-i", c1_if, "-s", str(script), "-t", "5", "-T", "1"], timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "DHCPOFFER on 192.0.2.10" in log.read_text() and "broadcast bit: broadcast" in log.read_text()
        # The server is bound to its interface: a client on another link hears nothing.
        r2 = c2.run(["udhcpc", "-n", "-q", "-i", c2_if, "-s", str(script), "-t", "2", "-T", "1"], timeout=30)
        assert r2.returncode != 0
        assert stop(srv) == 0


def test_dhclient_gets_renews_and_releases(tmp_path):
    need_lab("dhclient", "tcpdump")
    script, out = client_script(tmp_path, DHCLIENT_SCRIPT, "dhclient")
    leases = tmp_path / "leases.csv"
    lf, pf = tmp_path / "dhclient.leases", tmp_path / "dhclient.pid"
    with two_hosts("dhclient") as (server, client, s_if, c_if):
        with capture(server, s_if, tmp_path / "dhclient.pcap") as pcap:
            srv, log = start_server(
                server, tmp_path, "--interface", s_if, *SERVER_ARGS, "--lease-time", "8", "--lease-file", str(leases)
            )
            common = ["-4", "-sf", str(script), "-lf", str(lf), "-pf", str(pf)]
            dhclient = start_logged(client, ["dhclient", "-d", "-v", *common, c_if], tmp_path / "dhclient.log")
            bound = wait_until(lambda: [e for e in events(out) if e.startswith("BOUND")], 20, "dhclient BOUND")
            assert "ip=192.0.2.10 " in bound[0] and "routers=192.0.2.1" in bound[0], bound
            assert "server=192.0.2.1" in bound[0] and "lease=8" in bound[0]
            assert "192.0.2.10" in lf.read_text()
            # T1 = 4 s: dhclient renews (unicast to us) and gets a new ACK.
            wait_until(lambda: any(e.startswith("RENEW") for e in events(out)), 15, "dhclient RENEW")
            # Release: a second dhclient -r reads the pid file, stops the first and sends DHCPRELEASE.
            r = client.run(["dhclient", "-r", "-v", *common, c_if], timeout=20)
            assert r.returncode == 0, r.stderr
            dhclient.wait(timeout=10)
            wait_until(lambda: "DHCPRELEASE of 192.0.2.10" in log.read_text(), 10, "the server to log the release")
            assert lease_states(leases) == {"192.0.2.10": "released"}
            assert stop(srv) == 0
        our_mac = interface_mac(server, s_if)
        text = log.read_text()
    assert "DHCPREQUEST for 192.0.2.10 (192.0.2.1)" in text  # SELECTING
    assert text.count("DHCPACK on 192.0.2.10") >= 2
    sent = dhcp_kinds(pcap, our_mac)
    assert sent[:2] == ["DHCPOFFER", "DHCPACK"], sent
    assert check_dissects(pcap, {our_mac}) == len(sent)


def test_server_survives_garbage_and_keeps_serving(tmp_path):
    """Malformed and random datagrams on port 67 are logged as dropped; service goes on."""
    need_lab("udhcpc")
    script, out = client_script(tmp_path, UDHCPC_SCRIPT)
    with two_hosts("garbage", b_address="192.0.2.2/24") as (server, client, s_if, c_if):
        srv, log = start_server(server, tmp_path, "--interface", s_if, *SERVER_ARGS)
        rng = random.Random(4)
        blobs = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 600))) for _ in range(40)]
        blobs += [b"", b"\x01" * 240, b"\x01\x01\x06\x00" + bytes(232) + b"\x63\x82\x53\x63\x35\x05\x01"]
        sender = tmp_path / "send.py"
        sender.write_text(
            "import socket,sys,pickle\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for b in pickle.load(open(sys.argv[1],'rb')): s.sendto(b,('192.0.2.1',67))\n"
        )
        blob_file = tmp_path / "blobs.pickle"
        blob_file.write_bytes(pickle.dumps(blobs))
        r = client.run([sys.executable, str(sender), str(blob_file)], timeout=20)
        assert r.returncode == 0, r.stderr
        wait_until(lambda: log.read_text().count("dropped") >= len(blobs) - 2, 10, "drops to be logged")
        client.ip("addr", "flush", "dev", c_if)
        r = client.run(["udhcpc", "-n", "-q", "-i", c_if, "-s", str(script), "-t", "5", "-T", "1"], timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        assert srv.poll() is None
        assert stop(srv) == 0
        text = log.read_text()
    assert "not a DHCP message" in text
    assert any("bound ip=192.0.2.10" in e for e in events(out))
    assert "stopped:" in text


PROBE = r"""
import socket, sys
from refimpl.dhcp import Message
# A DISCOVER from a non-Ethernet client (htype 32, hlen 8): no frame can be addressed to it.
d = Message.discover(mac="02:00:00:00:00:00:00:07", xid=77)
d.htype = 32
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[1].encode())  # no default route here
s.bind(("0.0.0.0", 68))
s.settimeout(5)
s.sendto(d.encode(), ("255.255.255.255", 67))
data, (ip, port) = s.recvfrom(2048)
m = Message.decode(data)
print(m.message_type.name, m.yiaddr, port, m.xid)
"""


def test_reply_to_a_non_ethernet_client_is_broadcast(tmp_path):
    need_lab()
    with two_hosts("noneth", b_address="192.0.2.2/24") as (server, client, s_if, c_if):
        srv, log = start_server(server, tmp_path, "--interface", s_if, *SERVER_ARGS)
        script = tmp_path / "probe.py"
        script.write_text(PROBE)
        r = client.run([sys.executable, str(script), c_if], timeout=20)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["OFFER", "192.0.2.10", "67", "77"]
        assert stop(srv) == 0
    assert "chaddr is not Ethernet, broadcast instead" in log.read_text()
