"""Every lesson asks questions before it shows the answers (issue 12, "Questions inside every lesson").

The convention, checked here:

* a question cell is a code cell with ``metadata.course.question`` = its id and
  ``metadata.course.covers`` = the Wireshark-lab topics it asks about (the same
  as the bank's); it calls ``ask(...)``;
* the cell that shows the answer carries ``metadata.course.reveals`` = the ids it
  answers, and comes *after* the question (predict, then run);
* the stored output of a question cell holds the question as HTML with the answer
  inside a closed ``<details>`` (the static view), and the widget's stand-in text.

The check logic (right and wrong answers of each kind) and ``quiz(trace)`` are
tested without a kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from refimpl.quiz import bank, quiz
from refimpl.quiz.question import LETTERS, Choice, Number, Short, normalise, parse_number, static_html
from refimpl.quiz.widget import NEEDS_KERNEL, Control, Static, control, verdict_html

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted((ROOT / "notebooks").glob("0[1-7]_*.ipynb"))
MIN_QUESTIONS = 5


def course(cell) -> dict:
    meta = cell.get("metadata", {}).get("course", {})
    return meta if isinstance(meta, dict) else {}


def question_cells(nb) -> list[tuple[int, object]]:
    return [(i, c) for i, c in enumerate(nb.cells) if course(c).get("question")]


def lesson_number(path: Path) -> str:
    return path.name[:2]


@pytest.fixture(scope="module", params=LESSONS, ids=[p.name[:2] for p in LESSONS])
def lesson(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_there_are_seven_lessons():
    assert [lesson_number(p) for p in LESSONS] == ["01", "02", "03", "04", "05", "06", "07"]


def test_every_lesson_asks_at_least_five_questions(lesson):
    path, nb = lesson
    assert len(question_cells(nb)) >= MIN_QUESTIONS, path.name


def test_question_ids_are_unique_and_known(lesson):
    path, nb = lesson
    ids = [course(c)["question"] for _, c in question_cells(nb)]
    assert len(ids) == len(set(ids))
    for qid in ids:
        if "-quiz-" in qid:
            continue  # quiz(run.trace): its questions are built from the run
        assert qid.startswith(lesson_number(path) + "-"), f"{qid} is asked in lesson {path.name[:2]}"
        assert qid in bank.BY_ID


def test_question_cells_ask_the_question_they_name(lesson):
    _, nb = lesson
    for _, c in question_cells(nb):
        qid = course(c)["question"]
        assert c.cell_type == "code"
        if "-quiz-" in qid:
            assert "ask(quiz(" in c.source
        else:
            assert f'ask("{qid}")' in c.source
            assert course(c).get("covers") == list(bank.get(qid).covers)


def test_every_question_comes_before_the_cell_that_reveals_it(lesson):
    path, nb = lesson
    revealed_at: dict[str, int] = {}
    for i, c in enumerate(nb.cells):
        for qid in course(c).get("reveals", []):
            assert c.cell_type == "code", f"{qid} is revealed by a {c.cell_type} cell"
            revealed_at.setdefault(qid, i)
    for i, c in question_cells(nb):
        qid = course(c)["question"]
        assert qid in revealed_at, f"{path.name}: no cell has course.reveals {qid!r}"
        assert i < revealed_at[qid], f"{path.name}: {qid} is asked after the cell that answers it"


def test_the_order_check_sees_a_question_after_its_answer():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("print(67)", metadata={"course": {"reveals": ["01-transport"]}}),
        nbformat.v4.new_code_cell('ask("01-transport")', metadata={"course": {"question": "01-transport"}}),
    ]
    with pytest.raises(AssertionError, match="after the cell that answers it"):
        test_every_question_comes_before_the_cell_that_reveals_it((Path("01_x.ipynb"), nb))


def test_stored_output_works_in_a_static_view(lesson):
    path, nb = lesson
    for _, c in question_cells(nb):
        html = [o["data"]["text/html"] for o in c.outputs if "text/html" in o.get("data", {})]
        assert html, f"{path.name}: {course(c)['question']} stores no HTML"
        for page in html:
            assert "<details><summary>Answer</summary>" in page
            assert page.count("<details>") == page.count("</details>")
            assert "open" not in page.split("<details", 1)[1].split(">", 1)[0]  # closed until clicked
        texts = [o["data"].get("text/plain", "") for o in c.outputs if "data" in o]
        assert NEEDS_KERNEL in texts, "the widget's stand-in text (the same on every run) is stored"


def test_static_html_holds_prompt_options_and_explanation():
    q = bank.get("01-discover-or-request")
    page = static_html(q)
    assert '<ol type="A">' in page and page.count("<li>") == len(q.options)
    answer = page.split("<details>", 1)[1]
    assert "RFC 2132 §9.6" in answer and "option 53" in answer
    assert "RFC 2132 §9.6" not in page.split("<details>", 1)[0], "the explanation is hidden until Answer is opened"


def test_lessons_01_to_04_cover_the_dhcp_wireshark_lab():
    covered = set()
    for path in LESSONS[:4]:
        nb = nbformat.read(path, as_version=4)
        for _, c in question_cells(nb):
            covered |= set(course(c).get("covers", []))
    assert set(bank.WIRESHARK_LAB) - covered == set()


def test_lessons_05_to_07_ask_about_their_own_protocol():
    wanted = {
        "05": {"ftp-transport", "ftp-ports", "ftp-replies"},
        "06": {"ftp-ports", "pasv-port", "227-format"},
        "07": {"tftp-port", "tftp-opcodes", "tftp-blocks", "sorcerers-apprentice"},
    }
    for path in LESSONS[4:]:
        nb = nbformat.read(path, as_version=4)
        covered = {t for _, c in question_cells(nb) for t in course(c).get("covers", [])}
        assert wanted[lesson_number(path)] <= covered, path.name


def test_lesson_02_asks_about_its_own_run():
    (path,) = [p for p in LESSONS if p.name.startswith("02")]
    nb = nbformat.read(path, as_version=4)
    cells = [c for _, c in question_cells(nb) if "ask(quiz(run.trace))" in c.source]
    assert cells, "lesson 02 uses quiz(run.trace)"
    stored = "".join(o["data"]["text/html"] for o in cells[0].outputs if "text/html" in o.get("data", {}))
    assert "xid" in stored and "Read the trace" in stored


# ---------------------------------------------------------------- the bank


@pytest.mark.parametrize("q", bank.QUESTIONS, ids=lambda q: q.id)
def test_every_bank_question_is_right_for_its_answer_and_wrong_otherwise(q):
    if isinstance(q, Choice):
        assert q.check(LETTERS[q.answer]).right
        assert q.check(q.answer).right
        assert q.check(q.options[q.answer]).right
        for wrong in (i for i in range(len(q.options)) if i != q.answer):
            assert not q.check(LETTERS[wrong]).right
            assert not q.check(q.options[wrong]).right
    elif isinstance(q, Number):
        assert q.check(q.answer).right
        assert q.check(str(q.answer)).right
        assert not q.check(q.answer + q.tolerance + 1).right
        assert not q.check("no idea").right
    else:
        assert isinstance(q, Short)
        for accepted in q.answers:
            assert q.check(accepted.upper()).right
        assert not q.check("something else").right


@pytest.mark.parametrize("q", bank.QUESTIONS, ids=lambda q: q.id)
def test_every_explanation_cites_an_rfc_section_and_quotes_it(q):
    assert re.search(r"RFC \d+ (§\d|table \d)", q.why), q.why
    assert q.why.count('"') >= 2, "quote the RFC as worded"
    assert q.check("certainly wrong").text.endswith(q.why)


def test_every_lesson_question_in_the_bank_is_asked_in_its_lesson():
    asked = set()
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):  # every lesson, also those after 07
        asked |= {course(c)["question"] for _, c in question_cells(nbformat.read(path, as_version=4))}
    assert set(bank.BY_ID) - asked == set()


def test_quotes_the_lessons_rely_on_are_as_worded():
    assert "Selecting a new 'xid' for each retransmission is an implementation decision." in (
        bank.get("03-retransmission-xid").why
    )
    assert "The client SHOULD perform a check on the suggested address" in bank.get("02-arp-check").why
    assert "T1 defaults to (0.5 * duration_of_lease). T2 defaults to (0.875 * duration_of_lease)." in (
        bank.get("02-t1-default").why
    )


# ---------------------------------------------------------------- check logic of each kind


def test_choice_by_letter_index_or_text():
    q = Choice(id="t", prompt="p", why="w", options=("TCP", "UDP"), answer=1)
    assert q.check("b").right and q.check(" B ").right and q.check(1).right and q.check("udp.").right
    assert not q.check("A").right and not q.check(0).right and not q.check("C").right and not q.check(5).right
    assert not q.check(True).right, "a bool is not an index"
    assert q.check("A").text.startswith("Not right: the answer is B, UDP.")
    with pytest.raises(ValueError):
        Choice(id="t", prompt="p", why="w", options=("a",), answer=1)


def test_number_with_tolerance_and_forms():
    q = Number(id="t", prompt="p", why="w", answer=1800, tolerance=0.5, unit="s")
    for right in (1800, 1800.4, "1800", "1800 s", "1,800", " 1800.5 ", "0x708"):
        assert q.check(right).right, right
    for wrong in (1801, 1799.4, "18 00", "", "s", None, True):
        assert not q.check(wrong).right, wrong
    assert parse_number("87.5 %") == 87.5 and parse_number("-3") == -3 and parse_number("x") is None


def test_short_answer_normalised_with_alternatives():
    q = Short(id="t", prompt="p", why="w", answers=("option 54", "54", "server identifier"))
    for right in ("Option 54", "  option   54 ", "`54`", '"Server Identifier".', "54."):
        assert q.check(right).right, right
    for wrong in ("option 53", "5 4", "server", ""):
        assert not q.check(wrong).right, wrong
    assert normalise(" 'A  b'. ") == "a b"


def test_widget_says_right_or_wrong_and_why():
    q = bank.get("02-t1-default")
    box = control(q)
    entry, button = box.children[0].children
    verdict = box.children[1]
    button.click()
    assert "Give an answer first" in verdict.value
    entry.value = "1800"
    button.click()
    assert "Right." in verdict.value and "RFC 2131 §4.4.5" in verdict.value
    entry.value = "3600"
    button.click()
    assert "Not right" in verdict.value and "1800 s" in verdict.value and "RFC 2131 §4.4.5" in verdict.value


def test_choice_widget_offers_the_letters_of_the_static_list():
    q = bank.get("01-transport")
    entry, button = control(q).children[0].children
    assert list(entry.options) == list(LETTERS[: len(q.options)])
    right, wrong = LETTERS[q.answer], LETTERS[(q.answer + 1) % len(q.options)]
    assert "&#10004;" in verdict_html(q, right) and "&#10008;" in verdict_html(q, wrong)


def test_outputs_are_the_same_on_every_run():
    q = bank.get("04-hops")
    assert Static(q)._repr_mimebundle_() == Static(q)._repr_mimebundle_()
    bundle = Control(control(q))._repr_mimebundle_()
    assert bundle["text/plain"] == NEEDS_KERNEL
    assert "application/vnd.jupyter.widget-view+json" in bundle  # nbval skips it: model ids are random


def test_markup_escapes_html_and_keeps_multiplication_stars():
    page = static_html(bank.get("02-t1-default"))
    assert "(0.5 * duration_of_lease)" in page and "<em> duration" not in page
    q = Short(id="t", prompt="a <b> `x<y>`", why='RFC 1 §1: "q"', answers=("<sp>",))
    page = static_html(q)
    assert "<b>" not in page and "<code>x&lt;y&gt;</code>" in page and "&lt;sp&gt;" in page


# ---------------------------------------------------------------- quiz(trace)


def answers_of(questions) -> dict:
    return {q.id: q for q in questions}


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_dhcp_quiz_answers_are_this_runs_numbers(seed):
    from refimpl.dhcp import scenarios

    run = scenarios.one_client(seed=seed)
    discover = next(e for e in run.trace if e.kind == "DHCPDISCOVER")
    offer = next(e for e in run.trace if e.kind == "DHCPOFFER")
    ack = next(e for e in run.trace if e.kind == "DHCPACK")
    qs = answers_of(quiz(run.trace))
    assert qs["trace-dhcp-xid"].check(f"0x{discover.message.xid:08X}").right
    assert qs["trace-dhcp-xid"].check(str(discover.message.xid)).right
    assert not qs["trace-dhcp-xid"].check(f"0x{discover.message.xid ^ 1:08x}").right
    assert qs["trace-dhcp-offered"].check(offer.message.yiaddr).right
    assert qs["trace-dhcp-server-id"].check(offer.message.options[54]).right
    assert qs["trace-dhcp-lease"].check(ack.message.options[51]).right
    assert qs["trace-dhcp-t1"].check(ack.message.options[58]).right
    assert not qs["trace-dhcp-lease"].check(ack.message.options[51] + 1).right


def test_two_seeds_ask_for_two_xids():
    from refimpl.dhcp import scenarios

    one, two = (answers_of(quiz(scenarios.one_client(seed=s).trace))["trace-dhcp-xid"] for s in (1, 2))
    assert one.answers[0] != two.answers[0]
    assert not one.check(two.answers[0]).right


def test_ftp_quiz_asks_for_the_pasv_port():
    from refimpl.ftp import scenarios

    run = scenarios.transfer("passive")
    reply = next(e for e in run.trace if e.kind == "227")
    p1, p2 = map(int, re.findall(r"\d+", reply.message.text)[-2:])
    (q,) = [q for q in quiz(run.trace) if q.id == "trace-ftp-pasv-port"]
    assert q.check(p1 * 256 + p2).right and not q.check(p1 + p2).right
    data = next(e for e in run.trace if e.flow == "ftp-data" and e.kind == "SYN")
    assert q.check(data.dst_port).right, "the port the client really connected to"


def test_tftp_quiz_asks_for_the_transfer_port_and_blocks():
    from refimpl.tftp import scenarios

    run = scenarios.read_file(size=1200)
    qs = answers_of(quiz(run.trace))
    first = next(e for e in run.trace if e.kind == "DATA")
    assert qs["trace-tftp-server-port"].check(first.src_port).right
    assert not qs["trace-tftp-server-port"].check(69).right
    assert qs["trace-tftp-blocks"].check(3).right  # 1200 bytes = 512 + 512 + 176


def test_quiz_of_an_empty_trace_asks_nothing():
    from refimpl.trace import Trace

    assert quiz(Trace()) == []


# ---------------------------------------------------------------- guards


def test_no_lesson_cell_hides_ask_behind_a_variable(lesson):
    """A lesson variable named ``ask`` would break every question cell after it (lesson 04 once had one)."""
    _, nb = lesson
    for c in nb.cells:
        if c.cell_type == "code":
            assert not re.search(r"^\s*(for\s+)?ask\s*(=|,|\bin\b)", c.source, re.M), c.source


def test_right_answers_are_not_always_the_same_letter():
    letters = [LETTERS[q.answer] for q in bank.QUESTIONS if isinstance(q, Choice)]
    assert max(letters.count(x) for x in set(letters)) <= len(letters) // 2
    assert len(set(letters)) >= 3


def test_lesson_02_says_why_xids_are_random_and_what_a_seeded_run_is_for():
    (path,) = [p for p in LESSONS if p.name.startswith("02")]
    nb = nbformat.read(path, as_version=4)
    text = " ".join(" ".join(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    assert (
        "A DHCP client MUST choose 'xid's in such a way as to minimize the chance of using an 'xid' identical "
        "to one used by another client." in text
    )
    assert "a random number chosen by the client, used by the client and server to associate messages" in text
    assert "seeded run" in text and "grader" in text
    seeds = next(c for c in nb.cells if c.get("id") == "xid-seeds")
    shown = "".join(o.get("text", "") for o in seeds.outputs)
    xids = re.findall(r"xid=(0x[0-9a-f]{8})", shown)
    assert len(xids) == 4 and len(set(xids)) == 4, "two seeds of one story and two other stories: four xids"


def test_importing_the_quiz_pulls_in_no_widget_library():
    import subprocess
    import sys

    heavy = ("ipywidgets", "IPython", "matplotlib")
    probe = f"import sys, refimpl.quiz; print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r}))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
