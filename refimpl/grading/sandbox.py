"""Run one graded notebook under pytest + nbval in a subprocess, with limits.

Limits, and why each is there:

- **time**: nbval's ``--nbval-cell-timeout`` interrupts a cell that runs too
  long; a wall-clock timeout on the whole subprocess catches a kernel that
  ignores the interrupt. The process group is killed, kernel included.
- **memory**: ``RLIMIT_AS`` on the subprocess (inherited by the kernel), so a
  runaway allocation ends in ``MemoryError`` or a dead kernel, not a dead
  machine. Linux/macOS only; elsewhere there is no memory limit.
- **output files**: ``RLIMIT_FSIZE`` stops a student cell from filling the disk.
- **network**: when the grader may create a network namespace (root, or
  unprivileged user namespaces), pytest and the kernel run in a fresh one with
  only a loopback interface: nothing student code does can undo that. Otherwise
  the guard patches ``socket`` to refuse non-loopback addresses, which is only
  a speed bump. ``network_mode()`` says which applies.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.grading import nbplugin, notebook

MiB = 1024 * 1024


@dataclass
class RunResult:
    cells: list[dict] = field(default_factory=list)  # records written by nbplugin
    status: str = "ok"  # ok | timeout | crashed
    detail: str = ""    # what went wrong, for the feedback
    seconds: float = 0.0


@functools.lru_cache(maxsize=None)
def network_mode() -> str:
    """'namespace' when an empty network namespace can be used, else 'socket-guard'."""
    if not sys.platform.startswith("linux") or not shutil.which("unshare") or not shutil.which("ip"):
        return "socket-guard"
    for prefix in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            done = subprocess.run([*prefix, "--", "ip", "link", "set", "lo", "up"],
                                  capture_output=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            return "namespace" if prefix == ["unshare", "-n"] else "user-namespace"
    return "socket-guard"


def _wrap_network(cmd: list[str]) -> list[str]:
    mode = network_mode()
    if mode == "socket-guard":
        return cmd
    prefix = ["unshare", "-n"] if mode == "namespace" else ["unshare", "-rn"]
    # Inside the new namespace only loopback exists, and it starts down; nbval
    # talks to the kernel over 127.0.0.1, so bring it up first.
    return [*prefix, "--", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *cmd]


def _limits(memory_mb: int, cpu_seconds: int):
    def apply():
        try:
            import resource
        except ImportError:  # not on this OS
            return
        for limit, value in (
            (resource.RLIMIT_AS, memory_mb * MiB),
            (resource.RLIMIT_CPU, cpu_seconds),
            (resource.RLIMIT_FSIZE, 256 * MiB),
        ):
            try:
                soft, hard = resource.getrlimit(limit)
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(limit, (value, hard))
            except (ValueError, OSError):
                pass
    return apply


def run(nb, guard_config: dict, *, workdir: Path, cell_timeout: float = 30, memory_mb: int = 2048,
        python: str = sys.executable) -> RunResult:
    """Execute ``nb`` under nbval inside ``workdir`` and collect per-cell results."""
    import time

    workdir.mkdir(parents=True, exist_ok=True)
    config_path = Path(guard_config.pop("_path"))
    config_path.write_text(json.dumps(guard_config), encoding="utf-8")
    nb_path = workdir / "graded.ipynb"
    notebook.write(nb, nb_path)
    results = workdir / "results.jsonl"
    (workdir / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")

    code_cells = sum(1 for c in nb.cells if c.cell_type == "code")
    wall = 60 + cell_timeout * (code_cells + 2)
    cmd = _wrap_network([
        python, "-m", "refimpl.grading.runpytest", "-q", "--color=no", "-p", "no:cacheprovider", "-p", "no:randomly",
        "-p", nbplugin.__name__, "-c", str(workdir / "pytest.ini"), "--rootdir", str(workdir),
        "--nbval", "--nbval-current-env", f"--nbval-cell-timeout={cell_timeout:g}",
        "--nbval-kernel-startup-timeout=60", str(nb_path),
    ])
    env = dict(os.environ)
    env.update({
        nbplugin.RESULTS_ENV: str(results),
        "IPYTHONDIR": str(workdir / "ipython"),       # fresh profile: no startup files, private history
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
        "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MALLOC_ARENA_MAX": "2",                        # keeps virtual memory (RLIMIT_AS) honest
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    })
    env.pop("PYTEST_ADDOPTS", None)
    started = time.monotonic()
    result = RunResult()
    with open(workdir / "pytest.log", "wb") as log:
        proc = subprocess.Popen(
            cmd, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=_limits(memory_mb, int(wall) + 30),
        )
        try:
            proc.wait(timeout=wall)
        except subprocess.TimeoutExpired:
            result.status = "timeout"
            result.detail = f"the whole run took longer than {wall:g} s and was stopped"
        finally:
            _kill_group(proc)
    result.seconds = time.monotonic() - started
    if results.exists():
        for line in results.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("event") == "cell":
                result.cells.append(record)
    if result.status == "ok" and proc.returncode not in (0, 1):
        result.status = "crashed"
        tail = (workdir / "pytest.log").read_text(errors="replace")[-1500:]
        result.detail = f"the test run ended with code {proc.returncode}:\n{tail}"
    if config_path.exists():  # the guard never ran; do not leave the key lying around
        config_path.unlink()
    return result


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = entry.read_text()
            ppid = int(text.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_group(proc: subprocess.Popen) -> None:
    """Stop pytest, the kernel and anything the student started.

    jupyter_client starts the kernel in a session of its own, so killing
    pytest's process group is not enough: every process group found below
    pytest goes too.
    """
    groups = {proc.pid}
    for pid in _descendants(proc.pid):
        try:
            groups.add(os.getpgid(pid))
        except ProcessLookupError:
            pass
    groups.discard(os.getpgrp())  # never the grader itself
    for group in groups:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def temporary_workdir(prefix: str = "grade-") -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))
