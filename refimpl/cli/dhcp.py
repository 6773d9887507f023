"""``python -m refimpl dhcp-server | dhcp-client | dhcp-relay``: DHCP on a real interface.

    python -m refimpl dhcp-server --interface IF --server-ip IP --pool FIRST-LAST
        [--lease-time S] [--router IP] [--dns IP ...] [--lease-file PATH]
        [--offer-hold S] [--offer-min-hold S] [--offers-per-mac N] [--offers-per-relay N]
        [--ddns ZONE --ddns-server ADDR:PORT --ddns-key FILE [--ddns-reverse-zone ZONE]
         [--ddns-reverse-server ADDR:PORT]]
    python -m refimpl dhcp-client --interface IF [--once] [--release] [--configure]
    python -m refimpl dhcp-relay --client-interface IF --server IP [IP ...]

Each runs one sans-I/O core from :mod:`refimpl.dhcp` under the asyncio drivers
of :mod:`refimpl.sockets.dhcp`. They need root (ports 67/68, packet
sockets). SIGINT and SIGTERM stop them cleanly: the server's lease file is
complete (every lease was fsynced before its DHCPACK), the client releases its
lease first if ``--release`` was given.

With ``--ddns`` the server puts its clients' names into the DNS
(:mod:`refimpl.dhcp.ddns`: option 81 or 12, A, PTR and DHCID records, RFC
4703's conflict rules), signed with the TSIG key of ``--ddns-key`` (a BIND
``key`` statement, as ``tsig-keygen`` prints it), after each DHCPACK has gone
(:mod:`refimpl.sockets.ddns_sender`).
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import sys

from refimpl.cli.args import (
    address_pool,
    file_to_write,
    host_and_port,
    ipv4_address,
    ipv4_network,
    network_interface,
    positive,
    run_subcommand,
)

SUBCOMMANDS = True  # refimpl.__main__ passes the command name as argv[0]
SECONDS = positive(int, "seconds")


def server_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m refimpl dhcp-server", description="Run the DHCP server (RFC 2131) on one interface."
    )
    p.add_argument(
        "--interface", required=True, type=network_interface, metavar="IF", help="interface to serve (e.g. eth0)"
    )
    p.add_argument(
        "--server-ip",
        required=True,
        type=ipv4_address,
        metavar="IP",
        help="this server's address on IF: the server identifier (option 54)",
    )
    p.add_argument("--pool", required=True, type=address_pool, metavar="FIRST-LAST", help="addresses to lease")
    p.add_argument(
        "--network",
        type=ipv4_network,
        metavar="CIDR",
        help="the clients' network (default: IF's network if the pool lies in it, else the pool's /24)",
    )
    p.add_argument("--lease-time", type=SECONDS, default=3600, metavar="S", help="lease time in seconds (3600)")
    p.add_argument("--router", type=ipv4_address, metavar="IP", help="default gateway for clients (option 3)")
    p.add_argument("--dns", type=ipv4_address, nargs="+", default=[], metavar="IP", help="DNS servers (option 6)")
    p.add_argument("--domain", metavar="NAME", help="domain name for clients (option 15)")
    p.add_argument("--tftp-server", metavar="NAME", help="TFTP server for network boot (option 66)")
    p.add_argument("--boot-file", metavar="NAME", help="boot file name for network boot (option 67)")
    p.add_argument(
        "--lease-file",
        type=file_to_write,
        metavar="PATH",
        help="append-only CSV lease file (default: leases in memory)",
    )
    # Offers under pressure (refimpl/dhcp/leases.py): DISCOVERs that never REQUEST must not hold the pool.
    p.add_argument(
        "--offer-hold",
        type=positive(float, "seconds"),
        default=60.0,
        metavar="S",
        help="an OFFER holds its address S s (60)",
    )
    p.add_argument(
        "--offer-min-hold",
        type=positive(float, "seconds"),
        default=5.0,
        metavar="S",
        help="when the pool is full, an offer S s old may go to a newcomer (5)",
    )
    p.add_argument(
        "--offers-per-mac", type=positive(int), default=1, metavar="N", help="offers one chaddr may hold at once (1)"
    )
    p.add_argument(
        "--offers-per-relay",
        type=positive(int),
        metavar="N",
        help="offers the clients behind one relay (giaddr) may hold at once (default: half the pool)",
    )
    p.add_argument("--quiet", action="store_true", help="log only problems, not every message")
    p.add_argument("--verbose", action="store_true", help="also log each decision of the server core")
    ddns = p.add_argument_group("dynamic DNS (RFC 4702, 4703, 2136)")
    ddns.add_argument("--ddns", metavar="ZONE", help="put clients' names into this forward zone")
    ddns.add_argument(
        "--ddns-server", type=host_and_port(53), metavar="ADDR:PORT", help="DNS server to update (port 53 if left out)"
    )
    ddns.add_argument("--ddns-key", metavar="FILE", help="TSIG key file (BIND key statement, hmac-sha256)")
    ddns.add_argument(
        "--ddns-reverse-zone",
        metavar="ZONE",
        help="in-addr.arpa zone for PTR records (default: from the network, /8 /16 /24); 'none' for no PTR",
    )
    ddns.add_argument(
        "--ddns-reverse-server", type=host_and_port(53), metavar="ADDR:PORT", help="DNS server of the reverse zone"
    )
    return p


def ddns_parts(parser: argparse.ArgumentParser, args, network: str):
    """``(DdnsConfig, DdnsSender factory)`` from the --ddns options, or ``(None, None)``; errors exit 2."""
    if not args.ddns:
        if args.ddns_server or args.ddns_key or args.ddns_reverse_zone or args.ddns_reverse_server:
            parser.error("--ddns-server, --ddns-key and --ddns-reverse-* need --ddns ZONE")
        return None, None
    if not args.ddns_server or not args.ddns_key:
        parser.error("--ddns needs --ddns-server ADDR:PORT and --ddns-key FILE (updates are signed: RFC 8945)")
    from refimpl.dhcp.ddns import DdnsConfig, default_reverse_zone
    from refimpl.dns.tsig import parse_key_file

    try:
        with open(args.ddns_key, encoding="utf-8") as f:
            keys = parse_key_file(f.read())
    except (OSError, ValueError) as exc:
        parser.error(f"--ddns-key {args.ddns_key}: {exc}")
    if len(keys) != 1:
        parser.error(f"--ddns-key {args.ddns_key}: expected one key statement, found {len(keys)}")
    reverse = args.ddns_reverse_zone
    if reverse is None:
        try:
            reverse = default_reverse_zone(network)
        except ValueError as exc:
            parser.error(f"--ddns-reverse-zone: {exc}")
    elif reverse.lower() == "none":
        reverse = None
    config = DdnsConfig(args.ddns.rstrip("."), reverse.rstrip(".") if reverse else None, key=keys[0])

    def sender(log):
        from refimpl.sockets.ddns_sender import DdnsSender

        return DdnsSender(args.ddns_server, args.ddns_reverse_server, log=log)

    return config, sender


def client_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m refimpl dhcp-client", description="Get a lease on one interface and print it as JSON."
    )
    p.add_argument("--interface", required=True, type=network_interface, metavar="IF", help="interface to configure")
    p.add_argument("--once", action="store_true", help="exit after the first lease (do not keep it renewed)")
    p.add_argument(
        "--release",
        action="store_true",
        help="send DHCPRELEASE before exiting (with --once: right after the lease is printed)",
    )
    p.add_argument(
        "--configure", action="store_true", help="put the address (and default route) on IF; needed to renew by unicast"
    )
    p.add_argument("--broadcast", action="store_true", help="set the BROADCAST flag: ask servers to broadcast replies")
    p.add_argument("--no-arp-probe", action="store_true", help="skip the ARP check of the offered address")
    p.add_argument("--timeout", type=SECONDS, default=60, metavar="S", help="give up if no lease within S seconds (60)")
    p.add_argument("--quiet", action="store_true", help="print only the JSON lease, no log lines")
    return p


def relay_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m refimpl dhcp-relay",
        description="Relay DHCP between a client segment and servers (RFC 1542, RFC 3046).",
    )
    p.add_argument(
        "--client-interface",
        required=True,
        type=network_interface,
        metavar="IF",
        help="interface on the clients' segment; its address becomes giaddr",
    )
    p.add_argument("--server", required=True, type=ipv4_address, nargs="+", metavar="IP", help="DHCP servers")
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
    parser = server_parser()
    args = parser.parse_args(argv)
    from refimpl.dhcp.server import DhcpServer, ServerConfig
    from refimpl.sockets import rawlink
    from refimpl.sockets.dhcp import LineLog, ServerDriver

    network = _network_for(args, rawlink.interface_ipv4(args.interface))
    ddns_config, ddns_sender = ddns_parts(parser, args, network)
    options: dict = {}
    if args.router:
        options["router"] = [args.router]
    if args.dns:
        options["dns_servers"] = list(args.dns)
    if args.domain:
        options["domain_name"] = args.domain
    if args.tftp_server:  # sent, like every option, only to a client that asks (RFC 2131 §4.3.1)
        options["tftp_server_name"] = args.tftp_server
    if args.boot_file:
        options["bootfile_name"] = args.boot_file
    config = ServerConfig(
        server_ip=args.server_ip,
        network=network,
        pool=args.pool,
        lease_time=args.lease_time,
        options=options,
        lease_file=args.lease_file,
        offer_hold=args.offer_hold,
        offer_min_hold=args.offer_min_hold,
        offers_per_mac=args.offers_per_mac,
        offers_per_relay=args.offers_per_relay,
    )
    try:
        server = DhcpServer(config)
    except (ValueError, OSError) as exc:
        print(f"dhcp-server: {exc}", file=sys.stderr)
        return 2
    log = LineLog(name="dhcp-server", quiet=args.quiet)
    if ddns_config is not None:
        from refimpl.dhcp.ddns import DdnsServer

        server = DdnsServer(server, ddns_config)

    async def serve() -> int:
        loop = asyncio.get_running_loop()
        try:
            driver = ServerDriver(server, args.interface, log=log, verbose=args.verbose)
        except OSError as exc:
            log(f"cannot open sockets on {args.interface}: {exc} (root needed)", problem=True)
            log.flush()
            server.store.close()
            return 1
        if ddns_sender is not None:  # after the sockets opened: a failed start leaves no thread behind

            def ddns_log(text: str, problem: bool = False) -> None:
                log(text, problem=problem)
                log.flush()

            driver.ddns = ddns_sender(ddns_log)
            restored = server.restore(driver.clock())  # names of leases from the lease file, for RELEASE and expiry
            log(f"DDNS: {restored} names of active leases restored from the lease file", problem=True)
            log(
                f"DDNS: names into {ddns_config.forward_zone} via {args.ddns_server[0]}#{args.ddns_server[1]}, "
                f"PTR into {ddns_config.reverse_zone or '(none)'}, TSIG key {ddns_config.key.name}",
                problem=True,
            )
        driver.start(loop)
        leases = len(server.store.active_leases(driver.clock()))
        log(
            f"serving {args.pool[0]}-{args.pool[1]} on {args.interface} as {args.server_ip} "
            f"(network {network}, lease {args.lease_time} s, {leases} active leases from "
            f"{args.lease_file or 'memory'})",
            problem=True,
        )
        log.flush()
        await _until_signal(asyncio.Event())
        driver.close(loop)  # closes the lease file: every ACKed lease was already fsynced
        s = driver.stats
        shed = f", {s['shed']} DISCOVERs shed under overload" if s.get("shed") else ""
        if driver.ddns is not None:
            shed += ", DDNS " + ", ".join(f"{n} {k}" for k, n in driver.ddns.stats.items())
        log(f"stopped: {s['received']} received, {s['sent']} sent, {s['dropped']} dropped{shed}", problem=True)
        log.flush()
        return 0

    return asyncio.run(serve())


def run_client(argv: list[str]) -> int:
    args = client_parser().parse_args(argv)
    from refimpl.sockets.dhcp import ClientDriver, LineLog

    log = LineLog(stream=sys.stderr, name="dhcp-client", quiet=args.quiet)

    def show(lease: dict) -> None:
        print(json.dumps(lease), flush=True)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        try:
            driver = ClientDriver(
                args.interface,
                configure=args.configure,
                arp_probe=not args.no_arp_probe,
                log=log,
                on_lease=show,
                broadcast_flag=args.broadcast,
            )
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
    from refimpl.sockets import rawlink
    from refimpl.sockets.dhcp import LineLog, RelayDriver

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
    return run_subcommand(COMMANDS, list(sys.argv[1:] if argv is None else argv))
