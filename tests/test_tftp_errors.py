"""How TFTP transfers end badly: refusals at port 69, ERROR packets, timeouts, bad DATA, full disks.

RFC 1350 §7 and the error codes of its appendix; RFC 2347's ERROR 8. Each test
checks both what goes on the wire (the ERROR and its code, or nothing) and
what the transfer reports.
"""

from __future__ import annotations

import errno
import io
import os

import pytest
from tftp_loop import CLIENT, SERVER_IP, Loop, Recording, accept, run_get, run_put

from refimpl.tftp import (
    Ack,
    Data,
    DiskFiles,
    Error,
    ErrorCode,
    MemoryFiles,
    Opcode,
    OptionAck,
    Request,
    Send,
    ServerConfig,
    TftpServer,
    get,
    put,
)
from refimpl.tftp import files as files_module

SERVER_TID = (SERVER_IP, 50001)


def sends(effects) -> list:
    """The packets among a list of effects."""
    return [e.packet for e in effects if isinstance(e, Send)]


def errors(loop: Loop) -> list[tuple[int, str]]:
    return [(s.packet.code, s.packet.message) for s in loop.log if s.kind == "ERROR"]


# -- refusals at port 69 -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("files", "direction", "mode", "code"),
    [
        (MemoryFiles({}), "get", "octet", ErrorCode.FILE_NOT_FOUND),
        (MemoryFiles({"f": b"x"}), "put", "octet", ErrorCode.ACCESS_VIOLATION),  # uploads not allowed
        (MemoryFiles({"f": b"x"}, writable=True), "put", "octet", ErrorCode.FILE_EXISTS),
        (MemoryFiles({"f": b"x"}), "get", "mail", ErrorCode.ILLEGAL_OPERATION),  # RFC 1350 §1: mail is obsolete
        (MemoryFiles({}, writable=True), "put", "mail", ErrorCode.ILLEGAL_OPERATION),
    ],
)
def test_refusals_are_one_error_from_a_new_port_and_the_client_stops(files, direction, mode, code):
    """RFC 1350 §4 and §7: the request is refused with one ERROR (its code from the appendix), sent from
    a fresh port to the requester; the client ends without answering it."""
    server = TftpServer(files)
    if direction == "get":
        loop, client, into = run_get(server, "f", mode=mode)
        assert into.getvalue() == b""
    else:
        loop, client, _ = run_put(server, "f", b"new", mode=mode)
        assert files.files.get("/f") in (None, b"x")  # never b"new"
    assert [s.kind for s in loop.log] == [direction.replace("get", "RRQ").replace("put", "WRQ"), "ERROR"]
    assert loop.log[1].packet.code == code and loop.log[1].src != (SERVER_IP, 69) and loop.log[1].dst == CLIENT
    assert not client.ok and client.finished and f"ERROR {int(code)}" in client.error
    assert loop.server_transfers == []


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (Ack(0).encode(), "only RRQ and WRQ"),
        (Data(1, b"x").encode(), "only RRQ and WRQ"),
        (OptionAck({}).encode(), "only RRQ and WRQ"),
        (b"\x00\x01f\x00", "malformed request"),
        (b"\x00\x09junk", "malformed request"),
        (b"", "malformed request"),
    ],
)
def test_port_69_answers_anything_but_a_request_with_error_4(raw, why):
    """RFC 1350 §4, §5: only RRQ and WRQ open a transfer; anything else (or junk) is an illegal operation."""
    transfer, effects = accept(TftpServer(MemoryFiles({"f": b"x"})), raw, CLIENT)
    assert transfer is None
    [error] = sends(effects)
    assert error.code == ErrorCode.ILLEGAL_OPERATION and why in error.message
    assert effects[0].to == CLIENT
    assert len(error.encode()) < 300


