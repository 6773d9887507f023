"""Build the notebook that is actually run for one submission.

The assignment is the skeleton; the submission only lends the *source* of its
non-check code cells, matched by cell id:

- check cells always come from the assignment; in the graded notebook each one
  is a one-line call to the in-kernel guard, and its expected output is the
  assignment's output plus a receipt (see ``guard``);
- a non-check cell found in the submission runs the student's source; one the
  student deleted runs the exercise stub (or the assignment's source when it
  has no solution region);
- cells the student added run after the cell they follow in the submission;
- everything the student changed about check cells is reported, never used.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field

import nbformat

from refimpl.grading import guard, notebook

GUARD_IMPORT = '__import__("refimpl.grading.guard", fromlist=["guard"])'
IGNORE = "nbval-ignore-output"

#: Student code that reaches for these can interfere with grading; the feedback
#: flags it for the teacher to look at (see the teacher's guide).
SUSPICIOUS = [
    (re.compile(r"\bget_ipython\b|\bInteractiveShell\b"), "uses the IPython shell object"),
    (re.compile(r"__builtins__|\bbuiltins\b"), "touches builtins"),
    (re.compile(r"\bsys\s*\.\s*(?:__)?(?:stdout|stderr|displayhook|modules|settrace|setprofile)"), "changes sys.stdout / sys.modules / tracing"),
    (re.compile(r"\b(?:gc|ctypes|inspect)\b"), "uses gc / ctypes / inspect"),
    (re.compile(r"__code__|__closure__|cell_contents|__globals__|f_locals|f_back"), "edits code objects or frames"),
    (re.compile(r"refimpl\s*\.\s*grading|refimpl\.grading|\bnbval\b|NBVAL_"), "mentions the grader"),
    (re.compile(r"\bos\s*\.\s*_exit\b|\bsignal\s*\.\s*signal\b|\bos\s*\.\s*kill\b"), "exits or handles signals"),
]


@dataclass
class Assembly:
    notebook: nbformat.NotebookNode
    guard_config: dict
    checks: list[notebook.Check]
    findings: list[str] = field(default_factory=list)   # check-cell tampering, missing cells
    suspicious: list[str] = field(default_factory=list)  # static scan of student code


def _python(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:
        return source


def imported_names(assignment) -> tuple[list[str], dict[str, tuple[str, str | None]]]:
    """Modules the assignment imports, and top-level names bound by its imports.

    The guard snapshots those modules before student code runs and rebinds
    those names before every check, so a student who shadows ``Message`` or
    patches ``struct.pack`` does not change what a check computes. Names that a
    solution region defines are the student's to define and are left alone.
    """
    modules: list[str] = []
    names: dict[str, tuple[str, str | None]] = {}
    defined: set[str] = set()
    for cell in assignment.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(_python(cell.source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    modules.append(alias.name)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.append(node.module)
                modules.extend(f"{node.module}.{a.name}" for a in node.names if a.name != "*")
        for node in tree.body:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        names[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        names[top] = (top, None)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        names[alias.asname or alias.name] = (node.module, alias.name)
            elif notebook.has_solution(cell.source) and isinstance(
                node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)
            ):
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", node)]
                for target in targets:
                    if isinstance(target, ast.Name):
                        defined.add(target.id)
                if hasattr(node, "name"):
                    defined.add(node.name)
    skip = {"__future__", "sys", "builtins"}
    modules = list(dict.fromkeys(m for m in modules if m.split(".")[0] not in skip))
    names = {k: v for k, v in names.items() if k not in defined and v[0] != "__future__"}
    return modules, names


def _graded_cell(source: str, meta: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata = {"course_graded": meta, "tags": [IGNORE]}
    return cell


def _module_aliases(source: str) -> set[str]:
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set()
    return {
        (alias.asname or alias.name.split(".")[0])
        for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }


def _scan(cell_id: str, source: str, modules: set[str] = frozenset()) -> list[str]:
    found = []
    modules = set(modules) | _module_aliases(source)
    for number, line in enumerate(source.splitlines(), 1):
        patched = re.match(r"\s*([A-Za-z_]\w*)(?:\.\w+)+\s*=[^=]", line)
        if patched and patched.group(1) in modules:
            found.append(f"cell `{cell_id}` line {number}: replaces something in module "
                         f"`{patched.group(1)}` (monkeypatching): `{line.strip()[:80]}`")
        for pattern, why in SUSPICIOUS:
            if pattern.search(line):
                found.append(f"cell `{cell_id}` line {number}: {why}: `{line.strip()[:80]}`")
    return found


def build(assignment, submission, key: bytes, config_path: str, socket_guard: bool = False) -> Assembly:
    """The graded notebook for ``submission`` and the guard's one-time config."""
    checks = notebook.checks(assignment)
    by_id = {c.cell_id: c for c in checks}
    modules, names = imported_names(assignment)
    findings: list[str] = []
    suspicious: list[str] = []

    assignment_ids = [c.get("id") for c in assignment.cells]
    known = set(assignment_ids)
    sub_cells = [copy.copy(c) for c in submission.cells]
    if not any(c.get("id") in known for c in sub_cells):
        # Saved by a Jupyter too old to keep cell ids? Match code cells by position if the shapes agree.
        theirs = [c for c in sub_cells if c.cell_type == "code"]
        ours = [c for c in assignment.cells if c.cell_type == "code"]
        if theirs and len(theirs) == len(ours):
            for mine, cell in zip(theirs, ours):
                mine["id"] = cell["id"]
            findings.append("the submission has none of the assignment's cell ids; its code cells were matched "
                            "by position")
        elif ours:
            findings.append("the submission has none of the assignment's cell ids (not started from the released "
                            "exercise?): the exercise's own cells ran, and the submission's cells ran first")
    sub_by_id = {}
    for cell in sub_cells:
        if cell.get("id") in known and cell.get("id") not in sub_by_id:
            sub_by_id[cell["id"]] = cell
    # What the student did to check cells: reported, never used.
    for check in checks:
        mine = sub_by_id.get(check.cell_id)
        if mine is None:
            findings.append(f"check `{check.name}`: the check cell was deleted from the submission (the grader ran it anyway)")
            continue
        if mine.cell_type != "code" or mine.source.rstrip() != check.source.rstrip():
            findings.append(f"check `{check.name}`: the check cell's code was edited (the grader used the original)")
        if notebook.check_meta(mine) != notebook.check_meta(next(c for c in assignment.cells if c.get("id") == check.cell_id)):
            findings.append(f"check `{check.name}`: the check cell's metadata (name/points) was edited (ignored)")
        stored = notebook.canonical_text(mine.get("outputs", [])) if mine.cell_type == "code" else ""
        if stored and stored != check.expected:
            findings.append(f"check `{check.name}`: the stored output differs from the assignment's (ignored: the grader runs the check)")
    order = [c["id"] for c in sub_cells if c.get("id") in by_id]
    expected_order = [c.cell_id for c in checks if c.cell_id in order]
    if order != expected_order:
        findings.append("check cells were reordered (the grader used the assignment's order)")

    # Student cells that come after each known cell in the submission.
    extras_after: dict[str | None, list] = {}
    anchor = None
    for cell in sub_cells:
        if cell.get("id") in known:
            anchor = cell["id"]
        elif cell.cell_type == "code":
            if notebook.is_check(cell):
                findings.append(f"cell `{cell.get('id')}` claims to be check `{notebook.check_meta(cell)['check']}`, "
                                "but the assignment has no such cell: run as ordinary code, no points")
            extras_after.setdefault(anchor, []).append(cell)

    cells = [_graded_cell(f"{GUARD_IMPORT}.install({config_path!r})", {"kind": "guard"})]

    module_aliases = {local for local, (_, attr) in names.items() if attr is None}

    def add_student(cell_id, source):
        suspicious.extend(_scan(cell_id, source, module_aliases))
        cells.append(_graded_cell(source, {"kind": "student", "cell_id": cell_id}))

    for extra in extras_after.get(None, []):
        add_student(extra.get("id", "?"), extra.source)
    for cell in assignment.cells:
        cell_id = cell.get("id")
        if cell.cell_type == "code" and cell_id in by_id:
            check = by_id[cell_id]
            graded = _graded_cell(f"{GUARD_IMPORT}.run_check({check.name!r})",
                                  {"kind": "check", "check": check.name, "cell_id": cell_id, "points": check.points})
            graded.metadata["tags"] = []
            text = check.expected + guard.receipt_line(guard.receipt(key, check.name, check.expected))
            graded.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
            graded.execution_count = 1
            cells.append(graded)
        elif cell.cell_type == "code":
            mine = sub_by_id.get(cell_id)
            if mine is not None and mine.cell_type == "code":
                add_student(cell_id, mine.source)
            else:
                if notebook.has_solution(cell.source):
                    findings.append(f"cell `{cell_id}` is missing from the submission; the exercise stub was run instead")
                    source = notebook.stub_source(cell.source)
                else:
                    source = cell.source
                cells.append(_graded_cell(source, {"kind": "given", "cell_id": cell_id}))
        else:
            cells.append(copy.deepcopy(cell))
        for extra in extras_after.get(cell_id, []):
            add_student(extra.get("id", "?"), extra.source)

    nb = nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(assignment.metadata))
    config = {
        "key": key.hex(),
        "checks": {c.name: c.source for c in checks},
        "modules": modules,
        "names": names,
        "socket_guard": socket_guard,
    }
    return Assembly(nb, config, checks, findings, list(dict.fromkeys(suspicious)))
