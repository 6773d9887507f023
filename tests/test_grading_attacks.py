"""The grader attacked as a dishonest student would: every attack kept as a test.

Two targets. A small assignment built here, `double(x)`, whose task has a public
check (`print(double(2))`, its answer `4` in the released exercise) and a hidden
one (`print(double(1234567891))`, never released): every in-process attack on
it must score 0 on the task while the honest solution scores full. And the real
`solutions/01_dhcp_message.ipynb` (public checks only): the escapes from the
sandbox (reading the assignment, the repository, the environment, another
submission; the network; processes that outlive their run) must find nothing,
and the same escape run with ``--no-sandbox`` shows that the attack is real.

What the in-process attacks teach: the runner shares its process with the
student's code, so a student *can* make a check answer what they like (patch
`run_check`, write into the answer buffer from a frame, a thread, a trace or
audit hook, forge records on the runner's pipe). That earns nothing because the
expected outputs never enter the sandbox: a public check's answer is public, so
its points wait for the task's hidden checks, and a hidden check's answer is
nowhere to be found (the `oracle_*` attacks look for it everywhere).
"""

from __future__ import annotations

import copy
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import feedback, grade, notebook, sandbox
from refimpl.variant import PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent
DHCP = ROOT / "solutions" / "01_dhcp_message.ipynb"
PYTHON = sys.executable
LIMITS = sandbox.Limits(cell_timeout=3)  # the attacks that hang run into this on purpose
HIDDEN_ANSWER = "2469135782"  # double(1234567891): what no attack may find

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        sandbox.unavailable() is not None, reason=f"no bubblewrap sandbox here: {sandbox.unavailable()}"
    ),
]


# --------------------------------------------------------------------------- the assignment `double`


def _code(source: str, cell_id: str, course: dict | None = None, output: str | None = None):
    cell = nbformat.v4.new_code_cell(source)
    cell.id = cell_id
    if course:
        cell.metadata["course"] = course
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
    return cell


def double_assignment():
    """One task, two checks: the public one's answer ships with the exercise, the hidden one's never does."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Double\nWrite `double(x)`."),
        _code("def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "solve"),
        _code("print(double(2))", "check-public", {"check": "double-public", "points": 1, "task": "double"}, "4\n"),
        _code(
            "print(double(1234567891))",
            "check-hidden",
            {"check": "double-hidden", "points": 2, "task": "double", "hidden": True, "covers": "a large number"},
            HIDDEN_ANSWER + "\n",
        ),
    ]
    return nb


def submission(stub: str | None = None, before: str = "", after: str = ""):
    """The released exercise with the student's `double` (``stub``) and extra cells before and after it."""
    nb = notebook.exercise_from(double_assignment())
    cells = []
    for cell in nb.cells:
        if cell.get("id") == "solve":
            if before:
                cells.append(_code(before, "mine-before"))
            if stub is not None:
                cell.source = stub
            cells.append(cell)
            if after:
                cells.append(_code(after, "mine-after"))
        else:
            cells.append(cell)
    nb.cells = cells
    return nb


#: Shared by the attacks: the public answer (from the exercise), a value that prints as nothing,
#: and the grader's answer buffers, found in the frames running now (the runner names them `answer`).
KIT = """
import sys
GUESS = "4\\n"

class Silent:
    def __str__(self):
        return ""
    __repr__ = __str__

def grader_answers():
    found = []
    for frame in list(sys._current_frames().values()):
        while frame is not None:
            value = frame.f_locals.get("answer")
            if hasattr(value, "write") and all(value is not f for f in found):
                found.append(value)
            frame = frame.f_back
    return found

def take(answer):
    if not answer.getvalue():
        answer.write(GUESS)
"""
SILENT = "def double(x):\n    return Silent()"

#: The runner's pipe: the one writable pipe among the open file descriptors.
RECORD_FD = """
import fcntl, gc, json, os

def record_fd():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
            writable = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY
        except OSError:
            continue
        if fd > 2 and target.startswith("pipe:") and writable:
            return fd
    raise RuntimeError("no record pipe")

def the_job():
    return next(o for o in gc.get_objects() if isinstance(o, dict) and isinstance(o.get("cells"), list)
                and o["cells"] and isinstance(o["cells"][0], dict) and "kind" in o["cells"][0])

def forge(record):
    os.write(record_fd(), (json.dumps(record) + "\\n").encode())
"""

