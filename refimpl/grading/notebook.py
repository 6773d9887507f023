"""Notebook helpers shared by ``release`` and ``grade``.

Course conventions (see the teacher's guide):

- a *check cell* is a code cell whose metadata holds
  ``{"course": {"check": "<name>", "points": N}}``; its stored outputs are the
  expected output, and its cell id is how the grader finds it again;
- a *solution region* in a code cell sits between ``### BEGIN SOLUTION`` and
  ``### END SOLUTION``; ``release`` replaces it with a stub.
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


def check_meta(cell) -> dict | None:
    """The ``course`` metadata of a check cell, or None for any other cell."""
    if cell.get("cell_type") != "code":
        return None
    course = cell.get("metadata", {}).get("course")
    if isinstance(course, dict) and course.get("check"):
        return course
    return None


def is_check(cell) -> bool:
    return check_meta(cell) is not None


def canonical_text(outputs) -> str:
    """The text a check cell showed, in one string.

    Check cells print text; a trailing expression is shown as its text/plain
    repr. Both become one stdout-like string, which is what the in-kernel
    guard (``guard.run_check``) produces for the real run, so the two compare
    like for like. stderr (warnings) is left out on purpose.
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
        if not cell.get("id"):
            raise NotebookError(f"check cell {name!r} has no cell id (nbformat >= 4.5 needed)")
        seen.add(name)
        found.append(
            Check(
                name=name,
                cell_id=cell["id"],
                points=float(meta.get("points", 1)),
                source=cell.source,
                expected=canonical_text(cell.get("outputs", [])),
            )
        )
    return found


def has_solution(source: str) -> bool:
    return any(BEGIN_RE.match(line) for line in source.splitlines())


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

    Cells keep their ids (the grader matches on them). A cell that held a
    solution loses its outputs too, since they would give the answer away;
    check cells keep their stored outputs: they are what students aim for.
    """
    nb = copy.deepcopy(solution)
    for cell in nb.cells:
        for volatile in VOLATILE_METADATA:  # run timings: re-running a solution must not change its exercise
            cell.get("metadata", {}).pop(volatile, None)
        if cell.cell_type != "code" or not has_solution(cell.source):
            continue
        cell.source = stub_source(cell.source)
        cell.outputs = []
        cell.execution_count = None
    nb.metadata.setdefault("course", {})["generated_from"] = "solutions (python -m refimpl release)"
    return nb
