"""Run one submission's cells in a sandbox made by bubblewrap, and read back what they did.

Why bubblewrap (Debian's ``bubblewrap``, the sandbox Flatpak uses): it builds a
process a fresh view of the machine out of Linux namespaces, needs no daemon
and no root of its own, and is small enough to audit. What the sandbox gives a
submission, and why:

- **its own user** (an unprivileged uid of its own when the grader is root,
  so two submissions graded at once cannot signal or count against each other)
  inside new **mount, PID, IPC, UTS, cgroup and network namespaces** (and a user
  namespace when the grader is not root): no network
  but a loopback of its own, no other process to see (so no grader command
  line in ``/proc``), and every process of the submission dies with it, a
  double-forked one too (the PID namespace ends when its first process does);
- a **read-only system** (``/usr``, the Python installation, the ``refimpl``
  package only: never the course repository, so no ``solutions/`` folder, no
  assignment, no other submission, no teacher's file) and a private ``/tmp``
  of limited size for everything it writes, gone when it ends;
- a fixed **environment allow-list** (the teacher's variables never reach it);
- **limits**: address space, CPU seconds, processes, file size, open files;
  a time limit per cell and for the whole run, and a cap on what it may write
  back; where the grader is root, a **cgroup per run** that limits the memory
  of all its processes together and gives them one CPU share, so that no
  submission can starve or crowd out the one graded beside it.

What it cannot stop: the student's code shares the runner's process, so it can
make a check *answer* anything (and forge records on the runner's pipe: they
are parsed as untrusted input, ``parse_record``). That is why no expected
output ever enters, and why a public check's points wait for hidden checks.

The runner inside (:mod:`refimpl.grading.runner`) gets the cells to run, never
the expected outputs; the grader compares outside. Where bubblewrap cannot
make a sandbox (no ``bwrap``, or user namespaces switched off), ``unavailable()``
says why and the grader refuses unless the teacher passes ``--no-sandbox``.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MiB = 1024 * 1024
SANDBOX_TMP = "/tmp"
WORKDIR = "/tmp/work"
HOME = "/tmp/home"
#: Variables a submission sees. Nothing else of the grader's environment passes.
FIXED_ENV = {
    "HOME": HOME,
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TERM": "dumb",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": f"{HOME}/.matplotlib",
    "IPYTHONDIR": f"{HOME}/.ipython",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "MALLOC_ARENA_MAX": "2",  # keeps virtual memory (RLIMIT_AS) honest
    "COURSE_GRADING": "1",  # a self-check cell in a submission does nothing while it is graded
}
#: Hardware work-arounds some machines need for numpy's OpenBLAS; not secrets.
PASSED_THROUGH = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
UID_BASE = 200_000  # unprivileged uids the grader (as root) runs submissions as; no account owns them
SLOTS = 256  # submissions one grader runs at once, each under a uid of its own


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 30.0  # seconds per cell
    run_timeout: float | None = None  # seconds for the whole notebook; None: as long as 20 cells at their limit
    memory_mb: int = 2048  # address space per process, and all processes together (where cgroups can be made)
    processes: int = 64  # processes and threads of the submission's user
    file_mb: int = 64  # largest file it may write
    tmp_mb: int = 256  # all it may write, in its private /tmp
    output_mb: int = 8  # all it may send back to the grader
    open_files: int = 256


@dataclass
class RunResult:
    records: list[dict] = field(default_factory=list)  # one per cell that ran, from the runner
    status: str = "ok"  # ok | timeout | died | too much output
    detail: str = ""  # what went wrong, in words for the feedback
    seconds: float = 0.0
    sandboxed: bool = True


def _python_paths() -> list[str]:
    """The Python installation and the refimpl package: what the runner needs to import."""
    import refimpl

    paths = {
        os.path.realpath(sys.base_prefix),
        os.path.realpath(sys.prefix),
        str(Path(refimpl.__file__).resolve().parent),
    }
    keep = []
    for path in sorted(paths):
        if path.startswith("/usr/") or any(path.startswith(other + "/") for other in paths if other != path):
            continue
        keep.append(path)
    return keep


def _bwrap_args(limits: Limits) -> list[str]:
    """bubblewrap's command line.

    As an ordinary user, bubblewrap makes a user namespace first (that is what
    lets it make the others). As root it makes the other namespaces directly
    and the submission then drops to an unprivileged uid of its own inside
    (``_as_user``): its processes count against that uid's process limit, and
    the Python installation may live where only root can reach (``/root``).
    """
    if os.geteuid() == 0:
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    else:
        namespaces = ["--unshare-all"]
    args = [
        "bwrap",
        *namespaces,
        "--die-with-parent",
        "--new-session",
        "--hostname",
        "sandbox",
        "--ro-bind",
        "/usr",
        "/usr",
    ]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for etc in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/alternatives",
        "/etc/localtime",
        "/etc/fonts",
    ):
        args += ["--ro-bind-try", etc, etc]
    # The private /tmp first, then the Python binds: a course checked out under /tmp (CI's clone) must
    # be bound on top of the fresh tmpfs, not hidden under it.
    args += [
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--perms",
        "1777",
        "--size",
        str(limits.tmp_mb * MiB),
        "--tmpfs",
        SANDBOX_TMP,
        "--perms",
        "0777",
        "--dir",
        WORKDIR,
        "--perms",
        "0777",
        "--dir",
        HOME,
    ]
    made = {Path(SANDBOX_TMP)}  # already there, world-writable: never chmod it to 0755
    for path in _python_paths():
        # bubblewrap would make the missing parents (say /root) readable by their owner only: make them 0755.
        for parent in reversed(Path(path).parents):
            if str(parent) != "/" and parent not in made:
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", path, path]
    args += ["--chdir", WORKDIR, "--clearenv"]
    for key, value in environment().items():
        args += ["--setenv", key, value]
    return args + ["--"]


def environment() -> dict[str, str]:
    env = dict(FIXED_ENV)
    env["PATH"] = f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin"
    env.update({key: os.environ[key] for key in PASSED_THROUGH if key in os.environ})
    return env


def uid_for(slot: int) -> int:
    """The unprivileged uid a grader running as root gives the submission graded in ``slot``.

    Built from the grader's pid, so that two graders running at once never share one, and one
    per slot, so that submissions graded at the same time never do: processes of one uid share
    a process limit, and a fork bomb must not take a neighbour's.
    """
    if not 0 <= slot < SLOTS:
        raise ValueError(f"slot {slot}: a grader runs at most {SLOTS} submissions at once")
    return UID_BASE + os.getpid() * SLOTS + slot


def _as_user(slot: int) -> list[str]:
    """As root, inside the sandbox: become a uid of this submission's own, no groups, no capabilities, for good."""
    if os.geteuid() != 0:
        return []
    uid = uid_for(slot)
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--no-new-privs",
        "--",
    ]


