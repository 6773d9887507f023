"""Written answers graded by hand: release blanks the model answer, the grader finds each student's answer,
one sheet per assignment, and the teacher's points and comments merged back (bad rows named)."""

from __future__ import annotations

import copy
import csv
import html
import io
import json
import re
import shutil
import subprocess

import nbformat
import pytest

from refimpl.grading import grade, manual, notebook, release

MODEL = "The client has **no address yet** and does not know the server's, so it sends to 255.255.255.255."


def _cell(kind, source, cell_id, course=None, output=None):
    cell = nbformat.v4.new_code_cell(source) if kind == "code" else nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id
    if course:
        cell.metadata["course"] = course
    if output is not None:
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        cell.execution_count = 1
    return cell


def _assignment():
    """A check, then two written answers: one after the check, one under a heading below its question."""
    return nbformat.v4.new_notebook(
        cells=[
            _cell("markdown", "# Broadcast", "title"),
            _cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION", "ex"),
            _cell("code", "print(double(21))", "check", {"check": "double", "points": 2}, "42\n"),
            _cell("markdown", MODEL, "why-a", {"manual": "why-broadcast", "points": 3}),
            _cell(
                "code",
                "print(double(2))",
                "check-hidden",
                {"check": "double-hidden", "points": 1, "hidden": True},
                "4\n",
            ),
            _cell("markdown", "## Relays", "relays-h"),
            _cell("markdown", "Why does a relay agent fill in `giaddr`?", "relays-q"),
            _cell(
                "markdown",
                "So the server knows which subnet to pick an address from (RFC 2131 §4.3.1).",
                "relays-a",
                {"manual": "giaddr", "points": 2, "prompt": "*Your answer, in one sentence:*"},
            ),
            _cell("markdown", "Done.", "end"),
        ]
    )


@pytest.fixture
def assignment():
    return _assignment()


@pytest.fixture
def exercise(assignment):
    return notebook.exercise_from(assignment)


def _answers(assignment, submission) -> dict[str, manual.Answer]:
    return {a.question.name: a for a in manual.collect(assignment, submission)}


# --------------------------------------------------------------------------- release


def test_release_gives_the_prompt_never_the_model_answer(assignment, exercise):
    text = nbformat.writes(exercise)
    assert "no address yet" not in text and "subnet to pick" not in text
    cells = {c.id: c for c in exercise.cells}
    assert cells["why-a"].source == notebook.MANUAL_PROMPT
    assert cells["relays-a"].source == "*Your answer, in one sentence:*"
    assert cells["why-a"].metadata["course"] == {"manual": "why-broadcast", "points": 3}  # so answers are found
    assert cells["relays-q"].source == "Why does a relay agent fill in `giaddr`?"  # the question stays
    assert "check-hidden" not in cells


def test_release_drops_a_model_answers_attachments(tmp_path, assignment):
    answer = next(c for c in assignment.cells if c.id == "why-a")
    answer.attachments = {"diagram.png": {"image/png": "iVBORw0KGgo="}}
    answer.source += "\n\n![](attachment:diagram.png)"
    notebook.write(assignment, tmp_path / "solution.ipynb")
    text = release.render(tmp_path / "solution.ipynb")
    assert "attachments" not in text and "iVBORw0KGgo" not in text


def test_questions_know_their_points_model_and_anchor(assignment):
    why, giaddr = manual.questions(assignment)
    assert (why.name, why.points, why.model, why.prompt) == ("why-broadcast", 3, MODEL, notebook.MANUAL_PROMPT)
    assert (why.anchor.kind, why.anchor.key, why.anchor.words) == ("check", "double", "check `double`")
    assert (giaddr.anchor.kind, giaddr.anchor.words) == ("heading", "the heading `## Relays`")


@pytest.mark.parametrize(
    "course, words",
    [
        ({"manual": "why-broadcast", "points": 1}, "two written-answer cells are named 'why-broadcast'"),
        ({"manual": "other", "points": "lots"}, "written answer 'other': points must be a number >= 0"),
        ({"manual": "other", "points": -1}, "points must be a number >= 0"),
    ],
)
def test_bad_written_answer_cells_are_assignment_errors(assignment, course, words):
    assignment.cells.append(_cell("markdown", "x", "extra", course))
    with pytest.raises(notebook.NotebookError, match=words):
        manual.questions(assignment)


