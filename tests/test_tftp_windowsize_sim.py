"""RFC 7440 windows on the simulated network (refimpl.tftp.scenarios): fewer round trips, loss recovered."""

from __future__ import annotations

from refimpl.tftp import scenarios


def test_windowsize_4_over_a_slow_link_needs_fewer_round_trips_than_lock_step():
    """RFC 7440 §4: a window of W blocks is one round trip where lock-step pays W; with a 10 ms link
    (20 ms round trip) and 40 blocks, lock-step needs about 41 round trips and windows of 4 about 11."""
    one, four = scenarios.windows(windowsizes=(1, 4), size=20_000, delay=0.01)
    assert one.ok and four.ok and one.lost == four.lost == 0
    assert one.round_trips >= 40  # one per block (RFC 1350 §2), plus the request
    assert four.round_trips <= one.round_trips / 3
    assert four.packets < one.packets  # one ACK per window, not per block
    acks = [e.message.block for e in four.run.trace if not e.is_note and e.kind == "ACK" and e.dst == "server"]
    assert acks == [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40]


def test_one_lost_block_inside_a_window_is_recovered_without_a_timeout():
    """RFC 7440 §4: the client ACKs the last block in order, the server starts the window again after it."""
    [run] = scenarios.windows(windowsizes=(4,), size=20_000, delay=0.01, drop={"DATA 6": {1}})
    assert run.ok and run.lost == 1
    assert run.seconds < 1.0  # no 1 s timeout: the gap's ACK brought DATA 6 again
    table = run.run.trace.table()
    assert "ACK block=5" in table  # the gap: DATA 7 arrived while 6 was awaited
    client_acks = [e.message.block for e in run.run.trace if not e.is_note and e.kind == "ACK" and e.dst == "server"]
    assert client_acks[:4] == [0, 4, 5, 9]  # after the gap the windows count from block 5


def test_a_lost_first_block_of_a_window_costs_one_timeout():
    """Our policy (RFC 1123 §4.2.3.1 over RFC 7440 §4's SHOULD): the gap's ACK repeats ACK 4, which the
    server ignores as a duplicate; its timer sends DATA 5-8 again after 1 s. The file still arrives."""
    [run] = scenarios.windows(windowsizes=(4,), size=20_000, delay=0.01, drop={"DATA 5": {1}})
    assert run.ok and 1.0 < run.seconds < 2.0


def test_write_file_takes_windowsize_and_the_trace_shows_the_option():
    """RFC 7440 §3 on the wire: the WRQ and the OACK carry windowsize; the upload arrives whole."""
    run = scenarios.write_file(size=5000, windowsize=4)
    assert run.transfer.ok and run.server.files["upload.txt"] == scenarios.sample_file(5000)
    table = run.trace.table()
    assert "windowsize=4" in table
    acks = [e.message.block for e in run.trace if not e.is_note and e.kind == "ACK" and e.src == "server"]
    assert acks == [4, 8, 10]


def test_without_windowsize_the_scenarios_are_unchanged():
    """The lessons' runs ask for no window: no windowsize on the wire, one ACK per block."""
    run = scenarios.read_file(size=1200)
    assert "windowsize" not in run.trace.table()
    assert [e.kind for e in run.trace if not e.is_note][:4] == ["RRQ", "DATA", "ACK", "DATA"]
