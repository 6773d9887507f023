"""``python -m refimpl dns-server`` and ``dns-query`` as a user runs them; the resolver core alone."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from refimpl.dns import Message, Question, Type, decode
from refimpl.dns.resolver import Done, Failed, SendTcp, SendUdp, StubResolver

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"
PY = [sys.executable, "-m", "refimpl"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        return u.getsockname()[1]


def test_server_answers_then_stops_on_sigterm(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [*PY, "dns-server", "--zone", str(ZONE_FILE), "--port", str(port)], stderr=subprocess.PIPE, text=True
    )
    try:
        out = None
        for _ in range(50):  # up to 5 s for it to start
            out = subprocess.run(
                [*PY, "dns-query", "www.example.com", "AAAA", "--port", str(port), "--timeout", "0.2", "--tries", "1"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            if out.returncode == 0:
                break
            time.sleep(0.1)
        assert "AAAA 2001:db8::80" in out.stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        assert "DNS server for example.com" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_server_refuses_a_bad_zone_file(tmp_path):
    bad = tmp_path / "bad.zone"
    bad.write_text("$ORIGIN x.\n@ 1 SOA a b (1 2 3 4 5\n")
    out = subprocess.run(
        [*PY, "dns-server", "--zone", str(bad), "--port", "0"], capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 1 and "never closed" in out.stderr


def test_query_exit_codes():
    port = free_port()  # nobody listens: ICMP port unreachable, then give up
    out = subprocess.run(
        [*PY, "dns-query", "a.example", "--port", str(port), "--timeout", "0.1", "--tries", "2"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 1 and "no answer after 2 tries" in out.stderr
    out = subprocess.run([*PY, "dns-query", "a.example", "NOSUCHTYPE"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and "unknown record type" in out.stderr


# -- the resolver core, without sockets ---------------------------------------------------
def test_resolver_core_tc_switches_to_tcp_and_ignores_late_udp():
    r = StubResolver("many.example.com", Type.A, edns_size=None)
    (first,) = r.start(now=0.0)
    assert isinstance(first, SendUdp) and decode(first.data).edns is None
    truncated = decode(first.data).reply()
    truncated.tc = True
    (again,) = r.receive(truncated.encode(), now=0.1)
    assert isinstance(again, SendTcp) and again.data == first.data
    assert r.receive(truncated.encode(), now=0.2) == []  # a late UDP copy changes nothing
    whole = decode(first.data).reply()
    (done,) = r.receive(whole.encode(), now=0.3, tcp=True)
    assert isinstance(done, Done) and done.over_tcp


def test_resolver_core_timer_resends_then_fails():
    r = StubResolver("a.example", Type.A, timeout=1.0, tries=2)
    r.start(now=0.0)
    assert r.get_timer() == 1.0 and r.handle_timer(now=0.5) == []
    (resend,) = r.handle_timer(now=1.0)
    assert isinstance(resend, SendUdp)
    (failed,) = r.handle_timer(now=2.0)
    assert isinstance(failed, Failed) and r.get_timer() is None


def test_resolver_core_ignores_a_query_and_garbage():
    r = StubResolver("a.example", Type.A)
    (sent,) = r.start(now=0.0)
    assert r.receive(sent.data, now=0.1) == []  # QR=0: our own query reflected
    assert r.receive(b"\x00\x01", now=0.1) == []
    assert r.receive(Message(qr=True, id=r.query.id, questions=[Question("b.example")]).encode(), now=0.1) == []
