"""FTP through a real NAT and a real firewall (Linux nftables), with and without the kernel's FTP helper.

Lesson 06 simulated why FTP and NAT do not mix; this lab does it with the
Linux kernel's own NAT, between three namespaces::

    client 192.0.2.10 --- 192.0.2.1 router 203.0.113.254 --- 203.0.113.1 server
                              (masquerade: the client's connections
                               leave with the router's address)

The server is the course's ``ftp-server`` on port 21 (passive ports
30000-30009, active mode from port 20), the client curl. The server has no
route back to 192.0.2.0/24: it only ever sees the router's address, as a
server on the Internet sees a home router.

Three stories, each a list of curl runs:

* **NAT alone**: passive works (the client opens both connections, the NAT
  rewrites them like any other), active does not: the client's ``PORT``
  names its private address, which the server refuses (RFC 2577's bounce
  attack: a careful server connects only to the address the control
  connection comes from) and could not reach anyway.
* **NAT with the FTP helper**: the router's connection tracker reads the
  control connection (``ct helper`` "ftp", the kernel's nf_conntrack_ftp),
  rewrites the address and port in ``PORT`` to its own and lets the server's
  connection back in: active works. Two captures, one on each side of the
  router, show the two versions of the same PORT.
* **A firewall in front of the server** (input policy drop, port 21
  allowed): passive fails, since each transfer goes to a port nobody
  opened; it works once the passive range is opened, or once the firewall
  runs the FTP helper itself (``ct state related``).

Needs root, iproute2, nft (nftables), tcpdump, curl and a kernel with the
FTP connection-tracking helper (``/sys/module/nf_conntrack_ftp``).
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.capture.recorder import recording
from refimpl.lab.netns import Host, Lab
from refimpl.lab.procwait import log_text, stop, wait_for

CLIENT = "192.0.2.10"
ROUTER_INSIDE = "192.0.2.1"
ROUTER_OUTSIDE = "203.0.113.254"
SERVER = "203.0.113.1"
PASSIVE = (30000, 30009)
HELLO = b"hello through the NAT\n"
HELPER_MODULE = Path("/sys/module/nf_conntrack_ftp")
TOOLS = {"ip": "iproute2", "nft": "nftables", "tcpdump": "tcpdump", "curl": "curl"}

NAT_RULES = """table ip lab_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 192.0.2.0/24 oifname "eth1" masquerade
    }
}
"""

# The FTP helper: connections to port 21 are read by nf_conntrack_ftp, which rewrites PORT (with the NAT)
# and expects the data connections the commands announce.
HELPER_RULES = """table ip lab_helper {
    ct helper ftp-standard {
        type "ftp" protocol tcp;
    }
    chain prerouting {
        type filter hook prerouting priority filter; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
    }
}
"""

FIREWALL_RULES = """table ip lab_firewall {{
    chain input {{
        type filter hook input priority filter; policy drop;
        ct state established accept
        tcp dport 21 accept{extra}
    }}
}}
"""
OPEN_PASSIVE_RANGE = f"\n        tcp dport {PASSIVE[0]}-{PASSIVE[1]} accept"

# The same firewall, with the FTP helper reading the control connection: a data connection that a 227 reply
# announced is "related" to it, and is let in; no other port is opened.
FIREWALL_WITH_HELPER = """table ip lab_firewall {
    ct helper ftp-standard {
        type "ftp" protocol tcp;
    }
    chain prerouting {
        type filter hook prerouting priority filter; policy accept;
        tcp dport 21 ct helper set "ftp-standard"
    }
    chain input {
        type filter hook input priority filter; policy drop;
        ct state established,related accept
        tcp dport 21 accept
    }
}
"""


def missing_tools() -> list[str]:
    missing = [] if os.geteuid() == 0 else ["root (the lab makes network namespaces)"]
    missing += [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    if not HELPER_MODULE.exists():
        missing.append("the kernel's FTP helper (modprobe nf_conntrack_ftp; not available in every container)")
    return missing


@dataclass
class NatRun:
    """The commands of the lab and what each curl run gave: (label, exit code, first line of curl's output)."""

    workdir: Path
    commands: list[str] = field(default_factory=list)
    results: list[tuple[str, int, str]] = field(default_factory=list)

    def pcap(self, side: str, helper: bool = True) -> Path:
        """The capture of an active download, on the ``"client"`` or ``"server"`` side of the router.

        ``helper``: the one with the router's FTP helper (both sides), else the one without (server side).
        """
        return self.workdir / f"active-{side}{'' if helper else '-alone'}.pcap"


def _nft(run: NatRun, host: Host, rules: str, name: str) -> None:
    path = run.workdir / f"{name}.nft"
    path.write_text(rules)
    run.commands.append(f"{host.label}# nft -f {path.name}")
    result = host.run(["nft", "-f", str(path)])
    if result.returncode != 0:
        raise RuntimeError(f"nft -f {path.name} on {host.label}: {result.stderr.strip()}")


def _delete_table(run: NatRun, host: Host, table: str = "lab_firewall") -> None:
    run.commands.append(f"{host.label}# nft delete table ip {table}")
    host.run(["nft", "delete", "table", "ip", table])


def _curl(run: NatRun, client: Host, label: str, *args: str) -> None:
    argv = ["curl", "--silent", "--show-error", "--connect-timeout", "3", "--max-time", "15", *args]
    run.commands.append("client# " + " ".join(argv))
    result = client.run(argv, timeout=30)
    output = (result.stdout.strip() or result.stderr.strip()).splitlines()
    first = output[0] if output else ""
    if result.returncode == 28:  # a timeout: the text holds the milliseconds it waited, which vary
        first = "curl: (28) timed out: no answer to the SYN"
    elif result.returncode == 30:  # curl's text after a refused PORT is garbled; man curl names exit 30 so
        first = "curl: (30) FTP PORT failed"
    run.results.append((label, result.returncode, first))


def run_lab(workdir: str | Path) -> NatRun:
    """The three stories, one after the other, in one lab; everything is removed at the end."""
    if missing_tools():
        raise RuntimeError("this lab needs " + ", ".join(missing_tools()))
    run = NatRun(Path(workdir).resolve())
    root = run.workdir / "served"
    (root / "pub").mkdir(parents=True, exist_ok=True)
    (root / "pub" / "hello.txt").write_bytes(HELLO)
    url = f"ftp://{SERVER}/pub/hello.txt"
    passive = ("--disable-epsv",)
    active = ("--ftp-port", "-", "--disable-eprt")
    with Lab("nat") as lab:
        client, router, server = lab.host("client"), lab.host("router"), lab.host("server")
        c_if, r_in = lab.link(client, f"{CLIENT}/24", router, f"{ROUTER_INSIDE}/24")
        r_out, s_if = lab.link(router, f"{ROUTER_OUTSIDE}/24", server, f"{SERVER}/24")
        client.rename_interface(c_if)
        router.rename_interface(r_in, "eth0")
        router.rename_interface(r_out, "eth1")
        server.rename_interface(s_if)
        client.ip("route", "add", "default", "via", ROUTER_INSIDE)
        router.run(["sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        run.commands += [
            f"client# ip route add default via {ROUTER_INSIDE}",
            "router# sysctl -w net.ipv4.ip_forward=1",
        ]
        argv = [sys.executable, "-m", "refimpl", "ftp-server", "--root", str(root), "--host", SERVER, "--port", "21"]
        argv += ["--anonymous", "--passive-ports", f"{PASSIVE[0]}-{PASSIVE[1]}", "--active-port", "20"]
        log = run.workdir / "ftp-server.log"
        with open(log, "w") as out:
            run.commands.append(
                f"server# python -m refimpl ftp-server {' '.join(argv[4:]).replace(str(root), 'served')} &"
            )
            daemon = server.run(argv, background=True, stdout=out)
        try:
            wait_for(lambda: "listening on" in log_text(log) or daemon.poll() is not None, 20, "ftp-server")
            if daemon.poll() is not None:
                raise RuntimeError(f"ftp-server did not start:\n{log_text(log)}")
            _nft(run, router, NAT_RULES, "nat")
            _curl(run, client, "NAT alone, passive", *passive, url)
            (run.workdir / "alone").mkdir(exist_ok=True)
            run.commands.append("server# tcpdump -i eth0 -w active-server-alone.pcap tcp port 21 &")
            with recording(
                run.pcap("server", helper=False), "eth0", "tcp port 21", logs=run.workdir / "alone", within=server
            ):
                _curl(run, client, "NAT alone, active", *active, url)
            _nft(run, router, HELPER_RULES, "helper")
            for side in ("c", "s"):
                (run.workdir / side).mkdir(exist_ok=True)
            run.commands.append("client# tcpdump -i eth0 -w active-client.pcap tcp port 21 &")
            run.commands.append("server# tcpdump -i eth0 -w active-server.pcap tcp port 21 &")
            with recording(run.pcap("client"), "eth0", "tcp port 21", logs=run.workdir / "c", within=client):
                with recording(run.pcap("server"), "eth0", "tcp port 21", logs=run.workdir / "s", within=server):
                    _curl(run, client, "NAT + helper, active", *active, url)
            for label, extra in (("firewall", ""), ("firewall + range", OPEN_PASSIVE_RANGE)):
                _nft(run, server, FIREWALL_RULES.format(extra=extra), label.replace(" + ", "-"))
                _curl(run, client, f"{label}, passive", *passive, url)
                _delete_table(run, server)
            _nft(run, server, FIREWALL_WITH_HELPER, "firewall-helper")
            _curl(run, client, "firewall + helper, passive", *passive, url)
        finally:
            stop(daemon)
    return run
