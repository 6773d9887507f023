"""TFTP transfers on a bad network: packets lost, delivered twice or late (RFC 1350 §2 and §6,
RFC 1123 §4.2.3.1, RFC 2347), through tests/tftp_loop.py.

The rule under test: whatever single packet is lost or repeated, the file
arrives whole and no block is stored twice; a duplicate ACK is never answered
(the Sorcerer's Apprentice); the receiver of the last block dallies long
enough for the sender's retransmission.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tftp_loop import CLIENT, SERVER_IP, Loop, Recording, blocks, content, run_get, run_put, serve, uploads

from refimpl.tftp import Ack, Data, MemoryFiles, Receiver, Settings, TftpServer

# -- losing and repeating packets ------------------------------------------------------------------------
# (direction, size, client options): each is run once cleanly, then once for every packet of that
# clean run, lost (or delivered twice).
CASES = [
    ("get", 0, {}),
    ("get", 600, {}),
    ("get", 1024, {}),
    ("get", 20, {"blksize": 8}),
    ("get", 1024, {"blksize": 512, "timeout": 2, "ask_size": True}),
    ("put", 0, {}),
    ("put", 600, {}),
    ("put", 1024, {}),
    ("put", 20, {"blksize": 8}),
    ("put", 1024, {"blksize": 512, "timeout": 2, "size": 1024}),
]


def _run(direction: str, size: int, options: dict, loop: Loop):
    data = content(size)
    if direction == "get":
        loop, client, into = run_get(serve({"f": data}), "f", loop=loop, **options)
        assert into.getvalue() == data
        assert len(into.writes) == blocks(size, options.get("blksize", 512)), "a block stored twice"
    else:
        files, server = uploads()
        loop, client, _ = run_put(server, "f", data, loop=loop, **options)
        assert files["f"] == data
        [written] = [u for u in files.uploads if u.writes]  # a second transfer (duplicate WRQ) writes nothing
        assert len(written.writes) == blocks(size, options.get("blksize", 512)), "a block stored twice"
    assert client.ok, client.error
    assert all(t.finished for t in loop.transfers.values())
    return loop, client


def _case_id(case):
    direction, size, options = case
    return f"{direction}-{size}-" + "-".join(f"{k}{v}" for k, v in options.items())


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_losing_any_one_packet_still_moves_the_exact_file(case):
    """RFC 1350 §2, RFC 2347: whichever single packet is lost (requests, OACK, DATA, ACK, the last
    ACK), a timeout resends it, and the file arrives whole with no block stored twice."""
    clean, _ = _run(*case, Loop())
    for k in range(len(clean.log)):
        loop, _ = _run(*case, Loop(drop={k}))
        assert loop.log[k].dropped and len(loop.log) > len(clean.log), k  # something was sent again


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_any_one_packet_delivered_twice_changes_nothing(case):
    """RFC 1350 §2, RFC 1123 §4.2.3.1: a duplicate DATA is ACKed again but not stored; a duplicate ACK
    or OACK is not answered; a duplicate request makes a second transfer that ERROR 5 ends."""
    clean, _ = _run(*case, Loop())
    for k in range(len(clean.log)):
        loop, _ = _run(*case, Loop(duplicate={k}))
        data_sent = loop.data_blocks_sent()
        assert all(data_sent.count(b) <= 2 for b in set(data_sent)), (k, loop.log)


def test_a_lost_data_is_sent_again_after_the_timeout():
    """RFC 1350 §2: "If a packet gets lost ... the sender ... retransmit[s] the last packet" after a timeout."""
    loop, client, into = run_get(serve({"f": content(1000)}, timeout=2.5), "f", loop=Loop(drop={3}))
    again = [s for s in loop.log if s.kind == "DATA" and s.packet.block == 2]
    assert [s.dropped for s in again] == [True, False]
    assert again[1].time - again[0].time == pytest.approx(2.5)


def test_a_lost_request_is_sent_again_to_port_69():
    """RFC 1350 §4: until the server answered, the client repeats its request to the well-known port."""
    loop, client, _ = run_get(serve({"f": b"x"}), "f", loop=Loop(drop={0}), retry_timeout=2.0)
    assert [(s.kind, s.dst, s.time) for s in loop.log[:2]] == [
        ("RRQ", (SERVER_IP, 69), 0.0),
        ("RRQ", (SERVER_IP, 69), 2.0),
    ]
    assert client.ok


def test_a_lost_data_1_on_a_put_with_options_is_not_an_illegal_operation():
    """RFC 2347: a lost DATA 1 makes the server send its OACK again; the client takes it as an old
    ACK 0 (RFC 1123 §4.2.3.1: ignored), resends DATA 1 on its own timeout, and the upload completes."""
    files, server = uploads()
    loop, client, _ = run_put(server, "f", content(700), loop=Loop(drop={2}), blksize=512)
    assert [s.kind for s in loop.log[:5]] == ["WRQ", "OACK", "DATA", "OACK", "DATA"]
    assert "ERROR" not in loop.kinds() and client.ok and files["f"] == content(700)


def test_a_lost_ack_0_on_a_get_with_options_is_acked_again():
    """RFC 2347: a lost ACK 0 makes the server send its OACK again; the client answers ACK 0 again."""
    loop, client, into = run_get(serve({"f": content(700)}), "f", loop=Loop(drop={2}), blksize=512)
    assert [s.kind for s in loop.log[:6]] == ["RRQ", "OACK", "ACK", "OACK", "ACK", "DATA"]
    assert "ERROR" not in loop.kinds() and client.ok and into.getvalue() == content(700)


# -- the Sorcerer's Apprentice ----------------------------------------------------------------------------
def _apprentice(apprentice_bug: bool) -> dict[int, int]:
    """A get of 10 blocks in which DATA 3 is delayed just past the server's timeout: the server sends
    DATA 3 again, the client gets it twice and ACKs it twice. Returns how often each block was sent.

    The client's own timeout is longer, so the only duplicate ACK is the one the delayed DATA causes
    (with equal timeouts the client's repeated ACK 2 makes a third copy of each block under the bug)."""
    server = serve({"f": content(5000)}, timeout=1.0, apprentice_bug=apprentice_bug)
    loop = Loop(delay={5: 1.005})  # packet 5 is DATA 3 (RRQ, DATA 1, ACK 1, DATA 2, ACK 2, DATA 3)
    loop, client, into = run_get(server, "f", loop=loop, retry_timeout=5.0)
    assert loop.log[5].kind == "DATA" and loop.log[5].packet.block == 3
    assert client.ok and into.getvalue() == content(5000)
    sent = loop.data_blocks_sent()
    return {block: sent.count(block) for block in range(1, 11)}


def test_a_duplicate_ack_is_not_answered_so_each_block_goes_at_most_twice():
    """RFC 1123 §4.2.3.1: the sender must not resend DATA on a duplicate ACK; only the delayed block goes twice."""
    assert _apprentice(False) == {1: 1, 2: 1, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1, 9: 1, 10: 1}


def test_the_sorcerers_apprentice_bug_sends_every_later_block_twice():
    """RFC 1123 §4.2.3.1: answering duplicate ACKs (apprentice_bug=True, for the lesson) doubles every
    block from the delayed one on: the difference the lesson shows."""
    assert _apprentice(True) == {1: 1, 2: 1, 3: 2, 4: 2, 5: 2, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2}


def test_a_put_client_ignores_duplicate_acks_too():
    """RFC 1123 §4.2.3.1: the client sending a file follows the same rule as a server."""
    files, server = uploads(timeout=1.0)
    loop = Loop(delay={4: 1.005})  # WRQ, ACK 0, DATA 1, ACK 1, DATA 2 <- delayed past the client's timeout
    loop, client, _ = run_put(server, "f", content(5000), loop=loop)
    assert loop.log[4].kind == "DATA" and loop.log[4].packet.block == 2
    sent = loop.data_blocks_sent()
    assert {b: sent.count(b) for b in range(1, 11)} == {b: 2 if b == 2 else 1 for b in range(1, 11)}
    assert client.ok and files["f"] == content(5000)


# -- the end: dallying -------------------------------------------------------------------------------------
def test_the_last_ack_lost_is_said_again_while_dallying():
    """RFC 1350 §6: the host sending the final ACK dallies; a repeated last DATA (its ACK was lost)
    is ACKed again; after the dally the client is finished, and the server too."""
    clean, _, _ = run_get(serve({"f": content(600)}), "f")
    last_ack = len(clean.log) - 1
    loop, client, into = run_get(serve({"f": content(600)}), "f", loop=Loop(drop={last_ack}))
    assert [s.kind for s in loop.log[last_ack - 1 :]] == ["DATA", "ACK", "DATA", "ACK"]
    assert loop.log[last_ack].dropped and loop.log[last_ack + 1].packet.block == 2
    assert (CLIENT, "DATA 2 again: ACK again, not stored twice") in loop.notes
    assert client.ok and client.finished and loop.server_transfers[0].ok
    assert into.getvalue() == content(600) and len(into.writes) == 2


def test_the_receiver_dallies_two_timeouts_after_the_last_ack_then_finishes():
    """RFC 1350 §6: complete from the last block on, finished only when the dally (two timeouts) is
    over; a repeated last DATA meanwhile is ACKed again and restarts the dally; afterwards, silence."""
    peer = (SERVER_IP, 50001)
    receiver = Receiver(Recording(), peer, settings=Settings(timeout=1.0))
    receiver.start(now=0.0)  # as a server answering a WRQ: ACK 0
    receiver.receive(Data(1, b"short").encode(), peer, now=0.5)
    assert receiver.complete and receiver.ok and not receiver.finished
    assert receiver.get_timer() == pytest.approx(2.5)
    assert receiver.handle_timer(now=1.5) == [] and not receiver.finished  # one timeout is not the end
    again = receiver.receive(Data(1, b"short").encode(), peer, now=1.7)
    assert [e.packet for e in again if hasattr(e, "packet")] == [Ack(1)]
    assert receiver.get_timer() == pytest.approx(3.7)
    assert receiver.handle_timer(now=3.7) == [] and receiver.finished and receiver.ok
    assert receiver.receive(Data(1, b"short").encode(), peer, now=9.0) == []
    assert receiver.file.getvalue() == b"short" and receiver.file.close_calls == 1  # stored once, kept


@pytest.mark.parametrize("direction", ["get", "put"])
def test_the_dally_outlasts_the_senders_retransmission_even_a_little_late(direction):
    """RFC 1350 §6: the sender's timer started one trip before the dally did, so with equal timeouts its
    resent last DATA arrives just as a dally of one timeout ends; a few ms of jitter must not turn a
    lost final ACK into a failed transfer (for a put: a file stored, but the client told it failed)."""
    data = content(600)
    run = run_get if direction == "get" else run_put
    args = ("f",) if direction == "get" else ("g", data)
    clean, _, _ = run(TftpServer(MemoryFiles({"f": data}, writable=True)), *args, retry_timeout=1.0)
    last_ack = len(clean.log) - 1
    # lose the final ACK; the last DATA, sent again after the timeout, is 5 ms late on the way
    loop = Loop(drop={last_ack}, delay={last_ack + 1: 0.005})
    loop, client, _ = run(TftpServer(MemoryFiles({"f": data}, writable=True)), *args, loop=loop, retry_timeout=1.0)
    assert loop.log[last_ack + 1].kind == "DATA"
    assert client.ok, client.error
    assert all(t.ok for t in loop.server_transfers), [t.error for t in loop.server_transfers]
    assert loop.kinds()[-2:] == ["DATA", "ACK"]


# -- any few losses and repeats at once ------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(["get", "put"]),
    st.integers(0, 3000),
    st.sampled_from([None, 8, 512, 1000]),
    st.sets(st.integers(0, 40), max_size=3),
    st.sets(st.integers(0, 40), max_size=3),
)
def test_a_few_losses_and_repeats_anywhere_never_corrupt_the_file(direction, size, blksize, lost, doubled):
    """RFC 1350 §2: with up to three packets lost and three repeated, anywhere, the client's file is exact
    (a get always succeeds); an upload is stored exactly or not at all, and whenever the client says ok,
    the server has it. (Three losses at the very end may outlast the dally: then only the put's client
    cannot know the last ACK came, which RFC 1350 §6 accepts.)"""
    data = content(size)
    loop = Loop(drop=lost, duplicate=doubled)
    if direction == "get":
        loop, client, into = run_get(serve({"f": data}), "f", loop=loop, blksize=blksize)
        assert client.ok, (client.error, loop.log)
        assert into.getvalue() == data and len(into.writes) == blocks(size, blksize or 512)
    else:
        files, server = uploads()
        loop, client, _ = run_put(server, "f", data, loop=loop, blksize=blksize)
        stored = files.files.get("/f")
        assert stored in (None, data)
        assert not client.ok or stored == data, (client.error, loop.log)
        if not lost:
            assert client.ok
    assert all(t.finished for t in loop.transfers.values())
