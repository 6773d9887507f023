"""Reports a teacher and an LMS use: roster, submission time and late policy, the CSV merge, Canvas and Gradescope.

Most tests build ``Grade`` objects by hand (no kernel); the command-line tests
at the end grade a tiny assignment built here with nbformat, in the sandbox,
a few submissions at a time (each costs about a second).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
from datetime import UTC, datetime, timedelta

import nbformat
import pytest

from refimpl.grading import grade, notebook, reports
from refimpl.grading.grade import CheckResult, Grade

DEADLINE = datetime(2025, 3, 1, 22, 59, tzinfo=UTC)


def _grade(student, earned, status="graded", path=None, hidden_wrong=False, seconds=1.25):
    checks = [
        CheckResult(
            "pack",
            2,
            earned[0],
            "passed" if earned[0] else "wrong output",
            expected="01 02\n",
            actual="01 02\n" if earned[0] else "01 03\n",
            reason="" if earned[0] else "the output is not the expected one",
        ),
        CheckResult(
            "parse",
            3,
            earned[1],
            "passed" if earned[1] else "error",
            reason="" if earned[1] else "raised `KeyError: 53`",
            where=[] if earned[1] else ["your cell 2 (`def parse(data):`), line 4: `return d[53]`"],
        ),
        CheckResult(
            "parse-hidden",
            1,
            0 if hidden_wrong else earned[2],
            "wrong output" if hidden_wrong else "passed",
            expected="SECRET EXPECTED\n",
            actual="nope\n" if hidden_wrong else "SECRET EXPECTED\n",
            hidden=True,
            task="parse",
            covers="an option 53 after a pad",
        ),
    ]
    return Grade(student, path or f"/nowhere/{student}.ipynb", checks, status=status, seconds=seconds)


CHECKS = [
    notebook.Check("pack", "c1", 2, "", "01 02\n"),
    notebook.Check("parse", "c2", 3, "", "x\n"),
    notebook.Check("parse-hidden", "c3", 1, "", "SECRET EXPECTED\n", hidden=True, task="parse"),
]


def _roster(tmp_path, text) -> reports.Roster:
    path = tmp_path / "roster.csv"
    path.write_text(text)
    return reports.read_roster(path)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- time and late policy


@pytest.mark.parametrize(
    "after, days",
    [
        (timedelta(seconds=-1), 0),
        (timedelta(0), 0),
        (timedelta(seconds=1), 1),
        (timedelta(days=1), 1),
        (timedelta(days=1, seconds=1), 2),
        (timedelta(days=9, hours=23), 10),
    ],
)
def test_late_days_are_whole_days_rounded_up(after, days):
    assert reports.late_days(DEADLINE + after, DEADLINE) == days


def test_late_days_are_unknown_without_both_times():
    assert reports.late_days(None, DEADLINE) is None and reports.late_days(DEADLINE, None) is None


@pytest.mark.parametrize(
    "text, days, penalty",
    [
        ("none", 3, 0.0),
        ("zero", 0, 0.0),
        ("zero", 1, 1.0),
        ("10%-per-day", 0, 0.0),
        ("10%-per-day", 1, 0.1),
        ("10%-per-day", 3, 0.3),
        ("10%-per-day", 12, 1.0),
        ("2.5%-per-day", 2, 0.05),
        ("150%-per-day", 1, 1.0),
        ("10%-PER-DAY", 1, 0.1),
    ],
)
def test_each_late_policy_and_its_cap(text, days, penalty):
    assert reports.LatePolicy.parse(text).penalty(days) == pytest.approx(penalty)


@pytest.mark.parametrize("text", ["10%", "ten%-per-day", "-5%-per-day", "half", ""])
def test_a_bad_late_policy_says_what_is_allowed(text):
    with pytest.raises(reports.ReportError, match="none, zero or a percentage per day"):
        reports.LatePolicy.parse(text)


def test_times_are_read_as_iso_8601_and_written_in_utc():
    assert reports.iso(reports.parse_time("2025-03-01T23:59:00+01:00", "x")) == "2025-03-01T22:59:00Z"
    assert reports.iso(reports.parse_time("2025-03-01T22:59:00Z", "x")) == "2025-03-01T22:59:00Z"
    naive = reports.parse_time("2025-03-01T23:59:00", "x")  # the grading machine's local time
    assert naive == datetime(2025, 3, 1, 23, 59).astimezone().astimezone(UTC)
    with pytest.raises(reports.ReportError, match="--deadline: 'tomorrow' is not an ISO 8601 time"):
        reports.parse_time("tomorrow", "--deadline")


def test_submission_time_from_mtime_roster_or_gradescope(tmp_path):
    sub = tmp_path / "autograder" / "submission" / "hw.ipynb"
    sub.parent.mkdir(parents=True)
    sub.write_text("{}")
    os.utime(sub, (0, DEADLINE.timestamp() + 90))
    assert reports.submitted_at(sub, "mtime") == DEADLINE + timedelta(seconds=90)
    person = reports.Person("1001", submitted=DEADLINE)
    assert reports.submitted_at(sub, "roster", person) == DEADLINE
    assert reports.submitted_at(sub, "roster", None) is None
    assert reports.submitted_at(sub, "gradescope") is None  # no metadata file
    # Gradescope: /autograder/submission_metadata.json beside /autograder/submission/
    (tmp_path / "autograder" / "submission_metadata.json").write_text(
        json.dumps(
            {"created_at": "2025-03-02T14:22:32.365935-07:00", "assignment": {"due_date": "2025-03-01T23:00:00-07:00"}}
        )
    )
    assert reports.iso(reports.submitted_at(sub, "gradescope")) == "2025-03-02T21:22:32Z"
    (tmp_path / "autograder" / "submission_metadata.json").write_text('{"created_at": "last week"}')
    assert reports.submitted_at(sub, "gradescope") is None
    assert reports.submitted_at(tmp_path / "gone.ipynb", "mtime") is None


# --------------------------------------------------------------------------- roster


ROSTER = """id,name,section,file,login
1001,Sam Lee,S1,a/sam.ipynb,slee
1002,Sam Ray,S2,b/sam,sray
1003,Bob Kim,S1,bob.ipynb,bkim
1004,Dana Diaz,S2,,ddiaz
1005,Eve Ng,S2,,
"""


def test_roster_maps_a_path_a_file_name_an_id_or_a_login(tmp_path):
    roster = _roster(tmp_path, ROSTER)
    matched = roster.match(["a/sam", "b/sam", "late/bob", "ddiaz", "1005", "stranger"])
    assert {s: p.id for s, p in matched.people.items()} == {
        "a/sam": "1001",
        "b/sam": "1002",
        "late/bob": "1003",
        "ddiaz": "1004",
        "1005": "1005",
    }
    assert matched.unknown == ["stranger"]
    assert matched.missing == []
    person = matched.people["a/sam"]
    assert (person.name, person.section, person.login, person.row) == ("Sam Lee", "S1", "slee", 2)


def test_roster_students_without_a_submission_are_missing(tmp_path):
    matched = _roster(tmp_path, ROSTER).match(["a/sam"])
    assert [p.id for p in matched.missing] == ["1002", "1003", "1004", "1005"]


def test_a_roster_row_matching_two_submissions_is_an_error(tmp_path):
    roster = _roster(tmp_path, "id,name,file\n1,Sam,sam.ipynb\n")
    with pytest.raises(
        reports.ReportError,
        match=r"row 2 matches 2 submissions \(a/sam.ipynb, b/sam.ipynb\): give "
        "the path",
    ):
        roster.match(["a/sam", "b/sam"])
    roster = _roster(tmp_path, "id,login\nsam,x\n1,sam\n")
    with pytest.raises(reports.ReportError, match="rows 2, 3 all match the submission sam.ipynb"):
        roster.match(["sam"])


@pytest.mark.parametrize(
    "text, words",
    [
        ("name,file\nSam,sam.ipynb\n", "no student id column"),
        ("id,name\n1,Sam\n,Bob\n", "row 3: no student id"),
        ("id,name\n1,Sam\n1,Bob\n", "row 3: student id 1 is already on row 2"),
        ("id,file\n1,a/sam.ipynb\n2,a/sam\n", "row 3: file a/sam is already on row 2"),
        ("id,submitted\n1,yesterday\n", "row 2, submitted: 'yesterday' is not an ISO 8601 time"),
    ],
)
def test_roster_errors_name_the_row(tmp_path, text, words):
    with pytest.raises(reports.ReportError, match=re.escape(words)):
        _roster(tmp_path, text)


def test_a_canvas_gradebook_export_works_as_a_roster(tmp_path):
    exported = (
        "\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Lab 1 (4242)\n"
        "    Points Possible,,,,,10\n"
        '"Lee, Sam",77001,1001,slee,S1,\n'
        '"Ray, Sam",77002,1002,sray,S2,8\n'
        '"Student, Test",77009,,,S1,\n'
    )  # the account behind Canvas's student view
    roster = _roster(tmp_path, exported)
    assert [(p.id, p.canvas_id, p.login, p.name, p.section) for p in roster.people] == [
        ("1001", "77001", "slee", "Lee, Sam", "S1"),
        ("1002", "77002", "sray", "Ray, Sam", "S2"),
    ]
    assert set(roster.match(["slee", "1002"]).people) == {"slee", "1002"}


def test_roster_header_names_are_forgiving(tmp_path):
    roster = _roster(
        tmp_path,
        "Student_ID,Student Name,SECTION,Submission,Submitted\n1001,Sam Lee,S1,sam.ipynb,2025-03-01T10:00:00Z\n",
    )
    person = roster.people[0]
    assert (person.id, person.name, person.section, person.file) == ("1001", "Sam Lee", "S1", "sam.ipynb")
    assert reports.iso(person.submitted) == "2025-03-01T10:00:00Z"


# --------------------------------------------------------------------------- rows and the CSV


def test_rows_carry_identity_time_lateness_and_both_scores(tmp_path):
    matched = _roster(tmp_path, ROSTER).match(["a/sam", "b/sam", "stranger"])
    sam = tmp_path / "sam.ipynb"
    sam.write_text("{}")
    os.utime(sam, (0, (DEADLINE + timedelta(days=1, minutes=1)).timestamp()))
    grades = [
        _grade("a/sam", (2, 3, 1), path=sam),
        _grade("b/sam", (2, 0, 0), status="timed out"),
        _grade("stranger", (0, 0, 0)),
    ]
    rows = reports.make_rows(
        grades,
        CHECKS,
        [],
        "01_dhcp",
        matched=matched,
        deadline=DEADLINE,
        policy=reports.LatePolicy.parse("10%-per-day"),
    )
    columns = reports.header(CHECKS, [], roster=True)
    assert columns == [
        "student",
        "student_id",
        "name",
        "section",
        "assignment",
        "status",
        "submitted",
        "late_days",
        "penalty_percent",
        "score_before_penalty",
        "score",
        "max_score",
        "pack",
        "parse",
        "parse-hidden",
    ]
    cells = [reports.table_row(r) for r in rows]
    assert cells[0] == {
        "student": "a/sam",
        "student_id": "1001",
        "name": "Sam Lee",
        "section": "S1",
        "assignment": "01_dhcp",
        "status": "graded",
        "submitted": "2025-03-02T23:00:00Z",
        "late_days": "2",
        "penalty_percent": "20",
        "score_before_penalty": "6",
        "score": "4.8",
        "max_score": "6",
        "pack": "2",
        "parse": "3",
        "parse-hidden": "1",
    }
    assert cells[1]["status"] == "timed out" and cells[1]["late_days"] == ""  # /nowhere: no time known
    assert cells[1]["score"] == "2" and cells[1]["penalty_percent"] == "0"
    assert (cells[2]["student"], cells[2]["student_id"]) == ("stranger", "")  # not on the roster: graded all the same
    missing = {c["student_id"]: c for c in cells[3:]}
    assert set(missing) == {"1003", "1004", "1005"}
    assert missing["1003"] == {
        "student": "bob",
        "student_id": "1003",
        "name": "Bob Kim",
        "section": "S1",
        "assignment": "01_dhcp",
        "status": "missing",
        "submitted": "",
        "late_days": "",
        "max_score": "6",
    }  # no submission: empty scores, not 0


def test_zero_policy_and_no_deadline(tmp_path):
    sam = tmp_path / "sam.ipynb"
    sam.write_text("{}")
    os.utime(sam, (0, (DEADLINE + timedelta(seconds=5)).timestamp()))
    graded = [_grade("sam", (2, 3, 1), path=sam)]
    row = reports.make_rows(graded, CHECKS, [], "a", deadline=DEADLINE, policy=reports.LatePolicy.parse("zero"))[0]
    assert (row.late_days, row.before_penalty, row.score) == (1, 6, 0)
    row = reports.make_rows(graded, CHECKS, [], "a")[0]
    assert (row.late_days, row.penalty, row.score) == (None, 0, 6)
    assert reports.table_row(row)["late_days"] == "" and reports.table_row(row)["submitted"] == "2025-03-01T22:59:05Z"


def test_scores_are_written_as_a_spreadsheet_reads_them():
    assert [reports.num(x) for x in (15.0, 13.5, 13 * 0.7, 2 / 3, 0.0)] == ["15", "13.5", "9.1", "0.6667", "0"]


def _table(columns, rows) -> str:
    out = io.StringIO()
    reports.write_table(out, columns, rows)
    return out.getvalue()


def test_merge_updates_this_runs_rows_and_keeps_the_others_and_the_column_order():
    old_columns = ["assignment", "student", "score", "status", "teacher note", "pack"]
    old = [
        dict(zip(old_columns, values))
        for values in (
            ("01", "a/sam", "1", "graded", "ok", "1"),
            ("01", "b/bob", "5", "graded", "", "2"),
            ("02", "a/sam", "9", "graded", "", "2"),
        )
    ]
    new_columns = ["student", "assignment", "status", "score", "pack", "parse"]
    new = [
        {"student": "a/sam", "assignment": "01", "status": "graded", "score": "5", "pack": "2", "parse": "3"},
        {"student": "c/cy", "assignment": "01", "status": "unreadable", "score": "0", "pack": "0", "parse": "0"},
    ]
    columns, rows = reports.merge(old_columns, old, new_columns, new)
    assert columns == ["assignment", "student", "score", "status", "teacher note", "pack", "parse"]
    assert [(r["assignment"], r["student"], r["score"]) for r in rows] == [
        ("01", "a/sam", "5"),
        ("01", "b/bob", "5"),
        ("02", "a/sam", "9"),
        ("01", "c/cy", "0"),
    ]
    assert rows[1] == old[1] and rows[2] == old[2]  # not graded this time: untouched
    text = _table(columns, rows)
    assert text.splitlines()[0] == "assignment,student,score,status,teacher note,pack,parse"
    assert text.splitlines()[1] == "01,a/sam,5,graded,ok,2,3"  # regraded; the teacher's note stays


def test_merge_matches_by_student_id_and_never_lets_missing_replace_a_grade():
    old_columns = ["student", "student_id", "assignment", "status", "score"]
    old = [
        {"student": "old/path/sam", "student_id": "1001", "assignment": "01", "status": "graded", "score": "4"},
        {"student": "bob", "student_id": "1003", "assignment": "01", "status": "graded", "score": "3"},
        {"student": "", "student_id": "1004", "assignment": "01", "status": "missing", "score": ""},
        {"student": "eve", "student_id": "", "assignment": "01", "status": "graded", "score": "1"},
    ]
    new = [
        {"student": "a/sam", "student_id": "1001", "assignment": "01", "status": "graded", "score": "6"},
        {"student": "bob", "student_id": "1003", "assignment": "01", "status": "missing", "score": ""},
        {"student": "dana", "student_id": "1004", "assignment": "01", "status": "graded", "score": "2"},
        {"student": "eve", "student_id": "1005", "assignment": "01", "status": "graded", "score": "5"},
    ]
    _, rows = reports.merge(old_columns, old, old_columns, new)
    assert [(r["student"], r["student_id"], r["status"], r["score"]) for r in rows] == [
        ("a/sam", "1001", "graded", "6"),  # the same id: the same student, whatever the path
        ("bob", "1003", "graded", "3"),  # "missing" this run (a one-student regrade) keeps the grade
        ("dana", "1004", "graded", "2"),  # a missing row gets its grade once the student hands in
        ("eve", "1005", "graded", "5"),
    ]  # a row without an id matches by path, and gains the id


def test_update_csv_creates_then_merges(tmp_path):
    target = tmp_path / "out" / "grades.csv"
    columns = ["student", "assignment", "status", "score"]
    reports.update_csv(
        target,
        columns,
        [
            {"student": "a", "assignment": "x", "status": "graded", "score": "1"},
            {"student": "b", "assignment": "x", "status": "graded", "score": "2"},
        ],
    )
    target.chmod(0o640)
    merged = reports.update_csv(
        target, columns, [{"student": "b", "assignment": "x", "status": "graded", "score": "7"}]
    )
    assert [(r["student"], r["score"]) for r in merged] == [("a", "1"), ("b", "7")]
    assert _rows(target.read_text()) == merged
    assert target.stat().st_mode & 0o777 == 0o640  # the teacher's permissions survive the rename
    assert sorted(p.name for p in target.parent.iterdir()) == ["grades.csv"]  # no temporary file left


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "grades.csv"
    target.write_text("student,status,score\na,graded,1\n")

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(reports.os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        reports.update_csv(target, ["student", "status", "score"], [{"student": "a", "status": "graded", "score": "9"}])
    assert target.read_text() == "student,status,score\na,graded,1\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]


def test_a_file_that_is_not_a_grades_file_is_never_overwritten(tmp_path):
    precious = tmp_path / "thesis.csv"
    precious.write_text("chapter,pages\n1,30\n")
    with pytest.raises(reports.ReportError, match="is not a grades file"):
        reports.check_table(precious)
    with pytest.raises(reports.ReportError, match="is not a grades file"):
        reports.update_csv(precious, ["student", "status", "score"], [])
    assert precious.read_text() == "chapter,pages\n1,30\n"


# --------------------------------------------------------------------------- Canvas


def _canvas_header_is_accepted(row: list[str]) -> bool:
    """Canvas's GradebookImporter header test (app/models/gradebook_importer.rb, ``header?``)."""
    if not (len(row) > 3 and re.search("Student", row[0]) and re.search("ID", row[1])):
        return False
    columns = 3
    if re.search(r"SIS\s+Login\s+ID", row[2]):
        columns += 1
    elif re.search(r"SIS\s+User\s+ID", row[2]) and re.search(r"SIS\s+Login\s+ID", row[3]):
        columns += 2
    return bool(re.search("Section", row[columns - 1]))


