"""Make the course's own FTP capture: Python's ftplib against our server, on loopback.

    sudo .venv/bin/python -m refimpl.net.ftp_capture refimpl/data/captures/ftp_session.pcap

The shipped file ``refimpl/data/captures/ftp_session.pcap`` was made this way
(nothing downloaded). Our ``ftp-server`` listens on 127.0.0.1 on a free port
P (not 21: the capture should not depend on what else runs), with passive
ports just above it and active connections made from port P-1 (RFC 959
§3.2's "L-1" habit). ``tcpdump -i lo`` records only those ports, so other
loopback traffic stays out. The client session (:data:`SESSION`):

    login anonymous, PASV + LIST, PASV + RETR hello.txt, PORT + LIST, QUIT

Read it back with :func:`refimpl.net.pcap_ftp.read_ftp_trace` - pass the
control port, which :func:`record_ftp_session` returns (the shipped capture's
is :data:`SHIPPED_CONTROL_PORT`, also in its README line).

Needs root (tcpdump) and ``tcpdump``.
"""

from __future__ import annotations

import ftplib
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from refimpl.net.procwait import log_text, stop, wait_for

SESSION = ["login anonymous", "PASV LIST", "PASV RETR hello.txt", "PORT LIST", "QUIT"]
FILE_TEXT = b"Hello from the course's FTP server.\r\nThis file is small on purpose.\r\n"
SHIPPED_CONTROL_PORT = 42021  # what the shipped capture used; see record_ftp_session


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_ports(rng: random.Random, tries: int = 50) -> int:
    """A control port P with P-1 (active) and P+1..P+4 (passive) free too."""
    for _ in range(tries):
        port = rng.randrange(20000, 60000)
        if all(_free(p) for p in range(port - 1, port + 5)):
            return port
    raise RuntimeError("no free block of 6 loopback ports found")


def run_client(port: int) -> list[str]:
    """The session of :data:`SESSION` with ftplib; returns what it read (for a sanity check)."""
    got = []
    with ftplib.FTP() as ftp:
        ftp.connect("127.0.0.1", port, timeout=10)
        ftp.login()  # anonymous (ftplib sends USER anonymous, PASS anonymous@)
        ftp.set_pasv(True)
        ftp.retrlines("LIST", got.append)
        chunks: list[bytes] = []
        ftp.retrbinary("RETR hello.txt", chunks.append)
        got.append(b"".join(chunks).decode())
        ftp.set_pasv(False)  # active: ftplib listens and sends PORT
        ftp.retrlines("LIST", got.append)
        ftp.quit()
    return got


def record_ftp_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record one ftplib session against our server into ``pcap``; return (path, control port)."""
    if shutil.which("tcpdump") is None:
        raise RuntimeError("needs tcpdump")
    port = port or pick_ports(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "root"
        root.mkdir()
        (root / "hello.txt").write_bytes(FILE_TEXT)
        logs = {name: open(tmp / f"{name}.log", "w") for name in ("tcpdump", "server")}
        procs: list[subprocess.Popen] = []
        try:
            flt = f"tcp and host 127.0.0.1 and (port {port} or port {port - 1} or portrange {port + 1}-{port + 4})"
            # -Z root: keep root's rights, so tcpdump may write into a private (0700) directory
            as_root = ["-Z", "root"] if os.geteuid() == 0 else []
            dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "0", *as_root,
                                     "-w", str(pcap), flt], stdout=logs["tcpdump"], stderr=subprocess.STDOUT)  # fmt: skip
            procs.append(dump)
            wait_for(lambda: "listening on" in log_text(tmp / "tcpdump.log") or dump.poll() is not None, 10, "tcpdump")
            if dump.poll() is not None:
                raise RuntimeError(f"tcpdump failed: {log_text(tmp / 'tcpdump.log').strip()}")
            serve = subprocess.Popen([sys.executable, "-m", "refimpl", "ftp-server", "--root", str(root),
                                      "--host", "127.0.0.1", "--port", str(port), "--anonymous",
                                      "--passive-ports", f"{port + 1}-{port + 4}", "--active-port", str(port - 1)],
                                     stdout=logs["server"], stderr=subprocess.STDOUT)  # fmt: skip
            procs.append(serve)
            wait_for(lambda: "listening on" in log_text(tmp / "server.log") or serve.poll() is not None, 20, "ftp-server")
            if serve.poll() is not None:
                raise RuntimeError(f"ftp-server failed: {log_text(tmp / 'server.log').strip()}")
            got = run_client(port)
            if FILE_TEXT.decode() not in got:
                raise RuntimeError("RETR did not return hello.txt")
            time.sleep(0.5)  # let the last FIN/ACK reach tcpdump
        finally:
            for proc in reversed(procs):
                stop(proc)  # tcpdump flushes and closes the file on SIGTERM
            for handle in logs.values():
                handle.close()
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(__doc__)
        return 0
    if len(argv) not in (1, 2) or argv[0].startswith("-"):
        print(__doc__, file=sys.stderr)
        return 2
    port = int(argv[1]) if len(argv) == 2 else None
    path, port = record_ftp_session(argv[0], port=port)
    from refimpl.net.pcap_ftp import read_ftp_trace

    print(f"control port {port}")
    print(read_ftp_trace(path, control_port=port).table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