#: How a dishonest student tries to make the checks answer "4" (or what they find). name -> (stub, before, after)
ATTACKS = {
    "printed_public_text": (None, "", "print(4)"),
    "hardcoded_public_answer": ("def double(x):\n    return 4", "", ""),
    "stub_prints_expected": ("def double(x):\n    print(4)\n    return ''", "", ""),
    "answer_via_getframe": (
        """def double(x):
    frame = sys._getframe(1)
    while frame is not None:
        if hasattr(frame.f_locals.get("answer"), "write"):
            frame.f_locals["answer"].write(GUESS)
            break
        frame = frame.f_back
    return Silent()""",
        KIT,
        "",
    ),
    "answer_via_thread": (
        "def double(x):\n    import time\n    time.sleep(0.3)\n    return Silent()",
        KIT,
        """
import threading, time
def scribble():
    done = []
    while True:
        for answer in grader_answers():
            if all(answer is not d for d in done):
                done.append(answer)
                answer.write(GUESS)
        time.sleep(0.005)
threading.Thread(target=scribble, daemon=True).start()""",
    ),
    "replaced_builtins_print": (
        SILENT,
        KIT,
        """
import builtins
real_print = builtins.print
def fake_print(*args, file=None, **kwargs):
    if file is not None and type(file).__name__ == "_Capture":
        return real_print(GUESS, end="", file=file)
    return real_print(*args, file=file, **kwargs)
builtins.print = fake_print""",
    ),
    "replaced_sys_stdout": (
        SILENT,
        KIT,
        """
import io
class Loud(io.StringIO):
    def write(self, text):
        return super().write(GUESS)
sys.stdout = sys.__stdout__ = Loud()
sys.displayhook = lambda value: sys.stdout.write(GUESS)""",
    ),
    "input_transformer": (
        SILENT,
        KIT,
        """
def rewrite(lines):
    return [f"print({GUESS!r}, end='')\\n"] if any("double(" in line for line in lines) else lines
get_ipython().input_transformers_cleanup.append(rewrite)
get_ipython().input_transformers_post.append(rewrite)""",
    ),
    "pre_run_cell_hook": (
        SILENT,
        KIT,
        """
def hook(*args):
    for answer in grader_answers():
        answer.write(GUESS)
get_ipython().events.register("pre_run_cell", hook)
get_ipython().events.register("post_run_cell", hook)""",
    ),
    "replaced_compile": (
        SILENT,
        KIT,
        """
import builtins
real_compile = builtins.compile
def fake_compile(source, filename, mode, *args, **kwargs):
    if str(filename).startswith("<cell") and mode == "exec" and not isinstance(source, str):
        source = f"print({GUESS!r}, end='')"
    return real_compile(source, filename, mode, *args, **kwargs)
builtins.compile = fake_compile""",
    ),
    "replaced_ast_parse": (
        SILENT,
        KIT,
        """
import ast
real_parse = ast.parse
def fake_parse(source, filename="<unknown>", *args, **kwargs):
    if str(filename).startswith("<cell"):
        source = f"print({GUESS!r}, end='')"
    return real_parse(source, filename, *args, **kwargs)
ast.parse = fake_parse""",
    ),
    "gc_patch_run_check": (
        SILENT,
        KIT,
        """
import gc, types
def fake(shell, source, filename, answer):
    answer.write(GUESS)
for obj in gc.get_objects():
    if isinstance(obj, types.FunctionType) and obj.__name__ == "run_check":
        obj.__code__ = fake.__code__
        obj.__globals__["run_check"] = fake""",
    ),
    "gc_patch_answer_capture": (
        SILENT,
        KIT,
        """
import gc
for obj in gc.get_objects():
    if isinstance(obj, type) and obj.__name__ == "_Capture":
        obj.getvalue = lambda self: GUESS""",
    ),
    "gc_patch_record_writer": (
        SILENT,
        KIT,
        """
import gc, io, json
for obj in gc.get_objects():
    try:
        mine = isinstance(obj, io.TextIOWrapper) and obj.writable() and obj.fileno() > 2
    except (ValueError, OSError):
        continue
    if mine:
        def write(text, real_write=obj.write):
            try:
                record = json.loads(text)
                if "answer" in record:
                    record.update(status="ok", answer=GUESS)
                text = json.dumps(record) + "\\n"
            except ValueError:
                pass
            return real_write(text)
        obj.write = write""",
    ),
    "forged_records_on_the_pipe": (
        SILENT,
        KIT + RECORD_FD,
        """
for cell in the_job()["cells"]:
    if cell["kind"] == "check":
        forge({"cell": cell["id"], "status": "ok", "answer": GUESS, "stdout": ""})""",
    ),
    "forged_done": (
        SILENT,
        KIT + RECORD_FD,
        """
for cell in the_job()["cells"]:
    if cell["kind"] == "check":
        forge({"cell": cell["id"], "status": "ok", "answer": GUESS, "stdout": ""})
forge({"done": True})""",
    ),
    "forged_done_alone": (None, KIT + RECORD_FD, 'forge({"done": True})'),
    "malformed_records": (
        SILENT,
        KIT + RECORD_FD,
        """
for cell in the_job()["cells"]:
    forge({"cell": cell["id"], "status": "error", "error": "not a dict", "answer": ["4"], "stdout": {"a": 1}})""",
    ),
    "audit_hook": (
        SILENT,
        KIT,
        """
def hook(event, args):
    if event == "exec":
        for answer in grader_answers():
            take(answer)
sys.addaudithook(hook)""",
    ),
    "settrace": (
        SILENT,
        KIT,
        """
import threading
def tracer(frame, event, arg):
    if event == "call" and frame.f_code.co_name == "run_check":
        frame.f_locals["answer"].write(GUESS)
    return None
sys.settrace(tracer)
threading.settrace(tracer)""",
    ),
    "ignores_sigalrm_then_loops_in_the_checks": (
        "def double(x):\n    while True:\n        pass",
        "",
        """
import signal
signal.signal(signal.SIGALRM, signal.SIG_IGN)""",
    ),
    "exec_solution_from_the_job": (
        None,
        KIT + RECORD_FD,
        """
for cell in the_job()["cells"]:
    if "BEGIN SOLUTION" in cell["source"] or "2 * x" in cell["source"]:
        exec(cell["source"], globals())""",
    ),
}

#: Where the hidden answer could hide if the grader leaked it: the runner's memory (read from
#: /proc/self/mem when the hidden check runs), its objects, the files, the environment, other
#: processes. The needle is split so that this source never holds it whole.
ORACLE = '''
import gc, os, sys
HEAD, TAIL = b"24691357", b"82"

def holds(data):
    start = data.find(HEAD)
    while start != -1:
        if data[start + len(HEAD):start + len(HEAD) + len(TAIL)] == TAIL:
            return True
        start = data.find(HEAD, start + 1)
    return False

def in_memory():
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if "r" not in fields[1] or (len(fields) > 5 and not fields[5].startswith("[heap")):
                continue
            low, high = (int(x, 16) for x in fields[0].split("-"))
            for at in range(low, high, 1 << 24):
                try:
                    mem.seek(at)
                    if holds(mem.read(min(1 << 24, high - at))):
                        return f"memory {fields[0]}"
                except (OSError, OverflowError, ValueError):
                    break
    return None

def in_files():
    """Every file but the system and the installed packages (fixed before any grading began)."""
    fixed = ("/proc", "/sys", "/dev", "/usr", sys.base_prefix, *(p for p in sys.path if "-packages" in p))
    for folder, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in fixed]
        for name in files:
            path = os.path.join(folder, name)
            try:
                if os.path.getsize(path) < 4 << 20 and holds(open(path, "rb").read()):
                    return path
            except OSError:
                pass
    for pid in os.listdir("/proc"):
        for what in ("cmdline", "environ"):
            try:
                if pid.isdigit() and holds(open(f"/proc/{pid}/{what}", "rb").read()):
                    return f"/proc/{pid}/{what}"
            except OSError:
                pass
    return None

def found():
    return in_memory() or in_files() or (holds(repr(dict(os.environ)).encode()) and "environment") or None
'''
ATTACKS["oracle_memory_and_files"] = (
    """def double(x):
    where = found()
    if where:
        print("found in", where)  # stray output: shown in the feedback, not part of the answer
        return (HEAD + TAIL).decode()
    return 4""",
    ORACLE,
    "",
)

