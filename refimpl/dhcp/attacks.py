"""DHCP security and operations on the simulated LAN: the runs of lesson 10.

Every function builds a small network, runs it and returns a
:class:`~refimpl.dhcp.scenarios.Scenario` (the trace and the objects), as the
scenarios of :mod:`refimpl.dhcp.scenarios` do:

=====================  ===========================================================
run                    what it shows
=====================  ===========================================================
``rogue_server``       a second server on the clients' LAN answers first; the client
                       takes its offer (RFC 2131 §4.4.1 leaves the choice to it) and
                       sends its traffic to the rogue's "router"
``starvation``         a tool invents client MACs and leases the whole pool
                       (RFC 2131 §7); a real client then gets no OFFER
``snooping_rogue``     the same rogue behind a switch with DHCP snooping: dropped
``snooping_starvation``  the starvation behind that switch: ``verify_mac``, the
                       rate limit and port security, one at a time
``restart``            the server restarts; with a lease file the binding survives
                       (RFC 2131 §3.1 step 4), without it an address is given twice
``split_pools``        two servers, an 80/20 split of one range, no failover protocol
=====================  ===========================================================

The attacker is :class:`Starver`, a few lines that speak just enough DHCP to
take addresses: DISCOVER with an invented ``chaddr`` and the BROADCAST bit (so
the OFFER reaches it whatever the MAC), then REQUEST the offered address.
Every loop is bounded (``count``), every run seeded.
"""

from __future__ import annotations

import os
import random

from refimpl.dhcp.delivery import CLIENT_PORT, SERVER_PORT
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.options import MessageType
from refimpl.dhcp.scenarios import DNS, LAN, REMOTE, Scenario, _client, _config, _server
from refimpl.dhcp.server import DhcpServer
from refimpl.dhcp.sim_glue import ClientHost, RelayHost, ServerHost, register
from refimpl.dhcp.snooping import DhcpSnooping
from refimpl.sim.network import Network
from refimpl.sim.switch import add_switch

ROGUE_IP = "198.51.100.66"
OUTSIDE = ("203.0.113.80", 443)  # a web server somewhere beyond the router (RFC 5737 TEST-NET-3)


# ---------------------------------------------------------------------------
# The attacker
# ---------------------------------------------------------------------------
class Starver:
    """A starvation tool on ``host``: ``count`` DISCOVERs, one every ``1/rate`` s, each with a new MAC.

    ``spoof_source=False``: only ``chaddr`` is invented, frames leave with the
    card's own MAC (a switch that checks chaddr against the source MAC sees
    it). ``spoof_source=True``: the card's MAC is changed before every frame
    too, as real tools do. ``taken`` lists the addresses it got ACKed.
    """

    def __init__(self, net, host, *, count: int = 40, rate: float = 50.0, start: float = 0.0, spoof_source=True):
        self.net, self.host = net, host
        self.count, self.rate, self.spoof_source = count, rate, spoof_source
        self.own_mac = host.mac
        self.rng = random.Random(f"{net.seed}:starver")
        self.pending: dict[int, str] = {}  # xid -> invented MAC
        self.sent = 0
        self.taken: list[str] = []
        host.udp(CLIENT_PORT, self._on_reply, flow="dhcp")
        for k in range(count):
            net.call_at(start + k / rate, self._discover, k)

    def fake_mac(self, k: int) -> str:
        return f"0e:00:5e:{k >> 16 & 0xFF:02x}:{k >> 8 & 0xFF:02x}:{k & 0xFF:02x}"  # locally administered

    def _send(self, mac: str, msg: Message) -> None:
        if self.spoof_source:
            self.host.iface.mac = mac
        self.host.send_udp(CLIENT_PORT, "255.255.255.255", SERVER_PORT, msg.encode(), src_ip="0.0.0.0", flow="dhcp")
        self.host.iface.mac = self.own_mac
        self.sent += 1

    def _discover(self, k: int) -> None:
        mac, xid = self.fake_mac(k), self.rng.getrandbits(32)
        self.pending[xid] = mac
        self._send(mac, Message.discover(mac, xid, broadcast=True))

    def _on_reply(self, packet) -> None:
        try:
            msg = Message.decode(packet.payload)
        except MessageError:
            return
        mac = self.pending.get(msg.xid)
        if mac is None:
            return
        if msg.message_type is MessageType.OFFER:
            request = Message.request(
                mac, msg.xid, broadcast=True, requested_ip=msg.yiaddr, server_id=msg.get("server_id")
            )
            self._send(mac, request)
        elif msg.message_type is MessageType.ACK:
            self.taken.append(msg.yiaddr)
            del self.pending[msg.xid]


