"""The TFTP stories the lesson tells, checked on the simulated network.

Each scenario runs the real core (refimpl.tftp) on the virtual clock; these
tests pin what lesson 07 says about them, so a change to the core that would
make the lesson wrong fails here first.
"""

from __future__ import annotations

import pytest

from refimpl.tftp import Ack, Data, ErrorCode, Request, scenarios


def packets(run):
    return [e for e in run.trace if not e.is_note]


def test_a_read_goes_to_69_and_continues_between_two_new_ports():
    """RFC 1350 §4: the request goes to 69; the server answers from a TID of its own."""
    run = scenarios.read_file(size=1200)
    sent = packets(run)
    assert isinstance(sent[0].message, Request) and sent[0].dst_port == 69
    client_port, server_port = sent[0].src_port, sent[1].src_port
    assert server_port != 69
    for event in sent[1:]:
        assert {event.src_port, event.dst_port} == {client_port, server_port}
    assert [e.kind for e in sent] == ["RRQ", "DATA", "ACK", "DATA", "ACK", "DATA", "ACK"]
    assert [len(e.message.data) for e in sent if e.kind == "DATA"] == [512, 512, 176]
    assert run.client.received["boot.txt"] == scenarios.sample_file(1200)


@pytest.mark.parametrize(
    "size, blksize, sizes",
    [
        (0, None, [0]),
        (512, None, [512, 0]),
        (1024, None, [512, 512, 0]),
        (1000, 1428, [1000]),
        (3000, 1428, [1428, 1428, 144]),
        (24, 8, [8, 8, 8, 0]),
    ],
)
def test_the_short_block_ends_the_file(size, blksize, sizes):
    """RFC 1350 §6: a block shorter than blksize is the last; an exact multiple ends with an empty DATA."""
    run = scenarios.read_file(size=size, blksize=blksize)
    assert [len(e.message.data) for e in packets(run) if e.kind == "DATA"] == sizes
    assert run.transfer.ok and run.client.received["boot.txt"] == scenarios.sample_file(size)


def test_a_write_is_acknowledged_with_block_0_and_stored_whole():
    run = scenarios.write_file(size=700)
    kinds = [(e.kind, getattr(e.message, "block", None)) for e in packets(run)]
    assert kinds == [("WRQ", None), ("ACK", 0), ("DATA", 1), ("ACK", 1), ("DATA", 2), ("ACK", 2)]
    assert run.server.files["upload.txt"] == scenarios.sample_file(700)


@pytest.mark.parametrize("drop", [{"DATA 2": {1}}, {"ACK 1": {1}}, {"DATA 3": {1}}, {"ACK 3": {1}}, {"RRQ": {1}}])
def test_any_single_loss_is_repaired_by_a_resend(drop):
    run = scenarios.read_file(size=1200, drop=drop)
    assert run.transfer.ok and run.client.received["boot.txt"] == scenarios.sample_file(1200)
    assert any(e.lost for e in run.trace)
    assert any(e.is_note and e.kind.startswith("timeout") for e in run.trace)


def test_the_sorcerers_apprentice_doubles_every_later_block_and_the_rfc_1123_rule_does_not():
    right = scenarios.sorcerers_apprentice(bug=False)
    wrong = scenarios.sorcerers_apprentice(bug=True)
    blocks = 6  # 3000 bytes in 512-byte blocks
    right_data = [e.message.block for e in packets(right) if e.kind == "DATA"]
    wrong_data = [e.message.block for e in packets(wrong) if e.kind == "DATA"]
    assert sorted(set(right_data)) == list(range(1, blocks + 1))
    assert len(right_data) == blocks + 1  # only the late block twice
    assert [wrong_data.count(b) for b in range(1, blocks + 1)] == [1, 2, 2, 2, 2, 2]  # from the late one on
    assert right.transfer.ok and wrong.transfer.ok
    assert right.client.received["boot.txt"] == wrong.client.received["boot.txt"] == scenarios.sample_file(3000)


def test_a_missing_file_is_one_error_1_from_a_new_port():
    run = scenarios.missing_file()
    sent = packets(run)
    assert [e.kind for e in sent] == ["RRQ", "ERROR"]
    assert sent[1].message.code == ErrorCode.FILE_NOT_FOUND and sent[1].src_port != 69
    assert not run.transfer.ok and "ERROR 1" in run.transfer.error


def test_a_stray_packet_gets_error_5_and_the_transfer_goes_on():
    run = scenarios.stranger()
    errors = [e for e in packets(run) if e.kind == "ERROR"]
    assert len(errors) == 1 and errors[0].message.code == ErrorCode.UNKNOWN_TID
    assert errors[0].dst_port != run.trace.events[0].src_port  # to the stranger, not to our client
    assert run.transfer.ok and run.client.received["boot.txt"] == scenarios.sample_file(2000)


def test_network_boot_fetches_the_file_dhcp_names():
    run = scenarios.network_boot(bootfile="boot/pxelinux.0")
    ack = next(e for e in run.trace if e.kind == "DHCPACK")
    assert ack.message.options[66] == "192.0.2.1" and ack.message.options[67] == "boot/pxelinux.0"
    rrq = next(e for e in run.trace if e.kind == "RRQ")
    assert rrq.message.filename == "boot/pxelinux.0" and rrq.src_ip == ack.message.yiaddr
    assert rrq.time > ack.time
    assert run.transfer.ok and run.client.received["boot/pxelinux.0"] == scenarios.sample_file(2000)


def test_options_are_acknowledged_and_used():
    run = scenarios.read_file(size=3000, blksize=1428, ask_size=True)
    oack = next(e for e in packets(run) if e.kind == "OACK")
    assert oack.message.options == {"blksize": "1428", "tsize": "3000"}
    assert isinstance(packets(run)[2].message, Ack) and packets(run)[2].message.block == 0
    assert all(len(e.message.data) <= 1428 for e in packets(run) if isinstance(e.message, Data))


def test_scenarios_are_deterministic():
    one, two = scenarios.read_file(size=2000, drop={"ACK 2": {1}}), scenarios.read_file(size=2000, drop={"ACK 2": {1}})
    assert one.trace.table() == two.trace.table()
