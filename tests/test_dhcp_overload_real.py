"""The overload policy on real sockets: a burst queued in the kernel is answered REQUEST-first.

The server (``python -m refimpl dhcp-server``) is stopped with SIGSTOP while a
"relay" in another namespace queues a burst larger than one drain in its
socket: DISCOVERs of many clients, with the REQUESTs that complete 100 earlier
exchanges late in it. After SIGCONT the first drain reads exactly ``DRAIN``
datagrams, so the order of the replies says what the server chose. Not timed:
how many DISCOVERs fit in the budget varies with the machine, what is asserted
does not.
"""

from __future__ import annotations

import json
import sys

import pytest

from refimpl.sockets.dhcp import DRAIN

BURST = r"""
import json, os, signal, socket, sys, time
sys.path.insert(0, sys.argv[4])
from refimpl.dhcp import Message
from refimpl.dhcp.options import MessageType

server_pid, drain, relay = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
sock.bind((relay, 67))  # a relay agent: the server answers to giaddr:67 (RFC 2131 §4.1)
sock.settimeout(2.0)


def relayed(m):
    m.giaddr = relay
    return m.encode()


def mac(n):
    return f"02:00:00:00:{n >> 8:02x}:{n & 255:02x}"


def replies(count=None, quiet=2.0, limit=30.0):
    got, end = [], time.monotonic() + limit
    sock.settimeout(quiet)
    while time.monotonic() < end and (count is None or len(got) < count):
        try:
            got.append(Message.decode(sock.recv(4096)))
        except socket.timeout:
            break
    return got


for n in range(100):
    sock.sendto(relayed(Message.discover(mac=mac(n), xid=0x1000 + n)), ("192.0.2.1", 67))
    time.sleep(0.002)
offers = [m for m in replies(100) if m.message_type == MessageType.OFFER]
burst = [relayed(Message.discover(mac=mac(100 + k % 140), xid=0x20000 + k)) for k in range(drain + 100)]
for k, o in enumerate(offers):  # 60 REQUESTs inside the first drain, the rest in the second
    r = relayed(Message.request(mac=o.mac, xid=o.xid, requested_ip=o.yiaddr, server_id=o.get("server_id")))
    burst.insert(drain - 60 + k if k < 60 else len(burst), r)
os.kill(server_pid, signal.SIGSTOP)
try:
    for data in burst:
        sock.sendto(data, ("192.0.2.1", 67))
finally:
    os.kill(server_pid, signal.SIGCONT)
got = replies()
print(json.dumps({
    "offers": [o.xid for o in offers],
    "requested": [o.xid for o in offers],
    "replies": [[m.message_type.name, m.xid, m.yiaddr] for m in got],
}))
"""


@pytest.mark.needs_root
@pytest.mark.needs_tool
def test_a_burst_queued_in_the_kernel_is_answered_request_first(tmp_path):
    from dhcp_real_harness import need_lab, start_server, stop

    from refimpl.dhcp.leasefile import LeaseFile
    from refimpl.lab.netns import two_hosts

    need_lab()
    script = tmp_path / "burst.py"
    script.write_text(BURST)
    root = str(__import__("pathlib").Path(__file__).resolve().parents[1])
    leases = tmp_path / "leases.csv"
    with two_hosts("ovl", b="relay", b_address="192.0.2.2/24") as (server, relay, s_if, _):
        srv, log = start_server(
            server,
            tmp_path,
            "--interface",
            s_if,
            "--server-ip",
            "192.0.2.1",
            "--pool",
            "192.0.2.10-192.0.2.250",
            "--offers-per-relay",
            "241",
            "--lease-file",
            str(leases),
            "--quiet",
        )
        try:
            result = relay.run([sys.executable, str(script), str(srv.pid), str(DRAIN), "192.0.2.2", root], timeout=90)
        finally:
            code = stop(srv)
        assert result.returncode == 0, result.stderr
        assert code == 0, log.read_text()[-500:]
    out = json.loads(result.stdout)
    assert len(out["offers"]) == 100
    replies = out["replies"]
    kinds = [kind for kind, _, _ in replies]
    # The first drain: its 60 REQUESTs were all ACKed, in arrival order, before any of its DISCOVERs got an OFFER.
    assert kinds[:60] == ["ACK"] * 60, kinds[:65]
    assert [xid for _, xid, _ in replies[:60]] == out["requested"][:60]
    # Then its OFFERs, newest first, as many as the drain's CPU budget allowed (maybe none on a busy machine),
    # until the second drain begins with the ACKs of its 40 REQUESTs.
    second = next((i for i in range(60, len(kinds)) if kinds[i] == "ACK"), len(kinds))
    drain_one = [xid for kind, xid, _ in replies[60:second]]
    assert set(kinds[60:second]) <= {"OFFER"}
    assert drain_one == sorted(drain_one, reverse=True), "OFFERs go newest first"
    if drain_one:
        assert drain_one[0] == 0x20000 + DRAIN - 61, "the newest DISCOVER of the drain is answered first"
    assert kinds[second : second + 40] == ["ACK"] * 40, kinds[second : second + 45]
    # Every REQUEST of the burst was ACKed, and every ACKed lease is in the lease file.
    acked = {xid: address for kind, xid, address in replies if kind == "ACK"}
    assert set(acked) == set(out["requested"])
    on_disk = {record.address for record in LeaseFile(leases).replay()}
    assert set(acked.values()) <= on_disk
    offered = kinds.count("OFFER")
    assert offered < DRAIN + 100, "a burst this size overloads one drain's budget"
    assert "overloaded: dropped DHCPDISCOVERs" in log.read_text(), "shedding is logged"
