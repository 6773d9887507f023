"""Ready-made DHCP stories on the simulated network, one line each in a notebook.

Every function builds a small network (:mod:`refimpl.net.sim`), puts the real
protocol cores on it (:mod:`refimpl.dhcp.sim_glue`), runs the virtual clock
and returns a :class:`Scenario`: the trace plus the objects, so a lesson can
draw the trace, open the server's lease store or step through the client's
states::

    from refimpl.dhcp import scenarios
    run = scenarios.one_client()
    print(run.trace.table())

Addresses come from the documentation ranges (RFC 5737): the clients' LAN is
192.0.2.0/24 with the server at 192.0.2.1; behind a relay the clients live
on 198.51.100.0/24. Every run is seeded, so it prints the same every time.

=====================  ===========================================================
scenario               what it shows
=====================  ===========================================================
``one_client``         DISCOVER, OFFER, REQUEST, ACK (RFC 2131 §3.1); ``drop=`` loses messages
``three_clients``      three exchanges at once, told apart by ``xid`` and ``chaddr``
``two_servers``        two OFFERs; the REQUEST's server id picks one (§3.1 steps 2-4)
``relay``              a relay agent: giaddr, hops, option 82 (RFC 1542, RFC 3046)
``pool_exhaustion``    more clients than addresses: no OFFER for the last (§4.3.1)
``address_conflict``   the ARP probe finds the address taken: DHCPDECLINE (§3.1 step 5)
``no_server``          nobody answers: backoff, then a 169.254 address (RFC 3927)
``lease_life``         BOUND, RENEWING at T1, server gone, REBINDING at T2 to a
                       second server, then expiry (§4.4.5)
``release``            DHCPRELEASE and coming back (§4.4.6)
``init_reboot``        a rebooted client asks for its old address (§3.2); NAK if it moved
``inform``             a host with a hand-set address asks only for configuration (§3.4)
=====================  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from refimpl.dhcp.server import ServerConfig
from refimpl.dhcp.sim_glue import ClientHost, RelayHost, ServerHost, StateChange, register
from refimpl.net.sim import Network
from refimpl.trace import Trace

LAN = "192.0.2.0/24"
REMOTE = "198.51.100.0/24"
DNS = ["192.0.2.53"]


@dataclass
class Scenario:
    """What a scenario leaves behind: the trace and everything that made it."""

    name: str
    net: Network
    servers: dict[str, ServerHost] = field(default_factory=dict)
    clients: dict[str, ClientHost] = field(default_factory=dict)
    relays: dict[str, RelayHost] = field(default_factory=dict)
    story: str = ""

    @property
    def trace(self) -> Trace:
        return self.net.trace

    @property
    def client(self) -> ClientHost:
        """The first client (most scenarios have one)."""
        return next(iter(self.clients.values()))

    @property
    def server(self) -> ServerHost:
        """The first server."""
        return next(iter(self.servers.values()))

    def changes(self, client: str | None = None) -> list[StateChange]:
        """The client's state transitions, each tied to its place in the trace."""
        return (self.clients[client] if client else self.client).changes

    def state_at(self, index: int, client: str | None = None) -> tuple[str, StateChange | None]:
        """``(state, last change)`` of the client when trace event ``index`` is shown."""
        host = self.clients[client] if client else self.client
        first = host.changes[0].before if host.changes else host.state
        last = None
        for change in host.changes:
            if change.visible_at(index):
                last = change
        return (last.after if last else first), last

    def states(self, client: str | None = None) -> list[str]:
        """The client's state at each trace event (what a stepper highlights)."""
        return [self.state_at(i, client)[0] for i in range(len(self.trace))]

    def history(self, client: str | None = None) -> str:
        """The transitions as text: time, state, event, next state, action."""
        return "\n".join(
            f"{c.time:9.3f}  {c.before:<11} --{c.event}--> {c.after:<11} ({c.action})" for c in self.changes(client)
        )

    def __repr__(self) -> str:
        return f"<Scenario {self.name}: {len(self.trace)} events, clients {list(self.clients)}, servers {list(self.servers)}>"


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------
def _config(server_ip: str, pool: tuple[str, str], network: str = LAN, router: str = "192.0.2.1", **more) -> ServerConfig:
    return ServerConfig(server_ip=server_ip, network=network, pool=pool,
                        options={"router": [router], "dns_servers": DNS}, **more)  # fmt: skip


def _lan(seed: int) -> tuple[Network, object]:
    net = Network(seed=seed)
    register(net)
    return net, net.segment("lan", LAN)


def _server(run: Scenario, lan, name: str, ip: str, pool=("192.0.2.100", "192.0.2.199"), listening=True, **config):
    host = run.net.host(name, lan, ip=f"{ip}/24")
    run.servers[name] = ServerHost(run.net, host, _config(ip, pool, **config), listening=listening)
    return run.servers[name]


def _client(run: Scenario, lan, name: str, **options) -> ClientHost:
    host = run.net.host(name, lan)
    run.clients[name] = ClientHost(run.net, host, **options)
    return run.clients[name]


