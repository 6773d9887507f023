"""``python -m refimpl grade``: score student notebooks against an assignment.

    python -m refimpl grade --assignment solutions/01_dhcp_message.ipynb \\
        submissions/*.ipynb --csv grades.csv --feedback feedback/ --jobs 4

For each submission: plan what runs (``assemble``: the student's cells in the
student's order, the assignment's public and hidden checks among them), run it
in a bubblewrap sandbox (``sandbox``, which never sees an expected output), and
compare each check's answer with the assignment's here, outside. A broken
submission gets a status and a message; it never stops the batch. The CSV has
one row per submission: ``student`` (the path below the submissions folder),
``assignment``, ``status``, the submission time, lateness and penalty, the
scores, then one column per check; roster, late policy, the CSV merge and the
Canvas and Gradescope exports are in ``reports``, written answers in ``manual``.
"""

from __future__ import annotations

import argparse
import io
import os
import queue
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.grading import assemble, manual, notebook, per_student, reports, sandbox

#: Outputs that differ from run to run but mean the same. Only a memory address inside a repr
#: (``<Foo object at 0x7f...>``): an xid or a checksum printed in hex must still match to the digit.
SANITIZE = [
    (re.compile(r" at 0x[0-9a-fA-F]+>"), " at 0xADDRESS>"),
    (re.compile(r"<Figure size [0-9.]+x[0-9.]+ with [0-9]+ Axes>"), "<Figure>"),
]


def normalize(text: str) -> str:
    """Text as compared: sanitized, trailing spaces and final blank lines ignored."""
    for pattern, replacement in SANITIZE:
        text = pattern.sub(replacement, text)
    return "\n".join(line.rstrip() for line in text.rstrip().splitlines())


@dataclass
class CheckResult:
    name: str
    points: float
    earned: float = 0.0
    status: str = "not run"  # passed | wrong output | error | timed out | not run | waits for hidden checks
    reason: str = ""
    expected: str | None = None
    actual: str | None = None
    stray: str = ""  # what the student's code printed while the check ran (shown, not counted)
    hidden: bool = False
    task: str = ""
    covers: str = ""
    where: list[str] = field(default_factory=list)  # the failing lines in the student's own cells


@dataclass
class Grade:
    student: str
    path: str
    checks: list[CheckResult]
    status: str = "graded"  # graded | unreadable | kernel died | timed out | refused | grader error
    problems: list[str] = field(default_factory=list)
    student_errors: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    matching: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    seconds: float = 0.0
    sandboxed: bool = True

    @property
    def score(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)


def student_name(path: str | Path, root: str | Path | None = None) -> str:
    """The student's identity: the submission's path relative to the submissions folder, without ``.ipynb``.

    Two ``sam.ipynb`` from different folders stay two students (``a/sam``, ``b/sam``).
    """
    path = Path(path)
    if root is not None:
        try:
            path = path.resolve().relative_to(Path(root).resolve())
        except ValueError:
            pass
    name = path.as_posix()
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


def _where(record: dict, plan: assemble.Plan) -> list[str]:
    """The student's own lines in a traceback, innermost last: cell first line, line number, the line."""
    lines = []
    for frame in (record.get("error") or {}).get("frames", []):
        cell = next((c for c in plan.cells if c.id == frame.get("cell")), None)
        if cell is None or cell.kind == "check":
            continue
        lines.append(f"{cell.label}, line {frame.get('line')}: `{frame.get('text', '')}`")
    return lines


def _raised(record: dict) -> str:
    error = record.get("error") or {}
    return f"{error.get('ename', 'an exception')}: {error.get('evalue', '')}".strip().rstrip(":")


NO_STUDENT_ID = (
    "not graded: this check's inputs come from your student id, and the notebook names none; write yours in "
    'its first cell (Variant(..., student="...")) and submit again'
)


