"""End-to-end grading: real kernels, real nbval, real tampering.

All submissions are graded once, two at a time, in a module-scoped batch
(each costs a kernel start-up); the tests then look at the results. The batch
covers every ``solutions/*.ipynb`` (solution: full marks; blank exercise: zero;
all in-kernel attacks at once: zero) plus the grader's fixture assignment with
one submission per tampering or breakage case.
"""

from __future__ import annotations

import csv
import io
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import feedback, grade, notebook, release, sandbox

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURE))
import tamper  # noqa: E402  (tests/fixtures/grading/tamper.py)

CELL_TIMEOUT = 15       # generous: a loaded CI machine must not turn slow cells into failures
LOOP_TIMEOUT = 4        # for the cases that run into the limit on purpose
LOOPS = {"stubborn_loop", "crashing_kernel", "infinite_loop"}
pytestmark = pytest.mark.slow  # real kernels: `make test-fast` leaves these out
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
ASSIGNMENTS = {s.stem: s for s in SOLUTIONS} | {"fixture": FIXTURE / "assignment.ipynb"}

FIXTURE_CASES = [
    "edited_check_cells", "printed_expected_text", "replaced_print", "input_transformer",
    "fixture_monkeypatch", "deleted_check_cells", "reordered_and_forged",
    "deleted_solution_cells", "infinite_loop", "stubborn_loop", "crashing_kernel", "messy_but_correct",
    "not_json", "not_a_notebook",
]


