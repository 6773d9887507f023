"""Record what real programs say: tcpdump around a block of code.

Every capture the course ships was made the same way: start tcpdump, wait
until it really listens (a packet sent before that is lost from the file),
start the programs, let them talk, stop everything and keep the pcap. Only
the programs differ, so the recorders (``record_dhcp``, ``record_ftp``,
``record_tftp``) say just that part::

    with recording(pcap, "lo", "udp and host 127.0.0.1", logs=tmp) as rec:
        rec.start("server", ["in.tftpd", "--foreground", ...])
        ...  # run the clients

Each program writes to its own log in ``logs`` (``tcpdump.log``,
``server.log``, ...), so a program that fails to start is an error that
quotes what it said, not a hang. When the block ends, the programs stop in
reverse order, tcpdump last (SIGTERM: it flushes and closes the file), even
after an error.

``within`` runs tcpdump and the programs inside a namespace of
:mod:`refimpl.lab.netns` (the DHCP capture needs its own link).
Needs root: tcpdump must open the interface.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from refimpl.lab.procwait import log_text, stop, wait_for

if TYPE_CHECKING:  # pragma: no cover
    from refimpl.lab.netns import Host


def require(*tools: str, debian: str = "") -> None:
    """Raise RuntimeError naming every program of ``tools`` that is not installed."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        hint = f" (Debian: {debian})" if debian else ""
        raise RuntimeError(f"needs {', '.join(missing)}{hint}")


class Recording:
    """The programs started during one recording, each with its log."""

    def __init__(self, logs: Path, within: Host | None = None):
        self.logs = Path(logs)
        self.within = within
        self.processes: list[subprocess.Popen] = []
        self._files: list = []

    def log(self, name: str) -> str:
        """What program ``name`` has written so far."""
        return log_text(self.logs / f"{name}.log")

    def start(
        self,
        name: str,
        argv: list[str],
        ready: str | None = None,
        timeout: float = 20,
        settle: float = 0.0,
        within: Host | None = None,
    ) -> subprocess.Popen:
        """Start ``argv`` with its output in ``<logs>/<name>.log``.

        With ``ready``, wait until that text is in the log; with ``settle``,
        wait that long (for programs that print nothing when they are ready).
        Either way, a program that has already exited is a RuntimeError that
        quotes its log. ``within`` runs it in that lab host instead of the
        recording's own.
        """
        handle = open(self.logs / f"{name}.log", "w")
        self._files.append(handle)
        host = within or self.within
        command = host.command(argv) if host is not None else argv
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
        self.processes.append(process)
        if ready is not None:
            wait_for(lambda: ready in self.log(name) or process.poll() is not None, timeout, name)
        if settle:
            time.sleep(settle)
        if process.poll() is not None:
            raise RuntimeError(f"{name} failed: {self.log(name).strip()}")
        return process

    def stop_all(self) -> None:
        """Stop every program, the last started first, and close the logs."""
        for process in reversed(self.processes):
            stop(process)
        self.processes.clear()
        for handle in self._files:
            handle.close()
        self._files.clear()


@contextmanager
def recording(
    pcap: str | Path,
    interface: str,
    capture_filter: str,
    *,
    logs: str | Path,
    within: Host | None = None,
    linger: float = 0.5,
) -> Iterator[Recording]:
    """Capture ``interface`` into ``pcap`` while the block runs (``capture_filter``: tcpdump syntax).

    tcpdump is started first and must say "listening on" before the block
    begins. ``linger`` seconds after the block, everything stops: long
    enough for the last ACK or FIN to reach tcpdump.
    """
    require("tcpdump")
    rec = Recording(Path(logs), within)
    # -n: no name lookups; -U and --immediate-mode: write each packet at once; -s 0: whole packets.
    # -Z root: keep root's rights, so tcpdump may write into a private (0700) directory.
    as_root = ["-Z", "root"] if os.geteuid() == 0 else []
    argv = [
        "tcpdump",
        "-i",
        interface,
        "-n",
        "-U",
        "--immediate-mode",
        "-s",
        "0",
        *as_root,
        "-w",
        str(pcap),
        capture_filter,
    ]
    try:
        rec.start("tcpdump", argv, ready="listening on", timeout=10)
        yield rec
        time.sleep(linger)
    finally:
        rec.stop_all()


def recorder_main(doc: str, argv: list[str] | None, record: Callable, read: Callable, port_label: str = "") -> int:
    """The command line every recorder shares: ``PCAP``, or ``PCAP [PORT]`` with a ``port_label``; ``--help``: ``doc``.

    Without a port: ``record(pcap)`` returns the capture's path and
    ``read(path)`` the Trace, printed as a table. With one:
    ``record(pcap, port=PORT or None)`` returns ``(path, port)``, the port is
    printed first (the capture cannot be read without it), then
    ``read(path, port)``.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] in (["-h"], ["--help"]):
        print(doc)
        return 0
    if not 1 <= len(argv) <= (2 if port_label else 1) or argv[0].startswith("-"):
        print(doc, file=sys.stderr)
        return 2
    if not port_label:
        print(read(record(argv[0])).table())
        return 0
    path, port = record(argv[0], port=int(argv[1]) if len(argv) == 2 else None)
    print(f"{port_label} {port}")
    print(read(path, port).table())
    return 0
