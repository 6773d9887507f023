"""The DHCP server under attack (issue 16, points 13-15): what an attacker or a bad day did to it, and what holds now.

13. A full disk: a lease the server refused to ACK must never turn up bound after a restart.
14. A lease file with bad lines: the original is kept beside the compacted file; non-finite times are refused.
15. Clients that DISCOVER and never REQUEST: they cannot keep a real client from getting an address.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from dhcp_real_harness import PY, UDHCPC_SCRIPT, client_script, events, need_lab, start_server, stop, wait_until

from refimpl.dhcp.leasefile import HEADER, LeaseFile, LeaseRecord
from refimpl.dhcp.leases import LeaseStore
from refimpl.dhcp.message import Message
from refimpl.dhcp.notes import Note
from refimpl.dhcp.server import DhcpServer, ServerConfig
from refimpl.lab.netns import two_hosts

SERVER_IP = "192.0.2.1"


def mac(i: int) -> str:
    return f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}"


def dora(server: DhcpServer, i: int, now: float) -> str | None:
    """DISCOVER and REQUEST for client ``i``; the address ACKed, or None if no ACK came."""
    offer = [e for e in server.receive(Message.discover(mac=mac(i), xid=i), now=now) if not isinstance(e, Note)]
    if not offer:
        return None
    address = offer[0].message.yiaddr
    request = Message.request(mac=mac(i), xid=i, requested_ip=address, server_id=SERVER_IP)
    replies = [e for e in server.receive(request, now=now) if not isinstance(e, Note)]
    acked = [r for r in replies if r.message.message_type.name == "ACK"]
    return address if acked else None


# -- 13: a full disk -------------------------------------------------------------------------
@contextlib.contextmanager
def small_tmpfs(where: Path, size: str = "64k") -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``where`` for the block (root only), unmounted afterwards."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem is full; returns it (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                if os.write(fd, b"\0" * 512) == 0:
                    break
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
                break
    finally:
        os.close(fd)
    return filler


def test_full_disk_leaves_no_phantom_lease(tmp_path):
    """RFC 2131 §1.6 (leases survive a reboot) the other way round: no lease survives that was never ACKed.

    With the disk full, the server refuses ACKs (no durable record, no ACK). Before the fix the unwritten lines
    stayed in Python's file buffer and reached the disk with the next write once space was freed, so a restart
    bound addresses no client was ever told it had.
    """
    with small_tmpfs(tmp_path / "disk") as disk:
        config = ServerConfig(pool=("192.0.2.10", "192.0.2.250"), lease_file=str(disk / "leases.csv"))
        server = DhcpServer(config)
        acked = {mac(i): dora(server, i, 0.0) for i in range(10)}
        assert all(acked.values())
        filler = fill(disk)
        refused = 0
        for i in range(10, 160):  # the disk is full: ACKs are refused once the page in use (4 KiB) is full
            address = dora(server, i, 1.0)
            if address is None:
                refused += 1
            else:
                acked[mac(i)] = address
        assert refused >= 50, refused
        filler.unlink()  # space again: the server goes on, and what it refused must not come back
        for i in range(160, 170):
            acked[mac(i)] = dora(server, i, 2.0)
        assert all(acked.values())
        server.store.close()
        bound = {r.hwaddr: r.address for r in LeaseFile(config.lease_file).replay() if r.state == "bound"}
        assert bound == acked, f"{len(bound)} bound on disk, {len(acked)} acknowledged"
        again = DhcpServer(config)  # the restart
        assert {lease.mac: lease.address for lease in again.store.active_leases(3.0)} == acked
        again.store.close()


def test_full_disk_at_start_up_still_serves(tmp_path):
    """The start-up compaction on a full disk fails; the server keeps the old file and starts anyway."""
    with small_tmpfs(tmp_path / "disk", size="16k") as disk:
        config = ServerConfig(pool=("192.0.2.10", "192.0.2.250"), lease_file=str(disk / "leases.csv"))
        server = DhcpServer(config)
        acked = {mac(i): dora(server, i, 0.0) for i in range(5)}
        server.store.close()
        filler = fill(disk)
        again = DhcpServer(config)
        assert {lease.mac: lease.address for lease in again.store.active_leases(1.0)} == acked
        assert not (disk / "leases.csv.tmp").exists()
        filler.unlink()
        acked[mac(5)] = dora(again, 5, 1.0)
        assert acked[mac(5)] is not None
        again.store.close()
        bound = {r.hwaddr: r.address for r in LeaseFile(config.lease_file).replay() if r.state == "bound"}
        assert bound == acked


# -- 14: bad lines in the lease file ----------------------------------------------------------------
def test_bad_lines_are_kept_in_a_copy_before_compaction(tmp_path, caplog):
    """Skipped lines leave the live file at start-up, but the original stays as ``leases.csv.bad-TIMESTAMP``
    (as Kea keeps its previous lease file), so an administrator can see what was lost and why."""
    path = tmp_path / "leases.csv"
    good = LeaseRecord("192.0.2.10", mac(0), "", 100, 500.0, "bound").to_line()
    original = (HEADER + "\n" + good + "not,a,lease\n").encode() + b"\xff\xfe,broken\n"
    path.write_bytes(original)
    os.utime(path, (1_700_000_000, 1_700_000_000))
    with caplog.at_level(logging.WARNING, logger="refimpl.dhcp.leasefile"):
        store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    store.close()
    kept = sorted(tmp_path.glob("leases.csv.bad-*"))
    assert [p.name for p in kept] == ["leases.csv.bad-20231114T221320Z"], kept  # the time of the bad file
    assert kept[0].read_bytes() == original
    assert path.read_text() == HEADER + "\n" + good  # compacted: only what could be read
    assert "kept as" in caplog.text and kept[0].name in caplog.text
    # A second start from the clean file keeps no further copy.
    LeaseStore("192.0.2.10", "192.0.2.20", path=path).close()
    assert sorted(tmp_path.glob("leases.csv.bad-*")) == kept


def test_a_torn_last_line_alone_keeps_no_copy(tmp_path):
    """A torn last line is what a crash leaves (rule 2 of the lease file), not bad input: no copy each restart."""
    path = tmp_path / "leases.csv"
    good = LeaseRecord("192.0.2.10", mac(0), "", 100, 500.0, "bound").to_line()
    path.write_text(HEADER + "\n" + good + good[:20])
    LeaseStore("192.0.2.10", "192.0.2.20", path=path).close()
    assert list(tmp_path.glob("leases.csv.bad-*")) == []


@pytest.mark.parametrize("when", ["nan", "NaN", "inf", "-inf", "1e999", "-Infinity"])
def test_non_finite_times_are_refused(tmp_path, when):
    """A lease that ends at ``inf`` would never end, one at ``nan`` compares false with every time
    (and breaks the heap of free addresses): both are malformed lines, not leases."""
    with pytest.raises(ValueError):
        LeaseRecord.from_line(f"192.0.2.11,{mac(1)},,100,{when},bound,")
    path = tmp_path / "leases.csv"
    path.write_text(f"{HEADER}\n192.0.2.11,{mac(1)},,100,{when},bound,\n")
    store = LeaseStore("192.0.2.10", "192.0.2.11", path=path)
    assert store.lease_at("192.0.2.11") is None
    assert store.offer("hw:" + mac(2), mac(2), 0.0) is not None  # the whole pool is there
    assert store.offer("hw:" + mac(3), mac(3), 0.0) is not None
    store.close()
    assert len(list(tmp_path.glob("leases.csv.bad-*"))) == 1


def test_negative_lifetime_is_refused():
    with pytest.raises(ValueError):
        LeaseRecord.from_line(f"192.0.2.11,{mac(1)},,-5,100.0,bound,")


# -- 15: DISCOVER-only clients ----------------------------------------------------------------------
def discover(server: DhcpServer, i: int, now: float, *, giaddr: str | None = None, client_id: bytes | None = None):
    """A DISCOVER from client ``i`` (through the relay ``giaddr``); the OFFER or None."""
    msg = Message.discover(mac=mac(i), xid=i)
    if giaddr:
        msg.giaddr = giaddr
    if client_id:
        msg.set("client_id", client_id)
    offers = [e for e in server.receive(msg, now=now) if not isinstance(e, Note)]
    return offers[0].message if offers else None


SIXTY = ServerConfig(pool=("192.0.2.10", "192.0.2.69"))  # 60 addresses


def test_sixty_discover_only_clients_do_not_lock_out_a_real_client():
    """RFC 2131 §3.1 step 2 lets a server hold an offered address; it does not say for how long. Held for
    ``offer_hold`` (60 s) when addresses are free, an offer is taken back for a newcomer once the pool is full
    and the offer is ``offer_min_hold`` (5 s) old: enough for an honest client, which REQUESTs at once."""
    server = DhcpServer(SIXTY)
    for t in range(10):  # 60 clients DISCOVER every second and never REQUEST
        assert all(discover(server, 1000 + i, float(t)) is not None for i in range(60))
    assert discover(server, 1, 2.0) is None  # the pool is full and every offer is young: nothing yet
    address = dora(server, 1, 10.0)  # ten seconds in: the oldest offer is taken back for the real client
    assert address is not None
    assert server.store.lease_for(f"hw:{mac(1)}", 10.0).address == address
    for t in range(11, 20):  # the attack goes on; a second real client is served as well, and the first keeps it
        assert all(discover(server, 1000 + i, float(t)) is not None for i in range(59))
    second = dora(server, 2, 20.0)
    assert second is not None and second != address
    assert server.store.lease_for(f"hw:{mac(1)}", 20.0).address == address


def test_a_young_offer_is_never_taken_back():
    """An honest client that got an OFFER a moment ago keeps it, whatever floods in after it."""
    server = DhcpServer(SIXTY)
    for i in range(59):
        discover(server, 1000 + i, 0.0)
    honest = discover(server, 1, 9.0)
    assert honest is not None
    for i in range(100):  # a flood of new MACs right after: they may take the old offers, not this one
        discover(server, 2000 + i, 10.0)
    request = Message.request(mac=mac(1), xid=1, requested_ip=honest.yiaddr, server_id=SERVER_IP)
    replies = [e for e in server.receive(request, now=11.0) if not isinstance(e, Note)]
    assert [r.message.message_type.name for r in replies] == ["ACK"]


def test_one_mac_with_many_client_ids_holds_one_offer():
    """Per-MAC cap: option 61 makes a new client of every DISCOVER (RFC 2131 §4.2), but not a new machine."""
    server = DhcpServer(SIXTY)
    offers = [discover(server, 7, 0.0, client_id=bytes([0, i])) for i in range(60)]
    assert len([o for o in offers if o is not None]) == 1
    assert dora(server, 1, 0.0) is not None  # the rest of the pool is free
    later = discover(server, 7, 6.0, client_id=b"\x00\xff")  # past the minimum hold it replaces its own offer
    assert later is not None and len([o for o in server.store.offers.values() if o.mac == mac(7)]) == 1


def test_one_relay_holds_at_most_half_the_pool_in_offers():
    """Per-relay cap: a flood behind one relay (giaddr) leaves room for the clients on the other links."""
    server = DhcpServer(SIXTY)
    behind = [discover(server, 1000 + i, 0.0, giaddr="192.0.2.254") for i in range(60)]
    assert sum(o is not None for o in behind) == 30
    assert dora(server, 1, 0.0) is not None  # a client on the server's own link, at once
    other = Message.discover(mac=mac(2), xid=2)
    other.giaddr = "192.0.2.253"  # another relay on the network
    assert [e for e in server.receive(other, now=0.0) if not isinstance(e, Note)]


# Sixty clients on the link, each sending a DISCOVER every second and never a REQUEST: the frames are
# written on a packet socket (source 0.0.0.0:68, as a client with no address sends them), chaddr made up.
DISCOVER_ONLY = r"""
import sys, time
from refimpl.dhcp.message import Message
from refimpl.sockets.rawlink import PacketSocket