#: The oracle's control: with the answer planted in the runner's memory, it finds it (so it would find a leak).
CONTROLS = {
    "oracle_finds_a_planted_answer": (
        ATTACKS["oracle_memory_and_files"][0],
        ORACLE,
        'planted = "".join(["2469", "135782"])',
    )
}

#: What an honest student hands in: full marks.
HONEST = {
    "honest": ("def double(x):\n    return 2 * x", "", ""),
    "honest_with_a_debug_print": ("def double(x):\n    print('debug: doubling', x)\n    return x + x", "", ""),
}
#: Junk on the runner's pipe from an otherwise right notebook: skipped, never a crash of the grader.
JUNK = """
for line in [b"[" * 200000, b"\\xff\\xfe\\x00 not utf-8 \\xc3", b'"a string"', b"[1, 2]", b"{}",
             b'{"cell": 5}', b'{"cell": "nope", "status": "ok", "answer": "4"}',
             b'{"cell": "s2", "status": "error", "error": {"frames": [1, {"cell": 3}], "ename": []}}',
             b'{"cell": "s2", "stdout": ["x"], "stderr": 7, "seconds": "slow"}']:  # s2: this very cell
    os.write(record_fd(), line + b"\\n")
"""
HONEST["honest_with_junk_on_the_pipe"] = ("def double(x):\n    return 2 * x", RECORD_FD + JUNK, "")


# --------------------------------------------------------------------------- grading, once


class Recorder:
    """Wraps ``sandbox.run`` to keep each run's raw records, keyed by the submission's first cell."""

    def __init__(self):
        self.runs: dict[str, sandbox.RunResult] = {}
        self.real = sandbox.run

    def __call__(self, job, *args, **kwargs):
        result = self.real(job, *args, **kwargs)
        self.runs[job["cells"][0]["source"]] = result
        return result


def _write(folder: Path, name: str, nb) -> Path:
    path = folder / f"{name}.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return path


def _tag(name: str, nb, *, with_id: bool = True):
    """A copy with a first cell naming the case, so that a run's records can be found again.

    The copy also names a student id of its own (as a student fills in the first cell), so that
    the per-student checks of an honest copy have inputs to be graded on.
    """
    nb = copy.deepcopy(nb)
    if with_id:
        nb = _with_student_id(nb, f"id-{name}")
    nb.cells.insert(0, _code(f"# case: {name}", "tag"))
    return nb


def _with_student_id(nb, student_id: str):
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            cell.source = cell.source.replace(f'student="{PLACEHOLDER}"', f"student={student_id!r}")
    return nb


def full_marks(path: Path = DHCP) -> float:
    """The solution's total points, per-student checks included."""
    return sum(c.points for c in notebook.checks(notebook.read(path)))


def per_student_marks(path: Path = DHCP) -> float:
    return sum(c.points for c in notebook.checks(notebook.read(path)) if c.per_student)


def escape_marks(path: Path = DHCP) -> float:
    """What an escape that runs the solution's cells early earns: the checks before the first per-student task.

    It runs the solution cells in order before the student's own input exists, so the first answer that needs
    it (the first per-student task's) raises NameError, and no solution cell after that one runs: every task
    from there on (per-student or not, such as exercise 01's capture task after it) scores 0.
    """
    checks = notebook.checks(notebook.read(path))
    first_task = next(c.task for c in checks if c.per_student)
    cut = next(i for i, c in enumerate(checks) if c.task == first_task)
    return sum(c.points for c in checks[:cut])


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """{case: (Grade, RunResult)} for every attack and honest case on `double`, two at a time."""
    folder = tmp_path_factory.mktemp("double")
    cases = {**ATTACKS, **HONEST, **CONTROLS}
    paths = [_write(folder, name, _tag(name, submission(*parts))) for name, parts in cases.items()]
    recorder = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox, "run", recorder)
        grades = grade.grade_all(double_assignment(), [str(p) for p in paths], jobs=2, limits=LIMITS, root=folder)
    return {name: (g, recorder.runs.get(f"# case: {name}")) for name, g in zip(cases, grades)}


def _status(g: grade.Grade) -> dict:
    return {c.name: (c.status, c.reason) for c in g.checks} | {"problems": g.problems, "errors": g.student_errors}


@pytest.mark.parametrize("case", list(HONEST))
def test_an_honest_solution_scores_full(batch, case):
    g, _ = batch[case]
    assert g.status == "graded" and g.score == g.max_score == 3, _status(g)


def test_a_debug_print_is_shown_not_counted(batch):
    g, _ = batch["honest_with_a_debug_print"]
    assert all("debug: doubling" in c.stray for c in g.checks)
    assert "debug: doubling 2" in feedback.render(g)


@pytest.mark.parametrize("case", list(ATTACKS))
def test_the_attack_scores_zero_on_the_task(batch, case):
    g, _ = batch[case]
    assert g.score == 0, _status(g)
    hidden = next(c for c in g.checks if c.hidden)
    assert hidden.status != "passed"
    assert HIDDEN_ANSWER not in (hidden.actual or ""), f"the hidden answer leaked: {hidden.actual}"