# --------------------------------------------------------------------------- finding the answers


def _answered(exercise, why="Because it has no IP address.", giaddr="To choose the subnet."):
    nb = copy.deepcopy(exercise)
    cells = {c.id: c for c in nb.cells}
    cells["why-a"].source, cells["relays-a"].source = why, giaddr
    return nb


def test_answers_are_found_by_their_metadata(assignment, exercise):
    found = _answers(assignment, _answered(exercise))
    assert found["why-broadcast"].text == "Because it has no IP address."
    assert found["why-broadcast"].found == (
        "found by its metadata in the markdown cell `Because it has no IP address.`"
    )
    assert found["giaddr"].text == "To choose the subnet."


def test_without_metadata_an_answer_is_found_by_its_position(assignment, exercise):
    nb = _answered(exercise)
    for cell in nb.cells:
        cell.metadata.pop("course", None)  # pasted into a new notebook: every mark lost, checks too
        cell.id = f"new-{cell.id}"
    nb.cells.insert(4, _cell("code", "print('scratch')", "scratch"))  # a scratch cell in between
    found = _answers(assignment, nb)
    assert found["why-broadcast"].text == "Because it has no IP address."
    assert found["why-broadcast"].found == (
        "found by its position: the markdown cell `Because it has no IP "
        "address.`, the first one written after check `double`"
    )
    # Under the heading, the question is the exercise's own text: skipped; the answer is the next cell.
    assert found["giaddr"].text == "To choose the subnet."
    assert "the first one written after the heading `## Relays`" in found["giaddr"].found


def test_an_answer_in_a_new_cell_after_the_question(assignment, exercise):
    nb = copy.deepcopy(exercise)
    nb.cells = [c for c in nb.cells if c.id != "relays-a"]  # deleted the prompt cell, wrote a new one
    at = next(i for i, c in enumerate(nb.cells) if c.id == "relays-q")
    nb.cells.insert(at + 1, _cell("markdown", "It names the subnet the client is on.", "mine"))
    found = _answers(assignment, nb)
    assert found["giaddr"].text == "It names the subnet the client is on."
    assert found["why-broadcast"].text == ""  # the prompt left as it was
    assert found["why-broadcast"].found.endswith("left as the exercise gave it: no answer")


def test_an_answer_may_open_with_a_heading_of_its_own(assignment, exercise):
    nb = copy.deepcopy(exercise)
    answer = next(c for c in nb.cells if c.id == "why-a")
    answer.metadata.pop("course")
    answer.source = "### My answer\n\nNo address yet."
    assert _answers(assignment, nb)["why-broadcast"].text == "### My answer\n\nNo address yet."


def test_an_answer_that_is_not_there_says_why(assignment, exercise):
    nb = copy.deepcopy(exercise)
    nb.cells = [c for c in nb.cells if c.id not in ("relays-a", "relays-h", "why-a")]
    found = _answers(assignment, nb)
    assert found["giaddr"] == manual.Answer(
        found["giaddr"].question,
        "",
        ("not found: no markdown cell is marked as this answer, and the heading `## Relays` is not in the notebook"),
    )
    assert found["why-broadcast"].found == (
        "not found: no markdown cell is marked as this answer, and none written after check `double`"
    )


def test_an_answer_never_reaches_past_the_next_heading(assignment, exercise):
    nb = copy.deepcopy(exercise)
    nb.cells = [c for c in nb.cells if c.id != "why-a"]
    found = _answers(assignment, nb)
    assert found["why-broadcast"].text == "" and found["why-broadcast"].found.startswith("not found")
    assert found["giaddr"].found.startswith("found by its metadata")


def test_a_copy_of_the_model_answer_is_flagged(assignment, exercise):
    found = _answers(assignment, _answered(exercise, why=MODEL))
    assert found["why-broadcast"].found.endswith("(word for word the model answer)")


# --------------------------------------------------------------------------- the sheet


def _sheet_rows(assignment, exercise):
    answers = {
        "a/sam": manual.collect(assignment, _answered(exercise)),
        "b/eve": manual.collect(assignment, _answered(exercise, why='=HYPERLINK("http://x")', giaddr="")),
    }
    return [
        manual.SheetRow("03_relay", student, sid, name, answer)
        for (student, sid, name) in (("a/sam", "1001", "Sam Lee"), ("b/eve", "1005", "Eve Ng"))
        for answer in answers[student]
    ]


