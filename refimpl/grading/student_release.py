"""``python -m refimpl student-release DIR``: write the course as students get it.

The course repository holds ``solutions/`` (with the hidden checks and their
answers), the grader's tests and the teacher's guide. None of that may reach a
student. This command writes a tree that holds only:

- ``notebooks/``: the lessons (not the teacher's guide);
- ``exercises/``: made afresh from ``solutions/`` by release, so no solution
  region, no hidden check and no hidden answer is in them;
- ``refimpl/``: the package the lessons import (and the self-check);
- ``README.md``, ``Makefile`` (``make lab``, ``make check NB=...``),
  ``pyproject.toml``, ``requirements.txt`` and ``environment.yml`` (Binder reads
  either), ``.gitignore``.

It then reads every file it wrote and fails if any hidden check's code or
expected answer, or any solution region, appears in it. ``--git`` makes the
tree a git repository with one commit, ready to push for nbgitpuller or Binder.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from refimpl.grading import notebook, release

ROOT = Path(__file__).resolve().parents[2]
TEACHER_ONLY = {"99_for_teachers.ipynb"}
COPIED = ["pyproject.toml", "environment.yml", ".gitignore"]

README = """# DHCP and FTP, hands on (student edition)

Lessons in `notebooks/`, exercises in `exercises/`, and `refimpl/`, the small
reference implementation the lessons drive and you can read.

```sh
make lab                                   # set up .venv and open the course in JupyterLab
make check NB=exercises/01_dhcp_message.ipynb   # self-check a saved exercise
```

The self-check runs your saved notebook from a fresh start against the public
checks (the examples you can see) and lists what the hidden checks cover. Your
grade comes from both: a public check's points count once the hidden checks of
its task pass too, because its answer is visible to everyone.
"""

MAKEFILE = """PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LAB_IP   ?= 127.0.0.1
LAB_PORT ?= 8888
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab check

$(STAMP): pyproject.toml
\ttest -x $(PY) || $(PYTHON) -m venv $(VENV)
\t$(PY) -m pip install --quiet --upgrade pip
\t$(PY) -m pip install --quiet -e .
\ttouch $(STAMP)

lab: $(STAMP)
\t$(VENV)/bin/jupyter lab --no-browser --ip=$(LAB_IP) --port=$(LAB_PORT) $(LAB_ROOT) \\
\t    --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/notebooks/00_start_here.ipynb

check: $(STAMP)
\t$(PY) -m refimpl check $(NB)
"""


def _requirements(pyproject: Path) -> str:
    deps = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["dependencies"]
    return "".join(f"{dep}\n" for dep in deps) + "-e .\n"


def secrets(solutions: Path) -> list[tuple[str, str]]:
    """(what, text) pairs that must appear nowhere in a student release."""
    found = []
    for path in sorted(solutions.glob("*.ipynb")):
        nb = notebook.read(path)
        for check in notebook.checks(nb):
            if check.hidden:
                found.append((f"{path.name}: hidden check {check.name}'s code", check.source.strip()))
                if len(check.expected.strip()) >= 8:  # short answers ("7") occur everywhere by chance
                    found.append((f"{path.name}: hidden check {check.name}'s answer", check.expected.strip()))
        for cell in nb.cells:
            if cell.cell_type == "code" and notebook.has_solution(cell.source):
                inside = notebook.solution_text(cell.source).strip()
                if len(inside) >= 20:
                    found.append((f"{path.name}: a solution region", inside))
    return found


def _readable_text(path: Path) -> str | None:
    """A file's text as a person reads it: a notebook's cells and outputs, not its JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None
    if path.suffix != ".ipynb":
        return text
    try:
        nb = notebook.reads(text, path.name)
    except notebook.NotebookError:
        return text
    parts = [_cell_text(cell) for cell in nb.cells]
    return "\n".join(parts) + "\n" + str(nb.metadata)


def _cell_text(cell) -> str:
    outputs = notebook.canonical_text(cell.get("outputs", [])) if cell.get("cell_type") == "code" else ""
    return f"{cell.get('source', '')}\n{outputs}\n{cell.get('metadata', {})}"


def audit(folder: Path, forbidden: list[tuple[str, str]]) -> list[str]:
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        text = _readable_text(path)
        if text is None:
            continue
        for what, secret in forbidden:
            if secret in text:
                problems.append(f"{path.relative_to(folder)} contains {what}")
    return problems


def write(dest: Path, root: Path = ROOT, git: bool = False) -> list[str]:
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} exists and is not empty")
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "notebooks").mkdir()
    for lesson in sorted((root / "notebooks").glob("*.ipynb")):
        if lesson.name not in TEACHER_ONLY:
            shutil.copy2(lesson, dest / "notebooks" / lesson.name)
    (dest / "exercises").mkdir()
    for solution in sorted((root / "solutions").glob("*.ipynb")):
        (dest / "exercises" / solution.name).write_text(release.render(solution), encoding="utf-8")
    shutil.copytree(
        root / "refimpl", dest / "refimpl", ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    )
    for name in COPIED:
        if (root / name).exists():
            shutil.copy2(root / name, dest / name)
    (dest / "README.md").write_text(README, encoding="utf-8")
    (dest / "Makefile").write_text(MAKEFILE, encoding="utf-8")
    (dest / "requirements.txt").write_text(_requirements(root / "pyproject.toml"), encoding="utf-8")
    problems = audit(dest, secrets(root / "solutions"))
    if git and not problems:
        for cmd in (
            ["git", "init", "-q"],
            ["git", "add", "-A"],
            [
                "git",
                "-c",
                "user.name=course",
                "-c",
                "user.email=course@example.invalid",
                "commit",
                "-q",
                "-m",
                "The course, student edition",
            ],
        ):
            subprocess.run(cmd, cwd=dest, check=True)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl student-release", description=__doc__.splitlines()[0])
    parser.add_argument("dest", help="an empty or new folder")
    parser.add_argument("--git", action="store_true", help="make it a git repository with one commit")
    args = parser.parse_args(argv)
    try:
        problems = write(Path(args.dest), git=args.git)
    except (FileExistsError, notebook.NotebookError) as exc:
        print(f"student-release: {exc}", file=sys.stderr)
        return 2
    for line in problems:
        print(f"student-release: LEAK: {line}", file=sys.stderr)
    if problems:
        return 1
    print(f"wrote {args.dest}: lessons, exercises, refimpl, README, requirements (no solutions, no hidden checks)")
    return 0
