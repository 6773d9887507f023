"""Grades as a teacher and an LMS use them: who is who, when it came in, and the files that leave the grader.

- **Who**: a student is the submission's path below the submissions folder
  (``a/sam``), or, with a roster (``--roster class.csv``), the roster's student
  id, name and section. A roster row names its file by that path, by its file
  name, or not at all (then a file named after the student id or login is
  theirs). Files on no roster row are reported and graded; roster students with
  no file get a ``missing`` row.
- **When**: the submission time is the file's modification time (UTC) unless
  ``--submitted-from`` names a better source: the roster's ``submitted``
  column (the time the LMS recorded; copying or unzipping files resets their
  modification time) or Gradescope's ``submission_metadata.json``. With a
  ``--deadline``, a submission is late by whole days, rounded up (one minute
  late is one day), and ``--late-policy`` takes ``none``, ``zero`` or
  ``P%-per-day`` (capped at 100%) off the score.
- **The grades CSV**: one row per student and assignment. Writing into an
  existing file updates the rows of the students graded this time and keeps
  every other row and the file's column order (regrading one student), under a
  lock, written to a temporary file then renamed, so a crash never leaves half
  a file.
- **Exports**: a Canvas gradebook import (``canvas_csv``) and Gradescope's
  autograder ``results.json`` (``gradescope_results``), each laid out as its
  published format says (cited at each function).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from refimpl.grading import feedback


class ReportError(ValueError):
    """A roster, deadline, policy or grades file the grader cannot use; the message says where."""


def num(value: float) -> str:
    """A score as a spreadsheet wants it: 13.5, 9.1, 15 (never 9.099999999999)."""
    return f"{round(value, 4):g}"


# --------------------------------------------------------------------------- time


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 time, as UTC. One without a time zone is read as the grading machine's local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ReportError(f"{what}: {text!r} is not an ISO 8601 time (like 2025-03-01T23:59:00+01:00)") from None
    if moment.tzinfo is None:
        moment = moment.astimezone()  # local time, said in the summary as UTC
    return moment.astimezone(UTC)


def iso(moment: datetime | None) -> str:
    """ISO 8601 in UTC, to the second: 2025-03-01T22:59:00Z."""
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def late_days(submitted: datetime | None, deadline: datetime | None) -> int | None:
    """Whole days after the deadline, rounded up; 0 when on time; None when either time is unknown."""
    if submitted is None or deadline is None:
        return None
    late = submitted - deadline
    return math.ceil(late / timedelta(days=1)) if late > timedelta(0) else 0


@dataclass(frozen=True)
class LatePolicy:
    """What a late submission costs: nothing, everything, or a percentage per day late (at most 100%)."""

    kind: str = "none"  # none | zero | per-day
    percent_per_day: float = 0.0

    @classmethod
    def parse(cls, text: str) -> LatePolicy:
        text = text.strip().lower()
        if text in ("none", "zero"):
            return cls(text)
        match = re.fullmatch(r"(\d+(?:\.\d+)?)%-per-day", text)
        if match is None:
            raise ReportError(f"late policy {text!r}: use none, zero or a percentage per day such as 10%-per-day")
        return cls("per-day", float(match.group(1)))

    def penalty(self, days: int | None) -> float:
        """The fraction of the score taken away, from 0 to 1."""
        if not days:
            return 0.0
        if self.kind == "zero":
            return 1.0
        return min(1.0, self.percent_per_day * days / 100) if self.kind == "per-day" else 0.0

    def __str__(self) -> str:
        return f"{self.percent_per_day:g}%-per-day" if self.kind == "per-day" else self.kind


# --------------------------------------------------------------------------- roster


@dataclass(frozen=True)
class Person:
    """One student of the roster."""

    id: str
    name: str = ""
    section: str = ""
    login: str = ""
    canvas_id: str = ""  # Canvas's own user id, when the roster is a Canvas gradebook export
    file: str = ""  # the submission: its path below the submissions folder, or its file name
    submitted: datetime | None = None
    row: int = 0

    @property
    def described(self) -> str:
        return f"{self.id} {self.name}".strip()


#: Roster columns and the header names they go by (case and ``_`` ignored). A Canvas gradebook export works
#: as it is: its "SIS User ID" is the student id and its "ID" Canvas's own.
ROSTER_COLUMNS = {
    "file": ("file", "submission", "notebook", "path"),
    "id": ("id", "student id", "sis user id"),
    "name": ("name", "student", "student name"),
    "section": ("section",),
    "login": ("login", "sis login id", "email"),
    "canvas_id": ("canvas id",),
    "submitted": ("submitted", "submitted at", "submission time"),
}


#: How Canvas names the account behind its student view in a gradebook export.
CANVAS_TEST_STUDENT = ("Student, Test", "Test Student")


def _stem(name: str) -> str:
    return name.strip().replace("\\", "/").strip("/").removesuffix(".ipynb")


@dataclass
class Matched:
    """The roster laid over one run's submissions."""

    people: dict[str, Person]  # student (path key) -> roster person
    unknown: list[str]  # submissions on no roster row
    missing: list[Person]  # roster students with no submission in this run


