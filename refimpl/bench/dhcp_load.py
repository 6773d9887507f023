"""Load test: Kea's ``perfdhcp`` against our server, dnsmasq and Kea, in one run.

Each server runs in its own namespace on its own documentation network, and
one ``load`` namespace is linked to all three (a veth pair each)::

    refimpl  192.0.2.1     <-> load 192.0.2.2
    kea      198.51.100.1  <-> load 198.51.100.2
    dnsmasq  203.0.113.1   <-> load 203.0.113.2

perfdhcp runs in ``load`` and behaves as a relay agent (``giaddr`` = its own
address, source port 67), so every reply goes to giaddr:67 (RFC 2131 §4.1).

The rate ladder (``-r``, about x1.5 a step, ``-R 200`` distinct clients,
``-p 3`` seconds) is **interleaved**: at each rate the three servers are
measured one after the other, so a busy neighbour on a shared machine slows
all three alike. A step passes when fewer than 1 % of the 4-way exchanges
(DISCOVER-OFFER-REQUEST-ACK) are lost; a failed step is tried once more; a
server stops climbing after that. We report the best passing step (exchanges
per second, mean delays DISCOVER->OFFER and REQUEST->ACK) and the peak of any
step. All three keep their leases in a file on tmpfs (``/dev/shm``), where
fsync is cheap, so the race is about protocol work, not the disk. dnsmasq
runs with ``--no-ping`` (no ICMP check before an offer) and quiet logging,
Kea logs warnings only, ours ``--quiet``.

Then the **overload** rounds: perfdhcp offers 1.5x and 2x our best passing
rate for 8 s to each server (interleaved again). A server past its capacity
should go on completing about as many exchanges as at its best, not collapse;
the bench prints each server's completed exchanges per second, ours against
Kea's, and ours against our own best. Every step also reports the **server
CPU per completed exchange** (user + system time from ``/proc/PID/stat``
over the step, divided by the ACKs perfdhcp received): on a shared 2-core
machine it is steadier than the rate, which depends on what the neighbours
do. The load average is printed with the results, for the same reason.

Then, for our server only: perfdhcp again while a second sender throws
malformed and random datagrams at port 67; the server must keep serving and
log what it dropped.

Needs root, ``perfdhcp`` (Debian: kea-admin), ``kea-dhcp4``
(kea-dhcp4-server) and ``dnsmasq``; a missing peer is skipped with a line
saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

#: server name -> its /24 (one RFC 5737 network each); .1 is the server, .2 the load host
NETWORKS = {"refimpl": "192.0.2", "kea": "198.51.100", "dnsmasq": "203.0.113"}


def addresses(net: str) -> tuple[str, str, tuple[str, str]]:
    """(server IP, load IP, pool) on the /24 ``net``."""
    return f"{net}.1", f"{net}.2", (f"{net}.10", f"{net}.250")


CLIENTS = 200  # perfdhcp -R: fewer clients than addresses, so no server runs dry
OVERLOAD = (1.5, 2.0)  # offered rates past our capacity, as multiples of our best step
OVERLOAD_SECONDS = 8
RATES = (400, 600, 900, 1400, 2000, 3000, 4500, 6800, 10000)  # about x1.5 a step
BUDGET = 90.0  # seconds of ladder in all, so the section stays under ~2 minutes
SECONDS = 3  # per step (perfdhcp -p)
MAX_DROPS = 0.01


@dataclass
class Step:
    rate: int  # asked for (-r)
    achieved: float  # 4-way exchanges per second perfdhcp saw completed
    drops: float  # fraction of DISCOVERs that never got their ACK
    offer_ms: float  # mean DISCOVER -> OFFER delay
    ack_ms: float  # mean REQUEST -> ACK delay
    completed: int = 0  # ACKs perfdhcp received
    cpu_us: float | None = None  # server CPU (user + system) per completed exchange, microseconds

    @property
    def passed(self) -> bool:
        return self.drops < MAX_DROPS


def parse_perfdhcp(text: str, rate: int) -> Step:
    """Read perfdhcp's report: the rate line and the two statistics blocks."""
    achieved = float(re.search(r"Rate: ([\d.]+) 4-way exchanges/second", text).group(1))
    blocks = {name: text.split(f"***Statistics for: {name}***", 1)[1] for name in ("DISCOVER-OFFER", "REQUEST-ACK")}

    def number(block: str, label: str) -> float:
        found = re.search(rf"{label}: ([\d.]+)", blocks[block])
        return float(found.group(1)) if found else 0.0

    sent = number("DISCOVER-OFFER", "sent packets")
    acked = number("REQUEST-ACK", "received packets")
    drops = 1.0 - acked / sent if sent else 1.0
    return Step(
        rate,
        achieved,
        max(0.0, drops),
        number("DISCOVER-OFFER", "avg delay"),
        number("REQUEST-ACK", "avg delay"),
        int(acked),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (all its threads), from /proc/PID/stat.

    ``ip netns exec`` execs the server, so the Popen's pid is the server itself.
    """
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()  # the name in (...) may contain spaces
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime (fields 14, 15)


# -- the three servers --------------------------------------------------------------------
def _wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def start_refimpl(host, ifname: str, tmp: Path, net: str):
    server_ip, _, pool = addresses(net)
    log = tmp / "refimpl.log"
    with open(log, "w") as out:
        process = host.run(
            [
                sys.executable,
                "-m",
                "refimpl",
                "dhcp-server",
                "--interface",
                ifname,
                "--server-ip",
                server_ip,
                "--pool",
                f"{pool[0]}-{pool[1]}",
                "--router",
                server_ip,
                "--lease-file",
                str(tmp / "refimpl.csv"),
                "--quiet",
            ],
            background=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log, "serving"


def start_dnsmasq(host, ifname: str, tmp: Path, net: str):
    server_ip, _, pool = addresses(net)
    log = tmp / "dnsmasq.log"
    with open(log, "w") as out:
        process = host.run(
            [
                "dnsmasq",
                "--no-daemon",
                "--conf-file=/dev/null",
                "--port=0",
                "--user=root",
                "--group=root",
                f"--interface={ifname}",
                "--bind-interfaces",
                "--no-ping",
                "--quiet-dhcp",
                f"--dhcp-range={pool[0]},{pool[1]},255.255.255.0,1h",
                f"--dhcp-option=option:router,{server_ip}",
                f"--dhcp-leasefile={tmp / 'dnsmasq.leases'}",
                f"--pid-file={tmp / 'dnsmasq.pid'}",
                "--log-facility=-",
            ],
            background=True,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return process, log, "DHCP, IP range"


def start_kea(host, ifname: str, tmp: Path, net: str):
    server_ip, _, pool = addresses(net)
    config = {
        "Dhcp4": {
            "interfaces-config": {"interfaces": [f"{ifname}/{server_ip}"], "dhcp-socket-type": "udp"},
            "lease-database": {
                "type": "memfile",
                "persist": True,
                "name": str(tmp / "kea-leases4.csv"),
                "lfc-interval": 0,
            },
            "valid-lifetime": 3600,
            "subnet4": [
                {
                    "id": 1,
                    "subnet": f"{net}.0/24",
                    "pools": [{"pool": f"{pool[0]} - {pool[1]}"}],
                    "option-data": [{"name": "routers", "data": server_ip}],
                }
            ],
            "loggers": [
                {"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": str(tmp / "kea.log")}]}
            ],
        }
    }
    conf = tmp / "kea-dhcp4.conf"
    conf.write_text(json.dumps(config, indent=1))
    env = dict(os.environ, KEA_PIDFILE_DIR=str(tmp), KEA_LOCKFILE_DIR=str(tmp))
    log = tmp / "kea.log"
    with open(tmp / "kea.out", "w") as out:
        process = host.run(
            ["kea-dhcp4", "-c", str(conf)], background=True, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    return process, log, "DHCP4_STARTED"


SERVERS = {
    "refimpl": ("python -m refimpl dhcp-server", None, start_refimpl),
    "kea": ("Kea kea-dhcp4", "kea-dhcp4", start_kea),
    "dnsmasq": ("dnsmasq", "dnsmasq", start_dnsmasq),
}


def perfdhcp(
    load_host, ifname: str, rate: int, seconds: int = SECONDS, server_ip: str = "192.0.2.1", pid: int | None = None
) -> Step | str:
    """One perfdhcp run; with the server's ``pid``, the step also says the server CPU per exchange."""
    before = cpu_seconds(pid) if pid else 0.0
    result = load_host.run(
        ["perfdhcp", "-4", "-l", ifname, "-r", str(rate), "-p", str(seconds), "-R", str(CLIENTS), server_ip],
        timeout=seconds + 30,
    )
    try:
        step = parse_perfdhcp(result.stdout, rate)
    except (AttributeError, IndexError, ValueError):
        return f"perfdhcp failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()[-200:]}"
    if pid and step.completed:
        step.cpu_us = (cpu_seconds(pid) - before) / step.completed * 1e6
    return step


NOISE = """
import random, socket, sys, time
rng = random.Random(7)
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end, sent = time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    kind = rng.randrange(3)
    if kind == 0:
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 700)))
    elif kind == 1:   # a BOOTP header with a broken option area
        data = bytes([1, 1, 6, 0]) + bytes(232) + bytes([99, 130, 83, 99, 53, 9, 1])
    else:             # a truncated header
        data = bytes([1, 1, 6, 0]) + bytes(rng.randrange(0, 200))
    sock.sendto(data, (sys.argv[1], 67))
    sent += 1
    time.sleep(0.005)
print(sent)
"""


def run() -> list[str]:
    from refimpl.lab.netns import Lab

    ok, why = Lab.available()
    if not ok:
        return [f"skipped: {why}"]
    if shutil.which("perfdhcp") is None:
        return ["skipped: needs perfdhcp (Debian package kea-admin)"]
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    results: dict[str, list[Step | str] | str] = {}
    noise_line = ""
    with tempfile.TemporaryDirectory(prefix="dhcp-load-", dir=base) as tmp_name, Lab("dhcpload") as lab:
        tmp = Path(tmp_name)
        load = lab.host("load")
        running: dict[str, tuple] = {}  # name -> (process, load-side interface, server ip, log)
        try:
            for name, (_, tool, start) in SERVERS.items():
                if tool is not None and shutil.which(tool) is None:
                    results[name] = f"skipped: {tool} not installed"
                    continue
                net = NETWORKS[name]
                server_ip, load_ip, _ = addresses(net)
                host = lab.host(name[:8])
                s_if, l_if = lab.link(host, f"{server_ip}/24", load, f"{load_ip}/24")
                process, log, ready = start(host, s_if, tmp, net)
                if not _wait_for(log, ready, process):
                    results[name] = f"did not start: {log.read_text(errors='replace')[-200:]}"
                    continue
                running[name] = (process, l_if, server_ip, log)
                results[name] = []
            _interleaved_ladder(load, running, results)
            overload = _overload_rounds(load, running, results)
            if "refimpl" in running:
                process, l_if, server_ip, log = running["refimpl"]
                noise_line = _noise_round(load, l_if, server_ip, log, tmp, process)
        finally:
            for process, *_ in running.values():
                if process.poll() is None:
                    process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)
    return _report(results, noise_line) + _overload_report(overload, _best(results.get("refimpl") or []))


