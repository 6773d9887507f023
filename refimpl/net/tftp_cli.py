"""``python -m refimpl tftp-server | tftp-get | tftp-put``: TFTP (RFC 1350) on real sockets.

    python -m refimpl tftp-server --root DIR [--host 127.0.0.1] [--port 6969]
        [--writable] [--overwrite] [--max-blksize N] [--timeout S] [--retries N]
        [--port-range LOW-HIGH] [--max-upload BYTES] [--max-transfers N] [-v]
    python -m refimpl tftp-get HOST[:PORT] REMOTE [LOCAL] [--mode octet|netascii] [--blksize N] [--tsize]
    python -m refimpl tftp-put HOST[:PORT] LOCAL [REMOTE] [--mode octet|netascii] [--blksize N] [--tsize]

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

SUBCOMMANDS = True  # refimpl.__main__ passes the command name as argv[0]
DEFAULT_PORT = 69  # RFC 1350 §4; what a client assumes without HOST:PORT


def _port_range(text: str) -> tuple[int, int]:
    """``LOW-HIGH`` (or tftpd-hpa's ``LOW:HIGH``)."""
    low, sep, high = text.replace(":", "-").partition("-")
    try:
        lo, hi = int(low), int(high if sep else low)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW-HIGH, got {text!r}") from None
    if not 1 <= lo <= hi <= 65535:
        raise argparse.ArgumentTypeError(f"need 1 <= LOW <= HIGH <= 65535, got {text!r}")
    return lo, hi


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    return parse


def _blksize(text: str) -> int:
    value = _positive(int)(text)
    if not 8 <= value <= 65464:
        raise argparse.ArgumentTypeError(f"blksize must be 8..65464 (RFC 2348), got {value}")
    return value


def _host_port(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[v6]:PORT`` or a bare IPv6 address."""
    host, port = text, DEFAULT_PORT
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = rest[1:]
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        port = int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}") from None
    if not host or not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST[:PORT], got {text!r}")
    return host, port


def _log_to_stderr(form: str, level: int) -> logging.Logger:
    """Our drivers' log lines (loggers ``refimpl.net.tftp_*``) on stderr; asyncio's own stay quiet."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(form, datefmt="%Y-%m-%dT%H:%M:%S"))
    logger = logging.getLogger("refimpl.net")
    logger.addHandler(handler)
    logger.setLevel(level)
    return logger


# -- the server ---------------------------------------------------------------------------
def server_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl tftp-server",
                                description="Serve the files below a directory over TFTP (RFC 1350).")  # fmt: skip
    p.add_argument("--root", required=True, metavar="DIR", help="the directory served; nothing outside it is")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=6969,
                   help="the server's well-known port (default 6969; 69 needs root; 0: any free port)")
    p.add_argument("--writable", action="store_true", help="accept uploads (WRQ) of new files")
    p.add_argument("--overwrite", action="store_true", help="with --writable: uploads may replace files")
    p.add_argument("--max-blksize", type=_blksize, default=65464, metavar="N",
                   help="largest block size granted (RFC 2348; 1468 fits one Ethernet frame)")
    p.add_argument("--timeout", type=_positive(float), default=1.0, metavar="S",
                   help="seconds before a packet is sent again, unless the client asks (default 1)")
    p.add_argument("--retries", type=_positive(int), default=5, metavar="N",
                   help="retransmissions before a transfer is given up (default 5)")
    p.add_argument("--port-range", type=_port_range, metavar="LOW-HIGH",
                   help="ports for the transfers' own sockets (their TIDs), for a firewall")
    p.add_argument("--max-upload", type=_positive(int), metavar="BYTES",
                   help="largest upload: one announcing more (tsize) is refused, one sending more is stopped "
                        "(ERROR 3)")
    p.add_argument("--max-transfers", type=_positive(int), default=256, metavar="N",
                   help="transfers at once; beyond, ERROR 0 'server busy' (default 256)")
    p.add_argument("-v", "--verbose", action="store_true", help="also log every timeout and duplicate")
    return p


