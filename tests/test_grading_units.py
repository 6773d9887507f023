"""Fast, kernel-free tests of the grader's pieces: the plan, comparison, feedback, names."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import assemble, feedback, grade, notebook

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "grading"


@pytest.fixture()
def assignment():
    return notebook.read(FIXTURE / "assignment.ipynb")


def test_checks_come_from_the_assignment(assignment):
    checks = notebook.checks(assignment)
    public = [c for c in checks if not c.hidden]
    assert [c.name for c in public] == ["header-bytes", "broadcast-flag", "lease-summary", "hexlify", "header-size"]
    assert [c.points for c in public] == [2, 1, 1, 1, 1]
    assert public[2].expected == "'24 h 1 min'\n"  # a trailing expression, shown as text
    hidden = [c for c in checks if c.hidden]
    assert [c.task for c in hidden] == [c.name for c in public]  # one hidden twin per task
    assert all(c.covers for c in hidden)


def test_canonical_text_joins_stdout_and_results_but_not_stderr():
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
    ]
    assert notebook.canonical_text(outputs) == "a\n42\n"


def _plan(assignment, submission):
    plan = assemble.build(assignment, submission)
    return [(c.kind, c.check or c.source.splitlines()[0] if c.source else "") for c in plan.cells], plan


def test_plan_runs_the_students_code_and_the_assignments_checks(assignment):
    submission = notebook.read(FIXTURE / "assignment.ipynb")
    for cell in submission.cells:
        if cell.get("id") == "build-header":
            cell.source = "def build_header(*a, **k):\n    return b'mine'"
        if cell.get("id") == "check-header":
            cell.source = "print('010106003903f32600030000')"
    submission.cells = [
        c
        for c in submission.cells
        if c.get("id") != "lease-summary" and not (notebook.check_meta(c) or {}).get("hidden")
    ]
    extra = nbformat.v4.new_code_cell("helper = 1")
    submission.cells.insert(3, extra)  # after build-header

    kinds, plan = _plan(assignment, submission)
    assert kinds[:5] == [
        ("student", "import struct"),
        ("student", "def build_header(*a, **k):"),
        ("student", "helper = 1"),
        ("check", "header-bytes"),
        ("check", "header-bytes-hidden"),
    ]
    check = next(c for c in plan.cells if c.check == "header-bytes")
    assert check.source == "print(build_header(1, 0x3903F326, secs=3).hex())"  # the assignment's, not the edit
    assert any("header-bytes`: its code was edited" in f for f in plan.findings)
    assert ("check", "lease-summary") in kinds  # the lease function is missing; its check still runs


def test_the_job_holds_code_only_never_an_expected_output(assignment):
    plan = assemble.build(assignment, notebook.read(FIXTURE / "exercise.ipynb"))
    job = repr(plan.job())
    for check in notebook.checks(assignment):
        assert check.expected.strip() and check.expected.strip() not in job, check.name
    assert "hidden" in " ".join(plan.matching)


def test_a_check_without_metadata_is_found_by_its_code(assignment):
    submission = notebook.read(FIXTURE / "exercise.ipynb")
    for cell in submission.cells:
        cell.metadata = {}
        cell["id"] = "x" + cell["id"]
    kinds, plan = _plan(assignment, submission)
    assert [k for k in kinds if k[0] == "check"] == [("check", c.name) for c in notebook.checks(assignment)]
    assert sum("found by its code" in line for line in plan.matching) == 5


def test_scan_flags_tools_that_can_fool_a_grader():
    found = assemble.scan("c1", "import builtins\nbuiltins.print = len\nx = get_ipython()\nimport gc")
    text = " ".join(found)
    assert "builtins" in text and "IPython shell" in text and "gc" in text
    assert assemble.scan("c2", "def f(x):\n    return x + 1\nm.xid = 5") == []
    flagged = assemble.scan("c3", "from refimpl.dhcp.options import decode_option", {"refimpl.dhcp.Message"})
    assert "the reference implementation may be doing the task" in flagged[0]


@pytest.mark.parametrize(
    "text, want",
    [
        (
            "0000  01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10  |................|\n0010  11 12",
            bytes(range(1, 19)),
        ),
        ("236 octets\n01 01 06 00 39 03 f3 26 00 04\n", bytes.fromhex("0101060039 03f3260004".replace(" ", ""))),
        ("packet: 0101060039f3260004\n", bytes.fromhex("0101060039f3260004")),
        ("b'\\x01\\x01\\x06\\x00abc'\n", b"\x01\x01\x06\x00abc"),
        ("nothing here 12 34\n", None),
    ],
)
def test_extract_bytes(text, want):
    assert feedback.extract_bytes(text) == want


def test_field_diff_names_dhcp_fields():
    from refimpl.dhcp import Message

    want = Message.discover(mac="02:00:00:00:00:01", xid=0x1234).encode()
    got = bytearray(want)
    got[5] ^= 0xFF  # inside xid
    got[10] = 0x80  # flags: broadcast bit
    rows = feedback.field_diff(want, bytes(got))
    assert [r["field"] for r in rows] == ["xid", "flags"]
    md = feedback.to_markdown([("bytes", rows)])
    assert "xid (offset 4)" in md
    assert md.count("^^") == 2
    html = feedback.to_html([("bytes", rows)])
    assert html.count("<mark>") == 4  # one differing byte per field, shown on both sides


def test_field_diff_reports_length_change():
    rows = feedback.field_diff(b"\x05" * 20, b"\x05" * 18)
    assert rows[-1]["field"] == "length" and "expected 20 bytes, got 18" in rows[-1]["note"]


def test_student_identity_is_the_path_below_the_submissions_folder(tmp_path):
    assert grade.student_name(tmp_path / "2024" / "alice.smith.ipynb", tmp_path) == "2024/alice.smith"
    assert grade.student_name("bob") == "bob"


def test_comparison_ignores_addresses_and_trailing_space_only():
    assert grade.normalize("<object at 0x7f3a2b1c9d00>  \n\n") == grade.normalize("<object at 0x55aa55aa55aa>")
    assert grade.normalize("a\nb") != grade.normalize("a b")


def test_feedback_falls_back_to_a_text_diff_when_the_packet_found_is_the_same():
    """A check may print the input as a bytes literal and the answer as text: the first packet
    found is then the same on both sides, and the student must still see what differs."""
    same_input = "b'a\\r\\nb\\x00'"
    check = grade.CheckResult(
        "07-from-wire",
        1,
        status="wrong output",
        expected=f"{same_input} -> a<LF>b\n",
        actual=f"{same_input} -> a<CR><LF>b\n",
    )
    report = feedback.to_markdown(feedback.blocks_for(grade.Grade("ann", "ann.ipynb", [check])))
    assert "-" + same_input + " -> a<LF>b" in report and "+" + same_input + " -> a<CR><LF>b" in report


def test_a_course_checked_out_under_tmp_is_bound_on_top_of_the_private_tmp(monkeypatch):
    """CI clones the course under /tmp: its venv must be bound after the sandbox's fresh /tmp, not hidden by it."""
    from refimpl.grading import sandbox

    monkeypatch.setattr(sandbox, "_python_paths", lambda: ["/tmp/ci/.venv", "/tmp/ci/refimpl"])
    args = sandbox._bwrap_args(sandbox.Limits())
    tmpfs = args.index("--tmpfs")
    binds = [i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 1].startswith("/tmp/")]
    assert binds and all(i > tmpfs for i in binds)
    assert ["--perms", "0755", "--dir", "/tmp"] not in [args[i : i + 4] for i in range(len(args))]


