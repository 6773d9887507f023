"""End-to-end grading: real sandboxes, real student notebooks, real tampering.

All submissions are graded once, two at a time, in a module-scoped batch; the
tests then look at the results. The batch covers every ``solutions/*.ipynb``
(solved: full marks; blank exercise: zero; the in-kernel attacks at once:
zero) plus the grader's fixture assignment (with hidden checks) with one
submission per tampering, breakage or honest-edit case.
"""

from __future__ import annotations

import copy
import csv
import queue
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import feedback, grade, notebook, release, sandbox

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURE))
import tamper  # noqa: E402  (tests/fixtures/grading/tamper.py)

CELL_TIMEOUT = 15  # generous: a loaded CI machine must not turn slow cells into failures
LOOP_TIMEOUT = 3  # for the cases that run into the limit on purpose
LOOPS = {"stubborn_loop", "crashing_kernel", "infinite_loop"}
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
ASSIGNMENTS = {s.stem: s for s in SOLUTIONS} | {"fixture": FIXTURE / "assignment.ipynb"}

pytestmark = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _new_ids(nb):
    """Every cell id regenerated, as a notebook pasted cell by cell into a new file gets."""
    for cell in nb.cells:
        cell["id"] = uuid.uuid4().hex[:8]
    return nb


def retyped_check(solution, exercise):
    """A check cell deleted and typed again: new id, no metadata. Full marks."""
    nb = tamper.solved(solution)
    cell = next(c for c in nb.cells if notebook.is_check(c))
    cell["id"] = "typed-again"
    cell.metadata = {}
    return nb


def merged_cells(solution, exercise):
    """Two solution cells merged into one. Full marks."""
    nb = tamper.solved(solution)
    mine = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and notebook.has_solution(c.source)]
    first, second = mine[0], mine[1]
    nb.cells[first].source += "\n\n" + nb.cells[second].source
    del nb.cells[second]
    return nb


def split_cell(solution, exercise):
    """The first cell split in two at its first line. Full marks."""
    nb = tamper.solved(solution)
    cell = nb.cells[1]
    head, _, rest = cell.source.partition("\n")
    extra = nbformat.v4.new_code_cell(rest)
    cell.source = head
    nb.cells.insert(2, extra)
    return nb


def regenerated_ids_and_scratch(solution, exercise):
    """Every id regenerated, every check's metadata lost, two scratch cells added. Full marks."""
    nb = _new_ids(tamper.solved(solution))
    for cell in nb.cells:
        cell.metadata = {}
    nb.cells.insert(2, nbformat.v4.new_code_cell("print('trying things out')\nscratch = 42"))
    nb.cells.append(nbformat.v4.new_code_cell("scratch * 2"))
    return nb


def pasted_into_new_notebook(solution, exercise):
    """Only the code, pasted into a fresh notebook: no ids, no metadata, no markdown. Full marks."""
    code = [c.source for c in tamper.solved(solution).cells if c.cell_type == "code"]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in code])


def moved_cells(solution, exercise):
    """The lease task moved before the header task, checks and all. Full marks."""
    nb = tamper.solved(solution)
    ids = [c.get("id") for c in nb.cells]
    lease = [c for c in nb.cells if c.get("id") in ("lease-md", "lease-summary", "check-lease")]
    rest = [c for c in nb.cells if c not in lease]
    nb.cells = rest[:2] + lease + rest[2:]
    assert len(nb.cells) == len(ids)
    return nb


def stray_print(solution, exercise):
    """A debug print inside a correct function. Full marks; the stray output shown in the feedback."""
    nb = tamper.solved(solution)
    cell = next(c for c in nb.cells if c.get("id") == "build-header")
    cell.source = cell.source.replace("    flags = ", "    print('debug: building', op, xid)\n    flags = ")
    return nb