def _processes_of(uid: int) -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            for line in status.read_text().splitlines():
                if line.startswith("Uid:"):
                    count += int(line.split()[1]) == uid
                    break
        except (OSError, ValueError, IndexError):
            continue
    return count


def _limit_setter(limits: Limits, cpu_seconds: int, own_user: bool, cgroups: list[Path]):
    # Counted before the fork: a grader running as an ordinary user shares the process limit with itself.
    processes = limits.processes if own_user else _processes_of(os.getuid()) + limits.processes

    def apply():
        for group in cgroups:  # first, so that everything bwrap starts is counted there
            (group / "cgroup.procs").write_text(str(os.getpid()))
        for limit, value in (
            (resource.RLIMIT_AS, limits.memory_mb * MiB),
            (resource.RLIMIT_CPU, cpu_seconds),
            (resource.RLIMIT_FSIZE, limits.file_mb * MiB),
            (resource.RLIMIT_NPROC, processes),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0),
        ):
            try:
                soft, hard = resource.getrlimit(limit)
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(limit, (value, hard))
            except (ValueError, OSError):
                pass

    return apply


# --------------------------------------------------------------------------- one cgroup per run
#
# The rlimits above are per process: 64 processes may each hold ``memory_mb``, and
# processes that each start a session of their own get a CPU share each, so one
# submission could exhaust the machine's memory (the kernel then kills at random,
# a neighbour's runner or the grader too) or slow a neighbour's cells past their
# time limit. A cgroup counts all the processes of a run together: at most
# ``memory_mb + tmp_mb`` of memory (the private /tmp lives in memory) and one CPU
# share, whatever it forks. Made where the grader is root and the kernel offers the
# controllers (cgroup v2, or v1 as older systems mount it); elsewhere only the
# per-process limits hold (``cgroups_unavailable`` says why).

CGROUP_ROOT = Path("/sys/fs/cgroup")
_runs = itertools.count()


