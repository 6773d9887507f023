"""Network boot in a lab: DHCP names a boot file and its server, TFTP fetches it.

A machine that boots from the network (PXE) has a boot ROM with a DHCP
client and a TFTP client, and nothing else. This lab plays that machine with
busybox ``udhcpc`` (asking for options 66 and 67) and tftp-hpa's ``tftp``,
on a cable between two namespaces, against two kinds of server:

* ``"refimpl"``: the course's own ``dhcp-server`` (``--tftp-server``,
  ``--boot-file``: options 66 and 67, RFC 2132 §9.4, §9.5) and
  ``tftp-server`` on port 69;
* ``"dnsmasq"``: one dnsmasq doing both, the way many classroom and home
  labs boot machines: ``--dhcp-boot`` fills BOOTP's ``file`` and ``siaddr``
  header fields (RFC 2131 §2), ``--enable-tftp`` serves the file.

Like :mod:`refimpl.lab.dhcp_daemons` it fixes what a run prints (MACs,
pool, the boot file's bytes), records the cable and hands back the commands
typed and what each program said. Needs root, iproute2, tcpdump, udhcpc,
tftp (tftp-hpa) and, for the second server, dnsmasq.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.capture.recorder import recording
from refimpl.lab.netns import Host, Lab
from refimpl.lab.procwait import log_text, stop, wait_for

SERVER_ADDRESS = "192.0.2.1"
POOL = ("192.0.2.100", "192.0.2.149")
LEASE_SECONDS = 600
SERVER_MAC = "02:00:00:00:00:01"
CLIENT_MAC = "02:00:00:00:00:43"
INTERFACE = "eth0"
BOOT_FILE = "boot.img"
CAPTURE_FILTER = "udp"  # DHCP on 67/68, TFTP on 69 and on the ports each transfer picks


def boot_image() -> bytes:
    """The "boot program": 3000 fixed bytes, so its transfer takes five full blocks and a short one."""
    text = b"This is not a real boot program; a PXE ROM would now jump to it.\n"
    return (text * (3000 // len(text) + 1))[:3000]


TOOLS = {"ip": "iproute2", "tcpdump": "tcpdump", "udhcpc": "udhcpc", "tftp": "tftp-hpa", "dnsmasq": "dnsmasq"}

# What a boot ROM does with the lease, as a udhcpc script: note what the server said, take the address.
CLIENT_SCRIPT = """#!/bin/sh
# udhcpc passes the header fields as siaddr, sname, boot_file and the options it asked for by name
# (tftp = option 66, bootfile = option 67).
echo "$1 ip=$ip siaddr=$siaddr sname=$sname boot_file=$boot_file tftp=$tftp bootfile=$bootfile" >> "{log}"
case "$1" in
  bound|renew) ip addr replace "$ip/${{mask:-24}}" dev "$interface" ;;
  deconfig) ip -4 addr flush dev "$interface" ;;
esac
exit 0
"""


def missing_tools(server: str = "dnsmasq") -> list[str]:
    """What this machine lacks for the lab with ``server``; empty when ready."""
    missing = [] if os.geteuid() == 0 else ["root (the lab makes network namespaces)"]
    needed = {t: p for t, p in TOOLS.items() if t != "dnsmasq" or server == "dnsmasq"}
    return missing + [f"{tool} ({package})" for tool, package in needed.items() if shutil.which(tool) is None]


def refimpl_commands(tftp_root: Path, pool: tuple[str, str] = POOL) -> list[list[str]]:
    """Our two servers: DHCP naming the boot file in options 66 and 67, TFTP serving it on port 69."""
    py = [sys.executable, "-m", "refimpl"]
    return [
        [
            *py,
            "dhcp-server",
            "--interface",
            INTERFACE,
            "--server-ip",
            SERVER_ADDRESS,
            "--pool",
            f"{pool[0]}-{pool[1]}",
            "--lease-time",
            str(LEASE_SECONDS),
            "--tftp-server",
            SERVER_ADDRESS,
            "--boot-file",
            BOOT_FILE,
        ],
        [*py, "tftp-server", "--root", str(tftp_root), "--host", SERVER_ADDRESS, "--port", "69"],
    ]


def dnsmasq_command(tftp_root: Path, workdir: Path) -> list[str]:
    """One dnsmasq for both: the boot file in BOOTP's header (--dhcp-boot) and its own TFTP server."""
    return [
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--port=0",  # no DNS
        f"--interface={INTERFACE}",
        "--bind-interfaces",
        "--no-ping",
        f"--dhcp-range={POOL[0]},{POOL[1]},255.255.255.0,{LEASE_SECONDS}s",
        f"--dhcp-boot={BOOT_FILE},,{SERVER_ADDRESS}",  # file, sname (none), siaddr: the header fields
        "--enable-tftp",
        f"--tftp-root={tftp_root}",
        f"--dhcp-leasefile={workdir / 'dnsmasq.leases'}",
        f"--pid-file={workdir / 'dnsmasq.pid'}",
        "--log-facility=-",
        "--user=root",
        "--group=root",
    ]


