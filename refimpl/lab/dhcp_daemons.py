"""A lease from real DHCP servers, dnsmasq and Kea, to ISC dhclient, in a lab of two namespaces.

The lab notebook runs what a student would type on two machines, and this
module is only the glue: it makes the two hosts (``server`` at 192.0.2.1,
``client`` with no address, one cable between them, each end named
``eth0``), writes the server's configuration (shown to the student, so it is
built here in plain sight), runs the programs, records the link with tcpdump
and hands back what happened: the commands, the client's log, the server's
lease file and the capture.

Everything about the run that a notebook prints is fixed by the lab: the
client's MAC address, the pool, the lease time. What the programs choose
(dhclient's xid, the seconds a retransmission waits) is left out of the
printed results, so they read the same on every run.

The client is ISC dhclient with a small script of our own instead of
``/sbin/dhclient-script``: the real one would rewrite the machine's
``/etc/resolv.conf`` (namespaces share the file system). Ours logs what
dhclient hands it and sets the address and the default route, which is the
part that matters here (dhclient-script(8) lists the reasons: BOUND, RENEW,
REBIND, REBOOT, EXPIRE, RELEASE, ...).

Needs root, iproute2, tcpdump, dhclient (isc-dhcp-client) and the server
(dnsmasq, or kea-dhcp4 from kea-dhcp4-server).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.capture.recorder import recording
from refimpl.lab.netns import Host, Lab
from refimpl.lab.procwait import log_text, stop, wait_for

SERVER_ADDRESS = "192.0.2.1"
POOL = ("192.0.2.100", "192.0.2.149")
LEASE_SECONDS = 600
CLIENT_MAC = "02:00:00:00:00:42"  # a locally administered address (the 02 bit), fixed so the run repeats
SERVER_MAC = "02:00:00:00:00:01"
INTERFACE = "eth0"
#: DHCP itself, and the ARP and ICMP that servers and clients use to check an address is free
CAPTURE_FILTER = "udp port 67 or udp port 68 or arp or icmp"

TOOLS = {  # program -> Debian package
    "ip": "iproute2",
    "tcpdump": "tcpdump",
    "dhclient": "isc-dhcp-client",
    "dnsmasq": "dnsmasq",
    "kea-dhcp4": "kea-dhcp4-server",
    "tshark": "tshark",
}

CLIENT_SCRIPT = """#!/bin/sh
# What dhclient-script does, reduced to the address and the route (and a log line for us).
echo "$reason ip=$new_ip_address mask=$new_subnet_mask routers=$new_routers lease=$new_dhcp_lease_time \\
server=$new_dhcp_server_identifier" >> "{log}"
case "$reason" in
  BOUND|RENEW|REBIND|REBOOT)
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    [ -n "$new_routers" ] && ip route replace default via "${{new_routers%% *}}" dev "$interface" ;;
  RELEASE|EXPIRE|STOP)
    [ -n "$old_ip_address" ] && ip addr del "$old_ip_address/$old_subnet_mask" dev "$interface" ;;
esac
exit 0
"""


CLIENT_CONF = """# dhclient.conf(5): what this client asks the server for (option 55, RFC 2132 §9.8).
# No "send host-name": the lab's client has no name of its own to announce.
request subnet-mask, broadcast-address, routers, domain-name-servers, dhcp-lease-time,
        dhcp-renewal-time, dhcp-rebinding-time;
