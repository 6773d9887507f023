"""Notebook helpers shared by ``release`` and ``grade``.

Course conventions (see the teacher's guide):

- a *check cell* is a code cell whose metadata holds
  ``{"course": {"check": "<name>", "points": N}}``; its stored outputs (in the
  solution notebook) are the expected output;
- a *hidden* check also has ``"hidden": true``: it is left out of the released
  exercise entirely (code and output) and still graded. ``"task": "<name>"``
  ties it to the public check of the same task (a public check's points count
  only once the task's hidden checks pass too: its answer is public), and
  ``"covers": "<words>"`` says what it tests without giving it away;
- a *per-student* check is a hidden check with ``"per_student": true``: its
  inputs come from the student's id (:mod:`refimpl.variant`), so its expected
  output is not the stored one; the grader computes it for each student by
  running the solution with that student's id;
- a *solution region* in a code cell sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``; ``release`` replaces it with a stub;
- a *written answer* is a markdown cell whose metadata holds
  ``{"course": {"manual": "<name>", "points": N}}``: its text in the solution
  is the model answer, which ``release`` replaces by ``"prompt"`` (or
  ``MANUAL_PROMPT``); the teacher grades it by hand (:mod:`refimpl.grading.manual`).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

NBFORMAT = 4

BEGIN_RE = re.compile(r"^(?P<indent>[ \t]*)###\s*BEGIN SOLUTION\b(?:\s*hint:\s*(?P<hint>.*?))?\s*$")
END_RE = re.compile(r"^[ \t]*###\s*END SOLUTION\b")
DEFAULT_HINT = "replace this line with your solution"
VOLATILE_METADATA = ("execution", "ExecuteTime")
#: A cell that draws from the student's own inputs (``variant = Variant(...)``, :mod:`refimpl.variant`).
USES_VARIANT = re.compile(r"\bvariant\s*\.")


class NotebookError(ValueError):
    """A file that is not a notebook we can grade (bad JSON, wrong format)."""


@dataclass(frozen=True)
class Check:
    """One check cell of an assignment."""

    name: str
    cell_id: str
    points: float
    source: str
    expected: str  # canonical expected text (see ``canonical_text``)
    hidden: bool = False
    task: str = ""  # the task it belongs to: its own name unless metadata says
    covers: str = ""  # for a hidden check: what it tests, in words a student may read
    per_student: bool = False  # expected output recomputed per student id (see the module docstring)


def read(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every kind of breakage into one clear error."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"cannot read {path}: {exc}") from None
    return reads(text, str(path))


def reads(text: str, name: str = "notebook") -> nbformat.NotebookNode:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"{name} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise NotebookError(f"{name} is JSON but not a Jupyter notebook (no 'cells' list)")
    try:
        nb = nbformat.reads(text, as_version=NBFORMAT)
    except Exception as exc:  # nbformat raises many kinds on odd input
        raise NotebookError(f"{name} is not a valid notebook: {exc}") from None
    return nb


def write(nb: nbformat.NotebookNode, path: str | Path) -> None:
    """Write like Jupyter does (1-space indent, trailing newline) so diffs stay small."""
    Path(path).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")


def _course(cell, cell_type: str, key: str) -> dict | None:
    """A cell's ``course`` metadata when the cell is of ``cell_type`` and the metadata names ``key``."""
    if cell.get("cell_type") != cell_type:
        return None
    course = cell.get("metadata", {}).get("course")
    return course if isinstance(course, dict) and course.get(key) else None


def check_meta(cell) -> dict | None:
    """The ``course`` metadata of a check cell, or None for any other cell."""
    return _course(cell, "code", "check")


def is_check(cell) -> bool:
    return check_meta(cell) is not None


MANUAL_PROMPT = "*Write your answer here.*"


def manual_meta(cell) -> dict | None:
    """The ``course`` metadata of a written-answer cell (markdown, ``course.manual``), or None."""
    return _course(cell, "markdown", "manual")


def canonical_text(outputs) -> str:
    """The text a check cell showed, in one string.

    Check cells print text; a trailing expression is shown as its text/plain
    repr. Both become one stdout-like string, which is what the runner
    (``runner.run_check``) answers for the real run, so the two compare like
    for like. stderr (warnings) is left out on purpose.
    """
    parts = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream" and out.get("name") == "stdout":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain")
            if text is not None:
                parts.append((text if isinstance(text, str) else "".join(text)) + "\n")
        elif kind == "error":
            parts.append(f"{out.get('ename')}: {out.get('evalue')}\n")
    return "".join(parts)