#: Attacks that really take over the public check's answer in the runner's process (it runs the
#: student's code): their public check passes and then waits for the hidden check, which they fail.
TAKES_OVER_THE_PUBLIC_ANSWER = {
    "hardcoded_public_answer",
    "answer_via_getframe",
    "answer_via_thread",
    "replaced_builtins_print",
    "replaced_compile",
    "replaced_ast_parse",
    "gc_patch_run_check",
    "gc_patch_answer_capture",
    "gc_patch_record_writer",
    "forged_records_on_the_pipe",
    "forged_done",
    "audit_hook",
    "settrace",
    "oracle_memory_and_files",
}


@pytest.mark.parametrize("case", sorted(TAKES_OVER_THE_PUBLIC_ANSWER))
def test_a_public_answer_taken_over_waits_for_the_hidden_check(batch, case):
    """Proof that the attack works as written: what stops it is the hidden check, not a bug in the attack."""
    g, _ = batch[case]
    public = next(c for c in g.checks if not c.hidden)
    assert public.status == "waits for hidden checks", _status(g)


def test_the_hidden_answer_is_nowhere_in_the_sandbox(batch):
    """The oracle read the runner's heap, every file it can open, every process's command line and environment."""
    g, run = batch["oracle_memory_and_files"]
    hidden = next(c for c in g.checks if c.hidden)
    assert hidden.status == "wrong output" and hidden.actual == "4\n", _status(g)


def test_the_oracle_finds_an_answer_that_is_there(batch):
    g, _ = batch["oracle_finds_a_planted_answer"]
    hidden = next(c for c in g.checks if c.hidden)
    assert hidden.status == "passed" and "found in memory" in hidden.stray, _status(g)


def test_forged_done_stops_the_run_and_scores_nothing(batch):
    g, _ = batch["forged_done_alone"]
    assert all(c.status == "not run" for c in g.checks), _status(g)


def test_a_cell_that_ignores_sigalrm_does_not_turn_off_the_next_cells_limit(batch):
    g, run = batch["ignores_sigalrm_then_loops_in_the_checks"]
    assert [c.status for c in g.checks] == ["timed out", "timed out"], _status(g)
    assert run.status == "ok", run.detail  # each check stopped by its own alarm: the run went on to the end


@pytest.mark.parametrize("case", ["honest_with_junk_on_the_pipe", "malformed_records"])
def test_junk_on_the_pipe_never_breaks_the_grader(batch, case):
    g, run = batch[case]
    assert g.status == "graded" and not g.problems, g.problems
    for record in run.records:
        assert isinstance(record["cell"], str) and isinstance(record.get("stdout", ""), str), record
        assert isinstance(record.get("error", {}), dict) and isinstance(record.get("answer", ""), str), record
    feedback.render(g, "html")


# --------------------------------------------------------------------------- escapes, on lesson 01's assignment
#
# Each escape looks for the solution notebook some way and, when it finds it, runs its solution
# cells: the public checks (the only ones this assignment has) then pass. In the sandbox each
# must find nothing; without it, most do (the controls below), which shows they are real.

ESCAPE_KIT = '''
import json, os, pathlib
NAME = "solutions/01_dhcp_message.ipynb"

def run_solution(path):
    """Run the solution cells of the notebook at ``path`` here: the exercise's functions, solved."""
    cells = json.loads(pathlib.Path(path).read_text())["cells"]
    sources = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    if not any("BEGIN SOLUTION" in s for s in sources):
        return False
    for source in sources:
        if "BEGIN SOLUTION" in source:
            exec(source, globals())
    return True

def first_that_runs(paths):
    for path in paths:
        try:
            if run_solution(path):
                return str(path)
        except Exception:
            pass

def pids():
    return [p for p in os.listdir("/proc") if p.isdigit()]

def repository():
    import refimpl
    return pathlib.Path(refimpl.__file__).resolve().parents[1]
'''
ESCAPES = {
    "through_refimpl_file": "first_that_runs([repository() / NAME])",
    "through_proc_root": "first_that_runs([f'/proc/{pid}/root{repository() / NAME}' for pid in pids()])",
    "through_proc_cwd": "first_that_runs([f'/proc/{pid}/cwd/{NAME}' for pid in pids()])",
    "through_proc_cmdline": """
def assignments():
    for pid in pids():
        try:
            args = open(f"/proc/{pid}/cmdline", "rb").read().decode().split("\\0")
        except OSError:
            continue
        for flag, value in zip(args, args[1:]):
            if flag == "--assignment":
                yield value
                yield f"/proc/{pid}/cwd/{value}"
first_that_runs(assignments())""",
    "through_home": """
def notebooks():
    for top in {os.path.expanduser("~"), "/root", "/home"}:
        for folder, _, files in os.walk(top):
            yield from (os.path.join(folder, f) for f in files if f.endswith(".ipynb"))
first_that_runs(notebooks())""",
    "through_every_file": """
def notebooks():
    for folder, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(folder, d) not in ("/proc", "/sys", "/dev")]
        yield from (os.path.join(folder, f) for f in files if f.endswith(".ipynb"))
first_that_runs(notebooks())""",
}


def escape_submission(source: str):
    """The released exercise with its solution cells deleted and one cell that tries to fetch them."""
    nb = notebook.read(ROOT / "exercises" / DHCP.name)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and "NotImplementedError" in c.source)]
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, _code(ESCAPE_KIT + source, "fetch"))
    return nb


