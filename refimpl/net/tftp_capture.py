"""Make the course's own TFTP capture: real programs only, on loopback.

    sudo .venv/bin/python -m refimpl.net.tftp_capture refimpl/data/captures/tftp_session.pcap

The shipped file ``refimpl/data/captures/tftp_session.pcap`` was made this way
(nothing downloaded). tftpd-hpa (``in.tftpd``) serves a directory on 127.0.0.1
at a free port P (not 69: the capture should not depend on what else runs),
and ``tcpdump -i lo`` records UDP to and from 127.0.0.1. Two transfers
(:data:`SESSION`):

1. atftp reads ``boot.txt`` asking for options (RFC 2347-2349): blksize 1024 and tsize,
   so the server answers OACK and the client starts with ACK 0;
2. the tftp-hpa client reads the same file with no options: DATA 1 comes at once,
   in 512-byte blocks.

Read it back with :func:`refimpl.net.pcap_tftp.read_tftp_trace` and the port:
:func:`record_tftp_session` returns it (the shipped capture's is
:data:`SHIPPED_PORT`, also in its README line). Both transfers use programs
that are not ours, so the capture shows how real implementations behave.

Needs root (tcpdump), ``tcpdump``, ``in.tftpd`` (tftpd-hpa), ``atftp`` and ``tftp`` (tftp-hpa).
"""

from __future__ import annotations

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
    subprocess.run(["atftp", "--option", "blksize 1024", "--option", "tsize 0", "-g", "-r", "boot.txt",
                    "-l", str(first), "127.0.0.1", str(port)], check=True, timeout=30,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    got.append(first.read_bytes())
    subprocess.run(["tftp", "-m", "binary", "127.0.0.1", str(port), "-c", "get", "boot.txt", str(second)],
                   check=True, timeout=30, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    got.append(second.read_bytes())
    return got


def record_tftp_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the two transfers of :data:`SESSION` into ``pcap``; return (path, server port)."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"needs {', '.join(missing)} (Debian: tcpdump tftpd-hpa atftp tftp-hpa)")
    port = port or free_udp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        root = tmp / "root"
        root.mkdir()
        (root / "boot.txt").write_bytes(FILE_TEXT)
        os.chmod(tmp, 0o755)  # in.tftpd drops to --user; it must still reach the root
        logs = {name: open(tmp / f"{name}.log", "w") for name in ("tcpdump", "server")}
        procs: list[subprocess.Popen] = []
        try:
            as_root = ["-Z", "root"] if os.geteuid() == 0 else []
            dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "--immediate-mode", "-s", "0", *as_root,
                                     "-w", str(pcap), "udp and host 127.0.0.1"],
                                    stdout=logs["tcpdump"], stderr=subprocess.STDOUT)  # fmt: skip
            procs.append(dump)
            wait_for(lambda: "listening on" in log_text(tmp / "tcpdump.log") or dump.poll() is not None, 10, "tcpdump")
            if dump.poll() is not None:
                raise RuntimeError(f"tcpdump failed: {log_text(tmp / 'tcpdump.log').strip()}")
            serve = subprocess.Popen(["in.tftpd", "--foreground", "--address", f"127.0.0.1:{port}", "--secure",
                                      "--user", "root", str(root)], stdout=logs["server"], stderr=subprocess.STDOUT)
            procs.append(serve)
            time.sleep(0.5)  # in.tftpd prints nothing when it is ready
            if serve.poll() is not None:
                raise RuntimeError(f"in.tftpd failed: {log_text(tmp / 'server.log').strip()}")
            got = run_clients(port, tmp)
            if got != [FILE_TEXT, FILE_TEXT]:
                raise RuntimeError("a client did not receive boot.txt intact")
            time.sleep(0.5)  # let the last ACK reach tcpdump
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
    path, port = record_tftp_session(argv[0], port=port)
    from refimpl.net.pcap_tftp import read_tftp_trace

    print(f"server port {port}")
    print(read_tftp_trace(path, server_port=port).table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