def test_upload_larger_than_max_upload_is_refused_with_error_3_and_leaves_nothing(tmp_path):
    """RFC 2349 (tsize in a WRQ) with RFC 1350's ERROR 3: a file announced too large is refused up front."""
    server = TftpServer(DiskFiles(tmp_path, writable=True), ServerConfig(max_upload=1000))
    loop, client, _ = run_put(server, "big.bin", b"x" * 1001, size=1001)
    assert errors(loop)[0][0] == ErrorCode.DISK_FULL and "1001" in errors(loop)[0][1]
    assert not client.ok and os.listdir(tmp_path) == []  # not the file, not its temporary
    loop, client, _ = run_put(server, "ok.bin", b"x" * 1000, size=1000)
    assert client.ok and (tmp_path / "ok.bin").read_bytes() == b"x" * 1000


def test_max_upload_also_holds_for_an_upload_that_announces_no_size(tmp_path):
    """RFC 1350 appendix ERROR 3 "allocation exceeded": without tsize the limit is checked as blocks arrive."""
    server = TftpServer(DiskFiles(tmp_path, writable=True), ServerConfig(max_upload=1000))
    loop, client, _ = run_put(server, "big.bin", b"x" * 1001)
    assert loop.kinds() == ["WRQ", "ACK", "DATA", "ACK", "DATA", "ERROR"]
    assert loop.log[-1].packet.code == ErrorCode.DISK_FULL and not client.ok
    assert os.listdir(tmp_path) == []
    loop, client, _ = run_put(server, "ok.bin", b"x" * 1000)
    assert client.ok and (tmp_path / "ok.bin").read_bytes() == b"x" * 1000


# -- the client refuses the OACK ------------------------------------------------------------------------------
@pytest.mark.parametrize("oack", [{"blksize": "1024"}, {"blksize": "512", "tsize": "5"}, {"timeout": "3"}])
def test_client_answers_an_unacceptable_oack_with_error_8(oack):
    """RFC 2347: an OACK the client cannot accept (larger blksize, an option not asked) -> ERROR 8, end."""
    client = get("f", Recording(), SERVER_IP, blksize=512)
    client.start(now=0.0)
    effects = client.receive(OptionAck(oack).encode(), SERVER_TID, now=0.1)
    [error] = sends(effects)
    assert error.code == ErrorCode.OPTION_REFUSED and effects[0].to == SERVER_TID
    assert client.finished and not client.ok and "refused the OACK" in client.error
    assert client.handle_timer(now=99.0) == [] and client.receive(Data(1, b"x").encode(), SERVER_TID, now=99.0) == []


def test_an_oack_to_a_request_without_options_is_refused():
    """RFC 2347: a server may only send OACK in answer to options; to a plain WRQ it is ERROR 8."""
    client = put("f", io.BytesIO(b"abc"), SERVER_IP)
    client.start(now=0.0)
    [error] = sends(client.receive(OptionAck({"blksize": "512"}).encode(), SERVER_TID, now=0.1))
    assert error.code == ErrorCode.OPTION_REFUSED and not client.ok


# -- a peer's ERROR, and unexpected packets --------------------------------------------------------------------
@pytest.mark.parametrize("side", ["client get", "client put", "server RRQ", "server WRQ"])
def test_an_error_from_the_peer_ends_the_transfer_without_an_answer(side):
    """RFC 1350 §7: an ERROR ends the transfer and is neither acknowledged nor retransmitted."""
    if side.startswith("client"):
        transfer = get("f", Recording(), SERVER_IP) if "get" in side else put("f", io.BytesIO(b"x" * 600), SERVER_IP)
        transfer.start(now=0.0)
        peer = SERVER_TID
    else:
        files = MemoryFiles({"f": b"x" * 600}, writable=True)
        request = Request(Opcode.RRQ if "RRQ" in side else Opcode.WRQ, "f" if "RRQ" in side else "new")
        transfer, _ = accept(TftpServer(files), request.encode(), CLIENT)
        transfer.start(now=0.0)
        peer = CLIENT
    effects = transfer.receive(Error(ErrorCode.DISK_FULL, "Disk full").encode(), peer, now=0.2)
    assert sends(effects) == []
    assert transfer.finished and not transfer.ok and "ERROR 3: Disk full" in transfer.error
    assert transfer.handle_timer(now=100.0) == []  # nothing is sent again


