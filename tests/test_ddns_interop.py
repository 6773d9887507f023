"""DDNS end to end on real sockets: a real DHCP client, our DHCP server, a DNS server, ``dig``.

In a two-host lab (network namespaces, RFC 5737 addresses): busybox udhcpc or
ISC dhclient on the client asks for a lease and names itself (udhcpc: option 81
with ``-F``, option 12 with ``-x hostname:``; dhclient: option 81 from its
``send fqdn.*`` configuration); our ``dhcp-server --ddns`` on the server host sends
the signed UPDATEs after the DHCPACK to

(a) our own ``dns-server``, one process per zone (example.com and
    2.0.192.in-addr.arpa, it serves one zone each), and
(b) a real BIND 9 (``named``) serving both zones with ``allow-update { key ...; }``,

both on the server host's own loopback. ``dig`` then shows the A, PTR and
DHCID records; udhcpc's DHCPRELEASE (``-R``, on SIGTERM) removes them. The
lab, its processes and the temporary files are removed at the end.
"""

from __future__ import annotations

import base64
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from dhcp_real_harness import (
    DHCLIENT_SCRIPT,
    UDHCPC_SCRIPT,
    client_script,
    events,
    need_lab,
    refimpl,
    start_logged,
    start_server,
    stop,
    wait_until,
)

from refimpl.dns.records import dhcid_for_dhcpv4
from refimpl.lab.netns import two_hosts
from tests.ddns_helpers import FORWARD, KEY, REVERSE

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_tool, pytest.mark.slow]

SECRET = base64.b64encode(KEY.secret).decode()
KEY_STATEMENT = f'key "{KEY.name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{SECRET}";\n}};\n'
FORWARD_PORT, REVERSE_PORT, BIND_PORT = 5301, 5302, 5303  # inside the server's own namespace: free


def need(tool: str, package: str) -> str:
    path = shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if Path(p).exists()), None)
    if path is None:
        pytest.skip(f"needs {tool} (Debian package {package})")
    return path


def dig(host, port: int, name: str, qtype: str) -> list[str]:
    out = host.run([need("dig", "bind9-dnsutils"), "@127.0.0.1", "-p", str(port), "+short", "+tries=1", "+time=2",
                    name, qtype], timeout=15)  # fmt: skip
    return sorted(line for line in out.stdout.splitlines() if line and not line.startswith(";"))


def our_dns(host, tmp: Path) -> dict[str, int]:
    """Two dns-server processes in ``host``: port by zone."""
    (tmp / "forward.zone").write_text(FORWARD)
    (tmp / "reverse.zone").write_text(REVERSE)
    (tmp / "ddns.key").write_text(KEY_STATEMENT)
    for zone, port in (("forward", FORWARD_PORT), ("reverse", REVERSE_PORT)):
        log = tmp / f"dns-{zone}.log"
        start_logged(host, refimpl("dns-server", "--zone", str(tmp / f"{zone}.zone"), "--port", str(port),
                                   "--tsig-key-file", str(tmp / "ddns.key"), "-v"), log)  # fmt: skip
    for port, name, qtype in ((FORWARD_PORT, "ns1.example.com", "A"), (REVERSE_PORT, "53.2.0.192.in-addr.arpa", "PTR")):
        wait_until(lambda p=port, n=name, t=qtype: dig(host, p, n, t), 30, f"dns-server on port {port}")
    return {"forward": FORWARD_PORT, "reverse": REVERSE_PORT}


def bind(host, tmp: Path) -> dict[str, int]:
    """named in ``host``, both zones on one port, updatable with our key only."""
    named = need("named", "bind9")
    (tmp / "forward.zone").write_text(FORWARD)
    (tmp / "reverse.zone").write_text(REVERSE)
    (tmp / "ddns.key").write_text(KEY_STATEMENT)
    (tmp / "named.conf").write_text(
        f"""include "{tmp}/ddns.key";
options {{
    directory "{tmp}"; pid-file "{tmp}/named.pid"; listen-on port {BIND_PORT} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no;
}};
controls {{ }};
zone "example.com" {{ type primary; file "{tmp}/forward.zone"; allow-update {{ key "{KEY.name}"; }}; }};
zone "2.0.192.in-addr.arpa" {{ type primary; file "{tmp}/reverse.zone"; allow-update {{ key "{KEY.name}"; }}; }};
"""
    )
    log = tmp / "named.log"
    start_logged(host, [named, "-g", "-c", str(tmp / "named.conf"), "-u", "root"], log)
    wait_until(lambda: dig(host, BIND_PORT, "ns1.example.com", "A"), 30, f"named to answer: {log}")
    return {"forward": BIND_PORT, "reverse": BIND_PORT}