def leased(server: ServerHost, now: float) -> list[str]:
    """The addresses ``server`` has bound to some client at ``now``."""
    return sorted((lease.address for lease in server.server.store.leases.values() if lease.active(now)), key=_ip_key)


def _ip_key(address: str) -> tuple[int, ...]:
    return tuple(int(part) for part in address.split("."))


# ---------------------------------------------------------------------------
# 1. A rogue server
# ---------------------------------------------------------------------------
def _relayed_lan(run: Scenario, clients_seg, servers_seg, trusted_circuit: bool = False):
    """The campus shape: the clients' LAN, a router with a relay agent, the real server one hop away.

    ``trusted_circuit``: the relay accepts option 82 added below it (RFC 3046 §2.1), as it must
    behind a switch that inserts option 82."""
    net = run.net
    router = net.router("router", (clients_seg, "198.51.100.1/24"), (servers_seg, "192.0.2.254/24"))
    host = net.host("dhcp", servers_seg, ip="192.0.2.1/24", gateway="192.0.2.254")
    config = _config("192.0.2.1", ("198.51.100.100", "198.51.100.149"), network=REMOTE, router="198.51.100.1")
    run.servers["dhcp"] = ServerHost(net, host, config)
    run.relays["router"] = RelayHost(net, router, ["192.0.2.1"], circuit_id=b"lan-1", trusted_circuit=trusted_circuit)
    net.host("dns", servers_seg, ip=f"{DNS[0]}/24", gateway="192.0.2.254").udp(53)  # the real DNS server
    return router


def _rogue(run: Scenario, segment, ip: str = ROGUE_IP, mac: str | None = None) -> ServerHost:
    """A laptop running a DHCP server that names itself as router and DNS server."""
    host = run.net.host("rogue", segment, ip=f"{ip}/24", mac=mac, gateway="198.51.100.1")  # itself, the real router
    config = _config(ip, ("198.51.100.200", "198.51.100.220"), network=REMOTE, router=ip)
    config.options["dns_servers"] = [ip]
    run.servers["rogue"] = ServerHost(run.net, host, config)
    host.udp(OUTSIDE[1])  # it listens where the victim's traffic will come: received packets are kept
    host.udp(53)
    return run.servers["rogue"]


def _browse(run: Scenario, client: ClientHost, at: float) -> None:
    """The victim, once configured, asks its DNS server and opens a connection to the outside."""

    def go() -> None:
        lease = client.client.lease
        if lease is None:
            return
        dns = (lease.options.get(6) or DNS)[0]
        client.host.send_udp(50000, dns, 53, b"bank.example? (a DNS query)")
        client.host.send_udp(50001, OUTSIDE[0], OUTSIDE[1], b"hello bank (the first bytes of a TLS session)")

    run.net.call_at(at, go)


def rogue_server(seed: int = 21, until: float = 10.0) -> Scenario:
    """The real server sits behind the router (a relay agent); a rogue sits on the clients' LAN itself.

    The rogue's OFFER arrives first, the client takes it (RFC 2131 §4.4.1: the
    choice is "implementation dependent"; ours takes the first), and at t=5 its
    DNS query and its first packet to the outside go to the rogue.
    """
    net = Network(seed=seed)
    register(net)
    clients_seg, servers_seg = net.segment("clients", REMOTE), net.segment("servers", LAN)
    run = Scenario("rogue_server", net, story="a rogue DHCP server on the clients' LAN")
    _relayed_lan(run, clients_seg, servers_seg)
    _rogue(run, clients_seg)
    client = _client(run, clients_seg, "victim")
    client.start()
    _browse(run, client, at=5.0)
    net.run(until=until)
    return run