@dataclass
class Roster:
    path: str
    people: list[Person]

    def match(self, students: list[str]) -> Matched:
        """Which roster row each submission (``a/sam``: its path below the submissions folder) belongs to.

        A row's ``file`` matches that path exactly, or, when it is a bare file
        name, any submission of that name; a row without a file matches a
        submission named after its id or login. A row matching two submissions
        is an error: its file column must then give the path.
        """
        exact = {_stem(p.file): p for p in self.people if p.file}
        bare: dict[str, list[Person]] = {}
        for person in self.people:
            names = [_stem(person.file)] if person.file else [person.id, person.login]
            for name in dict.fromkeys(n for n in names if n and "/" not in n):
                bare.setdefault(name, []).append(person)
        claimed: dict[int, list[str]] = {}
        people: dict[str, Person] = {}
        for student in students:
            person = exact.get(student)
            if person is None:
                candidates = bare.get(student.rsplit("/", 1)[-1], [])
                if len(candidates) > 1:
                    rows = ", ".join(str(p.row) for p in candidates)
                    raise ReportError(f"{self.path}: rows {rows} all match the submission {student}.ipynb")
                person = candidates[0] if candidates else None
            if person is not None:
                people[student] = person
                claimed.setdefault(person.row, []).append(student)
        for row, files in claimed.items():
            if len(files) > 1:
                raise ReportError(
                    f"{self.path} row {row} matches {len(files)} submissions ("
                    + ", ".join(f + ".ipynb" for f in files)
                    + "): give the path below the submissions folder in its file column"
                )
        return Matched(
            people, [s for s in students if s not in people], [p for p in self.people if p.row not in claimed]
        )


