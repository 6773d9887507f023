"""The DHCP server driver under overload: a drain answers REQUESTs first and sheds old DISCOVERs.

No clock decides these tests: the driver gets stand-in sockets (a queue of
datagrams to read, a list of what it sent) and a fake work clock that moves
one step per look, so how many DISCOVERs fit in a drain's budget is exact.
The lease file is a real file: every ACK must find its lease written and
fsynced before it leaves (the promise of refimpl.dhcp.leasefile, rule 1).
"""

from __future__ import annotations

import itertools
import os

import pytest

from refimpl.dhcp import Message
from refimpl.dhcp.leasefile import LeaseFile
from refimpl.dhcp.options import MessageType
from refimpl.dhcp.server import DhcpServer, ServerConfig
from refimpl.sockets import dhcp as driver_module
from refimpl.sockets.dhcp import CLOCK_EVERY, DRAIN, DRAIN_BUDGET, LineLog, ServerDriver

RELAY = "198.51.100.2"  # replies go to giaddr:67 through ordinary UDP (RFC 2131 §4.1)


class FakeUdp:
    """A non-blocking UDP socket: recvmsg pops queued datagrams; sendto records (and may check) replies."""

    def __init__(self):
        self.queue: list[bytes] = []
        self.sent: list[Message] = []
        self.on_send = None

    def recvmsg(self, bufsize, ancbufsize):
        if not self.queue:
            raise BlockingIOError
        return self.queue.pop(0), [], 0, (RELAY, 67)

    def sendto(self, data, address):
        reply = Message.decode(data)
        if self.on_send is not None:
            self.on_send(reply)
        self.sent.append(reply)
        return len(data)

    def close(self):
        pass


class FakeLink:
    def send_udp(self, *args):
        raise AssertionError("relayed replies go by UDP to giaddr, not as frames")

    def close(self):
        pass


def mac(n: int) -> str:
    return f"02:00:00:00:{n >> 8:02x}:{n & 255:02x}"


def relayed(message: Message) -> bytes:
    message.giaddr = RELAY
    return message.encode()


def discover(n: int, xid: int) -> bytes:
    return relayed(Message.discover(mac=mac(n), xid=xid))


def request(offer: Message) -> bytes:
    return relayed(
        Message.request(mac=offer.mac, xid=offer.xid, requested_ip=offer.yiaddr, server_id=offer.get("server_id"))
    )


@pytest.fixture
def driver(tmp_path):
    config = ServerConfig(
        server_ip="198.51.100.1",
        network="198.51.100.0/24",
        pool=("198.51.100.10", "198.51.100.250"),
        lease_file=str(tmp_path / "leases.csv"),
        offers_per_relay=241,  # the whole pool: this test is about the drain, not that cap
    )
    udp = FakeUdp()
    d = ServerDriver(
        DhcpServer(config), "eth-test", log=LineLog(open(os.devnull, "w"), quiet=True), udp=udp, link=FakeLink()
    )
    yield d
    d.close()


def fake_work_clock(steps_per_budget: int):
    """A clock that moves DRAIN_BUDGET / steps_per_budget each time it is read."""
    ticks = itertools.count()
    return lambda: next(ticks) * DRAIN_BUDGET / steps_per_budget


def offers_for(driver: ServerDriver, clients: range) -> list[Message]:
    driver.udp.queue += [discover(n, xid=0x1000 + n) for n in clients]
    driver.work_clock = fake_work_clock(10**6)  # budget to spare
    driver._readable()
    offers = [m for m in driver.udp.sent if m.message_type == MessageType.OFFER]
    driver.udp.sent.clear()
    assert len(offers) == len(clients)
    return offers


