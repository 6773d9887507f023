"""Make the course's own FTP capture: Python's ftplib against our server, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_ftp refimpl/data/captures/ftp_session.pcap

The shipped file ``refimpl/data/captures/ftp_session.pcap`` was made this way
(nothing downloaded). Our ``ftp-server`` listens on 127.0.0.1 on a free port
P (not 21: the capture should not depend on what else runs), with passive
ports just above it and active connections made from port P-1 (RFC 959
§3.2's "L-1" habit). ``tcpdump -i lo`` records only those ports, so other
loopback traffic stays out. The client session (:data:`SESSION`):

    login anonymous, PASV + LIST, PASV + RETR hello.txt, PORT + LIST, QUIT

Read it back with :func:`refimpl.capture.ftp.read_ftp_trace` - pass the
control port, which :func:`record_ftp_session` returns (the shipped capture's
is :data:`SHIPPED_CONTROL_PORT`, also in its README line).

Needs root (tcpdump) and ``tcpdump``.
"""

from __future__ import annotations

import ftplib
import random
import socket
import sys
import tempfile
from pathlib import Path

from refimpl.capture.recorder import recorder_main, recording, require

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
    require("tcpdump")
    port = port or pick_ports(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    only_our_ports = f"tcp and host 127.0.0.1 and (port {port} or port {port - 1} or portrange {port + 1}-{port + 4})"
    with tempfile.TemporaryDirectory() as tmp_name, recording(pcap, "lo", only_our_ports, logs=tmp_name) as rec:
        root = Path(tmp_name) / "root"
        root.mkdir()
        (root / "hello.txt").write_bytes(FILE_TEXT)
        rec.start(
            "ftp-server",
            [
                sys.executable,
                "-m",
                "refimpl",
                "ftp-server",
                "--root",
                str(root),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--anonymous",
                "--passive-ports",
                f"{port + 1}-{port + 4}",
                "--active-port",
                str(port - 1),
            ],
            ready="listening on",
        )
        got = run_client(port)
        if FILE_TEXT.decode() not in got:
            raise RuntimeError("RETR did not return hello.txt")
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.ftp import read_ftp_trace

    return recorder_main(__doc__, argv, record_ftp_session, read_ftp_trace, port_label="control port")


if __name__ == "__main__":
    sys.exit(main())
