"""Bench: time to grade a class of 100 submissions of one exercise with ``--jobs 2``.

The class is half correct solutions, half blank exercises, graded through the
real command line (``python -m refimpl grade``). The peer is bare
``pytest --nbval`` on the solution notebook - what a teacher could run without
the grader, with no sandbox, no guard and no scoring - so the ratio is the
price of grading safely. ``COURSE_BENCH_GRADING_N`` changes the class size.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _assignment() -> Path:
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    return solutions[0] if solutions else ROOT / "tests" / "fixtures" / "grading" / "assignment.ipynb"


def _bare_nbval_seconds(assignment: Path, workdir: Path) -> float:
    copy = workdir / "bare" / assignment.name
    copy.parent.mkdir()
    shutil.copy(assignment, copy)
    (copy.parent / "pytest.ini").write_text("[pytest]\n")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "refimpl.grading.runpytest", "-q", "-p", "no:cacheprovider",
                    "-c", str(copy.parent / "pytest.ini"), "--nbval", "--nbval-current-env", str(copy)],
                   cwd=copy.parent, capture_output=True, timeout=600)
    return time.perf_counter() - started


def run() -> list[str]:
    from refimpl.grading import notebook

    count = int(os.environ.get("COURSE_BENCH_GRADING_N", "100"))
    assignment = _assignment()
    exercise_text = notebook.nbformat.writes(notebook.exercise_from(notebook.read(assignment)))
    solution_text = assignment.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        workdir = Path(tmp)
        paths = []
        for i in range(count):
            path = workdir / f"student{i:03d}.ipynb"
            path.write_text(solution_text if i % 2 == 0 else exercise_text, encoding="utf-8")
            paths.append(str(path))
        bare = _bare_nbval_seconds(assignment, workdir)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "refimpl", "grade", "--assignment", str(assignment), *paths,
             "--jobs", "2", "--quiet", "--csv", str(workdir / "grades.csv")],
            capture_output=True, text=True, timeout=3600,
        )
        seconds = time.perf_counter() - started
        rows = (workdir / "grades.csv").read_text().splitlines()[1:] if (workdir / "grades.csv").exists() else []
    full = sum(1 for r in rows if r.split(",")[1] == r.split(",")[2])
    lines = [
        f"grade {count} submissions of {assignment.name} with --jobs 2: {seconds:.1f} s "
        f"({seconds / max(count, 1):.2f} s per submission, {count / seconds * 60:.0f} per minute)",
        f"   rows {len(rows)}, full marks {full} (expected {(count + 1) // 2}), exit code {done.returncode}",
        f"   peer: bare pytest --nbval on the solution, 1 notebook: {bare:.2f} s; "
        f"grader cost per submission / bare run = {seconds * 2 / max(count, 1) / bare:.2f}x (2 jobs)",
    ]
    return lines
