"""Make the course's own TFTP capture: real programs only, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_tftp refimpl/data/captures/tftp_session.pcap

The shipped file ``refimpl/data/captures/tftp_session.pcap`` was made this way
(nothing downloaded). tftpd-hpa (``in.tftpd``) serves a directory on 127.0.0.1
at a free port P (not 69: the capture should not depend on what else runs),
and ``tcpdump -i lo`` records UDP to and from 127.0.0.1. Two transfers
(:data:`SESSION`):

1. atftp reads ``boot.txt`` asking for options (RFC 2347-2349): blksize 1024 and tsize,
   so the server answers OACK and the client starts with ACK 0;
2. the tftp-hpa client reads the same file with no options: DATA 1 comes at once,
   in 512-byte blocks.

Read it back with :func:`refimpl.capture.tftp.read_tftp_trace` and the port:
:func:`record_tftp_session` returns it (the shipped capture's is
:data:`SHIPPED_PORT`, also in its README line). Both transfers use programs
that are not ours, so the capture shows how real implementations behave.

Needs root (tcpdump), ``tcpdump``, ``in.tftpd`` (tftpd-hpa), ``atftp`` and ``tftp`` (tftp-hpa).
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from refimpl.capture.recorder import recorder_main, recording, require

SESSION = ["atftp get boot.txt, blksize 1024, tsize", "tftp-hpa get boot.txt"]
FILE_TEXT = b"".join(b"line %02d of the boot file, read over TFTP.\n" % n for n in range(60))  # 2520 bytes
SHIPPED_PORT = 46969
TOOLS = ("tcpdump", "in.tftpd", "atftp", "tftp")


def free_udp_port(rng: random.Random, tries: int = 50) -> int:
    for _ in range(tries):
        port = rng.randrange(20000, 60000)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback UDP port found")


def run_clients(port: int, tmp: Path) -> list[bytes]:
    """The two transfers of :data:`SESSION`; returns what each client stored."""
    got = []
    first, second = tmp / "atftp.out", tmp / "tftp-hpa.out"
    subprocess.run(
        [
            "atftp",
            "--option",
            "blksize 1024",
            "--option",
            "tsize 0",
            "-g",
            "-r",
            "boot.txt",
            "-l",
            str(first),
            "127.0.0.1",
            str(port),
        ],
        check=True,
        timeout=30,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    got.append(first.read_bytes())
    subprocess.run(
        ["tftp", "-m", "binary", "127.0.0.1", str(port), "-c", "get", "boot.txt", str(second)],
        check=True,
        timeout=30,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    got.append(second.read_bytes())
    return got


def record_tftp_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the two transfers of :data:`SESSION` into ``pcap``; return (path, server port)."""
    require(*TOOLS, debian="tcpdump tftpd-hpa atftp tftp-hpa")
    port = port or free_udp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    udp_on_loopback = "udp and host 127.0.0.1"
    with tempfile.TemporaryDirectory() as tmp_name, recording(pcap, "lo", udp_on_loopback, logs=tmp_name) as rec:
        tmp = Path(tmp_name)
        root = tmp / "root"
        root.mkdir()
        (root / "boot.txt").write_bytes(FILE_TEXT)
        os.chmod(tmp, 0o755)  # in.tftpd drops to --user; it must still reach the root
        rec.start(
            "in.tftpd",
            ["in.tftpd", "--foreground", "--address", f"127.0.0.1:{port}", "--secure", "--user", "root", str(root)],
            settle=0.5,
        )  # in.tftpd prints nothing when it is ready
        got = run_clients(port, tmp)
        if got != [FILE_TEXT, FILE_TEXT]:
            raise RuntimeError("a client did not receive boot.txt intact")
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.tftp import read_tftp_trace

    return recorder_main(__doc__, argv, record_tftp_session, read_tftp_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