FIXTURE_CASES = {
    "edited_check_cells": tamper.edited_check_cells,
    "printed_expected_text": tamper.printed_expected_text,
    "replaced_print": tamper.replaced_print,
    "input_transformer": tamper.input_transformer,
    "fixture_monkeypatch": tamper.fixture_monkeypatch,
    "deleted_check_cells": tamper.deleted_check_cells,
    "reordered_and_forged": tamper.reordered_and_forged,
    "deleted_solution_cells": tamper.deleted_solution_cells,
    "infinite_loop": tamper.infinite_loop,
    "stubborn_loop": tamper.stubborn_loop,
    "crashing_kernel": tamper.crashing_kernel,
    "messy_but_correct": tamper.messy_but_correct,
    "not_json": tamper.not_json,
    "not_a_notebook": tamper.not_a_notebook,
    "retyped_check": retyped_check,
    "merged_cells": merged_cells,
    "split_cell": split_cell,
    "regenerated_ids_and_scratch": regenerated_ids_and_scratch,
    "pasted_into_new_notebook": pasted_into_new_notebook,
    "moved_cells": moved_cells,
    "stray_print": stray_print,
}
HONEST = [
    "retyped_check",
    "merged_cells",
    "split_cell",
    "regenerated_ids_and_scratch",
    "pasted_into_new_notebook",
    "moved_cells",
    "stray_print",
    "reordered_and_forged",
    "deleted_check_cells",
]


def _exercise_for(assignment: str):
    path = ASSIGNMENTS[assignment]
    if assignment == "fixture":
        return notebook.read(FIXTURE / "exercise.ipynb")
    return notebook.reads(release.render(path))


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{(assignment, case): Grade} for every submission, graded two at a time."""
    folder = tmp_path_factory.mktemp("submissions")
    jobs = []
    for name, path in ASSIGNMENTS.items():
        solution = notebook.read(path)
        exercise = _exercise_for(name)
        builders = {"solution": tamper.solved, "blank": lambda s, e: e, "all_attacks": tamper.everything_at_once}
        if name == "fixture":
            builders.update(FIXTURE_CASES)
        for case, build in builders.items():
            made = build(solution, exercise)
            target = folder / name / f"{case}.ipynb"
            target.parent.mkdir(exist_ok=True)
            target.write_text(made if isinstance(made, str) else nbformat.writes(made), encoding="utf-8")
            jobs.append((name, case, solution, target))

    slots = queue.SimpleQueue()  # each worker its own slot, so two sandboxes never share a uid
    for slot in range(2):
        slots.put(slot)

    def run(job):
        name, case, solution, target = job
        limits = sandbox.Limits(cell_timeout=LOOP_TIMEOUT if case in LOOPS else CELL_TIMEOUT)
        slot = slots.get()
        try:
            return (name, case), grade.grade_one(
                solution, target, limits=limits, slot=slot, root=folder, roster_id="s-grading-0007"
            )
        finally:
            slots.put(slot)

    jobs.sort(key=lambda job: job[1] not in LOOPS | {"messy_but_correct"})  # slow ones first
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _status(g: grade.Grade) -> dict:
    return {c.name: (c.status, c.reason) for c in g.checks}


# --------------------------------------------------------------------------- every exercise


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_solution_scores_full_marks(graded, assignment):
    g = graded[(assignment, "solution")]
    assert g.score == g.max_score > 0, (assignment, _status(g), g.problems, g.student_errors)
    assert not g.problems and not g.student_errors and g.status == "graded"


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_blank_exercise_scores_zero_on_every_check(graded, assignment):
    g = graded[(assignment, "blank")]
    assert g.max_score > 0
    passed = [c.name for c in g.checks if c.earned]
    assert passed == [], f"{assignment}: these checks pass without any student work: {passed}"
    assert all(c.status in ("error", "wrong output") for c in g.checks), _status(g)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_in_kernel_attacks_score_zero(graded, assignment):
    """Edited check cells + printed expected text + input transformer + fake print/stdout, on a blank exercise."""
    g = graded[(assignment, "all_attacks")]
    assert g.score == 0, _status(g)
    assert any("edited" in f for f in g.findings)
    assert any("IPython shell" in s for s in g.suspicious)


@pytest.mark.parametrize("assignment", list(ASSIGNMENTS))
def test_check_cells_print_text_only(assignment):
    """The grader compares text: check cells must print (or end in an expression), not display()."""
    for cell in notebook.read(ASSIGNMENTS[assignment]).cells:
        if notebook.is_check(cell):
            kinds = {o.get("output_type") for o in cell.outputs}
            assert kinds and kinds <= {"stream", "execute_result"}, (cell.id, kinds)
            assert all(o.get("name", "stdout") == "stdout" for o in cell.outputs), cell.id
            assert cell.execution_count is not None, f"{cell.id}: store the notebook executed"


# --------------------------------------------------------------------------- tampering (fixture)


@pytest.mark.parametrize(
    "case",
    [
        "edited_check_cells",
        "printed_expected_text",
        "replaced_print",
        "input_transformer",
        "fixture_monkeypatch",
        "deleted_solution_cells",
    ],
)
def test_tampering_earns_nothing(graded, case):
    g = graded[("fixture", case)]
    assert g.score == 0, _status(g)


def test_check_code_is_out_of_reach_of_input_transformers_and_fake_print(graded):
    """The check's own code ran (and met the stubs), whatever the student installed before it."""
    for case in ("input_transformer", "replaced_print"):
        g = graded[("fixture", case)]
        header = next(c for c in g.checks if c.name == "header-bytes")
        assert header.status == "error" and "NotImplementedError" in header.reason, (case, header)


