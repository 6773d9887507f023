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

1. **fsync before ACK, and a failed append leaves nothing.**
   :meth:`LeaseFile.append` writes the line with ``os.write`` on an unbuffered
   descriptor and calls ``os.fsync`` before it returns. The server sends
   DHCPACK only after ``append`` returns, so every acknowledged lease is on disk.
   If the write or the fsync fails (a full disk: ``ENOSPC``), the file is cut
   back to its last good length and the error goes to the caller, who sends no
   ACK. There is no buffer left holding the line: through Python's buffered
   ``open()`` the refused line stayed in memory and reached the disk with the
   next write once space was freed - a lease nobody was told about, bound after
   a restart.
2. **A torn last line is ignored.** If the machine dies in the middle of
   ``write``, the file ends without a newline. Replay skips that line with a
   warning; that lease was never acknowledged (rule 1), so nothing is lost.
3. **Compaction is atomic.** The live leases are written to ``NAME.tmp``,
   fsynced, then ``os.replace``-d over the old file (an atomic rename on POSIX),
   and the directory is fsynced. A crash leaves either the old or the new
   file, never a mixture. A compaction that fails (a full disk again) removes
   its ``NAME.tmp`` and leaves the old file in use: compaction only saves
   space, it is never needed for correctness.
4. **No line is deleted without a trace.** Replay skips a line it cannot read
   (malformed, not UTF-8, a time that is ``nan`` or ``inf``) with a warning;
   before a compaction drops such lines from the live file, the original is
   kept as ``NAME.bad-TIMESTAMP`` (the time it was last written, UTC), as Kea
   keeps its previous lease file beside the new one. A torn last line alone
   is no reason: rule 2 explains it, and every crash would leave a copy.

Standard library only.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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
        return (
            f"{self.address},{self.hwaddr},{self.client_id},{self.valid_lifetime},{self.expire!r},{self.state},{host}\n"
        )

    @classmethod
    def from_line(cls, line: str) -> LeaseRecord:
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
        seconds, ends = int(lifetime), float(expire)
        if seconds < 0:
            raise ValueError(f"negative lifetime {lifetime!r}")
        if not math.isfinite(ends):
            # float() reads "nan" and "inf": a lease that never ends, or one that is neither
            # running nor over (nan compares false with every time) and breaks the free heap.
            raise ValueError(f"expire time {expire!r} is not a finite number")
        return cls(address, hwaddr, client_id, seconds, ends, state, hostname)


class LeaseFile:
    """Append-only lease log at ``path``; see the module docstring for the rules."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = True):
        self.path = os.fspath(path)
        self.fsync = fsync  # tests and benches may turn it off; a real server never should
        self.records_written = 0
        self._fd: int | None = None  # unbuffered: what os.write did not take is not kept anywhere
        self._end = 0  # the file's length after the last good append
        self.skipped = 0  # complete lines the last replay could not read (rule 4)

    # -- reading ---------------------------------------------------------
    def replay(self) -> Iterator[LeaseRecord]:
        """Yield every intact record in file order (later records win).

        A last line without its newline is a write torn by a crash: skipped with
        a warning. A complete but malformed line is also skipped with a warning
        (bad input loses nothing else).
        """
        self.skipped = 0
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
                self.skipped += 1
                continue
            if text == HEADER or text == "":
                continue
            try:
                yield LeaseRecord.from_line(text)
            except ValueError as exc:
                log.warning("%s:%d: malformed lease line skipped (%s)", self.path, number, exc)
                self.skipped += 1
        if torn:
            log.warning(
                "%s: last line is incomplete (%d bytes, a write cut short by a crash); ignored",
                self.path,
                len(torn),
            )

    # -- writing ---------------------------------------------------------
    def append(self, record: LeaseRecord) -> None:
        """Write one record durably: write, fsync - then return. On failure the file is as before, and it raises."""
        if self._fd is None:
            self._open()
        data = record.to_line().encode("utf-8")
        if self._end == 0:
            data = (HEADER + "\n").encode("utf-8") + data
        good = self._end
        try:
            self._write_all(data)
            if self.fsync:
                os.fsync(self._fd)
        except OSError:
            self._cut_back(good)  # rule 1: a refused lease leaves no bytes to reach the disk later
            raise
        self._end = good + len(data)
        self.records_written += 1

    def _open(self) -> None:
        # O_APPEND: every write lands at the end, so the file's length is where the next record starts.
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        self._end = os.fstat(self._fd).st_size
        if self._end and os.pread(self._fd, 1, self._end - 1) != b"\n":
            # The file ends in a torn line (rule 2) that no compaction removed: end it, so the
            # next record is a line of its own and the torn one stays a malformed line, skipped.
            self._write_all(b"\n")
            self._end += 1

    def _write_all(self, data: bytes) -> None:
        # os.write may take only part (the last page of a nearly full disk); write the rest, or raise.
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            if written <= 0:  # pragma: no cover - a regular file raises ENOSPC rather than take nothing
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self.path)
            view = view[written:]

    def _cut_back(self, length: int) -> None:
        """Truncate to ``length``, dropping the part of a record that did get written (needs no free space)."""
        try:
            os.ftruncate(self._fd, length)
            if self.fsync:
                os.fsync(self._fd)
        except OSError as exc:  # pragma: no cover - truncation frees space; it fails only on a dying disk
            log.error("%s: could not cut a failed append back to %d bytes (%s)", self.path, length, exc)
            self.close()  # reopening ends the torn line first (see _open)

    def rewrite(self, records: Iterable[LeaseRecord]) -> bool:
        """Compaction: replace the file with exactly ``records``, atomically.

        False (with a warning) if the new file could not be written: the old one stays, complete, in use.
        If the last replay skipped lines, the old file is kept under another name first (rule 4).
        """
        self.close()
        if self.skipped and not self._keep_original():
            return False  # no copy, no compaction: the unreadable lines stay where they are
        tmp = self.path + ".tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(HEADER + "\n")
                for record in records:
                    fh.write(record.to_line())
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.path)  # atomic on POSIX: old file or new file, never half
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # give back the space it took
            log.warning("%s: compaction failed (%s); the old file stays in use", self.path, exc)
            return False
        if self.fsync:
            self._fsync_directory()
        self.records_written = 0
        return True

    def _keep_original(self) -> bool:
        """Keep the file as it is now as ``NAME.bad-TIMESTAMP`` (rule 4); False if that failed."""
        try:
            stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(os.stat(self.path).st_mtime))
            kept = f"{self.path}.bad-{stamp}"
            number = 0
            while os.path.lexists(kept):
                number += 1
                kept = f"{self.path}.bad-{stamp}-{number}"
            try:
                os.link(self.path, kept)  # a second name for the same bytes: no copy, no space needed
            except OSError:
                shutil.copy2(self.path, kept)  # a filesystem without hard links
        except OSError as exc:
            log.warning("%s: %d unreadable lines, and no copy could be kept (%s)", self.path, self.skipped, exc)
            return False
        log.warning("%s: %d unreadable lines; the original is kept as %s", self.path, self.skipped, kept)
        self.skipped = 0
        return True

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
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