def score(
    plan: assemble.Plan,
    run: sandbox.RunResult,
    cell_timeout: float,
    per_student: dict[str, str] | None = None,
) -> list[CheckResult]:
    """Compare what each check answered with what the assignment expects. Outside the sandbox, always.

    ``per_student`` holds the expected answers of the per-student checks, computed for this student
    (:mod:`per_student`); a per-student check missing from it scores 0.
    """
    per_student = per_student or {}
    results = {
        c.name: CheckResult(
            c.name,
            c.points,
            expected=per_student.get(c.name) if c.per_student else c.expected,
            hidden=c.hidden,
            task=c.task,
            covers=c.covers,
        )
        for c in plan.checks
    }
    records = {}
    for record in run.records:  # untrusted: only the first record of a cell that the plan has counts
        if isinstance(record.get("cell"), str) and record["cell"] not in records:
            records[record["cell"]] = record
    for cell in plan.cells:
        if cell.kind != "check" or cell.check not in results:
            continue
        result, record = results[cell.check], records.get(cell.id)
        if result.expected is None:  # a per-student check without a student id
            result.reason = NO_STUDENT_ID
            continue
        if record is None:
            result.reason = "not run: " + (run.detail or "the notebook stopped before this check")
            continue
        answer = record.get("answer") if isinstance(record.get("answer"), str) else ""
        result.actual, result.stray = answer, str(record.get("stdout", ""))
        status = record.get("status")
        if status == "timeout":
            result.status, result.reason = "timed out", f"ran longer than the {cell_timeout:g} s limit per cell"
        elif status == "error":
            # A hidden check's error message may hold its inputs: name the exception's type only.
            shown = (record.get("error") or {}).get("ename", "an exception") if result.hidden else _raised(record)
            result.status, result.reason = "error", f"raised `{shown}`"
            result.where = _where(record, plan)
        elif normalize(answer) == normalize(result.expected or ""):
            result.earned, result.status = result.points, "passed"
        else:
            result.status = "wrong output"
            result.reason = "the check printed nothing" if not answer.strip() else "the output is not the expected one"
    # A public check's answer is in the released exercise: its points count once the task's hidden checks pass.
    for result in results.values():
        if result.hidden or result.status != "passed":
            continue
        hidden = [r for r in results.values() if r.hidden and r.task == result.task]
        if hidden and any(r.status != "passed" for r in hidden):
            result.earned, result.status = 0.0, "waits for hidden checks"
            result.reason = (
                f"right, but its answer is public; its points count once the hidden checks of task "
                f"`{result.task}` pass too"
            )
    return list(results.values())


def _student_errors(plan: assemble.Plan, run: sandbox.RunResult) -> list[str]:
    errors = []
    for record in run.records:
        cell = next((c for c in plan.cells if c.id == record.get("cell")), None)
        if cell is None or cell.kind == "check" or record.get("status") == "ok":
            continue
        if record.get("status") == "timeout":
            errors.append(f"{cell.label}: ran past the time limit and was stopped; later cells did not run")
            continue
        where = _where(record, plan)
        errors.append(f"{cell.label}: raised `{_raised(record)}`" + (f" at {where[-1]}" if where else ""))
    return errors


#: Limits when none are given (a frozen dataclass: safe to share).
DEFAULT_LIMITS = sandbox.Limits()

#: A submission larger than this is refused unread (a notebook of exercises is far smaller).
MAX_SUBMISSION = 20 * 1024 * 1024
#: ... and so is one with more code cells than this: matching cells costs the grader's own CPU,
#: outside every sandbox limit (an exercise has a few dozen).
MAX_CODE_CELLS = 500


class Refused(Exception):
    """A submission the grader will not run (too large), as opposed to one it cannot read."""


def _read_submission(path: Path):
    if path.stat().st_size > MAX_SUBMISSION:
        raise Refused(f"{path.name} is larger than {MAX_SUBMISSION // (1024 * 1024)} MiB")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise notebook.NotebookError(f"cannot read {path.name}: {exc}") from None
    submission = notebook.reads(text, path.name)  # messages name the file, not the teacher's folders
    code_cells = sum(1 for cell in submission.cells if cell.get("cell_type") == "code")
    if code_cells > MAX_CODE_CELLS:
        raise Refused(f"{path.name} has {code_cells} code cells, more than the {MAX_CODE_CELLS} the grader takes")
    return submission


