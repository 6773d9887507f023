"""Plan what runs for one submission: the student's cells in the student's order, the assignment's checks among them.

Honest students move, merge, split, retype and paste cells; a grade must not
depend on cell ids that Jupyter regenerates. So the plan is built from the
submission as it is:

- every code cell of the submission runs, in the submission's order, with the
  student's source: the student's notebook is the program;
- a cell of the submission *is* a check when its metadata names a check of the
  assignment, or (metadata lost, say pasted into a new notebook) when its code
  is the check's code; it then runs the **assignment's** check code, never the
  student's version, and stands where the student put it;
- a check the student deleted, every hidden check (never released), and a given
  cell the student deleted run where they stand in the assignment: right after
  the submission's counterpart of the nearest assignment cell before them
  (found by metadata or by similar code), or at the end when none is found;
- markdown cells do not run.

What was matched how is said in plain words (``Plan.matching``), naming a
student's cell by its number and first line, never by an id. The expected
outputs stay out of the plan's job: the sandbox gets code only.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field

from refimpl.grading import notebook, python_source

#: Student code that reaches for these can interfere with grading or skip the
#: task; the feedback flags it for the teacher to look at (see the teacher's guide).
SUSPICIOUS = [
    (re.compile(r"\bget_ipython\b|\bInteractiveShell\b"), "uses the IPython shell object"),
    (re.compile(r"__builtins__|\bbuiltins\b"), "touches builtins"),
    (
        re.compile(
            r"\bsys\s*\.\s*(?:__)?(?:stdout|stderr|displayhook|modules|settrace|setprofile|_getframe|_current_frames)"
        ),
        "changes sys.stdout / sys.modules / tracing or reads frames",
    ),
    (re.compile(r"\b(?:gc|ctypes|inspect)\b"), "uses gc / ctypes / inspect"),
    (re.compile(r"__code__|__closure__|cell_contents|__globals__|f_locals|f_back"), "edits code objects or frames"),
    (re.compile(r"refimpl\s*\.\s*grading|refimpl\.grading|\bnbval\b"), "mentions the grader"),
    (
        re.compile(r"\bos\s*\.\s*(?:_exit|fork|kill|write)\b|\bsignal\s*\.\s*(?:signal|setitimer|alarm)\b"),
        "forks, exits, writes to raw file descriptors or handles signals",
    ),
    (re.compile(r"\bthreading\b|\bmultiprocessing\b|\bsubprocess\b"), "starts threads or processes"),
]
SIMILAR = 0.8  # code this alike counts as the same cell (a given cell the student kept, a retyped check)
ANCHOR = 0.5  # alike enough to tell where an assignment cell stands in the submission


@dataclass
class JobCell:
    id: str  # "s7" for the student's 7th cell, "a12" for the assignment's 12th
    kind: str  # student | given | check
    source: str
    check: str = ""  # the check's name, for kind == "check"
    label: str = ""  # how the feedback names the cell


@dataclass
class Plan:
    cells: list[JobCell]
    checks: list[notebook.Check]
    matching: list[str] = field(default_factory=list)  # plain words: what was matched how
    findings: list[str] = field(default_factory=list)  # edits to check cells (no effect on the grade)
    suspicious: list[str] = field(default_factory=list)  # static scan of student code

    def job(self) -> dict:
        """What the sandbox gets: code only, never an expected output."""
        return {"cells": [{"id": c.id, "kind": c.kind, "source": c.source} for c in self.cells]}

    def label(self, cell_id: str) -> str:
        return next((c.label for c in self.cells if c.id == cell_id), cell_id)


def first_line(source: str, width: int = 60) -> str:
    """A cell's first line that says something (not blank, not only a comment mark)."""
    for line in source.splitlines():
        text = line.strip()
        if text and text != "#":
            return text if len(text) <= width else text[: width - 3] + "..."
    return "(empty cell)"


