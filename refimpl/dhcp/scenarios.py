"""Ready-made DHCP stories on the simulated network, one line each in a notebook.

Every function builds a small network (:mod:`refimpl.sim.network`), puts the real
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
Each scenario has a default seed of its own (1, 2, 3, ... in the order of the
table below), so no two of them show the same ``xid``; pass ``seed=`` to
see another run of the same story.

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

from collections.abc import Callable
from dataclasses import dataclass, field

from refimpl.dhcp.faults import ClientFaults, RelayFaults, ServerFaults
from refimpl.dhcp.server import ServerConfig
from refimpl.dhcp.sim_glue import ClientHost, RelayHost, ServerHost, StateChange, register
from refimpl.diagnosis import Diagnosis, with_mend
from refimpl.sim.network import Network
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
        clients, servers = list(self.clients), list(self.servers)
        return f"<Scenario {self.name}: {len(self.trace)} events, clients {clients}, servers {servers}>"


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------
def _config(
    server_ip: str, pool: tuple[str, str], network: str = LAN, router: str = "192.0.2.1", **more
) -> ServerConfig:
    return ServerConfig(
        server_ip=server_ip, network=network, pool=pool, options={"router": [router], "dns_servers": DNS}, **more
    )


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
def one_client(
    seed: int = 1,
    broadcast: bool = False,
    drop: dict[str, set[int]] | None = None,
    lease_time: int = 3600,
    until: float = 10.0,
    server_ip: str = "192.0.2.1",
    pool: tuple[str, str] = ("192.0.2.100", "192.0.2.199"),
) -> Scenario:
    """One client, one server: the four steps (RFC 2131 §3.1).

    ``broadcast=True`` makes the client set the BROADCAST bit, so the OFFER
    and ACK are broadcast (RFC 2131 §4.1). ``drop={"DHCPOFFER": {1}}`` loses
    the first OFFER, to watch the client retransmit (§4.1 backoff).
    ``server_ip`` and ``pool`` (both in 192.0.2.0/24) let an exercise give each
    student a server of their own (:mod:`refimpl.variant`).
    """
    net, lan = _lan(seed)
    run = Scenario("one_client", net, story="one client gets an address from one server")
    _server(run, lan, "server", server_ip, pool=pool, lease_time=lease_time)
    client = _client(run, lan, "client", broadcast=broadcast)
    for kind, nth in (drop or {}).items():
        net.impair(kind=kind, drop_nth=set(nth))
    client.start()
    net.run(until=until)
    return run


def three_clients(seed: int = 2, until: float = 10.0) -> Scenario:
    """Three clients boot at (almost) the same moment; xid and chaddr keep the exchanges apart."""
    net, lan = _lan(seed)
    run = Scenario("three_clients", net, story="three clients, one server, interleaved exchanges")
    _server(run, lan, "server", "192.0.2.1")
    for k, name in enumerate(("pc1", "pc2", "pc3")):
        _client(run, lan, name).start(at=0.002 * k)
    net.run(until=until)
    return run


def two_servers(seed: int = 3, until: float = 10.0) -> Scenario:
    """Two servers answer one DISCOVER; the client's REQUEST names the one it chose (§3.1 steps 3-4)."""
    net, lan = _lan(seed)
    run = Scenario("two_servers", net, story="two servers make offers, the client picks one")
    _server(run, lan, "dhcp-a", "192.0.2.1", pool=("192.0.2.100", "192.0.2.149"))
    _server(run, lan, "dhcp-b", "192.0.2.2", pool=("192.0.2.150", "192.0.2.199"))
    _client(run, lan, "client").start()
    net.run(until=until)
    return run


def relay(seed: int = 4, servers: int = 1, broadcast: bool = False, until: float = 10.0) -> Scenario:
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


def pool_exhaustion(seed: int = 5, until: float = 140.0) -> Scenario:
    """A pool of two addresses and three clients: the third gets no OFFER (RFC 2131 §4.3.1),
    retransmits with backoff (§4.1) and falls back to a link-local address (RFC 3927)."""
    net, lan = _lan(seed)
    run = Scenario("pool_exhaustion", net, story="two addresses, three clients")
    _server(run, lan, "server", "192.0.2.1", pool=("192.0.2.100", "192.0.2.101"))
    for k, name in enumerate(("pc1", "pc2", "pc3")):
        _client(run, lan, name).start(at=0.5 * k)
    net.run(until=until)
    return run


def address_conflict(seed: int = 6, until: float = 20.0) -> Scenario:
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


