"""``python -m refimpl ftp-server``: run the FTP server on real sockets.

    python -m refimpl ftp-server --root DIR [--host 127.0.0.1] [--port 2121]
        [--anonymous] [--anonymous-upload /incoming] [--users FILE]
        [--passive-ports 30000-30100] [--passive-address IP] [--max-connections N]
        [--xferlog PATH] [--command-log PATH]

Anonymous users see ``--root``; users from ``--users`` see their home. To add
a user to a users file (the password is read from the terminal or stdin)::

    python -m refimpl ftp-server --make-user alice --home alice >> users.txt
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from refimpl.cli.args import ipv4_address, log_file, not_negative, port, port_range, positive


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl ftp-server", description=__doc__.split("\n\n")[0])
    p.add_argument("--root", metavar="DIR", help="directory served to anonymous users (and base of relative homes)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=port, default=2121, help="control port (default 2121; 21 needs root)")
    p.add_argument("--anonymous", action="store_true", help="allow anonymous login (read-only)")
    p.add_argument("--anonymous-upload", metavar="VDIR", help="a directory, e.g. /incoming, where anonymous may upload")
    p.add_argument("--users", metavar="FILE", help="users file (see refimpl.ftp.users)")
    p.add_argument(
        "--passive-ports",
        type=port_range(lowest=1024),
        default=(30000, 30100),
        metavar="LOW-HIGH",
        help="ports for passive data connections (default 30000-30100)",
    )
    p.add_argument(
        "--passive-address",
        type=ipv4_address,
        metavar="IP",
        help="address announced in 227 replies (server behind NAT)",
    )
    p.add_argument("--active-port", type=port, default=20, help="local port for active data connections (default 20)")
    p.add_argument(
        "--max-per-address", type=positive(int), default=8, metavar="N", help="control connections per client address"
    )
    p.add_argument(
        "--max-connections",
        type=positive(int),
        metavar="N",
        help="control connections in all; one more gets 421 (default: what the descriptor limit holds, at most 512)",
    )
    p.add_argument(
        "--failed-login-delay",
        type=not_negative(float, "seconds"),
        default=1.0,
        metavar="SECONDS",
        help="wait before answering a wrong password (default 1)",
    )
    p.add_argument("--xferlog", type=log_file, metavar="PATH", help="transfer log in xferlog format ('-' = stderr)")
    p.add_argument("--command-log", type=log_file, metavar="PATH", help="command log ('-' = stderr)")
    p.add_argument("--make-user", metavar="NAME", help="print a users-file line for NAME and exit")
    p.add_argument("--home", default="", help="with --make-user: the home directory")
    p.add_argument("--perms", default="elradfmw", help="with --make-user: permission letters")
    p.add_argument(
        "--guest-of", default="", metavar="ACCOUNT", help="with --make-user: make a guest mapped onto ACCOUNT"
    )
    return p


def make_user(args) -> int:
    from refimpl.ftp.users import user_line

    if sys.stdin.isatty():
        password = getpass.getpass(f"password for {args.make_user}: ")
    else:
        password = sys.stdin.readline().rstrip("\n")
    if not password:
        print("ftp-server: empty password refused", file=sys.stderr)
        return 2
    kind = "guest" if args.guest_of else "real"
    print(user_line(args.make_user, password, home=args.home, perms=args.perms, kind=kind, maps_to=args.guest_of))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.make_user:
        return make_user(args)
    if not args.root or not os.path.isdir(args.root):  # checked here, not by a type: --make-user needs no root
        print(f"ftp-server: --root must be an existing directory (got {args.root!r})", file=sys.stderr)
        return 2
    if not args.anonymous and not args.users:
        print("ftp-server: nobody could log in; give --anonymous and/or --users FILE", file=sys.stderr)
        return 2

    from refimpl.ftp import ServerConfig, UserDB
    from refimpl.ftp.guard import Guard
    from refimpl.sockets.ftp_server import FTPServer, log_to, run_server

    settings = dict(anonymous=args.anonymous, anonymous_upload_dir=args.anonymous_upload)
    try:
        users = UserDB.load(args.users, **settings) if args.users else UserDB(**settings)
    except (OSError, ValueError) as exc:
        print(f"ftp-server: cannot read users file: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(
        users=users,
        guard=Guard(max_per_address=args.max_per_address, max_connections=args.max_connections),
        passive_ports=args.passive_ports,
        passive_address=args.passive_address,
        active_port=args.active_port,
        sendfile=hasattr(os, "sendfile"),
        failed_login_delay=args.failed_login_delay,
    )
    server = FTPServer(
        config, args.root, args.host, args.port, command_log=log_to(args.command_log), xferlog=log_to(args.xferlog)
    )

    def ready(port: int) -> None:
        print(
            f"ftp-server: listening on {args.host}:{port}, root {os.path.abspath(args.root)}",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(run_server(server, ready))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"ftp-server: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