#: What an attacker beside an honest neighbour does to the machine they share (runs on the 01 blank exercise).
SECRET = "teacher-secret-7c41f0"
RESOURCE_ATTACKS = {
    "os_exit": "import os\nos._exit(0)",
    "catches_the_timeout_in_a_loop": "while True:\n    try:\n        while True:\n            pass\n"
    "    except BaseException:\n        pass",
    "ignores_sigalrm": "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    pass",
    "kills_its_parents": """import os, signal
for pid in {os.getppid(), 1}:
    try:
        os.kill(pid, signal.SIGKILL)
        print("killed", pid)
    except OSError as exc:
        print("could not kill", pid, exc)
os.kill(-1, signal.SIGKILL)""",
    "floods_stdout": """import os, sys
for _ in range(200):
    print("x" * 100_000)
    sys.stderr.write("y" * 100_000)
    os.write(1, b"z" * 100_000)""",
    "huge_record": RECORD_FD + 'os.write(record_fd(), b\'{"cell": "s2", "answer": "\''
    " + b'4' * (64 << 20) + b'\"}\\n')",
    "non_utf8_on_the_pipe": RECORD_FD + "os.write(record_fd(), bytes(range(256)) * 1000 + b'\\n')",
    "fork_bomb": """import os, time
deadline = time.time() + 4
while time.time() < deadline:
    try:
        os.fork()
    except OSError:
        time.sleep(0.01)""",
    "fills_the_disk": """import os
for folder in ("/tmp/work", "/tmp/home", "/tmp", "/dev/shm", "/var/tmp", "/work", os.path.dirname(os.__file__)):
    for n in range(100):
        try:
            with open(os.path.join(folder, f"fill{n}"), "wb") as out:
                while True:
                    out.write(b"x" * (1 << 20))
        except OSError as exc:
            if not os.path.isdir(folder) or exc.errno != 27:  # 27: file too large, start the next file
                break
import time
time.sleep(2.5)  # keep it full while the neighbour runs""",
    "memory_hog": "hog = []\nwhile True:\n    hog.append(b'x' * (64 << 20))",
    "cpu_hog_with_a_session_each": """import os, time
for _ in range(30):
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
time.sleep(2.5)""",
    "reads_the_environment": """import os
seen = {"own": dict(os.environ)}
for pid in os.listdir("/proc"):
    try:
        seen[pid] = open(f"/proc/{pid}/environ", "rb").read().decode(errors="replace")
    except OSError:
        pass
print(seen)
raise RuntimeError(repr(seen)[:4000])""",
}
#: Processes left behind: forks that hold memory together, and a double-forked child that outlives its run.
MEMORY_TOGETHER = """import os, time
children = []
for n in range(4):
    child = os.fork()
    if child == 0:
        held = b"x" * (512 << 20)  # touched: each holds 512 MiB of real memory, half its limit per process
        open(f"/tmp/work/held{n}", "w").close()
        time.sleep(60)
        os._exit(0)
    children.append(child)
killed, deadline = set(), time.time() + 20
def holding():  # the out-of-memory killer may pick one that already holds its share
    return [c for n, c in enumerate(children) if os.path.exists(f"/tmp/work/held{n}") and c not in killed]
while time.time() < deadline and len(holding()) + len(killed) < len(children):
    killed |= {c for c in set(children) - killed if os.waitpid(c, os.WNOHANG)[0]}
    time.sleep(0.1)
time.sleep(0.5)
killed |= {c for c in set(children) - killed if os.waitpid(c, os.WNOHANG)[0]}
print("held together:", len(holding()))"""


def survivor(forged: dict[str, str], only_under: str) -> str:
    """A child that outlives its run (double fork, new session) and forges passing records into the next runner.

    It only touches runners whose working directory is under ``only_under`` (this test's own, when
    run without the sandbox) and ends by itself within 25 s.
    """
    return f"""import json, os, time
FORGED, MINE, ME = {forged!r}, {only_under!r}, os.getpid()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        try:
            open(MINE + "/survivor.pid", "w").write(str(os.getpid()))
        except OSError:
            pass
        deadline = time.time() + 25
        while time.time() < deadline:
            for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) not in (ME, os.getpid())]:
                try:
                    if b"refimpl.grading.runner" not in open(f"/proc/{{pid}}/cmdline", "rb").read():
                        continue
                    if not os.readlink(f"/proc/{{pid}}/cwd").startswith(MINE):
                        continue
                    for fd in os.listdir(f"/proc/{{pid}}/fd"):  # its stdout, then the copy it writes records to
                        if int(fd) > 0 and os.readlink(f"/proc/{{pid}}/fd/{{fd}}").startswith("pipe:"):
                            with open(f"/proc/{{pid}}/fd/{{fd}}", "w") as pipe:
                                for cell, answer in FORGED.items():
                                    pipe.write(json.dumps({{"cell": cell, "status": "ok", "answer": answer}}) + "\\n")
                            deadline = 0
                except (OSError, ValueError):
                    pass
            time.sleep(0.01)
    os._exit(0)
"""


def forged_for(victim) -> dict[str, str]:
    """What the victim's checks must answer, keyed by the cell names its plan gives them."""
    from refimpl.grading import assemble

    plan = assemble.build(notebook.read(DHCP), victim)
    expected = {c.name: c.expected for c in notebook.checks(notebook.read(DHCP))}
    return {cell.id: expected[cell.check] for cell in plan.cells if cell.kind == "check"}


def attacker(source: str):
    """The blank 01 exercise with the attack as its second cell."""
    nb = notebook.read(ROOT / "exercises" / DHCP.name)
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells.insert(first + 1, _code(source, "attack"))
    return nb


class Listener:
    """A TCP listener on the host's loopback that counts who reaches it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.reached = 0
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopped.is_set():
            try:
                conn, _ = self.server.accept()
                self.reached += 1
                conn.close()
            except OSError:
                continue

    def close(self):
        self.stopped.set()
        self.thread.join(timeout=2)
        self.server.close()


def network_attack(port: int, far: bool = True) -> str:
    targets = [("127.0.0.1", port), ("localhost", port)] + ([("192.0.2.1", 80)] if far else [])
    return f"""import socket
