"""``python -m refimpl bench dns``: queries per second of our DNS server beside BIND 9, same zone, same run.

Both servers answer :file:`refimpl/data/example.zone` on 127.0.0.1 (each on a
free port); Debian's ``dnsperf`` (DNS-OARC) sends them the same list of
queries - names that exist, a CNAME, an AAAA, NODATA and NXDOMAIN - for a
fixed time, over UDP, with the same number of queries in flight. The rounds
alternate (ours, BIND, BIND, ours, ...) so a machine that speeds up or slows
down during the run treats both alike; the best round of each is reported,
with the answer codes dnsperf counted, so a server that answers fast but wrongly
shows it.

Fairness (policy): BIND runs with ``-n 1``, one worker thread, as our server is
one Python process on one core. BIND with its default of one thread per core
would be faster still on a machine with spare cores.

Everything is bounded: each round lasts ``seconds`` (dnsperf ``-l``), each
server gets 15 s to start, and both are stopped on the way out, whatever
happens.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from refimpl.lab.procwait import stop

HOST = "127.0.0.1"
ZONE = Path(__file__).resolve().parent.parent / "data" / "example.zone"
QUERIES = [
    "www.example.com A",
    "mail.example.com A",
    "ftp.example.com A",  # a CNAME to www, followed inside the zone
    "www.example.com AAAA",
    "example.com MX",
    "example.com SOA",
    "www.example.com MX",  # NODATA
    "nothing.example.com A",  # NXDOMAIN
]
SECONDS, ROUNDS, IN_FLIGHT = 3.0, 2, 20


class Skip(Exception):
    """A tool is missing here; the message says which and from which package."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path is None:
        raise Skip(f"needs {name} (Debian package {package})")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    """Does something on ``port`` answer the zone's SOA, authoritatively?"""
    from refimpl.dns import Rcode, Type
    from refimpl.dns.resolver import StubResolver
    from refimpl.sockets.dns_client import QueryFailed, resolve

    try:
        answer, _ = resolve(StubResolver("example.com", Type.SOA, timeout=0.3, tries=1), (HOST, port))
    except (QueryFailed, OSError):
        return False
    return answer.aa and answer.rcode == Rcode.NOERROR


def _wait(proc: subprocess.Popen, port: int, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-800:] if log and log.exists() else ""
            raise RuntimeError(f"{what} exited with {proc.returncode} {tail}")
        if answers(port):
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not answer on {HOST}:{port} within 15 s")


@contextlib.contextmanager
def ours() -> Iterator[int]:
    port = free_port()
    argv = [sys.executable, "-m", "refimpl", "dns-server", "--zone", str(ZONE), "--host", HOST, "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(proc, port, "our dns-server")
        yield port
    finally:
        stop(proc)


@contextlib.contextmanager
def bind9(work: str) -> Iterator[int]:
    named = _tool("named", "bind9")
    port = free_port()
    conf = Path(work, "named.conf")
    conf.write_text(
        f"""options {{
    directory "{work}"; pid-file "{work}/named.pid"; listen-on port {port} {{ {HOST}; }};
    listen-on-v6 {{ none; }}; recursion no; dnssec-validation no; notify no;
}};
controls {{ }};
zone "example.com" {{ type primary; file "{ZONE}"; }};
"""
    )
    log = Path(work, "named.log")
    user = ["-u", "root"] if os.geteuid() == 0 else []
    with open(log, "w") as out:
        proc = subprocess.Popen([named, "-g", "-n", "1", "-c", str(conf), *user], stdout=out, stderr=out)
    try:
        _wait(proc, port, "named", log)
        yield port
    finally:
        stop(proc)


def dnsperf(port: int, queries: str, seconds: float) -> dict:
    """One dnsperf round: ``{"qps": float, "sent": int, "lost": int, "codes": {"NOERROR": n, ...}}``."""
    tool = _tool("dnsperf", "dnsperf")
    argv = [tool, "-s", HOST, "-p", str(port), "-d", queries, "-l", f"{seconds:g}", "-c", "1", "-T", "1",
            "-q", str(IN_FLIGHT), "-t", "2"]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 30).stdout

    def number(label: str) -> float:
        found = re.search(rf"{label}:\s+([\d.]+)", out)
        if not found:
            raise RuntimeError(f"dnsperf printed no {label!r}: {out[-500:]}")
        return float(found.group(1))

    codes = dict((name, int(n)) for name, n in re.findall(r"([A-Z]+) (\d+) \(", out.split("Response codes:")[-1]))
    return {"qps": number("Queries per second"), "sent": int(number("Queries sent")),
            "lost": int(number("Queries lost")), "codes": codes}  # fmt: skip


def _codes(codes: dict) -> str:
    total = sum(codes.values()) or 1
    return ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in sorted(codes.items()))


def run(seconds: float = SECONDS, rounds: int = ROUNDS) -> list[str]:
    try:
        _tool("dnsperf", "dnsperf")
    except Skip as exc:
        return [f"  skipped: {exc}"]
    work = tempfile.mkdtemp(prefix="bench-dns-")
    lines: list[str] = []
    try:
        queries = Path(work, "queries.txt")
        queries.write_text("\n".join(QUERIES) + "\n")
        with contextlib.ExitStack() as stack:
            ports = {"ours": stack.enter_context(ours())}
            try:
                ports["BIND 9"] = stack.enter_context(bind9(work))
            except (Skip, RuntimeError) as exc:
                lines.append(f"  BIND 9: skipped: {exc}")
            results: dict[str, list[dict]] = {name: [] for name in ports}
            for r in range(rounds):
                for name in list(ports) if r % 2 == 0 else list(ports)[::-1]:
                    results[name].append(dnsperf(ports[name], str(queries), seconds))
        lines.append(
            f"UDP queries, dnsperf -c 1 -q {IN_FLIGHT}, {len(QUERIES)} names of example.zone, "
            f"{rounds} rounds of {seconds:g} s each (best round):"
        )
        best = {name: max(rs, key=lambda r: r["qps"]) for name, rs in results.items()}
        labels = {"ours": "ours (python -m refimpl dns-server)", "BIND 9": "BIND 9 (named -n 1)"}
        for name, b in best.items():
            lost = 100 * b["lost"] / max(1, b["sent"])
            lines.append(f"  {labels[name]:<36} {b['qps']:>9.0f} queries/s   lost {lost:.1f}%   {_codes(b['codes'])}")
        if "BIND 9" in best and best["ours"]["qps"]:
            ratio = best["BIND 9"]["qps"] / best["ours"]["qps"]
            lines.append(f"  ratio BIND 9 / ours: {ratio:.1f}x")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