@dataclass
class BootRun:
    server: str
    workdir: Path
    commands: list[str] = field(default_factory=list)
    client_log: list[str] = field(default_factory=list)
    fetched: bytes = b""

    @property
    def pcap(self) -> Path:
        return self.workdir / f"netboot-{self.server}.pcap"

    @property
    def same_file(self) -> bool:
        return hashlib.sha256(self.fetched).digest() == hashlib.sha256(boot_image()).digest()


def _typed(run: BootRun, host: Host, argv: list[str], background: bool = False) -> list[str]:
    words = [str(w).replace(str(run.workdir) + "/", "").replace(sys.executable, "python") for w in argv]
    run.commands.append(f"{host.label}# {' '.join(words)}{' &' if background else ''}")
    return argv


def _start(run: BootRun, host: Host, argv: list[str], log: Path, ready: str) -> subprocess.Popen:
    with open(log, "w") as out:
        process = host.run(_typed(run, host, argv, background=True), background=True, stdout=out)
    wait_for(lambda: ready in log_text(log) or process.poll() is not None, 20, f"{argv[0]} to start")
    if process.poll() is not None:
        raise RuntimeError(f"{' '.join(argv[:4])} did not start:\n{log_text(log)}")
    return process


def _boot_value(log: list[str], name: str) -> str:
    """A ``name=value`` of the client script's "bound" line ("" if missing or empty)."""
    bound = next((line for line in log if line.startswith("bound ")), "")
    for word in bound.split():
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return ""


def netboot(server: str, workdir: str | Path) -> BootRun:
    """Boot the lab's client from ``server`` ("refimpl" or "dnsmasq"): lease, then fetch the boot file."""
    if server not in ("refimpl", "dnsmasq"):
        raise ValueError(f"server must be 'refimpl' or 'dnsmasq', not {server!r}")
    if missing_tools(server):
        raise RuntimeError("this lab needs " + ", ".join(missing_tools(server)))
    run = BootRun(server, Path(workdir).resolve())
    tftp_root = run.workdir / "tftproot"
    tftp_root.mkdir(parents=True, exist_ok=True)
    (tftp_root / BOOT_FILE).write_bytes(boot_image())
    script_log = run.workdir / "client-script.log"
    script = run.workdir / "client-script"
    script.write_text(CLIENT_SCRIPT.format(log=script_log))
    script.chmod(0o755)
    with Lab(f"boot-{server}"[:10]) as lab:
        host_server, client = lab.host("server"), lab.host("client")
        s_if, c_if = lab.link(host_server, f"{SERVER_ADDRESS}/24", client, None)
        host_server.rename_interface(s_if, INTERFACE, SERVER_MAC)  # each end is eth0 in its own host
        client.rename_interface(c_if, INTERFACE, CLIENT_MAC)
        processes = []
        try:
            if server == "refimpl":
                dhcp, tftp = refimpl_commands(tftp_root)
                processes.append(_start(run, host_server, dhcp, run.workdir / "dhcp.log", "serving"))
                processes.append(_start(run, host_server, tftp, run.workdir / "tftp.log", "listening"))
            else:
                argv = dnsmasq_command(tftp_root, run.workdir)
                processes.append(_start(run, host_server, argv, run.workdir / "dnsmasq.log", "TFTP root"))
            run.commands.append(f"client# tcpdump -i {INTERFACE} -w {run.pcap.name} {CAPTURE_FILTER} &")
            with recording(run.pcap, INTERFACE, CAPTURE_FILTER, logs=run.workdir, within=client):
                # -n -q: give up if no lease, quit once bound; -O: ask for options 66 and 67 (RFC 2132 §9.8)
                udhcpc = ["udhcpc", "-i", INTERFACE, "-n", "-q", "-O", "tftp", "-O", "bootfile"]
                client.run(_typed(run, client, [*udhcpc, "-s", str(script), "-t", "5", "-T", "2"]), timeout=60)
                run.client_log = log_text(script_log).splitlines()
                # a boot ROM takes the server from option 66, else siaddr; the file from 67, else `file`
                where = _boot_value(run.client_log, "tftp") or _boot_value(run.client_log, "siaddr")
                name = _boot_value(run.client_log, "bootfile") or _boot_value(run.client_log, "boot_file")
                if where and name:
                    local = run.workdir / "fetched.img"
                    get = ["tftp", "-m", "binary", where, "-c", "get", name, str(local)]
                    client.run(_typed(run, client, get), timeout=60)
                    run.fetched = local.read_bytes() if local.exists() else b""
        finally:
            for process in reversed(processes):
                stop(process)
    return run