def test_canvas_import_field_by_field(tmp_path):
    roster = _roster(
        tmp_path,
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        '"Lee, Sam",77001,1001,slee,S1\n"Kim, Bob",77003,1003,bkim,S1\n'
        '"Ng, Eve",77005,1005,eng,S2\n',
    )
    rows = [
        {"student_id": "1001", "assignment": "01", "status": "graded", "score": "4.8"},
        {"student_id": "1005", "assignment": "01", "status": "unreadable", "score": "0"},
        {"student_id": "1005", "assignment": "02", "status": "graded", "score": "9"},
        {"student_id": "1003", "assignment": "01", "status": "missing", "score": ""},
        {"student_id": "", "assignment": "01", "status": "graded", "score": "6"},
    ]  # on no roster row
    text = reports.canvas_csv(roster, rows, "Lab 1 (4242)", 6, "01")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Lab 1 (4242)"]
    assert _canvas_header_is_accepted(table[0])
    assert re.search("Points Possible", table[1][0]) and table[1][1:] == ["", "", "", "", "6"]
    assert table[2:] == [
        ["Lee, Sam", "77001", "1001", "slee", "S1", "4.8"],
        ["Kim, Bob", "77003", "1003", "bkim", "S1", ""],  # no submission: Canvas leaves it as it is
        ["Ng, Eve", "77005", "1005", "eng", "S2", "0"],
    ]
    assert all(len(r) == 6 for r in table)
    assert text.endswith("\n") and "\r" not in text


