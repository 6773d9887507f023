"""``python -m refimpl release``: solution regions become stubs; exercises stay in step."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import notebook, release

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "grading"
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))

# Every real exercise, plus the grader's own fixture (solution -> its released exercise).
PAIRS = [pytest.param(s, ROOT / "exercises" / s.name, id=s.stem) for s in SOLUTIONS] + [
    pytest.param(FIXTURE / "assignment.ipynb", FIXTURE / "exercise.ipynb", id="grading-fixture")
]


def test_stub_keeps_indent_and_hint():
    source = (
        "def f(x):\n"
        '    """doc"""\n'
        "    ### BEGIN SOLUTION hint: add one\n"
        "    y = x + 1\n"
        "    return y\n"
        "    ### END SOLUTION\n"
        "\n"
        "print(f(1))"
    )
    stub = notebook.stub_source(source)
    assert stub == 'def f(x):\n    """doc"""\n    raise NotImplementedError(\'add one\')\n\nprint(f(1))'
    assert "y = x + 1" not in stub


def test_stub_without_hint_and_top_level_region():
    stub = notebook.stub_source("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION")
    assert stub == f"raise NotImplementedError({notebook.DEFAULT_HINT!r})"
    compile(stub, "<stub>", "exec")


def test_hint_with_quotes_is_a_valid_string():
    stub = notebook.stub_source(
        '    ### BEGIN SOLUTION hint: use "!BBBBI" and it\'s done\n    x = 1\n    ### END SOLUTION'
    )
    namespace = {}
    with pytest.raises(NotImplementedError, match='use "!BBBBI" and it\'s done'):
        exec(stub.strip(), namespace)


@pytest.mark.parametrize(
    "source",
    [
        "### BEGIN SOLUTION\nx = 1",  # never closed
        "x = 1\n### END SOLUTION",  # end without begin
        "### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION",
    ],
)
def test_broken_regions_are_reported(source):
    with pytest.raises(notebook.NotebookError):
        notebook.stub_source(source)


def test_exercise_keeps_ids_and_check_outputs_but_hides_answers():
    solution = notebook.read(FIXTURE / "assignment.ipynb")
    exercise = notebook.exercise_from(solution)
    released = [c for c in solution.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    assert len(released) < len(solution.cells)  # the fixture has hidden checks, and they are left out
    assert [c.get("id") for c in exercise.cells] == [c.get("id") for c in released]
    for sol, ex in zip(released, exercise.cells):
        if notebook.is_check(sol):
            assert ex.source == sol.source and ex.outputs == sol.outputs
            assert ex.metadata["course"] == {**sol.metadata["course"], "expected": notebook.canonical_text(sol.outputs)}
        elif sol.cell_type == "code" and notebook.has_solution(sol.source):
            assert "NotImplementedError" in ex.source and "BEGIN SOLUTION" not in ex.source
            assert ex.outputs == [] and ex.execution_count is None
    assert solution.cells[2].source != exercise.cells[2].source  # the input was not modified
    covers = {h["task"]: h["covers"] for h in exercise.metadata["course"]["hidden_checks"]}
    assert covers["header-size"] == "the xid's byte order"


@pytest.mark.parametrize("solution, exercise", PAIRS)
def test_exercise_is_in_step_with_solution(solution, exercise):
    """Fails when someone edits a solution and forgets `make release`."""
    assert exercise.exists(), f"{exercise} missing: run python -m refimpl release"
    assert exercise.read_text(encoding="utf-8") == release.render(solution), (
        f"{exercise} is out of step with {solution}: run python -m refimpl release solutions exercises"
    )


@pytest.mark.parametrize("solution, exercise", PAIRS)
def test_no_solution_text_leaks_into_exercise(solution, exercise):
    assert exercise.exists(), f"{exercise} missing: run python -m refimpl release"
    text = exercise.read_text(encoding="utf-8")
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text


def test_release_cli_writes_then_check_detects_drift(tmp_path, capsys):
    src, dst = tmp_path / "solutions", tmp_path / "exercises"
    src.mkdir()
    (src / "01_x.ipynb").write_text((FIXTURE / "assignment.ipynb").read_text())
    assert release.main(["--check", str(src), str(dst)]) == 1  # nothing released yet
    assert release.main([str(src), str(dst)]) == 0
    assert release.main(["--check", str(src), str(dst)]) == 0
    # An author edits the solution but does not release: --check must fail.
    nb = nbformat.read(src / "01_x.ipynb", 4)
    edited = copy.deepcopy(nb)
    edited.cells[2].source = edited.cells[2].source.replace("hint: use", "hint: try")
    notebook.write(edited, src / "01_x.ipynb")
    assert release.main(["--check", str(src), str(dst)]) == 1
    assert "out of step" in capsys.readouterr().err
    # A stray exercise without a solution is reported too.
    release.main([str(src), str(dst)])
    (dst / "02_orphan.ipynb").write_text("{}")
    assert release.main(["--check", str(src), str(dst)]) == 1


def test_release_rejects_duplicate_check_names(tmp_path):
    nb = notebook.read(FIXTURE / "assignment.ipynb")
    checks = [c for c in nb.cells if notebook.is_check(c)]
    checks[1].metadata["course"]["check"] = checks[0].metadata["course"]["check"]
    notebook.write(nb, tmp_path / "bad.ipynb")
    assert release.main([str(tmp_path / "bad.ipynb"), str(tmp_path / "out")]) == 1


def test_rerunning_a_solution_does_not_change_its_exercise():
    solution = notebook.read(FIXTURE / "assignment.ipynb")
    before = nbformat.writes(notebook.exercise_from(solution))
    for cell in solution.cells:  # what `nbconvert --execute` records
        cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00Z"}
    assert nbformat.writes(notebook.exercise_from(solution)) == before