def test_a_public_answer_printed_by_a_patched_library_waits_for_the_hidden_check(graded):
    """binascii.hexlify patched to return the public answer: the public check 'passes', the hidden one does not."""
    g = graded[("fixture", "fixture_monkeypatch")]
    by_name = {c.name: c for c in g.checks}
    assert by_name["hexlify"].status == "waits for hidden checks", by_name["hexlify"]
    assert by_name["hexlify"].earned == 0 and "hidden checks of task `hexlify`" in by_name["hexlify"].reason
    assert by_name["hexlify-hidden"].status == "wrong output"
    assert any("binascii" in s for s in g.suspicious)


def test_deleted_solution_cells_leave_nothing_to_call(graded):
    g = graded[("fixture", "deleted_solution_cells")]
    assert all(c.status == "error" and "NameError" in c.reason for c in g.checks), _status(g)


# --------------------------------------------------------------------------- honest students


@pytest.mark.parametrize("case", HONEST)
def test_honest_edits_keep_full_marks(graded, case):
    g = graded[("fixture", case)]
    assert g.score == g.max_score, (case, _status(g), g.student_errors, g.matching)
    assert "bonus" not in {c.name for c in g.checks}


@pytest.mark.parametrize(
    "case, words",
    [
        ("retyped_check", "found by its code in your cell"),
        ("pasted_into_new_notebook", "(its metadata was lost)"),
        ("deleted_check_cells", "not in your notebook, so the grader added it: ran after your cell"),
        ("regenerated_ids_and_scratch", "hidden check `header-bytes-hidden`: ran after your cell"),
    ],
)
def test_matching_is_said_in_plain_words(graded, case, words):
    g = graded[("fixture", case)]
    assert any(words in line for line in g.matching), g.matching
    report = feedback.render(g)
    assert "How your notebook was matched" in report and words in report


@pytest.mark.parametrize(
    "case, finding",
    [
        ("reordered_and_forged", "claims to be check `bonus`"),
    ],
)
def test_edits_to_check_cells_are_reported(graded, case, finding):
    g = graded[("fixture", case)]
    assert any(finding in f for f in g.findings), g.findings


def test_a_stray_print_is_shown_not_counted(graded):
    g = graded[("fixture", "stray_print")]
    header = next(c for c in g.checks if c.name == "header-bytes")
    assert header.status == "passed" and "debug: building 1 956560166" in header.stray
    report = feedback.render(g)
    assert "printed this while the check ran" in report and "debug: building" in report