# ---------------------------------------------------------------------------
# The scenarios
# ---------------------------------------------------------------------------
def one_client(seed: int = 1, broadcast: bool = False, drop: dict[str, set[int]] | None = None,
               lease_time: int = 3600, until: float = 10.0) -> Scenario:  # fmt: skip
    """One client, one server: the four steps (RFC 2131 §3.1).

    ``broadcast=True`` makes the client set the BROADCAST bit, so the OFFER
    and ACK are broadcast (RFC 2131 §4.1). ``drop={"DHCPOFFER": {1}}`` loses
    the first OFFER, to watch the client retransmit (§4.1 backoff).
    """
    net, lan = _lan(seed)
    run = Scenario("one_client", net, story="one client gets an address from one server")
    _server(run, lan, "server", "192.0.2.1", lease_time=lease_time)
    client = _client(run, lan, "client", broadcast=broadcast)
    for kind, nth in (drop or {}).items():
        net.impair(kind=kind, drop_nth=set(nth))
    client.start()
    net.run(until=until)
    return run


def three_clients(seed: int = 1, until: float = 10.0) -> Scenario:
    """Three clients boot at (almost) the same moment; xid and chaddr keep the exchanges apart."""
    net, lan = _lan(seed)
    run = Scenario("three_clients", net, story="three clients, one server, interleaved exchanges")
    _server(run, lan, "server", "192.0.2.1")
    for k, name in enumerate(("pc1", "pc2", "pc3")):
        _client(run, lan, name).start(at=0.002 * k)
    net.run(until=until)
    return run


def two_servers(seed: int = 1, until: float = 10.0) -> Scenario:
    """Two servers answer one DISCOVER; the client's REQUEST names the one it chose (§3.1 steps 3-4)."""
    net, lan = _lan(seed)
    run = Scenario("two_servers", net, story="two servers make offers, the client picks one")
    _server(run, lan, "dhcp-a", "192.0.2.1", pool=("192.0.2.100", "192.0.2.149"))
    _server(run, lan, "dhcp-b", "192.0.2.2", pool=("192.0.2.150", "192.0.2.199"))
    _client(run, lan, "client").start()
    net.run(until=until)
    return run


def relay(seed: int = 1, servers: int = 1, broadcast: bool = False, until: float = 10.0) -> Scenario:
    """A client on 198.51.100.0/24, the server(s) on 192.0.2.0/24, a relay agent in the router between.

    The relay fills ``giaddr`` and adds 1 to ``hops`` (RFC 1542 §4.1.1),
    adds option 82 (RFC 3046) and unicasts to each server; the servers answer
    to ``giaddr``:67 (RFC 2131 §4.1); the relay strips option 82 and delivers
    to the client on port 68.
    """
    net = Network(seed=seed)
    register(net)
    clients_seg = net.segment("clients", REMOTE)
    servers_seg = net.segment("servers", LAN)
    run = Scenario("relay", net, story=f"a relay agent between a client and {servers} server(s)")
    router = net.router("relay", (clients_seg, "198.51.100.1/24"), (servers_seg, "192.0.2.254/24"))
    addresses = ["192.0.2.1", "192.0.2.2"][:servers]
    pools = [("198.51.100.100", "198.51.100.149"), ("198.51.100.150", "198.51.100.199")]
    for k, ip in enumerate(addresses):
        name = "server" if servers == 1 else f"server-{'ab'[k]}"
        host = net.host(name, servers_seg, ip=f"{ip}/24", gateway="192.0.2.254")
        config = _config(ip, pools[k], network=REMOTE, router="198.51.100.1")
        run.servers[name] = ServerHost(net, host, config)
    run.relays["relay"] = RelayHost(net, router, addresses, circuit_id=b"port-7", remote_id=b"relay-1")
    _client(run, clients_seg, "client", broadcast=broadcast).start()
    net.run(until=until)
    return run


def pool_exhaustion(seed: int = 1, until: float = 140.0) -> Scenario:
    """A pool of two addresses and three clients: the third gets no OFFER (RFC 2131 §4.3.1),
    retransmits with backoff (§4.1) and falls back to a link-local address (RFC 3927)."""
    net, lan = _lan(seed)
    run = Scenario("pool_exhaustion", net, story="two addresses, three clients")
    _server(run, lan, "server", "192.0.2.1", pool=("192.0.2.100", "192.0.2.101"))
    for k, name in enumerate(("pc1", "pc2", "pc3")):
        _client(run, lan, name).start(at=0.5 * k)
    net.run(until=until)
    return run


def address_conflict(seed: int = 1, until: float = 20.0) -> Scenario:
    """A printer already uses 192.0.2.100 by hand; the server does not know and offers it.

    The client's ARP probe gets an answer, so it sends DHCPDECLINE, waits 10 s
    and starts again (RFC 2131 §3.1 step 5, §4.4.1); the server marks the
    address unusable (§4.3.3) and offers the next one.
    """
    net, lan = _lan(seed)
    run = Scenario("address_conflict", net, story="the offered address is already in use")
    _server(run, lan, "server", "192.0.2.1")
    net.host("printer", lan, ip="192.0.2.100/24")
    _client(run, lan, "client").start()
    net.run(until=until)
    return run