def test_canvas_import_with_a_plain_roster_and_a_new_assignment_column(tmp_path):
    roster = _roster(tmp_path, ROSTER)
    text = reports.canvas_csv(
        roster, [{"student_id": "1002", "assignment": "01", "status": "graded", "score": "3"}], "01", 6, "01"
    )
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][-1] == "01" and _canvas_header_is_accepted(table[0])
    assert table[3] == ["Sam Ray", "", "1002", "sray", "S2", "3"]  # no Canvas id: Canvas matches the SIS User ID
    assert len(table) == 2 + len(roster.people)


# --------------------------------------------------------------------------- Gradescope


#: The keys of results.json (Gradescope autograder specifications, "Output format").
GS_TOP = {
    "score",
    "execution_time",
    "output",
    "output_format",
    "test_output_format",
    "test_name_format",
    "visibility",
    "stdout_visibility",
    "extra_data",
    "tests",
    "leaderboard",
}
GS_TEST = {
    "score",
    "max_score",
    "status",
    "name",
    "name_format",
    "number",
    "output",
    "output_format",
    "tags",
    "visibility",
    "extra_data",
}
GS_VISIBILITY = {"hidden", "after_due_date", "after_published", "visible"}
GS_FORMATS = {"text", "html", "simple_format", "md", "ansi"}