def test_feedback_names_cells_by_first_line_not_id(graded):
    g = graded[("fixture", "messy_but_correct")]
    assert any("your cell" in e and "(`1 / 0`)" in e for e in g.student_errors), g.student_errors


# --------------------------------------------------------------------------- broken submissions (fixture)


@pytest.mark.parametrize(
    "case, status, last, words",
    [
        ("infinite_loop", "timed out", "passed", "ran past the time limit"),
        ("stubborn_loop", "timed out", "not run", "ignored the interrupt"),
        ("crashing_kernel", "kernel died", "not run", "died"),
    ],
)
def test_runaway_cells_cost_only_what_they_break(graded, case, status, last, words):
    g = graded[("fixture", case)]
    before = [c for c in g.checks[:-2]]  # the last public check and its hidden twin run after the runaway cell
    assert all(c.status == "passed" for c in before), _status(g)
    assert g.checks[-2].status == last, _status(g)
    assert g.status == status
    assert any(words in text for text in g.student_errors + g.problems), (g.student_errors, g.problems)
    assert g.seconds < 60


def test_exception_huge_output_and_memory_hog_are_reported_not_fatal(graded):
    g = graded[("fixture", "messy_but_correct")]
    assert g.score == g.max_score, (g.problems, g.student_errors)
    assert any("ZeroDivisionError" in e for e in g.student_errors)
    assert any("MemoryError" in e for e in g.student_errors)
    assert len(g.student_errors) == 2  # the 20 MB print is not an error


@pytest.mark.parametrize("case, words", [("not_json", "not valid JSON"), ("not_a_notebook", "not a Jupyter notebook")])
def test_unreadable_submission_gets_zero_a_status_and_a_message(graded, case, words):
    g = graded[("fixture", case)]
    assert g.score == 0 and g.max_score > 0 and g.status == "unreadable"
    assert any(words in p for p in g.problems)
    assert words in feedback.render(g)


def test_a_failing_check_points_at_the_students_own_line(graded):
    g = graded[("fixture", "deleted_solution_cells")]
    blank = graded[("fixture", "blank")]
    header = next(c for c in blank.checks if c.name == "header-bytes")
    assert header.where and "line 3" in header.where[-1] and "raise NotImplementedError" in header.where[-1]
    assert "Where it went wrong in your code" in feedback.render(blank)
    assert g.checks[0].reason.startswith("raised `NameError")


# --------------------------------------------------------------------------- feedback


def test_packet_feedback_highlights_differing_fields(graded):
    g = graded[("fixture", "fixture_monkeypatch")]
    md, page = feedback.render(g, "md"), feedback.render(g, "html")
    assert "xid (offset 4)" in md and "^^" in md
    assert "<mark>" in page and "xid" in page


def test_hidden_checks_show_what_they_cover_never_their_answer(graded):
    g = graded[("fixture", "fixture_monkeypatch")]
    hidden = next(c for c in g.checks if c.name == "hexlify-hidden")
    report = feedback.render(g)
    assert "a request with every xid byte set" in report
    assert hidden.expected.strip() not in report


# --------------------------------------------------------------------------- the command