def grade_one(
    assignment,
    path: str | Path,
    *,
    limits: sandbox.Limits = DEFAULT_LIMITS,
    use_sandbox: bool = True,
    slot: int = 0,
    root: str | Path | None = None,
    roster_id: str | None = None,
) -> Grade:
    """Grade one submission. Never raises for a bad submission: the Grade says what went wrong.

    ``roster_id`` is the student's id on the class roster: the per-student checks' inputs are drawn from it.
    """
    started = time.monotonic()
    path = Path(path)
    checks = notebook.checks(assignment)
    grade = Grade(
        student_name(path, root),
        str(path),
        [
            CheckResult(c.name, c.points, expected=c.expected, hidden=c.hidden, task=c.task, covers=c.covers)
            for c in checks
        ],
        sandboxed=use_sandbox,
    )
    try:
        submission = _read_submission(path)
    except (notebook.NotebookError, OSError, Refused) as exc:
        grade.status = "refused" if isinstance(exc, Refused) else "unreadable"
        grade.problems.append(f"{exc}. Nothing could be run; every check scores 0.")
        for check in grade.checks:
            check.reason = "not run: the submission could not be read"
        return grade
    try:
        plan = assemble.build(assignment, submission)
        job, expected, notes = plan.job(), {}, []
        if any(c.per_student for c in checks):
            who = per_student.identity(submission, roster_id)
            notes = per_student.notes(who)
            if who.student_id:
                job["student_id"] = who.student_id
                expected = per_student.reference_answers(
                    assignment, who.student_id, limits=limits, use_sandbox=use_sandbox, slot=slot
                )
        run = sandbox.run(job, limits, sandbox=use_sandbox, slot=slot)
        grade.checks = score(plan, run, limits.cell_timeout, expected)
        grade.findings, grade.matching, grade.suspicious = notes + plan.findings, plan.matching, plan.suspicious
        grade.student_errors = _student_errors(plan, run)
        if run.status == "timeout":
            grade.status = "timed out"
            grade.problems.append(f"The notebook did not finish: {run.detail}. Checks that did not run score 0.")
        elif run.status in ("died", "too much output"):
            grade.status = "kernel died"
            grade.problems.append(f"The notebook stopped early: {run.detail}. Checks that did not run score 0.")
        elif any(r.get("status") == "timeout" for r in run.records):
            grade.status = "timed out"
    except per_student.ReferenceFailed as exc:  # the solution's fault, for this id
        grade.status = "grader error"
        grade.problems.append(str(exc))
    except Exception as exc:  # a grader bug must not stop the batch, nor be blamed on the student
        grade.status = "grader error"
        grade.problems.append(
            f"internal grader error: {type(exc).__name__}: {exc}. This is the grader's fault, not the"
            " submission's: grade it again, and report the error if it comes back."
        )
    grade.seconds = time.monotonic() - started
    return grade


def write_csv(grades: list[Grade], checks: list[notebook.Check], out, assignment_name: str = "") -> None:
    """The grades CSV of one run, without roster, deadline or written answers (see :mod:`reports` for those)."""
    rows = reports.make_rows(grades, checks, [], assignment_name)
    reports.write_table(out, reports.header(checks, [], roster=False), [reports.table_row(r) for r in rows])


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
            line = (
                f"grading [{bar}] {self.done}/{self.total} "
                f"{time.monotonic() - self.started:5.1f}s  {grade.student}: {grade.score:g}/{grade.max_score:g}"
            )
            if self.tty:
                self.stream.write("\r" + line[:120].ljust(120))
                if self.done == self.total:
                    self.stream.write("\n")
            else:
                self.stream.write(line + "\n")
            self.stream.flush()


