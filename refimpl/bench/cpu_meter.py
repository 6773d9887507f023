"""How much CPU a server used, its children included: the bench's "server CPU per block".

A process's ``utime`` and ``stime`` (``/proc/PID/stat``, fields 14 and 15) count
its own threads; ``cutime`` and ``cstime`` add the children it has reaped. A
child still running (tftpd-hpa forks one per transfer) is in neither, so a
reading adds the live children's own times too, found through
``/proc/PID/task/PID/children``. A child that ended between two readings is
counted once its parent has reaped it; :class:`CpuMeter` samples in a thread
and keeps the largest total it saw, so a child that had not been reaped yet
when the measurement ended is still counted up to its last sample.

Linux only (``/proc``); :func:`available` says whether it can work here.
"""

from __future__ import annotations

import os
import threading

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # clock ticks per second
SAMPLE = 0.01  # seconds between two samples while a measurement runs


def available() -> bool:
    return os.path.exists(f"/proc/{os.getpid()}/stat")


def _ticks(pid: int) -> tuple[int, int]:
    """(own user+system ticks, reaped children's ticks) of ``pid``; (0, 0) once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()  # the name, in brackets, may hold spaces
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0, 0
    # fields[0] is the state (field 3), so utime (field 14) is fields[11]
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            return [int(child) for child in children.read().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


def _total_ticks(pid: int, depth: int) -> int:
    own, reaped = _ticks(pid)
    running = sum(_total_ticks(child, depth - 1) for child in _children(pid)) if depth else 0
    return own + reaped + running


def cpu_seconds(pid: int, depth: int = 3) -> float:
    """CPU seconds used so far by ``pid``, its reaped children and its running descendants."""
    return _total_ticks(pid, depth) / TICKS


class CpuMeter:
    """``with CpuMeter(pid) as meter: ...`` then ``meter.seconds``: CPU used meanwhile."""

    def __init__(self, pid: int):
        self.pid = pid
        self.seconds = 0.0
        self._stop = threading.Event()
        self._start = 0.0
        self._most = 0.0
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        self._most = max(self._most, cpu_seconds(self.pid))

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE):
            self._sample()

    def __enter__(self) -> CpuMeter:
        self._start = self._most = cpu_seconds(self.pid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.seconds = self._most - self._start
