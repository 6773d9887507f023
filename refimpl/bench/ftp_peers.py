"""Start the three FTP servers the bench compares, each as a subprocess on 127.0.0.1.

Every server gets the same shape of tree, made by :func:`make_tree`::

    ROOT/            owned by root, not writable (vsftpd refuses a writable anonymous root)
    ROOT/pub/        the big file and a small directory to LIST
    ROOT/incoming/   writable by anonymous (STOR lands here)

and the same login: ``anonymous``. Each ``start_*`` function is a context
manager that yields a :class:`Peer` and *always* stops the process on the way
out, even when the bench fails half-way. A peer that cannot run here (not
root, binary missing) raises :class:`Skip` with the reason, which the bench
prints as ``skipped: ...``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

from refimpl.lab.procwait import stop

HOST = "127.0.0.1"
# Passive port ranges: one per server so a port in TIME_WAIT from one server's
# run never collides with the next; 1000 ports so 300 clients listing at once fit.
PASSIVE = {"ours": (40000, 40999), "vsftpd": (41000, 41999), "pyftpdlib": (42000, 42999)}


class Skip(Exception):
    """This peer cannot run on this machine; the message says why."""


@dataclass
class Peer:
    name: str
    port: int
    proc: subprocess.Popen


def make_tree(root: str, listing_files: int = 20) -> None:
    """The served tree (see the module docstring); ``incoming`` belongs to user ftp when it exists."""
    os.chmod(root, 0o755)
    os.makedirs(os.path.join(root, "pub"), exist_ok=True)
    for i in range(listing_files):  # something for LIST to format
        with open(os.path.join(root, "pub", f"file{i:02d}.txt"), "w") as f:
            f.write("x" * (i * 100))
    incoming = os.path.join(root, "incoming")
    os.makedirs(incoming, exist_ok=True)
    os.chmod(incoming, 0o777)
    with contextlib.suppress(KeyError, PermissionError):
        ftp = pwd.getpwnam("ftp")
        os.chown(incoming, ftp.pw_uid, ftp.pw_gid)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 15.0) -> None:
    """Poll until the server greets (bounded by ``timeout``); fail if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                if s.recv(64).startswith(b"220"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer on port {port} within {timeout:.0f} s")


@contextlib.contextmanager
def _running(name: str, argv: list[str], port: int, cwd: str | None = None) -> Iterator[Peer]:
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd)
    try:
        try:
            wait_listening(proc, port)
        except RuntimeError as exc:
            log.seek(0)
            tail = log.read()[-500:].decode(errors="replace").strip()
            raise RuntimeError(f"{name}: {exc}: {tail}") from None
        yield Peer(name, port, proc)
    finally:
        stop(proc)
        log.close()


@contextlib.contextmanager
def start_ours(root: str) -> Iterator[Peer]:
    """Our server through its CLI, with the per-address limit raised for the 300-client run."""
    port = free_port()
    lo, hi = PASSIVE["ours"]
    argv = [
        sys.executable,
        "-m",
        "refimpl",
        "ftp-server",
        "--root",
        root,
        "--host",
        HOST,
        "--port",
        str(port),
        "--anonymous",
        "--anonymous-upload",
        "/incoming",
        "--passive-ports",
        f"{lo}-{hi}",
        "--max-per-address",
        "1000",
    ]
    with _running("ours", argv, port) as peer:
        yield peer


# pyftpdlib's own CLI caps the server at 512 sockets (control, listening and data
# alike), which refuses some of 300 clients listing at once with 425; and it logs
# every command. So: the same FTPServer with the cap raised and logging off, like ours.
_PYFTPDLIB = """
import logging, sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
logging.basicConfig(level=logging.WARNING)
root, host, port, lo, hi = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
auth = DummyAuthorizer()
auth.add_anonymous(root, perm="elradfmw")
FTPHandler.authorizer = auth
FTPHandler.passive_ports = range(lo, hi + 1)
server = FTPServer((host, port), FTPHandler)
server.max_cons = 4096
server.max_cons_per_ip = 0
server.serve_forever()
"""


@contextlib.contextmanager
def start_pyftpdlib(root: str) -> Iterator[Peer]:
    """pyftpdlib's FTPServer (default async concurrency), anonymous with write access."""
    try:
        import pyftpdlib  # noqa: F401
    except ImportError:
        raise Skip("pyftpdlib not installed (pip install -e '.[bench]')") from None
    port = free_port()
    lo, hi = PASSIVE["pyftpdlib"]
    argv = [sys.executable, "-c", _PYFTPDLIB, root, HOST, str(port), str(lo), str(hi)]
    with _running("pyftpdlib", argv, port) as peer:
        yield peer


@contextlib.contextmanager
def start_vsftpd(root: str) -> Iterator[Peer]:
    """vsftpd with a generated config in a temp dir: standalone, anonymous with upload."""
    binary = shutil.which("vsftpd") or "/usr/sbin/vsftpd"
    if not os.path.exists(binary):
        raise Skip("vsftpd not installed (apt-get install vsftpd)")
    if os.geteuid() != 0:
        raise Skip("vsftpd needs root")
    try:
        pwd.getpwnam("ftp")
    except KeyError:
        raise Skip("vsftpd anonymous login needs a user named ftp") from None
    work = tempfile.mkdtemp(prefix="bench-vsftpd-")
    try:
        empty = os.path.join(work, "empty")  # secure_chroot_dir: must exist, empty, not writable
        os.mkdir(empty, 0o555)
        port = free_port()
        lo, hi = PASSIVE["vsftpd"]
        conf = os.path.join(work, "vsftpd.conf")
        with open(conf, "w") as f:
            f.write(
                "\n".join(
                    [
                        "listen=YES",
                        "listen_ipv6=NO",
                        f"listen_address={HOST}",
                        f"listen_port={port}",
                        "background=NO",
                        "anonymous_enable=YES",
                        f"anon_root={root}",
                        "no_anon_password=YES",
                        "local_enable=NO",
                        "write_enable=YES",
                        "anon_upload_enable=YES",
                        "anon_umask=022",
                        "pasv_enable=YES",
                        f"pasv_min_port={lo}",
                        f"pasv_max_port={hi}",
                        "seccomp_sandbox=NO",
                        f"secure_chroot_dir={empty}",
                        "ftp_username=ftp",
                        "max_clients=0",
                        "max_per_ip=0",
                        "xferlog_enable=NO",
                        "dirmessage_enable=NO",
                        "",
                    ]
                )
            )
        with _running("vsftpd", [binary, conf], port) as peer:
            yield peer
    finally:
        shutil.rmtree(work, ignore_errors=True)


STARTERS = {"ours": start_ours, "vsftpd": start_vsftpd, "pyftpdlib": start_pyftpdlib}
