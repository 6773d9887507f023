"""Lesson 08 part 2 (HTTP, Telnet, SSH, RDP): its sections ask their questions, quote the RFCs as the question
bank does, import what they use, and stay small.

The cells are written in notebooks/_08_part2.ipynb and appended to lesson 08 after its DNS sections; these
tests read the part file while it exists, and lesson 08 itself once it is gone.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from refimpl.quiz import app_tour, bank

ROOT = Path(__file__).resolve().parent.parent
PART = ROOT / "notebooks" / "_08_part2.ipynb"
LESSON = PART if PART.exists() else ROOT / "notebooks" / "08_application_layer.ipynb"
PREFIXES = ("08-http-", "08-telnet-", "08-ssh-", "08-rdp-")
MODULE_NAMES = {
    "app",
    "ask",
    "inspect",
    "telnet",
    "record_telnet",
    "record_ssh",
    "record_http",
    "ssh_wire",
    "rdp_wire",
    "sequence_diagram",
    "plt",
    "read_ftp_trace",
    "SimpleCookie",
    "bank",
}
SECTIONS = ("## 7 HTTP/1.1", "## 8 Telnet", "## 9 SSH", "## 10 RDP", "## 11 What this lesson leaves out")


@pytest.fixture(scope="module")
def whole():
    return nbformat.read(LESSON, as_version=4)


@pytest.fixture(scope="module")
def nb(whole):
    """Only this part's cells: from "## 7 HTTP/1.1" to the end."""
    start = next(i for i, c in enumerate(whole.cells) if c.source.startswith(SECTIONS[0]))
    return nbformat.v4.new_notebook(cells=whole.cells[start:])


def course(cell) -> dict:
    return cell.get("metadata", {}).get("course", {})


def prose(nb) -> str:
    return re.sub(r"\s+", " ", " ".join(c.source for c in nb.cells if c.cell_type == "markdown"))


def test_sections_in_order(nb):
    heads = [
        line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")
    ]
    assert heads == list(SECTIONS)


def test_every_question_is_asked_once_before_the_cell_that_reveals_it(nb):
    asked = {course(c)["question"]: i for i, c in enumerate(nb.cells) if course(c).get("question")}
    assert set(asked) == {q.id for q in app_tour.QUESTIONS} and len(asked) >= 5
    assert all(qid.startswith(PREFIXES) for qid in asked)
    for i, c in enumerate(nb.cells):
        if course(c).get("question"):
            qid = course(c)["question"]
            assert c.source == f'ask("{qid}")' and course(c)["covers"] == list(bank.get(qid).covers)
        for qid in course(c).get("reveals", []):
            assert asked[qid] < i, f"{qid} is revealed before it is asked"
    revealed = {qid for c in nb.cells for qid in course(c).get("reveals", [])}
    assert revealed == set(asked)


def test_the_lesson_quotes_the_rfcs_with_the_banks_words(nb):
    text = prose(nb).replace("*", "")
    for quote in app_tour.QUOTES:
        if quote in (app_tour.RFC1123_REFUSE, app_tour.RFC959_TELNET) or "x224Crq" in quote:
            assert quote in text, quote
        else:
            assert quote.split(". ")[0] in text, quote


def test_tutorial_claims_stand_next_to_the_rfc(nb):
    text = prose(nb)
    for claim in (
        '"HTTP has seven methods"',
        '"OPTION"',
        '"SSH always compresses"',
        "high bit set are Telnet commands",
    ):
        assert f"A common tutorial claim: *{claim}" in text or claim in text, claim
    assert text.count("A common tutorial claim") >= 3


def test_each_section_imports_what_it_uses(nb):
    """The cells are pasted after lesson 08's DNS sections, so no section may lean on an import of another."""
    sections: list[list] = []
    for c in nb.cells:
        if c.cell_type == "markdown" and c.source.startswith("## "):
            sections.append([])
        sections[-1].append(c)
    for cells in sections:
        imported: set[str] = set()
        for c in cells:
            if c.cell_type != "code":
                continue
            tree = ast.parse(c.source)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
            used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
            missing = (used & MODULE_NAMES) - imported
            assert not missing, f"{cells[0].source.splitlines()[0]}: {sorted(missing)} used before imported here"


def test_outputs_stored_and_small(nb):
    assert all(c.outputs for c in nb.cells if c.cell_type == "code"), "run: python -m refimpl refresh"
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert len(nbformat.writes(nb)) < 100_000  # this part; the whole lesson stays under 300 kB (issue 17)
