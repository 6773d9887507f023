"""``python -m refimpl dhcp-server | dhcp-client | dhcp-relay``: DHCP on a real interface.

    python -m refimpl dhcp-server --interface IF --server-ip IP --pool FIRST-LAST
        [--lease-time S] [--router IP] [--dns IP ...] [--lease-file PATH]
    python -m refimpl dhcp-client --interface IF [--once] [--release] [--configure]
    python -m refimpl dhcp-relay --client-interface IF --server IP [IP ...]

Each runs one sans-I/O core from :mod:`refimpl.dhcp` under the asyncio drivers
of :mod:`refimpl.net.dhcp_sockets`. They need root (ports 67/68, packet
sockets). SIGINT and SIGTERM stop them cleanly: the server's lease file is
complete (every lease was fsynced before its DHCPACK), the client releases its
lease first if ``--release`` was given.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import os
import signal
import sys

SUBCOMMANDS = True  # refimpl.__main__ passes the command name as argv[0]


def _address(text: str) -> str:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IPv4 address: {text!r}") from None


def _pool(text: str) -> tuple[str, str]:
    first, sep, last = text.partition("-")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected FIRST-LAST, got {text!r}")
    a, b = _address(first.strip()), _address(last.strip())
    if ipaddress.IPv4Address(a) > ipaddress.IPv4Address(b):
        raise argparse.ArgumentTypeError(f"empty pool: {a} is after {b}")
    return a, b


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def server_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl dhcp-server",
                                description="Run the DHCP server (RFC 2131) on one interface.")  # fmt: skip
    p.add_argument("--interface", required=True, metavar="IF", help="interface to serve (e.g. eth0)")
    p.add_argument("--server-ip", required=True, type=_address, metavar="IP",
                   help="this server's address on IF: the server identifier (option 54)")  # fmt: skip
    p.add_argument("--pool", required=True, type=_pool, metavar="FIRST-LAST", help="addresses to lease")
    p.add_argument("--network", metavar="CIDR",
                   help="the clients' network (default: IF's network if the pool lies in it, else the pool's /24)")
    p.add_argument("--lease-time", type=_positive, default=3600, metavar="S", help="lease time in seconds (3600)")
    p.add_argument("--router", type=_address, metavar="IP", help="default gateway for clients (option 3)")
    p.add_argument("--dns", type=_address, nargs="+", default=[], metavar="IP", help="DNS servers (option 6)")
    p.add_argument("--domain", metavar="NAME", help="domain name for clients (option 15)")
    p.add_argument("--lease-file", metavar="PATH", help="append-only CSV lease file (default: leases in memory)")
    p.add_argument("--quiet", action="store_true", help="log only problems, not every message")
    p.add_argument("--verbose", action="store_true", help="also log each decision of the server core")
    return p


def client_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl dhcp-client",
                                description="Get a lease on one interface and print it as JSON.")  # fmt: skip
    p.add_argument("--interface", required=True, metavar="IF")
    p.add_argument("--once", action="store_true", help="exit after the first lease (do not keep it renewed)")
    p.add_argument("--release", action="store_true",
                   help="send DHCPRELEASE before exiting (with --once: right after the lease is printed)")
    p.add_argument("--configure", action="store_true",
                   help="put the address (and default route) on IF; needed to renew by unicast")
    p.add_argument("--broadcast", action="store_true", help="set the BROADCAST flag: ask servers to broadcast replies")
    p.add_argument("--no-arp-probe", action="store_true", help="skip the ARP check of the offered address")
    p.add_argument("--timeout", type=_positive, default=60, metavar="S",
                   help="give up if no lease within S seconds (60)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print only the JSON lease, no log lines")
    return p


def relay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl dhcp-relay",
                                description="Relay DHCP between a client segment and servers (RFC 1542, RFC 3046).")
    p.add_argument("--client-interface", required=True, metavar="IF",
                   help="interface on the clients' segment; its address becomes giaddr")  # fmt: skip
    p.add_argument("--server", required=True, type=_address, nargs="+", metavar="IP", help="DHCP servers")
    p.add_argument("--circuit-id", default="", help="option 82 agent circuit id (default: the interface name)")
    p.add_argument("--quiet", action="store_true", help="log only problems")
    return p


# -- running --------------------------------------------------------------------------
async def _until_signal(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def _network_for(args, interface_address) -> str:
    if args.network:
        return str(ipaddress.ip_network(args.network, strict=False))
    first = ipaddress.IPv4Address(args.pool[0])
    if interface_address is not None:
        net = ipaddress.ip_network(f"{interface_address[0]}/{interface_address[1]}", strict=False)
        if first in net:
            return str(net)
    return str(ipaddress.ip_network(f"{first}/24", strict=False))


def run_server(argv: list[str]) -> int:
    args = server_parser().parse_args(argv)
    from refimpl.dhcp.server import DhcpServer, ServerConfig
    from refimpl.net import rawlink
    from refimpl.net.dhcp_sockets import LineLog, ServerDriver

    if not os.path.exists(f"/sys/class/net/{args.interface}"):
        print(f"dhcp-server: no interface {args.interface!r}", file=sys.stderr)
        return 2
    network = _network_for(args, rawlink.interface_ipv4(args.interface))
    options: dict = {}
    if args.router:
        options["router"] = [args.router]
    if args.dns:
        options["dns_servers"] = list(args.dns)
    if args.domain:
        options["domain_name"] = args.domain
    config = ServerConfig(server_ip=args.server_ip, network=network, pool=args.pool, lease_time=args.lease_time,
                          options=options, lease_file=args.lease_file)  # fmt: skip
    try:
        server = DhcpServer(config)
    except (ValueError, OSError) as exc:
        print(f"dhcp-server: {exc}", file=sys.stderr)
        return 2
    log = LineLog(name="dhcp-server", quiet=args.quiet)

    async def serve() -> int:
        loop = asyncio.get_running_loop()
        try:
            driver = ServerDriver(server, args.interface, log=log, verbose=args.verbose)
        except OSError as exc:
            log(f"cannot open sockets on {args.interface}: {exc} (root needed)", problem=True)
            log.flush()
            server.store.close()
            return 1
        driver.start(loop)
        leases = len(server.store.active_leases(driver.clock()))
        log(f"serving {args.pool[0]}-{args.pool[1]} on {args.interface} as {args.server_ip} "
            f"(network {network}, lease {args.lease_time} s, {leases} active leases from "
            f"{args.lease_file or 'memory'})", problem=True)  # fmt: skip
        log.flush()
        await _until_signal(asyncio.Event())
        driver.close(loop)  # closes the lease file: every ACKed lease was already fsynced
        s = driver.stats
        shed = f", {s['shed']} DISCOVERs shed under overload" if s.get("shed") else ""
        log(f"stopped: {s['received']} received, {s['sent']} sent, {s['dropped']} dropped{shed}", problem=True)
        log.flush()
        return 0

    return asyncio.run(serve())


def run_client(argv: list[str]) -> int:
    args = client_parser().parse_args(argv)
    from refimpl.net.dhcp_sockets import ClientDriver, LineLog

    if not os.path.exists(f"/sys/class/net/{args.interface}"):
        print(f"dhcp-client: no interface {args.interface!r}", file=sys.stderr)
        return 2
    log = LineLog(stream=sys.stderr, name="dhcp-client", quiet=args.quiet)

    def show(lease: dict) -> None:
        print(json.dumps(lease), flush=True)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        try:
            driver = ClientDriver(args.interface, configure=args.configure, arp_probe=not args.no_arp_probe,
                                  log=log, on_lease=show, broadcast_flag=args.broadcast)  # fmt: skip
        except OSError as exc:
            log(f"cannot open sockets on {args.interface}: {exc} (root needed)", problem=True)
            log.flush()
            return 1
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        driver.start(loop)
        code = 0
        try:
            got = asyncio.ensure_future(driver.lease_event.wait())
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({got, stopped}, timeout=args.timeout, return_when=asyncio.FIRST_COMPLETED)
            if not driver.lease_event.is_set() and not stop.is_set():
                log(f"no lease within {args.timeout} s", problem=True)
                code = 1
            elif not args.once and not stop.is_set():
                await stopped  # keep the lease renewed until SIGINT/SIGTERM
            for task in (got, stopped):
                task.cancel()
            if args.release and driver.release():
                await asyncio.sleep(0.05)  # let the datagram leave before the socket closes
        finally:
            driver.close()
        return code

    return asyncio.run(main())


def run_relay(argv: list[str]) -> int:
    args = relay_parser().parse_args(argv)
    from refimpl.dhcp.relay import RelayAgent
    from refimpl.net import rawlink
    from refimpl.net.dhcp_sockets import LineLog, RelayDriver

    if not os.path.exists(f"/sys/class/net/{args.client_interface}"):
        print(f"dhcp-relay: no interface {args.client_interface!r}", file=sys.stderr)
        return 2
    address = rawlink.interface_ipv4(args.client_interface)
    if address is None:
        print(f"dhcp-relay: {args.client_interface} has no IPv4 address to use as giaddr", file=sys.stderr)
        return 2
    agent = RelayAgent(address[0], args.server, circuit_id=(args.circuit_id or args.client_interface).encode())
    log = LineLog(name="dhcp-relay", quiet=args.quiet)

    async def serve() -> int:
        loop = asyncio.get_running_loop()
        try:
            driver = RelayDriver(agent, args.client_interface, log=log)
        except OSError as exc:
            log(f"cannot open sockets: {exc} (root needed)", problem=True)
            log.flush()
            return 1
        driver.start(loop)
        log(f"relaying from {args.client_interface} (giaddr {address[0]}) to {', '.join(args.server)}", problem=True)
        log.flush()
        await _until_signal(asyncio.Event())
        driver.close(loop)
        s = driver.stats
        log(f"stopped: {s['received']} received, {s['sent']} sent, {s['dropped']} dropped", problem=True)
        log.flush()
        return 0

    return asyncio.run(serve())


COMMANDS = {"dhcp-server": run_server, "dhcp-client": run_client, "dhcp-relay": run_relay}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m refimpl {{{'|'.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
