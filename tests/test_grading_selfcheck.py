"""The student's self-check and the student release: what a student gets, and what they never get."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refimpl.grading import check, notebook, release, student_release

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURE))


@pytest.fixture()
def exercise(tmp_path):
    path = tmp_path / "ex.ipynb"
    path.write_text(release.render(FIXTURE / "assignment.ipynb"), encoding="utf-8")
    return path


def _solve(path: Path, wrong_flag: bool = False) -> Path:
    """Fill in the exercise with the solution's code (optionally one real bug), as a student would."""
    nb = notebook.read(path)
    good = {c.get("id"): c.source for c in notebook.read(FIXTURE / "assignment.ipynb").cells}
    for cell in nb.cells:
        if cell.get("id") in ("build-header", "lease-summary"):
            cell.source = good[cell["id"]]
            if wrong_flag:
                cell.source = cell.source.replace("0x8000", "0x0080")
    notebook.write(nb, path)
    return path


def _report(path) -> tuple[int, str]:
    out = io.StringIO()
    code = check.run(path, cell_timeout=15, out=out)
    return code, out.getvalue()


def test_self_check_passes_a_solved_exercise_and_lists_the_hidden_checks(exercise):
    code, text = _report(_solve(exercise))
    assert code == 0, text
    assert "Public checks: 6 of 6 points pass." in text
    assert "5 hidden check(s) worth 5 point(s)" in text and "the xid's byte order" in text
    hidden = [c for c in notebook.checks(notebook.read(FIXTURE / "assignment.ipynb")) if c.hidden]
    for c in hidden:
        assert c.expected.strip() not in text and c.source not in text


def test_self_check_never_trusts_outputs_stored_by_the_students_own_run(exercise):
    """A wrong notebook, run and saved: its check cells store its own (wrong) outputs. Still a FAIL."""
    path = _solve(exercise, wrong_flag=True)
    nb = notebook.read(path)
    for cell in nb.cells:  # as if run and saved: the check shows the student's own answer
        if (notebook.check_meta(cell) or {}).get("check") == "broadcast-flag":
            cell.outputs = [notebook.nbformat.v4.new_output("stream", name="stdout", text="0080\n")]
    notebook.write(nb, path)
    code, text = _report(path)
    assert code == 1
    assert "FAIL broadcast-flag" in text and "expected: 8000" in text and "got: 0080" in text


def test_self_check_of_the_blank_exercise_points_at_the_stub(exercise):
    code, text = _report(exercise)
    assert code == 1 and "NotImplementedError" in text and "your cell 2" in text


def test_self_check_from_inside_the_grader_does_nothing(monkeypatch, capsys):
    monkeypatch.setenv(check.GRADING_ENV, "1")
    check.self_check("anything.ipynb")
    assert "skipped" in capsys.readouterr().out


def test_self_check_refuses_a_notebook_without_expected_answers(tmp_path):
    path = tmp_path / "old.ipynb"
    shutil.copy(FIXTURE / "assignment.ipynb", path)  # a solution: its checks carry no course.expected
    code, text = _report(path)
    assert code == 2 and "no public checks with an expected answer" in text


def test_self_check_command_line(exercise):
    done = subprocess.run(
        [sys.executable, "-m", "refimpl", "check", str(_solve(exercise))], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok   header-bytes" in done.stdout


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release") / "course"
    assert student_release.write(dest, git=True) == []
    return dest


def test_student_release_holds_the_course_and_nothing_of_the_teachers(released):
    names = {p.name for p in released.iterdir()}
    assert {
        "notebooks",
        "exercises",
        "refimpl",
        "README.md",
        "requirements.txt",
        "environment.yml",
        "pyproject.toml",
        "Makefile",
    } <= names
    assert not {"solutions", "tests", ".ci"} & names
    assert "99_for_teachers.ipynb" not in {p.name for p in (released / "notebooks").iterdir()}
    assert sorted(p.name for p in (released / "exercises").iterdir()) == sorted(
        p.name for p in (ROOT / "solutions").glob("*.ipynb")
    )
    log = subprocess.run(["git", "log", "--oneline"], cwd=released, capture_output=True, text=True).stdout
    assert len(log.splitlines()) == 1


def test_student_release_exercises_hold_no_hidden_check_and_no_solution(released):
    leaks = student_release.audit(released, student_release.secrets(ROOT / "solutions"))
    assert leaks == []
    for path in (released / "exercises").glob("*.ipynb"):
        nb = notebook.read(path)
        assert not any((notebook.check_meta(c) or {}).get("hidden") for c in nb.cells), path.name
        assert not any(c.cell_type == "code" and notebook.has_solution(c.source) for c in nb.cells), path.name


def test_the_audit_catches_a_leak(released, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(released, leaky, ignore=shutil.ignore_patterns(".git"))
    shutil.copy(ROOT / "solutions" / "01_dhcp_message.ipynb", leaky / "notebooks" / "oops.ipynb")
    leaks = student_release.audit(leaky, student_release.secrets(ROOT / "solutions"))
    assert leaks and all("oops.ipynb" in line for line in leaks)


def test_student_release_refuses_a_folder_in_use(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    assert student_release.main([str(tmp_path / "x")]) == 2
    assert (tmp_path / "x" / "keep.txt").read_text() == "mine"