for host, port in {targets!r}:
    try:
        socket.create_connection((host, port), timeout=1).close()
        print("reached", host, port)
    except OSError as exc:
        print("blocked", host, port, type(exc).__name__)"""


def sandbox_processes() -> list[int]:
    """Processes running as the uids this grader gives its sandboxes."""
    uids = {sandbox.uid_for(slot) for slot in range(16)}
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            uid = next(int(line.split()[1]) for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration, ValueError):
            continue
        if uid in uids:
            found.append(int(status.parent.name))
    return found


def _hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def private_tmp(tmp_path_factory):
    """The grader's temporary folder for this module: anything it leaves behind is found here."""
    import tempfile

    folder = tmp_path_factory.mktemp("grader-tmp")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "tempdir", str(folder))
        patch.setenv("TMPDIR", str(folder))
        yield folder


@pytest.fixture(scope="module")
def neighbours(tmp_path_factory, private_tmp):
    """Every escape and resource attack on 01, each followed by an honest neighbour, graded two at a time.

    {name: (Grade, RunResult)}; names of honest neighbours start with ``honest after``. The
    teacher's secret is in the grader's environment all along.
    """
    folder = tmp_path_factory.mktemp("dhcp")
    listener = Listener()
    solution = notebook.read(DHCP)
    cases = {f"escape {name}": escape_submission(source) for name, source in ESCAPES.items()}
    cases |= {name: attacker(source) for name, source in RESOURCE_ATTACKS.items()}
    cases["network"] = attacker(network_attack(listener.port))
    blank = _tag("blank after the survivor", notebook.read(ROOT / "exercises" / DHCP.name))
    cases["survivor"] = attacker(survivor(forged_for(blank), "/"))  # any runner it can reach: its own uid's
    victims = [folder / f"honest after {name}.ipynb" for name in cases]
    cases["overwrites_its_neighbours"] = attacker(f"""import os
for path in {[str(v) for v in victims]!r}:
    for how in ("r", "w"):
        try:
            open(path, how).write("{{}}") if how == "w" else print(open(path).read()[:100])
            print("opened", path, how)
        except OSError as exc:
            print("could not", how, path, type(exc).__name__)""")
    victims.append(folder / "honest after overwrites_its_neighbours.ipynb")
    order = []
    for (name, nb), victim in zip(cases.items(), victims):
        order += [_write(folder, name, _tag(name, nb)), _write(folder, victim.stem, _tag(victim.stem, solution))]
        if name == "survivor":
            order.append(_write(folder, "blank after the survivor", blank))
    before = {v: _hash(v) for v in victims}
    recorder = Recorder()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sandbox, "run", recorder)
            patch.setenv("COURSE_TEACHER_SECRET", SECRET)
            started = time.monotonic()
            grades = grade.grade_all(solution, [str(p) for p in order], jobs=2, limits=LIMITS, root=folder)
            seconds = time.monotonic() - started
    finally:
        listener.close()
    results = {p.stem: (g, recorder.runs.get(f"# case: {p.stem}")) for p, g in zip(order, grades)}
    left = sandbox_processes()
    return {
        "results": results,
        "listener": listener,
        "unchanged": all(_hash(v) == before[v] for v in victims),
        "left": left,
        "seconds": seconds,
    }


def _records_text(run) -> str:
    return json.dumps(run.records) if run else ""


@pytest.mark.parametrize("name", list(ESCAPES))
def test_an_escape_finds_nothing_in_the_sandbox(neighbours, name):
    g, _ = neighbours["results"][f"escape {name}"]
    assert g.score == 0, _status(g)


@pytest.mark.parametrize("name", [*RESOURCE_ATTACKS, "network", "survivor", "overwrites_its_neighbours"])
def test_a_resource_attack_scores_zero_and_its_neighbour_full(neighbours, name):
    g, _ = neighbours["results"][name]
    assert g.score == 0, _status(g)
    honest, _ = neighbours["results"][f"honest after {name}"]
    assert honest.status == "graded" and honest.score == honest.max_score == full_marks(), _status(honest)


def test_every_escape_neighbour_is_graded_full(neighbours):
    for name in ESCAPES:
        honest, _ = neighbours["results"][f"honest after escape {name}"]
        assert honest.score == honest.max_score == full_marks(), (name, _status(honest))


def test_no_neighbour_file_was_read_or_changed(neighbours):
    assert neighbours["unchanged"]
    _, run = neighbours["results"]["overwrites_its_neighbours"]
    printed = run.records[2]["stdout"]  # tag cell, import cell, then the attack
    assert "opened" not in printed and printed.count("could not") >= 2, printed


def test_a_child_that_outlives_its_run_forges_nothing_into_the_next(neighbours):
    """The issue's attack: a double-forked child wrote passing records for the next run's checks."""
    g, _ = neighbours["results"]["blank after the survivor"]
    assert g.score == 0, _status(g)
    g, _ = neighbours["results"]["honest after survivor"]
    assert g.score == full_marks()


def test_no_process_of_a_submission_is_left(neighbours):
    assert neighbours["left"] == []


def test_the_network_is_out_of_reach(neighbours):
    _, run = neighbours["results"]["network"]
    printed = run.records[2]["stdout"]
    assert neighbours["listener"].reached == 0
    assert "reached" not in printed and printed.count("blocked") == 3, printed


def test_the_teachers_environment_never_reaches_a_record_or_the_feedback(neighbours):
    for name, (g, run) in neighbours["results"].items():
        assert SECRET not in _records_text(run), name
        assert SECRET not in feedback.render(g) and SECRET not in feedback.render(g, "html"), name
    _, run = neighbours["results"]["reads_the_environment"]
    assert "HOME" in _records_text(run)  # the attack ran and printed what it saw


def _held_together(limits: sandbox.Limits) -> tuple[int, str]:
    run = sandbox.run({"cells": [{"id": "s1", "kind": "student", "source": MEMORY_TOGETHER}]}, limits)
    printed = "".join(r.get("stdout", "") for r in run.records)
    assert "held together:" in printed, (run.status, run.detail, run.records)
    return int(printed.split("held together:")[1].split()[0]), f"{run.status} {run.detail} {run.records}"


