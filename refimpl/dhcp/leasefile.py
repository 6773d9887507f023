"""The lease file: an append-only CSV that survives a crash.

Why a file at all? A DHCP server that forgets its leases when it restarts will
happily give a client's address to somebody else while the first client is
still using it. Two design goals of RFC 2131 (§1.6) are exactly this: "retain
DHCP client configuration across server reboots" and "guarantee that any
specific network address will not be in use by more than one DHCP client at a
time".

Why append-only? Rewriting a whole database for every lease is slow and a crash
half-way through a rewrite can lose everything. Appending one line per change is
cheap, and a crash can only damage the *last* line. This is the design of ISC
Kea's "memfile" backend: one CSV line per lease change
(``address,hwaddr,client_id,valid_lifetime,expire,state,...``), replayed in order
at start-up (later lines win), and compacted now and then.

The three rules that make it crash-safe:

1. **fsync before ACK.** :meth:`LeaseFile.append` writes the line, flushes
   Python's buffer and calls ``os.fsync`` before it returns. The server sends
   DHCPACK only after ``append`` returns, so every acknowledged lease is on disk.
2. **A torn last line is ignored.** If the machine dies in the middle of
   ``write``, the file ends without a newline. Replay skips that line with a
   warning; that lease was never acknowledged (rule 1), so nothing is lost.
3. **Compaction is atomic.** The live leases are written to ``NAME.tmp``,
   fsynced, then ``os.replace``-d over the old file (an atomic rename on POSIX),
   and the directory is fsynced. A crash leaves either the old or the new
   file, never a mixture.

Standard library only.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Iterable, Iterator

log = logging.getLogger(__name__)

COLUMNS = ("address", "hwaddr", "client_id", "valid_lifetime", "expire", "state", "hostname")
HEADER = ",".join(COLUMNS)

STATES = ("bound", "released", "declined")
"""``bound``: acknowledged (DHCPACK sent). ``released``: the client gave it back
(DHCPRELEASE). ``declined``: a client found it in use (DHCPDECLINE). An expired
lease needs no state of its own: ``expire`` already says when it ended."""


@dataclass
class LeaseRecord:
    """One line of the lease file."""

    address: str
    hwaddr: str  # "02:00:00:00:00:01" (may be empty for a decline of an unknown client)
    client_id: str  # hex of option 61, or "" when the client sent none
    valid_lifetime: int  # seconds granted (option 51)
    expire: float  # absolute time (the caller's clock) when the lease ends
    state: str  # one of STATES
    hostname: str = ""

    def to_line(self) -> str:
        # Commas and newlines would break the CSV; hostnames never need them.
        host = self.hostname.replace(",", "_").replace("\n", "_").replace("\r", "_")
        return f"{self.address},{self.hwaddr},{self.client_id},{self.valid_lifetime},{self.expire!r},{self.state},{host}\n"

    @classmethod
    def from_line(cls, line: str) -> "LeaseRecord":
        """Parse one line (without its newline); ``ValueError`` if malformed."""
        parts = line.split(",")
        if len(parts) != len(COLUMNS):
            raise ValueError(f"expected {len(COLUMNS)} columns, got {len(parts)}")
        address, hwaddr, client_id, lifetime, expire, state, hostname = parts
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        octets = address.split(".")
        if len(octets) != 4 or not all(o.isdigit() and int(o) < 256 for o in octets):
            raise ValueError(f"bad address {address!r}")
        return cls(address, hwaddr, client_id, int(lifetime), float(expire), state, hostname)


class LeaseFile:
    """Append-only lease log at ``path``; see the module docstring for the rules."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True):
        self.path = os.fspath(path)
        self.fsync = fsync  # tests and benches may turn it off; a real server never should
        self.records_written = 0
        self._fh = None

    # -- reading ---------------------------------------------------------
    def replay(self) -> Iterator[LeaseRecord]:
        """Yield every intact record in file order (later records win).

        A last line without its newline is a write torn by a crash: skipped with
        a warning. A complete but malformed line is also skipped with a warning
        (bad input loses nothing else).
        """
        if not os.path.exists(self.path):
            return
        with open(self.path, "rb") as fh:
            data = fh.read()
        lines = data.split(b"\n")
        torn = lines.pop()  # text after the last newline ("" if the file ends cleanly)
        for number, raw in enumerate(lines, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                log.warning("%s:%d: not UTF-8, line skipped", self.path, number)
                continue
            if text == HEADER or text == "":
                continue
            try:
                yield LeaseRecord.from_line(text)
            except ValueError as exc:
                log.warning("%s:%d: malformed lease line skipped (%s)", self.path, number, exc)
        if torn:
            log.warning(
                "%s: last line is incomplete (%d bytes, a write cut short by a crash); ignored",
                self.path,
                len(torn),
            )

    # -- writing ---------------------------------------------------------
    def append(self, record: LeaseRecord) -> None:
        """Write one record durably: write, flush, fsync - then return."""
        if self._fh is None:
            self._fh = open(self.path, "a", encoding="utf-8")
            if self._fh.tell() == 0:
                self._fh.write(HEADER + "\n")
        self._fh.write(record.to_line())
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())
        self.records_written += 1

    def rewrite(self, records: Iterable[LeaseRecord]) -> None:
        """Compaction: replace the file with exactly ``records``, atomically."""
        self.close()
        tmp = self.path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(HEADER + "\n")
            for record in records:
                fh.write(record.to_line())
            fh.flush()
            if self.fsync:
                os.fsync(fh.fileno())
        os.replace(tmp, self.path)  # atomic on POSIX: old file or new file, never half
        if self.fsync:
            self._fsync_directory()
        self.records_written = 0

    def _fsync_directory(self) -> None:
        # The rename lives in the directory entry; fsync the directory so the
        # new name survives a power cut too.
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:  # pragma: no cover - some platforms cannot open directories
            return
        try:
            os.fsync(fd)
        except OSError:  # pragma: no cover
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None