ifname, clients, seconds, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
giaddr = sys.argv[5] if len(sys.argv) > 5 else ""
link = PacketSocket(ifname, ethertype=0)
if giaddr:  # a fake relay: unicast from giaddr:67 to the server
    import socket
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((giaddr, 67))
end, sent = time.monotonic() + seconds, 0
with open(out, "a", buffering=1) as log:
    while time.monotonic() < end:
        for i in range(clients):
            msg = Message.discover(mac=f"02:aa:00:00:{i >> 8:02x}:{i & 255:02x}", xid=0x5000 + i)
            if giaddr:
                msg.giaddr = giaddr
                udp.sendto(msg.encode(), ("192.0.2.1", 67))
            else:
                link.send_udp("ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", 68, 67, msg.encode())
            sent += 1
        log.write(f"round {sent // clients}\n")
        time.sleep(1.0)
"""


def rounds(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def udhcpc_once(client, c_if: str, script: Path, tries: int) -> tuple[int, float, str]:
    """udhcpc: ``tries`` DISCOVERs one second apart, then give up; (exit code, seconds it took, its output)."""
    start = time.monotonic()
    r = client.run(["udhcpc", "-n", "-q", "-i", c_if, "-s", str(script), "-t", str(tries), "-T", "1"], timeout=60)
    return r.returncode, time.monotonic() - start, r.stdout + r.stderr


@pytest.mark.needs_root
@pytest.mark.needs_tool
@pytest.mark.slow
@pytest.mark.parametrize("via", ["link", "relay"])
def test_discover_only_clients_do_not_lock_out_udhcpc(tmp_path, via):
    """Through the real socket driver: 60 clients that never REQUEST hold a 60-address pool (before the fix,
    for good: each DISCOVER renewed its 60 s hold). udhcpc on the same link is served during the attack and,
    with another MAC, after it. ``relay``: the sixty come through a fake relay (giaddr 192.0.2.2) instead."""
    need_lab("udhcpc")
    script, events_file = client_script(tmp_path, UDHCPC_SCRIPT)
    leases = tmp_path / "leases.csv"
    progress = tmp_path / "attack.log"
    attack_py = tmp_path / "discover_only.py"
    attack_py.write_text(DISCOVER_ONLY)
    with two_hosts(f"dos{via}", b_address="192.0.2.2/24" if via == "relay" else None) as (server, client, s_if, c_if):
        args = ["--interface", s_if, "--server-ip", "192.0.2.1", "--pool", "192.0.2.10-192.0.2.69"]
        srv, log = start_server(server, tmp_path, *args, "--lease-file", str(leases), "--quiet")
        argv = [PY, str(attack_py), c_if, "60", "40", str(progress)] + (["192.0.2.2"] if via == "relay" else [])
        attack = client.run(argv, background=True)
        wait_until(lambda: rounds(progress) >= 2, 15, "two rounds of the attack")
        if via == "relay":
            client.ip("-4", "addr", "flush", "dev", c_if)  # udhcpc is a client with no address on that link
        code, took, output = udhcpc_once(client, c_if, script, tries=12)
        assert code == 0, f"no lease during the attack after {took:.1f} s: {output}"
        assert attack.poll() is None  # the attack was still going on
        during = [e for e in events(events_file) if e.startswith("bound")]
        attack.terminate()
        attack.wait(timeout=10)
        client.ip("link", "set", c_if, "address", "02:bb:00:00:00:02")  # another machine, after the attack
        code, took_after, output = udhcpc_once(client, c_if, script, tries=12)
        assert code == 0, f"no lease after the attack: {output}"
        after = [e for e in events(events_file) if e.startswith("bound")]
        assert stop(srv) == 0
    assert len(during) == 1 and len(after) == 2 and during[0].split()[1] != after[1].split()[1], after
    bound = {r.hwaddr: r.address for r in LeaseFile(leases).replay() if r.state == "bound"}
    assert len(bound) == 2 and "02:bb:00:00:00:02" in bound, bound
    print(f"{via}: udhcpc bound in {took:.1f} s during the attack, {took_after:.1f} s after it")


def test_repeated_discovers_do_not_grow_memory():
    """A repeated DISCOVER renews its offer's hold. Before, each one also left an entry in the heap of offer
    expiries for ``offer_hold`` seconds: 12,000 DISCOVERs a second from 60 clients kept 720,000 of them (tens
    of MB). Now each offer has one entry, queued again when it comes up after a renewal."""
    server = DhcpServer(SIXTY)
    discovers = [Message.discover(mac=mac(1000 + i), xid=i).encode() for i in range(60)]
    for step in range(500):
        for data in discovers:
            server.receive(data, now=step * 0.01)
    assert len(server.store.offers) == 60
    assert len(server.store._offer_heap) <= 2 * 60, len(server.store._offer_heap)
    assert discover(server, 1, 64.0) is not None  # renewed offers still lapse offer_hold after the last DISCOVER
    assert all(o.expire == 64.0 + SIXTY.offer_hold for o in server.store.offers.values() if o.key == f"hw:{mac(1)}")
    assert len(server.store.offers) <= 60