# CPython gh-106905: two threads in ast.parse at once, with a garbage collection
# switching between them, raise "AST constructor recursion depth mismatch". CI
# once graded an honest submission "kernel died" that way under --jobs 2.
NESTED_SOURCE = "x = " + "[" * 80 + "1" + "]" * 80 + "\n" + "def f(a):\n    return [b for b in a if b]\n" * 100


def test_parses_from_many_grading_threads_at_once_do_not_collide():
    import gc
    import sys
    import threading
    import time

    from refimpl.grading import python_source

    old_interval, old_threshold = sys.getswitchinterval(), gc.get_threshold()
    switch = lambda phase, info: time.sleep(0)  # noqa: E731 - a gc pass that lets another thread in
    errors, trees = [], []

    def parse_many():
        for _ in range(40):
            try:
                trees.append(python_source.parse(NESTED_SOURCE))
                assemble.scan("cell", "import refimpl.grading\n" + NESTED_SOURCE)
            except Exception as exc:  # the bug, were the lock gone
                errors.append(exc)
                return

    sys.setswitchinterval(1e-6)
    gc.set_threshold(50)
    gc.callbacks.append(switch)
    try:
        threads = [threading.Thread(target=parse_many) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        gc.callbacks.remove(switch)
        gc.set_threshold(*old_threshold)
        sys.setswitchinterval(old_interval)
    assert not errors, errors[:1]
    assert len(trees) == 120 and all(tree is not None for tree in trees)


def test_the_grader_parses_python_only_through_the_lock():
    grading = Path(__file__).resolve().parent.parent / "refimpl" / "grading"
    # runner.py runs alone inside the sandbox; every other module runs in the grader's threads.
    direct = [
        p.name
        for p in grading.glob("*.py")
        if p.name not in {"python_source.py", "runner.py"}
        and re.search(r"\bast\.(?:parse|literal_eval)\(|(?<![.\w])compile\(", p.read_text())
    ]
    assert direct == []


def test_a_grader_bug_is_reported_as_the_graders_fault_not_the_students(assignment, monkeypatch, tmp_path):
    submission = tmp_path / "alice.ipynb"
    nbformat.write(assignment, submission)

    def broken_build(*args, **kwargs):
        raise SystemError("AST constructor recursion depth mismatch (before=33, after=26)")

    monkeypatch.setattr(assemble, "build", broken_build)
    g = grade.grade_one(assignment, submission, use_sandbox=False)
    assert g.status == "grader error" and g.score == 0
    assert any("the grader's fault" in p and "grade it again" in p for p in g.problems), g.problems