# Wait 10 s before sending the DISCOVER again: dnsmasq takes 3 s to probe the address it will offer.
initial-interval 10;
"""


def missing_tools() -> list[str]:
    """What this machine lacks to run the lab, as "program (Debian package)"; empty when ready."""
    missing = [] if os.geteuid() == 0 else ["root (the lab makes network namespaces)"]
    return missing + [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]


def dnsmasq_command(workdir: Path) -> list[str]:
    """dnsmasq as a DHCP server only: ``--port=0`` turns its DNS server off."""
    return [
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",  # no system configuration: everything is on this line
        "--port=0",
        f"--interface={INTERFACE}",
        "--bind-interfaces",
        f"--dhcp-range={POOL[0]},{POOL[1]},255.255.255.0,{LEASE_SECONDS}s",
        f"--dhcp-option=option:router,{SERVER_ADDRESS}",
        f"--dhcp-leasefile={workdir / 'dnsmasq.leases'}",
        f"--pid-file={workdir / 'dnsmasq.pid'}",
        "--log-dhcp",
        "--log-facility=-",
        "--user=root",
        "--group=root",
    ]


def kea_config(workdir: Path) -> dict:
    """kea-dhcp4's configuration (JSON): one subnet, one pool, leases kept in a CSV file."""
    return {
        "Dhcp4": {
            "interfaces-config": {"interfaces": [INTERFACE]},
            "lease-database": {"type": "memfile", "persist": True, "name": str(workdir / "kea-leases4.csv")},
            "valid-lifetime": LEASE_SECONDS,
            "subnet4": [
                {
                    "id": 1,
                    "subnet": "192.0.2.0/24",
                    "pools": [{"pool": f"{POOL[0]} - {POOL[1]}"}],
                    "option-data": [{"name": "routers", "data": SERVER_ADDRESS}],
                }
            ],
            "loggers": [
                {"name": "kea-dhcp4", "severity": "INFO", "output_options": [{"output": str(workdir / "kea.log")}]}
            ],
        }
    }


@dataclass
class LeaseRun:
    """What one lab run did: the commands typed, and what each program left behind."""

    server: str  # "dnsmasq" or "kea"
    workdir: Path
    commands: list[str] = field(default_factory=list)  # as typed, "host# command"
    client_log: list[str] = field(default_factory=list)  # one line per dhclient-script call
    address_after_lease: str = ""  # `ip -4 addr show eth0` on the client, once bound
    address_after_release: str = ""
    leases_after_lease: str = ""  # the server's lease file
    leases_after_release: str = ""

    @property
    def pcap(self) -> Path:
        return self.workdir / f"{self.server}.pcap"


def _shown(run: LeaseRun, host: Host, argv: list[str]) -> list[str]:
    """Note ``argv`` as the student would type it on ``host``; return it."""
    words = [str(word).replace(str(run.workdir) + "/", "") for word in argv]
    run.commands.append(f"{host.label}# {' '.join(words)}")
    return argv


def _address(host: Host) -> str:
    out = host.run(["ip", "-4", "-o", "addr", "show", "dev", INTERFACE]).stdout.split()
    return out[out.index("inet") + 1] if "inet" in out else "(none)"


def _start_server(run: LeaseRun, host: Host) -> subprocess.Popen:
    workdir = run.workdir
    if run.server == "dnsmasq":
        log = workdir / "dnsmasq.log"
        with open(log, "w") as out:
            process = host.run(_shown(run, host, dnsmasq_command(workdir)), background=True, stdout=out)
        ready = "DHCP, IP range"
    else:
        config = workdir / "kea-dhcp4.conf"
        config.write_text(json.dumps(kea_config(workdir), indent=2))
        env = dict(os.environ, KEA_PIDFILE_DIR=str(workdir), KEA_LOCKFILE_DIR=str(workdir))
        log = workdir / "kea.log"
        with open(workdir / "kea.out", "w") as out:
            argv = _shown(run, host, ["kea-dhcp4", "-c", str(config)])
            process = host.run(argv, background=True, stdout=out, env=env)
        ready = "DHCP4_STARTED"
    wait_for(lambda: ready in log_text(log) or process.poll() is not None, 20, f"{run.server} to start")
    if process.poll() is not None:
        raise RuntimeError(f"{run.server} did not start:\n{log_text(log)}{log_text(workdir / 'kea.out')}")
    return process


