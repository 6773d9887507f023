"""Make the course's own DHCP capture: busybox udhcpc against our server, in namespaces.

    sudo .venv/bin/python -m refimpl.capture.record_dhcp refimpl/data/captures/dhcp_udhcpc.pcap

The shipped file ``refimpl/data/captures/dhcp_udhcpc.pcap`` was made this way
(nothing downloaded): two namespaces joined by a veth pair, fixed MAC
addresses (client ``02:00:00:00:00:01``, server ``02:00:00:00:00:fe``),
addresses from RFC 5737, and ``tcpdump -w`` on the server's side. It holds one
whole lease life: DISCOVER, OFFER, REQUEST, ACK (getting it), REQUEST, ACK
(renewing, triggered with SIGUSR1), RELEASE (udhcpc ``-R`` on exit).

A race worth knowing (busybox 1.35): udhcpc sends its unicast RENEW from a
short-lived socket *connected* to the server. When the server answers within
a fraction of a millisecond (ours does), the kernel may hand the DHCPACK to
that socket - the closer 4-tuple match - just before udhcpc closes it, so
udhcpc never sees the ACK, waits ``-T`` seconds and REBINDs by broadcast.
:func:`make_udhcpc_capture` retries a few times to ship the plain story
(``EXPECTED``); the tests accept either.

Needs root, ``udhcpc`` and ``tcpdump``.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path

from refimpl.capture.recorder import recorder_main, recording, require
from refimpl.lab.netns import two_hosts
from refimpl.lab.procwait import log_text, wait_for

CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:fe"

_SCRIPT = """#!/bin/sh
echo "$1" >> "{out}"
case "$1" in
  bound|renew) ip addr replace "$ip/${{mask:-24}}" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"""


EXPECTED = ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK", "DHCPREQUEST", "DHCPACK", "DHCPRELEASE"]


def make_udhcpc_capture(pcap: str | Path, attempts: int = 3) -> Path:
    """Record one udhcpc lease life into ``pcap``; retry (bounded) until it shows :data:`EXPECTED`."""
    from refimpl.capture.dhcp import read_trace

    for _ in range(attempts):
        path = record_udhcpc_exchange(pcap)
        if read_trace(path).kinds() == EXPECTED:
            break
    return path


def record_udhcpc_exchange(pcap: str | Path) -> Path:
    """Record one udhcpc lease life against our server into ``pcap``; return its path."""
    require("udhcpc", "tcpdump", "ip")
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name, two_hosts("capture") as (server, client, s_if, c_if):
        tmp = Path(tmp_name)
        events = tmp / "events"
        script = tmp / "udhcpc.sh"
        script.write_text(_SCRIPT.format(out=events))
        os.chmod(script, 0o755)
        server.ip("link", "set", s_if, "address", SERVER_MAC)
        client.ip("link", "set", c_if, "address", CLIENT_MAC)
        with recording(pcap, s_if, "udp port 67 or udp port 68", logs=tmp, within=server, linger=0.3) as rec:
            rec.start(
                "dhcp-server",
                [
                    sys.executable,
                    "-m",
                    "refimpl",
                    "dhcp-server",
                    "--interface",
                    s_if,
                    "--server-ip",
                    "192.0.2.1",
                    "--pool",
                    "192.0.2.10-192.0.2.20",
                    "--router",
                    "192.0.2.1",
                    "--dns",
                    "192.0.2.53",
                    "--lease-time",
                    "600",
                ],
                ready="serving",
            )
            udhcpc = rec.start(
                "udhcpc", ["udhcpc", "-f", "-R", "-i", c_if, "-s", str(script), "-t", "5", "-T", "1"], within=client
            )
            wait_for(lambda: "bound" in log_text(events), 20, "udhcpc to be bound")
            time.sleep(1.0)
            udhcpc.send_signal(signal.SIGUSR1)  # renew now
            wait_for(lambda: "renew" in log_text(events), 10, "the renewal")
            time.sleep(1.0)
            udhcpc.send_signal(signal.SIGTERM)  # -R: release on exit
            udhcpc.wait(timeout=10)
            wait_for(lambda: "DHCPRELEASE" in rec.log("dhcp-server"), 10, "the release")
    return pcap


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.dhcp import read_trace

    return recorder_main(__doc__, argv, make_udhcpc_capture, read_trace)


if __name__ == "__main__":
    sys.exit(main())