@pytest.mark.skipif(sandbox.cgroups_unavailable() is not None, reason=f"{sandbox.cgroups_unavailable()}")
def test_processes_of_one_submission_share_one_memory_limit(monkeypatch):
    """4 x 512 MiB, each under the 1 GiB per process: the run's cgroup (1 GiB + 256 MiB of /tmp) stops the third."""
    limits = sandbox.Limits(cell_timeout=30, memory_mb=1024)
    held, run = _held_together(limits)
    assert held <= 2, run
    monkeypatch.setattr(sandbox, "make_cgroups", lambda slot, limits: [])
    held, run = _held_together(limits)
    assert held == 4, run  # the control: per-process limits alone let all four hold their memory


def test_output_floods_are_cut(neighbours):
    g, run = neighbours["results"]["floods_stdout"]
    assert len(_records_text(run)) < 2 * 1024 * 1024
    g, run = neighbours["results"]["huge_record"]
    assert g.status == "kernel died" and "MiB" in " ".join(g.problems)


def test_the_grader_leaves_nothing_in_tmp(neighbours, private_tmp):
    assert list(private_tmp.iterdir()) == []
    uids = {sandbox.uid_for(slot) for slot in range(16)}
    assert [p for p in Path("/tmp").iterdir() if p.lstat().st_uid in uids] == []


# --------------------------------------------------------------------------- the same attacks without the sandbox


def _parent_holds_the_secret() -> str:
    """Only says whether the grader's environment holds the secret (it never shows an environment)."""
    return f"""import os
environ = open(f"/proc/{{os.getppid()}}/environ", "rb").read().decode(errors="replace")
raise RuntimeError(f"secret seen: {{{SECRET!r} in environ}}")"""


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory):
    """A few of the attacks above graded with ``--no-sandbox``: they work, so the sandbox is what stops them."""
    import tempfile

    folder, scratch = tmp_path_factory.mktemp("unsandboxed"), tmp_path_factory.mktemp("unsandboxed-tmp")
    listener = Listener()
    solution = notebook.read(DHCP)
    cases = {
        f"escape {name}": escape_submission(ESCAPES[name])
        for name in ("through_refimpl_file", "through_proc_root", "through_proc_cwd")
    }
    cases["network"] = attacker(network_attack(listener.port, far=False))
    # Neither has an id: a per-student reference run would be the run the child forges into, not the blank's.
    blank = _tag("blank after the survivor", notebook.read(ROOT / "exercises" / DHCP.name), with_id=False)
    cases["survivor"] = _tag("survivor", attacker(survivor(forged_for(blank), str(scratch))), with_id=False)
    cases["blank after the survivor"] = blank
    cases = {
        name: nb if name in ("survivor", "blank after the survivor") else _tag(name, nb) for name, nb in cases.items()
    }
    paths = [str(_write(folder, name, nb)) for name, nb in cases.items()]
    recorder = Recorder()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sandbox, "run", recorder)
            patch.setattr(tempfile, "tempdir", str(scratch))
            grades = grade.grade_all(
                solution, paths, jobs=1, use_sandbox=False, root=folder, limits=sandbox.Limits(cell_timeout=10)
            )
    finally:
        listener.close()
        pid_file = scratch / "survivor.pid"
        if pid_file.exists():  # the survivor ends by itself within 25 s; this one ends now
            try:
                os.kill(int(pid_file.read_text()), 9)
            except (ProcessLookupError, ValueError):
                pass
            pid_file.unlink()
    left = sorted(p.name for p in scratch.iterdir())
    return {
        "results": {name: (g, recorder.runs.get(f"# case: {name}")) for name, g in zip(cases, grades)},
        "listener": listener,
        "left": left,
    }


@pytest.mark.parametrize("name", ["through_refimpl_file", "through_proc_root", "through_proc_cwd"])
def test_without_the_sandbox_the_escape_works(unsandboxed, name):
    g, _ = unsandboxed["results"][f"escape {name}"]
    # Everything before the per-student task: the escape runs the solution's cells before the student's own
    # message exists (its input cell comes later in the notebook), so that answer raises NameError (see escape_marks).
    assert not g.sandboxed and g.max_score == full_marks(), _status(g)
    assert g.score == escape_marks() > 0, _status(g)
    assert "without the sandbox" in feedback.render(g)


def test_without_the_sandbox_the_rest_works_too(unsandboxed):
    results = unsandboxed["results"]
    assert unsandboxed["listener"].reached == 2  # 127.0.0.1 and localhost
    g, _ = results["blank after the survivor"]
    # a blank exercise, given full marks by the child of the submission before (but for the per-student
    # checks, which a notebook without an id never runs)
    assert g.score == full_marks() - per_student_marks(), _status(g)
    assert unsandboxed["left"] == []  # the grader's own temporary folders are gone all the same


# --------------------------------------------------------------------------- the command line


def _grade_cli(folder: Path, *extra: str, environment_attack: str):
    """Grade an honest 01, an escape through the grader's command line and an environment reader, with the CLI.

    The teacher's secret is in the grader's environment from its start, as a real teacher's variables are.
    """
    honest = _write(folder, "honest", _with_student_id(notebook.read(DHCP), "id-honest"))
    escape = _write(folder, "reads_the_command_line", escape_submission(ESCAPES["through_proc_cmdline"]))
    spy = _write(folder, "reads_the_environment", attacker(environment_attack))
    done = subprocess.run(
        [
            PYTHON,
            "-m",
            "refimpl",
            "grade",
            "--assignment",
            str(DHCP),
            str(escape),
            str(honest),
            str(spy),
            "--csv",
            str(folder / "grades.csv"),
            "--feedback",
            str(folder / "feedback"),
            "--jobs",
            "2",
            "--timeout",
            "10",
            "--quiet",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "COURSE_TEACHER_SECRET": SECRET},
    )
    rows = {row["student"]: row for row in csv.DictReader(open(folder / "grades.csv", encoding="utf-8"))}
    return done, rows, (folder / "feedback" / "reads_the_environment.md").read_text(encoding="utf-8")


