"""Bench: time to grade a class of 100 submissions of one exercise with ``--jobs 2``.

The class is half correct solutions, half blank exercises, graded through the
real command line (``python -m refimpl grade``), each in a bubblewrap sandbox
of its own. The peer is bare ``pytest --nbval`` over the same 100 notebooks,
two at a time - what a teacher could run without the grader, with no
sandbox, no hidden checks and no scoring - measured in the same run; the ratio
is the price (or the gain) of grading safely. The issue's goal: no slower than
the 211 s the nbval-based grader took. ``COURSE_BENCH_GRADING_N`` changes the
class size.
"""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _assignment() -> Path:
    solutions = sorted((ROOT / "solutions").glob("*.ipynb"))
    return solutions[0] if solutions else ROOT / "tests" / "fixtures" / "grading" / "assignment.ipynb"


def _bare_nbval_seconds(paths: list[str], workdir: Path) -> float:
    """pytest --nbval over every submission, two processes at a time (like --jobs 2)."""
    folder = workdir / "bare"
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\n")
    halves = [paths[0::2], paths[1::2]]
    started = time.perf_counter()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-c",
                str(folder / "pytest.ini"),
                "--rootdir",
                str(folder),
                "--nbval",
                "--nbval-current-env",
                *half,
            ],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for half in halves
        if half
    ]
    for proc in procs:
        proc.wait(timeout=3600)
    return time.perf_counter() - started


def _with_id(solution, student_id: str) -> str:
    """The solution as a student hands it in: with their own id in ``Variant(..., student=...)``."""
    from refimpl.grading import notebook
    from refimpl.variant import PLACEHOLDER

    own = notebook.nbformat.from_dict(copy.deepcopy(dict(solution)))
    for cell in own.cells:
        if cell.cell_type == "code":
            cell.source = cell.source.replace(f'student="{PLACEHOLDER}"', f"student={student_id!r}")
    return notebook.nbformat.writes(own)


def run() -> list[str]:
    from refimpl.grading import notebook

    count = int(os.environ.get("COURSE_BENCH_GRADING_N", "100"))
    assignment = _assignment()
    solution = notebook.read(assignment)
    exercise_text = notebook.nbformat.writes(notebook.exercise_from(solution))
    # What a correct submission scores: every check's points. Written answers wait for the teacher,
    # so they are not part of it.
    auto_points = sum(check.points for check in notebook.checks(solution))
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        workdir = Path(tmp)
        paths = []
        for i in range(count):
            path = workdir / f"student{i:03d}.ipynb"
            # A correct student names their own id, so that per-student checks draw their own inputs
            # (a copy of one id's answers would score 0 there, by design).
            path.write_text(_with_id(solution, path.stem) if i % 2 == 0 else exercise_text, encoding="utf-8")
            paths.append(str(path))
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "refimpl",
                "grade",
                "--assignment",
                str(assignment),
                *paths,
                "--jobs",
                "2",
                "--quiet",
                "--csv",
                str(workdir / "grades.csv"),
            ],
            capture_output=True,
            text=True,
            timeout=3600,
        )
        seconds = time.perf_counter() - started
        grades = workdir / "grades.csv"
        rows = list(csv.DictReader(grades.open(encoding="utf-8"))) if grades.exists() else []
        bare = _bare_nbval_seconds(paths, workdir)
    full = sum(1 for r in rows if r.get("score") and float(r["score"]) == auto_points)
    lines = [
        f"grade {count} submissions of {assignment.name} with --jobs 2, sandboxed: {seconds:.1f} s "
        f"({seconds / max(count, 1):.2f} s per submission, {count / seconds * 60:.0f} per minute; goal <= 211 s)",
        f"   rows {len(rows)}, full marks of the checks ({auto_points:g} points) {full} (expected {(count + 1) // 2}),"
        f" exit code {done.returncode}",
        f"   peer: bare pytest --nbval over the same {count} notebooks, 2 at a time: {bare:.1f} s; "
        f"grader / bare nbval = {seconds / bare:.2f}x",
    ]
    return lines
