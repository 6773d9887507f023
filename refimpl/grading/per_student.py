"""Expected answers of one's own: what the solution answers for this student's inputs.

A per-student check (``course.per_student``, always hidden) draws its inputs
from the student's id through :class:`refimpl.variant.Variant`. Its expected
output cannot be stored in the solution notebook, which was run for one id
only; so, for each student, the grader runs the teacher's solution once more in
the same sandbox with that student's id and takes the solution's answers to
those checks as the expected ones. The student's own run never supplies an
expected answer.

Which id: the class roster's student id when the teacher gives a roster (the
grader's id wins over the one typed in the notebook, so a copied notebook still
gets the copier's inputs); without a roster, the id written in the notebook's
``Variant(..., student="...")`` call, and the report says that this id was not
checked against a roster.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from refimpl.grading import assemble, notebook, python_source, sandbox
from refimpl.variant import PLACEHOLDER


class ReferenceFailed(RuntimeError):
    """The solution itself did not answer a per-student check for this id: the teacher's problem."""


@dataclass(frozen=True)
class Identity:
    """The id a submission is graded for, and where it came from (said in the report)."""

    student_id: str  # "" when there is none
    source: str  # "roster", "notebook" or "none"
    declared: str  # the id the notebook names ("" when it names none)


def declared_id(nb) -> str:
    """The student id a notebook names in its ``Variant(exercise, student="...")`` call, or ""."""
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        tree = python_source.parse(cell.get("source", ""))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name != "Variant":
                continue
            given = [k.value for k in node.keywords if k.arg == "student"]
            given += node.args[1:2]
            for value in given:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    return value.value.strip()
    return ""


def identity(submission, roster_id: str | None) -> Identity:
    declared = declared_id(submission)
    if roster_id:
        return Identity(roster_id, "roster", declared)
    if declared and declared != PLACEHOLDER:
        return Identity(declared, "notebook", declared)
    return Identity("", "none", declared)


def notes(who: Identity) -> list[str]:
    """What the report says about the id (findings for the teacher; no effect on the grade)."""
    if who.source == "roster" and who.declared and who.declared not in (who.student_id, PLACEHOLDER):
        return [
            f"the notebook names student id {who.declared!r}, but it was graded as {who.student_id!r} "
            "(the roster's): its inputs were drawn for the roster's id"
        ]
    if who.source == "notebook":
        return [
            f"graded for student id {who.student_id!r}, as the notebook names it; no roster was given, so "
            "nothing checked that the id is this student's own"
        ]
    return []


def reference_answers(
    assignment,
    student_id: str,
    *,
    limits: sandbox.Limits,
    use_sandbox: bool,
    slot: int,
) -> dict[str, str]:
    """The solution's answers to its per-student checks, run with ``student_id``: {check name: canonical text}."""
    wanted = {c.name for c in notebook.checks(assignment) if c.per_student}
    plan = assemble.build(assignment, assignment)
    run = sandbox.run({**plan.job(), "student_id": student_id}, limits, sandbox=use_sandbox, slot=slot)
    by_cell = {}
    for record in run.records:
        if isinstance(record.get("cell"), str):
            by_cell.setdefault(record["cell"], record)
    answers = {}
    for cell in plan.cells:
        if cell.kind == "check" and cell.check in wanted:
            record = by_cell.get(cell.id) or {}
            if record.get("status") != "ok" or not isinstance(record.get("answer"), str):
                why = (record.get("error") or {}).get("ename") or record.get("status") or run.detail or "not run"
                raise ReferenceFailed(
                    f"the solution does not answer its per-student check {cell.check!r} for student id "
                    f"{student_id!r} ({why}): fix the solution, then grade again"
                )
            answers[cell.check] = record["answer"]
    return answers
