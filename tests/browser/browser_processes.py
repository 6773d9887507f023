"""Which Chromium processes this test run started, and whether they are still alive.

The browser fixture's teardown asserts that ``browser.close()`` left no Chromium
behind (a stray renderer would keep a CI machine busy and hold its profile
folder). Processes are told apart by ancestry (descendants of this pytest
process: playwright's driver, then Chromium and its helpers) and by start time,
so a pid the kernel later reuses is not mistaken for ours, and another
engineer's browser on the same machine is never touched.
"""

from __future__ import annotations

import os
from pathlib import Path

# Debian's Chromium (the wrapper script; it execs /usr/lib/chromium/chromium)
CHROMIUM = os.environ.get("COURSE_CHROMIUM", "/usr/bin/chromium")


def _parents() -> dict[int, int]:
    """Every live process's parent, from /proc."""
    parents = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            parents[int(proc.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return parents


def _start_time(pid: int) -> str | None:
    """A live process's start time (field 22 of /proc/PID/stat; a pid reused later has another).

    None when the process is gone or a zombie (it has exited; only its parent has not reaped it yet).
    """
    try:
        fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] == "Z" else fields[19]


def our_chromium() -> dict[int, str]:
    """Chromium processes started by this test run (descendants of pytest), with their start times."""
    parents, ours, mine = _parents(), {}, {os.getpid()}
    changed = True
    while changed:  # the descendants of pytest: playwright's driver, Chromium and its helpers
        changed = False
        for pid, parent in parents.items():
            if parent in mine and pid not in mine:
                mine.add(pid)
                changed = True
    for pid in mine - {os.getpid()}:
        try:
            exe = os.readlink(f"/proc/{pid}/exe")
        except OSError:
            continue
        if "chromium" in Path(exe).name:
            ours[pid] = _start_time(pid) or ""
    return ours


def still_running(processes: dict[int, str]) -> list[int]:
    """The pids of ``processes`` (pid: start time) that still run as the same process."""
    return [pid for pid, started in processes.items() if _start_time(pid) == started]
