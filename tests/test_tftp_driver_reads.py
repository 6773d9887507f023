"""How the TFTP driver reads a transfer's socket: one answered datagram per wake-up, nothing lost.

``TransferSocket._readable`` stops reading after a datagram that made it send
(in lock-step nothing more can be queued yet, and another ``recvfrom`` would
only fail). These tests queue several datagrams at once, as an attacker or a
burst would, and check that every one is still handled: the selector is
level-triggered, so what is left wakes the driver again.
"""

from __future__ import annotations

import asyncio
import io
import socket

from refimpl.sockets.tftp_server import TransferSocket, open_udp
from refimpl.tftp.packets import Ack
from refimpl.tftp.transfer import Send, Sender

HOST = "127.0.0.1"


def _decode(datagram: bytes) -> tuple[int, int]:
    return int.from_bytes(datagram[:2], "big"), int.from_bytes(datagram[2:4], "big")


async def _serve(payload: bytes, script) -> tuple[Sender, list, list]:
    """A Sender of ``payload`` on a real loopback socket; ``script(peer, stranger, port)`` sends the client side."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for sock in (peer, stranger):
        sock.bind((HOST, 0))
        sock.setblocking(False)
    sock = open_udp(HOST)
    transfer = Sender(io.BytesIO(payload), peer.getsockname(), resend_budget=1500)
    ended = asyncio.get_running_loop().create_future()
    running = TransferSocket(transfer, sock, "test", on_end=lambda _: ended.done() or ended.set_result(None))
    try:
        running.start()
        got, strange = await script(peer, stranger, running.port)
        await asyncio.wait_for(ended, 5)
        return transfer, got, strange
    finally:
        running.close()
        peer.close()
        stranger.close()


async def _recv(sock: socket.socket, timeout: float = 2.0) -> bytes:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recv(sock, 65536), timeout)


def test_a_stranger_and_the_real_ack_queued_together_are_both_handled():
    """A stranger's packet is answered with ERROR 5 (a Send: reading stops there); the ACK queued
    behind it must still move the transfer on."""
    payload = bytes(range(256)) * 3  # 768 bytes: DATA 1 (512) and DATA 2 (256)

    async def script(peer, stranger, port):
        got, strange = [await _recv(peer)], []
        assert _decode(got[0]) == (3, 1)
        stranger.sendto(Ack(1).encode(), (HOST, port))  # first in the queue
        peer.sendto(Ack(1).encode(), (HOST, port))  # right behind it
        strange.append(await _recv(stranger))
        got.append(await _recv(peer))
        peer.sendto(Ack(2).encode(), (HOST, port))
        return got, strange

    transfer, got, strange = asyncio.run(_serve(payload, script))
    assert _decode(strange[0])[0] == 5  # ERROR, Unknown transfer ID (RFC 1350 §4)
    assert [_decode(d) for d in got] == [(3, 1), (3, 2)]
    assert b"".join(d[4:] for d in got) == payload
    assert transfer.ok


def test_a_burst_of_duplicate_acks_then_the_next_one_all_read():
    """Twenty old ACKs (each only a note, nothing sent) and then the right one, all queued at once:
    the duplicates are read in the same wake-up and the transfer still ends."""
    payload = b"x" * 1000

    async def script(peer, stranger, port):
        got = [await _recv(peer)]
        peer.sendto(Ack(1).encode(), (HOST, port))
        got.append(await _recv(peer))
        for _ in range(20):
            peer.sendto(Ack(1).encode(), (HOST, port))  # old: RFC 1123 §4.2.3.1, ignored
        peer.sendto(Ack(2).encode(), (HOST, port))
        return got, []

    transfer, got, _ = asyncio.run(_serve(payload, script))
    assert [_decode(d) for d in got] == [(3, 1), (3, 2)]
    assert transfer.ok and transfer.bytes == 1000


def test_a_send_encodes_its_packet_once():
    send = Send(Ack(7), (HOST, 1))
    assert send.data is send.data == b"\x00\x04\x00\x07"
    assert send == Send(Ack(7), (HOST, 1)) and hash(send) == hash(Send(Ack(7), (HOST, 1)))