def no_server(seed: int = 7, server_at: float | None = None, until: float = 140.0) -> Scenario:
    """Nobody answers the DISCOVER. The client retransmits after about 4, 8, 16, 32
    and 64 s (RFC 2131 §4.1), then takes a 169.254 address (RFC 3927)
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


def lease_life(seed: int = 8, lease_time: int = 600, until: float = 1250.0) -> Scenario:
    """A whole lease life (RFC 2131 §4.4.5).

    * t=0: the client gets a lease from ``dhcp-a`` (T1 = 50 %, T2 = 87.5 %);
    * t=200: ``dhcp-a`` goes down; ``dhcp-b`` (same pool, a standby) comes up at 250;
    * T1: RENEWING, unicast REQUESTs to dhcp-a go unanswered;
    * T2: REBINDING, a broadcast REQUEST reaches dhcp-b, which ACKs: BOUND again;
    * t=700: dhcp-b goes down too; at the end of the lease the client stops
      using the address and starts over. It sends no RELEASE (a common tutorial
      claim says it must; RFC 2131 §4.4.5 says only that it stops using the address).
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


def release(seed: int = 9, release_at: float = 60.0, again_at: float = 90.0, until: float = 100.0) -> Scenario:
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


def init_reboot(seed: int = 10, moved: bool = False, until: float = 130.0) -> Scenario:
    """A client that remembers an address starts in INIT-REBOOT and broadcasts a
    REQUEST for it (RFC 2131 §3.2, table 5: requested IP set, no server id).

    ``moved=False``: the client got 192.0.2.100 earlier and reboots at t=100;
    the server knows it and ACKs. ``moved=True``: the laptop comes from another
    network remembering 198.51.100.23; the server NAKs (§4.3.2) and the client
    starts again from INIT.
    """
    net, lan = _lan(seed)
    run = Scenario(
        "init_reboot", net, story="reboot with a remembered address" + (" from another network" if moved else "")
    )
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


def inform(seed: int = 11, until: float = 10.0) -> Scenario:
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


# ---------------------------------------------------------------------------
# Diagnosis runs (issue 12): a broken run, the rule it breaks, one setting to mend it
# ---------------------------------------------------------------------------
# Each ``diagnose_*`` takes ``mend``, a dict of settings to change (names from its
# table below), and returns the run with ``run.settings``. Its ``check_*`` lists
# what is wrong with a run ([] = healthy); :mod:`refimpl.diagnosis` holds the registry.

BROADCAST_IGNORED = {
    "server_ignores_broadcast_flag": True,  # the fault (ServerFaults.ignore_broadcast_flag)
    "client_broadcast_flag": True,  # the client sets the BROADCAST bit in DISCOVER and REQUEST
    "client_takes_unicast_early": False,  # can its stack take a unicast before it has an address?
    "lease_time": 3600,
}
RELAY_NAK = {
    "relay_clears_nak_broadcast": True,  # the fault (RelayFaults.clear_nak_broadcast)
    "client_broadcast_flag": True,
    "client_takes_unicast_early": False,
    "remembered_ip": "203.0.113.57",  # the laptop comes from another network remembering this address
}
RENEW_TIME = {
    "client_ignores_t1": True,  # the fault (ClientFaults.ignore_t1)
    "lease_time": 600,
    "renewal_time": None,  # option 58 (T1) the server sends; None: half the lease
    "rebinding_time": None,  # option 59 (T2); None: 87.5 % of the lease
}


def _no_unicast_until_configured(host) -> None:
    """The client's IP stack drops unicast datagrams until it has an address: the clients RFC 2131
    §4.1 has in mind ("A client that cannot receive unicast IP datagrams until its protocol software
    has been configured with an IP address SHOULD set the BROADCAST bit"). The trace shows each
    dropped datagram as lost, "blocked by" the client."""

    def hook(packet, iface):
        if packet.transport == "udp" and packet.dst_port == 68 and not packet.is_broadcast and iface.ip == "0.0.0.0":
            return None
        return packet

    host.add_hook(hook)


def diagnose_broadcast_ignored(mend: dict | None = None, seed: int = 12) -> Scenario:
    """A diagnosis run: the client sets the BROADCAST bit, the server unicasts its OFFER anyway.

    The client's stack cannot take a unicast before it has an address, so it
    sets the bit (RFC 2131 §4.1) and never sees the OFFER: it sends DISCOVER
    after DISCOVER. Settings: :data:`BROADCAST_IGNORED`.
    """
    s = with_mend(BROADCAST_IGNORED, mend)
    net, lan = _lan(seed)
    run = Scenario(
        "diagnose_broadcast_ignored", net, story="the client set the BROADCAST bit; where do the replies go?"
    )
    faults = ServerFaults(ignore_broadcast_flag=bool(s["server_ignores_broadcast_flag"]))
    _server(run, lan, "server", "192.0.2.1", lease_time=s["lease_time"], faults=faults)
    client = _client(run, lan, "client", broadcast=bool(s["client_broadcast_flag"]))
    if not s["client_takes_unicast_early"]:
        _no_unicast_until_configured(client.host)
    run.settings = s
    client.start()
    net.run(until=20.0)
    return run