def _lease_file(run: LeaseRun) -> str:
    name = "dnsmasq.leases" if run.server == "dnsmasq" else "kea-leases4.csv"
    return log_text(run.workdir / name)


def lease_from(server: str, workdir: str | Path) -> LeaseRun:
    """Start ``server`` ("dnsmasq" or "kea"), get a lease with dhclient, release it; record it all."""
    if server not in ("dnsmasq", "kea"):
        raise ValueError(f"server must be 'dnsmasq' or 'kea', not {server!r}")
    if missing_tools():
        raise RuntimeError("this lab needs " + ", ".join(missing_tools()))
    run = LeaseRun(server, Path(workdir).resolve())
    run.workdir.mkdir(parents=True, exist_ok=True)
    script_log = run.workdir / "client-script.log"
    script = run.workdir / "client-script"
    script.write_text(CLIENT_SCRIPT.format(log=script_log))
    script.chmod(0o755)
    conf = run.workdir / "dhclient.conf"
    conf.write_text(CLIENT_CONF)
    files = [
        "-cf",
        str(conf),
        "-sf",
        str(script),
        "-lf",
        str(run.workdir / "dhclient.leases"),
        "-pf",
        str(run.workdir / "dhclient.pid"),
    ]
    with Lab(f"lab-{server}") as lab:
        host_server, client = lab.host("server"), lab.host("client")
        s_if, c_if = lab.link(host_server, f"{SERVER_ADDRESS}/24", client, None)
        host_server.rename_interface(s_if, INTERFACE, SERVER_MAC)  # each end is eth0 in its own host
        client.rename_interface(c_if, INTERFACE, CLIENT_MAC)
        process = _start_server(run, host_server)
        try:
            tcpdump = ["tcpdump", "-i", INTERFACE, "-w", str(run.pcap), f"'{CAPTURE_FILTER}'"]
            run.commands.append(f"client# {' '.join(w.replace(str(run.workdir) + '/', '') for w in tcpdump)} &")
            with recording(run.pcap, INTERFACE, CAPTURE_FILTER, logs=run.workdir, within=client):
                # -1: try once (give up after the timeout instead of retrying for ever); -v: say each message
                client.run(_shown(run, client, ["dhclient", "-4", "-1", "-v", *files, INTERFACE]), timeout=60)
                run.address_after_lease = _address(client)
                run.leases_after_lease = _lease_file(run)
                client.run(_shown(run, client, ["dhclient", "-4", "-r", "-v", *files, INTERFACE]), timeout=30)
                wait_for(lambda: "RELEASE" in log_text(script_log), 10, "dhclient to release")
                run.address_after_release = _address(client)
                if server == "dnsmasq":  # dnsmasq rewrites its lease file on a RELEASE
                    wait_for(lambda: CLIENT_MAC not in _lease_file(run), 10, "dnsmasq to drop the lease")
                run.leases_after_release = _lease_file(run)
        finally:
            stop(process)
    run.client_log = log_text(script_log).splitlines()
    return run


def lease_lines(run: LeaseRun, text: str) -> list[str]:
    """The server's lease file without its clock: dnsmasq's "expiry MAC address name client-id" lines
    and Kea's CSV rows (address, hwaddr, valid_lifetime, state), the expiry times left out."""
    if run.server == "dnsmasq":
        return [" ".join(line.split()[1:4]) for line in text.splitlines() if line.strip()]
    rows = [line.split(",") for line in text.splitlines() if line and not line.startswith("address,")]
    return [f"address={r[0]} hwaddr={r[1]} valid_lifetime={r[3]} state={r[9]}" for r in rows if len(r) > 9]


def tshark_fields(pcap: Path, fields: list[str], display_filter: str = "dhcp") -> str:
    """``tshark -r PCAP -Y FILTER -T fields -e ...``: one line per packet, fields tab-separated."""
    argv = ["tshark", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-E", "separator=,"]
    for name in fields:
        argv += ["-e", name]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"tshark failed: {result.stderr.strip()}")
    return result.stdout