def grade_all(
    assignment,
    paths: list[str],
    *,
    jobs: int = 1,
    limits: sandbox.Limits = DEFAULT_LIMITS,
    use_sandbox: bool = True,
    root: str | Path | None = None,
    progress: Progress | None = None,
    roster_ids: dict[str, str] | None = None,
) -> list[Grade]:
    """Grade submissions in parallel, each in a sandbox of its own; results come back in the order given.

    ``roster_ids`` maps a student (:func:`student_name`) to their roster id, for the per-student checks.
    """
    roster_ids = roster_ids or {}
    slots = queue.SimpleQueue()
    for slot in range(max(1, jobs)):
        slots.put(slot)

    def one(path):
        slot = slots.get()
        try:
            grade = grade_one(
                assignment,
                path,
                limits=limits,
                use_sandbox=use_sandbox,
                slot=slot,
                root=root,
                roster_id=roster_ids.get(student_name(path, root)),
            )
        finally:
            slots.put(slot)
        if progress:
            progress.step(grade)
        return grade

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return list(pool.map(one, paths))


def common_root(paths: list[str]) -> Path:
    """The submissions folder: the deepest folder holding every submission."""
    folders = [str(Path(p).resolve().parent) for p in paths]
    return Path(os.path.commonpath(folders)) if folders else Path.cwd()