def test_an_error_during_a_get_keeps_what_arrived_in_the_callers_file():
    """RFC 1350 §7: the client learns of the end from the ERROR; the caller's file is not closed."""
    into = Recording()
    client = get("f", into, SERVER_IP)
    client.start(now=0.0)
    client.receive(Data(1, b"a" * 512).encode(), SERVER_TID, now=0.1)
    client.receive(Error(0, "server shutting down").encode(), SERVER_TID, now=0.2)
    assert into.getvalue() == b"a" * 512 and not into.closed and into.close_calls == 0


@pytest.mark.parametrize("packet", [Ack(1), Request(Opcode.WRQ, "x"), OptionAck({"blksize": "8"})])
def test_a_receiver_answers_a_packet_it_cannot_take_with_error_4(packet):
    """RFC 1350 §5: a receiver expects DATA; an ACK, a request or an OACK mid-transfer is illegal."""
    files = MemoryFiles({}, writable=True)
    transfer, _ = accept(TftpServer(files), Request(Opcode.WRQ, "new").encode(), CLIENT)
    transfer.start(now=0.0)
    [error] = sends(transfer.receive(packet.encode(), CLIENT, now=0.1))
    assert error.code == ErrorCode.ILLEGAL_OPERATION and not transfer.ok and "/new" not in files.files


def test_a_malformed_packet_from_the_peer_ends_with_error_4():
    """RFC 1350 §5: junk from the peer's TID cannot be part of the transfer: ERROR 4, the transfer ends."""
    client = get("f", Recording(), SERVER_IP)
    client.start(now=0.0)
    [error] = sends(client.receive(b"\x00\x03\x00", SERVER_TID, now=0.1))
    assert error.code == ErrorCode.ILLEGAL_OPERATION and "malformed" in client.error


@pytest.mark.parametrize("negotiated", [None, 8])
def test_data_longer_than_blksize_is_error_4(negotiated):
    """RFC 2348, RFC 1350 §6: a block is at most blksize bytes (512, or the negotiated size)."""
    limit = negotiated or 512
    client = get("f", Recording(), SERVER_IP, blksize=negotiated)
    client.start(now=0.0)
    if negotiated:
        client.receive(OptionAck({"blksize": "8"}).encode(), SERVER_TID, now=0.05)
    [error] = sends(client.receive(Data(1, b"x" * (limit + 1)).encode(), SERVER_TID, now=0.1))
    assert error.code == ErrorCode.ILLEGAL_OPERATION and f"more than blksize {limit}" in error.message
    assert client.file.file.getvalue() == b""  # nothing of it was stored


def test_data_longer_than_blksize_on_an_upload_stores_nothing():
    """RFC 1350 §6: the server's receiver refuses an oversized block with ERROR 4 and keeps no file."""
    files = MemoryFiles({}, writable=True)
    transfer, _ = accept(TftpServer(files), Request(Opcode.WRQ, "new").encode(), CLIENT)
    transfer.start(now=0.0)
    [error] = sends(transfer.receive(Data(1, b"x" * 513).encode(), CLIENT, now=0.1))
    assert error.code == ErrorCode.ILLEGAL_OPERATION and "/new" not in files.files


