"""``python -m refimpl tftp-server | tftp-get | tftp-put``: TFTP (RFC 1350) on real sockets.

    python -m refimpl tftp-server --root DIR [--host 127.0.0.1] [--port 6969]
        [--writable] [--overwrite] [--max-blksize N] [--timeout S] [--retries N]
        [--port-range LOW-HIGH] [--max-upload BYTES] [--max-transfers N] [--max-per-client N]
        [--max-windowsize N] [-v]
    python -m refimpl tftp-get HOST[:PORT] REMOTE [LOCAL] [--mode octet|netascii] [--blksize N] [--tsize]
        [--windowsize N]
    python -m refimpl tftp-put HOST[:PORT] LOCAL [REMOTE] [--mode octet|netascii] [--blksize N] [--tsize]
        [--windowsize N]

The server serves the files below ``--root`` and nothing outside it, to
anyone who can reach its port: TFTP has no passwords (RFC 1350 §1). Port 69
needs root, hence the default 6969. SIGINT and SIGTERM stop it cleanly: every
socket is closed, a running upload is dropped.

The client commands exit 0 when the file went through, 1 when the server
refused it or did not answer (the reason on one line), 2 on a usage error.
A failed download leaves no local file behind.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile

from refimpl.cli.args import existing_directory, host_and_port, port, port_range, positive, run_subcommand

SUBCOMMANDS = True  # refimpl.__main__ passes the command name as argv[0]
DEFAULT_PORT = 69  # RFC 1350 §4; what a client assumes without HOST:PORT


def _blksize(text: str) -> int:
    value = positive(int)(text)
    if not 8 <= value <= 65464:
        raise argparse.ArgumentTypeError(f"blksize must be 8..65464 (RFC 2348), got {value}")
    return value


def _windowsize(text: str) -> int:
    value = positive(int)(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"windowsize must be 1..65535 (RFC 7440 §3), got {value}")
    return value


def _log_to_stderr(form: str, level: int) -> logging.Logger:
    """Our drivers' log lines (loggers ``refimpl.sockets.tftp_*``) on stderr; asyncio's own stay quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(form, datefmt="%Y-%m-%dT%H:%M:%S"))
    logger = logging.getLogger("refimpl.sockets")
    logger.addHandler(handler)
    logger.setLevel(level)
    return logger


