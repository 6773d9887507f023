"""Our DNS server against real ``dig`` (bind9-dnsutils), and our stub resolver against our server and BIND 9.

Everything runs on loopback, on ports the kernel picks. dig's output is parsed
for its header line ("status: NXDOMAIN"), its flags and its answer lines.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from refimpl.dns import Message, Question, Rcode, Type, decode
from refimpl.dns.resolver import StubResolver
from refimpl.dns.server import AuthoritativeServer
from refimpl.dns.zone import read_zone
from refimpl.sockets.dns_client import QueryFailed, resolve
from refimpl.sockets.dns_server import DnsServer
from tests.server_thread import ServerThread

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"


@pytest.fixture(scope="module")
def live():
    driver = DnsServer(AuthoritativeServer(read_zone(ZONE_FILE)), "127.0.0.1", 0, idle_timeout=1.0)
    with ServerThread(driver.start, driver.close, "DNS server") as thread:
        yield thread


def dig(port: int, *args: str) -> dict:
    if shutil.which("dig") is None:
        pytest.skip("needs dig (Debian package bind9-dnsutils)")
    out = subprocess.run(
        ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3", *args],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout
    status = re.search(r"status: (\w+)", out)
    flags = re.search(r";; flags: ([a-z ]*);", out)
    size = re.search(r"MSG SIZE\s+rcvd: (\d+)", out)
    sections, current = {}, None
    for line in out.splitlines():
        header = re.match(r";; (\w+) SECTION:", line)
        if header:
            current = sections.setdefault(header.group(1), [])
        elif not line.strip():
            current = None
        elif current is not None and not line.startswith(";"):
            current.append(line.split())
    return {
        "status": status and status.group(1),
        "flags": set(flags.group(1).split()) if flags else set(),
        "answer": sections.get("ANSWER", []),
        "authority": sections.get("AUTHORITY", []),
        "size": int(size.group(1)) if size else None,
        "text": out,
    }


def test_dig_a(live):
    r = dig(live.port, "www.example.com", "A")
    assert r["status"] == "NOERROR" and "aa" in r["flags"], r["text"]
    assert [line[-1] for line in r["answer"]] == ["192.0.2.80"]


def test_dig_aaaa_through_cname(live):
    r = dig(live.port, "web.example.com", "AAAA")
    assert [line[3] for line in r["answer"]] == ["CNAME", "AAAA"] and r["answer"][-1][-1] == "2001:db8::80"


def test_dig_mx(live):
    r = dig(live.port, "example.com", "MX")
    assert r["answer"][0][-2:] == ["10", "mail.example.com."], r["text"]


def test_dig_nxdomain(live):
    r = dig(live.port, "nothing-here.example.com", "A")
    assert r["status"] == "NXDOMAIN" and not r["answer"] and r["authority"][0][3] == "SOA"


def test_dig_nodata(live):
    r = dig(live.port, "mail.example.com", "AAAA")
    assert r["status"] == "NOERROR" and not r["answer"] and r["authority"][0][3] == "SOA"


def test_dig_refused_outside_the_zone(live):
    assert dig(live.port, "www.example.net", "A")["status"] == "REFUSED"


def test_dig_truncation_then_tcp(live):
    udp = dig(live.port, "many.example.com", "A", "+notcp", "+noedns", "+ignore")
    assert "tc" in udp["flags"] and udp["size"] <= 512 and len(udp["answer"]) < 40, udp["text"]
    tcp = dig(live.port, "many.example.com", "A", "+tcp", "+noedns")
    assert "tc" not in tcp["flags"] and len(tcp["answer"]) == 40 and tcp["size"] > 512


def test_dig_big_txt_truncated_then_retried_over_tcp_by_dig_itself(live):
    r = dig(live.port, "big.example.com", "TXT", "+noedns")
    assert "Truncated, retrying in TCP mode" in r["text"] and len(r["answer"]) == 3


def test_dig_edns_bufsize(live):
    r = dig(live.port, "many.example.com", "A", "+bufsize=4096", "+notcp", "+ignore")
    # we advertise and use 1232 (policy); 40 A records take 671 octets, so they fit
    assert "tc" not in r["flags"] and len(r["answer"]) == 40 and 512 < r["size"] <= 1232
    assert "udp: 1232" in r["text"]


# -- our driver's own behaviour -----------------------------------------------------------
def tcp_query(sock: socket.socket, name: str, qtype: int = Type.A, ident: int = 1) -> Message:
    data = Message(id=ident, questions=[Question(name, qtype)]).encode()
    sock.sendall(len(data).to_bytes(2, "big") + data)
    length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
    return decode(sock.recv(length, socket.MSG_WAITALL))


def test_several_queries_on_one_tcp_connection(live):
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        answers = [tcp_query(sock, name, ident=i) for i, name in enumerate(["www.example.com", "nope.example.com"] * 3)]
    assert [a.id for a in answers] == list(range(6))
    assert [a.rcode for a in answers[:2]] == [Rcode.NOERROR, Rcode.NXDOMAIN]


def test_idle_tcp_connection_is_closed(live):
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        start = time.monotonic()
        assert sock.recv(10) == b""  # closed by the server after idle_timeout (1 s here)
        assert 0.5 < time.monotonic() - start < 4


def test_server_keeps_serving_after_bad_input(live):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(3)
        for junk in (b"", b"\xff", b"\x12\x34\x01\x00\x00\x01" + b"\x00" * 6 + b"\xc0\x0c", bytes(range(256)) * 2):
            udp.sendto(junk, ("127.0.0.1", live.port))
        reply = decode(udp.recvfrom(4096)[0])  # the third one has a header: FORMERR
        assert reply.rcode == Rcode.FORMERR and reply.id == 0x1234
    with socket.create_connection(("127.0.0.1", live.port), timeout=5) as sock:
        junk = b"\x56\x78\x01\x00\x00\x01" + b"\x00" * 6 + b"\xc0"  # a header, then half a pointer
        sock.sendall(len(junk).to_bytes(2, "big") + junk)
        length = int.from_bytes(sock.recv(2, socket.MSG_WAITALL), "big")
        reply = decode(sock.recv(length, socket.MSG_WAITALL))
        assert (reply.id, reply.rcode) == (0x5678, Rcode.FORMERR)
        assert tcp_query(sock, "www.example.com", ident=9).answer[0].value == "192.0.2.80"  # same connection
    assert dig(live.port, "www.example.com")["status"] == "NOERROR"


# -- our stub resolver --------------------------------------------------------------------
def test_resolver_udp(live):
    answer, over_tcp = resolve(StubResolver("www.example.com", Type.A), ("127.0.0.1", live.port))
    assert not over_tcp and answer.answer[0].value == "192.0.2.80"


def test_resolver_falls_back_to_tcp_on_tc(live):
    answer, over_tcp = resolve(StubResolver("many.example.com", Type.A, edns_size=None), ("127.0.0.1", live.port))
    assert over_tcp and not answer.tc and len(answer.answer) == 40


def test_resolver_retries_then_gives_up_on_a_silent_server():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        start = time.monotonic()
        with pytest.raises(QueryFailed, match="3 tries"):
            resolve(StubResolver("www.example.com", Type.A, timeout=0.2, tries=3), silent.getsockname())
        assert 0.5 < time.monotonic() - start < 2
        silent.settimeout(0)
        got = 0
        while True:
            try:
                silent.recv(512)
                got += 1
            except BlockingIOError:
                break
        assert got == 3


def test_resolver_ignores_a_spoofed_id():
    from refimpl.dns.resolver import Done, SendUdp

    r = StubResolver("www.example.com", Type.A)
    sent = r.start(now=0.0)[0]
    assert isinstance(sent, SendUdp)
    wrong = decode(sent.data).reply()
    wrong.id ^= 1
    assert r.receive(wrong.encode(), now=0.1) == []
    other = decode(sent.data).reply()
    other.questions = [Question("evil.example.com", Type.A)]
    assert r.receive(other.encode(), now=0.1) == []
    right = decode(sent.data).reply()
    assert isinstance(r.receive(right.encode(), now=0.2)[0], Done)


def test_cli_dns_query(live):
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "refimpl", "dns-query", "example.com", "MX", "--port", str(live.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0 and "MX 10 mail.example.com." in out.stdout and "status: NOERROR" in out.stdout


# -- our resolver against a real BIND 9 ---------------------------------------------------
def free_port() -> int:
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u, socket.socket() as t:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                t.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise OSError("no free port")


@pytest.fixture(scope="module")
def bind9():
    named = shutil.which("named") or ("/usr/sbin/named" if Path("/usr/sbin/named").exists() else None)
    if named is None:
        pytest.skip("needs named (Debian package bind9)")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        zone = Path(tmp, "example.zone")
        zone.write_text(ZONE_FILE.read_text())
        conf = Path(tmp, "named.conf")
        conf.write_text(
            f"""options {{
    directory "{tmp}"; pid-file "{tmp}/named.pid"; listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no;
}};
zone "example.com" {{ type primary; file "{zone}"; }};
"""
        )
        log = Path(tmp, "named.log")
        with open(log, "w") as out:
            user = ["-u", "root"] if os.geteuid() == 0 else []  # as root, named would switch to user "bind"
            argv = [named, "-g", "-c", str(conf), "-p", str(port), *user]
            proc = subprocess.Popen(argv, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    pytest.fail(f"named exited: {log.read_text()[-2000:]}")
                try:  # ready once the zone is loaded: an authoritative SOA (before, named may answer SERVFAIL)
                    ready, _ = resolve(StubResolver("example.com", Type.SOA, timeout=0.3, tries=1), ("127.0.0.1", port))
                except QueryFailed:
                    continue
                if ready.aa and ready.rcode == Rcode.NOERROR:
                    break
                time.sleep(0.1)
            else:
                pytest.fail(f"named did not answer: {log.read_text()[-2000:]}")
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def test_our_resolver_against_bind(bind9):
    answer, over_tcp = resolve(StubResolver("www.example.com", Type.A), ("127.0.0.1", bind9))
    assert answer.aa and not over_tcp and [r.value for r in answer.answer] == ["192.0.2.80"]


def test_our_resolver_gets_nxdomain_from_bind(bind9):
    answer, _ = resolve(StubResolver("nope.example.com", Type.A), ("127.0.0.1", bind9))
    assert answer.rcode == Rcode.NXDOMAIN and answer.authority[0].type == Type.SOA


def test_our_resolver_goes_to_tcp_with_bind(bind9):
    answer, over_tcp = resolve(StubResolver("many.example.com", Type.A, edns_size=None), ("127.0.0.1", bind9))
    assert over_tcp and len(answer.answer) == 40


def test_bind_and_we_answer_alike(bind9, live):
    for name, qtype in [("web.example.com", Type.AAAA), ("example.com", Type.MX), ("mail.example.com", Type.AAAA)]:
        ours, _ = resolve(StubResolver(name, qtype), ("127.0.0.1", live.port))
        theirs, _ = resolve(StubResolver(name, qtype), ("127.0.0.1", bind9))
        assert (ours.rcode, ours.aa) == (theirs.rcode, theirs.aa)
        assert sorted(map(str, ours.answer)) == sorted(map(str, theirs.answer)), name


def test_connection_cap_and_a_half_sent_message():
    """Beyond max_connections a connection is closed at once; a client that sends half a message
    holds its slot only until the idle timeout, and the server still answers others meanwhile."""
    driver = DnsServer(AuthoritativeServer(read_zone(ZONE_FILE)), "127.0.0.1", 0, idle_timeout=1.0, max_connections=2)
    with ServerThread(driver.start, driver.close, "DNS server (cap 2)") as thread:
        hogs = [socket.create_connection(("127.0.0.1", thread.port), timeout=5) for _ in range(2)]
        try:
            hogs[0].sendall(b"\x00\x40" + b"\x00" * 10)  # promises 64 octets, sends 10
            time.sleep(0.2)
            with socket.create_connection(("127.0.0.1", thread.port), timeout=5) as third:
                assert third.recv(10) == b""  # over the cap: closed without an answer
            answer, _ = resolve(StubResolver("www.example.com", Type.A), ("127.0.0.1", thread.port))
            assert answer.answer  # UDP is not held up
            start = time.monotonic()
            assert hogs[0].recv(10) == b"" and time.monotonic() - start < 3  # idle timeout frees it
        finally:
            for sock in hogs:
                sock.close()


def test_bind_responses_decode_and_round_trip(bind9):
    """BIND's own bytes (compressed names, its EDNS cookie) decode, and re-encode to an equal message."""
    from tests.test_dns_message import DIG_QUERY

    queries = [DIG_QUERY] + [
        Message(id=i, questions=[Question(n, t)]).encode()
        for i, (n, t) in enumerate(
            [("example.com", Type.ANY), ("_ftp._tcp.example.com", Type.SRV), ("big.example.com", Type.TXT)]
        )
    ]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(3)
        udp.connect(("127.0.0.1", bind9))
        for query in queries:
            udp.send(query)
            raw = udp.recv(65535)
            reply = decode(raw)
            assert reply.qr and reply.id == decode(query).id
            assert decode(reply.encode()) == reply
            assert len(reply.encode()) <= len(raw) + 16  # our compression is about as good as BIND's
