"""``python -m refimpl dns-server | dns-query``: DNS (RFC 1035) on real sockets.

    python -m refimpl dns-server --zone FILE [--host 127.0.0.1] [--port 5353] [--max-udp N] [-v]
        [--tsig-key [hmac-sha256:]NAME:BASE64 ...] [--tsig-key-file FILE]
    python -m refimpl dns-query NAME [TYPE] [--server 127.0.0.1] [--port 53] [--tcp] [--no-edns]
        [--timeout S] [--tries N]

The server answers authoritatively for the one zone in FILE (RFC 1035 §5
master-file syntax), over UDP and TCP on the same port; port 53 needs root,
hence the default 5353. SIGINT and SIGTERM stop it.

Dynamic update (RFC 2136) is accepted only when signed with TSIG (RFC 8945,
HMAC-SHA256) by one of the keys given: ``--tsig-key`` takes the
``[hmac-sha256:]name:secret`` form of ``nsupdate -y``, ``--tsig-key-file`` a
file of BIND ``key "name" { algorithm hmac-sha256; secret "..."; };``
statements, as ``tsig-keygen`` prints them (both may be repeated). Without a
key every UPDATE is refused. Updates change the zone in memory only: the zone
file is never written, and a restart starts from it again (policy: no journal).

dns-query prints the answer as dig does and exits 0 when an answer came (any
RCODE, NXDOMAIN included), 1 when none did, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from refimpl.cli.args import port, positive, run_subcommand

SUBCOMMANDS = True


def server_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl dns-server", description="An authoritative DNS server.")
    p.add_argument("--zone", required=True, help="the zone file (RFC 1035 §5 master-file syntax)")
    p.add_argument("--origin", default="", help="the origin for relative names before any $ORIGIN")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=5353, help="UDP and TCP port (default 5353)")
    p.add_argument("--max-udp", type=positive(int), default=1232, help="our EDNS UDP payload size (default 1232)")
    p.add_argument(
        "--tsig-key",
        action="append",
        default=[],
        metavar="[hmac-sha256:]NAME:BASE64",
        help="a TSIG key allowed to update the zone (as nsupdate -y takes it)",
    )
    p.add_argument(
        "--tsig-key-file", action="append", default=[], metavar="FILE", help="BIND key statements (tsig-keygen)"
    )
    p.add_argument(
        "--allow-axfr", action="store_true", help="answer zone transfers (AXFR over TCP, RFC 5936) to anyone"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every query")
    return p


def server_keys(parser: argparse.ArgumentParser, args) -> list:
    from refimpl.dns.tsig import parse_key, parse_key_file

    keys = []
    try:
        keys += [parse_key(text) for text in args.tsig_key]
    except ValueError as exc:
        parser.error(f"--tsig-key: {exc}")
    for path in args.tsig_key_file:
        try:
            with open(path, encoding="utf-8") as f:
                keys += parse_key_file(f.read())
        except (OSError, ValueError) as exc:
            parser.error(f"--tsig-key-file {path}: {exc}")
    return keys


def server_main(argv: list[str]) -> int:
    parser = server_parser()
    args = parser.parse_args(argv)
    keys = server_keys(parser, args)
    from refimpl.dns.server import AuthoritativeServer, ServerConfig
    from refimpl.dns.zone import ZoneError, read_zone
    from refimpl.sockets.dns_server import DnsServer

    try:
        zone = read_zone(args.zone, args.origin)
    except (OSError, ZoneError) as exc:
        print(f"dns-server: {args.zone}: {exc}", file=sys.stderr)
        return 1
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"))
    logger = logging.getLogger("refimpl.sockets")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)

    async def main() -> int:
        server = DnsServer(
            AuthoritativeServer(zone, ServerConfig(max_udp=args.max_udp, allow_axfr=args.allow_axfr), keys),
            args.host,
            args.port,
        )
        try:
            await server.start()
        except OSError as exc:
            print(f"dns-server: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
            return 1
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.close()
        return 0

    return asyncio.run(main())


def query_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl dns-query", description="Ask a DNS server one question.")
    p.add_argument("name")
    p.add_argument("type", nargs="?", default="A", help="A, AAAA, MX, TXT, ... (default A)")
    p.add_argument("--server", default="127.0.0.1", help="the server's address (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=53, help="the server's port (default 53)")
    p.add_argument("--tcp", action="store_true", help="ask over TCP from the start")
    p.add_argument("--no-edns", action="store_true", help="send no OPT record (512-octet UDP answers)")
    p.add_argument("--timeout", type=positive(float), default=2.0, help="seconds per try (default 2)")
    p.add_argument("--tries", type=positive(int), default=3, help="UDP tries (default 3)")
    return p


def query_main(argv: list[str]) -> int:
    parser = query_parser()
    args = parser.parse_args(argv)
    from refimpl.dns.records import type_code
    from refimpl.dns.resolver import StubResolver
    from refimpl.sockets.dns_client import QueryFailed, resolve

    try:
        qtype = type_code(args.type)
    except ValueError as exc:
        parser.error(str(exc))
    resolver = StubResolver(
        args.name,
        qtype,
        timeout=args.timeout,
        tries=args.tries,
        edns_size=None if args.no_edns else 1232,
        tcp_only=args.tcp,
    )
    try:
        answer, over_tcp = resolve(resolver, (args.server, args.port))
    except (QueryFailed, OSError) as exc:
        print(f"dns-query: {exc}", file=sys.stderr)
        return 1
    print(answer.show())
    print(f"\n;; SERVER: {args.server}#{args.port} ({'TCP' if over_tcp else 'UDP'})")
    return 0


COMMANDS = {"dns-server": server_main, "dns-query": query_main}


def main(argv: list[str] | None = None) -> int:
    return run_subcommand(COMMANDS, list(sys.argv[1:] if argv is None else argv))
