"""RFC 7440 (windowsize) in the TFTP core: negotiation, windows, loss, the wrap, and attacks.

Each test names the rule it holds. The transfers run through tests/tftp_loop.py
(fixed latency, fake clock), so timeouts cost nothing.
"""

from __future__ import annotations

import io
import random

import pytest
from tftp_loop import (
    CLIENT,
    SERVER_IP,
    Loop,
    Recording,
    accept,
    blocks,
    content,
    run_get,
    run_put,
    serve,
    uploads,
)

from refimpl.tftp import Ack, Data, Opcode, OptionAck, Receiver, Request, Send, Sender, Settings, get, put
from refimpl.tftp.options import MAX_WINDOW_BYTES, OptionRefused, client_accepts, server_accepts


def grant(requested: dict, *, max_windowsize: int | None = 64, blksize: str | None = None) -> tuple[dict, Settings]:
    if blksize is not None:
        requested = {**requested, "blksize": blksize}
    return server_accepts(
        requested, reading=True, netascii=False, file_size=10, default_timeout=1.0, max_windowsize=max_windowsize
    )


def sends(effects) -> list[Send]:
    return [e for e in effects if isinstance(e, Send)]


def data_blocks(effects) -> list[int]:
    return [s.packet.block for s in sends(effects) if isinstance(s.packet, Data)]


# -- negotiation (RFC 7440 §3) -------------------------------------------------------------------
@pytest.mark.parametrize("value, granted", [("1", 1), ("4", 4), ("64", 64), ("65535", 64), ("0016", 16)])
def test_server_grants_a_windowsize_no_larger_than_asked(value, granted):
    """RFC 7440 §3: "The specified value MUST be less than or equal to the value specified by the client"."""
    accepted, settings = grant({"windowsize": value})
    assert accepted == {"windowsize": str(granted)} and settings.windowsize == granted
    assert client_accepts({"windowsize": value}, accepted, reading=True, default_timeout=1.0).windowsize == granted


@pytest.mark.parametrize("value", ["0", "65536", "-1", "+4", " 4", "4 ", "four", "", "4.0", "9" * 5000, "٤"])
def test_an_invalid_windowsize_is_left_out_and_the_transfer_is_lock_step(value):
    """RFC 7440 §3: "The valid values range MUST be between 1 and 65535 blocks, inclusive"; an invalid
    value is not acknowledged (RFC 2347: the option is left out), so the window stays 1."""
    accepted, settings = grant({"windowsize": value})
    assert accepted == {} and settings.windowsize == 1


def test_a_server_that_does_not_know_windowsize_leaves_it_out():
    """RFC 2347: options a server does not know are left out of the OACK; the client then runs lock-step."""
    accepted, settings = grant({"windowsize": "8", "blksize": "1024"}, max_windowsize=None)
    assert accepted == {"blksize": "1024"} and settings.windowsize == 1
    loop, client, into = run_get(serve({"f": content(5000)}, max_windowsize=None), "f", windowsize=8)
    assert client.ok and into.getvalue() == content(5000) and client.settings.windowsize == 1
    assert [s.packet.block for s in loop.log if s.kind == "ACK"] == list(range(1, blocks(5000) + 1))


def test_the_window_bytes_cap_shrinks_the_window_for_big_blocks():
    """Our policy: at most 64 KiB per window (a window's tail beyond the receiver's socket buffer is lost),
    and never less than 1 block."""
    assert MAX_WINDOW_BYTES == 65536
    for blksize, window in (("512", 64), ("1428", 45), ("8192", 8), ("65464", 1)):
        accepted, settings = grant({"windowsize": "64"}, blksize=blksize)
        assert settings.windowsize == window and accepted["windowsize"] == str(window), blksize


@pytest.mark.parametrize("answer", ["9", "0", "65536", "x", ""])
def test_the_client_refuses_a_larger_or_invalid_windowsize(answer):
    """RFC 7440 §3: "The client MUST then either use the size specified in the OACK or send an ERROR
    packet, with error code 8, to terminate the transfer"; a larger or invalid one cannot be used."""
    with pytest.raises(OptionRefused, match="windowsize"):
        client_accepts({"windowsize": "8"}, {"windowsize": answer}, reading=True, default_timeout=1.0)
    client = get("f", io.BytesIO(), SERVER_IP, windowsize=8)
    client.start(now=0.0)
    effects = client.receive(OptionAck({"windowsize": answer}).encode(), (SERVER_IP, 50001), now=0.1)
    assert [(s.packet.code, s.to) for s in sends(effects)] == [(8, (SERVER_IP, 50001))] and client.finished