# ---------------------------------------------------------------------------
# 2. Starvation
# ---------------------------------------------------------------------------
POOL = ("192.0.2.100", "192.0.2.119")  # 20 addresses: small, so the numbers are easy to check


def starvation(seed: int = 22, count: int = 40, rate: float = 50.0, victim_at: float = 2.0, until=140.0) -> Scenario:
    """A starvation tool on the LAN takes the pool of 20 addresses; at ``victim_at`` a real client asks.

    RFC 2131 §7: "a malicious client could claim all resources for itself,
    thereby denying resources to legitimate clients". The victim's DISCOVERs
    get no OFFER; it retransmits (§4.1) and falls back to a 169.254 address
    (RFC 3927).
    """
    net = Network(seed=seed)
    register(net)
    lan = net.segment("lan", LAN)
    run = Scenario("starvation", net, story="spoofed MACs exhaust the pool")
    _server(run, lan, "server", "192.0.2.1", pool=POOL)
    attacker = net.host("attacker", lan)
    run.attacker = Starver(net, attacker, count=count, rate=rate)
    _client(run, lan, "victim").start(at=victim_at)
    net.run(until=until)
    return run


# ---------------------------------------------------------------------------
# 3. The defence: a switch with DHCP snooping
# ---------------------------------------------------------------------------
def snooping_rogue(
    seed: int = 23,
    snooping: bool = True,
    rogue_mac: str | None = None,
    relay_trusts_switch=True,
    source_guard: bool = False,
    forge: bool = False,
    until=10.0,
) -> Scenario:
    """The rogue of :func:`rogue_server` on a switched LAN: the router's port is trusted, the rest are not.

    The switch adds option 82 with giaddr 0, so the relay in the router must
    trust that circuit (RFC 3046 §2.1); ``relay_trusts_switch=False`` shows
    what happens when it does not: the relay discards every request.
    ``source_guard=True``: IP source guard too. ``forge=True``: at t=6 the rogue
    sends a packet from the victim's address and one from its own, both to the DNS server.
    ``rogue_mac`` lets the rogue use another MAC, e.g. the router's own (a
    spoofed MAC does not move it to a trusted port).
    """
    net = Network(seed=seed)
    register(net)
    switch = add_switch(net, "switch", REMOTE)
    servers_seg = net.segment("servers", LAN)
    run = Scenario("snooping_rogue", net, story="a rogue server behind a snooping switch")
    run.switch = switch
    _relayed_lan(run, switch.port("uplink", trusted=True), servers_seg, trusted_circuit=relay_trusts_switch)
    _rogue(run, switch.port("p2"), mac=rogue_mac)
    client = _client(run, switch.port("p1"), "victim")
    run.snooping = DhcpSnooping(switch, source_guard=source_guard) if snooping else None
    client.start()
    _browse(run, client, at=5.0)
    if forge:
        rogue = run.net.hosts["rogue"]

        def spoof() -> None:
            rogue.send_udp(50002, DNS[0], 53, b"forged", src_ip=client.host.ip)  # the victim's address
            rogue.send_udp(50003, DNS[0], 53, b"from its hand-set address")

        net.call_at(6.0, spoof)
    net.run(until=until)
    return run


def snooping_starvation(
    seed: int = 24,
    *,
    spoof_source: bool = True,
    verify_mac: bool = True,
    rate: float | None = 5.0,
    max_macs: int | None = None,
    count: int = 40,
    attack_rate: float = 50.0,
    victim_at: float = 2.0,
    until: float = 140.0,
) -> Scenario:
    """The starvation of :func:`starvation` on a switch with snooping; each defence can be switched off.

    ``rate``: DHCP packets per second the attacker's port may send (burst as many);
    ``max_macs``: port security on that port; ``attack_rate``: DISCOVERs per second."""
    net = Network(seed=seed)
    register(net)
    switch = add_switch(net, "switch", LAN)
    run = Scenario("snooping_starvation", net, story="a starvation tool behind a snooping switch")
    run.switch = switch
    _server(run, switch.port("uplink", trusted=True), "server", "192.0.2.1", pool=POOL)
    attacker = net.host("attacker", switch.port("p2", max_macs=max_macs))
    victim = _client(run, switch.port("p1"), "victim")
    run.snooping = DhcpSnooping(switch, rate=rate, burst=rate or 1.0, verify_mac=verify_mac)
    run.attacker = Starver(net, attacker, count=count, rate=attack_rate, spoof_source=spoof_source)
    victim.start(at=victim_at)
    net.run(until=until)
    return run