# -- retries run out ------------------------------------------------------------------------------------------
def test_a_client_with_no_server_gives_up_after_max_retries():
    """RFC 1350 §2, RFC 1123 §4.2.3.2: the request is sent again max_retries times, each wait twice the one
    before (backoff), then the transfer fails with a clear reason, and sends nothing more."""
    loop = Loop()  # no server: nothing answers port 69
    client = get("f", Recording(), SERVER_IP, retry_timeout=2.0, max_retries=3)
    loop.add(CLIENT, client)
    loop.run()
    assert [(s.kind, s.time) for s in loop.log] == [("RRQ", 0.0), ("RRQ", 2.0), ("RRQ", 6.0), ("RRQ", 14.0)]
    assert client.finished and not client.ok and client.error == "no answer after 3 retransmissions"
    assert client.handle_timer(now=100.0) == [] and client.receive(Data(1).encode(), SERVER_TID, now=100.0) == []


def test_a_server_whose_client_vanished_gives_up_after_max_retries():
    """RFC 1123 §4.2.3.2: the server's DATA is sent 1 + max_retries times, waiting 1, 2, 4... timeouts, then
    it stops."""
    server = TftpServer(MemoryFiles({"f": b"x" * 2000}), ServerConfig(timeout=1.5, max_retries=2))
    transfer, _ = accept(server, Request(Opcode.RRQ, "f").encode(), CLIENT)
    sent = sends(transfer.start(now=0.0))
    times = []
    while not transfer.finished:
        times.append(transfer.get_timer())
        sent += sends(transfer.handle_timer(now=transfer.get_timer()))
    assert sent == [Data(1, b"x" * 512)] * 3 and times == [1.5, 4.5, 10.5]
    assert not transfer.ok and "no answer after 2 retransmissions" in transfer.error
    assert transfer.file_closed


def test_a_timer_called_early_does_nothing():
    """The driver may wake up early: before the deadline handle_timer sends nothing."""
    client = get("f", Recording(), SERVER_IP)
    client.start(now=0.0)
    assert client.handle_timer(now=0.5) == [] and client.retries == 0


# -- the disk fills up ------------------------------------------------------------------------------------------
class FullDiskFiles(MemoryFiles):
    """Uploads that take ``room`` writes, then raise ENOSPC; each remembers if it was kept or discarded."""

    def __init__(self, room: int):
        super().__init__(writable=True)
        self.room, self.uploads = room, []

    def open_write(self, name):
        upload = _Full(self.room)
        self.uploads.append(upload)
        return upload


class _Full:
    def __init__(self, room):
        self.room, self.kept, self.discarded = room, False, False

    def write(self, chunk):
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= 1
        return len(chunk)

    def close(self):
        self.kept = True

    def discard(self):
        self.discarded = True


@pytest.mark.parametrize("mode", ["octet", "netascii"])
def test_a_write_error_is_error_3_and_the_upload_is_discarded(mode):
    """RFC 1350 appendix: ERROR 3 "Disk full or allocation exceeded"; the partial file is discarded."""
    files = FullDiskFiles(room=2)
    loop, client, _ = run_put(TftpServer(files), "f", b"y" * 2000, mode=mode)
    assert errors(loop) == [(ErrorCode.DISK_FULL, "Disk full or allocation exceeded")]
    assert loop.log[-1].kind == "ERROR" and loop.log[-1].dst == CLIENT
    assert not client.ok and "ERROR 3" in client.error
    [upload] = files.uploads
    assert upload.discarded and not upload.kept
    assert not loop.server_transfers[0].ok and "No space left" in loop.server_transfers[0].error


def test_disk_full_on_diskfiles_leaves_no_partial_file(tmp_path, monkeypatch):
    """RFC 1350 appendix ERROR 3: on a real directory a failed write leaves neither the file nor its temporary."""
    calls = []

    def write(self, chunk):
        calls.append(len(chunk))
        if len(calls) == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(chunk)

    monkeypatch.setattr(files_module.Upload, "write", write)
    loop, client, _ = run_put(TftpServer(DiskFiles(tmp_path, writable=True)), "up.bin", b"z" * 3000)
    assert [code for code, _ in errors(loop)] == [ErrorCode.DISK_FULL] and not client.ok
    assert os.listdir(tmp_path) == []