def checks(nb) -> list[Check]:
    """Every check cell of an assignment, in notebook order."""
    found, seen = [], set()
    for cell in nb.cells:
        meta = check_meta(cell)
        if meta is None:
            continue
        name = str(meta["check"])
        if name in seen:
            raise NotebookError(f"two check cells are named {name!r}")
        seen.add(name)
        per_student = meta.get("per_student") is True
        if per_student and meta.get("hidden") is not True:
            raise NotebookError(
                f"check {name!r} is per_student but not hidden: its expected output differs per student, "
                "so no stored output could be released for it"
            )
        found.append(
            Check(
                name=name,
                cell_id=cell.get("id", ""),
                points=float(meta.get("points", 1)),
                source=cell.source,
                expected=canonical_text(cell.get("outputs", [])),
                hidden=meta.get("hidden") is True,
                task=str(meta.get("task") or name),
                covers=str(meta.get("covers", "")),
                per_student=per_student,
            )
        )
    return found


def public_checks(nb) -> list[Check]:
    return [c for c in checks(nb) if not c.hidden]


def has_solution(source: str) -> bool:
    return any(BEGIN_RE.match(line) for line in source.splitlines())


def solution_text(source: str) -> str:
    """The lines inside a cell's solution regions (what release takes out)."""
    out, inside = [], False
    for line in source.splitlines():
        if BEGIN_RE.match(line):
            inside = True
        elif END_RE.match(line):
            inside = False
        elif inside:
            out.append(line)
    return "\n".join(out)


def stub_source(source: str) -> str:
    """Replace each solution region by ``raise NotImplementedError(hint)``.

    The stub keeps the indent of the ``### BEGIN SOLUTION`` line, so a region
    inside a function body becomes the body of that function.
    """
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), 1):
        begin = BEGIN_RE.match(line)
        if begin:
            if inside:
                raise NotebookError(f"line {number}: BEGIN SOLUTION inside another region")
            inside = True
            hint = (begin.group("hint") or DEFAULT_HINT).strip()
            out.append(f"{begin.group('indent')}raise NotImplementedError({hint!r})")
        elif END_RE.match(line):
            if not inside:
                raise NotebookError(f"line {number}: END SOLUTION without BEGIN")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise NotebookError("a BEGIN SOLUTION region is never closed")
    return "\n".join(out)


def exercise_from(solution: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The student's version of a solution notebook.

    A cell that held a solution loses its outputs too, since they would give
    the answer away; so does a cell that uses the student's ``variant``, whose
    outputs were drawn for the solution's placeholder id. Hidden checks are left out entirely; the notebook's
    metadata says only what they cover and what they are worth. Public check
    cells keep their stored outputs (what students aim for) and carry the same
    text in ``course.expected``, which running the notebook does not change:
    the self-check (``python -m refimpl check``) compares with that.
    """
    nb = copy.deepcopy(solution)
    hidden = [c for c in checks(nb) if c.hidden]
    nb.cells = [cell for cell in nb.cells if not (check_meta(cell) or {}).get("hidden")]
    for cell in nb.cells:
        meta = check_meta(cell)
        if meta is not None:
            meta["expected"] = canonical_text(cell.get("outputs", []))
        for volatile in VOLATILE_METADATA:  # run timings: re-running a solution must not change its exercise
            cell.get("metadata", {}).pop(volatile, None)
        written = manual_meta(cell)
        if written is not None:  # the solution's text is the model answer: students get the prompt only
            cell.source = str(written.get("prompt") or MANUAL_PROMPT)
            cell.pop("attachments", None)
            continue
        if cell.cell_type == "code" and USES_VARIANT.search(cell.source):
            if meta is not None:
                raise NotebookError(
                    f"public check {meta['check']!r} uses the student's variant: its output would differ per "
                    "student; make it a hidden per_student check"
                )
            cell.outputs = []  # drawn for the solution's placeholder id, not for the student's
            cell.execution_count = None
        if cell.cell_type != "code" or not has_solution(cell.source):
            continue
        cell.source = stub_source(cell.source)
        cell.outputs = []
        cell.execution_count = None
    course = nb.metadata.setdefault("course", {})
    course["generated_from"] = "solutions (python -m refimpl release)"
    if hidden:
        course["hidden_checks"] = [{"task": c.task, "points": c.points, "covers": c.covers} for c in hidden]
    return nb
