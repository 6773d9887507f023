"""Shared helpers for the real-network DHCP tests (namespaces, processes, captures).

Every test builds its own :class:`refimpl.lab.netns.Lab` inside a ``with``
block (:func:`refimpl.lab.netns.two_hosts` for a server and a client on one
link, :func:`relayed` for a client, a relay and a server on two), so
namespaces, veth pairs and background processes are removed even when an
assertion fails. Addresses come from RFC 5737 only (the Lab enforces it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from refimpl.capture.recorder import recording
from refimpl.lab.netns import Host, Lab
from refimpl.sockets.rawlink import internet_checksum

PY = sys.executable


def need_lab(*tools: str) -> None:
    """Skip (a failure under COURSE_STRICT=1) unless root, iproute2 and ``tools`` are here."""
    ok, why = Lab.available()
    if not ok:
        pytest.skip(why)
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (Debian packages: udhcpc isc-dhcp-client dnsmasq kea-admin tcpdump)")


def refimpl(*args: str) -> list[str]:
    return [PY, "-m", "refimpl", *args]


def wait_until(predicate, timeout: float, what: str, step: float = 0.05):
    """Poll ``predicate`` until it returns something true; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(step)


def start_logged(host: Host, argv: list[str], log: Path) -> subprocess.Popen:
    """Run ``argv`` in ``host`` in the background, output to ``log`` (a file: never a full pipe)."""
    handle = open(log, "w")
    process = host.run(argv, background=True, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return process


def start_server(host: Host, tmp: Path, *args: str, name: str = "server") -> tuple[subprocess.Popen, Path]:
    """Our dhcp-server in ``host``; returns once it logged that it serves."""
    log = tmp / f"{name}.log"
    process = start_logged(host, refimpl("dhcp-server", *args), log)
    wait_until(lambda: "serving" in log.read_text() or process.poll() is not None, 20, "dhcp-server to start")
    assert process.poll() is None, log.read_text()
    return process, log


def start_relay(host: Host, tmp: Path, client_if: str, server_ip: str) -> tuple[subprocess.Popen, Path]:
    """Our dhcp-relay in ``host``, from ``client_if`` to ``server_ip``; returns once it logged that it relays."""
    log = tmp / "relay.log"
    process = start_logged(host, refimpl("dhcp-relay", "--client-interface", client_if, "--server", server_ip), log)
    wait_until(lambda: "relaying from" in log.read_text() or process.poll() is not None, 20, "the relay")
    assert process.poll() is None, log.read_text()
    return process, log


class Relayed(NamedTuple):
    """``client --- 192.0.2.0/24 --- relay --- 198.51.100.0/24 --- server`` and the four interfaces."""

    client: Host
    relay: Host
    server: Host
    client_if: str  # the client's, no address yet
    relay_client_if: str  # 192.0.2.1: the relay's address on the clients' side becomes giaddr
    relay_server_if: str  # 198.51.100.1
    server_if: str  # 198.51.100.2


@contextlib.contextmanager
def relayed(name: str, forwarding: bool = False) -> Iterator[Relayed]:
    """A lab with a relay between two segments; the server routes the clients' network back via the relay.

    ``forwarding`` makes the relay box a router too, so that a client's
    unicast RENEW and RELEASE reach the server directly (RFC 2131 §4.4.5).
    """
    with Lab(name) as lab:
        client, relay, server = lab.host("client"), lab.host("relay"), lab.host("server")
        c_if, rc_if = lab.link(client, None, relay, "192.0.2.1/24")
        rs_if, s_if = lab.link(relay, "198.51.100.1/24", server, "198.51.100.2/24")
        if forwarding:
            relay.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        server.ip("route", "add", "192.0.2.0/24", "via", "198.51.100.1")
        yield Relayed(client, relay, server, c_if, rc_if, rs_if, s_if)


def stop(process: subprocess.Popen, signum: int = signal.SIGTERM, timeout: float = 10) -> int:
    if process.poll() is None:
        process.send_signal(signum)
    return process.wait(timeout=timeout)


@contextlib.contextmanager
def capture(host: Host, ifname: str, path: Path, expression: str = "udp port 67 or udp port 68"):
    """tcpdump on ``ifname`` inside ``host`` while the block runs; the pcap is complete afterwards."""
    logs = path.with_suffix(".logs")  # one folder per capture: a test may run two at once
    logs.mkdir(exist_ok=True)
    with recording(path, ifname, expression, logs=logs, within=host, linger=0.3):
        yield path


def interface_mac(host: Host, ifname: str) -> str:
    out = host.run(["cat", f"/sys/class/net/{ifname}/address"]).stdout
    return out.strip().lower()


# -- scapy checks -------------------------------------------------------------------------
def check_dissects(pcap: Path, macs: set[str]) -> int:
    """Every DHCP frame sent from one of ``macs`` dissects cleanly in scapy. Returns how many.

    Clean means: Ethernet/IPv4/UDP/BOOTP/DHCP layers, a message type and an
    ``end`` option, no undecoded bytes except zero padding, a correct IPv4
    header checksum and a UDP checksum that is right - or, for datagrams the
    kernel built on a veth, the partial checksum that checksum offload leaves
    there (the frames we write ourselves on AF_PACKET always carry the full one).
    """
    from scapy.all import rdpcap
    from scapy.layers.dhcp import BOOTP, DHCP
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Padding, Raw

    checked = 0
    for packet in rdpcap(str(pcap)):
        if not packet.haslayer(Ether) or packet[Ether].src.lower() not in macs:
            continue
        raw = bytes(packet)
        assert packet.haslayer(IP) and packet.haslayer(UDP), packet.summary()
        assert packet.haslayer(BOOTP) and packet.haslayer(DHCP), f"not dissected as DHCP: {packet.summary()}"
        options = packet[DHCP].options
        names = [o[0] if isinstance(o, tuple) else o for o in options]
        assert "message-type" in names and "end" in names, names
        for layer in (Raw,):
            assert not packet.haslayer(layer), f"undecoded bytes in {packet.summary()}"
        if packet.haslayer(Padding):
            assert not packet[Padding].load.strip(b"\0"), "non-zero bytes after the end option"
        ihl = (raw[14] & 15) * 4
        ip_header = raw[14 : 14 + ihl]
        assert internet_checksum(ip_header) == 0, f"bad IPv4 header checksum: {packet.summary()}"
        udp = raw[14 + ihl : 14 + struct.unpack("!H", raw[16:18])[0]]
        pseudo = ip_header[12:20] + struct.pack("!BBH", 0, 17, len(udp))
        stored = struct.unpack("!H", udp[6:8])[0]
        full = internet_checksum(pseudo + udp) == 0  # with a right checksum, the words sum to all ones (RFC 1071)
        # CHECKSUM_PARTIAL: only the pseudo-header's sum, left there for the NIC that a veth is not
        partial = stored == ~internet_checksum(pseudo) & 0xFFFF
        assert full or partial or stored == 0, f"bad UDP checksum {stored:#06x}: {packet.summary()}"
        checked += 1
    return checked


def dhcp_kinds(pcap: Path, src_mac: str | None = None) -> list[str]:
    """The DHCP message types in a capture (optionally only those sent from ``src_mac``)."""
    from refimpl.capture.dhcp import read_datagrams

    return [
        f"DHCP{d.message.message_type.name}"
        for d in read_datagrams(pcap)
        if d.message is not None and d.message.message_type is not None and (src_mac is None or d.src_mac == src_mac)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_script(path: Path, text: str) -> Path:
    path.write_text(text)
    os.chmod(path, 0o755)
    return path


def events(path: Path) -> list[str]:
    """The lines a client script below has logged so far."""
    return path.read_text().splitlines() if path.exists() else []


def client_script(tmp: Path, text: str, name: str = "client") -> tuple[Path, Path]:
    """``text`` (:data:`UDHCPC_SCRIPT` or :data:`DHCLIENT_SCRIPT`) as ``<tmp>/<name>.sh``; returns (script,
    the file it logs its events to: read it with :func:`events`)."""
    out = tmp / f"{name}.events"
    return write_script(tmp / f"{name}.sh", text.format(out=out)), out


# Client scripts: the real clients call them on each event; they log one line
# (``.format(out=PATH)``) and set the address, as the distribution's scripts would.
UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc calls this with deconfig/bound/renew; we log the event and set the address
# (udhcpc renews by unicast from the leased address) and the default route (through
# a relay, the server is on another network).
echo "$1 ip=$ip mask=$mask router=$router dns=$dns lease=$lease serverid=$serverid" >> {out}
case "$1" in
  bound|renew) ip addr replace "$ip/${{mask:-24}}" dev "$interface"
               [ -n "$router" ] && ip route replace default via "$router" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"""

DHCLIENT_SCRIPT = """#!/bin/sh
# dhclient-script stand-in: log the reason and the lease, set the address.
echo "$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers dns=$new_domain_name_servers \\
lease=$new_dhcp_lease_time server=$new_dhcp_server_identifier" >> {out}
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;;
  RELEASE|EXPIRE|STOP) [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
exit 0
"""


# -- a relay-style load generator that records every DHCPACK it gets --------------------------
LOADGEN = r'''
"""Many clients, behind a fake relay (giaddr = our address, port 67): DORA again and again.

Every DHCPACK is appended to the output file as one JSON line [mac, address, time]
the moment it arrives (line-buffered), so a test can compare it with the server's
lease file after killing the server.
"""
import json, random, socket, sys, time
from refimpl.dhcp import Message

server, me, duration, clients, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind((me, 67))
sock.settimeout(0.02)
rng = random.Random(11)
macs = [f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}" for i in range(1, clients + 1)]
pending = {}   # xid -> [mac, stage, sent]
log = open(out, "a", buffering=1)
end, xid, acks = time.monotonic() + duration, 0, 0
while time.monotonic() < end:
    now = time.monotonic()
    for key in [k for k, p in pending.items() if now - p[2] > 1.0]:
        del pending[key]            # lost (the server may be dead): start again later
    while len(pending) < 16:
        xid += 1
        mac = rng.choice(macs)
        d = Message.discover(mac=mac, xid=xid)
        d.giaddr = me
        sock.sendto(d.encode(), (server, 67))
        pending[xid] = [mac, "discover", now]
    try:
        data = sock.recv(2048)
    except (socket.timeout, ConnectionRefusedError):
        continue
    m = Message.decode(data)
    p = pending.get(m.xid)
    if p is None or m.mac != p[0]:
        continue
    kind = m.message_type.name
    if kind == "OFFER" and p[1] == "discover":
        r = Message.request(mac=p[0], xid=m.xid, requested_ip=m.yiaddr, server_id=m.get("server_id"))
        r.giaddr = me
        sock.sendto(r.encode(), (server, 67))
        p[1], p[2] = "request", time.monotonic()
    elif kind == "ACK" and p[1] == "request":
        log.write(json.dumps([p[0], m.yiaddr, time.time()]) + "\n")
        acks += 1
        del pending[m.xid]
    elif kind == "NAK":
        log.write(json.dumps([p[0], "NAK", time.time()]) + "\n")
        del pending[m.xid]
print(acks)
'''