def _check_gradescope_format(result: dict) -> None:
    assert set(result) <= GS_TOP
    assert isinstance(result["score"], float | int) and isinstance(result["execution_time"], float | int)
    assert isinstance(result["output"], str) and result.get("output_format", "text") in GS_FORMATS
    assert isinstance(result["tests"], list) and result["tests"]
    for test in result["tests"]:
        assert set(test) <= GS_TEST, set(test) - GS_TEST
        assert isinstance(test["score"], float | int) and isinstance(test["max_score"], float | int)
        assert isinstance(test["name"], str) and isinstance(test["output"], str) and isinstance(test["number"], str)
        assert test.get("visibility", "visible") in GS_VISIBILITY
        assert test.get("status", "passed") in ("passed", "failed")
        assert test.get("output_format", "text") in GS_FORMATS
    json.dumps(result)


def test_gradescope_results_field_by_field():
    g = _grade("a/sam", (0, 0, 1), hidden_wrong=True)
    row = reports.Row(
        "a/sam", "01", "graded", 6, late_days=2, penalty=0.2, checks={"pack": 0, "parse": 0, "parse-hidden": 0}
    )
    result = reports.gradescope_results(g, row)
    _check_gradescope_format(result)
    assert result["score"] == 0 and result["execution_time"] == 1.25
    pack, parse, hidden = result["tests"]
    assert (pack["name"], pack["number"], pack["score"], pack["max_score"], pack["status"], pack["visibility"]) == (
        "pack",
        "1",
        0,
        2,
        "failed",
        "visible",
    )
    assert "the output is not the expected one" in pack["output"] and "+01 03" in pack["output"]  # the diff
    assert "line 4: `return d[53]`" in parse["output"]
    assert hidden["visibility"] == "after_published" and hidden["name"] == "parse-hidden (hidden)"
    assert "an option 53 after a pad" in hidden["output"]
    assert "SECRET" not in json.dumps(result) and "nope" not in hidden["output"]  # never a hidden answer
    assert "Late by 2 day(s): 20% off" in result["output"]
    assert result["extra_data"] == {"student": "a/sam", "status": "graded", "late_days": 2, "penalty_percent": 20}