def test_the_command_line_grades_sandboxed_and_keeps_its_command_line_and_environment(tmp_path):
    done, rows, spied = _grade_cli(tmp_path, environment_attack=RESOURCE_ATTACKS["reads_the_environment"])
    assert "sandboxed (bubblewrap)" in done.stderr, done.stderr
    assert float(rows["reads_the_command_line"]["score"]) == 0
    assert float(rows["honest"]["score"]) == full_marks()
    assert "HOME" in spied and SECRET not in spied  # it showed what it saw: the sandbox's own variables
    assert SECRET not in (tmp_path / "grades.csv").read_text()


def test_the_command_line_without_the_sandbox_grades_and_says_so(tmp_path):
    done, rows, spied = _grade_cli(tmp_path, "--no-sandbox", environment_attack=_parent_holds_the_secret())
    assert "unsandboxed (--no-sandbox)" in done.stderr, done.stderr
    assert float(rows["honest"]["score"]) == full_marks()
    assert "without the sandbox" in (tmp_path / "feedback" / "honest.md").read_text()
    # The controls: without the sandbox, the grader's command line and environment are the student's to read.
    assert float(rows["reads_the_command_line"]["score"]) == escape_marks()
    assert "secret seen: True" in spied


# --------------------------------------------------------------------------- limits of the whole run


def test_a_whole_run_has_a_limit_of_its_own():
    """The student decides how many cells there are: 30 cells that each stay just under their limit."""
    job = {"cells": [{"id": f"s{n}", "kind": "student", "source": "import time\ntime.sleep(0.9)"} for n in range(30)]}
    run = sandbox.run(job, sandbox.Limits(cell_timeout=1, run_timeout=5))
    assert run.status == "timeout" and "whole run" in run.detail, (run.status, run.detail)
    assert run.seconds < 10


def test_every_slot_of_every_grader_has_a_uid_of_its_own():
    uids = [sandbox.uid_for(slot) for slot in range(sandbox.SLOTS)]
    assert len(set(uids)) == sandbox.SLOTS and min(uids) > 65535 and max(uids) < 2**32 - 1
    with pytest.raises(ValueError):
        sandbox.uid_for(sandbox.SLOTS)


# --------------------------------------------------------------------------- found outside the sandbox: still open
#
# These attacks work today; what stops them is outside runner.py and sandbox.py (the fix for each is
# described in its reason). They fail loudly (strict) once fixed, so the marker is then removed.


def xid_assignment():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        _code("def xid_of(n):\n    ### BEGIN SOLUTION\n    return hex(n)\n    ### END SOLUTION", "solve"),
        _code("print(xid_of(255))", "check-public", {"check": "xid-public", "points": 1, "task": "xid"}, "0xff\n"),
        _code(
            "print(xid_of(0x3903F326))",
            "check-hidden",
            {"check": "xid-hidden", "points": 2, "task": "xid", "hidden": True},
            "0x3903f326\n",
        ),
    ]
    return nb


def test_a_made_up_hex_number_does_not_pass_for_an_expected_one(tmp_path):
    """Only addresses inside reprs are sanitized: an xid printed in hex must match to the digit."""
    nb = notebook.exercise_from(xid_assignment())
    next(c for c in nb.cells if c.get("id") == "solve").source = "def xid_of(n):\n    return '0x000000'"
    g = grade.grade_one(xid_assignment(), _write(tmp_path, "made_up", nb), limits=LIMITS)
    assert g.score == 0, _status(g)


def test_the_feedback_never_shows_a_hidden_checks_input(tmp_path):
    """A hidden check's stray output and error message could name its inputs: neither is shown."""
    stub = "def double(x):\n    print('my input:', x)\n    raise ValueError(x)"
    g = grade.grade_one(double_assignment(), _write(tmp_path, "spy", submission(stub)), limits=LIMITS)
    assert "1234567891" not in feedback.render(g) + feedback.render(g, "html")


@pytest.mark.parametrize("layout", ["v2", "v1"])
def test_where_a_cgroup_cannot_limit_memory_none_is_made_and_none_is_left(tmp_path, monkeypatch, layout):
    """A cgroup tree without a memory controller (a container's, say): the run keeps its per-process limits."""
    if layout == "v2":
        (tmp_path / "cgroup.controllers").write_text("cpu io\n")
        (tmp_path / "cgroup.subtree_control").write_text("")
    else:
        (tmp_path / "memory").mkdir()
    monkeypatch.setattr(sandbox, "CGROUP_ROOT", tmp_path)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert sandbox.make_cgroups(0, sandbox.Limits()) == []
    assert not [p for p in tmp_path.rglob("refimpl-grade-*")]


def test_a_submission_with_too_many_cells_is_refused_unrun(tmp_path):
    """Matching cells costs the grader's own CPU, outside the sandbox: a flood of cells is refused."""
    nb = submission("def double(x):\n    return 2 * x")
    nb.cells += [nbformat.v4.new_code_cell(f"x{i} = {i}") for i in range(grade.MAX_CODE_CELLS + 1)]
    started = time.monotonic()
    g = grade.grade_one(double_assignment(), _write(tmp_path, "flood", nb), limits=LIMITS)
    assert g.status == "refused" and g.score == 0 and "more than the 500" in g.problems[0]
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("jobs", ["0", "65", "many"])
def test_jobs_out_of_range_is_a_usage_error(jobs, capsys):
    with pytest.raises(SystemExit) as stop:
        grade.main(["--assignment", "a.ipynb", "s.ipynb", "--jobs", jobs])
    assert stop.value.code == 2 and "--jobs" in capsys.readouterr().err


def test_a_student_cannot_close_the_feedbacks_code_block(tmp_path):
    stub = "def double(x):\n    print('```\\n# I am a heading now')\n    return 2 * x"
    g = grade.grade_one(double_assignment(), _write(tmp_path, "fence", submission(stub)), limits=LIMITS)
    text = feedback.render(g)
    fence = next(line for line in text.splitlines() if line.startswith("````"))
    assert fence == "````diff" and "\n# I am a heading now" in text