def _exercise_for(assignment: str):
    path = ASSIGNMENTS[assignment]
    if assignment == "fixture":
        return notebook.read(FIXTURE / "exercise.ipynb")
    released = ROOT / "exercises" / path.name
    # test_release checks that exercises/ is in step; here grade what release produces.
    return notebook.read(released) if released.exists() else notebook.reads(release.render(path))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{(assignment, case): Grade} for every submission, graded two at a time."""
    folder = tmp_path_factory.mktemp("submissions")
    jobs = []
    for name, path in ASSIGNMENTS.items():
        solution = notebook.read(path)
        exercise = _exercise_for(name)
        builders = {"solution": lambda s, e: s, "blank": lambda s, e: e, "all_attacks": tamper.everything_at_once}
        if name == "fixture":
            builders.update({case: getattr(tamper, case) for case in FIXTURE_CASES})
        for case, build in builders.items():
            made = build(solution, exercise)
            target = folder / name / f"{case}.ipynb"
            target.parent.mkdir(exist_ok=True)
            target.write_text(made if isinstance(made, str) else nbformat.writes(made), encoding="utf-8")
            jobs.append((name, case, solution, target))

    def run(job):
        name, case, solution, target = job
        timeout = LOOP_TIMEOUT if case in LOOPS else CELL_TIMEOUT
        return (name, case), grade.grade_one(solution, target, cell_timeout=timeout)

    # Slow cases first so the two workers finish together.
    slow = LOOPS | {"messy_but_correct"}
    jobs.sort(key=lambda job: job[1] not in slow)
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _earned(g: grade.Grade) -> dict[str, float]:
    return {c.name: c.earned for c in g.checks}


# --------------------------------------------------------------------------- every exercise


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_solution_scores_full_marks(graded, assignment):
    g = graded[(assignment, "solution")]
    failed = {c.name: c.reason for c in g.checks if c.status != "passed"}
    assert g.score == g.max_score > 0, f"{assignment}: {failed} {g.problems} {g.student_errors}"
    assert not g.problems and not g.student_errors


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_blank_exercise_scores_zero_on_every_check(graded, assignment):
    g = graded[(assignment, "blank")]
    assert g.max_score > 0
    passed = [c.name for c in g.checks if c.earned]
    assert passed == [], f"{assignment}: these checks pass without any student work: {passed}"
    assert all(c.status in ("error", "wrong output") for c in g.checks)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_in_kernel_attacks_score_zero(graded, assignment):
    """Edited check cells + printed expected text + input transformer + fake print/stdout."""
    g = graded[(assignment, "all_attacks")]
    assert g.score == 0, {c.name: c.status for c in g.checks}
    assert any("edited" in f for f in g.findings)
    assert any("IPython shell" in s for s in g.suspicious)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_check_cells_print_text_only(assignment):
    """The guard compares text: check cells must print (or end in an expression), not display()."""
    for cell in notebook.read(ASSIGNMENTS[assignment]).cells:
        if notebook.is_check(cell):
            kinds = {o.get("output_type") for o in cell.outputs}
            assert kinds and kinds <= {"stream", "execute_result"}, (cell.id, kinds)
            assert all(o.get("name", "stdout") == "stdout" for o in cell.outputs), cell.id
            assert cell.execution_count is not None, f"{cell.id}: store the notebook executed"


# --------------------------------------------------------------------------- tampering (fixture)


@pytest.mark.parametrize("case", ["edited_check_cells", "printed_expected_text", "replaced_print",
                                  "input_transformer", "fixture_monkeypatch", "deleted_solution_cells"])
def test_tampering_earns_nothing(graded, case):
    g = graded[("fixture", case)]
    assert g.score == 0, {c.name: (c.status, c.reason) for c in g.checks}


def test_printing_expected_text_is_caught_by_the_receipt(graded):
    g = graded[("fixture", "input_transformer")]
    # The rewritten cells printed exactly the expected text - without a valid receipt.
    assert all(c.status == "wrong output" and c.actual == c.expected for c in g.checks)
    assert all("receipt" in c.reason for c in g.checks)


def test_monkeypatched_library_is_restored_before_checks(graded):
    g = graded[("fixture", "fixture_monkeypatch")]
    hexlify = next(c for c in g.checks if c.name == "hexlify")
    lease = next(c for c in g.checks if c.name == "lease-summary")
    # The real binascii.hexlify and IPython's pretty printer ran, not the student's fakes.
    assert hexlify.actual.strip() == "0" * 24
    assert lease.actual.strip() == "'no idea'"


@pytest.mark.parametrize("case, finding", [
    ("reordered_and_forged", "stored output differs"),
    ("deleted_check_cells", "deleted"),
    ("reordered_and_forged", "reordered"),
    ("reordered_and_forged", "claims to be check `bonus`"),
])
def test_harmless_edits_keep_full_marks_and_are_reported(graded, case, finding):
    g = graded[("fixture", case)]
    assert g.score == g.max_score
    assert "bonus" not in _earned(g)
    assert any(finding in f for f in g.findings), g.findings


def test_deleted_solution_cells_run_the_stub(graded):
    g = graded[("fixture", "deleted_solution_cells")]
    assert any("missing from the submission" in f for f in g.findings)
    assert all("NotImplementedError" in c.reason for c in g.checks)


# --------------------------------------------------------------------------- broken submissions (fixture)


def _last_check(g):
    return g.checks[-1]


@pytest.mark.parametrize("case, status, words", [
    ("infinite_loop", "passed", "limit per cell and was stopped"),
    ("stubborn_loop", "not run", "ignored the interrupt"),
    ("crashing_kernel", "not run", "kernel died"),
])
def test_runaway_cells_cost_only_what_they_break(graded, case, status, words):
    g = graded[("fixture", case)]
    before = g.checks[:-1]
    assert all(c.status == "passed" for c in before), [(c.name, c.status) for c in before]
    assert _last_check(g).status == status
    assert any(words in e for e in g.student_errors), g.student_errors
    assert g.seconds < 120


def test_exception_huge_output_and_memory_hog_are_reported_not_fatal(graded):
    g = graded[("fixture", "messy_but_correct")]
    assert g.score == g.max_score, (g.problems, g.student_errors)
    assert any("ZeroDivisionError" in e for e in g.student_errors)
    assert any("MemoryError" in e for e in g.student_errors)
    assert len(g.student_errors) == 2  # the 20 MB print is not an error


@pytest.mark.parametrize("case, words", [("not_json", "not valid JSON"), ("not_a_notebook", "not a Jupyter notebook")])
def test_unreadable_submission_gets_zero_and_a_message(graded, case, words):
    g = graded[("fixture", case)]
    assert g.score == 0 and g.max_score > 0
    assert any(words in p for p in g.problems)
    report = feedback.render(g)
    assert words in report


# --------------------------------------------------------------------------- feedback and CSV


def test_packet_feedback_highlights_differing_fields(graded):
    g = graded[("fixture", "fixture_monkeypatch")]
    md, page = feedback.render(g, "md"), feedback.render(g, "html")
    assert "xid (offset 4)" in md and "^^" in md
    assert "<mark>" in page and "xid" in page
    assert "binascii" in md  # the monkeypatch shows up for the teacher


def test_csv_columns_and_rows(graded):
    grades = [graded[("fixture", "solution")], graded[("fixture", "blank")], graded[("fixture", "not_json")]]
    checks = notebook.checks(notebook.read(FIXTURE / "assignment.ipynb"))
    out = io.StringIO()
    grade.write_csv(grades, checks, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["student", "score", "max_score", *[c.name for c in checks]]
    assert [r[0] for r in rows[1:]] == ["solution", "blank", "not_json"]
    assert rows[1][1:3] == ["6", "6"] and rows[2][1] == "0" and rows[3][1] == "0"
    assert sum(float(x) for x in rows[1][3:]) == 6


def test_cli_end_to_end(tmp_path, capsys):
    solution = FIXTURE / "assignment.ipynb"
    broken = tmp_path / "bob.ipynb"
    broken.write_text("{ not json")
    alice = tmp_path / "alice.ipynb"
    alice.write_text(solution.read_text())
    code = grade.main(["--assignment", str(solution), str(alice), str(broken), "--csv", str(tmp_path / "g.csv"),
                       "--feedback", str(tmp_path / "fb"), "--jobs", "2", "--timeout", str(CELL_TIMEOUT)])
    assert code == 0
    rows = list(csv.DictReader(open(tmp_path / "g.csv")))
    assert [(r["student"], r["score"], r["max_score"]) for r in rows] == [("alice", "6", "6"), ("bob", "0", "6")]
    assert "Score: **6 / 6**" in (tmp_path / "fb" / "alice.md").read_text()
    assert "not valid JSON" in (tmp_path / "fb" / "bob.md").read_text()
    err = capsys.readouterr().err
    assert "grading [" in err and "2/2" in err


def test_bad_assignment_is_a_usage_error(tmp_path):
    (tmp_path / "a.ipynb").write_text("[]")
    assert grade.main(["--assignment", str(tmp_path / "a.ipynb"), str(tmp_path / "a.ipynb")]) == 2


# --------------------------------------------------------------------------- sandbox


def test_kernel_has_no_network(tmp_path):
    """A check run by the grader cannot leave the machine (namespace, or socket guard as fallback)."""
    probe = (
        "import socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9))\n"
        "    s.send(b'x')\n"
        "    print('network reachable')\n"
        "except OSError:\n"
        "    print('blocked')\n"
        "finally:\n"
        "    s.close()\n"
    )
    cell = nbformat.v4.new_code_cell(probe)
    cell.id = "probe"
    cell.metadata["course"] = {"check": "no-network", "points": 1}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="blocked\n")]
    cell.execution_count = 1
    nb = nbformat.v4.new_notebook(cells=[cell])
    notebook.write(nb, tmp_path / "net.ipynb")
    g = grade.grade_one(nb, tmp_path / "net.ipynb", cell_timeout=CELL_TIMEOUT)
    assert g.checks[0].actual == "blocked\n", (sandbox.network_mode(), g.checks[0])
    assert g.score == 1


def test_network_mode_is_known():
    assert sandbox.network_mode() in ("namespace", "user-namespace", "socket-guard")
