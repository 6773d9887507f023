"""Where the data connection goes: PORT, PASV, EPRT and EPSV arguments.

FTP moves files over a *second* TCP connection (RFC 959 §3.2). The control
connection only says where that connection should be made:

* **active** (PORT, EPRT): the client listens and tells the server its address;
  the server connects to it, from port 20 by tradition (RFC 959 §3.2).
* **passive** (PASV, EPSV): the server listens and tells the client its
  address; the client connects. This is what works through NAT.

PORT and PASV encode an IPv4 address and a port as six decimal bytes
``h1,h2,h3,h4,p1,p2`` with ``port = p1 * 256 + p2`` (RFC 959 §4.1.2). EPRT and
EPSV (RFC 2428) carry IPv6 too: ``|1|192.0.2.10|50000|`` or ``|2|::1|50000|``,
and EPSV's reply holds only the port: ``(|||50000|)``.

Every function here is standalone and pure, so each one is a small exercise:
"build a PORT argument", "parse a 227 reply".
"""

from __future__ import annotations

import ipaddress
import re


class DataChannelError(ValueError):
    """An argument or reply that does not follow the grammar."""


# -- PORT and 227 (RFC 959) ---------------------------------------------------


def format_host_port(ip: str, port: int) -> str:
    """``("192.0.2.10", 50000)`` -> ``"192,0,2,10,195,80"`` (RFC 959 §4.1.2)."""
    address = ipaddress.IPv4Address(ip)  # raises for IPv6: PORT cannot carry it
    if not 0 <= port <= 65535:
        raise DataChannelError(f"port out of range: {port}")
    h = str(address).split(".")
    return ",".join([*h, str(port >> 8), str(port & 0xFF)])


def parse_host_port(text: str) -> tuple[str, int]:
    """``"192,0,2,10,195,80"`` -> ``("192.0.2.10", 50000)``; the inverse of
    :func:`format_host_port`. Raises :class:`DataChannelError` on bad input."""
    parts = text.strip().split(",")
    if len(parts) != 6 or not all(p.strip().isdigit() for p in parts):
        raise DataChannelError(f"expected h1,h2,h3,h4,p1,p2, got {text!r}")
    numbers = [int(p) for p in parts]
    if any(n > 255 for n in numbers):
        raise DataChannelError(f"each number must be 0..255: {text!r}")
    ip = ".".join(str(n) for n in numbers[:4])
    return ip, numbers[4] * 256 + numbers[5]


def format_port_command(ip: str, port: int) -> str:
    """The whole PORT command line (without CRLF)."""
    return f"PORT {format_host_port(ip, port)}"


def format_227(ip: str, port: int) -> str:
    """The text of a 227 reply: ``Entering Passive Mode (192,0,2,1,117,48).``"""
    return f"Entering Passive Mode ({format_host_port(ip, port)})."


_227 = re.compile(r"(\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3}\s*,\s*\d{1,3})")


def parse_227(text: str) -> tuple[str, int]:
    """Find ``h1,h2,h3,h4,p1,p2`` in a 227 reply and decode it.

    RFC 959 does not fix where the numbers stand or whether they are in
    parentheses (RFC 1123 §4.1.2.6 tells clients to scan for them), so we
    search the text instead of splitting it. Accepts ``"227 ..."`` or only
    the text after the code.
    """
    if text[:4] in ("227 ", "227-"):
        text = text[4:]
    match = _227.search(text)
    if not match:
        raise DataChannelError(f"no h1,h2,h3,h4,p1,p2 in {text!r}")
    return parse_host_port(match.group(1).replace(" ", ""))


# -- EPRT and 229 (RFC 2428) --------------------------------------------------

#: RFC 2428 §2: network protocol numbers (from the IANA address family list)
AF_NUMBERS = {1: 4, 2: 6}  # EPRT protocol -> IP version


def format_eprt(ip: str, port: int) -> str:
    """``("::1", 50000)`` -> ``"|2|::1|50000|"`` (RFC 2428 §2)."""
    address = ipaddress.ip_address(ip)
    proto = 1 if address.version == 4 else 2
    if not 0 <= port <= 65535:
        raise DataChannelError(f"port out of range: {port}")
    return f"|{proto}|{address}|{port}|"


def parse_eprt(text: str) -> tuple[int, str, int]:
    """``"|1|192.0.2.10|50000|"`` -> ``(1, "192.0.2.10", 50000)``.

    RFC 2428 §2: the first character is the delimiter (usually ``|``); the
    three fields are protocol (1 = IPv4, 2 = IPv6), address, port. The
    protocol is returned so the server can answer 522 for one it lacks.
    """
    text = text.strip()
    if len(text) < 7:
        raise DataChannelError(f"EPRT argument too short: {text!r}")
    delim = text[0]
    if delim.isalnum() or not (33 <= ord(delim) <= 126):
        raise DataChannelError(f"bad EPRT delimiter {delim!r}")
    fields = text.split(delim)
    if len(fields) != 5 or fields[0] or fields[4]:
        raise DataChannelError(f"expected |proto|address|port|, got {text!r}")
    proto_s, host, port_s = fields[1:4]
    if not proto_s.isdigit() or not port_s.isdigit():
        raise DataChannelError(f"protocol and port must be numbers: {text!r}")
    proto, port = int(proto_s), int(port_s)
    if not 0 < port <= 65535:
        raise DataChannelError(f"port out of range: {port}")
    if proto in AF_NUMBERS:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise DataChannelError(f"not an IP address: {host!r}") from None
        if address.version != AF_NUMBERS[proto]:
            raise DataChannelError(f"protocol {proto} does not match address {host}")
        host = str(address)
    return proto, host, port


def format_229(port: int) -> str:
    """The text of a 229 reply: ``Entering Extended Passive Mode (|||50000|)`` (RFC 2428 §3)."""
    return f"Entering Extended Passive Mode (|||{port}|)"


_229 = re.compile(r"\((.)\1\1(\d{1,5})\1\)")


def parse_229(text: str) -> int:
    """``"229 Entering Extended Passive Mode (|||50000|)"`` -> ``50000``.

    Only the port is given; the client connects to the address it already
    uses for the control connection (RFC 2428 §3).
    """
    match = _229.search(text)
    if not match:
        raise DataChannelError(f"no (|||port|) in {text!r}")
    port = int(match.group(2))
    if not 0 < port <= 65535:
        raise DataChannelError(f"port out of range: {port}")
    return port


def is_bounce(target_ip: str, target_port: int, client_ip: str) -> str | None:
    """Why an active-mode target is refused, or ``None`` if allowed.

    A server that connects wherever PORT says can be used to attack a third
    host ("FTP bounce", RFC 2577 §2). Two rules, of two origins:

    * the port must not be below 1024: RFC 2577 §3, "it is suggested that
      servers not open data connections to TCP ports less than 1024";
    * the address must be the client's own: our policy, and common server
      practice (vsftpd ``port_promiscuous=NO``, pyftpdlib
      ``permit_foreign_addresses=False``). RFC 2577 §3 does not ask for it,
      but it closes the gap §3 admits for services above port 1023.
    """
    if ipaddress.ip_address(target_ip) != ipaddress.ip_address(client_ip):
        return "foreign address"  # policy (vsftpd, pyftpdlib), not an RFC 2577 rule
    if target_port < 1024:
        return "privileged port"  # RFC 2577 §3
    return None