def _interleaved_ladder(load, running: dict, results: dict) -> None:
    """At each rate, every server still climbing gets one step (and one retry if it fails)."""
    climbing = list(running)
    start = time.monotonic()
    for rate in RATES:
        if not climbing:
            break
        if time.monotonic() - start > BUDGET:
            for name in climbing:
                results[name].append(f"(stopped: {BUDGET:.0f} s budget)")
            break
        for name in list(climbing):
            process, l_if, server_ip, _ = running[name]
            for _attempt in range(2):
                step = perfdhcp(load, l_if, rate, server_ip=server_ip, pid=process.pid)
                results[name].append(step)
                if isinstance(step, str) or (step.passed and step.achieved >= 0.8 * rate):
                    break
            if isinstance(step, str) or not step.passed or step.achieved < 0.8 * rate:
                climbing.remove(name)


def _overload_rounds(load, running: dict, results: dict) -> dict[float, dict[str, Step | str]]:
    """Offer 1.5x and 2x our best rate for OVERLOAD_SECONDS to every server (interleaved, as the ladder).

    A server past its capacity should keep completing exchanges at its best
    rate, not collapse: this is where it shows.
    """
    ours = _best(results.get("refimpl") or []) if isinstance(results.get("refimpl"), list) else None
    if ours is None:
        return {}
    rounds: dict[float, dict[str, Step | str]] = {}
    for factor in OVERLOAD:
        rate = round(ours.achieved * factor)
        rounds[factor] = {"load": _load()}
        for name, (process, l_if, server_ip, _) in running.items():
            rounds[factor][name] = perfdhcp(
                load, l_if, rate, seconds=OVERLOAD_SECONDS, server_ip=server_ip, pid=process.pid
            )
    return rounds


