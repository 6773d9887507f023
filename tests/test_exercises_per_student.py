"""Per-student checks of the real exercises: each student's inputs, and so each student's answers, are their own.

A per-student check (``course.per_student``) draws its inputs from the student's id (:mod:`refimpl.variant`);
the grader recomputes its expected output by running the solution with the same id. These tests grade the
real solutions, in the sandbox, for several ids, and hand in a notebook whose answers were copied from a
classmate: it scores zero on every per-student check whose answers are values read from one's own run. (A
copied *function* is a function: it computes the right answer for any inputs, so no variant can catch it;
that is what the hidden checks and the written answers are for.)
"""

from __future__ import annotations

import ast
import contextlib
import copy
import io
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, per_student, sandbox
from refimpl.variant import GRADED_ID, PLACEHOLDER

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = [
    p
    for p in sorted((ROOT / "solutions").glob("*.ipynb"))
    if any(c.per_student for c in notebook.checks(notebook.read(p)))
]
LIMITS = sandbox.Limits(cell_timeout=30)
#: Ids as rosters have them: digits, letters, an e-mail, accents, spaces.
IDS = ["s1234567", "20261203", "ana.lopez@example.edu", "Zoë Ünal", "A"]

pytestmark = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _id(path: Path) -> str:
    return path.stem


def _without_hidden(solution):
    nb = copy.deepcopy(solution)
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    return nb


