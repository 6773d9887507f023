"""The TFTP server under attack (issue 16, points 10-12), through the real socket driver on loopback.

* An option value of 5,000 zeros then "512": the request is answered, and a
  refused request leaves nothing behind (no ``.part`` file).
* 500 WRQs without DATA from one address: another client is still served
  (a per-client cap beside the global one).
* Reflection: a request that is never acknowledged gets back a bounded number
  of bytes (the amplification factor is measured, for a 20-byte RRQ and for
  blksize 65464 with ACK 0).

Each attack is followed (or accompanied) by a normal download, which must work.
The traffic stays on 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest
from dhcp_real_harness import wait_until
from test_tftp_interop import LOOPBACK, SMALL, LiveServer, need, rrq, tftp_hpa, udp_client, wrq
from tftp_loop import CLIENT, Loop, accept, content, run_get, serve

from refimpl.tftp import Data, DiskFiles, Send, ServerConfig, TftpServer
from refimpl.tftp.options import _number
from refimpl.tftp.packets import Ack, Error, OptionAck, decode

ZEROS_512 = "0" * 5000 + "512"  # longer than Python's 4300-digit limit for int(), yet only 512


@pytest.fixture
def root(tmp_path: Path) -> Path:
    served = tmp_path / "root"
    (served / "pub").mkdir(parents=True)
    (served / "small.bin").write_bytes(SMALL)
    (served / "pub" / "big.bin").write_bytes(os.urandom(200_000))
    return served


ATTACKER = "127.0.0.2"  # another loopback address: tftp-hpa, the normal client, talks from 127.0.0.1


@contextlib.contextmanager
def attacker_socket(timeout: float = 5):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((ATTACKER, 0))
        sock.settimeout(timeout)
        yield sock
    finally:
        sock.close()


def parts(root: Path) -> list[Path]:
    return list(root.rglob(".tftp-*"))


@contextlib.contextmanager
def normal_downloads(port: int, tmp_path: Path):
    """tftp-hpa downloading small.bin over and over in a thread, while the ``with`` body attacks."""
    need("tftp")
    results: list[bool] = []
    stop = threading.Event()

    def keep_getting() -> None:
        for attempt in range(200):  # bounded
            if stop.is_set():
                return
            target = tmp_path / f"during-{attempt}.bin"
            try:
                result = tftp_hpa(port, "binary", "get", "small.bin", str(target), timeout=20)
                why = result.stdout + result.stderr
            except subprocess.TimeoutExpired:
                why = "timed out"
            results.append(target.exists() and target.read_bytes() == SMALL or why)

    thread = threading.Thread(target=keep_getting, daemon=True)
    thread.start()
    try:
        yield results
    finally:
        stop.set()
        thread.join(30)


def get_after(port: int, tmp_path: Path) -> bytes:
    """One normal download with tftp-hpa, after the attack."""
    need("tftp")
    target = tmp_path / "after.bin"
    tftp_hpa(port, "binary", "get", "small.bin", str(target), timeout=20)
    return target.read_bytes() if target.exists() else b""


# -- point 10: an option value of 5,000 zeros then "512" -------------------------------------------------------
def test_a_number_with_thousands_of_leading_zeros_is_just_that_number():
    """int() refuses strings of more than 4300 digits (ValueError); the zeros in front count for nothing."""
    assert _number(ZEROS_512, 8, 65464) == 512
    assert _number("0" * 5000, 0, 10) == 0
    assert _number("0" * 5000 + "70000", 8, 65464) is None


@pytest.mark.parametrize("option", ["blksize", "timeout", "tsize"])
def test_the_core_answers_a_request_with_5000_zeros_and_a_refusal_leaves_no_part_file(tmp_path, option):
    server = TftpServer(DiskFiles(tmp_path, writable=True), ServerConfig(max_upload=100))
    effects = server.receive(wrq("up.bin", **{option: ZEROS_512}), ("192.0.2.10", 4000), now=0.0)
    assert effects  # an answer, not an exception
    if option == "tsize":  # 512 bytes announced, 100 allowed: ERROR 3, and the temporary file is gone
        assert isinstance(effects[0].packet, Error) and effects[0].packet.code == 3
        assert not parts(tmp_path)
    else:
        effects[0].transfer.fail("test over")
        assert not parts(tmp_path)


def test_a_refusal_for_any_reason_after_the_upload_was_opened_removes_it(tmp_path, monkeypatch):
    """Whatever goes wrong between opening the upload and starting its transfer, nothing stays on disk."""
    from refimpl.tftp import server as server_module

    def broken(*args, **kw):
        raise RuntimeError("a bug in the option code")

    monkeypatch.setattr(server_module, "server_accepts", broken)
    server = TftpServer(DiskFiles(tmp_path, writable=True))
    with pytest.raises(RuntimeError):
        server.receive(wrq("up.bin", blksize="1024"), ("192.0.2.10", 4000), now=0.0)
    assert not parts(tmp_path)


def test_300_requests_with_5000_zeros_are_answered_and_leave_no_part_file(root, tmp_path):
    """Through the driver: every request gets an answer; refused ones (tsize over the limit) leave nothing,
    accepted ones are ended by the client with an ERROR and leave nothing either. tftp-hpa is served
    during and after."""
    answers = {}
    with LiveServer(root, writable=True, max_upload=100, timeout=5) as srv, contextlib.ExitStack() as sockets:
        with normal_downloads(srv.port, tmp_path) as during:
            for i in range(300):
                option = ("blksize", "timeout", "tsize")[i % 3]
                request = (wrq if i % 2 else rrq)(f"up-{i}.bin" if i % 2 else "small.bin", **{option: ZEROS_512})
                # Not from tftp-hpa's address: each has its own cap. Every socket stays open to the end, so each
                # request has a port of its own: a closed one's port, taken again by the kernel while the
                # server still runs the transfer it named, would make the request a repeat, rightly ignored.
                sock = sockets.enter_context(attacker_socket())
                sock.sendto(request, (LOOPBACK, srv.port))
                try:
                    data, address = sock.recvfrom(65536)
                except TimeoutError:
                    pytest.fail(f"request {i} ({option}) got no answer; server log ends:\n{srv.log.text()[-2000:]}")
                answer = decode(data)
                if not isinstance(answer, Error):
                    sock.sendto(Error(0, "enough").encode(), address)  # the client gives up at once
                answers[i] = answer
            wait_until(lambda: not srv.driver.transfers, 20, "every transfer to end")
            wait_until(lambda: during, 30, "a download during the attack")
        assert get_after(srv.port, tmp_path) == SMALL
        log = srv.log.text()
    assert during and all(ok is True for ok in during), during
    assert not parts(root), parts(root)
    assert "internal error" not in log
    assert isinstance(answers[0], OptionAck) and answers[0].options == {"blksize": "512"}  # RRQ blksize
    assert isinstance(answers[1], Ack) and answers[1].block == 0  # WRQ timeout 512: out of range, left out
    assert isinstance(answers[5], Error) and answers[5].code == 3  # WRQ tsize 512 > 100


# -- point 11: one host takes every transfer slot -------------------------------------------------------------
def test_500_wrqs_without_data_from_one_address_do_not_lock_out_another_client(root, tmp_path):
    """Each WRQ opens an upload and waits for DATA that never comes (for timeout x retries). One address
    gets at most ``max_per_client`` of the ``max_transfers`` slots; beyond, ERROR 0 to that address only."""
    answers = []
    with LiveServer(root, writable=True, timeout=5) as srv:  # the slots stay taken during the whole test
        with contextlib.ExitStack() as stack:
            sockets = [stack.enter_context(attacker_socket()) for _ in range(500)]  # 500 source ports
            for i, sock in enumerate(sockets):  # one at a time: a burst would overflow a socket buffer
                sock.sendto(wrq(f"pub/flood-{i}.bin"), (LOOPBACK, srv.port))
                answers.append(decode(sock.recvfrom(65536)[0]))
            running = len(srv.driver.transfers)
            with normal_downloads(srv.port, tmp_path) as during:
                wait_until(lambda: len(during) >= 3, 60, "three downloads during the attack")
            assert all(ok is True for ok in during), during
        log = srv.log.text()
        assert get_after(srv.port, tmp_path) == SMALL
    busy = [a for a in answers if isinstance(a, Error)]
    assert running == 16 and len(busy) == 500 - 16, (running, len(busy))
    assert all(a.code == 0 and "from your address" in a.message for a in busy)
    assert f"too many transfers from {ATTACKER}" in log


def test_the_cli_sets_the_per_client_cap():
    from refimpl.cli.tftp import server_parser

    assert server_parser().parse_args(["--root", "."]).max_per_client == 16
    assert server_parser().parse_args(["--root", ".", "--max-per-client", "2"]).max_per_client == 2


# -- point 12: reflection ---------------------------------------------------------------------------------
def reflected(port: int, request: bytes, *, ack_oack: bool = False) -> tuple[int, int]:
    """Send ``request`` (and ACK 0 to an OACK, if asked), then never answer: (bytes sent, bytes received).

    This is what a spoofed request costs its victim: the server's packets go to the address in the
    request, and nobody there acknowledges anything."""
    sent, received = len(request), 0
    with udp_client(1.0) as sock:
        sock.sendto(request, (LOOPBACK, port))
        for _ in range(100):  # bounded: the server gives up after its retries
            try:
                data, address = sock.recvfrom(65536)
            except TimeoutError:
                break
            received += len(data)
            if ack_oack and isinstance(decode(data), OptionAck):
                sock.sendto(Ack(0).encode(), address)
                sent += 4
    return sent, received


@pytest.mark.parametrize(
    "case, attack, ack_oack, most",
    [
        ("20-byte RRQ", rrq("pub/big.bin"), False, 80),  # DATA 1 (516 bytes) and two resends: x77
        ("blksize 65464, ACK 0", rrq("pub/big.bin", blksize="65464"), True, 1750),  # one DATA 1 only: x1723
    ],
)
def test_an_unacknowledged_peer_gets_a_bounded_number_of_bytes(root, tmp_path, case, attack, ack_oack, most):
    """Until the peer acknowledges a DATA block, the server resends on its own only up to ``resend_budget``
    bytes (1500): the amplification factor was x155 for a 20-byte RRQ and x10,337 with blksize 65464."""
    assert len(attack) == (20 if not ack_oack else 34)
    with LiveServer(root, timeout=0.05) as srv:  # the whole retry schedule takes about 1.5 s
        with normal_downloads(srv.port, tmp_path) as during:
            sent, received = reflected(srv.port, attack, ack_oack=ack_oack)
            wait_until(lambda: during, 30, "a download during the attack")
            assert all(ok is True for ok in during), during
        wait_until(lambda: srv.driver.stats["failed"] >= 1, 10, "the abandoned transfer to give up")
        assert get_after(srv.port, tmp_path) == SMALL
    factor = received / sent
    print(f"{case}: {sent} bytes sent, {received} bytes back, x{factor:.0f}")
    assert factor <= most, (case, sent, received, factor)


# The rule in the core, without sockets (tests/tftp_loop.py's fake clock).
def test_the_timer_stops_resending_to_an_unverified_peer_within_the_budget_then_gives_up_as_before():
    server = serve({"f": content(5000)}, timeout=1.0)
    transfer, _ = accept(server, rrq("f"), CLIENT)
    sent = [effect.data for effect in transfer.start(now=0.0) if isinstance(effect, Send)]
    now = 0.0
    for _ in range(20):  # bounded: 5 tries, then the transfer fails
        if transfer.finished:
            break
        now = transfer.get_timer()
        sent += [effect.data for effect in transfer.handle_timer(now=now) if isinstance(effect, Send)]
    assert sent == [Data(1, content(512)).encode()] * 3  # DATA 1 and two resends: 1032 of 1500 bytes resent
    assert transfer.finished and "no answer after 5 retransmissions" in transfer.error
    assert now == pytest.approx(1 + 2 + 4 + 8 + 8 + 8)  # the same schedule as before, only silent


def test_a_verified_peer_gets_every_resend():
    """After the peer's first ACK of a DATA, a lost block is resent up to max_retries, as RFC 1350 §2 says."""
    server = serve({"f": content(5000)}, timeout=1.0)
    transfer, _ = accept(server, rrq("f"), CLIENT)
    transfer.start(now=0.0)
    transfer.receive(Ack(1).encode(), CLIENT, now=0.1)
    assert transfer.verified
    resends = []
    for _ in range(20):
        if transfer.finished:
            break
        resends += [e for e in transfer.handle_timer(now=transfer.get_timer()) if isinstance(e, Send)]
    assert len(resends) == 5 and all(e.packet == Data(2, content(1024)[512:]) for e in resends)


@pytest.mark.parametrize("lost", [{3}, {3, 5}, {3, 5, 7}])  # DATA 1 lost once, twice, three times
def test_a_real_client_that_lost_data_1_still_gets_the_file_by_repeating_ack_0(lost):
    """blksize 2000: DATA 1 (2004 bytes) is never resent by the timer (over the budget), but the client's
    own repeated ACK 0 brings it again, one for one (packets: RRQ, OACK, ACK 0, DATA 1, ...)."""
    data = content(5000)
    loop, client, into = run_get(serve({"f": data}), "f", loop=Loop(drop=lost), blksize=2000)
    assert client.ok and into.getvalue() == data
    data_1 = [s for s in loop.log if s.kind == "DATA" and s.packet.block == 1]
    assert [s.number for s in data_1] == [*sorted(lost), max(lost) + 2], loop.log  # each after an ACK 0
    assert any("before any DATA was acknowledged: DATA 1 again" in text for _, text in loop.notes)