def test_disk_full_found_only_when_the_file_is_closed(tmp_path, monkeypatch):
    """RFC 1350 §6: the last ACK says the file is stored; if storing it fails (fsync), ERROR 3 instead."""

    def fsync(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", fsync)
    loop, client, _ = run_put(TftpServer(DiskFiles(tmp_path, writable=True)), "up.bin", b"z" * 1000)
    assert loop.kinds() == ["WRQ", "ACK", "DATA", "ACK", "DATA", "ERROR"]  # no final ACK 2
    assert loop.log[-1].packet.code == ErrorCode.DISK_FULL and not client.ok
    assert os.listdir(tmp_path) == []


def test_a_read_error_ends_the_download_with_an_error():
    """RFC 1350 §7: a server that cannot read its file says so with an ERROR and stops."""

    class Broken(io.BytesIO):
        def read(self, size=-1):
            raise OSError(errno.EIO, "Input/output error")

    class BrokenFiles(MemoryFiles):
        def open_read(self, name):
            return Broken(), 100

    loop, client, _ = run_get(TftpServer(BrokenFiles()), "f")
    assert loop.kinds() == ["RRQ", "ERROR"] and not client.ok
    assert "reading the file" in loop.server_transfers[0].error


# -- the caller's file --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["octet", "netascii"])
def test_get_and_put_do_not_close_the_callers_file(mode):
    """The caller opened it, the caller closes it: after success and after failure it is still open."""
    data = b"hello\nworld\r\n" * 100
    loop, client, into = run_get(TftpServer(MemoryFiles({"f": data})), "f", mode=mode)
    assert client.ok and not into.closed and into.close_calls == 0 and into.getvalue() == data
    loop, client, into = run_get(TftpServer(MemoryFiles({})), "missing", mode=mode)
    assert not client.ok and not into.closed and into.close_calls == 0
    files = MemoryFiles({}, writable=True)
    loop, client, source = run_put(TftpServer(files), "g", data, mode=mode)
    assert client.ok and files["g"] == data and not source.closed and source.close_calls == 0
    loop, client, source = run_put(TftpServer(MemoryFiles({})), "g", data, mode=mode)
    assert not client.ok and not source.closed and source.close_calls == 0


class Trickle(io.RawIOBase):
    """A caller's file that returns at most 100 bytes per read (a pipe, a socket, a raw file)."""

    def __init__(self, data: bytes):
        self.data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), 100, len(self.data))
        buffer[:n], self.data = self.data[:n], self.data[n:]
        return n


def test_put_from_a_file_that_returns_short_reads_sends_full_blocks():
    """RFC 1350 §6: a block shorter than 512 ends the file, so a short read must not become a short block."""
    data = bytes(range(256)) * 5  # 1280 bytes
    files = MemoryFiles({}, writable=True)
    client = put("f", Trickle(data), SERVER_IP)
    loop = Loop(server=TftpServer(files))
    loop.add(CLIENT, client)
    loop.run()
    assert client.ok and files["f"] == data
    assert [len(s.packet.data) for s in loop.log if s.kind == "DATA"] == [512, 512, 256]


# -- what a transfer does not answer, and what cannot undo a success ------------------------
def _started_get():
    from refimpl.tftp import get

    transfer = get("boot.txt", io.BytesIO(), "192.0.2.1")
    transfer.start(now=0.0)
    return transfer


def test_an_error_from_a_stranger_is_not_answered():
    """ERROR 5 goes to strangers (RFC 1350 §4), but never in answer to an ERROR: two confused
    ends would bounce errors back and forth for ever."""
    from refimpl.tftp import Data, Error, Send

    transfer = _started_get()
    transfer.receive(Data(1, b"x" * 512).encode(), ("192.0.2.1", 50000), now=0.1)  # the server's TID
    effects = transfer.receive(Error(0, "who are you").encode(), ("192.0.2.1", 50001), now=0.2)
    assert not [e for e in effects if isinstance(e, Send)] and not transfer.finished
    effects = transfer.receive(Data(2, b"y").encode(), ("192.0.2.1", 50001), now=0.3)  # not an ERROR: ERROR 5
    assert [e.packet.code for e in effects if isinstance(e, Send)] == [5] and not transfer.finished


