"""The grading bench grades what it claims: its correct half gets every check's points, its blank half none.

The bench once counted "full marks" against a maximum that includes written
answers (which wait for the teacher) and handed in one id's answers for every
student (which per-student checks score 0, by design), so it printed 0 of 50
and still looked like a timing. Four submissions here, through the real command.
"""

from __future__ import annotations

import re

import pytest

from refimpl.bench import grading
from refimpl.grading import sandbox


@pytest.mark.skipif(sandbox.unavailable() is not None, reason=f"no sandbox here: {sandbox.unavailable()}")
def test_the_correct_half_scores_every_check_point(monkeypatch):
    monkeypatch.setenv("COURSE_BENCH_GRADING_N", "4")
    lines = grading.run()
    found = re.search(
        r"rows (\d+), full marks of the checks \(([\d.]+) points\) (\d+) \(expected (\d+)\), exit code (\d+)", lines[1]
    )
    assert found, lines
    rows, points, full, expected, code = found.groups()
    assert (rows, full, expected, code) == ("4", "2", "2", "0"), lines
    assert float(points) > 0
