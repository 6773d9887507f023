"""Dynamic update with TSIG against real peers: ``nsupdate`` against our server, our client against BIND 9.

* nsupdate (bind9-dnsutils) with ``-y hmac-sha256:name:secret`` and ``-k FILE``
  sends UPDATEs to our server over UDP and TCP (``-v``); dig sees the result.
  nsupdate checks the TSIG of every answer, so its "update failed: ..." lines
  show that our signed answers verify too.
* Our update client (refimpl.dns.updater + refimpl.sockets.dns_update) sends
  to a real named (bind9) on a free loopback port with ``allow-update { key
  ...; }``; our resolver reads the change back from BIND, and BIND's signed
  answers pass our TSIG check.
* The same table of updates goes to both servers and must get the same RCODEs.

Loopback only; named runs in a temporary directory and is stopped at the end.
"""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from refimpl.dns import Rcode, Type
from refimpl.dns.resolver import StubResolver
from refimpl.dns.server import AuthoritativeServer
from refimpl.dns.tsig import Key
from refimpl.dns.updater import (
    UpdateRejected,
    UpdateRequest,
    add,
    delete_name,
    delete_rr,
    delete_rrset,
    name_in_use,
    name_not_in_use,
    rrset_absent,
    rrset_exists,
    rrset_is,
)
from refimpl.dns.zone import read_zone
from refimpl.sockets.dns_client import QueryFailed, resolve
from refimpl.sockets.dns_server import DnsServer
from refimpl.sockets.dns_update import send_update
from tests.server_thread import ServerThread
from tests.test_dns_interop import free_port

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"
KEY = Key("ddns-key.example.com", bytes(range(32)))
SECRET = base64.b64encode(KEY.secret).decode()
KEY_STATEMENT = f'key "{KEY.name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n'


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if Path(p).exists()), None)
    if path is None:
        pytest.skip(f"needs {tool} (Debian package {package})")
    return path


@pytest.fixture(scope="module")
def ours():
    driver = DnsServer(AuthoritativeServer(read_zone(ZONE_FILE), keys=[KEY]), "127.0.0.1", 0, idle_timeout=1.0)
    with ServerThread(driver.start, driver.close, "DNS server with TSIG") as thread:
        yield thread


def nsupdate(port: int, commands: list[str], *args: str) -> subprocess.CompletedProcess:
    script = "\n".join([f"server 127.0.0.1 {port}", *commands, "send", ""])
    return subprocess.run(
        [need("nsupdate", "bind9-dnsutils"), "-t", "5", *args], input=script, capture_output=True, text=True, timeout=30
    )


def lookup(port: int, name: str, qtype: int = Type.A):
    answer, _ = resolve(StubResolver(name, qtype, timeout=1.0, tries=2), ("127.0.0.1", port))
    return answer.rcode, sorted(str(r.value) for r in answer.answer)


def dig_short(port: int, name: str, qtype: str = "A") -> list[str]:
    out = subprocess.run(
        [need("dig", "bind9-dnsutils"), "@127.0.0.1", "-p", str(port), "+short", "+tries=1", "+time=3", name, qtype],
        capture_output=True,
        text=True,
        timeout=20,
    )
    return sorted(out.stdout.split())


def serial(port: int) -> int:
    answer, _ = resolve(StubResolver("example.com", Type.SOA, timeout=1.0, tries=2), ("127.0.0.1", port))
    return answer.answer[0].value[2]


# -- nsupdate against our server ----------------------------------------------------------
def test_nsupdate_adds_over_udp_and_dig_sees_it(ours):
    before = serial(ours.port)
    out = nsupdate(
        ours.port,
        ["zone example.com", "update add ns-udp.example.com 300 A 192.0.2.31"],
        "-y",
        f"hmac-sha256:{KEY.name}:{SECRET}",
    )
    assert out.returncode == 0, out.stderr
    assert dig_short(ours.port, "ns-udp.example.com") == ["192.0.2.31"]
    assert serial(ours.port) == before + 1  # RFC 2136 §3.6: one increment for the update