def test_gradescope_score_is_the_final_one_and_overrides_the_tests():
    g = _grade("sam", (2, 3, 1))
    row = reports.Row(
        "sam", "01", "graded", 6, late_days=1, penalty=0.1, checks={"pack": 2, "parse": 3, "parse-hidden": 1}
    )
    result = reports.gradescope_results(g, row)
    _check_gradescope_format(result)
    assert sum(t["score"] for t in result["tests"]) == 6 and result["score"] == 5.4
    assert [t["status"] for t in result["tests"]] == ["passed"] * 3
    assert result["tests"][0]["output"] == "passed"


def test_gradescope_files_one_submission_or_many(tmp_path):
    one = reports.write_gradescope(tmp_path / "results", {"sam": {"score": 1}})
    assert one == [tmp_path / "results" / "results.json"]
    assert json.loads(one[0].read_text()) == {"score": 1}
    many = reports.write_gradescope(tmp_path / "all", {"a/sam": {"score": 1}, "b/sam": {"score": 2}})
    assert many == [tmp_path / "all" / "a" / "sam" / "results.json", tmp_path / "all" / "b" / "sam" / "results.json"]
    assert json.loads(many[1].read_text()) == {"score": 2}


# --------------------------------------------------------------------------- feedback


def test_feedback_names_the_student_and_shows_the_penalty():
    g = _grade("a/sam", (2, 3, 1))
    row = reports.Row(
        "a/sam",
        "01",
        "graded",
        6,
        person=reports.Person("1001", "Sam Lee"),
        submitted=DEADLINE + timedelta(hours=30),
        late_days=2,
        penalty=0.2,
        checks={"pack": 2, "parse": 3, "parse-hidden": 1},
    )
    md = reports.render_feedback(g, row)
    assert md.startswith("# Feedback for Sam Lee (a/sam)\n")
    assert "Score: **4.8 / 6** (graded)" in md
    assert "Submitted 2025-03-03T04:59:00Z, 2 day(s) after the deadline: 20% off (before the penalty: 6)." in md
    page = reports.render_feedback(g, row, fmt="html")
    assert "<b>4.8 / 6</b>" in page and "20% off" in page