def read_roster(path: str | Path) -> Roster:
    """A roster CSV: a student id (required) and any of file, name, section, login, canvas id, submitted."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read the roster {path}: {exc}") from None
    reader = csv.reader(io.StringIO(text))
    header = [h.strip().lower().replace("_", " ") for h in next(reader, [])]
    column = {key: next((i for i, h in enumerate(header) if h in names), None) for key, names in ROSTER_COLUMNS.items()}
    if "sis user id" in header:  # a Canvas export: the student id is its SIS User ID, its "ID" Canvas's own
        column["id"] = header.index("sis user id")
        column["canvas_id"] = header.index("id") if "id" in header else column["canvas_id"]
    if column["id"] is None:
        raise ReportError(f"{path}: no student id column (one of: {', '.join(ROSTER_COLUMNS['id'])})")
    people, seen_ids, seen_files = [], {}, {}
    for number, cells in enumerate(reader, 2):

        def cell(key: str, cells=cells) -> str:
            index = column[key]
            return cells[index].strip() if index is not None and index < len(cells) else ""

        if not any(c.strip() for c in cells) or "Points Possible" in cell("name"):
            continue  # blank rows, and the "Points Possible" row of a Canvas export
        if not cell("id") and cell("name") in CANVAS_TEST_STUDENT:
            continue  # the account of Canvas's student view, in every export: no one hands in as it
        if not cell("id"):
            raise ReportError(f"{path} row {number}: no student id")
        if cell("id") in seen_ids:
            raise ReportError(f"{path} row {number}: student id {cell('id')} is already on row {seen_ids[cell('id')]}")
        seen_ids[cell("id")] = number
        if cell("file"):
            if _stem(cell("file")) in seen_files:
                raise ReportError(
                    f"{path} row {number}: file {cell('file')} is already on row {seen_files[_stem(cell('file'))]}"
                )
            seen_files[_stem(cell("file"))] = number
        submitted = parse_time(cell("submitted"), f"{path} row {number}, submitted") if cell("submitted") else None
        people.append(
            Person(
                cell("id"),
                cell("name"),
                cell("section"),
                cell("login"),
                cell("canvas_id"),
                cell("file"),
                submitted,
                number,
            )
        )
    return Roster(str(path), people)


# --------------------------------------------------------------------------- when


SUBMITTED_FROM = ("mtime", "roster", "gradescope")


def gradescope_metadata(path: str | Path) -> dict | None:
    """Gradescope's ``submission_metadata.json`` for a submission in ``/autograder/submission/``, if there is one."""
    folder = Path(path).resolve().parent
    for candidate in (folder, *list(folder.parents)[:2]):
        meta = candidate / "submission_metadata.json"
        if meta.is_file():
            try:
                return json.loads(meta.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return None
    return None


def submitted_at(path: str | Path, source: str, person: Person | None = None) -> datetime | None:
    """When a submission came in, by the chosen source; None when that source does not know."""
    if source == "roster":
        return person.submitted if person else None
    if source == "gradescope":
        try:
            return parse_time(str((gradescope_metadata(path) or {})["created_at"]), "created_at")
        except (KeyError, ReportError):
            return None  # said in the summary: no submission time for ...
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, UTC)
    except OSError:
        return None


# --------------------------------------------------------------------------- rows


@dataclass
class Row:
    """One student's result on one assignment, as the CSV and the exports show it."""

    student: str  # the path below the submissions folder, without .ipynb
    assignment: str
    status: str  # graded | unreadable | kernel died | timed out | refused | grader error | missing
    max_score: float
    person: Person | None = None
    submitted: datetime | None = None
    late_days: int | None = None
    penalty: float = 0.0  # the fraction taken away
    checks: dict[str, float] = field(default_factory=dict)
    written: dict[str, float | None] = field(default_factory=dict)  # None: not graded by hand yet

    @property
    def before_penalty(self) -> float:
        return sum(self.checks.values()) + sum(p for p in self.written.values() if p is not None)

    @property
    def score(self) -> float:
        return self.before_penalty * (1 - self.penalty)


def make_rows(
    grades,
    checks,
    questions,
    assignment: str,
    *,
    matched: Matched | None = None,
    source: str = "mtime",
    deadline: datetime | None = None,
    policy: LatePolicy = LatePolicy(),
    marks: dict | None = None,
) -> list[Row]:
    """The rows of one run: one per submission, then one per roster student with none (status ``missing``)."""
    top = sum(c.points for c in checks) + sum(q.points for q in questions)
    marks = marks or {}
    rows = []
    for grade in grades:
        person = matched.people.get(grade.student) if matched else None
        when = submitted_at(grade.path, source, person)
        days = late_days(when, deadline)
        earned = {c.name: c.earned for c in grade.checks}
        written = {}
        for question in questions:
            mark = marks.get((grade.student, question.name))
            written[question.name] = mark.points if mark is not None else None
        rows.append(
            Row(
                grade.student,
                assignment,
                grade.status,
                top,
                person,
                when,
                days,
                policy.penalty(days),
                {c.name: earned.get(c.name, 0.0) for c in checks},
                written,
            )
        )
    for person in matched.missing if matched else []:
        rows.append(Row(_stem(person.file), assignment, "missing", top, person))
    return rows