def check_broadcast_ignored(run: Scenario) -> list[str]:
    """Problems of a :func:`diagnose_broadcast_ignored` run (RFC 2131 §4.1)."""
    wire = [e for e in run.trace if not e.is_note and e.kind.startswith("DHCP")]
    flagged = {e.message.xid for e in wire if e.src == "client" and e.message.broadcast}
    problems = []
    if not flagged:
        problems.append("no DISCOVER or REQUEST set the BROADCAST bit: this run no longer shows the fault")
    for e in wire:
        if e.src == "server" and e.kind in ("DHCPOFFER", "DHCPACK") and e.message.xid in flagged:
            if not e.is_broadcast:
                problems.append(
                    f"{e.kind} xid=0x{e.message.xid:08x} went to {e.dst_ip} although the client set the BROADCAST bit"
                )
    if run.client.state != "BOUND":
        problems.append(f"the client has no address after {run.net.now:g} s (state {run.client.state})")
    return problems


def diagnose_relay_nak(mend: dict | None = None, seed: int = 13) -> Scenario:
    """A diagnosis run: a laptop behind a relay reboots remembering an address of another network.

    The server NAKs its INIT-REBOOT REQUEST and sets the BROADCAST bit, as RFC
    2131 §4.3.2 asks of a NAK through a relay; the relay clears the bit and
    unicasts the NAK to ``yiaddr`` (0.0.0.0 in a NAK) at ``chaddr``. The laptop,
    which takes no unicast before it has an address, never hears the NAK and
    keeps asking. Settings: :data:`RELAY_NAK`.
    """
    s = with_mend(RELAY_NAK, mend)
    net = Network(seed=seed)
    register(net)
    clients_seg, servers_seg = net.segment("clients", REMOTE), net.segment("servers", LAN)
    run = Scenario("diagnose_relay_nak", net, story="a DHCPNAK on its way back through a relay")
    router = net.router("relay", (clients_seg, "198.51.100.1/24"), (servers_seg, "192.0.2.254/24"))
    host = net.host("server", servers_seg, ip="192.0.2.1/24", gateway="192.0.2.254")
    config = _config("192.0.2.1", ("198.51.100.100", "198.51.100.149"), network=REMOTE, router="198.51.100.1")
    run.servers["server"] = ServerHost(net, host, config)
    faults = RelayFaults(clear_nak_broadcast=bool(s["relay_clears_nak_broadcast"]))
    run.relays["relay"] = RelayHost(net, router, ["192.0.2.1"], circuit_id=b"port-7", faults=faults)
    client = _client(
        run, clients_seg, "laptop", broadcast=bool(s["client_broadcast_flag"]), previous_ip=s["remembered_ip"]
    )
    if not s["client_takes_unicast_early"]:
        _no_unicast_until_configured(client.host)
    run.settings = s
    client.start()
    net.run(until=30.0)
    return run


def _bound_at(run: Scenario) -> float | None:
    return next((c.time for c in run.changes() if c.after == "BOUND"), None)


def check_relay_nak(run: Scenario) -> list[str]:
    """Problems of a :func:`diagnose_relay_nak` run (RFC 2131 §4.1, §4.3.2)."""
    naks = [e for e in run.trace if not e.is_note and e.kind == "DHCPNAK"]
    problems = []
    if not any(e.src == "server" for e in naks):
        problems.append("the server sent no DHCPNAK through the relay: this run no longer shows the fault")
    for e in naks:
        if e.src == "relay" and not e.is_broadcast:
            flag = "with" if e.message.broadcast else "without"
            problems.append(
                f"the relay sent DHCPNAK xid=0x{e.message.xid:08x} to {e.dst_ip} ({flag} the BROADCAST bit)"
            )
    bound = _bound_at(run)
    if bound is None or bound > 10.0:
        when = "never" if bound is None else f"only at t={bound:g} s"
        problems.append(f"the laptop got an address {when} (a heard NAK restarts it at once)")
    return problems


