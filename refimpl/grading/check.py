"""``python -m refimpl check exercises/NN_topic.ipynb``: a student's self-check before handing in.

It runs the notebook **as saved** from a fresh start (never trusting the
outputs stored in it, which came from the student's own runs), with the public
checks among its cells, and compares each check's answer with the expected
answer that release wrote into the check cell's metadata (``course.expected``),
which running the notebook does not change. It prints each public check's
result and points, then what the hidden checks cover and what they are worth,
never their answers: a public check passing shows the notebook runs and agrees
on the examples everyone can see, the hidden ones decide the grade.

From a cell of the notebook itself (save first)::

    from refimpl.grading.check import self_check
    self_check("07_tftp.ipynb")
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import nbformat

from refimpl.grading import assemble, grade, notebook, sandbox

#: Set inside the grader's sandbox, so a self-check cell in a submission does nothing there.
GRADING_ENV = "COURSE_GRADING"


def _assignment_from(exercise):
    """The exercise with each public check's expected answer where the grader looks for it (its outputs)."""
    assignment = copy.deepcopy(exercise)
    missing = []
    for cell in assignment.cells:
        meta = notebook.check_meta(cell)
        if meta is None:
            continue
        if not isinstance(meta.get("expected"), str):
            missing.append(str(meta["check"]))
            continue
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=meta["expected"])]
    return assignment, missing


def run(path: str | Path, *, cell_timeout: float = 30, out=None) -> int:
    """Check one saved notebook; print the report. 0 when every public check passes, 1 otherwise, 2 on bad input."""
    out = sys.stdout if out is None else out
    path = Path(path)
    try:
        exercise = notebook.read(path)
    except notebook.NotebookError as exc:
        print(f"check: {exc}", file=out)
        return 2
    assignment, missing = _assignment_from(exercise)
    checks = [c for c in notebook.checks(assignment) if c.name not in missing]
    if not checks:
        print(
            f"check: {path.name} has no public checks with an expected answer (course.expected); "
            "use the exercise notebook as released",
            file=out,
        )
        return 2
    plan = assemble.build(assignment, exercise)
    plan.checks = checks
    plan.cells = [c for c in plan.cells if c.kind != "check" or c.check not in missing]
    use_sandbox = sandbox.unavailable() is None
    result = sandbox.run(plan.job(), sandbox.Limits(cell_timeout=cell_timeout), sandbox=use_sandbox)
    results = grade.score(plan, result, cell_timeout)

    print(
        f"Self-check of {path.name}: the notebook as saved, run from a fresh start"
        + ("" if use_sandbox else " (no sandbox on this machine)"),
        file=out,
    )
    width = max(len(r.name) for r in results)
    for r in results:
        mark = "ok  " if r.status == "passed" else "FAIL"
        print(
            f"  {mark} {r.name:<{width}}  {r.points:g} point(s)"
            + ("" if r.status == "passed" else f"  {r.status}: {r.reason}"),
            file=out,
        )
        for line in r.where:
            print(f"         at {line}", file=out)
        if r.status == "wrong output":
            for label, text in (("expected", r.expected or ""), ("got", r.actual or "")):
                shown = text.rstrip()
                shown = shown if len(shown) <= 300 else shown[:300] + " ..."
                print(f"         {label}: " + shown.replace("\n", "\n" + " " * (len(label) + 11)), file=out)
    if result.status != "ok":
        print(f"  The run stopped early: {result.detail}", file=out)
    passed = sum(r.points for r in results if r.status == "passed")
    print(f"Public checks: {passed:g} of {sum(r.points for r in results):g} points pass.", file=out)
    hidden = exercise.metadata.get("course", {}).get("hidden_checks", [])
    if hidden:
        total = sum(float(h.get("points", 0)) for h in hidden)
        print(
            f"The grader also runs {len(hidden)} hidden check(s) worth {total:g} point(s), on other inputs; "
            "a public check's points count once its task's hidden checks pass too:",
            file=out,
        )
        for h in hidden:
            print(
                f"  - task {h.get('task')}: {h.get('covers') or 'the same skill on other inputs'} "
                f"({float(h.get('points', 0)):g} point(s))",
                file=out,
            )
    if missing:
        print(f"(No expected answer stored for: {', '.join(missing)}; not checked.)", file=out)
    return 0 if all(r.status == "passed" for r in results) and result.status == "ok" else 1


def self_check(path: str | Path, cell_timeout: float = 30) -> None:
    """The same from a notebook cell. Does nothing while the grader runs the notebook."""
    if os.environ.get(GRADING_ENV):
        print("(self-check skipped: the grader is running this notebook)")
        return
    run(path, cell_timeout=cell_timeout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl check", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="your saved exercise notebook")
    parser.add_argument("--timeout", type=float, default=30, help="seconds allowed per cell (default 30)")
    args = parser.parse_args(argv)
    return run(args.notebook, cell_timeout=args.timeout)