@pytest.mark.parametrize("windowsize", [0, 65536, -3])
def test_our_client_cannot_ask_for_an_invalid_windowsize(windowsize):
    """RFC 7440 §3: 1 to 65535; the request is refused before it goes out."""
    with pytest.raises(ValueError, match="windowsize"):
        get("f", io.BytesIO(), SERVER_IP, windowsize=windowsize)
    with pytest.raises(ValueError, match="windowsize"):
        put("f", io.BytesIO(b"x"), SERVER_IP, windowsize=windowsize)


# -- windows without loss (RFC 7440 §4, figure 1) ----------------------------------------------------
@pytest.mark.parametrize("size", [0, 100, 512 * 4 - 1, 512 * 4, 512 * 8, 512 * 10 + 7])
def test_get_sends_windows_and_acks_only_their_last_block(size):
    """RFC 7440 §4: the sender sends the windowsize blocks "before normally stopping and waiting for the ACK
    of the transferred window", and the receiver sends "the ACK of the last data block of the window";
    the final short block is acknowledged at once."""
    data = content(size)
    loop, client, into = run_get(serve({"f": data}), "f", windowsize=4)
    assert client.ok and into.getvalue() == data and len(into.writes) == blocks(size)
    last = blocks(size)
    acks = [s.packet.block for s in loop.log if s.kind == "ACK"]
    assert acks == [0, *range(4, last, 4), last] or acks == [0, *range(4, last + 1, 4)]
    assert acks[-1] == last and loop.data_blocks_sent() == list(range(1, last + 1))
    # the first window leaves before any ACK of data: DATA 1-4 back to back
    kinds = loop.kinds()
    assert kinds[:3] == ["RRQ", "OACK", "ACK"] and kinds[3 : 3 + min(4, last)] == ["DATA"] * min(4, last)


def test_put_sends_windows_the_other_way():
    """RFC 7440 §4 applies to whichever side sends the DATA: here the client (WRQ)."""
    data = content(512 * 9 + 3)
    files, server = uploads()
    loop, client, _ = run_put(server, "up.bin", data, windowsize=4)
    assert client.ok and files["up.bin"] == data
    assert [s.packet.block for s in loop.log if s.kind == "ACK"] == [4, 8, 10]  # OACK stands for ACK 0
    assert [len(u.writes) for u in files.uploads] == [10]


def test_windowsize_1_is_the_lock_step_of_rfc_1350():
    """RFC 7440 §4: "Traffic with windowsize = 1 MUST be equivalent to traffic specified by [RFC1350]":
    after the OACK and ACK 0, the same DATA and ACK, one for one, as with no option at all."""
    data = content(3000)
    plain, _, _ = run_get(serve({"f": data}), "f")
    one, client, into = run_get(serve({"f": data}), "f", windowsize=1)
    assert client.ok and into.getvalue() == data and client.settings.windowsize == 1
    wire = lambda loop: [(s.kind, s.packet.block) for s in loop.log if s.kind in ("DATA", "ACK")]  # noqa: E731
    assert wire(one) == [("ACK", 0), *wire(plain)]


def test_a_window_larger_than_the_file_is_one_window():
    """RFC 7440 §4: the window ends early with the short block; its ACK ends the transfer."""
    loop, client, into = run_get(serve({"f": content(1500)}), "f", windowsize=16)
    assert client.ok and into.getvalue() == content(1500)
    assert [(s.kind, s.packet.block) for s in loop.log if s.kind in ("DATA", "ACK")] == [
        ("ACK", 0),
        ("DATA", 1),
        ("DATA", 2),
        ("DATA", 3),
        ("ACK", 3),
    ]


# -- loss (RFC 7440 §4, figure 2) ---------------------------------------------------------------------
def test_a_lost_block_inside_a_window_is_sent_again_from_the_gap():
    """RFC 7440 §4: the DRCV SHOULD ACK "the last data block correctly received", and the DSND's
    "new data block window ... MUST be set based on the ACK received out of sequence"."""
    # packets: 0 RRQ, 1 OACK, 2 ACK 0, 3-6 DATA 1-4; lose DATA 3 (#5)
    loop, client, into = run_get(serve({"f": content(512 * 12)}), "f", windowsize=4, loop=Loop(drop={5}))
    assert client.ok and into.getvalue() == content(512 * 12) and len(into.writes) == 13
    wire = [(s.kind, s.packet.block) for s in loop.log[3:13]]
    assert wire == [
        ("DATA", 1),
        ("DATA", 2),
        ("DATA", 3),  # lost
        ("DATA", 4),  # the gap: the client ACKs 2, once
        ("ACK", 2),
        ("DATA", 3),  # the new window starts after the ACKed block
        ("DATA", 4),
        ("DATA", 5),
        ("DATA", 6),
        ("ACK", 6),
    ]
    assert loop.log[12].time < 0.1  # recovered at once, no timeout


