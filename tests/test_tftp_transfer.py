"""Whole TFTP transfers through the core: a client from get/put, a TftpServer, and tests/tftp_loop.py between.

The loop carries datagrams with a fixed latency and calls the timers on a fake
clock, so timeouts of seconds cost nothing. Every test checks the bytes that
arrived, not only "ok". Lost, repeated and delayed packets: test_tftp_loss.py.
"""

from __future__ import annotations

import inspect
import io

import pytest
from tftp_loop import (
    CLIENT,
    CLIENT_IP,
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

from refimpl.tftp import (
    Ack,
    Data,
    MemoryFiles,
    NewTransfer,
    Opcode,
    Receiver,
    Request,
    Send,
    Sender,
    Settings,
    TftpServer,
    Transfer,
    decode,
    get,
)
from refimpl.tftp.netascii import to_netascii


# -- the contract every core of the course keeps --------------------------------------------------
def test_every_tftp_core_keeps_the_one_contract():
    """After aioquic: receive(datagram, address, *, now), start(*, now), get_timer(), handle_timer(*, now); ``now``
    a keyword, and last."""
    for core in (Transfer, Sender, Receiver, TftpServer):
        methods = ["receive", "handle_timer"] + (["start"] if core is not TftpServer else [])
        for name in methods:
            last = list(inspect.signature(getattr(core, name)).parameters.values())[-1]
            assert (last.name, last.kind) == ("now", inspect.Parameter.KEYWORD_ONLY), f"{core.__name__}.{name}"
        assert list(inspect.signature(core.get_timer).parameters) == ["self"]
    server = TftpServer(MemoryFiles({"f": b"x"}))
    assert server.get_timer() is None and server.handle_timer(now=1.0) == []
    [started] = server.receive(Request(Opcode.RRQ, "f").encode(), CLIENT, now=0.0)
    assert isinstance(started, NewTransfer) and started.transfer.get_timer() is None  # not started yet
    [data] = started.transfer.start(now=2.0)
    assert data.packet == Data(1, b"x") and started.transfer.get_timer() == 3.0  # one timeout later


# -- the plain lock-step ----------------------------------------------------------------------------
SIZES = [0, 1, 511, 512, 513, 1024, 5000]


@pytest.mark.parametrize("blksize", [None, 8, 1428])
@pytest.mark.parametrize("size", SIZES)
def test_get_brings_the_exact_file(size, blksize):
    """RFC 1350 §2 and §6, RFC 2348: DATA 1..n, each ACKed, the last one short (maybe empty)."""
    data = content(size)
    loop, client, into = run_get(serve({"f.bin": data}), "f.bin", blksize=blksize)
    assert client.ok and into.getvalue() == data
    expected = blocks(size, blksize or 512)
    assert loop.data_blocks_sent() == list(range(1, expected + 1))
    assert len(into.writes) == expected  # each block stored once
    last = [s.packet for s in loop.log if s.kind == "DATA"][-1]
    assert len(last.data) == size % (blksize or 512) < (blksize or 512)
    assert loop.kinds()[:2] == (["RRQ", "OACK"] if blksize else ["RRQ", "DATA"])
    assert all(t.finished for t in loop.transfers.values())


@pytest.mark.parametrize("blksize", [None, 8, 1428])
@pytest.mark.parametrize("size", SIZES)
def test_put_stores_the_exact_file(size, blksize):
    """RFC 1350 §2 and §4, RFC 2348: WRQ, ACK 0 (or OACK), then DATA 1..n the same way."""
    data = content(size)
    files, server = uploads()
    loop, client, source = run_put(server, "up/f.bin", data, blksize=blksize)
    assert client.ok and files["up/f.bin"] == data
    assert loop.data_blocks_sent() == list(range(1, blocks(size, blksize or 512) + 1))
    assert len(files.uploads[0].writes) == blocks(size, blksize or 512)
    assert loop.kinds()[:2] == (["WRQ", "OACK"] if blksize else ["WRQ", "ACK"])
    assert all(t.finished for t in loop.transfers.values())


def test_the_first_exchange_of_a_get_and_a_put_without_options():
    """RFC 1350 §4: RRQ is answered by DATA 1; WRQ by ACK 0; from a new port, to the client's port."""
    loop, _, _ = run_get(serve({"f": b"abc"}), "f")
    assert [repr(s) for s in loop.log] == [
        "#0 40000->69 RRQ f octet",
        "#1 50001->40000 DATA block=1 3 bytes",
        "#2 40000->50001 ACK block=1",
    ]
    files, server = uploads()
    loop, _, _ = run_put(server, "g", b"xyz")
    assert [repr(s) for s in loop.log] == [
        "#0 40000->69 WRQ g octet",
        "#1 50001->40000 ACK block=0",
        "#2 40000->50001 DATA block=1 3 bytes",
        "#3 50001->40000 ACK block=1",
    ]


def test_the_client_learns_the_servers_tid_from_the_first_reply():
    """RFC 1350 §4: the request goes to port 69, everything after it to the port the server answered from."""
    loop, client, _ = run_get(serve({"f": content(2000)}), "f")
    assert client.peer == (SERVER_IP, 50001)
    sent = loop.sent_by(CLIENT)
    assert sent[0].dst == (SERVER_IP, 69) and sent[0].kind == "RRQ"
    assert {s.dst for s in sent[1:]} == {(SERVER_IP, 50001)}
    assert {s.dst for s in loop.sent_by((SERVER_IP, 50001))} == {CLIENT}


# -- netascii ---------------------------------------------------------------------------------------
TEXT = b"line one\nline two\r\nbare\rcr\n\n\x00nul\r" * 20


@pytest.mark.parametrize("blksize", [None, 8])
def test_get_netascii_converts_line_ends_both_ways(blksize):
    """RFC 1350 §1, RFC 764: LF travels as CR LF, CR as CR NUL, and is turned back on arrival."""
    loop, client, into = run_get(serve({"t.txt": TEXT}), "t.txt", mode="netascii", blksize=blksize)
    assert client.ok and into.getvalue() == TEXT
    wire = b"".join(s.packet.data for s in loop.log if s.kind == "DATA")
    assert wire == to_netascii(TEXT) and len(wire) > len(TEXT)


@pytest.mark.parametrize("blksize", [None, 8])
def test_put_netascii_converts_line_ends_both_ways(blksize):
    """RFC 1350 §1: an upload in netascii is stored as local text, the same bytes the client had."""
    files, server = uploads()
    loop, client, _ = run_put(server, "t.txt", TEXT, mode="netascii", blksize=blksize)
    assert client.ok and files["t.txt"] == TEXT
    assert b"".join(s.packet.data for s in loop.log if s.kind == "DATA") == to_netascii(TEXT)


def test_the_mode_given_to_the_client_is_case_insensitive():
    """RFC 1350 §5: "NETASCII" is netascii: the client converts line ends for it too."""
    loop, client, into = run_get(serve({"t.txt": TEXT}), "t.txt", mode="NETASCII")
    assert client.ok and into.getvalue() == TEXT


# -- options -------------------------------------------------------------------------------------------
def test_rrq_with_options_is_oack_then_ack_0_then_data_1():
    """RFC 2347: RRQ+options -> OACK -> ACK 0 -> DATA 1, with the negotiated block size."""
    data = content(3000)
    loop, client, into = run_get(serve({"f": data}, max_blksize=1024), "f", blksize=1428, timeout=3, ask_size=True)
    assert client.ok and into.getvalue() == data
    assert loop.kinds()[:4] == ["RRQ", "OACK", "ACK", "DATA"]
    assert loop.log[1].packet.options == {"blksize": "1024", "timeout": "3", "tsize": "3000"}
    assert loop.log[2].packet == Ack(0) and loop.log[3].packet == Data(1, data[:1024])
    assert client.settings == Settings(blksize=1024, timeout=3.0, tsize=3000)


def test_wrq_with_options_is_oack_then_data_1():
    """RFC 2347: WRQ+options -> OACK (no ACK 0) -> DATA 1."""
    data = content(100)
    files, server = uploads()
    loop, client, _ = run_put(server, "f", data, blksize=16, size=100)
    assert client.ok and files["f"] == data
    assert loop.kinds()[:3] == ["WRQ", "OACK", "DATA"]
    assert loop.log[1].packet.options == {"blksize": "16", "tsize": "100"}
    assert loop.log[2].packet == Data(1, data[:16])


def _without_options(raw: bytes) -> bytes:
    """What reaches a server of RFC 1350 alone: it reads the filename and the mode, nothing after."""
    request = decode(raw)
    return Request(request.opcode, request.filename, request.mode).encode()


def test_a_server_that_ignores_options_gets_512_byte_blocks():
    """RFC 2347: a server that does not know options answers DATA 1; the client goes on with 512."""
    data = content(1300)
    loop, client, into = run_get(serve({"f": data}), "f", loop=Loop(rewrite_request=_without_options), blksize=1428)
    assert client.ok and into.getvalue() == data
    assert loop.kinds()[:2] == ["RRQ", "DATA"] and client.settings.blksize == 512
    assert [len(s.packet.data) for s in loop.log if s.kind == "DATA"] == [512, 512, 276]


def test_a_put_to_a_server_that_ignores_options_gets_ack_0_and_512_byte_blocks():
    """RFC 2347: the WRQ's options are ignored, ACK 0 comes back, the client sends 512-byte blocks."""
    data = content(1300)
    files, server = uploads()
    loop, client, _ = run_put(server, "f", data, loop=Loop(rewrite_request=_without_options), blksize=1428)
    assert client.ok and files["f"] == data
    assert loop.kinds()[:3] == ["WRQ", "ACK", "DATA"] and client.settings.blksize == 512


# -- identifiers: foreign packets -------------------------------------------------------------------------
def test_a_packet_from_a_foreign_port_gets_error_5_and_the_transfer_goes_on():
    """RFC 1350 §4: "an error packet should be sent to the source of the incorrect packet, while not
    disturbing the transfer"."""
    data = content(3000)
    loop = Loop()
    stranger = (SERVER_IP, 6666)
    loop.inject(stranger, CLIENT, Data(2, b"evil").encode(), at=0.035)  # mid-transfer, to the client
    loop.inject((CLIENT_IP, 40001), (SERVER_IP, 50001), Ack(3).encode(), at=0.055)  # to the server's TID
    loop, client, into = run_get(serve({"f": data}), "f", loop=loop)
    assert client.ok and into.getvalue() == data and loop.server_transfers[0].ok
    to_stranger = [s.packet for s in loop.log if s.dst == stranger]
    assert [(p.code, p.message) for p in to_stranger] == [(5, "Unknown transfer ID")]
    assert [s.packet.code for s in loop.log if s.dst == (CLIENT_IP, 40001)] == [5]
    assert len(into.writes) == blocks(3000)


def test_a_duplicated_request_makes_a_second_transfer_that_error_5_ends():
    """RFC 1350 §4: the second server transfer's DATA 1 comes from another port, gets ERROR 5, and stops."""
    loop, client, into = run_get(serve({"f": content(100)}), "f", loop=Loop(duplicate={0}))
    first, second = loop.server_transfers
    assert client.ok and first.ok and not second.ok and "ERROR 5" in second.error
    assert into.getvalue() == content(100)


# -- block numbers wrap --------------------------------------------------------------------------------------
def test_block_numbers_wrap_after_65535_in_a_whole_transfer():
    """RFC 1350 §5 (2-byte block numbers): after 65535 comes 0, as tftpd-hpa and curl do; blksize 8 keeps it fast."""
    data = content(65536 * 8 + 5)
    into = Recording()
    client = get("big", into, SERVER_IP, blksize=8)
    [request] = sends(client.start(now=0.0))
    server, _ = accept(serve({"big": data}), request.data, CLIENT)
    # A bare ping-pong (no loss, so no timers): 131,000 packets, about half the cost of the loop.
    to_client, sent = sends(server.start(now=0.0)), []
    for step in range(70_000):
        if not to_client:
            break
        sent += [s.packet.block for s in to_client if isinstance(s.packet, Data)]
        to_server = sends(client.receive(to_client[0].data, (SERVER_IP, 50001), now=step * 0.001))
        to_client = sends(server.receive(to_server[0].data, CLIENT, now=step * 0.001))
    assert client.ok and server.ok and into.getvalue() == data
    assert sent[:3] == [1, 2, 3] and sent[65533:] == [65534, 65535, 0, 1] and len(sent) == 65537


def sends(effects) -> list[Send]:
    return [e for e in effects if isinstance(e, Send)]


def _near_the_wrap(transfer):
    transfer.block = 65533  # the next block is 65534, then 65535, 0, 1, ...


@pytest.mark.parametrize("direction", ["get", "put"])
def test_block_numbers_wrap_with_a_packet_lost_anywhere_near_the_wrap(direction):
    """RFC 1350 §5: starting both sides near the limit, the wrap survives any single lost packet."""
    for k in range(-1, 16):
        loop = Loop(drop={k})
        if direction == "get":  # no options (an OACK starts at ACK 0): 7 blocks of 512
            data = content(6 * 512 + 28)
            loop.prepare = _near_the_wrap
            into = Recording()
            client = get("f", into, SERVER_IP)
            _near_the_wrap(client)
            loop.server = serve({"f": data})
            loop.add(CLIENT, client)
            loop.run()
            assert client.ok and into.getvalue() == data, k
        else:  # a sender and a receiver made by hand, already past their request; 7 blocks of 8
            data = content(50)
            server_address = (SERVER_IP, 50001)
            sink = Recording()
            receiver = Receiver(sink, CLIENT, settings=Settings(blksize=8))
            sender = Sender(io.BytesIO(data), server_address, settings=Settings(blksize=8))
            _near_the_wrap(receiver), _near_the_wrap(sender)
            loop.add(server_address, receiver, start=False)
            loop.add(CLIENT, sender)
            loop.run()
            assert sender.ok and receiver.ok and sink.getvalue() == data, k
        if k == -1:
            assert loop.data_blocks_sent() == [65534, 65535, 0, 1, 2, 3, 4]
        assert set(loop.data_blocks_sent()) == {65534, 65535, 0, 1, 2, 3, 4}, k


def test_an_old_request_opcode_is_refused_mid_transfer():
    """RFC 1350 §5: a request on a transfer's port is not part of the lock-step: ERROR 4 ends it."""
    loop = Loop()
    loop.inject(CLIENT, (SERVER_IP, 50001), Request(Opcode.RRQ, "f").encode(), at=0.015)
    loop, client, _ = run_get(serve({"f": content(2000)}), "f", loop=loop)
    assert not loop.server_transfers[0].ok and "unexpected RRQ" in loop.server_transfers[0].error
    assert not client.ok and "ERROR 4" in client.error