def diagnose_renew_time(mend: dict | None = None, seed: int = 14) -> Scenario:
    """A diagnosis run: a client with a 600 s lease, one server that stays up; when does it renew?

    The client waits past T1 and only at T2 broadcasts its REQUEST, as if in
    REBINDING. Settings: :data:`RENEW_TIME`.
    """
    s = with_mend(RENEW_TIME, mend)
    net, lan = _lan(seed)
    run = Scenario("diagnose_renew_time", net, story="a lease of one client, from its start past the first renewal")
    timers = {"renewal_time": s["renewal_time"], "rebinding_time": s["rebinding_time"]}
    _server(run, lan, "server", "192.0.2.1", lease_time=s["lease_time"], **timers)
    client = _client(run, lan, "client", faults=ClientFaults(ignore_t1=bool(s["client_ignores_t1"])))
    run.settings = s
    client.start()
    net.run(until=float(s["lease_time"]) + 10.0)
    return run


def check_renew_time(run: Scenario) -> list[str]:
    """Problems of a :func:`diagnose_renew_time` run (RFC 2131 §4.4.5)."""
    wire = [e for e in run.trace if not e.is_note and e.kind.startswith("DHCP")]
    ack = next((e for e in wire if e.kind == "DHCPACK"), None)
    bound = _bound_at(run)
    if ack is None or bound is None:
        return ["the client never got a lease"]
    delay = run.net.segments["lan"].delay
    sent = (
        max(e.time for e in wire if e.kind == "DHCPREQUEST" and e.time < ack.time) - delay
    )  # §4.4.1: T1 counts from here
    t1 = sent + ack.message.get("renewal_time")
    renewal = next((e for e in wire if e.kind == "DHCPREQUEST" and e.src == "client" and e.time > bound), None)
    if renewal is None:
        return [
            f"the client sent no REQUEST to renew its lease in {run.net.now:g} s: this run no longer shows the fault"
        ]
    problems = []
    server = ack.message.get("server_id")
    if renewal.is_broadcast or renewal.dst_ip != server:
        problems.append(f"the first renewal REQUEST went to {renewal.dst_ip}, not by unicast to the server {server}")
    if abs(renewal.time - delay - t1) > 1.0:
        problems.append(f"the first renewal REQUEST was sent at t={renewal.time - delay:.3f}, not at T1 = {t1:.3f}")
    if any(c.event == "lease expires" for c in run.changes()):
        problems.append("the lease expired: the client lost its address")
    return problems


SECTION_4_1 = (
    "A server or relay agent sending or relaying a DHCP message directly to a DHCP client (i.e., not to a "
    "relay agent specified in the 'giaddr' field) SHOULD examine the BROADCAST bit in the 'flags' field. If "
    "this bit is set to 1, the DHCP message SHOULD be sent as an IP broadcast using an IP broadcast address "
    "(preferably 0xffffffff) as the IP destination address and the link-layer broadcast address as the "
    "link-layer destination address."
)
DIAGNOSES = (
    Diagnosis(
        name="dhcp-broadcast-ignored",
        protocol="DHCP",
        rule="RFC 2131 §4.1",
        quote=SECTION_4_1,
        fault="the server unicasts OFFER and ACK to yiaddr at chaddr although the client set the BROADCAST bit",
        settings=BROADCAST_IGNORED,
        mends=({"server_ignores_broadcast_flag": False},),
        scenario=diagnose_broadcast_ignored,
        check=check_broadcast_ignored,
    ),
    Diagnosis(
        name="dhcp-relay-nak-broadcast",
        protocol="DHCP",
        rule="RFC 2131 §4.1",
        quote=SECTION_4_1
        + " (and §4.3.2: \"If 'giaddr' is set in the DHCPREQUEST message, the client is on a different subnet. "
        "The server MUST set the broadcast bit in the DHCPNAK, so that the relay agent will broadcast the "
        "DHCPNAK to the client, because the client may not have a correct network address or subnet mask, "
        'and the client may not be answering ARP requests.")',
        fault="the relay clears the BROADCAST bit of a DHCPNAK and unicasts it to 0.0.0.0 at chaddr",
        settings=RELAY_NAK,
        mends=({"relay_clears_nak_broadcast": False},),
        scenario=diagnose_relay_nak,
        check=check_relay_nak,
        also=("RFC 2131 §4.3.2",),
    ),
    Diagnosis(
        name="dhcp-renew-time",
        protocol="DHCP",
        rule="RFC 2131 §4.4.5",
        quote=(
            "At time T1 the client moves to RENEWING state and sends (via unicast) a DHCPREQUEST message to "
            "the server to extend its lease."
        ),
        fault="the client ignores T1: no RENEWING, it waits for T2 and broadcasts (REBINDING)",
        settings=RENEW_TIME,
        mends=({"client_ignores_t1": False},),
        scenario=diagnose_renew_time,
        check=check_renew_time,
    ),
)
"""The DHCP diagnosis tasks (:class:`refimpl.diagnosis.Diagnosis`); the registry is :mod:`refimpl.diagnosis`."""