def test_after_the_last_block_nothing_undoes_the_success():
    """Dallying (RFC 1350 §6) only waits for a repeated last DATA; an ERROR or junk then is ignored."""
    from refimpl.tftp import Data, Error, Send

    transfer = _started_get()
    server = ("192.0.2.1", 50000)
    transfer.receive(Data(1, b"short").encode(), server, now=0.1)
    assert transfer.complete and transfer.ok and not transfer.finished
    for junk in (Error(0, "late").encode(), b"\x00", b"\x00\x04\x00\x01"):
        effects = transfer.receive(junk, server, now=0.2)
        assert not [e for e in effects if isinstance(e, Send)]
        assert transfer.ok and not transfer.finished
    again = transfer.receive(Data(1, b"short").encode(), server, now=0.3)  # still answers the last DATA
    assert [e.packet.block for e in again if isinstance(e, Send)] == [1]
    transfer.handle_timer(now=transfer.get_timer())
    assert transfer.finished and transfer.ok


def test_a_peer_error_worded_in_another_language_still_ends_the_transfer_with_its_code():
    from refimpl.tftp import Send, decode

    raw = b"\x00\x05\x00\x01" + "Datei nicht gefunden: \u00fc".encode("latin-1") + b"\x00"
    packet = decode(raw)
    assert packet.code == 1 and packet.message.startswith("Datei nicht gefunden: ")
    transfer = _started_get()
    effects = transfer.receive(raw, ("192.0.2.1", 50000), now=0.1)
    assert transfer.finished and not transfer.ok and "ERROR 1" in transfer.error
    assert not [e for e in effects if isinstance(e, Send)]  # RFC 1350 §7: an ERROR is not answered


def test_an_upload_can_be_read_by_others(tmp_path):
    """mkstemp makes a private file; a file uploaded to a TFTP server is meant to be served."""
    from refimpl.tftp import DiskFiles

    upload = DiskFiles(tmp_path, writable=True).open_write("new.bin")
    upload.write(b"data")
    upload.close()
    assert (tmp_path / "new.bin").stat().st_mode & 0o777 == 0o644


def test_an_error_sent_to_port_69_is_not_answered():
    """RFC 1350 §7: ERRORs are not acknowledged; answering one at port 69 could start a ping-pong."""
    from refimpl.tftp import Error, MemoryFiles, Send, TftpServer

    transfer, effects = accept(TftpServer(MemoryFiles({})), Error(0, "hi").encode(), ("192.0.2.10", 40000))
    assert transfer is None and effects and not [e for e in effects if isinstance(e, Send)]


def test_the_backoff_stops_growing_and_an_answer_resets_it():
    """RFC 1123 §4.2.3.2: waits double up to BACKOFF_LIMIT timeouts; a packet from the peer starts again at one."""
    from refimpl.tftp.transfer import BACKOFF_LIMIT

    loop = Loop()
    client = get("f", Recording(), SERVER_IP, retry_timeout=1.0, max_retries=7)
    loop.add(CLIENT, client)
    loop.run()
    waits = [b.time - a.time for a, b in zip(loop.log, loop.log[1:])]
    assert waits == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0] and BACKOFF_LIMIT == 8
    other = get("f", Recording(), SERVER_IP, retry_timeout=1.0)
    other.start(now=0.0)
    other.handle_timer(now=1.0)
    other.handle_timer(now=3.0)  # two resends: the next wait is 4 timeouts
    assert other.get_timer() == 7.0
    other.receive(Data(1, b"x" * 512).encode(), SERVER_TID, now=3.5)  # an answer: ACK 1 goes out, one timeout
    assert other.get_timer() == 4.5