def _overload_report(rounds: dict, best: Step | None) -> list[str]:
    """Completed exchanges per second past our capacity, and the two ratios the issue asks for."""
    if not rounds or best is None:
        return ["overload: skipped (no passing step of ours to scale from)"]
    lines = [
        f"overload: perfdhcp -R {CLIENTS} -p {OVERLOAD_SECONDS} at x{' and x'.join(f'{f:g}' for f in rounds)} "
        f"our best ({best.achieved:.0f} exch/s, {_cpu(best)} server CPU per exchange)",
        f"{'server':<10} {'offered':>8} {'exch/s':>8} {'lost':>6} {'D->O ms':>8} {'R->A ms':>8} {'CPU/exch':>9}",
    ]
    for factor, steps in rounds.items():
        for name, step in steps.items():
            if name == "load":
                continue
            if isinstance(step, str):
                lines.append(f"{name:<10} {step}")
                continue
            lines.append(
                f"{name:<10} {step.rate:>8} {step.achieved:>8.0f} {step.drops:>6.1%} {step.offer_ms:>8.2f}"
                f" {step.ack_ms:>8.2f} {_cpu(step):>9}"
            )
        ours, kea = steps.get("refimpl"), steps.get("kea")
        if isinstance(ours, Step):
            text = f"x{factor:g} (load {steps['load']}): refimpl keeps {ours.achieved / best.achieved:.0%} of its best"
            if isinstance(kea, Step) and kea.achieved:
                text += f"; refimpl / kea: {ours.achieved / kea.achieved:.2f}x completed exchanges"
            lines.append(text)
    return lines


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu(step: Step) -> str:
    return f"{step.cpu_us:.0f} us" if step.cpu_us is not None else "-"


