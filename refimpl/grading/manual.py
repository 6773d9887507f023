"""Written answers, graded by hand: one sheet per assignment, and the teacher's points merged back.

Some questions want a sentence, not a program ("why does a client broadcast its
DISCOVER?"). The solution notebook marks such an answer cell, a markdown cell,
with ``{"course": {"manual": "<name>", "points": N}}``; its text there is the
model answer, and ``release`` gives students the prompt instead.

The grader cannot judge prose, so it does the clerical part:

1. ``collect`` finds each student's answer in the submission: the markdown
   cell marked as that answer (its metadata survived), else **by position**:
   the first markdown cell the student wrote after the same check or heading
   that comes before the answer in the assignment (the exercise's own text,
   such as the question, is skipped). What was found how is said in words.
2. ``write_sheet`` puts every answer of every student into one sheet (CSV, or
   an HTML page that saves the same CSV): student, question, the answer,
   its maximum, and empty ``points`` and ``comment`` columns for the teacher.
3. ``read_sheet`` reads the filled sheet back (``grade --manual SHEET.csv``);
   a row whose points are not a number, are negative or exceed the maximum is
   an error naming its row, so a typo never becomes a grade.

The points then count in the score columns of the grades CSV and the teacher's
comment appears in the student's feedback (:mod:`refimpl.grading.reports`).
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

from refimpl.grading import assemble, notebook

#: The sheet's columns, in order; the teacher fills in ``points`` and ``comment``.
SHEET_COLUMNS = [
    "assignment",
    "student",
    "student_id",
    "name",
    "question",
    "answer",
    "max_points",
    "points",
    "comment",
    "found",
]
#: A cell starting with one of these is a formula to a spreadsheet (CSV injection): the sheet quotes it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SheetError(ValueError):
    """A manual-grading sheet that cannot be merged; the message names the rows."""


@dataclass(frozen=True)
class Anchor:
    """What comes before an answer cell in the assignment: a check, a heading, or the start."""

    kind: str  # check | heading | start
    key: str = ""  # the check's name, or the heading's text
    source: str = ""  # the check's code, to find it by similarity when its metadata is lost

    @property
    def words(self) -> str:
        return {"check": f"check `{self.key}`", "heading": f"the heading `{self.key}`"}.get(
            self.kind, "the start of the notebook"
        )


@dataclass(frozen=True)
class Question:
    name: str
    points: float
    model: str  # the solution's text: the model answer, for the teacher only
    prompt: str  # what the released exercise shows in its place
    anchor: Anchor


@dataclass
class Answer:
    question: Question
    text: str  # "" when there is no answer
    found: str  # in words: where it was found, or why not


@dataclass
class Mark:
    """What the teacher entered for one answer."""

    points: float | None  # None: not graded yet
    comment: str
    answer: str  # the answer as the sheet showed it (to notice a changed submission)
    row: int


def _heading(source: str) -> str:
    """A markdown cell's heading line (``## 4. Broadcast``), or "" when it does not open with one."""
    for line in source.splitlines():
        if line.strip():
            return line.strip() if line.lstrip().startswith("#") else ""
    return ""


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def questions(assignment) -> list[Question]:
    """Every written-answer cell of an assignment, in notebook order, with the check or heading before it."""
    found, anchor = [], Anchor("start")
    for cell in assignment.cells:
        meta = notebook.manual_meta(cell)
        if meta is not None:
            name = str(meta["manual"])
            if any(q.name == name for q in found):
                raise notebook.NotebookError(f"two written-answer cells are named {name!r}")
            try:
                points = float(meta.get("points", 1))
            except (TypeError, ValueError):
                points = math.nan
            if not math.isfinite(points) or points < 0:
                raise notebook.NotebookError(f"written answer {name!r}: points must be a number >= 0")
            found.append(Question(name, points, cell.source, str(meta.get("prompt") or notebook.MANUAL_PROMPT), anchor))
            continue
        check = notebook.check_meta(cell)
        if check is not None and not check.get("hidden"):  # hidden checks are not in the student's notebook
            anchor = Anchor("check", str(check["check"]), cell.source)
        elif cell.get("cell_type") == "markdown" and _heading(cell.source):
            anchor = Anchor("heading", _heading(cell.source))
    return found


