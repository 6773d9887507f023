"""DNS on the simulated LAN: one question answered, and one name found from the root down.

Each function builds a small network, runs it and returns a :class:`DnsRun`
whose ``trace`` a lesson prints or draws::

    from refimpl.dns.scenarios import lookup, walk
    run = lookup("www.example.com")            # one UDP query, one answer
    run = lookup("pool.example.com", edns=None) # 40 addresses, no EDNS: TC=1, then TCP
    run = walk("www.example.com")              # laptop -> resolver -> root, com, example.com

The hosts, all on one segment of RFC 5737 addresses (the simulated world has
no routers here; what matters is who asks whom): in :func:`lookup`, ``laptop``
(192.0.2.10) and ``ns1`` (192.0.2.53, authoritative for ``example.com``,
:data:`EXAMPLE_ZONE`); in :func:`walk`, ``laptop``, the recursive ``resolver``
and three authoritative servers ``root``, ``com`` and ``ns1``
(:data:`ROOT_ZONE`, :data:`COM_ZONE`, :data:`EXAMPLE_ZONE` with ns1 at
203.0.113.53, the address the ``com`` zone's glue gives). Message IDs come
from the seed, so a run prints the same every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from refimpl.dns.referral import DelegatingServer
from refimpl.dns.resolver import StubResolver
from refimpl.dns.server import AuthoritativeServer
from refimpl.dns.sim_glue import DnsServerHost, RecursiveHost, StubHost, register
from refimpl.dns.zone import parse_zone
from refimpl.sim.network import Network

POOL_SIZE = 40  # addresses of pool.example.com: 40 A records do not fit in 512 bytes, and do fit in 1232

EXAMPLE_ZONE = """$ORIGIN example.com.
$TTL 3600
@     IN SOA ns1 hostmaster 2026120601 7200 900 1209600 300
      IN NS  ns1
ns1   IN A   192.0.2.53
www   IN A   192.0.2.80
mail  IN A   192.0.2.25
@     IN MX  10 mail
""" + "".join(f"pool  IN A   198.51.100.{i}\n" for i in range(1, POOL_SIZE + 1))
ROOT_ZONE = """$ORIGIN .
$TTL 86400
@                   IN SOA a.root-servers.net. nstld.verisign-grs.com. 2026120600 1800 900 604800 86400
                    IN NS  a.root-servers.net.
a.root-servers.net. IN A   203.0.113.1
com.                IN NS  a.gtld-servers.net.
a.gtld-servers.net. IN A   203.0.113.2
"""
COM_ZONE = """$ORIGIN com.
$TTL 172800
@                   IN SOA a.gtld-servers.net. nstld.verisign-grs.com. 2026120600 1800 900 604800 86400
                    IN NS  a.gtld-servers.net.
example             IN NS  ns1.example.com.
ns1.example         IN A   203.0.113.53
"""


@dataclass
class DnsRun:
    """A finished run: the network (and its trace), the servers, and what the asker got."""

    net: Network
    servers: dict[str, DnsServerHost] = field(default_factory=dict)
    stub: StubHost | None = None
    resolver: RecursiveHost | None = None

    @property
    def trace(self):
        return self.net.trace

    @property
    def answer(self):
        """The stub's final answer (a :class:`~refimpl.dns.message.Message`), or None."""
        result = self.stub.result if self.stub else None
        return getattr(result, "message", None)


def lookup(
    name: str = "www.example.com",
    qtype: int = 1,
    edns: int | None = 1232,
    seed: int = 8,
    drop: dict[str, set[int]] | None = None,
) -> DnsRun:
    """``laptop`` asks ``ns1`` (our authoritative server) one question with our stub resolver.

    ``edns``: the UDP payload size the stub advertises in an OPT record (RFC
    6891), or None for a plain RFC 1035 query (then the answer must fit in 512
    bytes, or it comes back truncated and the stub asks again over TCP).
    ``drop`` loses packets by kind, as in :func:`refimpl.dhcp.scenarios.one_client`.
    """
    net = Network(seed=seed)
    register(net)
    lan = net.segment("lan", "192.0.2.0/24")
    ns1 = net.host("ns1", lan, ip="192.0.2.53/24")
    laptop = net.host("laptop", lan, ip="192.0.2.10/24")
    run = DnsRun(net)
    run.servers["ns1"] = DnsServerHost(net, ns1, AuthoritativeServer(parse_zone(EXAMPLE_ZONE)))
    resolver = StubResolver(name, qtype, edns_size=edns, recursion=False, ids=random.Random(f"{seed}:ids"))
    run.stub = StubHost(net, laptop, "192.0.2.53", resolver)
    for kind, nth in (drop or {}).items():
        net.impair(kind=kind, drop_nth=set(nth))
    run.stub.start()
    net.run(until=30.0)
    return run


def walk(name: str = "www.example.com", qtype: int = 1, seed: int = 8) -> DnsRun:
    """``laptop`` asks ``resolver`` (RD=1); the resolver iterates: ``root``, then ``com``, then ``ns1``."""
    net = Network(seed=seed)
    register(net)
    world = net.segment("world", "203.0.113.0/24")
    run = DnsRun(net)
    for host_name, ip, zone in (
        ("root", "203.0.113.1", ROOT_ZONE),
        ("com", "203.0.113.2", COM_ZONE),
        ("ns1", "203.0.113.53", EXAMPLE_ZONE.replace("192.0.2.53", "203.0.113.53")),  # where com's glue says
    ):
        host = net.host(host_name, world, ip=f"{ip}/24")
        run.servers[host_name] = DnsServerHost(net, host, DelegatingServer(parse_zone(zone)))
    resolver_host = net.host("resolver", world, ip="203.0.113.200/24")
    run.resolver = RecursiveHost(net, resolver_host, ("203.0.113.1",), random.Random(f"{seed}:walk"))
    laptop = net.host("laptop", world, ip="203.0.113.10/24")
    stub = StubResolver(name, qtype, edns_size=None, recursion=True, ids=random.Random(f"{seed}:ids"))
    run.stub = StubHost(net, laptop, "203.0.113.200", stub)
    run.stub.start()
    net.run(until=30.0)
    return run


__all__ = ["COM_ZONE", "EXAMPLE_ZONE", "POOL_SIZE", "ROOT_ZONE", "DnsRun", "lookup", "walk"]
