"""The map of the application protocols this course meets: port, transport, purpose, who connects to whom.

One table, declared once, so the lesson prints it and a test checks it: a
port written in prose cannot drift from the one the code knows. The ports are
IANA's "well-known" assignments, each with the RFC that names it; a server
listens on the port, a client opens (TCP) or sends (UDP) to it from a port of
its own, usually an ephemeral one. Where a protocol breaks that pattern (FTP's
active data connection, DHCP's fixed client port, TFTP's new server port) the
``who`` column says so.

SMTP is in the table for contrast: like FTP and HTTP it is text over TCP,
but its client is a mail server as often as a person's program.

Standard library only; nothing here opens a socket.
"""

from __future__ import annotations

from typing import NamedTuple


class Service(NamedTuple):
    """One row of the map."""

    name: str
    ports: tuple[int, ...]  # the well-known ports, server side
    transport: str  # "TCP", "UDP" or "TCP and UDP"
    purpose: str
    who: str  # who connects (or sends) to whom
    rfc: str  # where the port is named


# fmt: off
SERVICES: tuple[Service, ...] = (
    Service("FTP", (20, 21), "TCP", "file transfer, commands and data apart",
            "client -> server:21 (control); active: server:20 -> client, passive: client -> server",
            "RFC 959 §3.2, §8"),
    Service("SSH", (22,), "TCP", "encrypted remote login, commands, tunnels",
            "client -> server:22", "RFC 4253 §4.1"),
    Service("Telnet", (23,), "TCP", "remote terminal, in clear text",
            "client -> server:23", "RFC 854"),
    Service("SMTP", (25,), "TCP", "mail between servers (for contrast)",
            "sending server -> receiving server:25", "RFC 5321 §4.5.4.2"),
    Service("DNS", (53,), "UDP and TCP", "names to addresses and back",
            "resolver -> server:53 (UDP; TCP when truncated, for zone transfers)", "RFC 1035 §4.2"),
    Service("DHCP", (67, 68), "UDP", "an address and settings for a host",
            "client:68 -> server:67, server:67 -> client:68 (both ports fixed)", "RFC 2131 §4.1"),
    Service("TFTP", (69,), "UDP", "simple file transfer, for booting",
            "client -> server:69; the server answers from a new port", "RFC 1350 §4"),
    Service("HTTP", (80,), "TCP", "the web: requests and responses",
            "client -> server:80", "RFC 9110 §4.2.1"),
    Service("HTTPS", (443,), "TCP (and UDP for HTTP/3)", "HTTP inside TLS",
            "client -> server:443", "RFC 9110 §4.2.2"),
    Service("RDP", (3389,), "TCP and UDP", "a remote Windows desktop",
            "client -> server:3389", "[MS-RDPBCGR] §1.3.1.1"),
)
# fmt: on

BY_NAME: dict[str, Service] = {s.name: s for s in SERVICES}


def port_of(name: str) -> tuple[int, ...]:
    """The well-known ports of ``name`` ("DNS" -> (53,)); a KeyError names the known ones."""
    try:
        return BY_NAME[name].ports
    except KeyError:
        raise KeyError(f"no service {name!r}; known: {', '.join(BY_NAME)}") from None


def service_on(port: int) -> list[str]:
    """The services that listen on ``port`` (a port may have none here)."""
    return [s.name for s in SERVICES if port in s.ports]


def table() -> str:
    """The map as plain text, one service a line, in port order."""
    rows = [("service", "port(s)", "transport", "purpose", "who connects to whom")]
    for s in sorted(SERVICES, key=lambda s: s.ports[0]):
        rows.append((s.name, "/".join(map(str, s.ports)), s.transport, s.purpose, s.who))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths)) + "  " + row[4])
    return "\n".join(lines)
