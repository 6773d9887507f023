"""Make the course's own DNS capture: real ``dig`` against our ``dns-server``, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_dns refimpl/data/captures/dns_session.pcap 45353

The shipped file ``refimpl/data/captures/dns_session.pcap`` was made this way
(nothing downloaded). Our ``dns-server`` serves ``refimpl/data/example.zone``
on 127.0.0.1 at a free port P (not 53: the capture should not depend on what
else runs, nor need root to bind), with zone transfers allowed, and
``tcpdump -i lo`` records UDP and TCP to and from that port. Four ``dig``
runs (:data:`SESSION`), each a real program that is not ours:

1. ``www.example.com A``: dig's default query, with EDNS(0) (an OPT record
   advertising 1232 bytes, and a COOKIE option); one datagram each way;
2. ``+noedns many.example.com A``: a plain RFC 1035 query for a name with 40
   addresses: the answer does not fit in 512 bytes, comes back with TC=1, and
   dig asks again over TCP on its own ("Truncated, retrying in TCP mode");
3. ``many.example.com A`` with EDNS: the same 40 addresses fit in one datagram;
4. ``example.com AXFR``: a zone transfer, over TCP (RFC 5936).

Read it back with :func:`refimpl.capture.dns.read_dns_trace` and the port
(:func:`record_dns_session` returns it; the shipped capture's is
:data:`SHIPPED_PORT`, also in its README line).

Needs root (tcpdump), ``tcpdump`` and ``dig`` (Debian: tcpdump bind9-dnsutils).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

from refimpl.capture.record_tftp import free_udp_port
from refimpl.capture.recorder import recorder_main, recording, require

ZONE_FILE = Path(__file__).resolve().parent.parent / "data" / "example.zone"
SESSION = [
    ("www.example.com A, EDNS", ["www.example.com", "A"]),
    ("many.example.com A, no EDNS: TC=1, then TCP", ["+noedns", "many.example.com", "A"]),
    ("many.example.com A, EDNS", ["many.example.com", "A"]),
    ("example.com AXFR", ["example.com", "AXFR"]),
]
SHIPPED_PORT = 45353
TOOLS = ("tcpdump", "dig")


def run_digs(port: int) -> list[str]:
    """The four queries of :data:`SESSION`; returns what dig printed for each."""
    outputs = []
    for _, args in SESSION:
        done = subprocess.run(
            ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+time=3", *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        outputs.append(done.stdout)
    return outputs


def record_dns_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the four dig runs of :data:`SESSION` into ``pcap``; return (path, server port)."""
    require(*TOOLS, debian="tcpdump bind9-dnsutils")
    port = port or free_udp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as logs,
        recording(pcap, "lo", f"host 127.0.0.1 and port {port}", logs=logs) as rec,
    ):
        server = [sys.executable, "-m", "refimpl", "dns-server", "--zone", str(ZONE_FILE)]
        server += ["--host", "127.0.0.1", "--port", str(port), "--allow-axfr", "-v"]
        rec.start("dns-server", server, ready="DNS server for")
        outputs = run_digs(port)
        if "Truncated, retrying in TCP mode" not in outputs[1] or "XFR size" not in outputs[3]:
            raise RuntimeError("dig did not retry over TCP or the transfer failed:\n" + "\n".join(outputs))
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.dns import read_dns_trace

    return recorder_main(__doc__, argv, record_dns_session, read_dns_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
