"""Fast, kernel-free tests of the grader's pieces: assembly, receipts, feedback, names."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from refimpl.grading import assemble, feedback, grade, guard, notebook

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "grading"


@pytest.fixture()
def assignment():
    return notebook.read(FIXTURE / "assignment.ipynb")


def _kinds(nb):
    return [(c.metadata.get("course_graded", {}).get("kind"), c.metadata.get("course_graded", {}).get("cell_id"))
            for c in nb.cells if c.cell_type == "code"]


def test_checks_come_from_the_assignment(assignment):
    checks = notebook.checks(assignment)
    assert [c.name for c in checks] == ["header-bytes", "broadcast-flag", "lease-summary", "hexlify", "header-size"]
    assert [c.points for c in checks] == [2, 1, 1, 1, 1]
    assert checks[2].expected == "'24 h 1 min'\n"  # a trailing expression, shown as text


def test_canonical_text_joins_stdout_and_results_but_not_stderr():
    outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="a\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning\n"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "42"}, execution_count=1),
    ]
    assert notebook.canonical_text(outputs) == "a\n42\n"


def test_assembly_uses_students_code_but_assignments_checks(assignment):
    submission = notebook.read(FIXTURE / "assignment.ipynb")
    for cell in submission.cells:
        if cell.get("id") == "build-header":
            cell.source = "def build_header(*a, **k):\n    return b'mine'"
        if cell.get("id") == "check-header":
            cell.source = "print('010106003903f32600030000')"
    submission.cells = [c for c in submission.cells if c.get("id") != "lease-summary"]
    extra = nbformat.v4.new_code_cell("helper = 1")
    extra.id = "my-helper"
    submission.cells.insert(3, extra)  # after build-header

    built = assemble.build(assignment, submission, b"k" * 32, "/tmp/nowhere.json")
    kinds = _kinds(built.notebook)
    assert kinds[0] == ("guard", None)
    assert kinds[1:5] == [("student", "setup"), ("student", "build-header"),
                          ("student", "my-helper"), ("check", "check-header")]
    sources = {k: c.source for k, c in zip(kinds, [c for c in built.notebook.cells if c.cell_type == "code"])}
    assert sources[("student", "build-header")].endswith("b'mine'")
    assert sources[("check", "check-header")].endswith("run_check('header-bytes')")
    assert "NotImplementedError" in sources[("given", "lease-summary")]  # deleted -> the stub
    # The check's source goes to the guard's config, never into the graded notebook.
    assert built.guard_config["checks"]["header-bytes"] == "print(build_header(1, 0x3903F326, secs=3).hex())"
    assert any("code was edited" in f for f in built.findings)
    assert any("lease-summary" in f and "stub" in f for f in built.findings)


def test_expected_output_carries_a_keyed_receipt(assignment):
    built = assemble.build(assignment, assignment, b"k" * 32, "/tmp/x.json")
    check = next(c for c in built.notebook.cells if c.metadata.get("course_graded", {}).get("kind") == "check")
    text = check.outputs[0]["text"]
    assert text.startswith("010106003903f32600030000\n" + guard.RECEIPT_PREFIX)
    other = assemble.build(assignment, assignment, b"j" * 32, "/tmp/x.json")
    other_check = next(c for c in other.notebook.cells if c.metadata.get("course_graded", {}).get("kind") == "check")
    assert other_check.outputs[0]["text"] != text  # depends on the key
    # every non-check cell's output is ignored by nbval
    assert all(assemble.IGNORE in c.metadata["tags"] for c in built.notebook.cells
               if c.cell_type == "code" and c.metadata["course_graded"]["kind"] != "check")


def test_receipt_is_hmac_sha256():
    import hashlib
    import hmac

    key, name, text = b"secret" * 20, "check-a", "hello\n"  # key longer than a block, too
    want = hmac.new(key, name.encode() + b"\0" + text.encode(), hashlib.sha256).hexdigest()[:32]
    assert guard.receipt(key, name, text) == want
    assert guard.receipt(key, name, text + " ") != want


def test_imported_names_are_protected_except_the_students_own(assignment):
    modules, names = assemble.imported_names(assignment)
    assert "struct" in modules and "binascii" in modules
    assert names["struct"] == ("struct", None)
    assert "build_header" not in names and "lease_summary" not in names


def test_scan_flags_tools_that_can_fool_a_grader():
    found = assemble._scan("c1", "import builtins\nbuiltins.print = len\nx = get_ipython()\nimport gc")
    text = " ".join(found)
    assert "builtins" in text and "IPython shell" in text and "gc" in text
    assert assemble._scan("c2", "def f(x):\n    return x + 1\nm.xid = 5") == []


@pytest.mark.parametrize("text, want", [
    ("0000  01 02 03 04 05 06 07 08  09 0a 0b 0c 0d 0e 0f 10  |................|\n0010  11 12", bytes(range(1, 19))),
    ("236 octets\n01 01 06 00 39 03 f3 26 00 04\n", bytes.fromhex("0101060039 03f3260004".replace(" ", ""))),
    ("packet: 0101060039f3260004\n", bytes.fromhex("0101060039f3260004")),
    ("b'\\x01\\x01\\x06\\x00abc'\n", b"\x01\x01\x06\x00abc"),
    ("nothing here 12 34\n", None),
])
def test_extract_bytes(text, want):
    assert feedback.extract_bytes(text) == want


def test_field_diff_names_dhcp_fields():
    from refimpl.dhcp import Message

    want = Message.discover(mac="02:00:00:00:00:01", xid=0x1234).encode()
    got = bytearray(want)
    got[5] ^= 0xFF                 # inside xid
    got[10] = 0x80                 # flags: broadcast bit
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


def test_student_name_is_file_name_without_extension():
    assert grade.student_name("class/2024/alice.smith.ipynb") == "alice.smith"
    assert grade.student_name("bob") == "bob"


def test_submission_without_cell_ids_is_matched_by_position(assignment):
    submission = notebook.read(FIXTURE / "assignment.ipynb")
    for cell in submission.cells:
        cell["id"] = "x" + cell["id"]  # as if every id were lost and regenerated
        if cell.cell_type == "code" and "def build_header" in cell.source:
            cell.source = "def build_header(*a, **k):\n    return b'mine'"
    built = assemble.build(assignment, submission, b"k" * 32, "/tmp/x.json")
    assert any("matched by position" in f for f in built.findings)
    kinds = _kinds(built.notebook)
    assert ("student", "build-header") in kinds and ("given", "build-header") not in kinds
    student = [c for c in built.notebook.cells if c.metadata.get("course_graded", {}).get("cell_id") == "build-header"]
    assert student[0].source.endswith("b'mine'")


def test_feedback_falls_back_to_a_text_diff_when_the_packet_found_is_the_same():
    """A check may print the input as a bytes literal and the answer as text: the first packet
    found is then the same on both sides, and the student must still see what differs."""
    same_input = "b'a\\r\\nb\\x00'"
    check = grade.CheckResult("07-from-wire", 1, status="wrong output",
                              expected=f"{same_input} -> a<LF>b\n", actual=f"{same_input} -> a<CR><LF>b\n")  # fmt: skip
    report = feedback.to_markdown(feedback.blocks_for(grade.Grade("ann", "ann.ipynb", [check])))
    assert "-" + same_input + " -> a<LF>b" in report and "+" + same_input + " -> a<CR><LF>b" in report