def no_server(seed: int = 1, server_at: float | None = None, until: float = 140.0) -> Scenario:
    """Nobody answers the DISCOVER. The client retransmits after about 4, 8, 16, 32
    and 64 s (RFC 2131 §4.1), then takes a 169.254 address (RFC 3927; seed 000)
    and tries DHCP again every 5 minutes. With ``server_at`` a server comes up
    at that time; the next try gets a lease and the link-local address goes."""
    net, lan = _lan(seed)
    run = Scenario("no_server", net, story="no DHCP server: link-local fallback")
    net.host("printer", lan, ip="192.0.2.20/24")
    if server_at is not None:
        server = _server(run, lan, "server", "192.0.2.1", listening=False)
        net.call_at(server_at, server.start)
    _client(run, lan, "client").start()
    net.run(until=until)
    return run


def lease_life(seed: int = 1, lease_time: int = 600, until: float = 1250.0) -> Scenario:
    """A whole lease life (RFC 2131 §4.4.5).

    * t=0: the client gets a lease from ``dhcp-a`` (T1 = 50 %, T2 = 87.5 %);
    * t=200: ``dhcp-a`` goes down; ``dhcp-b`` (same pool, a standby) comes up at 250;
    * T1: RENEWING, unicast REQUESTs to dhcp-a go unanswered;
    * T2: REBINDING, a broadcast REQUEST reaches dhcp-b, which ACKs: BOUND again;
    * t=700: dhcp-b goes down too; at the end of the lease the client stops
      using the address (it sends no RELEASE: seed 002 is wrong) and starts over.
    """
    net, lan = _lan(seed)
    run = Scenario("lease_life", net, story="bound, renew, rebind to a second server, expire")
    a = _server(run, lan, "dhcp-a", "192.0.2.1", lease_time=lease_time)
    b = _server(run, lan, "dhcp-b", "192.0.2.2", lease_time=lease_time, listening=False)
    _client(run, lan, "client").start()
    net.call_at(200, a.stop, "dhcp-a down")
    net.call_at(250, b.start, "dhcp-b up")
    net.call_at(700, b.stop, "dhcp-b down")
    net.run(until=until)
    return run


def release(seed: int = 1, release_at: float = 60.0, again_at: float = 90.0, until: float = 100.0) -> Scenario:
    """The client gives its address back with DHCPRELEASE (unicast, RFC 2131 §4.4.6)
    and later asks again: the server remembers it and offers the same address."""
    net, lan = _lan(seed)
    run = Scenario("release", net, story="release, then come back")
    _server(run, lan, "server", "192.0.2.1")
    client = _client(run, lan, "client")
    client.start()
    client.release(at=release_at)
    client.start(at=again_at)
    net.run(until=until)
    return run


def init_reboot(seed: int = 1, moved: bool = False, until: float = 130.0) -> Scenario:
    """A client that remembers an address starts in INIT-REBOOT and broadcasts a
    REQUEST for it (RFC 2131 §3.2, table 5: requested IP set, no server id).

    ``moved=False``: the client got 192.0.2.100 earlier and reboots at t=100;
    the server knows it and ACKs. ``moved=True``: the laptop comes from another
    network remembering 198.51.100.23; the server NAKs (§4.3.2) and the client
    starts again from INIT.
    """
    net, lan = _lan(seed)
    run = Scenario("init_reboot", net, story="reboot with a remembered address" + (" from another network" if moved else ""))
    _server(run, lan, "server", "192.0.2.1")
    if moved:
        _client(run, lan, "laptop", previous_ip="198.51.100.23").start()
        net.run(until=min(until, 30.0))
    else:
        client = _client(run, lan, "laptop")
        client.start()
        client.reboot(at=100.0)
        net.run(until=until)
    return run


def inform(seed: int = 1, until: float = 10.0) -> Scenario:
    """A printer with a hand-set address (192.0.2.50) sends DHCPINFORM to learn the
    router and DNS server; the server answers with a DHCPACK that carries no lease
    and no ``yiaddr``, unicast to ``ciaddr`` (RFC 2131 §3.4, §4.3.5)."""
    net, lan = _lan(seed)
    run = Scenario("inform", net, story="configuration only, for a hand-set address")
    _server(run, lan, "server", "192.0.2.1")
    host = net.host("printer", lan, ip="192.0.2.50/24")
    run.clients["printer"] = ClientHost(net, host, static_ip="192.0.2.50")
    run.clients["printer"].inform()
    net.run(until=until)
    return run


SCENARIOS: dict[str, Callable[..., Scenario]] = {
    "one_client": one_client,
    "three_clients": three_clients,
    "two_servers": two_servers,
    "relay": relay,
    "pool_exhaustion": pool_exhaustion,
    "address_conflict": address_conflict,
    "no_server": no_server,
    "lease_life": lease_life,
    "release": release,
    "init_reboot": init_reboot,
    "inform": inform,
}
"""Name -> function, for loops in tests and notebooks."""