def header(checks, questions, roster: bool) -> list[str]:
    return [
        "student",
        *(["student_id", "name", "section"] if roster else []),
        "assignment",
        "status",
        "submitted",
        "late_days",
        "penalty_percent",
        "score_before_penalty",
        "score",
        "max_score",
        *[c.name for c in checks],
        *[written_column(q.name) for q in questions],
    ]


def written_column(name: str) -> str:
    return f"{name} (written)"


def table_row(row: Row) -> dict[str, str]:
    """A row as CSV cells. A missing student's scores stay empty: no submission is not a score of 0."""
    person = row.person or Person("")
    cells = {
        "student": row.student,
        "student_id": person.id,
        "name": person.name,
        "section": person.section,
        "assignment": row.assignment,
        "status": row.status,
        "submitted": iso(row.submitted),
        "late_days": "" if row.late_days is None else str(row.late_days),
        "max_score": num(row.max_score),
    }
    if row.status == "missing":
        return cells
    cells |= {
        "penalty_percent": num(100 * row.penalty),
        "score_before_penalty": num(row.before_penalty),
        "score": num(row.score),
    }
    cells |= {name: num(points) for name, points in row.checks.items()}
    cells |= {written_column(name): "" if points is None else num(points) for name, points in row.written.items()}
    return cells


def write_table(out, columns: list[str], rows: list[dict[str, str]]) -> None:
    writer = csv.DictWriter(out, columns, restval="", extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)


# --------------------------------------------------------------------------- the CSV merge