def _label(cells, index: int) -> str:
    return f"the markdown cell `{assemble.first_line(cells[index].get('source', ''))}`"


def _check_positions(assignment, cells) -> dict[int, str]:
    """Which of the submission's cells are public checks: by metadata, else by their code."""
    public = [c for c in notebook.checks(assignment) if not c.hidden]
    at: dict[int, str] = {}
    for index, cell in enumerate(cells):
        name = str((notebook.check_meta(cell) or {}).get("check", ""))
        if any(c.name == name for c in public):
            at[index] = name
    for check in public:
        if check.name in at.values():
            continue
        best = max(
            (
                (assemble.similarity(cell.get("source", ""), check.source), index)
                for index, cell in enumerate(cells)
                if cell.get("cell_type") == "code" and index not in at
            ),
            default=(0.0, -1),
        )
        if best[0] >= assemble.SIMILAR:
            at[best[1]] = check.name
    return at


def _locate(anchor: Anchor, cells, checks_at: dict[int, str]) -> int | None:
    """The index of the anchor in the submission (-1 for the start), or None when it is not there."""
    if anchor.kind == "start":
        return -1
    if anchor.kind == "check":
        return next((index for index, name in checks_at.items() if name == anchor.key), None)
    return next(
        (
            index
            for index, cell in enumerate(cells)
            if cell.get("cell_type") == "markdown" and _heading(cell.get("source", "")) == anchor.key
        ),
        None,
    )


def collect(assignment, submission) -> list[Answer]:
    """Each written answer of the assignment, as found in one submission.

    First every answer marked by metadata, then the rest by position, so an
    answer cell that kept its metadata is never taken for another one.
    """
    cells = list(submission.cells)
    given = {
        _normal(c.source)
        for c in assignment.cells
        if c.get("cell_type") == "markdown" and notebook.manual_meta(c) is None
    }
    headings = {_heading(c.source) for c in assignment.cells if c.get("cell_type") == "markdown"} - {""}
    checks_at = _check_positions(assignment, cells)
    taken: set[int] = set()

    def answer(question: Question, index: int, how: str) -> Answer:
        taken.add(index)
        text = cells[index].get("source", "")
        if _normal(text) in ("", _normal(question.prompt)):
            return Answer(question, "", f"{how}, left as the exercise gave it: no answer")
        if _normal(text) == _normal(question.model):
            how += " (word for word the model answer)"
        return Answer(question, text, how)

    def by_metadata(question: Question) -> Answer | None:
        for index, cell in enumerate(cells):
            if index not in taken and str((notebook.manual_meta(cell) or {}).get("manual", "")) == question.name:
                return answer(question, index, f"found by its metadata in {_label(cells, index)}")
        return None

    def by_position(question: Question) -> Answer:
        start = _locate(question.anchor, cells, checks_at)
        if start is None:
            return Answer(
                question,
                "",
                f"not found: no markdown cell is marked as this answer, and "
                f"{question.anchor.words} is not in the notebook",
            )
        for index in range(start + 1, len(cells)):
            cell = cells[index]
            if index in checks_at or (
                cell.get("cell_type") == "markdown" and _heading(cell.get("source", "")) in headings
            ):
                break  # the assignment's next check or heading: past where the answer belongs
            if (
                cell.get("cell_type") != "markdown"
                or index in taken
                or notebook.manual_meta(cell) is not None
                or _normal(cell.get("source", "")) in given
            ):
                continue  # code, another answer, or the exercise's own text (the question itself)
            return answer(
                question,
                index,
                f"found by its position: {_label(cells, index)}, the first one written after {question.anchor.words}",
            )
        return Answer(
            question,
            "",
            f"not found: no markdown cell is marked as this answer, and none written after {question.anchor.words}",
        )

    asked = questions(assignment)
    found = {q.name: a for q in asked if (a := by_metadata(q)) is not None}
    return [found.get(q.name) or by_position(q) for q in asked]


