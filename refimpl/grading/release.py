"""``python -m refimpl release solutions exercises``: make the student notebooks.

``solutions/NN_topic.ipynb`` is the single source of each exercise. Release
writes ``exercises/NN_topic.ipynb`` with every solution region replaced by a
stub that raises ``NotImplementedError`` with the region's hint. ``--check``
writes nothing and fails when ``exercises/`` is out of step with ``solutions/``
(the test suite runs it, so a forgotten release is caught).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

from refimpl.grading import notebook


def render(solution_path: Path) -> str:
    """The exact text of the exercise file for one solution notebook."""
    nb = notebook.read(solution_path)
    notebook.checks(nb)  # fail early on duplicate names or missing ids
    return nbformat.writes(notebook.exercise_from(nb)) + "\n"


def plan(src: Path, dst: Path) -> list[tuple[Path, Path]]:
    if src.is_file():
        return [(src, dst / src.name if dst.is_dir() or not dst.suffix else dst)]
    return [(path, dst / path.name) for path in sorted(src.glob("*.ipynb"))]


def out_of_step(src: Path, dst: Path) -> list[str]:
    """Human-readable reasons why ``dst`` does not match a fresh release of ``src``."""
    problems = []
    for sol, ex in plan(src, dst):
        if not ex.exists():
            problems.append(f"{ex} is missing (run: python -m refimpl release {src} {dst})")
        elif ex.read_text(encoding="utf-8") != render(sol):
            problems.append(f"{ex} is out of step with {sol} (run: python -m refimpl release {src} {dst})")
    if src.is_dir() and dst.is_dir():
        for stray in sorted(set(p.name for p in dst.glob("*.ipynb")) - set(p.name for p in src.glob("*.ipynb"))):
            problems.append(f"{dst / stray} has no solution in {src}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl release", description=__doc__.splitlines()[0])
    parser.add_argument("src", nargs="?", default="solutions", help="solution notebook or folder (default: solutions)")
    parser.add_argument("dst", nargs="?", default="exercises", help="exercise folder (default: exercises)")
    parser.add_argument("--check", action="store_true", help="only report whether DST is in step; write nothing")
    args = parser.parse_args(argv)
    src, dst = Path(args.src), Path(args.dst)
    if not src.exists():
        print(f"release: {src} does not exist", file=sys.stderr)
        return 2
    try:
        if args.check:
            problems = out_of_step(src, dst)
            for line in problems:
                print(line, file=sys.stderr)
            return 1 if problems else 0
        pairs = plan(src, dst)
        for sol, ex in pairs:
            ex.parent.mkdir(parents=True, exist_ok=True)
            text = render(sol)
            if not ex.exists() or ex.read_text(encoding="utf-8") != text:
                ex.write_text(text, encoding="utf-8")
                print(f"wrote {ex}")
            else:
                print(f"unchanged {ex}")
    except notebook.NotebookError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    return 0