def _cgroup_layout(name: str, memory: int) -> list[tuple[Path, dict[str, int]]]:
    """Where the run's cgroups go and what to write in them: one in v2, one per controller in v1."""
    if (CGROUP_ROOT / "cgroup.controllers").exists():
        for controller in ("+memory", "+cpu"):  # for the groups below the root; without memory, none is made
            try:
                (CGROUP_ROOT / "cgroup.subtree_control").write_text(controller)
            except OSError:
                pass
        return [(CGROUP_ROOT / name, {"memory.max": memory, "memory.swap.max": 0})]
    own = {}  # v1: controller -> the grader's own cgroup in that hierarchy; the run's goes below it
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own.update(dict.fromkeys(controllers.split(","), path.lstrip("/")))
    settings = {"memory": {"memory.limit_in_bytes": memory}, "cpu": {}}
    return [(CGROUP_ROOT / c / own[c] / name, settings[c]) for c in settings if c in own]


def make_cgroups(slot: int, limits: Limits) -> list[Path]:
    """New cgroups for one run with its memory limit set, or [] where none can be made."""
    if os.geteuid() != 0 or not CGROUP_ROOT.is_dir():
        return []
    name, memory = f"refimpl-grade-{os.getpid()}-{slot}-{next(_runs)}", (limits.memory_mb + limits.tmp_mb) * MiB
    made = []
    try:
        for group, settings in _cgroup_layout(name, memory):
            group.mkdir()
            made.append(group)
            for setting, value in settings.items():
                if (group / setting).exists():  # memory.swap.max only where there is swap
                    (group / setting).write_text(str(value))
    except (OSError, ValueError):
        return remove_cgroups(made)
    limited = any((group / "memory.max").exists() or (group / "memory.limit_in_bytes").exists() for group in made)
    return made if limited else remove_cgroups(made)


def remove_cgroups(groups: list[Path]) -> list[Path]:
    """Kill what is left in the run's cgroups (nothing, once bwrap's PID namespace is gone), then remove them."""
    for group in groups:
        for _ in range(100):
            procs = group / "cgroup.procs"
            try:
                for pid in procs.read_text().split() if procs.exists() else []:
                    os.kill(int(pid), signal.SIGKILL)
                group.rmdir()
                break
            except FileNotFoundError:
                break
            except ProcessLookupError:
                continue
            except OSError:  # busy: its last processes are still exiting
                time.sleep(0.02)
    return []


@functools.cache
def cgroups_unavailable() -> str | None:
    """Why a run's processes cannot be limited together here, or None when they can."""
    if os.geteuid() != 0:
        return "the grader is not root, so it cannot make cgroups: memory and CPU are limited per process only"
    groups = make_cgroups(0, Limits())
    remove_cgroups(groups)
    why = f"no writable memory cgroup under {CGROUP_ROOT}: memory and CPU are limited per process only"
    return None if groups else why


