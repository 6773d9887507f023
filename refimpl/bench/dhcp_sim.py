"""How long do 10,000 simulated clients take to get a lease?

The whole stack runs: the sans-I/O client and server cores, the glue in
:mod:`refimpl.dhcp.sim_glue`, and the simulated network with its virtual
clock, broadcast delivery, ARP probes and trace. 10,000 clients sit on 100
segments of 100 (a broadcast reaches every host of its segment, so one
10,000-host segment would spend its time copying broadcasts, which is not
what a real network looks like either). One server core, with one interface
on every segment, serves a pool of 10,000 addresses.

The peer in the same run is the bare protocol: the same cores exchanging the
same messages by direct function calls, no network. The ratio is the price of
the simulation (and of its trace, one event per packet).

Addresses come from 198.18.0.0/15, the block RFC 2544 reserves for
benchmarks (a /24 documentation range is too small for 10,000 clients);
nothing leaves the process.
"""

from __future__ import annotations

import random
import time

from refimpl.dhcp.client import ArpProbe, DhcpClient
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.server import DhcpServer, ServerConfig
from refimpl.dhcp.sim_glue import ClientHost, ServerHost, register
from refimpl.sim.network import Network

NETWORK = "198.18.0.0/17"
SERVER_IP = "198.18.0.1"
POOL = ("198.18.0.10", "198.18.127.250")
PER_SEGMENT = 100


def _server() -> DhcpServer:
    return DhcpServer(ServerConfig(server_ip=SERVER_IP, network=NETWORK, pool=POOL, options={"router": [SERVER_IP]}))


def simulate(clients: int = 10_000, seed: int = 1) -> tuple[float, int, int]:
    """Run the simulation; return (seconds, clients bound, trace events)."""
    start = time.perf_counter()
    net = Network(seed=seed)
    register(net)
    server_host = net.host("server")
    core = _server()
    hosts = []
    for s in range((clients + PER_SEGMENT - 1) // PER_SEGMENT):
        segment = net.segment(f"seg{s}", NETWORK)
        server_host.attach(segment, f"{SERVER_IP}/17")
        for k in range(min(PER_SEGMENT, clients - s * PER_SEGMENT)):
            host = net.host(f"c{s}-{k}", segment)
            hosts.append(ClientHost(net, host, notes="none"))
    ServerHost(net, server_host, server=core)
    for k, client in enumerate(hosts):
        client.start(at=k * 0.001)  # one client boots every millisecond
    net.run(until=clients * 0.001 + 30, max_events=50 * clients)
    bound = sum(1 for c in hosts if c.state == "BOUND")
    return time.perf_counter() - start, bound, len(net.trace)


def bare(clients: int = 10_000, seed: int = 1) -> tuple[float, int]:
    """The same exchanges by direct calls: DISCOVER, OFFER, REQUEST, ACK, probe answered 'free'."""
    start = time.perf_counter()
    server = _server()
    rng = random.Random(seed)
    bound = 0
    for k in range(clients):
        now = k * 0.001
        mac = f"02:00:00:{k >> 16 & 255:02x}:{k >> 8 & 255:02x}:{k & 255:02x}"
        client = DhcpClient(mac, rng)
        inbox = [e for e in client.start(now=now) if isinstance(e, Outgoing)]
        for _ in range(4):  # DISCOVER -> OFFER, REQUEST -> ACK
            replies = [
                r
                for out in inbox
                for r in server.receive(out.data, dst_ip=out.dst_ip, now=now)
                if isinstance(r, Outgoing)
            ]
            inbox = []
            for reply in replies:
                effects = client.receive(reply.data, now=now)
                if any(isinstance(e, ArpProbe) for e in effects):
                    effects = client.probe_result(False, now=now + 1.0)
                inbox += [e for e in effects if isinstance(e, Outgoing)]
            if not inbox:
                break
        bound += client.state == "BOUND"
    return time.perf_counter() - start, bound


def run(clients: int = 10_000) -> list[str]:
    sim_s, sim_bound, events = simulate(clients)
    bare_s, bare_bound = bare(clients)
    return [
        f"{clients} clients to BOUND, simulated network: {sim_s:6.2f} s  ({sim_bound} bound, {events} trace events,"
        f" {clients / sim_s:,.0f} clients/s)",
        f"{clients} clients to BOUND, cores only:        {bare_s:6.2f} s  ({bare_bound} bound,"
        f" {clients / bare_s:,.0f} clients/s)",
        f"simulation overhead: x{sim_s / bare_s:.1f}",
    ]
