"""The sans-I/O FTP client: reply parsing, operations, and the client against our server in memory."""

from __future__ import annotations

import pytest
from ftp_harness import make_config, make_tree

from refimpl.ftp import JailedFS
from refimpl.ftp.client import (
    DataConnect,
    DataListen,
    Done,
    Failed,
    FTPClient,
    ProtocolError,
    ReplyParser,
    ReplyReceived,
    SendCommand,
)
from refimpl.ftp.pair import Pair


def test_reply_parser_single_and_split_multi_line():
    p = ReplyParser()
    out = p.feed(b"220 hi\r\n211-Features:\r\n SIZE\r\n211 End of")
    assert [(r.code, r.lines) for r in out] == [(220, ("hi",))]  # the 211 reply is not complete yet
    out = p.feed(b" features\r\n")
    assert [(r.code, r.lines) for r in out] == [(211, ("Features:", " SIZE", "End of features"))]


def test_reply_parser_multi_line():
    p = ReplyParser()
    replies = p.feed(b"211-Features:\r\n EPSV\r\n 211 inside\r\n211 End\r\n230 ok\r\n")
    assert [(r.code, r.lines) for r in replies] == [(211, ("Features:", " EPSV", " 211 inside", "End")), (230, ("ok",))]


def test_reply_parser_byte_by_byte():
    p = ReplyParser()
    data = b"150 go\r\n226-done\r\nstill\r\n226 bye\r\n"
    out = []
    for i in range(len(data)):
        out += p.feed(data[i : i + 1])
    assert [r.code for r in out] == [150, 226] and out[1].lines == ("done", "still", "bye")


def test_reply_parser_rejects_garbage():
    with pytest.raises(ProtocolError):
        ReplyParser().feed(b"hello\r\n")


def test_login_steps_are_visible():
    c = FTPClient()
    assert c.login("bob", "pw") == []  # waits for the greeting first
    events = c.receive(b"220 ready\r\n", now=0)
    assert events == [ReplyReceived(events[0].reply), Done("greeting", events[0].reply), SendCommand("USER bob")]
    events = c.receive(b"331 pw please\r\n", now=0)
    assert events[-1] == SendCommand("PASS pw") and str(events[-1]) == "PASS ****"
    events = c.receive(b"230 in\r\n", now=0)
    assert isinstance(events[-1], Done) and events[-1].name == "login"


def test_failed_login_and_next_operation_runs():
    c = FTPClient()
    c.receive(b"220 ready\r\n", now=0)
    c.login("bob", "bad")
    c.receive(b"331 pw\r\n", now=0)
    events = c.command("PWD")
    assert events == []  # queued behind login
    events = c.receive(b"530 no\r\n", now=0)
    assert isinstance(events[1], Failed) and events[1].reply.code == 530
    assert events[2] == SendCommand("PWD")


def test_passive_retr_steps_and_reply_before_data():
    c = FTPClient(mode="passive")
    c.receive(b"220 ready\r\n", now=0)
    assert c.retr("f") == [SendCommand("TYPE I")]
    assert c.receive(b"200 ok\r\n", now=0)[-1] == SendCommand("PASV")
    events = c.receive(b"227 Entering Passive Mode (192,0,2,1,117,48).\r\n", now=0)
    assert events[-2:] == [DataConnect("192.0.2.1", 30000), SendCommand("RETR f")]
    c.receive(b"150 here it comes\r\n", now=0)
    c.data_received(b"abc", now=0)
    assert not any(isinstance(e, Done) for e in c.receive(b"226 done\r\n", now=0))  # data not ended yet
    events = c.data_closed(now=0)
    assert events == [Done("RETR", events[0].reply, b"abc")]


def test_active_mode_sends_port_after_listening():
    c = FTPClient(local_ip="192.0.2.10", mode="active")
    c.receive(b"220 ready\r\n", now=0)
    c.retr("f")
    assert c.receive(b"200 ok\r\n", now=0)[-1] == DataListen("192.0.2.10")
    assert c.data_listening(40000, now=0) == [SendCommand("PORT 192,0,2,10,156,64")]


@pytest.fixture
def root(tmp_path):
    make_tree(tmp_path)
    return tmp_path


@pytest.mark.parametrize("mode", ["passive", "epsv", "active", "eprt"])
def test_client_against_server_in_memory(root, mode):
    pair = Pair(make_config(), JailedFS(root), mode=mode)
    assert [r.name for r in pair.run(pair.client.login("alice", "secret"))] == ["login"]
    (done,) = pair.run(pair.client.retr("notes.txt"))
    assert done.data == b"alice's notes\n"
    (done,) = pair.run(pair.client.stor("up.bin", b"\x00\r\n" * 5000))
    assert isinstance(done, Done) and (root / "alice" / "up.bin").read_bytes() == b"\x00\r\n" * 5000
    (done,) = pair.run(pair.client.retr("up.bin", rest=14990))
    assert done.data == (b"\x00\r\n" * 5000)[14990:]
    (done,) = pair.run(pair.client.nlst())
    assert done.data.split() == [b"notes.txt", b"up.bin"]
    (failed,) = pair.run(pair.client.retr("missing"))
    assert isinstance(failed, Failed) and failed.reply.code == 550
    (done,) = pair.run(pair.client.quit())
    assert done.reply.code == 221 and pair.closed
    kinds = [e.kind for e in pair.trace if e.flow == "ftp-control"]
    assert kinds[:5] == ["220", "USER", "331", "PASS", "230"]
    data_events = [e for e in pair.trace if e.flow == "ftp-data"]
    if mode in ("active", "eprt"):
        assert data_events[0].src == "server" and data_events[0].src_port == 20  # RFC 959: from port 20
    else:
        assert data_events[0].src == "client"
    # the trace shows the password as it crossed the wire (RFC 2577 §6), labelled as the simulation and a
    # capture label it; the server's own command log never holds it
    assert next(e for e in pair.trace if e.kind == "PASS").label() == "PASS secret"
    assert pair.logs and not any("secret" in log.line for log in pair.logs)