def test_a_lost_first_block_costs_one_timeout_and_no_window_twice():
    """RFC 1123 §4.2.3.1 over RFC 7440 §4's SHOULD (our policy): the gap's ACK repeats the last ACK, which
    the sender ignores; its timer sends the window again after one timeout. No block goes three times."""
    # packets: 0 RRQ, 1 OACK, 2 ACK 0, 3-6 DATA 1-4, 7 ACK 4, 8-11 DATA 5-8; lose DATA 5 (#8)
    loop, client, into = run_get(serve({"f": content(512 * 12)}), "f", windowsize=4, loop=Loop(drop={8}))
    assert client.ok and into.getvalue() == content(512 * 12) and len(into.writes) == 13
    sent = loop.data_blocks_sent()
    assert sent[:12] == [1, 2, 3, 4, 5, 6, 7, 8, 5, 6, 7, 8] and max(sent.count(b) for b in set(sent)) == 2
    assert any("duplicate ACK 4: ignored" in text for _, text in loop.notes)
    resent = [s for s in loop.log if s.kind == "DATA" and s.packet.block == 5][1]
    assert resent.time >= 1.0  # one timeout


def test_a_lost_window_ack_makes_the_window_go_again_and_nothing_is_stored_twice():
    """RFC 7440 §4: on a timeout "the last received ACK SHALL set the beginning of the next windowsize data
    block window"; the receiver answers the repeat of its last ACKed block with that ACK again."""
    files, server = uploads()
    data = content(512 * 10)
    # put: 0 WRQ, 1 OACK, 2-5 DATA 1-4, 6 ACK 4 (lost)
    loop, client, _ = run_put(server, "up", data, windowsize=4, loop=Loop(drop={6}))
    assert client.ok and files["up"] == data
    assert [len(u.writes) for u in files.uploads] == [blocks(len(data))]  # each block stored once
    assert loop.data_blocks_sent()[:8] == [1, 2, 3, 4, 1, 2, 3, 4]


@pytest.mark.parametrize("direction", ["get", "put"])
def test_any_one_lost_packet_is_recovered(direction):
    """RFC 7440 §4 and RFC 1350 §2: with windows of 4, losing any single packet still brings the exact file,
    each block stored once."""
    data = content(512 * 9 + 100)
    for k in range(0, 30):
        if direction == "get":
            loop, client, into = run_get(serve({"f": data}), "f", windowsize=4, loop=Loop(drop={k}))
            got, writes = into.getvalue(), len(into.writes)
        else:
            files, server = uploads()
            loop, client, _ = run_put(server, "up", data, windowsize=4, loop=Loop(drop={k}))
            got, writes = files.files.get("/up"), sum(len(u.writes) for u in files.uploads if u.writes)
        assert client.ok and got == data and writes == blocks(len(data)), k


@pytest.mark.parametrize("seed", range(8))
def test_random_loss_and_duplicates_bring_the_exact_file(seed):
    """RFC 7440 §4 under 15 % loss and some duplicated packets: the file arrives whole, each block stored once."""
    rng = random.Random(seed)
    data = content(512 * 40 + 11)
    drop = {n for n in range(400) if rng.random() < 0.15}
    duplicate = {n for n in range(400) if rng.random() < 0.05} - drop
    loop = Loop(drop=drop, duplicate=duplicate)
    loop, client, into = run_get(serve({"f": data}, max_retries=10), "f", windowsize=8, max_retries=10, loop=loop)
    assert client.ok and into.getvalue() == data and len(into.writes) == blocks(len(data))


def _near_the_wrap(transfer):
    transfer.block = 65533  # the next block is 65534, then 65535, 0, 1, ...


def test_block_numbers_wrap_inside_a_window():
    """RFC 1350 §5's 2-byte block numbers wrap after 65535 (to 0, as tftpd-hpa and curl do), inside a
    window too; with any one packet lost around the wrap."""
    data = content(50)  # 7 blocks of 8: 65534, 65535, 0, 1, 2, 3, 4
    for k in range(-1, 12):
        server_address = (SERVER_IP, 50001)
        sink = Recording()
        settings = Settings(blksize=8, windowsize=4)
        receiver = Receiver(sink, CLIENT, settings=settings)
        sender = Sender(io.BytesIO(data), server_address, settings=settings)
        _near_the_wrap(receiver), _near_the_wrap(sender)
        loop = Loop(drop={k})
        loop.add(server_address, receiver, start=False)
        loop.add(CLIENT, sender)
        loop.run()
        assert sender.ok and receiver.ok and sink.getvalue() == data and len(sink.writes) == 7, k
        if k == -1:
            assert [(s.kind, s.packet.block) for s in loop.log] == [
                *[("DATA", b) for b in (65534, 65535, 0, 1)],
                ("ACK", 1),
                *[("DATA", b) for b in (2, 3, 4)],
                ("ACK", 4),
            ]