def _jobs(text: str) -> int:
    """--jobs: each job is a sandbox with a uid of its own; more than 64 at once is a typo, not a plan."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"{value}: give 1 to 64")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl grade", description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", required=True, help="the solution notebook (solutions/NN_topic.ipynb)")
    parser.add_argument("submissions", nargs="+", help="student notebooks")
    parser.add_argument(
        "--root",
        metavar="DIR",
        help="the submissions folder: a student is their file's path below it (default: the deepest "
        "folder holding every submission; give it when regrading a few)",
    )
    parser.add_argument(
        "--csv",
        help="write the grades here; an existing file keeps the rows of students not "
        "graded this time (default: print them)",
    )
    parser.add_argument("--feedback", help="write one feedback file per student into this folder")
    parser.add_argument("--feedback-format", choices=("md", "html"), default="md")
    parser.add_argument("--jobs", type=_jobs, default=1, help="submissions graded at the same time (1 to 64)")
    parser.add_argument("--timeout", type=float, default=30, help="seconds allowed per cell (default 30)")
    parser.add_argument("--memory", type=int, default=2048, help="address-space limit in MiB (default 2048)")
    parser.add_argument(
        "--no-sandbox", action="store_true", help="run submissions without the bubblewrap sandbox (the report says so)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    who = parser.add_argument_group("students and deadlines")
    who.add_argument(
        "--roster",
        metavar="FILE.csv",
        help="student id (required), file, name, section, login, canvas id, submitted; "
        "a Canvas gradebook export works as it is",
    )
    who.add_argument(
        "--submitted-from",
        choices=reports.SUBMITTED_FROM,
        default="mtime",
        help="the submission time: the file's modification time (default), the roster's "
        "'submitted' column, or Gradescope's submission_metadata.json",
    )
    who.add_argument("--deadline", metavar="ISO8601", help="e.g. 2025-03-01T23:59:00+01:00")
    who.add_argument(
        "--late-policy",
        default="none",
        metavar="POLICY",
        help="none (default), zero, or a percentage per day late such as 10%%-per-day (at most 100%%)",
    )
    out = parser.add_argument_group("exports and written answers")
    out.add_argument("--canvas", metavar="FILE.csv", help="a Canvas gradebook import (needs --roster)")
    out.add_argument(
        "--canvas-column",
        metavar="NAME",
        help="its assignment column: 'Name (id)' for an existing Canvas assignment, or a new name "
        "(default: the assignment's file name)",
    )
    out.add_argument(
        "--gradescope",
        metavar="DIR",
        help="Gradescope results.json: DIR/results.json for one submission, else DIR/<student>/",
    )
    out.add_argument(
        "--manual-sheet",
        metavar="OUT.csv",
        help="collect the written answers into a sheet for the teacher (OUT.html: a page that saves "
        "the CSV, written beside it too)",
    )
    out.add_argument("--manual", metavar="SHEET.csv", help="merge the points and comments entered in a sheet")
    args = parser.parse_args(argv)

    # 1. Everything the teacher gave is checked before anything is graded: a typo costs no grading run.
    name = Path(args.assignment).stem
    try:
        assignment = notebook.read(args.assignment)
        checks = notebook.checks(assignment)
        questions = manual.questions(assignment)
    except notebook.NotebookError as exc:
        print(f"grade: bad assignment: {exc}", file=sys.stderr)
        return 2
    if not checks:
        print(f"grade: {args.assignment} has no check cells (metadata course.check)", file=sys.stderr)
        return 2
    root = Path(args.root) if args.root else common_root(args.submissions)
    students = [student_name(path, root) for path in args.submissions]
    try:
        outside = [path for path in args.submissions if not Path(path).resolve().is_relative_to(root.resolve())]
        if outside:
            raise reports.ReportError(f"not below --root {args.root}: {', '.join(outside)}")
        if args.canvas and not args.roster:
            raise reports.ReportError("--canvas needs --roster: Canvas finds students by id, login or name")
        if args.submitted_from == "roster" and not args.roster:
            raise reports.ReportError("--submitted-from roster needs --roster")
        if len(set(students)) < len(students):
            raise reports.ReportError("the same submission is given twice")
        roster = reports.read_roster(args.roster) if args.roster else None
        matched = roster.match(students) if roster else None
        policy = reports.LatePolicy.parse(args.late_policy)
        deadline = reports.parse_time(args.deadline, "--deadline") if args.deadline else None
        if deadline is None and args.submitted_from == "gradescope":
            due = (reports.gradescope_metadata(args.submissions[0]) or {}).get("assignment", {}).get("due_date")
            deadline = reports.parse_time(due, "submission_metadata.json due_date") if due else None
        if policy.kind != "none" and deadline is None:
            raise reports.ReportError(f"--late-policy {policy} needs --deadline")
        if args.csv:
            reports.check_table(args.csv)
            renamed = [] if args.root else reports.renamed_students(args.csv, students, name)
            if renamed:
                raise reports.ReportError(
                    f"{args.csv} knows {', '.join(renamed)}: pass --root with the "
                    "submissions folder, or they get new names and new rows"
                )
        marks = manual.read_sheet(args.manual, questions, name) if args.manual else {}
        if (args.manual or args.manual_sheet) and not questions:
            raise reports.ReportError(f"{args.assignment} has no written answers (markdown cells with course.manual)")
    except (reports.ReportError, manual.SheetError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    why = None if args.no_sandbox else sandbox.unavailable()
    if why:
        print(
            f"grade: refusing to grade without a sandbox: {why}.\n"
            "Install bubblewrap, or pass --no-sandbox to grade unsandboxed (the report will say so).",
            file=sys.stderr,
        )
        return 2

    # 2. Grade, then find the written answers (read again: a notebook is parsed in milliseconds).
    mode = "unsandboxed (--no-sandbox)" if args.no_sandbox else "sandboxed (bubblewrap)"
    print(f"grade: {len(args.submissions)} submission(s), {len(checks)} checks, {mode}", file=sys.stderr)
    progress = None if args.quiet else Progress(len(args.submissions))
    limits = sandbox.Limits(cell_timeout=args.timeout, memory_mb=args.memory)
    grades = grade_all(
        assignment,
        args.submissions,
        jobs=args.jobs,
        limits=limits,
        use_sandbox=not args.no_sandbox,
        root=root,
        progress=progress,
        roster_ids={student: person.id for student, person in matched.people.items()} if matched else None,
    )
    answers: dict[str, list[manual.Answer]] = {}
    for g in grades:
        if questions and g.status not in ("unreadable", "refused"):
            try:
                answers[g.student] = manual.collect(assignment, _read_submission(Path(g.path)))
            except (notebook.NotebookError, OSError):
                pass
    rows = reports.make_rows(
        grades,
        checks,
        questions,
        name,
        matched=matched,
        source=args.submitted_from,
        deadline=deadline,
        policy=policy,
        marks=marks,
    )
    by_student = {row.student: row for row in rows[: len(grades)]}

    # 3. What it writes: the CSV (merged into an existing one), feedback, exports, the sheet.
    columns = reports.header(checks, questions, roster is not None)
    cells = [reports.table_row(row) for row in rows]
    if args.csv:
        cells = reports.update_csv(args.csv, columns, cells)
    else:
        buffer = io.StringIO()
        reports.write_table(buffer, columns, cells)
        sys.stdout.write(buffer.getvalue())
    if args.feedback:
        folder = Path(args.feedback)
        for g in grades:
            own = {q: m for (student, q), m in marks.items() if student == g.student}
            written = manual.feedback_blocks(answers.get(g.student, []), own)
            target = folder / f"{g.student}.{args.feedback_format}"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(
                reports.render_feedback(g, by_student[g.student], written, args.feedback_format), encoding="utf-8"
            )
    if args.canvas:
        column = args.canvas_column or name
        reports.write_atomically(args.canvas, reports.canvas_csv(roster, cells, column, rows[0].max_score, name))
        print(
            f"grade: wrote the Canvas import {args.canvas} (column {column!r}, {len(roster.people)} students)",
            file=sys.stderr,
        )
    if args.gradescope:
        results = {
            g.student: reports.gradescope_results(
                g,
                by_student[g.student],
                answers.get(g.student, []),
                {q: m for (student, q), m in marks.items() if student == g.student},
            )
            for g in grades
        }
        written = reports.write_gradescope(args.gradescope, results)
        print(f"grade: wrote {len(written)} Gradescope results.json under {args.gradescope}", file=sys.stderr)
    if args.manual_sheet:
        sheet = [
            manual.SheetRow(
                name,
                student,
                (by_student[student].person or reports.Person("")).id,
                (by_student[student].person or reports.Person("")).name,
                answer,
            )
            for student, found in answers.items()
            for answer in found
        ]
        target = Path(args.manual_sheet)
        csv_path = target.with_suffix(".csv")
        reports.write_atomically(csv_path, manual.sheet_csv(sheet))
        if target.suffix == ".html":
            reports.write_atomically(target, manual.sheet_html(sheet, questions, csv_path.name))
        print(
            f"grade: wrote the manual-grading sheet {args.manual_sheet} ({len(sheet)} answers of "
            f"{len(answers)} students" + (f"; its CSV is {csv_path}" if target.suffix == ".html" else "") + ")",
            file=sys.stderr,
        )

    # 4. The summary: what a teacher must look at.
    if matched and matched.unknown:
        print(
            f"grade: {len(matched.unknown)} file(s) on no row of {args.roster} (graded, no student id): "
            + ", ".join(s + ".ipynb" for s in matched.unknown),
            file=sys.stderr,
        )
    if matched and matched.missing:
        shown = ", ".join(p.described for p in matched.missing[:10]) + (", ..." if len(matched.missing) > 10 else "")
        print(
            f"grade: {len(matched.missing)} roster student(s) with no submission in this run (missing): {shown}",
            file=sys.stderr,
        )
    if deadline is not None:
        late = [r for r in rows if r.late_days]
        unknown = [r.student for r in rows[: len(grades)] if r.submitted is None]
        print(
            f"grade: deadline {reports.iso(deadline)}, late policy {policy}: {len(late)} late"
            + "".join(f"; {r.student} {r.late_days} day(s), {reports.num(100 * r.penalty)}% off" for r in late[:10])
            + (f"; no submission time for {', '.join(unknown)}" if unknown else ""),
            file=sys.stderr,
        )
    if questions and (args.manual or args.manual_sheet):
        entered = sum(1 for r in rows[: len(grades)] for p in r.written.values() if p is not None)
        print(f"grade: written answers graded by hand: {entered} of {len(questions) * len(answers)}", file=sys.stderr)
        changed = manual.changed_answers(answers, marks)
        if changed:
            print(
                "grade: these answers changed since the sheet was made; check their points: " + ", ".join(changed),
                file=sys.stderr,
            )
    broken = [g for g in grades if g.status != "graded"]
    print(
        f"grade: {len(grades) - len(broken)} graded, {len(broken)} not: "
        + ", ".join(f"{g.student} ({g.status})" for g in broken)
        if broken
        else f"grade: {len(grades)} graded",
        file=sys.stderr,
    )
    return 1 if broken else 0