def _value_regions(source: str) -> list[tuple[int, int, list[str]]]:
    """(first, last, names) of each solution region at top level: answers given as values, not functions."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if notebook.BEGIN_RE.match(line):
            start = number
        elif notebook.END_RE.match(line) and start is not None:
            regions.append((start, number))
            start = None
    tree, found = ast.parse(source), []
    for first, last in regions:
        inside_def = any(
            isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.lineno < first <= n.end_lineno for n in ast.walk(tree)
        )
        if inside_def:
            continue
        names = [
            t.id
            for node in tree.body
            if isinstance(node, ast.Assign) and first < node.lineno < last
            for t in node.targets
            if isinstance(t, ast.Name)
        ]
        found.append((first, last, names))
    return found


def _literal(value) -> bool:
    """Whether a student could have typed this value (its repr is a Python literal)."""
    try:
        ast.literal_eval(repr(value))
    except (ValueError, SyntaxError):
        return False
    return True


def copied_answers(solution, student_id: str):
    """The solution with every value answer replaced by the literal it holds for ``student_id``.

    That is what a student hands in who copied a classmate's answers (the classmate being ``student_id``).
    """
    namespace: dict = {"__name__": "__main__"}
    nb = _without_hidden(solution)
    old = os.environ.get(GRADED_ID)
    os.environ[GRADED_ID] = student_id
    try:
        with contextlib.chdir(ROOT / "solutions"), contextlib.redirect_stdout(io.StringIO()):
            for cell in nb.cells:
                if cell.cell_type == "code":
                    exec(compile(cell.source, f"<{cell.get('id')}>", "exec"), namespace)
    finally:
        if old is None:
            os.environ.pop(GRADED_ID, None)
        else:
            os.environ[GRADED_ID] = old
    for cell in nb.cells:  # the classmate's notebook names the classmate's id
        if cell.cell_type == "code":
            cell.source = cell.source.replace(f'student="{PLACEHOLDER}"', f"student={student_id!r}")
    for cell in nb.cells:
        if cell.cell_type != "code" or not notebook.has_solution(cell.source):
            continue
        lines = cell.source.splitlines()
        for first, last, names in reversed(_value_regions(cell.source)):
            lines[first - 1 : last] = [f"{name} = {namespace[name]!r}" for name in names if _literal(namespace[name])]
        cell.source = "\n".join(lines)
    return nb


def _value_checks(solution) -> set[str]:
    """Per-student checks whose task's answer is a value (a top-level solution region), not a function."""
    value_tasks = set()
    cells = solution.cells
    for index, cell in enumerate(cells):
        if cell.cell_type == "code" and notebook.has_solution(cell.source) and _value_regions(cell.source):
            following = next((notebook.check_meta(c) for c in cells[index + 1 :] if notebook.is_check(c)), None)
            if following:
                value_tasks.add(following.get("task") or following["check"])
    return {c.name for c in notebook.checks(solution) if c.per_student and c.task in value_tasks}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{(solution stem, case, graded id): Grade}, two at a time in the sandbox."""
    folder = tmp_path_factory.mktemp("per-student")
    jobs = []
    for path in SOLUTIONS:
        solution = notebook.read(path)
        cases = [("solution", _without_hidden(solution), sid) for sid in IDS]
        cases += [("copied from A", copied_answers(solution, IDS[0]), IDS[0])]
        cases += [("copied from A", copied_answers(solution, IDS[0]), sid) for sid in IDS[1:3]]
        cases += [("no id", _without_hidden(solution), None)]
        for n, (case, made, sid) in enumerate(cases):
            target = folder / path.stem / f"{n}.ipynb"
            target.parent.mkdir(exist_ok=True)
            target.write_text(nbformat.writes(made), encoding="utf-8")
            jobs.append(((path.stem, case, sid), solution, target, n))

    def run(job):
        key, solution, target, n = job
        return key, grade.grade_one(solution, target, limits=LIMITS, slot=n % 2, root=folder, roster_id=key[2])

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _status(g: grade.Grade) -> dict:
    return {c.name: (c.earned, c.status, c.reason) for c in g.checks}


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
@pytest.mark.parametrize("student_id", IDS)
def test_the_solution_scores_full_for_any_student_id(graded, path, student_id):
    g = graded[(path.stem, "solution", student_id)]
    assert g.status == "graded" and g.score == g.max_score > 0, (_status(g), g.problems)


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_two_students_right_answers_differ(graded, path):
    a, b = (graded[(path.stem, "solution", sid)] for sid in IDS[:2])
    per = [
        c.name for c in a.checks if c.name in {x.name for x in notebook.checks(notebook.read(path)) if x.per_student}
    ]
    assert per, "no per-student check"
    same = [
        n
        for n in per
        if next(c for c in a.checks if c.name == n).actual == next(c for c in b.checks if c.name == n).actual
    ]
    assert same == [], f"these checks answer the same for {IDS[0]!r} and {IDS[1]!r}: {same}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_answers_copied_from_a_classmate_score_zero_on_the_per_student_checks(graded, path):
    solution = notebook.read(path)
    value_checks = _value_checks(solution)
    assert value_checks, f"{path.name} has no per-student check of answers read from one's own run"
    own = graded[(path.stem, "copied from A", IDS[0])]
    assert all(c.status == "passed" for c in own.checks if c.name in value_checks), _status(own)  # A's own: right
    for sid in IDS[1:3]:
        g = graded[(path.stem, "copied from A", sid)]
        for c in g.checks:
            if c.name in value_checks:
                assert c.earned == 0 and c.status == "wrong output", (sid, c.name, c.status, c.actual)


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_without_a_student_id_the_per_student_checks_say_so_and_score_zero(graded, path):
    g = graded[(path.stem, "no id", None)]
    per = [c for c in g.checks if c.name in {x.name for x in notebook.checks(notebook.read(path)) if x.per_student}]
    assert per and all(c.earned == 0 and c.reason == grade.NO_STUDENT_ID for c in per), _status(g)
    others = [c for c in g.checks if c not in per and c.hidden]
    assert others and all(c.status == "passed" for c in others), _status(g)


def test_the_roster_id_wins_over_the_notebooks_and_the_report_says_so(graded):
    path = SOLUTIONS[0]
    g = graded[(path.stem, "copied from A", IDS[1])]
    assert per_student.declared_id(notebook.read(g.path)) == IDS[0]
    assert any(f"names student id {IDS[0]!r}, but it was graded as {IDS[1]!r}" in f for f in g.findings), g.findings
    own = graded[(path.stem, "copied from A", IDS[0])]
    assert not any("graded as" in f for f in own.findings), own.findings