def read_table(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """An existing grades CSV: its columns in order, and its rows. Refuses a file ``grade`` did not write."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from None
    reader = csv.DictReader(io.StringIO(text))
    columns = list(reader.fieldnames or [])
    if not {"student", "status", "score"} <= set(columns):
        raise ReportError(
            f"{path} exists but is not a grades file (no student, status and score columns); refusing to overwrite it"
        )
    return columns, [{k: v or "" for k, v in row.items() if k is not None} for row in reader]


def _key(row: dict[str, str]) -> tuple[str, str, str]:
    if row.get("student_id"):
        return row.get("assignment", ""), "id", row["student_id"]
    return row.get("assignment", ""), "file", row.get("student", "")


def merge(
    old_columns: list[str], old_rows: list[dict[str, str]], columns: list[str], rows: list[dict[str, str]]
) -> tuple[list[str], list[dict[str, str]]]:
    """This run's rows laid over an existing file's.

    A row is the same student's when the assignment matches and the student id
    does (the student path, for rows without an id, or for an old row without
    one). Rows of students not graded this time stay as they are, in place; the
    file's columns keep their order and new ones go at the end; in a row that
    is updated, the columns this run does not write (a teacher's notes) keep
    their values. A ``missing``
    row never replaces a row with a grade (a one-student regrade leaves the rest
    of the class alone).
    """
    merged_columns = old_columns + [c for c in columns if c not in old_columns]
    result = [dict(r) for r in old_rows]
    where = {_key(r): i for i, r in enumerate(result)}
    by_file = {
        (r.get("assignment", ""), r.get("student", "")): i
        for i, r in enumerate(result)
        if not r.get("student_id") and r.get("student")
    }
    for row in rows:
        index = where.get(_key(row))
        if index is None and row.get("student"):
            index = by_file.get((row.get("assignment", ""), row["student"]))
        if index is None:
            where[_key(row)] = len(result)
            result.append(dict(row))
        elif row.get("status") != "missing" or result[index].get("status") == "missing":
            result[index] = result[index] | row  # a column the teacher added (a note) keeps its value
    return merged_columns, result


def write_atomically(path: str | Path, text: str) -> None:
    """Write a whole file or nothing: a temporary file beside it, flushed to disk, then renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@contextmanager
def locked(path: str | Path):
    """Hold a lock on the file's folder, so two ``grade`` runs writing the same CSV take turns."""
    folder = Path(path).resolve().parent
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)  # closing releases the lock


def check_table(path: str | Path) -> None:
    """Fail before grading, not after, when ``--csv`` names a file that is not a grades file."""
    if Path(path).exists():
        read_table(path)


def renamed_students(path: str | Path, students: list[str], assignment: str) -> list[str]:
    """This run's students whom the file knows under a longer path (``sam`` there as ``a/sam``): what happens
    when a few are regraded without ``--root`` and the submissions folder is guessed one level too deep."""
    if not Path(path).exists():
        return []
    known = [r.get("student", "") for r in read_table(path)[1] if r.get("assignment", assignment) == assignment]
    clashes = []
    for student in students:
        longer = [k for k in known if k.endswith("/" + student)]
        if student not in known and longer:
            clashes.append(f"{student} (there as {' or '.join(longer)})")
    return clashes


def update_csv(path: str | Path, columns: list[str], rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Merge this run's rows into the file (creating it if need be); returns every row the file now holds."""
    with locked(path):
        if Path(path).exists():
            columns, rows = merge(*read_table(path), columns, rows)
        out = io.StringIO()
        write_table(out, columns, rows)
        write_atomically(path, out.getvalue())
    return rows


# --------------------------------------------------------------------------- Canvas


#: Canvas's gradebook import: these five student columns, then one column per assignment, then a
#: "Points Possible" row (Canvas's GradebookImporter: row 0 matches /Student/, row 1 /ID/, then
#: "SIS User ID", "SIS Login ID", and the last student column /Section/; an assignment column is
#: "Name (id)" for an existing assignment or a new name, which creates one).
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_POSSIBLE = "    Points Possible"  # as Canvas's own export spells it


def canvas_csv(roster: Roster, rows: list[dict[str, str]], column: str, points_possible: float, assignment: str) -> str:
    """A Canvas gradebook import for one assignment: every roster student, in roster order.

    The score is the one after the late penalty. A student with no graded row
    (no submission) gets an empty cell, which Canvas's import leaves unchanged.
    Canvas finds the student by its ID (Canvas's user id, when the roster has
    it), else by SIS User ID (the roster's student id), SIS Login ID, or name.
    """
    scores = {
        r["student_id"]: r.get("score", "")
        for r in rows
        if r.get("student_id") and r.get("assignment", assignment) == assignment and r.get("status") != "missing"
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CANVAS_COLUMNS, column])
    writer.writerow([CANVAS_POINTS_POSSIBLE, "", "", "", "", num(points_possible)])
    for person in roster.people:
        writer.writerow(
            [person.name, person.canvas_id, person.id, person.login, person.section, scores.get(person.id, "")]
        )
    return out.getvalue()


# --------------------------------------------------------------------------- Gradescope


#: Gradescope's visibilities (autograder specifications, "Controlling Test Case Visibility"). A hidden
#: check earns points, and tests marked "hidden" should not (they keep students from seeing their total),
#: so hidden checks are shown once the teacher publishes the grades.
HIDDEN_CHECK_VISIBILITY = "after_published"


def _check_output(check) -> str:
    lines = [check.status + (f": {check.reason}" if check.reason else "")]
    if check.hidden:
        if check.covers:
            lines.append(f"It tests {check.covers}.")
        return "\n".join(lines)  # never the expected answer of a hidden check, nor what it printed
    if check.status == "wrong output" and check.expected is not None:
        lines += ["", feedback.text_diff(check.expected, check.actual or "")]
    if check.where:
        lines += ["", "Where it went wrong in your code:", *[f"  {w}" for w in check.where]]
    if check.stray:
        lines += ["", "Your code printed this while the check ran (not counted):", check.stray.rstrip()[:2000]]
    return "\n".join(lines)


def gradescope_results(grade, row: Row, answers=(), marks: dict | None = None) -> dict:
    """One submission's ``results.json`` (Gradescope autograder specifications, "Output format").

    The top-level ``score`` is the final one (written answers and late penalty
    included); it overrides the sum of the tests, as the format says. Each
    check is a test with ``score``, ``max_score``, ``status``, ``name``,
    ``output`` and ``visibility``; a written answer graded by hand is a test
    too (without ``--manual`` those are left to Gradescope's own manual grading).
    """
    tests = []
    for number, check in enumerate(grade.checks, 1):
        tests.append(
            {
                "name": check.name + (" (hidden)" if check.hidden else ""),
                "number": str(number),
                "score": check.earned,
                "max_score": check.points,
                "status": "passed" if check.status == "passed" else "failed",
                "output": _check_output(check),
                "output_format": "text",
                "visibility": HIDDEN_CHECK_VISIBILITY if check.hidden else "visible",
            }
        )
    for answer in answers:
        mark = (marks or {}).get(answer.question.name)
        if mark is None or mark.points is None:
            continue
        tests.append(
            {
                "name": f"{answer.question.name} (written)",
                "number": str(len(tests) + 1),
                "score": mark.points,
                "max_score": answer.question.points,  # no status: points, not pass/fail
                "output": mark.comment,
                "output_format": "text",
                "visibility": "visible",
            }
        )
    summary = [f"Score: {num(row.score)} / {num(sum(t['max_score'] for t in tests))} ({grade.status})"]
    if row.penalty:
        summary.append(
            f"Late by {row.late_days} day(s): {num(100 * row.penalty)}% off "
            f"(before the penalty: {num(row.before_penalty)})"
        )
    summary += grade.problems
    if not grade.sandboxed:
        summary.append("Graded without the sandbox (--no-sandbox).")
    return {
        "score": round(row.score, 4),
        "execution_time": round(grade.seconds, 3),
        "output": "\n".join(summary),
        "output_format": "text",
        "tests": tests,
        "extra_data": {
            "student": grade.student,
            "status": grade.status,
            "late_days": row.late_days,
            "penalty_percent": round(100 * row.penalty, 4),
        },
    }


def write_gradescope(folder: str | Path, results: dict[str, dict]) -> list[Path]:
    """``results.json`` files: one in ``folder`` when one submission was graded (as Gradescope runs the grader,
    then ``folder`` is ``/autograder/results``), else ``folder/<student>/results.json`` each.

    They are written before ``grade`` exits 1 for a submission it could not grade, so a ``run_autograder``
    script that must end with status 0 can add ``|| true``: the student's results say what went wrong."""
    folder = Path(folder)
    written = []
    for student, result in results.items():
        target = folder / "results.json" if len(results) == 1 else folder / student / "results.json"
        write_atomically(target, json.dumps(result, indent=2) + "\n")
        written.append(target)
    return written


# --------------------------------------------------------------------------- feedback


def feedback_blocks(grade, row: Row, written: list[tuple] = ()) -> list[tuple]:
    """The student's feedback (:func:`feedback.blocks_for`) with who they are, the final score, lateness and
    the written answers."""
    blocks = feedback.blocks_for(grade)
    person = row.person
    if person is not None and person.name:
        blocks[0] = ("h1", f"Feedback for {person.name} ({grade.student})")
    for index, (kind, body) in enumerate(blocks):
        if kind == "p" and body.startswith("Score: "):
            blocks[index] = ("p", f"Score: **{num(row.score)} / {num(row.max_score)}** ({grade.status})")
            late = []
            if row.submitted is not None and row.late_days:
                late.append(
                    (
                        "p",
                        (
                            f"Submitted {iso(row.submitted)}, {row.late_days} day(s) after the deadline: "
                            f"{num(100 * row.penalty)}% off (before the penalty: {num(row.before_penalty)})."
                        ),
                    )
                )
            blocks[index + 1 : index + 1] = late
            break
    checks_at = next((i for i, (kind, body) in enumerate(blocks) if kind == "table"), len(blocks) - 1)
    blocks[checks_at + 1 : checks_at + 1] = list(written)
    return blocks


def render_feedback(grade, row: Row, written: list[tuple] = (), fmt: str = "md") -> str:
    blocks = feedback_blocks(grade, row, written)
    return feedback.to_html(blocks) if fmt == "html" else feedback.to_markdown(blocks)