def test_nsupdate_over_tcp(ours):
    y = f"hmac-sha256:{KEY.name}:{SECRET}"
    out = nsupdate(
        ours.port, ["zone example.com", "update add ns-tcp.example.com 300 AAAA 2001:db8::31"], "-v", "-y", y
    )
    assert out.returncode == 0, out.stderr
    assert dig_short(ours.port, "ns-tcp.example.com", "AAAA") == ["2001:db8::31"]


def test_nsupdate_adds_then_deletes(ours):
    y = f"hmac-sha256:{KEY.name}:{SECRET}"
    assert nsupdate(ours.port, ['update add gone.example.com 60 TXT "bye"'], "-y", y).returncode == 0
    assert dig_short(ours.port, "gone.example.com", "TXT") == ['"bye"']
    assert (
        nsupdate(ours.port, ["update delete gone.example.com"], "-y", y).returncode == 0
    )  # no zone: nsupdate asks SOA
    assert lookup(ours.port, "gone.example.com", Type.TXT)[0] == Rcode.NXDOMAIN


@pytest.mark.parametrize(
    "commands, key, failure",
    [
        (
            ["update add bad.example.com 60 A 192.0.2.66"],
            f"hmac-sha256:{KEY.name}:{base64.b64encode(bytes(32)).decode()}",
            "NOTAUTH(BADSIG)",
        ),
        (["update add bad.example.com 60 A 192.0.2.66"], f"hmac-sha256:other.example.com:{SECRET}", "NOTAUTH(BADKEY)"),
        (["update add bad.example.com 60 A 192.0.2.66"], None, "REFUSED"),  # unsigned: our policy
        (["prereq nxdomain www.example.com", "update add bad.example.com 60 A 192.0.2.66"], "ok", "YXDOMAIN"),
        (["prereq yxrrset www.example.com MX", "update add bad.example.com 60 A 192.0.2.66"], "ok", "NXRRSET"),
        (["update add bad.example.com 60 A 192.0.2.66", "update add bad.example.net 60 A 192.0.2.66"], "ok", "NOTZONE"),
    ],
)
def test_nsupdate_failures(ours, commands, key, failure):
    args = [] if key is None else ["-y", f"hmac-sha256:{KEY.name}:{SECRET}" if key == "ok" else key]
    out = nsupdate(ours.port, ["zone example.com", *commands], *args)
    assert out.returncode != 0 and f"update failed: {failure}" in out.stderr, out.stderr
    assert lookup(ours.port, "bad.example.com")[0] == Rcode.NXDOMAIN


def wait_for_server(proc: subprocess.Popen, port: int, seconds: float = 30.0) -> None:
    """Wait until the CLI server answers a query; fail with its stderr if it died or never answered.

    A fresh CI machine may take several seconds to start Python and compile the package, so
    the wait is long but bounded, and a silent start-up failure is reported, not retried into.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dns-server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            lookup(port, "www.example.com")
            return
        except QueryFailed:
            time.sleep(0.2)
    pytest.fail(f"dns-server did not answer on 127.0.0.1:{port} within {seconds:.0f} s")


def test_cli_server_with_a_bind_key_file_and_nsupdate_k(tmp_path):
    """``dns-server --tsig-key-file`` reads what tsig-keygen prints; nsupdate -k uses the same file."""
    keygen = need("tsig-keygen", "bind9")
    key_file = tmp_path / "ddns.key"
    key_file.write_text(
        subprocess.run([keygen, "-a", "hmac-sha256", "cli-key"], capture_output=True, text=True, timeout=20).stdout
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refimpl",
            "dns-server",
            "--zone",
            str(ZONE_FILE),
            "--port",
            str(port),
            "--tsig-key-file",
            str(key_file),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_server(proc, port)
        out = nsupdate(port, ["zone example.com", "update add cli.example.com 60 A 192.0.2.41"], "-k", str(key_file))
        assert out.returncode == 0, out.stderr
        assert lookup(port, "cli.example.com") == (Rcode.NOERROR, ["192.0.2.41"])
    finally:
        proc.terminate()
        proc.wait(10)


def test_cli_refuses_a_bad_key():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "refimpl",
            "dns-server",
            "--zone",
            str(ZONE_FILE),
            "--port",
            "0",
            "--tsig-key",
            "k:not*base64",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2 and "--tsig-key" in out.stderr


# -- our client against our server ----------------------------------------------------------
@pytest.mark.parametrize("tcp", [False, True])
def test_our_client_against_our_server(ours, tcp):
    name = f"client-{'tcp' if tcp else 'udp'}.example.com"
    request = (
        UpdateRequest("example.com", KEY).require(name_not_in_use(name)).change(add(name, Type.A, "192.0.2.51", 60))
    )
    assert send_update(request, ("127.0.0.1", ours.port), tcp=tcp).rcode == Rcode.NOERROR
    assert dig_short(ours.port, name) == ["192.0.2.51"]


# -- our client against BIND 9 --------------------------------------------------------------
def start_named(named: str, tmp: str) -> tuple[subprocess.Popen, int]:
    """named on a free loopback port, ready once it answers the zone's SOA authoritatively.

    The port is free when chosen but another process may take it before named
    binds it (a shared machine): named then exits, and we try another port, 3 times at most.
    """
    zone = Path(tmp, "example.zone")
    zone.write_text(ZONE_FILE.read_text())
    Path(tmp, "ddns.key").write_text(KEY_STATEMENT)
    log = Path(tmp, "named.log")
    for _attempt in range(3):
        port = free_port()
        conf = Path(tmp, "named.conf")
        conf.write_text(
            f"""include "{tmp}/ddns.key";
