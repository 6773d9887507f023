"""python -m refimpl refresh: re-run a notebook, store it tidy; a failing run changes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import refresh

ROOT = Path(__file__).resolve().parent.parent


def _notebook(tmp_path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    for cell in nb.cells:
        cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}  # as Jupyter leaves it
    path = tmp_path / "lesson.ipynb"
    path.write_text(nbformat.writes(nb))
    return path


def test_refresh_runs_stores_outputs_and_tidies(tmp_path):
    (tmp_path / "data.txt").write_text("from the notebook's own folder")
    path = _notebook(tmp_path, "print(6 * 7)", "print(open('data.txt').read())")
    assert refresh.main([str(path)]) == 0
    nb = json.loads(path.read_text())
    assert ["".join(c["outputs"][0]["text"]) for c in nb["cells"]] == ["42\n", "from the notebook's own folder\n"]
    assert all("execution" not in c["metadata"] for c in nb["cells"])
    assert path.read_text().startswith('{\n "cells"')  # written as Jupyter does: 1-space indent


def test_a_failing_cell_is_named_and_the_file_is_left_as_it_was(tmp_path, capsys):
    path = _notebook(tmp_path, "x = 1", "1 / 0", "print('never')")
    before = path.read_bytes()
    assert refresh.main([str(path)]) == 1
    assert path.read_bytes() == before
    assert "cell 2 failed: ZeroDivisionError: division by zero" in capsys.readouterr().err


def test_tidy_only_runs_nothing(tmp_path):
    path = _notebook(tmp_path, "1 / 0")  # would fail if run
    assert refresh.main(["--tidy", str(path)]) == 0
    nb = json.loads(path.read_text())
    assert nb["cells"][0]["outputs"] == [] and "execution" not in nb["cells"][0]["metadata"]


def test_broken_notebook_gets_a_clear_error(tmp_path, capsys):
    path = tmp_path / "broken.ipynb"
    path.write_text("{ not json")
    assert refresh.main([str(path)]) == 1
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["notebooks", "solutions", "exercises"])
def test_course_notebooks_are_stored_tidy(folder):
    """No run timestamps in the course's notebooks (python -m refimpl refresh --tidy removes them)."""
    untidy = [
        p.name
        for p in sorted((ROOT / folder).glob("*.ipynb"))
        if any(refresh.RUN_SPECIFIC[0] in c.get("metadata", {}) for c in json.loads(p.read_text())["cells"])
    ]
    assert untidy == []
