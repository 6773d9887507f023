"""Shared by the DDNS tests: a DHCP server with DDNS, clients that name themselves, and DNS servers in-process."""

from __future__ import annotations

from refimpl.dhcp.ddns import DdnsConfig, DdnsServer, DnsUpdate
from refimpl.dhcp.ddns_exchange import run
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.message import Message
from refimpl.dhcp.options import ClientFqdn
from refimpl.dhcp.server import DhcpServer, ServerConfig
from refimpl.dns import Type
from refimpl.dns.server import AuthoritativeServer
from refimpl.dns.tsig import Key
from refimpl.dns.zone import parse_zone

KEY = Key("dhcp-ddns.example.com", bytes(range(32)))
NOW = 1_800_000_000.0  # Unix time: TSIG signs with it

FORWARD = """$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 A 192.0.2.53
www A 192.0.2.80
"""
REVERSE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 3600
@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300
  IN NS ns1.example.com.
53 PTR ns1.example.com.
"""


class Dns:
    """Our authoritative core for example.com and for 2.0.192.in-addr.arpa, answering UPDATE bytes."""

    def __init__(self):
        self.forward = AuthoritativeServer(parse_zone(FORWARD), keys=[KEY])
        self.reverse = AuthoritativeServer(parse_zone(REVERSE), keys=[KEY])
        self.sent: list[tuple[bool, object]] = []

    def send(self, request, reverse: bool) -> int:
        self.sent.append((reverse, request))
        server = self.reverse if reverse else self.forward
        effects = server.receive(request.encode(now=NOW), "dhcp-server", now=NOW)
        return request.check_answer(effects[0].data, now=NOW).rcode

    def values(self, name: str, rtype: int) -> list:
        zone = self.reverse.zone if name.endswith("in-addr.arpa") else self.forward.zone
        return [r.value for r in zone.lookup(name) if r.type == rtype]


def ddns_server(**config) -> DdnsServer:
    dhcp = DhcpServer(ServerConfig(server_ip="192.0.2.1", network="192.0.2.0/24", pool=("192.0.2.100", "192.0.2.199")))
    return DdnsServer(dhcp, DdnsConfig("example.com", "2.0.192.in-addr.arpa", key=KEY, **config))


def lease(
    ddns: DdnsServer,
    mac: str,
    *,
    hostname: str | None = None,
    fqdn: ClientFqdn | None = None,
    now: float = NOW,
    client_id: bytes | None = None,
):
    """DISCOVER, REQUEST: ``(the ACK, the DnsUpdate effects, every effect of the REQUEST)``."""
    xid = int(mac.replace(":", "")[-6:], 16)
    discover = Message.discover(mac, xid, hostname=hostname, client_id=client_id)
    if fqdn is not None:
        discover.set("client_fqdn", fqdn)
    offer = next(e.message for e in ddns.receive(discover, now=now) if isinstance(e, Outgoing))
    request = Message.request(
        mac, xid, requested_ip=offer.yiaddr, server_id="192.0.2.1", hostname=hostname, client_id=client_id
    )
    if fqdn is not None:
        request.set("client_fqdn", fqdn)
    effects = ddns.receive(request, now=now)
    ack = next(e.message for e in effects if isinstance(e, Outgoing))
    return ack, [e for e in effects if isinstance(e, DnsUpdate)], effects


def release(ddns: DdnsServer, mac: str, address: str, *, now: float = NOW, client_id: bytes | None = None):
    msg = Message.release(mac, 9, ciaddr=address, server_id="192.0.2.1", client_id=client_id)
    return [e for e in ddns.receive(msg, now=now) if isinstance(e, DnsUpdate)]


def apply(dns: Dns, updates: list[DnsUpdate]) -> list[str]:
    return [run(u.exchange, dns.send) for u in updates]


__all__ = ["Dns", "KEY", "NOW", "Type", "apply", "ddns_server", "lease", "release"]