def run_server(argv: list[str]) -> int:
    args = server_parser().parse_args(argv)
    if not os.path.isdir(args.root):
        print(f"tftp-server: --root must be an existing directory (got {args.root!r})", file=sys.stderr)
        return 2
    from refimpl.net.tftp_server import TftpServerDriver
    from refimpl.net.tftp_server import run_server as serve
    from refimpl.tftp import DiskFiles, ServerConfig, TftpServer

    logger = _log_to_stderr("%(asctime)s tftp-server: %(message)s", logging.DEBUG if args.verbose else logging.INFO)
    config = ServerConfig(timeout=args.timeout, max_retries=args.retries, max_blksize=args.max_blksize,
                          max_upload=args.max_upload)  # fmt: skip
    files = DiskFiles(args.root, writable=args.writable, overwrite=args.overwrite)
    driver = TftpServerDriver(TftpServer(files, config), args.host, args.port, port_range=args.port_range,
                              max_transfers=args.max_transfers)  # fmt: skip

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
        logger.info("stopped: %d requests, %d transfers done, %d failed, %d refused",
                    s["requests"], s["done"], s["failed"], s["refused"])  # fmt: skip
        return 0

    return asyncio.run(main())


# -- the clients ---------------------------------------------------------------------------
def client_parser(command: str) -> argparse.ArgumentParser:
    getting = command == "tftp-get"
    p = argparse.ArgumentParser(
        prog=f"python -m refimpl {command}",
        description=("Download a file from a TFTP server (RRQ)." if getting else
                     "Upload a file to a TFTP server (WRQ)."),
        epilog="exit status: 0 the file went through, 1 refused or no answer, 2 usage error")  # fmt: skip
    p.add_argument("server", type=_host_port, metavar="HOST[:PORT]", help="the server (port 69 unless given)")
    if getting:
        p.add_argument("remote", metavar="REMOTE", help="the file's name on the server")
        p.add_argument("local", nargs="?", metavar="LOCAL", help="where to store it (default: REMOTE's last part)")
    else:
        p.add_argument("local", metavar="LOCAL", help="the file to send")
        p.add_argument("remote", nargs="?", metavar="REMOTE", help="its name on the server (default: LOCAL's name)")
    p.add_argument("--mode", choices=("octet", "netascii"), default="octet",
                   help="octet: bytes as they are; netascii: text, line ends as CR LF on the wire")
    p.add_argument("--blksize", type=_blksize, metavar="N", help="ask for N-byte blocks (RFC 2348)")
    p.add_argument("--tsize", action="store_true",
                   help="ask for the file's size (get) / announce it (put) (RFC 2349; octet mode only)")
    p.add_argument("--timeout", type=_positive(float), default=1.0, metavar="S",
                   help="seconds before we send again when nothing came (default 1)")
    p.add_argument("--retries", type=_positive(int), default=5, metavar="N",
                   help="retransmissions before giving up (default 5)")
    p.add_argument("-v", "--verbose", action="store_true", help="log every timeout and duplicate")
    return p


def run_client(command: str, argv: list[str]) -> int:
    args = client_parser(command).parse_args(argv)
    from refimpl.net import tftp_client
    from refimpl.tftp.packets import PacketError

    _log_to_stderr(f"{command}: %(message)s", logging.DEBUG if args.verbose else logging.WARNING)
    host, port = args.server
    common = dict(port=port, mode=args.mode, blksize=args.blksize, retry_timeout=args.timeout,
                  max_retries=args.retries)  # fmt: skip
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
    print(f"{command}: {what}: {transfer.bytes} bytes, blksize {transfer.settings.blksize}", file=sys.stderr)
    return 0


def _download(host: str, remote: str, local: str, common: dict, ask_size: bool):
    """Into a temporary file beside ``local``, renamed only when the transfer completed."""
    from refimpl.net import tftp_client

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
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m refimpl {{{'|'.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
