"""``python -m refimpl grade``: score student notebooks against an assignment.

    python -m refimpl grade --assignment solutions/01_dhcp_message.ipynb \\
        submissions/*.ipynb --csv grades.csv --feedback feedback/ --jobs 4

For each submission: build the graded notebook (``assemble``: the assignment's
check cells, the student's other cells), run it under pytest + nbval in a
sandboxed subprocess (``sandbox``), and score each check cell that passed with
the points in its metadata. A broken submission gets a score and a message; it
never stops the batch. The CSV has one row per submission: ``student``,
``score``, ``max_score``, then one column per check (points earned).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.grading import assemble, feedback, guard, notebook, sandbox


@dataclass
class CheckResult:
    name: str
    points: float
    earned: float = 0.0
    status: str = "not run"   # passed | wrong output | error | timed out | not run
    reason: str = ""
    expected: str | None = None
    actual: str | None = None


@dataclass
class Grade:
    student: str
    path: str
    checks: list[CheckResult]
    problems: list[str] = field(default_factory=list)
    student_errors: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


def student_name(path: str | Path) -> str:
    """The CSV's ``student``: the submission's file name without ``.ipynb``."""
    name = Path(path).name
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


def _stdout_text(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stdout")


def _error(outputs: list[dict]) -> str | None:
    for out in outputs:
        if out.get("output_type") == "error":
            return f"{out.get('ename')}: {out.get('evalue')}".strip()
    return None


def _why(record: dict, cell_timeout: float) -> tuple[str, str]:
    """(status, reason) for a cell that did not pass."""
    message = record.get("message", "")
    if record.get("outcome") == "xfailed":
        return "not run", "not run: an earlier cell ran out of time, so the rest of the notebook was skipped"
    if "Kernel dead" in message:
        return "not run", "not run: the Python kernel had died in an earlier cell"
    alive = record.get("kernel_alive", True)
    if "Timeout" in message or "timed out" in message:
        if alive:
            return "timed out", f"ran longer than the {cell_timeout:g} s limit per cell and was stopped"
        if record.get("stopped_by_grader"):
            return "timed out", (f"ran longer than the {cell_timeout:g} s limit per cell and ignored the "
                                 "interrupt, so the kernel was stopped; later cells could not run")
    if not alive:
        return "error", ("the Python kernel died while running this cell (a crash, os._exit, "
                         "or too much memory); later cells could not run")
    error = _error(record.get("outputs", []))
    if "caused an exception" in message or error:
        return "error", f"raised `{error or 'an exception'}`"
    if "outputs differ" in message:
        return "wrong output", "the output is not the expected one"
    return "error", message.strip().splitlines()[0] if message.strip() else "failed"


def score(assembly: assemble.Assembly, run: sandbox.RunResult, cell_timeout: float) -> list[CheckResult]:
    """Turn the per-cell records of one run into check results."""
    results = {c.name: CheckResult(c.name, c.points, expected=c.expected) for c in assembly.checks}
    for record in run.cells:
        meta = record.get("course", {})
        if meta.get("kind") != "check" or meta.get("check") not in results:
            continue
        result = results[meta["check"]]
        shown = _stdout_text(record.get("outputs", []))
        text, _, receipt = shown.partition(guard.RECEIPT_PREFIX)
        result.actual = text
        if record["outcome"] == "passed":
            result.earned, result.status, result.reason = result.points, "passed", ""
            continue
        result.status, result.reason = _why(record, cell_timeout)
        if result.status == "wrong output" and not text:
            result.reason = "the check printed nothing"
        if result.status == "wrong output" and text == result.expected:
            result.reason = ("the text looked right, but it was not printed by the check code itself "
                             "(no valid grader receipt): something changed how the check cell ran")
    for result in results.values():
        if result.status == "not run" and not result.reason:
            result.reason = "not run: " + (run.detail.splitlines()[0] if run.detail else "the kernel stopped before this check")
    return list(results.values())


def _student_errors(assembly: assemble.Assembly, run: sandbox.RunResult, cell_timeout: float) -> list[str]:
    errors = []
    for record in run.cells:
        meta = record.get("course", {})
        if meta.get("kind") not in ("student", "given") or record["outcome"] in ("passed", "xfailed", "skipped"):
            continue
        status, reason = _why(record, cell_timeout)
        errors.append(f"cell `{meta.get('cell_id')}`: {reason}")
    return errors


def grade_one(assignment, path: str | Path, *, cell_timeout: float = 30, memory_mb: int = 2048,
              keep: Path | None = None) -> Grade:
    """Grade one submission. Never raises for a bad submission: the Grade says what went wrong."""
    started = time.monotonic()
    checks = notebook.checks(assignment)
    grade = Grade(student_name(path), str(path), [CheckResult(c.name, c.points, expected=c.expected) for c in checks])
    try:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise notebook.NotebookError(f"cannot read {Path(path).name}: {exc}") from None
        submission = notebook.reads(text, Path(path).name)  # messages name the file, not the teacher's folders
    except notebook.NotebookError as exc:
        grade.problems.append(f"{exc}. Nothing could be run; every check scores 0.")
        for check in grade.checks:
            check.reason = "not run: the submission could not be read"
        return grade
    workdir = sandbox.temporary_workdir()
    try:
        mode = sandbox.network_mode()
        config_path = workdir / f"guard-{os.urandom(8).hex()}.json"
        assembly = assemble.build(assignment, submission, os.urandom(32), str(config_path),
                                  socket_guard=(mode == "socket-guard"))
        assembly.guard_config["_path"] = str(config_path)
        run = sandbox.run(assembly.notebook, assembly.guard_config, workdir=workdir,
                          cell_timeout=cell_timeout, memory_mb=memory_mb)
        grade.checks = score(assembly, run, cell_timeout)
        grade.findings, grade.suspicious = assembly.findings, assembly.suspicious
        grade.student_errors = _student_errors(assembly, run, cell_timeout)
        setup = [r for r in run.cells if r.get("course", {}).get("kind") == "guard" and r["outcome"] != "passed"]
        if setup:
            grade.problems.append("the grader could not set up the kernel: " + setup[0].get("message", "")[:500])
        if run.status == "timeout":
            grade.problems.append(f"The notebook did not finish: {run.detail}. Checks that did not run score 0.")
        elif run.status == "crashed":
            grade.problems.append(f"The grading run crashed ({run.detail.splitlines()[0]}). Checks that did not run score 0.")
        if not run.cells and run.status == "ok":
            grade.problems.append("The notebook produced no results (the kernel may have failed to start).")
    except Exception as exc:  # a grader bug must not stop the batch either
        grade.problems.append(f"internal grader error: {type(exc).__name__}: {exc}")
    finally:
        if keep is not None:
            shutil.copytree(workdir, keep / grade.student, dirs_exist_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)
    grade.seconds = time.monotonic() - started
    return grade


def write_csv(grades: list[Grade], checks: list[notebook.Check], out) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["student", "score", "max_score", *[c.name for c in checks]])
    for g in grades:
        earned = {c.name: c.earned for c in g.checks}
        writer.writerow([g.student, f"{g.score:g}", f"{g.max_score:g}", *[f"{earned.get(c.name, 0):g}" for c in checks]])


class Progress:
    """A progress bar on stderr (one line per submission when stderr is not a terminal)."""

    def __init__(self, total: int, stream=None, width: int = 30):
        stream = sys.stderr if stream is None else stream
        self.total, self.done, self.stream, self.width = total, 0, stream, width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.lock = threading.Lock()
        self.started = time.monotonic()

    def step(self, grade: Grade) -> None:
        with self.lock:
            self.done += 1
            filled = self.width * self.done // max(self.total, 1)
            bar = "#" * filled + "-" * (self.width - filled)
            line = (f"grading [{bar}] {self.done}/{self.total} "
                    f"{time.monotonic() - self.started:5.1f}s  {grade.student}: {grade.score:g}/{grade.max_score:g}")
            if self.tty:
                self.stream.write("\r" + line[:120].ljust(120))
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()


def grade_all(assignment, paths: list[str], *, jobs: int = 1, cell_timeout: float = 30, memory_mb: int = 2048,
              progress: Progress | None = None) -> list[Grade]:
    """Grade submissions in parallel; results come back in the order given."""
    def one(path):
        grade = grade_one(assignment, path, cell_timeout=cell_timeout, memory_mb=memory_mb)
        if progress:
            progress.step(grade)
        return grade

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, paths))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl grade", description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True, help="the solution notebook (solutions/NN_topic.ipynb)")
    parser.add_argument("submissions", nargs="+", help="student notebooks")
    parser.add_argument("--csv", help="write the grades here (default: print them)")
    parser.add_argument("--feedback", help="write one feedback file per student into this folder")
    parser.add_argument("--feedback-format", choices=("md", "html"), default="md")
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
    parser.add_argument("--timeout", type=float, default=30, help="seconds allowed per cell (default 30)")
    parser.add_argument("--memory", type=int, default=2048, help="address-space limit in MiB (default 2048)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    try:
        assignment = notebook.read(args.assignment)
        checks = notebook.checks(assignment)
    except notebook.NotebookError as exc:
        print(f"grade: bad assignment: {exc}", file=sys.stderr)
        return 2
    if not checks:
        print(f"grade: {args.assignment} has no check cells (metadata course.check)", file=sys.stderr)
        return 2
    print(f"grade: {len(args.submissions)} submission(s), {len(checks)} checks, network: {sandbox.network_mode()}",
          file=sys.stderr)
    progress = None if args.quiet else Progress(len(args.submissions))
    grades = grade_all(assignment, args.submissions, jobs=args.jobs, cell_timeout=args.timeout,
                       memory_mb=args.memory, progress=progress)

    if args.csv:
        with open(args.csv, "w", newline="", encoding="utf-8") as out:
            write_csv(grades, checks, out)
    else:
        buffer = io.StringIO()
        write_csv(grades, checks, buffer)
        sys.stdout.write(buffer.getvalue())
    if args.feedback:
        folder = Path(args.feedback)
        folder.mkdir(parents=True, exist_ok=True)
        for g in grades:
            (folder / f"{g.student}.{args.feedback_format}").write_text(
                feedback.render(g, args.feedback_format), encoding="utf-8")
    broken = sum(1 for g in grades if g.problems)
    if broken:
        print(f"grade: {broken} submission(s) had problems; see their feedback", file=sys.stderr)
    return 0