def test_the_sheet_has_one_row_per_answer_and_empty_columns_for_the_teacher(assignment, exercise):
    table = list(csv.DictReader(io.StringIO(manual.sheet_csv(_sheet_rows(assignment, exercise)))))
    assert list(table[0]) == [
        "assignment",
        "student",
        "student_id",
        "name",
        "question",
        "answer",
        "max_points",
        "points",
        "comment",
        "found",
    ]
    assert [(r["student"], r["question"], r["max_points"], r["points"], r["comment"]) for r in table] == [
        ("a/sam", "why-broadcast", "3", "", ""),
        ("a/sam", "giaddr", "2", "", ""),
        ("b/eve", "why-broadcast", "3", "", ""),
        ("b/eve", "giaddr", "2", "", ""),
    ]
    assert table[0]["answer"] == "Because it has no IP address." and table[0]["student_id"] == "1001"
    assert table[2]["answer"] == '\'=HYPERLINK("http://x")'  # a spreadsheet shows it as text, never runs it
    assert table[3]["answer"] == "" and "no answer" in table[3]["found"]


def _filled(tmp_path, assignment, exercise, edits: dict[int, dict[str, str]], name="sheet.csv"):
    table = list(csv.DictReader(io.StringIO(manual.sheet_csv(_sheet_rows(assignment, exercise)))))
    for index, changes in edits.items():
        table[index].update(changes)
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    return path


def test_the_filled_sheet_reads_back(tmp_path, assignment, exercise):
    path = _filled(
        tmp_path,
        assignment,
        exercise,
        {
            0: {"points": "2,5", "comment": "Why is the server unknown?"},
            1: {"points": "2"},
            2: {"points": "0", "comment": "No answer."},
        },
    )
    marks = manual.read_sheet(path, manual.questions(assignment), "03_relay")
    assert marks[("a/sam", "why-broadcast")] == manual.Mark(
        2.5, "Why is the server unknown?", "Because it has no IP address.", 2
    )
    assert marks[("a/sam", "giaddr")].points == 2
    assert marks[("b/eve", "why-broadcast")].points == 0
    assert marks[("b/eve", "giaddr")].points is None  # left empty: not graded yet
    with pytest.raises(manual.SheetError, match="has no row for assignment 04_renamed, only for 03_relay"):
        manual.read_sheet(path, manual.questions(assignment), "04_renamed")


def test_a_spreadsheet_saved_sheet_reads_back(tmp_path, assignment, exercise):
    path = _filled(tmp_path, assignment, exercise, {0: {"points": "3"}})
    text = path.read_text()
    path.write_text("\ufeff" + text.replace(",", ";"), encoding="utf-8")  # a byte-order mark, and ';' (a locale)
    semi = manual.read_sheet(path, manual.questions(assignment), "03_relay")
    assert semi[("a/sam", "why-broadcast")].points == 3


@pytest.mark.parametrize(
    "edits, words",
    [
        (
            {1: {"points": "2.5"}},
            "sheet.csv row 3 (student a/sam, question giaddr): points 2.5 are above the maximum of 2",
        ),
        ({2: {"points": "three"}}, "row 4 (student b/eve, question why-broadcast): points 'three' is not a number"),
        (
            {0: {"points": "-1"}},
            "row 2 (student a/sam, question why-broadcast): points '-1' must be a number from 0 to 3",
        ),
        ({0: {"points": "nan"}}, "points 'nan' must be a number from 0 to 3"),
        ({0: {"points": "inf"}}, "points 'inf' must be a number from 0 to 3"),
        ({3: {"question": "why"}}, "row 5 (student b/eve, question why): the assignment has no written answer named"),
        (
            {1: {"question": "why-broadcast"}},
            "row 3 (student a/sam, question why-broadcast): the same answer is already",
        ),
    ],
)
def test_a_bad_sheet_row_is_an_error_naming_the_row(tmp_path, assignment, exercise, edits, words):
    path = _filled(tmp_path, assignment, exercise, edits)
    with pytest.raises(manual.SheetError) as caught:
        manual.read_sheet(path, manual.questions(assignment), "03_relay")
    assert words in str(caught.value)