# --------------------------------------------------------------------------- the sheet


def spreadsheet_safe(text: str) -> str:
    """Student text a spreadsheet shows as text: one leading ``'`` before what it would run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


@dataclass
class SheetRow:
    assignment: str
    student: str
    student_id: str
    name: str
    answer: Answer

    def cells(self) -> dict[str, str]:
        question = self.answer.question
        return {
            "assignment": self.assignment,
            "student": self.student,
            "student_id": self.student_id,
            "name": self.name,
            "question": question.name,
            "answer": spreadsheet_safe(self.answer.text),
            "max_points": f"{question.points:g}",
            "points": "",
            "comment": "",
            "found": self.answer.found,
        }


def sheet_csv(rows: list[SheetRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, SHEET_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(row.cells() for row in rows)
    return out.getvalue()


#: The HTML sheet saves the same CSV as ``sheet_csv`` (RFC 4180 quoting), with the teacher's points and comments.
_SAVE_SCRIPT = """
const COLUMNS = %s;
function quote(v) { v = String(v); return /[",\\n\\r]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
function sheetCsv() {
  const lines = [COLUMNS.join(",")];
  for (const tr of document.querySelectorAll("tr[data-row]")) {
    const row = JSON.parse(tr.dataset.row);
    row.points = tr.querySelector("input.points").value.trim();
    row.comment = tr.querySelector("textarea.comment").value;
    lines.push(COLUMNS.map(c => quote(row[c] ?? "")).join(","));
  }
  return lines.join("\\n") + "\\n";
}
function save() {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([sheetCsv()], {type: "text/csv"}));
  link.download = document.body.dataset.csvName;
  link.click();
}
"""


def sheet_html(rows: list[SheetRow], questions_: list[Question], csv_name: str) -> str:
    """A page to read the answers beside the model answer and enter points; its button saves the CSV sheet."""
    e = html.escape
    style = (
        "body{font-family:sans-serif;max-width:75em;margin:auto}td,th{padding:4px 8px;vertical-align:top;"
        "text-align:left;border-bottom:1px solid #ddd}pre{white-space:pre-wrap;margin:0}"
        ".model{background:#eef6ee;padding:6px}input.points{width:4em}textarea.comment{width:22em}"
    )
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Written answers</title>",
        f"<style>{style}</style></head><body data-csv-name='{e(csv_name, quote=True)}'>",
        "<h1>Written answers</h1>",
        (
            "<p>Enter points and a comment, then <button onclick='save()'>save the sheet as CSV</button> and run "
            f"<code>grade ... --manual {e(csv_name)}</code>.</p>"
        ),
    ]
    for question in questions_:
        parts.append(f"<h2>{e(question.name)} ({question.points:g} points)</h2>")
        parts.append(f"<p>Model answer:</p><div class='model'><pre>{e(question.model)}</pre></div>")
        parts.append("<table><tr><th>student</th><th>answer</th><th>points</th><th>comment</th></tr>")
        for row in rows:
            if row.answer.question.name != question.name:
                continue
            who = row.student + (f" ({row.name})" if row.name else "")
            data = e(json.dumps(row.cells()), quote=True)
            parts.append(
                f"<tr data-row='{data}'><td>{e(who)}</td>"
                f"<td><pre>{e(row.answer.text) or '<i>(no answer)</i>'}</pre><small>{e(row.answer.found)}"
                f"</small></td><td><input class='points' inputmode='decimal'> / {question.points:g}</td>"
                "<td><textarea class='comment'></textarea></td></tr>"
            )
        parts.append("</table>")
    parts.append(f"<script>{_SAVE_SCRIPT % json.dumps(SHEET_COLUMNS)}</script></body></html>")
    return "\n".join(parts) + "\n"


def _points(text: str, question: Question, where: str) -> float | None:
    text = text.strip()
    if not text:
        return None
    try:
        value = float(text.replace(",", ".") if text.count(",") == 1 and "." not in text else text)
    except ValueError:
        raise SheetError(f"{where}: points {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise SheetError(f"{where}: points {text!r} must be a number from 0 to {question.points:g}")
    if value > question.points:
        raise SheetError(f"{where}: points {text} are above the maximum of {question.points:g}")
    return value


def read_sheet(path: str | Path, questions_: list[Question], assignment: str) -> dict[tuple[str, str], Mark]:
    """{(student, question): Mark} from a filled sheet, for the rows of this assignment.

    Every bad row is reported at once (row numbers as a spreadsheet shows them:
    the header is row 1); nothing is merged while any row is bad.
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a spreadsheet may add a byte-order mark
    except (OSError, UnicodeDecodeError) as exc:
        raise SheetError(f"cannot read the sheet {path}: {exc}") from None
    first = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text), delimiter=";" if ";" in first and "," not in first else ",")
    missing = [c for c in ("student", "question", "points", "comment") if c not in (reader.fieldnames or [])]
    if missing:
        raise SheetError(f"{path} is not a manual-grading sheet: no column {', '.join(missing)}")
    by_name = {q.name: q for q in questions_}
    marks: dict[tuple[str, str], Mark] = {}
    errors, others = [], set()
    for number, row in enumerate(reader, 2):
        if (row.get("assignment") or assignment) != assignment:
            others.add(row["assignment"])
            continue  # another assignment's rows: not ours to merge
        student, name = (row.get("student") or "").strip(), (row.get("question") or "").strip()
        where = f"{path} row {number} (student {student or '?'}, question {name or '?'})"
        question = by_name.get(name)
        if question is None:
            errors.append(f"{where}: the assignment has no written answer named {name!r}")
            continue
        try:
            points = _points(row.get("points") or "", question, where)
        except SheetError as exc:
            errors.append(str(exc))
            continue
        if (student, name) in marks:
            errors.append(f"{where}: the same answer is already graded in row {marks[student, name].row}")
            continue
        marks[student, name] = Mark(points, (row.get("comment") or "").strip(), row.get("answer") or "", number)
    if errors:
        raise SheetError("\n".join(errors))
    if not marks and others:  # a renamed assignment file would otherwise merge nothing, silently
        raise SheetError(f"{path} has no row for assignment {assignment}, only for {', '.join(sorted(others))}")
    return marks