def _normal(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def similarity(a: str, b: str) -> float:
    a, b = _normal(a), _normal(b)
    if a == b:
        return 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.ratio() if matcher.real_quick_ratio() >= ANCHOR and matcher.quick_ratio() >= ANCHOR else 0.0


def _module_aliases(source: str) -> set[str]:
    tree = python_source.parse(source)
    if tree is None:
        return set()
    return {
        (alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }


def _refimpl_imports(source: str) -> set[str]:
    tree = python_source.parse(source)
    if tree is None:
        return set()
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("refimpl"):
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("refimpl")}
    return found


def scan(label: str, source: str, allowed_imports: set[str] = frozenset()) -> list[str]:
    """Lines a teacher may want to look at. A flag, never a penalty: the grade does not depend on it."""
    found = []
    modules = _module_aliases(source)
    for number, line in enumerate(source.splitlines(), 1):
        patched = re.match(r"\s*([A-Za-z_]\w*)(?:\.\w+)+\s*=[^=]", line)
        if patched and patched.group(1) in modules:
            found.append(
                f"{label} line {number}: replaces something in module `{patched.group(1)}` "
                f"(monkeypatching): `{line.strip()[:80]}`"
            )
        for pattern, why in SUSPICIOUS:
            if pattern.search(line):
                found.append(f"{label} line {number}: {why}: `{line.strip()[:80]}`")
    for name in sorted(_refimpl_imports(source) - set(allowed_imports)):
        found.append(
            f"{label}: imports `{name}`, which the exercise does not: the reference implementation "
            "may be doing the task"
        )
    return found


def _cell_roles(assignment):
    """(index, role, cell) for the assignment's code cells: role is check | hidden | solution | given."""
    for index, cell in enumerate(assignment.cells):
        if cell.cell_type != "code":
            continue
        meta = notebook.check_meta(cell)
        if meta:
            yield index, "hidden" if meta.get("hidden") else "check", cell
        elif notebook.has_solution(cell.source):
            yield index, "solution", cell
        else:
            yield index, "given", cell


def build(assignment, submission) -> Plan:
    checks = notebook.checks(assignment)
    by_name = {c.name: c for c in checks}
    public = {c.name: c for c in checks if not c.hidden}
    roles = list(_cell_roles(assignment))
    allowed = set().union(*(_refimpl_imports(c.source) for _, _, c in roles)) if roles else set()

    # The submission's code cells, numbered as the student sees them (1 = first code cell).
    theirs = [cell for cell in submission.cells if cell.get("cell_type") == "code"]
    labels = [f"your cell {n} (`{first_line(cell.get('source', ''))}`)" for n, cell in enumerate(theirs, 1)]
    plan = Plan(cells=[], checks=checks)

    # 1. Which of the student's cells are checks: by metadata, else by code.
    check_at: dict[int, str] = {}
    for position, cell in enumerate(theirs):
        meta = notebook.check_meta(cell) or {}
        name = str(meta.get("check", ""))
        if name in public and name not in check_at.values():
            check_at[position] = name
            plan.matching.append(f"check `{name}`: found by its metadata in {labels[position]}")
            if _normal(cell.get("source", "")) != _normal(public[name].source):
                plan.findings.append(
                    f"check `{name}`: its code was edited in your notebook; the grader ran the original"
                )
        elif name and name not in by_name:
            plan.findings.append(
                f"{labels[position]} claims to be check `{name}`, which the assignment does not "
                "have: it ran as ordinary code, for no points"
            )
    for name, check in public.items():
        if name in check_at.values():
            continue
        best = max(
            (
                (similarity(cell.get("source", ""), check.source), p)
                for p, cell in enumerate(theirs)
                if p not in check_at
            ),
            default=(0.0, -1),
        )
        if best[0] >= SIMILAR:
            check_at[best[1]] = name
            plan.matching.append(f"check `{name}`: found by its code in {labels[best[1]]} (its metadata was lost)")

    # 2. Where each assignment cell stands in the submission, for placing what is missing.
    counterpart: dict[int, int] = {}
    for index, role, cell in roles:
        if role == "check" and cell.metadata["course"]["check"] in check_at.values():
            counterpart[index] = next(p for p, n in check_at.items() if n == cell.metadata["course"]["check"])
        elif role in ("solution", "given"):
            versions = [cell.source] + ([notebook.stub_source(cell.source)] if role == "solution" else [])
            best = max(
                (
                    (max(similarity(c.get("source", ""), v) for v in versions), p)
                    for p, c in enumerate(theirs)
                    if p not in check_at
                ),
                default=(0.0, -1),
            )
            if best[0] >= ANCHOR:
                counterpart[index] = best[1]

    def place(index: int) -> int:
        """After which student cell an assignment cell runs (len(theirs) = at the end)."""
        for earlier in range(index - 1, -1, -1):
            if earlier in counterpart:
                return counterpart[earlier]
        return len(theirs) if not theirs else -1

    inserted: dict[int, list[JobCell]] = {}

    def insert(index: int, job_cell: JobCell, words: str) -> None:
        at = place(index)
        if at == -1 and index > 0 and theirs:
            at = len(theirs) - 1  # nothing before it was found: run it last, when everything is defined
        inserted.setdefault(at, []).append(job_cell)
        where = "at the start" if at == -1 else f"after {labels[at]}" if at < len(theirs) else "at the end"
        plan.matching.append(f"{words}: ran {where}")

    for index, role, cell in roles:
        label = f"the assignment's cell `{first_line(cell.source)}`"
        if role == "hidden":
            name = cell.metadata["course"]["check"]
            insert(
                index,
                JobCell(f"a{index}", "check", cell.source, name, f"hidden check `{name}`"),
                f"hidden check `{name}`",
            )
        elif role == "check" and index not in counterpart:
            name = cell.metadata["course"]["check"]
            insert(
                index,
                JobCell(f"a{index}", "check", cell.source, name, f"check `{name}`"),
                f"check `{name}`: not in your notebook, so the grader added it",
            )
        elif role == "given" and (
            index not in counterpart or similarity(theirs[counterpart[index]].get("source", ""), cell.source) < SIMILAR
        ):
            insert(index, JobCell(f"a{index}", "given", cell.source, label=label), f"{label} (given code you deleted)")

    plan.cells.extend(inserted.get(-1, []))  # what runs before the student's first cell
    for position, cell in enumerate(theirs):
        source = cell.get("source", "")
        if position in check_at:
            name = check_at[position]
            plan.cells.append(JobCell(f"s{position + 1}", "check", public[name].source, name, f"check `{name}`"))
        else:
            plan.cells.append(JobCell(f"s{position + 1}", "student", source, label=labels[position]))
            plan.suspicious.extend(scan(labels[position], source, allowed))
        plan.cells.extend(inserted.get(position, []))
    plan.cells.extend(inserted.get(len(theirs), []))
    plan.suspicious = list(dict.fromkeys(plan.suspicious))
    return plan