def test_every_bad_row_is_reported_at_once(tmp_path, assignment, exercise):
    path = _filled(tmp_path, assignment, exercise, {0: {"points": "9"}, 3: {"points": "x"}})
    with pytest.raises(manual.SheetError) as caught:
        manual.read_sheet(path, manual.questions(assignment), "03_relay")
    assert [line.split(":")[0] for line in str(caught.value).splitlines()] == [
        f"{path} row 2 (student a/sam, question why-broadcast)",
        f"{path} row 5 (student b/eve, question giaddr)",
    ]


def test_a_file_that_is_not_a_sheet(tmp_path, assignment):
    (tmp_path / "grades.csv").write_text("student,score\na,1\n")
    with pytest.raises(manual.SheetError, match="not a manual-grading sheet: no column question, points, comment"):
        manual.read_sheet(tmp_path / "grades.csv", manual.questions(assignment), "x")
    with pytest.raises(manual.SheetError, match="cannot read the sheet"):
        manual.read_sheet(tmp_path / "none.csv", manual.questions(assignment), "x")


def test_a_changed_answer_is_noticed(tmp_path, assignment, exercise):
    path = _filled(tmp_path, assignment, exercise, {0: {"points": "3"}, 2: {"points": "1"}})
    marks = manual.read_sheet(path, manual.questions(assignment), "03_relay")
    now = {
        "a/sam": manual.collect(assignment, _answered(exercise, why="A new answer.")),
        "b/eve": manual.collect(assignment, _answered(exercise, why='=HYPERLINK("http://x")', giaddr="")),
    }
    assert manual.changed_answers(now, marks) == ["a/sam / why-broadcast (sheet row 2)"]