options {{
    directory "{tmp}"; pid-file "{tmp}/named.pid"; listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no;
}};
zone "example.com" {{ type primary; file "{zone}"; allow-update {{ key "{KEY.name}"; }}; }};
"""
        )
        with open(log, "w") as out:
            user = ["-u", "root"] if os.geteuid() == 0 else []  # as root, named would switch to user "bind"
            proc = subprocess.Popen([named, "-g", "-c", str(conf), "-p", str(port), *user], stdout=out, stderr=out)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready, _ = resolve(StubResolver("example.com", Type.SOA, timeout=0.3, tries=1), ("127.0.0.1", port))
                if ready.aa and ready.rcode == Rcode.NOERROR:
                    return proc, port
            except QueryFailed:
                continue
            time.sleep(0.1)
        stop_named(proc)
    pytest.fail(f"named did not start in 3 tries: {log.read_text()[-2000:]}")


def stop_named(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


@pytest.fixture
def bind9_updatable():
    """A fresh named per test (the zone changes), allow-update for our key only."""
    named = need("named", "bind9")
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_named(named, tmp)
        try:
            yield port
        finally:
            stop_named(proc)


def test_our_client_adds_to_bind_and_bind_answers_it(bind9_updatable):
    port = bind9_updatable
    before = serial(port)
    request = UpdateRequest("example.com", KEY).change(add("ours.example.com", Type.A, "192.0.2.61", 300))
    answer = send_update(request, ("127.0.0.1", port))  # BIND's answer is signed: check_answer verified it
    assert answer.rcode == Rcode.NOERROR
    assert lookup(port, "ours.example.com") == (Rcode.NOERROR, ["192.0.2.61"])
    assert serial(port) > before
    gone = UpdateRequest("example.com", KEY).change(delete_name("ours.example.com"))
    assert send_update(gone, ("127.0.0.1", port), tcp=True).rcode == Rcode.NOERROR
    assert lookup(port, "ours.example.com")[0] == Rcode.NXDOMAIN


def test_bind_rejects_a_wrong_key_and_a_wrong_secret(bind9_updatable):
    for key, verdict in [(Key("other.example.com", KEY.secret), "BADKEY"), (Key(KEY.name, bytes(32)), "BADSIG")]:
        request = UpdateRequest("example.com", key).change(add("intruder.example.com", Type.A, "192.0.2.66", 60))
        with pytest.raises(UpdateRejected, match=verdict):
            send_update(request, ("127.0.0.1", bind9_updatable))
    unsigned = UpdateRequest("example.com").change(add("intruder.example.com", Type.A, "192.0.2.66", 60))
    assert send_update(unsigned, ("127.0.0.1", bind9_updatable)).rcode == Rcode.REFUSED
    assert lookup(bind9_updatable, "intruder.example.com")[0] == Rcode.NXDOMAIN


#: (prerequisites, updates): the same sequence goes to BIND and to us; the RCODEs must match
SAME_RCODES = [
    ([name_in_use("www.example.com")], [add("t1.example.com", Type.A, "192.0.2.71", 60)]),
    ([name_in_use("nope.example.com")], [add("t2.example.com", Type.A, "192.0.2.72", 60)]),
    ([name_not_in_use("www.example.com")], [add("t3.example.com", Type.A, "192.0.2.73", 60)]),
    ([rrset_exists("www.example.com", Type.AAAA)], [add("t4.example.com", Type.A, "192.0.2.74", 60)]),
    ([rrset_exists("www.example.com", Type.MX)], []),
    ([rrset_absent("mail.example.com", Type.A)], []),
    ([rrset_is("www.example.com", Type.A, "192.0.2.80")], [delete_rrset("www.example.com", Type.AAAA)]),
    ([rrset_is("www.example.com", Type.A, "192.0.2.99")], []),
    ([], [add("x.example.net", Type.A, "192.0.2.75", 60)]),  # NOTZONE
    ([], [delete_rr("example.com", Type.NS, "ns1.example.com")]),  # the last NS: ignored, NOERROR
    ([], [add("web.example.com", Type.A, "192.0.2.76", 60)]),  # beside a CNAME: ignored, NOERROR
    ([], [delete_rr("many.example.com", Type.A, "192.0.2.101"), delete_rrset("ftp-server.example.com", Type.A)]),
    ([], [delete_name("example.com")]),  # the apex keeps SOA and NS
]
AFTER = [
    ("t1.example.com", Type.A),
    ("t2.example.com", Type.A),
    ("t4.example.com", Type.A),
    ("www.example.com", Type.AAAA),
    ("example.com", Type.NS),
    ("example.com", Type.MX),
    ("web.example.com", Type.A),
    ("ftp-server.example.com", Type.A),
    ("many.example.com", Type.A),
]


def test_bind_and_we_answer_updates_alike(bind9_updatable):
    driver = DnsServer(AuthoritativeServer(read_zone(ZONE_FILE), keys=[KEY]), "127.0.0.1", 0, idle_timeout=1.0)
    with ServerThread(driver.start, driver.close, "DNS server (fresh zone)") as fresh:
        for i, (prereqs, updates) in enumerate(SAME_RCODES):
            rcodes = []
            for port in (bind9_updatable, fresh.port):
                request = UpdateRequest("example.com", KEY).require(*prereqs).change(*updates)
                rcodes.append(Rcode(send_update(request, ("127.0.0.1", port)).rcode).name)
            assert rcodes[0] == rcodes[1], f"step {i}: BIND {rcodes[0]}, ours {rcodes[1]}"
        for name, qtype in AFTER:
            assert lookup(bind9_updatable, name, qtype) == lookup(fresh.port, name, qtype), name
        for port in (bind9_updatable, fresh.port):  # §3.6: both moved the serial (BIND by its own rule)
            assert serial(port) > 2026120301


@pytest.mark.parametrize("transport", ["+notcp", "+tcp"])
def test_dig_y_gets_signed_answers_to_queries(ours, transport):
    """dig -y signs its query and checks the TSIG of our answer (RFC 8945 §4.3.1: request MAC included)."""
    dig = need("dig", "bind9-dnsutils")
    base = [dig, "@127.0.0.1", "-p", str(ours.port), "+tries=1", "+time=3", transport, "www.example.com", "A"]
    good = subprocess.run([*base, "-y", f"hmac-sha256:{KEY.name}:{SECRET}"], capture_output=True, text=True, timeout=20)
    assert "status: NOERROR" in good.stdout and "192.0.2.80" in good.stdout
    assert "TSIG PSEUDOSECTION" in good.stdout and "NOERROR 0" in good.stdout.split("TSIG PSEUDOSECTION")[1]
    assert "verify" not in good.stdout.lower() + good.stderr.lower()  # dig prints "Couldn't verify" on failure
    bad_secret = base64.b64encode(bytes(32)).decode()
    bad = subprocess.run(
        [*base, "-y", f"hmac-sha256:{KEY.name}:{bad_secret}"], capture_output=True, text=True, timeout=20
    )
    assert "status: NOTAUTH" in bad.stdout and "BADSIG" in bad.stdout
