"""The course plan in lesson 00: objectives tied to real tasks, times counted from the notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from refimpl import syllabus

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if p.name[:2] not in ("00", "99"))


def test_every_lesson_is_a_unit_of_the_plan():
    assert [u.lesson for u in syllabus.UNITS] == LESSONS


@pytest.mark.parametrize("unit", syllabus.UNITS, ids=lambda u: u.number)
def test_each_objective_names_tasks_that_exist_and_each_task_has_an_objective(unit):
    tasks = syllabus.plan(unit).tasks
    named = [t for o in unit.objectives for t in o.assessed_by]
    assert not [t for t in named if t not in tasks], "an objective names a task its exercise does not have"
    assert not [t for t in tasks if t not in named], "a graded task of the exercise assesses no objective"
    assert unit.exercise is None or (ROOT / "exercises" / unit.exercise).exists()


def _notebook(path: Path, cells: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_minutes_are_counted_from_the_notebooks(tmp_path):
    def cell(kind, text, course):
        return {"cell_type": kind, "source": text, "metadata": {"course": course} if course else {}}

    def md(text, **course):
        return cell("markdown", text, course)

    def code(text="x", **course):
        return cell("code", text, course)

    _notebook(
        tmp_path / "notebooks" / "01_x.ipynb", [md("word " * 240), code(), code(), md("q?", question={"id": "a"})]
    )
    _notebook(
        tmp_path / "solutions" / "01_x.ipynb",
        [
            md("# title"),
            md("intro\n\n## 1. First"),
            code(check="one", points=2),
            code(check="one-hidden", task="one", hidden=True, points=1),
            md("## 2. Second"),
            md("model answer", manual="why", points=2),
        ],
    )
    unit = syllabus.Unit("01", "X", "01_x.ipynb", "01_x.ipynb", (syllabus.Objective("do it", ("one", "why")),))
    p = syllabus.plan(unit, tmp_path)
    assert (p.words, p.code_cells, p.questions, p.points) == (241, 2, 1, 5)
    assert p.tasks == {"one": "§1", "why": "§2"}
    reading = 241 / syllabus.WORDS_PER_MINUTE + 2 * syllabus.MINUTES_PER_CODE_CELL + syllabus.MINUTES_PER_QUESTION
    assert p.lesson_minutes == pytest.approx(reading)
    assert p.exercise_minutes == 5 * syllabus.MINUTES_PER_POINT
    assert "exercise §1, §2" in syllabus.objectives(unit, tmp_path)


def test_an_objective_without_tasks_says_the_lesson_checks_it(tmp_path):
    unit = next(u for u in syllabus.UNITS if any(not o.assessed_by for o in u.objectives))
    text = syllabus.objectives(unit)
    assert "[the lesson's questions]" in text


def test_the_time_table_adds_up():
    lines = syllabus.time_table().splitlines()
    assert len(lines) == len(syllabus.UNITS) + 2
    total = sum(syllabus.plan(u).lesson_minutes + syllabus.plan(u).exercise_minutes for u in syllabus.UNITS)
    assert f"{total:.0f} m" in lines[-1]


def test_lesson_00_prints_the_plan_as_the_module_computes_it():
    nb = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    shown = "".join(
        "".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
    )
    assert syllabus.time_table() in shown
    for unit in syllabus.UNITS:
        assert syllabus.objectives(unit) in shown


def test_lesson_00_links_every_lab_and_each_link_opens_one():
    nb = json.loads((ROOT / "notebooks" / "00_start_here.ipynb").read_text())
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    import re

    linked = set(re.findall(r"\]\((labs/[a-z_]+\.ipynb)\)", prose))
    labs = {f"labs/{p.name}" for p in (ROOT / "notebooks" / "labs").glob("*.ipynb")}
    assert linked == labs