def start_client(client, c_if: str, tmp: Path, which: str, name_args: list[str]):
    """udhcpc (``-R``: release on SIGTERM) or dhclient; returns ``(bound address, release())``."""
    if which == "udhcpc":
        script, out = client_script(tmp, UDHCPC_SCRIPT)
        proc = start_logged(client, ["udhcpc", "-f", "-R", "-i", c_if, "-s", str(script), "-t", "5", "-T", "2",
                                     *name_args], tmp / "udhcpc.log")  # fmt: skip
        bound = wait_until(lambda: [e for e in events(out) if e.startswith("bound")], 30, "udhcpc to bind")[0]

        def release() -> None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=10)

    else:  # ISC dhclient: option 81 from its configuration file (dhclient.conf(5): fqdn.*)
        script, out = client_script(tmp, DHCLIENT_SCRIPT)
        conf = tmp / "dhclient.conf"
        conf.write_text("".join(f"{line}\n" for line in name_args))
        common = ["-4", "-sf", str(script), "-cf", str(conf), "-lf", str(tmp / "dh.leases"), "-pf", str(tmp / "dh.pid")]
        start_logged(client, ["dhclient", "-d", "-v", *common, c_if], tmp / "dhclient.log")
        bound = wait_until(lambda: [e for e in events(out) if e.startswith("BOUND")], 30, "dhclient to bind")[0]

        def release() -> None:  # a second dhclient -r stops the first and sends DHCPRELEASE
            client.run(["dhclient", "-r", "-v", *common, c_if], timeout=20)

    return bound.split("ip=")[1].split()[0], release


def run_scenario(tmp: Path, which: str, client_args: list[str], name: str, client_kind: str = "udhcpc") -> None:
    need_lab("udhcpc", "dhclient")
    need("dig", "bind9-dnsutils")
    with two_hosts(f"ddns-{which}") as (server, client, s_if, c_if):
        ports = our_dns(server, tmp) if which == "ours" else bind(server, tmp)
        srv, log = start_server(server, tmp, "--interface", s_if, "--server-ip", "192.0.2.1",
                                "--pool", "192.0.2.100-192.0.2.110", "--lease-time", "600",
                                "--ddns", "example.com", "--ddns-server", f"127.0.0.1:{ports['forward']}",
                                "--ddns-reverse-server", f"127.0.0.1:{ports['reverse']}",
                                "--ddns-key", str(tmp / "ddns.key"))  # fmt: skip
        address, release = start_client(client, c_if, tmp, client_kind, client_args)
        ptr = ".".join(reversed(address.split("."))) + ".in-addr.arpa"
        fqdn = f"{name}.example.com"
        wait_until(lambda: dig(server, ports["forward"], fqdn, "A") == [address], 20,
                   f"the A record ({log.read_text()[-1500:]})")  # fmt: skip
        assert dig(server, ports["reverse"], ptr, "PTR") == [fqdn + "."]
        mac = bytes.fromhex(client.run(["cat", f"/sys/class/net/{c_if}/address"]).stdout.strip().replace(":", ""))
        # udhcpc sends option 61 = type 1 + its MAC (busybox; -C would leave it out): RFC 4701 §3.3 type 1;
        # dhclient sends none by default: htype 1 + chaddr, type 0
        client_id = b"\x01" + mac if client_kind == "udhcpc" else None
        dhcid = base64.b64encode(dhcid_for_dhcpv4(fqdn, chaddr=mac, client_id=client_id)).decode()
        assert dig(server, ports["forward"], fqdn, "DHCID") == [dhcid]
        assert dig(server, ports["reverse"], ptr, "DHCID") == [dhcid]
        release()  # DHCPRELEASE takes the records out again (RFC 4703 §5.5)
        wait_until(lambda: dig(server, ports["forward"], fqdn, "A") == [], 20, "the A record to go")
        wait_until(lambda: dig(server, ports["reverse"], ptr, "PTR") == [], 20, "the PTR record to go")
        assert dig(server, ports["forward"], fqdn, "DHCID") == []
        assert stop(srv) == 0
        text = log.read_text()
        assert f"DDNS add {fqdn} {address}: added" in text and f"DDNS remove {fqdn} {address}: removed" in text, text
        assert text.index(f"DHCPACK on {address}") < text.index("DDNS add"), text  # the ACK went first


def test_udhcpc_option_81_updates_our_dns_server(tmp_path):
    run_scenario(tmp_path, "ours", ["-F", "host7.example.com"], "host7")


def test_udhcpc_hostname_updates_bind(tmp_path):
    run_scenario(tmp_path, "bind", ["-x", "hostname:laptop8"], "laptop8")


def test_udhcpc_option_81_updates_bind(tmp_path):
    run_scenario(tmp_path, "bind", ["-F", "host9"], "host9")


def test_dhclient_option_81_updates_bind(tmp_path):
    conf = ['send fqdn.fqdn "desk10.example.com.";', "send fqdn.encoded on;", "send fqdn.server-update on;"]
    run_scenario(tmp_path, "bind", conf, "desk10", client_kind="dhclient")


def test_dhclient_option_81_updates_our_dns_server(tmp_path):
    # dhclient sends the name fully qualified (root label): a bare "desk11" would arrive as "desk11."
    # and be refused as outside the zone (seen in a first run), so the configuration names the zone.
    conf = ['send fqdn.fqdn "desk11.example.com";', "send fqdn.encoded on;", "send fqdn.server-update off;"]
    run_scenario(tmp_path, "ours", conf, "desk11", client_kind="dhclient")  # S=0: we override (O=1), policy


def test_cli_refuses_ddns_without_a_key(tmp_path):
    out = subprocess.run(refimpl("dhcp-server", "--interface", "lo", "--server-ip", "192.0.2.1", "--pool",
                                 "192.0.2.100-192.0.2.110", "--ddns", "example.com", "--ddns-server", "127.0.0.1:53"),
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 2 and "--ddns-key" in out.stderr