def test_anonymous_text_download_in_memory(root):
    pair = Pair(make_config(), JailedFS(root))
    pair.run(pair.client.login())
    (done,) = pair.run(pair.client.retr("/pub/hello.txt", binary=False))
    assert done.data == b"hello\r\nworld\r\n"  # TYPE A: CRLF on the wire
    (failed,) = pair.run(pair.client.stor("/pub/new", b"x"))
    assert failed.reply.code == 550


def test_a_server_that_does_not_speak_ftp():
    c = FTPClient()
    events = c.receive(b"HTTP/1.1 400 Bad Request\r\n", now=0)
    assert isinstance(events[0], Failed) and "not an FTP reply" in events[0].reason
    assert c.closed and c.login() == []


def test_421_ends_the_session():
    c = FTPClient()
    c.receive(b"220 hi\r\n", now=0)
    c.login("a", "b")
    events = c.receive(b"421 Too many connections\r\n", now=0)
    assert isinstance(events[-1], Failed) and events[-1].reply.code == 421
    assert c.closed and c.command("NOOP") == []


def _retr_until_150(c):
    c.receive(b"220 hi\r\n", now=0)
    c.retr("f")
    c.receive(b"200 ok\r\n", now=0)
    c.receive(b"227 Entering Passive Mode (192,0,2,1,117,48).\r\n", now=0)


def test_data_connection_failure_aborts_and_keeps_the_session():
    c = FTPClient()
    _retr_until_150(c)
    assert c.data_failed("connection refused", now=0) == []  # still waiting for RETR's reply
    events = c.receive(b"150 Opening BINARY mode data connection.\r\n", now=0)
    assert SendCommand("ABOR") in events  # RFC 959 §4.1.3
    events = c.receive(b"426 Transfer aborted.\r\n226 ABOR command successful.\r\n", now=0)
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.name == "RETR" and failed.reply.code == 426 and failed.reason == "connection refused"
    assert not c.closed
    events = c.command("PWD")  # the conversation is still in step
    assert events == [SendCommand("PWD")]
    (done,) = [e for e in c.receive(b'257 "/" is the current directory.\r\n', now=0) if isinstance(e, Done)]
    assert done.reply.code == 257


def test_data_failure_after_the_servers_425():
    c = FTPClient()
    _retr_until_150(c)
    c.receive(b"150 Opening.\r\n425 Can't open data connection.\r\n", now=0)
    # the 425 already failed the transfer (see below); a late data_failed changes nothing
    assert c.current is None and c.data_failed("late", now=0) == []


def test_a_4yz_reply_ends_the_wait_for_data():
    c = FTPClient()
    _retr_until_150(c)
    events = c.receive(b"150 Opening.\r\n", now=0)
    assert not any(isinstance(e, (Done, Failed)) for e in events)  # waiting for the data
    events = c.receive(b"425 Can't open data connection.\r\n", now=0)
    (failed,) = [e for e in events if isinstance(e, Failed)]
    assert failed.name == "RETR" and failed.reply.code == 425 and not c.closed


def test_a_2yz_reply_does_not_end_the_wait_for_data():
    c = FTPClient()
    _retr_until_150(c)
    events = c.receive(b"150 Opening.\r\n226 Transfer complete.\r\n", now=0)
    assert not any(isinstance(e, (Done, Failed)) for e in events)  # the data may still be coming
    c.data_received(b"abc", now=0)
    (done,) = [e for e in c.data_closed(now=0) if isinstance(e, Done)]
    assert done.data == b"abc"


def test_active_listen_failure_fails_at_once():
    c = FTPClient(mode="active")
    c.receive(b"220 hi\r\n", now=0)
    c.retr("f")
    c.receive(b"200 ok\r\n", now=0)  # TYPE I; now the client asks to listen
    events = c.data_failed("no free port", now=0)
    assert events[0] == Failed("RETR", None, "no free port") and not c.closed
    assert c.command("NOOP") == [SendCommand("NOOP")]


def test_behind_nat_active_mode_fails_and_passive_works(root):
    # the client thinks it is 192.0.2.10; the server sees the NAT's 198.51.100.7
    active = Pair(make_config(), JailedFS(root), mode="active", nat_address="198.51.100.7")
    active.run(active.client.login())
    (failed,) = active.run(active.client.retr("/pub/hello.txt"))
    assert isinstance(failed, Failed) and failed.reply.code == 500  # PORT 192,0,2,10,...: not your address
    passive = Pair(make_config(), JailedFS(root), mode="passive", nat_address="198.51.100.7")
    passive.run(passive.client.login())
    (done,) = passive.run(passive.client.retr("/pub/hello.txt"))
    assert done.data == b"hello\nworld\n"
