"""Make the course's own DDNS capture: busybox udhcpc, our ``dhcp-server --ddns`` and BIND 9, in namespaces.

    sudo .venv/bin/python -m refimpl.capture.record_ddns refimpl/data/captures/dns_ddns.pcap

The shipped file ``refimpl/data/captures/dns_ddns.pcap`` was made this way
(nothing downloaded). Two network namespaces joined by a veth pair, as for
``dhcp_udhcpc.pcap`` (client ``02:00:00:00:00:01``, server
``02:00:00:00:00:fe`` at 192.0.2.1). In the server's namespace run our
``dhcp-server --ddns example.com`` and a real BIND 9 (``named``) serving
``example.com`` and ``2.0.192.in-addr.arpa`` on its own 127.0.0.1, port 53,
with ``allow-update`` for one TSIG key (the same key as the simulation's,
:data:`refimpl.dhcp.ddns_scenario.KEY`). The client, udhcpc with
``-x hostname:host7`` (option 12), gets a lease; the DHCP server then sends
its signed UPDATEs to BIND; udhcpc exits with ``-R`` (DHCPRELEASE) and the
server takes the records out again.

Two tcpdumps record it, one on the server's veth (DHCP, ports 67 and 68), one
on the namespace's loopback (DNS, port 53); the two files are merged in time
order into one. Read it with :func:`refimpl.capture.dns.read_ddns_trace`.

Needs root, ``tcpdump``, ``udhcpc`` (busybox) and ``named`` (Debian: tcpdump udhcpc bind9).
"""

from __future__ import annotations

import base64
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path

from refimpl.capture.recorder import recorder_main, recording, require
from refimpl.dhcp.ddns_scenario import FORWARD_ZONE, KEY, REVERSE_ZONE
from refimpl.lab.netns import two_hosts
from refimpl.lab.procwait import log_text, wait_for

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:fe"
HOSTNAME = "host7"
DNS_PORT = 53  # inside the server's own namespace: nothing else listens there

_SCRIPT = """#!/bin/sh
echo "$1" >> "{out}"
case "$1" in
  bound|renew) ip addr replace "$ip/${{mask:-24}}" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"""


def _named() -> str:
    found = shutil.which("named") or next((p for p in ("/usr/sbin/named",) if Path(p).exists()), None)
    if found is None:
        raise RuntimeError("needs named (Debian: bind9)")
    return found


def _bind_files(tmp: Path) -> Path:
    """Zones, key and named.conf for BIND in ``tmp``; returns the key file (for dhcp-server --ddns-key too)."""
    secret = base64.b64encode(KEY.secret).decode()
    key_file = tmp / "ddns.key"
    key_file.write_text(f'key "{KEY.name}" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n')
    (tmp / "forward.zone").write_text(FORWARD_ZONE)
    (tmp / "reverse.zone").write_text(REVERSE_ZONE)
    (tmp / "named.conf").write_text(
        f"""include "{key_file}";
options {{
    directory "{tmp}"; pid-file "{tmp}/named.pid"; listen-on port {DNS_PORT} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; notify no;
}};
controls {{ }};
zone "example.com" {{ type primary; file "{tmp}/forward.zone"; allow-update {{ key "{KEY.name}"; }}; }};
zone "2.0.192.in-addr.arpa" {{ type primary; file "{tmp}/reverse.zone"; allow-update {{ key "{KEY.name}"; }}; }};
"""
    )
    return key_file


def merge(pcaps: list[Path], out: Path) -> Path:
    """The frames of ``pcaps`` (all Ethernet: Linux draws its loopback so too) in one file, in time order."""
    from scapy.layers.l2 import Ether  # noqa: F401  (registers the Ethernet link type, so frames dissect)
    from scapy.utils import rdpcap, wrpcap

    frames = [frame for path in pcaps for frame in rdpcap(str(path))]
    wrpcap(str(out), sorted(frames, key=lambda f: float(f.time)))
    return out


def record_ddns_session(pcap: str | Path) -> Path:
    """Record one lease life with its DNS updates into ``pcap``; return its path."""
    require("tcpdump", "udhcpc", "ip", debian="tcpdump udhcpc iproute2")
    named = _named()
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name, two_hosts("ddnscap") as (server, client, s_if, c_if):
        tmp = Path(tmp_name)
        os.chmod(tmp, 0o755)
        key_file = _bind_files(tmp)
        events = tmp / "events"
        script = tmp / "udhcpc.sh"
        script.write_text(_SCRIPT.format(out=events))
        os.chmod(script, 0o755)
        server.ip("link", "set", s_if, "address", SERVER_MAC)
        client.ip("link", "set", c_if, "address", CLIENT_MAC)
        dhcp_logs, dns_logs = tmp / "dhcp-logs", tmp / "dns-logs"
        dhcp_logs.mkdir()
        dns_logs.mkdir()
        parts = [tmp / "dhcp.pcap", tmp / "dns.pcap"]
        with (
            recording(parts[1], "lo", f"udp port {DNS_PORT} or tcp port {DNS_PORT}", logs=dns_logs, within=server),
            recording(parts[0], s_if, "udp port 67 or udp port 68", logs=dhcp_logs, within=server) as rec,
        ):
            rec.start("named", [named, "-g", "-c", str(tmp / "named.conf"), "-u", "root"], ready="running")
            rec.start(
                "dhcp-server",
                [sys.executable, "-m", "refimpl", "dhcp-server", "--interface", s_if, "--server-ip", "192.0.2.1",
                 "--pool", "192.0.2.100-192.0.2.110", "--lease-time", "600", "--ddns", "example.com",
                 "--ddns-server", f"127.0.0.1:{DNS_PORT}", "--ddns-reverse-server", f"127.0.0.1:{DNS_PORT}",
                 "--ddns-key", str(key_file)],
                ready="serving",
            )  # fmt: skip
            udhcpc = rec.start(
                "udhcpc",
                [
                    "udhcpc",
                    "-f",
                    "-R",
                    "-i",
                    c_if,
                    "-s",
                    str(script),
                    "-t",
                    "5",
                    "-T",
                    "2",
                    "-x",
                    f"hostname:{HOSTNAME}",
                ],
                within=client,
            )
            wait_for(lambda: "bound" in log_text(events), 20, "udhcpc to be bound")
            wait_for(lambda: ": added" in rec.log("dhcp-server"), 20, "the DNS updates")
            udhcpc.send_signal(signal.SIGTERM)  # -R: release on exit
            udhcpc.wait(timeout=10)
            wait_for(lambda: ": removed" in rec.log("dhcp-server"), 20, "the updates that remove the name")
        merge(parts, pcap)
    return pcap


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.dns import read_ddns_trace

    return recorder_main(__doc__, argv, record_ddns_session, read_ddns_trace)


if __name__ == "__main__":
    sys.exit(main())