# -- attacks -----------------------------------------------------------------------------------------
def _server_sender(windowsize: int = 4, size: int = 512 * 20):
    """A server transfer after its OACK, ACK 0 received: the first window is out."""
    request = Request(Opcode.RRQ, "f", "octet", {"windowsize": str(windowsize)}).encode()
    transfer, _ = accept(serve({"f": content(size)}), request, CLIENT)
    transfer.start(now=0.0)
    first = transfer.receive(Ack(0).encode(), CLIENT, now=0.01)
    return transfer, first


def test_a_duplicate_ack_storm_sends_nothing():
    """RFC 1123 §4.2.3.1 ("must never resend the current DATA packet on receipt of a duplicate ACK"), with
    windows: 1000 copies of an ACK that acknowledges nothing new bring no DATA at all."""
    transfer, first = _server_sender()
    assert data_blocks(first) == [1, 2, 3, 4]
    window = transfer.receive(Ack(4).encode(), CLIENT, now=0.02)
    assert data_blocks(window) == [5, 6, 7, 8]
    storm = []
    for i in range(1000):
        storm += transfer.receive(Ack(4).encode(), CLIENT, now=0.03 + i * 1e-5)
    assert sends(storm) == [] and not transfer.finished


def test_acks_stepping_through_the_window_bring_at_most_one_window_each():
    """RFC 7440 §4: an ACK inside the window starts a new window after it; each ACK brings at most
    windowsize blocks, and only an ACK that acknowledges something new brings any."""
    transfer, _ = _server_sender(windowsize=8, size=512 * 200)
    counts = []
    for n in range(1, 60):
        effects = transfer.receive(Ack(n).encode(), CLIENT, now=0.02 + n * 1e-4)
        counts.append(len(data_blocks(effects)))
        assert data_blocks(effects)[:1] == [n + 1]  # the window starts after the ACKed block
    assert max(counts) == 8 and transfer.acked == 59


@pytest.mark.parametrize("block", [5, 100, 40000, 65535])
def test_an_ack_for_a_block_outside_the_window_is_ignored(block):
    """RFC 7440 §4: the window is blocks 1-4; an ACK of a block never sent (or, with 65535, before block 0)
    acknowledges nothing and sends nothing; the transfer goes on."""
    transfer, _ = _server_sender()
    effects = transfer.receive(Ack(block).encode(), CLIENT, now=0.02)
    assert sends(effects) == [] and transfer.acked == 0 and not transfer.finished
    assert data_blocks(transfer.receive(Ack(4).encode(), CLIENT, now=0.03)) == [5, 6, 7, 8]


def test_out_of_order_blocks_bring_at_most_one_ack_per_timeout():
    """RFC 7440 §4's gap ACK, bounded (our policy): a flood of blocks ahead of the gap is answered once per
    timeout, not once per block."""
    client = get("f", Recording(), SERVER_IP, windowsize=8)
    client.start(now=0.0)
    server = (SERVER_IP, 50001)
    client.receive(OptionAck({"windowsize": "8"}).encode(), server, now=0.01)
    client.receive(Data(1, b"x" * 512).encode(), server, now=0.02)
    flood = []
    for i in range(1000):
        flood += client.receive(Data(3 + i % 6, b"y" * 512).encode(), server, now=0.03 + i * 1e-4)
    assert [s.packet for s in sends(flood)] == [Ack(1)]
    later = client.receive(Data(5, b"y" * 512).encode(), server, now=1.5)
    assert [s.packet for s in sends(later)] == [Ack(1)]  # a timeout later, once more


def test_a_forged_ack_0_brings_one_window_and_resends_stay_within_the_budget():
    """Reflection (see refimpl.tftp.server): a forged ACK 0 to the OACK brings one window, and the timer
    sends nothing more to a peer that never acknowledged a DATA block beyond the resend budget."""
    transfer, first = _server_sender(windowsize=64, size=512 * 1000)
    assert len(data_blocks(first)) == 64
    later = []
    now = 0.01
    while not transfer.finished and now < 120:
        now = transfer.get_timer()
        later += transfer.handle_timer(now=now)
    assert transfer.finished and not transfer.ok
    assert sum(len(s.data) for s in sends(later)) <= 1500  # ServerConfig.resend_budget