# --------------------------------------------------------------------------- the command


def _cell(kind, source, cell_id, course=None, output=None):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id
    if course:
        cell.metadata["course"] = course
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        cell.execution_count = 1
    return cell


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A two-point assignment, its exercise, and a class: a/sam solved it, b/sam did not, b/bob is broken."""
    folder = tmp_path_factory.mktemp("tiny")
    solution = nbformat.v4.new_notebook(
        cells=[
            _cell("markdown", "# Doubling", "title"),
            _cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "ex"),
            _cell("code", "print(double(21))", "check", {"check": "double", "points": 2}, "42\n"),
        ]
    )
    notebook.write(solution, folder / "doubling.ipynb")
    exercise = notebook.exercise_from(solution)
    subs = folder / "subs"
    (subs / "a").mkdir(parents=True)
    (subs / "b").mkdir()
    solved = copy.deepcopy(exercise)
    solved.cells[1].source = "def double(x):\n    return x + x"
    notebook.write(solved, subs / "a" / "sam.ipynb")
    notebook.write(exercise, subs / "b" / "sam.ipynb")
    (subs / "b" / "bob.ipynb").write_text("{ not json")
    for name, when in (
        ("a/sam", DEADLINE + timedelta(hours=25)),
        ("b/sam", DEADLINE - timedelta(hours=1)),
        ("b/bob", DEADLINE),
    ):
        os.utime(subs / f"{name}.ipynb", (0, when.timestamp()))
    (folder / "roster.csv").write_text(
        "id,name,section,file,login\n1001,Sam Lee,S1,a/sam.ipynb,slee\n"
        "1002,Sam Ray,S2,b/sam,sray\n1003,Bob Kim,S1,bob.ipynb,bkim\n"
        "1004,Dana Diaz,S2,,ddiaz\n"
    )
    return folder


CLASS = ("a/sam", "b/sam", "b/bob")


def _main(tiny, *options, submissions=None) -> int:
    paths = submissions or [tiny / "subs" / f"{student}.ipynb" for student in CLASS]
    return grade.main(["--assignment", str(tiny / "doubling.ipynb"), "--quiet", *map(str, paths), *map(str, options)])


def test_cli_class_with_roster_deadline_canvas_and_gradescope(tiny, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    roster = tmp_path / "roster.csv"  # Bob Kim is not on this one
    roster.write_text("".join(line for line in (tiny / "roster.csv").read_text().splitlines(True) if "Bob" not in line))
    code = _main(
        tiny,
        "--roster",
        roster,
        "--deadline",
        "2025-03-01T23:59:00+01:00",
        "--late-policy",
        "25%-per-day",
        "--csv",
        out,
        "--canvas",
        tmp_path / "canvas.csv",
        "--canvas-column",
        "Lab 1 (4242)",
        "--gradescope",
        tmp_path / "gs",
        "--feedback",
        tmp_path / "fb",
        "--jobs",
        "2",
    )
    err = capsys.readouterr().err
    assert code == 1  # b/bob could not be graded
    assert err.rstrip().splitlines()[-1] == "grade: 2 graded, 1 not: b/bob (unreadable)"
    assert "1 roster student(s) with no submission in this run (missing): 1004 Dana Diaz" in err
    assert "deadline 2025-03-01T22:59:00Z, late policy 25%-per-day: 1 late; a/sam 2 day(s), 50% off" in err
    assert "grade: 1 file(s) on no row of" in err and "(graded, no student id): b/bob.ipynb" in err
    rows = {r["student"] or r["student_id"]: r for r in _rows(out.read_text())}
    assert list(rows) == ["a/sam", "b/sam", "b/bob", "1004"]  # the order given, then the missing
    sam = rows["a/sam"]
    assert (sam["student_id"], sam["name"], sam["section"]) == ("1001", "Sam Lee", "S1")
    assert (sam["late_days"], sam["score_before_penalty"], sam["score"]) == ("2", "2", "1")
    assert (rows["b/sam"]["status"], rows["b/sam"]["late_days"], rows["b/sam"]["score"]) == ("graded", "0", "0")
    bob = rows["b/bob"]  # on no roster row: graded all the same, with no id
    assert (bob["student_id"], bob["status"], bob["submitted"]) == ("", "unreadable", "2025-03-01T22:59:00Z")
    assert (rows["1004"]["status"], rows["1004"]["score"], rows["1004"]["name"]) == ("missing", "", "Dana Diaz")
    canvas = list(csv.reader(io.StringIO((tmp_path / "canvas.csv").read_text())))
    assert canvas[0][-1] == "Lab 1 (4242)" and canvas[1][-1] == "2"
    assert [r[2:] for r in canvas[2:]] == [
        ["1001", "slee", "S1", "1"],
        ["1002", "sray", "S2", "0"],
        ["1004", "ddiaz", "S2", ""],
    ]
    for student in ("a/sam", "b/sam", "b/bob"):
        _check_gradescope_format(json.loads((tmp_path / "gs" / student / "results.json").read_text()))
    assert json.loads((tmp_path / "gs" / "a" / "sam" / "results.json").read_text())["score"] == 1
    assert "# Feedback for Sam Lee (a/sam)" in (tmp_path / "fb" / "a" / "sam.md").read_text()
    assert "50% off" in (tmp_path / "fb" / "a" / "sam.md").read_text()


def test_cli_regrading_one_student_keeps_the_other_rows(tiny, tmp_path, capsys):
    out = tmp_path / "grades.csv"
    assert _main(tiny, "--csv", out) == 1
    before = _rows(out.read_text())
    assert [r["student"] for r in before] == ["a/sam", "b/sam", "b/bob"]
    one = tiny / "subs" / "b" / "sam.ipynb"
    # Without --root the submissions folder would be guessed as subs/b and b/sam would become "sam": refused.
    assert _main(tiny, "--csv", out, submissions=[one]) == 2
    assert "grades.csv knows sam (there as a/sam or b/sam): pass --root" in capsys.readouterr().err
    solved = notebook.read(tiny / "subs" / "a" / "sam.ipynb")
    regraded = tmp_path / "regraded" / "b" / "sam.ipynb"
    regraded.parent.mkdir(parents=True)
    notebook.write(solved, regraded)  # b/sam hands in again, solved this time
    assert _main(tiny, "--root", tmp_path / "regraded", "--csv", out, submissions=[regraded]) == 0
    after = _rows(out.read_text())
    assert [r["student"] for r in after] == ["a/sam", "b/sam", "b/bob"]
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1]["score"] == "2" and before[1]["score"] == "0"
    assert capsys.readouterr().err.rstrip().splitlines()[-1] == "grade: 1 graded"


def test_cli_one_submission_writes_results_json_where_gradescope_reads_it(tiny, tmp_path):
    autograder = tmp_path / "autograder"
    (autograder / "submission").mkdir(parents=True)
    notebook.write(notebook.read(tiny / "subs" / "a" / "sam.ipynb"), autograder / "submission" / "hw.ipynb")
    (autograder / "submission_metadata.json").write_text(
        json.dumps({"created_at": "2025-03-03T12:00:00+00:00", "assignment": {"due_date": "2025-03-01T23:00:00+00:00"}})
    )
    code = _main(
        tiny,
        "--submitted-from",
        "gradescope",
        "--late-policy",
        "10%-per-day",
        "--gradescope",
        autograder / "results",
        submissions=[autograder / "submission" / "hw.ipynb"],
    )
    assert code == 0
    result = json.loads((autograder / "results" / "results.json").read_text())
    _check_gradescope_format(result)
    # due date from the metadata, 1.5 days late: 2 days, 20% off the 2 points
    assert result["score"] == 1.6 and result["extra_data"]["late_days"] == 2


@pytest.mark.parametrize(
    "extra, words",
    [
        (["--late-policy", "10%"], "late policy '10%'"),
        (["--late-policy", "zero"], "--late-policy zero needs --deadline"),
        (["--deadline", "friday"], "--deadline: 'friday' is not an ISO 8601 time"),
        (["--canvas", "c.csv"], "--canvas needs --roster"),
        (["--submitted-from", "roster"], "--submitted-from roster needs --roster"),
        (["--roster", "{tmp}/bad_roster.csv"], "row 2: no student id"),
        (["--roster", "{tmp}/ambiguous.csv"], "matches 2 submissions"),
        (["--csv", "{tmp}/thesis.csv"], "is not a grades file"),
        (["--root", "{tmp}"], "not below --root"),
        (["--manual-sheet", "{tmp}/sheet.csv"], "has no written answers"),
    ],
)
def test_cli_bad_options_are_refused_before_grading(tiny, tmp_path, capsys, extra, words):
    (tmp_path / "bad_roster.csv").write_text("id,name\n,Sam\n")
    (tmp_path / "ambiguous.csv").write_text("id,file\n1,sam.ipynb\n")
    (tmp_path / "thesis.csv").write_text("chapter,pages\n1,30\n")
    assert _main(tiny, *[e.format(tmp=tmp_path) for e in extra]) == 2
    err = capsys.readouterr().err
    assert words in err and "submission(s)" not in err  # nothing was graded
    assert (tmp_path / "thesis.csv").read_text() == "chapter,pages\n1,30\n"