def test_the_html_sheet_escapes_answers_and_saves_the_same_csv(tmp_path, assignment, exercise):
    rows = _sheet_rows(assignment, exercise)
    rows[0].answer.text = "<script>alert(1)</script> & more"
    page = manual.sheet_html(rows, manual.questions(assignment), "sheet.csv")
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert "no address yet" in page  # the model answer, for the teacher
    assert page.count("<tr data-row=") == 4 and page.count("class='points'") == 4
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the page's save script was not run")
    script = page[page.index("<script>") + len("<script>") : page.rindex("</script>")]
    datas = [html.unescape(d) for d in re.findall("data-row='([^']*)'", page)]
    # A stand-in for the page: the teacher typed 2.5 and a comment into the first row only.
    fake_dom = (
        f"const rows = {json.dumps(datas)}.map((data, i) => ({{dataset: {{row: data}}, "
        "querySelector: sel => sel.startsWith('input') ? {value: i === 0 ? ' 2.5 ' : ''} "
        ": {value: i === 0 ? 'Say \"why\",\\nplease' : ''}}));\n"
        "const document = {querySelectorAll: () => rows, body: {dataset: {}}};\n"
    )
    result = subprocess.run(
        [node, "-e", fake_dom + script + "\nprocess.stdout.write(sheetCsv());"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    saved = tmp_path / "saved.csv"
    saved.write_text(result.stdout)
    marks = manual.read_sheet(saved, manual.questions(assignment), "03_relay")
    assert marks[("a/sam", "why-broadcast")].points == 2.5
    assert marks[("a/sam", "why-broadcast")].comment == 'Say "why",\nplease'
    assert marks[("a/sam", "why-broadcast")].answer == "<script>alert(1)</script> & more"
    assert csv.DictReader(io.StringIO(result.stdout)).fieldnames == manual.SHEET_COLUMNS


def test_feedback_shows_points_and_comments(assignment, exercise):
    answers = manual.collect(assignment, _answered(exercise))
    blocks = manual.feedback_blocks(answers, {"why-broadcast": manual.Mark(2, "Say why.", "", 2)})
    assert blocks[0] == ("h2", "Written answers")
    assert blocks[1] == (
        "table",
        [
            ("question", "points", "teacher's comment"),
            ("why-broadcast", "2 / 3", "Say why."),
            ("giaddr", "? / 2", "not graded yet"),
        ],
    )
    assert manual.feedback_blocks([], {}) == []


# --------------------------------------------------------------------------- the command, round trip


def _read(path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_cli_sheet_then_merge_into_csv_feedback_and_gradescope(tmp_path, assignment, exercise, capsys):
    notebook.write(assignment, tmp_path / "03_relay.ipynb")
    subs = tmp_path / "subs"
    subs.mkdir()
    solved = _answered(exercise, why="It has no address yet.")
    next(c for c in solved.cells if c.id == "ex").source = "def double(x):\n    return x * 2"
    notebook.write(solved, subs / "sam.ipynb")
    notebook.write(_answered(exercise, why="", giaddr="So the server picks the subnet."), subs / "eve.ipynb")
    base = [
        "--assignment",
        str(tmp_path / "03_relay.ipynb"),
        str(subs / "sam.ipynb"),
        str(subs / "eve.ipynb"),
        "--quiet",
        "--csv",
        str(tmp_path / "grades.csv"),
    ]
    assert grade.main([*base, "--manual-sheet", str(tmp_path / "sheet.html")]) == 0
    err = capsys.readouterr().err
    assert "wrote the manual-grading sheet" in err and "4 answers of 2 students" in err
    assert "written answers graded by hand: 0 of 4" in err
    sheet = _read(tmp_path / "sheet.csv")
    assert (tmp_path / "sheet.html").exists()
    assert [(r["student"], r["question"], r["answer"]) for r in sheet] == [
        ("sam", "why-broadcast", "It has no address yet."),
        ("sam", "giaddr", "To choose the subnet."),
        ("eve", "why-broadcast", ""),
        ("eve", "giaddr", "So the server picks the subnet."),
    ]
    rows = {r["student"]: r for r in _read(tmp_path / "grades.csv")}
    assert (rows["sam"]["score"], rows["sam"]["max_score"], rows["sam"]["why-broadcast (written)"]) == ("3", "8", "")

    sheet[0].update(points="3", comment="Good.")
    sheet[1].update(points="1", comment="Which subnet, and why does the server need it?")
    sheet[2].update(points="0", comment="No answer.")
    with open(tmp_path / "sheet.csv", "w", newline="") as out:
        writer = csv.DictWriter(out, list(sheet[0]))
        writer.writeheader()
        writer.writerows(sheet)
    code = grade.main(
        [
            *base,
            "--manual",
            str(tmp_path / "sheet.csv"),
            "--feedback",
            str(tmp_path / "fb"),
            "--gradescope",
            str(tmp_path / "gs"),
        ]
    )
    assert code == 0
    assert "written answers graded by hand: 3 of 4" in capsys.readouterr().err
    rows = {r["student"]: r for r in _read(tmp_path / "grades.csv")}
    assert [rows["sam"][k] for k in ("why-broadcast (written)", "giaddr (written)", "score", "max_score")] == [
        "3",
        "1",
        "7",
        "8",
    ]
    assert [rows["eve"][k] for k in ("why-broadcast (written)", "giaddr (written)", "score")] == ["0", "", "0"]
    md = (tmp_path / "fb" / "sam.md").read_text()
    assert "Score: **7 / 8** (graded)" in md
    assert "| giaddr | 1 / 2 | Which subnet, and why does the server need it? |" in md
    assert "| giaddr | ? / 2 | not graded yet |" in (tmp_path / "fb" / "eve.md").read_text()
    result = json.loads((tmp_path / "gs" / "sam" / "results.json").read_text())
    assert result["score"] == 7
    written = {t["name"]: t for t in result["tests"] if t["name"].endswith("(written)")}
    assert written["giaddr (written)"] == {
        "name": "giaddr (written)",
        "number": "4",
        "score": 1,
        "max_score": 2,
        "output": "Which subnet, and why does the server need it?",
        "output_format": "text",
        "visibility": "visible",
    }


def test_cli_a_bad_sheet_stops_before_grading(tmp_path, assignment, capsys):
    notebook.write(assignment, tmp_path / "03_relay.ipynb")
    notebook.write(notebook.exercise_from(assignment), tmp_path / "sam.ipynb")
    (tmp_path / "sheet.csv").write_text("assignment,student,question,points,comment\n03_relay,sam,why-broadcast,4,\n")
    code = grade.main(
        [
            "--assignment",
            str(tmp_path / "03_relay.ipynb"),
            str(tmp_path / "sam.ipynb"),
            "--quiet",
            "--csv",
            str(tmp_path / "grades.csv"),
            "--manual",
            str(tmp_path / "sheet.csv"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "sheet.csv row 2 (student sam, question why-broadcast): points 4 are above the maximum of 3" in err
    assert "submission(s)" not in err and not (tmp_path / "grades.csv").exists()