def test_a_burst_larger_than_one_drain_is_answered_request_first(driver):
    offers = offers_for(driver, range(100))
    # The burst: DRAIN + 200 datagrams. The 100 REQUESTs that complete those
    # exchanges come late in it, behind DISCOVERs of 200 other clients sent again and again.
    burst = [discover(100 + k % 140, xid=0x20000 + k) for k in range(DRAIN + 100)]
    for k, offer in enumerate(offers):  # 60 REQUESTs inside the first drain, 40 in the second
        burst.insert(DRAIN - 60 + k if k < 60 else len(burst), request(offer))
    assert len(burst) == DRAIN + 200
    driver.udp.queue += burst
    driver.work_clock = fake_work_clock(11)  # 10 looks at the clock within budget: 10 * CLOCK_EVERY DISCOVERs
    driver._readable()  # the first drain: DRAIN datagrams
    first = list(driver.udp.sent)
    assert len(driver.udp.queue) == 200  # a drain reads at most DRAIN
    driver.udp.sent.clear()
    driver.work_clock = fake_work_clock(11)
    driver._readable()  # the second: the rest
    second = list(driver.udp.sent)
    assert not driver.udp.queue

    room = 10 * CLOCK_EVERY  # DISCOVERs answered per drain
    for sent, requests in ((first, 60), (second, 40)):
        kinds = [m.message_type for m in sent]
        # Every REQUEST of the drain was ACKed, and every ACK left before any OFFER.
        assert kinds == [MessageType.ACK] * requests + [MessageType.OFFER] * room, kinds
    # The DISCOVERs answered are the newest of their drain, newest first; the rest were shed.
    first_xids = [m.xid for m in first if m.message_type == MessageType.OFFER]
    assert first_xids == [0x20000 + k for k in range(DRAIN - 61, DRAIN - 61 - room, -1)]
    second_xids = [m.xid for m in second if m.message_type == MessageType.OFFER]
    assert second_xids == [0x20000 + k for k in range(DRAIN + 99, DRAIN + 99 - room, -1)]
    assert driver.stats["shed"] == (DRAIN - 60 - room) + (160 - room)  # each drain's DISCOVERs less those answered
    acked = {m.xid for m in first + second if m.message_type == MessageType.ACK}
    assert acked == {offer.xid for offer in offers}


def test_without_overload_every_discover_is_answered(driver):
    """A drain that fits in its budget sheds nothing: the policy only acts under overload."""
    driver.udp.queue += [discover(n, xid=n) for n in range(50)]
    driver.work_clock = fake_work_clock(1000)
    driver._readable()
    assert sorted(m.xid for m in driver.udp.sent) == list(range(50))
    assert "shed" not in driver.stats


def test_requests_are_answered_even_when_the_budget_is_gone(driver):
    """REQUESTs are never shed: a drain whose REQUESTs use up the budget still ACKs them all."""
    offers = offers_for(driver, range(30))
    driver.udp.queue += [discover(50 + n, xid=0x500 + n) for n in range(20)] + [request(o) for o in offers]
    driver.work_clock = fake_work_clock(1)  # the budget is over at the first look
    driver._readable()
    assert [m.message_type for m in driver.udp.sent] == [MessageType.ACK] * 30
    assert driver.stats["shed"] == 20


def test_every_ack_leaves_after_its_lease_is_written_and_fsynced(driver, monkeypatch):
    path = driver.server.store.file.path
    synced = [0]  # the file's size at the last fsync

    real_fsync = os.fsync

    def fsync(fd):
        real_fsync(fd)
        synced[0] = os.fstat(fd).st_size

    monkeypatch.setattr(os, "fsync", fsync)
    checked = []

    def check(reply: Message) -> None:
        if reply.message_type != MessageType.ACK:
            return
        text = open(path).read()
        line = f"{reply.yiaddr},{reply.mac},"
        at = text.find(line)
        assert at >= 0, f"ACK of {reply.yiaddr} sent before its lease was in the file"
        end = text.index("\n", at) + 1
        assert synced[0] >= end, f"ACK of {reply.yiaddr} sent before its lease was fsynced"
        checked.append(reply.yiaddr)

    driver.udp.on_send = check
    offers = offers_for(driver, range(120))
    driver.udp.queue += [request(o) for o in offers] + [discover(200 + n, xid=n) for n in range(50)]
    driver.work_clock = fake_work_clock(10**6)
    driver._readable()
    assert len(checked) == 120
    # After a restart the file gives back every ACKed lease.
    replayed = {record.address for record in LeaseFile(path).replay()}
    assert set(checked) <= replayed


def test_the_drain_bound_is_what_the_docstring_says(driver):
    import time

    assert driver.work_clock is time.thread_time  # CPU time: waiting for a core is no reason to shed
    assert driver_module.DRAIN >= 256 and 0 < driver_module.DRAIN_BUDGET <= 0.05
    assert "REQUEST" in ServerDriver._readable.__doc__ and "worth more" in ServerDriver._readable.__doc__