# -- the server ---------------------------------------------------------------------------
def server_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m refimpl tftp-server", description="Serve the files below a directory over TFTP (RFC 1350)."
    )
    p.add_argument(
        "--root",
        required=True,
        type=existing_directory,
        metavar="DIR",
        help="the directory served; nothing outside it is",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=port,
        default=6969,
        help="the server's well-known port (default 6969; 69 needs root; 0: any free port)",
    )
    p.add_argument("--writable", action="store_true", help="accept uploads (WRQ) of new files")
    p.add_argument("--overwrite", action="store_true", help="with --writable: uploads may replace files")
    p.add_argument(
        "--max-blksize",
        type=_blksize,
        default=65464,
        metavar="N",
        help="largest block size granted (RFC 2348; 1468 fits one Ethernet frame)",
    )
    p.add_argument(
        "--timeout",
        type=positive(float, "seconds"),
        default=1.0,
        metavar="S",
        help="seconds before a packet is sent again, unless the client asks (default 1)",
    )
    p.add_argument(
        "--retries",
        type=positive(int),
        default=5,
        metavar="N",
        help="retransmissions before a transfer is given up (default 5)",
    )
    p.add_argument(
        "--port-range",
        type=port_range(),
        metavar="LOW-HIGH",
        help="ports for the transfers' own sockets (their TIDs), for a firewall",
    )
    p.add_argument(
        "--max-upload",
        type=positive(int),
        metavar="BYTES",
        help="largest upload: one announcing more (tsize) is refused, one sending more is stopped (ERROR 3)",
    )
    p.add_argument(
        "--max-transfers",
        type=positive(int),
        default=256,
        metavar="N",
        help="transfers at once; beyond, ERROR 0 'server busy' (default 256)",
    )
    p.add_argument(
        "--max-per-client",
        type=positive(int),
        default=16,
        metavar="N",
        help="transfers at once from one IP address, so one host cannot take every slot (default 16)",
    )
    p.add_argument(
        "--max-windowsize",
        type=int,
        default=64,
        metavar="N",
        help="largest window granted, in blocks (RFC 7440; default 64; 0: the option is not known, lock-step)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="also log every timeout and duplicate")
    return p


def run_server(argv: list[str]) -> int:
    args = server_parser().parse_args(argv)
    from refimpl.sockets.tftp_server import TftpServerDriver
    from refimpl.sockets.tftp_server import run_server as serve
    from refimpl.tftp import DiskFiles, ServerConfig, TftpServer

    logger = _log_to_stderr("%(asctime)s tftp-server: %(message)s", logging.DEBUG if args.verbose else logging.INFO)
    if not 0 <= args.max_windowsize <= 65535:
        server_parser().error(f"--max-windowsize must be 0..65535 (RFC 7440 §3), got {args.max_windowsize}")
    config = ServerConfig(
        timeout=args.timeout,
        max_retries=args.retries,
        max_blksize=args.max_blksize,
        max_upload=args.max_upload,
        max_windowsize=args.max_windowsize or None,
    )
    files = DiskFiles(args.root, writable=args.writable, overwrite=args.overwrite)
    driver = TftpServerDriver(
        TftpServer(files, config),
        args.host,
        args.port,
        port_range=args.port_range,
        max_transfers=args.max_transfers,
        max_per_client=args.max_per_client,
    )

    def ready(port: int) -> None:
        mode = "read-write" if args.writable else "read-only"
        logger.info("listening on %s:%d, root %s (%s)", args.host, port, os.path.abspath(args.root), mode)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            await serve(driver, stop, ready)
        except OSError as exc:
            print(f"tftp-server: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        s = driver.stats
        logger.info(
            "stopped: %d requests, %d transfers done, %d failed, %d refused",
            s["requests"],
            s["done"],
            s["failed"],
            s["refused"],
        )
        return 0

    return asyncio.run(main())


# -- the clients ---------------------------------------------------------------------------
def client_parser(command: str) -> argparse.ArgumentParser:
    getting = command == "tftp-get"
    p = argparse.ArgumentParser(
        prog=f"python -m refimpl {command}",
        description=(
            "Download a file from a TFTP server (RRQ)." if getting else "Upload a file to a TFTP server (WRQ)."
        ),
        epilog="exit status: 0 the file went through, 1 refused or no answer, 2 usage error",
    )
    p.add_argument(
        "server", type=host_and_port(DEFAULT_PORT), metavar="HOST[:PORT]", help="the server (port 69 unless given)"
    )
    if getting:
        p.add_argument("remote", metavar="REMOTE", help="the file's name on the server")
        p.add_argument("local", nargs="?", metavar="LOCAL", help="where to store it (default: REMOTE's last part)")
    else:
        p.add_argument("local", metavar="LOCAL", help="the file to send")
        p.add_argument("remote", nargs="?", metavar="REMOTE", help="its name on the server (default: LOCAL's name)")
    p.add_argument(
        "--mode",
        choices=("octet", "netascii"),
        default="octet",
        help="octet: bytes as they are; netascii: text, line ends as CR LF on the wire",
    )
    p.add_argument("--blksize", type=_blksize, metavar="N", help="ask for N-byte blocks (RFC 2348)")
    p.add_argument("--windowsize", type=_windowsize, metavar="N", help="ask for windows of N blocks per ACK (RFC 7440)")
    p.add_argument(
        "--tsize",
        action="store_true",
        help="ask for the file's size (get) / announce it (put) (RFC 2349; octet mode only)",
    )
    p.add_argument(
        "--timeout",
        type=positive(float, "seconds"),
        default=1.0,
        metavar="S",
        help="seconds before we send again when nothing came (default 1)",
    )
    p.add_argument(
        "--retries", type=positive(int), default=5, metavar="N", help="retransmissions before giving up (default 5)"
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log every timeout and duplicate")
    return p


def run_client(command: str, argv: list[str]) -> int:
    args = client_parser(command).parse_args(argv)
    from refimpl.sockets import tftp_client
    from refimpl.tftp.packets import PacketError

    _log_to_stderr(f"{command}: %(message)s", logging.DEBUG if args.verbose else logging.WARNING)
    host, port = args.server
    common = dict(
        port=port,
        mode=args.mode,
        blksize=args.blksize,
        retry_timeout=args.timeout,
        max_retries=args.retries,
        windowsize=args.windowsize,
    )
    try:
        if command == "tftp-get":
            local = args.local or os.path.basename(args.remote.rstrip("/")) or "download"
            transfer = _download(host, args.remote, local, common, args.tsize and args.mode == "octet")
            what = f"{args.remote} -> {local}"
        else:
            remote = args.remote or os.path.basename(args.local)
            with open(args.local, "rb") as source:
                size = os.fstat(source.fileno()).st_size if args.tsize and args.mode == "octet" else None
                transfer = asyncio.run(tftp_client.put(host, remote, source, size=size, **common))
            what = f"{args.local} -> {remote}"
    except tftp_client.TftpError as exc:
        print(f"{command}: {host}:{port}: {exc}", file=sys.stderr)
        return 1
    except PacketError as exc:  # a name that cannot go into a request (RFC 1350 §5: netascii, no NUL)
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"{command}: {exc.filename or ''}{': ' if exc.filename else ''}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    window = f", windowsize {transfer.settings.windowsize}" if transfer.settings.windowsize != 1 else ""
    print(f"{command}: {what}: {transfer.bytes} bytes, blksize {transfer.settings.blksize}{window}", file=sys.stderr)
    return 0


def _download(host: str, remote: str, local: str, common: dict, ask_size: bool):
    """Into a temporary file beside ``local``, renamed only when the transfer completed."""
    from refimpl.sockets import tftp_client

    folder = os.path.dirname(os.path.abspath(local))
    try:
        fd, temp = tempfile.mkstemp(prefix=".tftp-", suffix=".part", dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, local) from None  # name the file the user gave
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes it private; a download gets the usual mode
    try:
        with os.fdopen(fd, "wb") as into:
            transfer = asyncio.run(tftp_client.get(host, remote, into, ask_size=ask_size, **common))
        os.replace(temp, local)
    except BaseException:
        os.unlink(temp)
        raise
    return transfer


COMMANDS = {
    "tftp-server": run_server,
    "tftp-get": lambda argv: run_client("tftp-get", argv),
    "tftp-put": lambda argv: run_client("tftp-put", argv),
}


def main(argv: list[str] | None = None) -> int:
    return run_subcommand(COMMANDS, list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