def _noise_round(load, l_if, server_ip: str, log: Path, tmp: Path, process) -> str:
    before = log.read_text(errors="replace").count("dropped")
    script = tmp / "noise.py"
    script.write_text(NOISE)
    noise = load.run([sys.executable, str(script), server_ip, str(SECONDS + 1)], background=True)
    step = perfdhcp(load, l_if, 250, server_ip=server_ip)
    sent = noise.communicate(timeout=30)[0].decode().strip()
    time.sleep(0.3)
    dropped = log.read_text(errors="replace").count("dropped") - before
    alive = "still serving" if process.poll() is None else "DIED"
    if isinstance(step, str):
        return f"noise: {sent} junk datagrams; {step}"
    return (
        f"noise: {sent} junk datagrams during perfdhcp -r 250: {step.achieved:.0f} exch/s, "
        f"{step.drops:.2%} lost; server logged {dropped} drops, {alive}"
    )


def _best(steps) -> Step | None:
    passed = [s for s in steps if isinstance(s, Step) and s.passed]
    return max(passed, key=lambda s: s.achieved) if passed else None


def _peak(steps) -> float:
    """The most exchanges per second seen in any step, lost ones or not (capacity under overload)."""
    return max((s.achieved for s in steps if isinstance(s, Step)), default=0.0)


def _report(results: dict, noise_line: str) -> list[str]:
    lines = [
        f"machine load average at the end: {_load()}",
        f"perfdhcp -R {CLIENTS} -p {SECONDS} per rate step, servers interleaved, relayed (giaddr), leases on tmpfs; "
        f"best step with < {MAX_DROPS:.0%} lost exchanges, and the peak of any step",
        f"{'server':<10} {'exch/s':>8} {'at -r':>6} {'lost':>6} {'D->O ms':>8} {'R->A ms':>8} {'peak':>6}"
        f" {'CPU/exch':>9}   ladder (rate: exch/s, lost)",
    ]
    best: dict[str, Step] = {}
    peaks: dict[str, float] = {}
    for name, steps in results.items():
        if isinstance(steps, str):
            lines.append(f"{name:<10} {steps}")
            continue
        trail = ", ".join(f"{s.rate}: {s.achieved:.0f} {s.drops:.1%}" if isinstance(s, Step) else s for s in steps)
        peaks[name] = _peak(steps)
        b = _best(steps)
        if b is None:
            lines.append(f"{name:<10} {'-':>8} {'':>6} {'':>6} {'':>8} {'':>8} {peaks[name]:>6.0f} {'':>9}   {trail}")
            continue
        best[name] = b
        lines.append(
            f"{name:<10} {b.achieved:>8.0f} {b.rate:>6} {b.drops:>6.1%} {b.offer_ms:>8.2f} {b.ack_ms:>8.2f}"
            f" {peaks[name]:>6.0f} {_cpu(b):>9}   {trail}"
        )
    ours = best.get("refimpl")
    for peer in ("kea", "dnsmasq"):
        if ours is not None and peer in best:
            lines.append(
                f"refimpl / {peer}: {ours.achieved / best[peer].achieved:.2f}x exchanges per second "
                f"(< {MAX_DROPS:.0%} lost), {peaks['refimpl'] / peaks[peer]:.2f}x at peak"
            )
    if noise_line:
        lines.append(noise_line)
    return lines