# ---------------------------------------------------------------------------
# 4. The lease store and a restart
# ---------------------------------------------------------------------------
def restart(
    lease_dir: str | os.PathLike | None, seed: int = 25, lease_time: int = 600, until: float = 320.0
) -> Scenario:
    """A server with (``lease_dir`` given) or without a lease file restarts; memory is lost, the file is not.

    * t=0: ``pc1`` gets a lease for ``lease_time`` s (T1 at half of it);
    * t=100: the server stops; t=110: a new server process starts from the same
      configuration (and, if there is one, the same lease file);
    * t=150: ``pc2`` asks for an address;
    * T1: ``pc1`` renews by unicast to the server.
    """
    net = Network(seed=seed)
    register(net)
    lan = net.segment("lan", LAN)
    run = Scenario("restart", net, story="a server restart, " + ("with" if lease_dir else "without") + " a lease file")
    path = os.path.join(os.fspath(lease_dir), "dhcp4.leases") if lease_dir else None
    server = _server(run, lan, "server", "192.0.2.1", lease_time=lease_time, lease_file=path)
    run.lease_path = path

    def crash() -> None:
        server.stop("server process killed")
        if server.server.store.file is not None:
            server.server.store.file.close()

    def come_back() -> None:
        server.server = DhcpServer(server.server.config)  # a new process: only what is on disk comes back
        server.start("server started again")
        run.restored = leased(server, net.now)

    run.restored = []
    net.call_at(100.0, crash)
    net.call_at(110.0, come_back)
    _client(run, lan, "pc1").start()
    _client(run, lan, "pc2").start(at=150.0)
    net.run(until=until)
    if server.server.store.file is not None:
        server.server.store.file.close()
    return run


# ---------------------------------------------------------------------------
# 5. Split pools (failover in outline)
# ---------------------------------------------------------------------------
def split_pools(seed: int = 26, lease_time: int = 600, until: float = 640.0) -> Scenario:
    """Two servers share 192.0.2.100-199 as 80/20: ``dhcp-a`` .100-.179, ``dhcp-b`` .180-.199.

    ``pc1`` gets its lease from dhcp-a, which dies at t=100. pc1's unicast
    renewals (RENEWING, from T1) go unanswered; its broadcast at T2
    (REBINDING) reaches dhcp-b, which has no record of an address outside its
    part and stays silent; at expiry pc1 starts over and gets an address of
    dhcp-b's part. ``pc2``, new at t=200, is served by dhcp-b at once.
    """
    net = Network(seed=seed)
    register(net)
    lan = net.segment("lan", LAN)
    run = Scenario("split_pools", net, story="two servers, split pools, one dies")
    a = _server(run, lan, "dhcp-a", "192.0.2.1", pool=("192.0.2.100", "192.0.2.179"), lease_time=lease_time)
    _server(run, lan, "dhcp-b", "192.0.2.2", pool=("192.0.2.180", "192.0.2.199"), lease_time=lease_time)
    _client(run, lan, "pc1").start()
    _client(run, lan, "pc2").start(at=200.0)
    net.call_at(100.0, a.stop, "dhcp-a down")
    net.run(until=until)
    return run


RUNS = {
    "rogue_server": rogue_server,
    "starvation": starvation,
    "snooping_rogue": snooping_rogue,
    "snooping_starvation": snooping_starvation,
    "split_pools": split_pools,
}
"""Name -> function for the runs that need no arguments (``restart`` needs a directory or None)."""