@functools.cache
def unavailable() -> str | None:
    """Why no sandbox can be made here, or None when one can."""
    if not sys.platform.startswith("linux"):
        return "the sandbox needs Linux namespaces"
    if not shutil.which("bwrap"):
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    if os.geteuid() == 0 and not shutil.which("setpriv"):
        return "setpriv (util-linux) is not installed"
    cmd = [*_bwrap_args(Limits()), *_as_user(0), sys.executable, "-I", "-c", "import refimpl.grading.runner"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start: {exc}"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()
        return "bubblewrap could not make a sandbox: " + (why[-1] if why else f"exit code {done.returncode}")
    return None


def _drain(stream, keep: bytearray, cap: int) -> None:
    for chunk in iter(lambda: stream.read(4096), b""):
        if len(keep) < cap:
            keep.extend(chunk[: cap - len(keep)])


def run(job: dict, limits: Limits = Limits(), *, sandbox: bool = True, slot: int = 0) -> RunResult:
    """Run ``job`` (cells, in order) in a fresh sandbox; return the runner's records, read as untrusted data."""
    # The student decides how many cells there are, so the whole run has a limit of its own.
    run_timeout = limits.run_timeout if limits.run_timeout is not None else 60 + 20 * limits.cell_timeout
    wall = min(20 + limits.cell_timeout * (len(job["cells"]) + 1), run_timeout)
    job = {**job, "cell_timeout": limits.cell_timeout, "workdir": WORKDIR if sandbox else None}
    runner = [sys.executable, "-I", "-m", "refimpl.grading.runner"]
    if sandbox:
        cmd, env, cwd = [*_bwrap_args(limits), *_as_user(slot), *runner], {}, None
    else:
        cwd = Path(__import__("tempfile").mkdtemp(prefix="grade-unsandboxed-"))
        env = {**environment(), "HOME": str(cwd), "MPLCONFIGDIR": str(cwd / ".mpl"), "IPYTHONDIR": str(cwd / ".ip")}
        job["workdir"] = str(cwd)
    result = RunResult(sandboxed=sandbox)
    started = time.monotonic()
    cgroups = make_cgroups(slot, limits) if sandbox else []
    try:
        limit = _limit_setter(limits, int(wall) + 10, sandbox and os.geteuid() == 0, cgroups)
        proc = subprocess.Popen(
            cmd if sandbox else runner,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=limit,
        )
    except BaseException:
        remove_cgroups(cgroups)
        raise
    errors = bytearray()
    drain = threading.Thread(target=_drain, args=(proc.stderr, errors, 64 * 1024), daemon=True)
    drain.start()
    try:
        try:
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass
        _read_records(proc, result, limits, started, wall)
    finally:
        _stop(proc)
        remove_cgroups(cgroups)
        drain.join(timeout=5)
        if not sandbox:
            shutil.rmtree(cwd, ignore_errors=True)
    result.seconds = time.monotonic() - started
    if result.status == "died":
        tail = errors.decode(errors="replace").strip()
        if tail and not result.records:
            result.detail += f" ({tail.splitlines()[-1][:300]})"
    return result


def _read_records(proc, result: RunResult, limits: Limits, started: float, wall: float) -> None:
    """Read JSON lines until the runner says done, dies, floods, or runs out of time."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer, received = b"", 0
    last = time.monotonic()
    per_cell = limits.cell_timeout + 10  # the runner's own alarm fires at cell_timeout; this is the backstop
    while True:
        now = time.monotonic()
        if now - started > wall or now - last > per_cell:
            result.status = "timeout"
            result.detail = (
                f"a cell ran past the {limits.cell_timeout:g} s limit and ignored the interrupt"
                if now - last > per_cell
                else f"the whole run took longer than {wall:g} s"
            )
            return
        if not selector.select(timeout=0.5):
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            result.status = "died"
            result.detail = "the Python process running the notebook died (a crash, os._exit, or too much memory)"
            return
        received += len(chunk)
        if received > limits.output_mb * MiB:
            result.status = "too much output"
            result.detail = f"the notebook wrote more than {limits.output_mb} MiB back to the grader"
            return
        buffer += chunk
        *lines, buffer = buffer.split(b"\n")
        for line in lines:
            record = parse_record(line)
            if record is None:
                continue
            if record.get("done") is True:
                return
            result.records.append(record)
            last = time.monotonic()


#: What a runner's record may hold, and of which type (see ``runner.run_job``).
RECORD_FIELDS = {
    "cell": str,
    "status": str,
    "stdout": str,
    "stderr": str,
    "answer": str,
    "seconds": (int, float),
    "error": dict,
}
ERROR_FIELDS = {"ename": str, "evalue": str, "frames": list}
FRAME_FIELDS = {"cell": str, "line": int, "text": str, "function": str}


def _typed(raw: dict, fields: dict) -> dict:
    return {key: value for key, value in raw.items() if key in fields and isinstance(value, fields[key])}


def parse_record(line: bytes) -> dict | None:
    """One line from the sandbox as a record of known fields of the right types, or None.

    The line may be anything: the student's code can write to the runner's
    pipe (it shares the runner's process), so a record is checked like any
    input from outside: not JSON, nested too deep to parse, not UTF-8, without
    a cell name: skipped; a field of the wrong type: dropped. The grader's
    comparison then never meets a shape it does not expect.
    """
    try:
        raw = json.loads(line)
    except (ValueError, RecursionError):  # ValueError covers bad JSON and bad UTF-8
        return None
    if not isinstance(raw, dict):
        return None
    if raw.get("done") is True:
        return {"done": True}
    if not isinstance(raw.get("cell"), str):
        return None
    record = _typed(raw, RECORD_FIELDS)
    if "error" in record:
        error = _typed(record["error"], ERROR_FIELDS)
        error["frames"] = [_typed(f, FRAME_FIELDS) for f in error.get("frames", []) if isinstance(f, dict)]
        record["error"] = error
    return record


def _stop(proc: subprocess.Popen) -> None:
    """End the run. In the sandbox, killing bwrap ends its PID namespace and so every process in it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:
        pass
    for stream in (proc.stdout, proc.stdin):
        try:
            stream.close()
        except (OSError, ValueError):
            pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
