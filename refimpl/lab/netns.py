"""Throw-away test hosts in Linux network namespaces.

Real clients and servers (udhcpc, dhclient, dnsmasq, vsftpd) and our own
socket drivers meet inside namespaces that a test creates and removes itself,
joined by veth pairs. The course's network rule is enforced here, not left to
each caller: every address must come from the documentation ranges of
RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), so a lab can never
send traffic to a real network.

Needs root and iproute2. ``Lab.available()`` says whether this machine can
run one, so tests can skip with a clear message on a laptop.

Example::

    with Lab("dhcp") as lab:
        server = lab.host("server")
        client = lab.host("client")
        lab.link(server, "192.0.2.1/24", client, None)   # client has no address yet
        server.run(["python", "-m", "refimpl", "dhcp-server", ...], background=True)
        client.run(["udhcpc", "-i", client.ifname(0), "-n", "-q"], timeout=20)

The commonest lab, two hosts on one link, in one line::

    with two_hosts("dhcp") as (server, client, s_if, c_if):
        ...
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

#: RFC 5737 documentation networks: the only addresses a lab may use.
DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(net) for net in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")
)


class LabError(RuntimeError):
    """A namespace command failed, or an address broke the network rule."""


def check_documentation_address(address: str) -> ipaddress.IPv4Interface:
    """Return the interface address, or raise LabError if it is not RFC 5737."""
    interface = ipaddress.ip_interface(address)
    if not any(interface.ip in net for net in DOCUMENTATION_NETWORKS):
        raise LabError(f"{address}: labs use only 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24")
    return interface


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
    if check and result.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {result.stderr.strip()}")
    return result


@dataclass
class Host:
    """One namespace: a test host with its own interfaces, routes and sockets."""

    lab: Lab
    name: str  # the namespace name (unique on the machine)
    label: str  # the short name used in traces and diagrams
    interfaces: list[str] = field(default_factory=list)
    processes: list[subprocess.Popen] = field(default_factory=list)

    def ifname(self, index: int = 0) -> str:
        return self.interfaces[index]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` prefixed so that it runs inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def run(self, argv: list[str], timeout: float = 30, background: bool = False, **popen_args):
        """Run a program in this host. Background programs are stopped when the lab closes."""
        if background:
            popen_args.setdefault("stdout", subprocess.PIPE)
            popen_args.setdefault("stderr", subprocess.STDOUT)
            process = subprocess.Popen(self.command(argv), **popen_args)
            self.processes.append(process)
            return process
        return subprocess.run(self.command(argv), capture_output=True, text=True, timeout=timeout, **popen_args)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return _ip("-n", self.name, *args, check=check)

    def rename_interface(self, old: str, new: str = "eth0", mac: str | None = None) -> str:
        """Give interface ``old`` a plain name (and optionally a fixed MAC), so a lab prints the same every run."""
        self.ip("link", "set", old, "down")
        self.ip("link", "set", old, "name", new, *(("address", mac) if mac else ()))
        self.ip("link", "set", new, "up")
        self.interfaces[self.interfaces.index(old)] = new
        return new

    def stop_processes(self, grace: float = 3.0) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(timeout=max(0.05, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.processes.clear()


class Lab:
    """A set of namespaces joined by veth pairs, removed again on exit (even after errors)."""

    def __init__(self, name: str = "lab"):
        # pid + counter keep parallel test runs apart; names stay under IFNAMSIZ (15).
        Lab._count = getattr(Lab, "_count", 0) + 1
        self.prefix = f"c{os.getpid() % 100000}{Lab._count}"
        self.name = name
        self.hosts: dict[str, Host] = {}
        self._links = 0

    @staticmethod
    def available() -> tuple[bool, str]:
        """(True, "") when namespaces can be made here, else (False, why)."""
        if os.geteuid() != 0:
            return False, "needs root to create network namespaces"
        if shutil.which("ip") is None:
            return False, "needs the ip tool (Debian package iproute2)"
        return True, ""

    def host(self, label: str) -> Host:
        namespace = f"{self.prefix}{label}"[:30]
        _ip("netns", "add", namespace)
        host = Host(self, namespace, label)
        self.hosts[label] = host
        host.ip("link", "set", "lo", "up")
        return host

    def link(self, a: Host, a_address: str | None, b: Host, b_address: str | None) -> tuple[str, str]:
        """Join two hosts with a veth pair; either side may start with no address (a DHCP client)."""
        self._links += 1
        a_if, b_if = f"{self.prefix}a{self._links}"[-15:], f"{self.prefix}b{self._links}"[-15:]
        _ip("link", "add", a_if, "type", "veth", "peer", "name", b_if)
        for host, ifname, address in ((a, a_if, a_address), (b, b_if, b_address)):
            _ip("link", "set", ifname, "netns", host.name)
            if address is not None:
                host.ip("addr", "add", str(check_documentation_address(address)), "dev", ifname)
            host.ip("link", "set", ifname, "up")
            host.interfaces.append(ifname)
        return a_if, b_if

    def close(self) -> None:
        for host in self.hosts.values():
            host.stop_processes()
        for host in self.hosts.values():
            _ip("netns", "del", host.name, check=False)  # also removes its veth ends
        self.hosts.clear()

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


@contextmanager
def two_hosts(
    name: str,
    a: str = "server",
    a_address: str | None = "192.0.2.1/24",
    b: str = "client",
    b_address: str | None = None,
) -> Iterator[tuple[Host, Host, str, str]]:
    """A lab of two hosts joined by one veth pair; yields ``(host a, host b, a's interface, b's interface)``.

    By default a server at 192.0.2.1/24 and a client with no address yet
    (it will ask DHCP). Need more? ``server.lab.host(...)`` and
    ``server.lab.link(...)`` add hosts and links to the same lab.
    """
    with Lab(name) as lab:
        host_a, host_b = lab.host(a), lab.host(b)
        a_if, b_if = lab.link(host_a, a_address, host_b, b_address)
        yield host_a, host_b, a_if, b_if