def test_cli_end_to_end(tmp_path, capsys):
    solution = notebook.read(FIXTURE / "assignment.ipynb")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    notebook.write(tamper.solved(solution), tmp_path / "a" / "sam.ipynb")
    notebook.write(notebook.read(FIXTURE / "exercise.ipynb"), tmp_path / "b" / "sam.ipynb")
    (tmp_path / "b" / "bob.ipynb").write_text("{ not json")
    code = grade.main(
        [
            "--assignment",
            str(FIXTURE / "assignment.ipynb"),
            str(tmp_path / "a" / "sam.ipynb"),
            str(tmp_path / "b" / "sam.ipynb"),
            str(tmp_path / "b" / "bob.ipynb"),
            "--csv",
            str(tmp_path / "g.csv"),
            "--feedback",
            str(tmp_path / "fb"),
            "--jobs",
            "2",
            "--timeout",
            str(CELL_TIMEOUT),
        ]
    )
    assert code == 1  # one submission could not be graded
    rows = {r["student"]: r for r in csv.DictReader(open(tmp_path / "g.csv"))}
    assert set(rows) == {"a/sam", "b/sam", "b/bob"}  # two sam.ipynb stay two students
    assert (rows["a/sam"]["score"], rows["b/sam"]["score"], rows["b/bob"]["status"]) == ("11", "0", "unreadable")
    assert "Score: **11 / 13**" in (tmp_path / "fb" / "a" / "sam.md").read_text()  # 2 points wait for the teacher
    assert "Score: **0 / 13**" in (tmp_path / "fb" / "b" / "sam.md").read_text()
    err = capsys.readouterr().err
    assert "grading [" in err and "3/3" in err and "b/bob (unreadable)" in err


def test_bad_assignment_is_a_usage_error(tmp_path):
    (tmp_path / "a.ipynb").write_text("[]")
    assert grade.main(["--assignment", str(tmp_path / "a.ipynb"), str(tmp_path / "a.ipynb")]) == 2


def test_no_sandbox_is_refused_unless_asked_for(tmp_path, monkeypatch, capsys):
    notebook.write(tamper.solved(notebook.read(FIXTURE / "assignment.ipynb")), tmp_path / "sam.ipynb")
    args = [
        "--assignment",
        str(FIXTURE / "assignment.ipynb"),
        str(tmp_path / "sam.ipynb"),
        "--csv",
        str(tmp_path / "g.csv"),
        "--feedback",
        str(tmp_path / "fb"),
        "--quiet",
    ]
    monkeypatch.setattr(sandbox, "unavailable", lambda: "user namespaces are switched off")
    assert grade.main(args) == 2
    assert "refusing to grade without a sandbox: user namespaces are switched off" in capsys.readouterr().err
    assert not (tmp_path / "g.csv").exists()
    assert grade.main([*args, "--no-sandbox"]) == 0
    assert "without the sandbox" in (tmp_path / "fb" / "sam.md").read_text()


def test_the_sandbox_has_no_network_and_no_repository(tmp_path):
    probe = (
        "import os, socket\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "try:\n"
        "    s.connect(('192.0.2.1', 9))\n"
        "    s.send(b'x')\n"
        "    print('network reachable')\n"
        "except OSError:\n"
        "    print('blocked')\n"
        "import refimpl\n"
        "repo = os.path.dirname(os.path.dirname(refimpl.__file__))\n"
        "print([name for name in ('solutions', 'exercises', 'tests', 'notebooks') if name in os.listdir(repo)])\n"
    )
    cell = nbformat.v4.new_code_cell(probe)
    cell.metadata["course"] = {"check": "no-network", "points": 1}
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="blocked\n[]\n")]
    cell.execution_count = 1
    nb = nbformat.v4.new_notebook(cells=[cell])
    notebook.write(nb, tmp_path / "net.ipynb")
    g = grade.grade_one(nb, tmp_path / "net.ipynb", limits=sandbox.Limits(cell_timeout=CELL_TIMEOUT))
    assert g.checks[0].actual == "blocked\n[]\n", g.checks[0]
    assert g.score == 1


def test_an_exercise_never_holds_a_hidden_check():
    solution = notebook.read(FIXTURE / "assignment.ipynb")
    hidden = [c for c in notebook.checks(solution) if c.hidden]
    assert hidden
    text = nbformat.writes(notebook.exercise_from(copy.deepcopy(solution)))
    for check in hidden:
        assert check.source not in text and check.name not in text
        assert check.expected.strip() not in text
    assert all(c.covers in text for c in hidden)  # what they cover is said