# --------------------------------------------------------------------------- feedback


def feedback_blocks(answers: list[Answer], marks: dict[str, Mark]) -> list[tuple]:
    """The "Written answers" part of a student's feedback (blocks as in :mod:`refimpl.grading.feedback`)."""
    if not answers:
        return []
    rows = [("question", "points", "teacher's comment")]
    for answer in answers:
        question, mark = answer.question, marks.get(answer.question.name)
        if mark is None or mark.points is None:
            rows.append((question.name, f"? / {question.points:g}", "not graded yet"))
        else:
            rows.append((question.name, f"{mark.points:g} / {question.points:g}", mark.comment or "-"))
    out: list[tuple] = [("h2", "Written answers"), ("table", rows)]
    unfound = [f"`{a.question.name}`: {a.found}" for a in answers if a.found.startswith("not found")]
    if unfound:
        out.append(("p", "Answers the grader could not find in your notebook:"))
        out.append(("list", unfound))
    return out


def changed_answers(answers_by_student: dict[str, list[Answer]], marks: dict[tuple[str, str], Mark]) -> list[str]:
    """Graded answers whose text is not what the sheet showed: the submission changed since the sheet was made."""
    changed = []
    for student, answers in answers_by_student.items():
        for answer in answers:
            mark = marks.get((student, answer.question.name))
            if (
                mark is not None
                and mark.points is not None
                and _normal(mark.answer) != _normal(spreadsheet_safe(answer.text))
            ):
                changed.append(f"{student} / {answer.question.name} (sheet row {mark.row})")
    return changed
