"""Hidden checks of the real exercises: every task has them, no exercise shows them, and they catch a copied answer.

A public check's expected output ships in the released exercise, so a student can hand in functions that
answer exactly the public examples and nothing else. For every ``solutions/*.ipynb`` this test builds that
submission mechanically (``hard_coded``): it runs the solution here, records what each function with a
solution region returned (or raised, or printed; for a method, the object's attributes after it) while the
public checks ran, and replaces each solution region by a lookup in that record; an input the public checks
never used gets the answer to the first one.
A prediction (a solution region outside any function) becomes a wrong guess of the same form, since nothing
public gives it away. Graded in the sandbox, that submission must score 0 on every task, its public checks
passing but waiting for the hidden ones, while the solution without its hidden cells scores full.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import copy
import inspect
import io
import pickle
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, release, sandbox, student_release

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
FIXTURE = ROOT / "tests" / "fixtures" / "grading"
sys.path.insert(0, str(FIXTURE))
import tamper  # noqa: E402  (tests/fixtures/grading/tamper.py)

LIMITS = sandbox.Limits(cell_timeout=30)
needs_sandbox = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _id(path: Path) -> str:
    return path.stem


def _is_prediction(check: notebook.Check) -> bool:
    return "predict" in check.task


# --------------------------------------------------------------------------- what the solutions declare


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_every_public_check_with_points_has_a_hidden_check_of_its_task(path):
    checks = notebook.checks(notebook.read(path))
    public = {c.name: c for c in checks if not c.hidden}
    hidden = [c for c in checks if c.hidden]
    for check in public.values():
        if check.points > 0:
            assert any(h.task == check.name for h in hidden), f"{path.name}: `{check.name}` has no hidden check"
    for h in hidden:
        assert h.task in public, f"{path.name}: hidden `{h.name}` backs `{h.task}`, which is no public check"
        assert h.points > 0 and h.covers.strip(), f"{path.name}: hidden `{h.name}` needs points and a `covers`"
        assert h.expected.strip(), f"{path.name}: hidden `{h.name}` has no stored output (refresh the solution)"


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_hidden_checks_stand_right_after_the_public_check_of_their_task(path):
    """Where the grader runs them: after the public check, when everything it needs is defined."""
    order = [notebook.check_meta(c) for c in notebook.read(path).cells if notebook.is_check(c)]
    for before, meta in zip(order, order[1:]):
        if meta.get("hidden"):
            assert meta["task"] in (before["check"], before.get("task")), (path.name, meta["check"])


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_predictions_are_graded_only_by_hidden_checks(path):
    """A prediction's public check shows only its form, for 0 points; the hidden check holds the points."""
    checks = notebook.checks(notebook.read(path))
    for check in (c for c in checks if not c.hidden and _is_prediction(c)):
        assert check.points == 0, f"{path.name}: `{check.name}` would show the answer it gives points for"
        assert sum(h.points for h in checks if h.hidden and h.task == check.name) > 0, check.name


@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_the_exercise_holds_no_hidden_check_and_no_answer(path, tmp_path):
    exercise = ROOT / "exercises" / path.name
    assert exercise.read_text(encoding="utf-8") == release.render(path), "run: python -m refimpl release"
    (tmp_path / "solutions").mkdir()
    shutil.copy(path, tmp_path / "solutions" / path.name)
    (tmp_path / "released").mkdir()
    shutil.copy(exercise, tmp_path / "released" / path.name)
    secrets = student_release.secrets(tmp_path / "solutions")
    assert any("hidden check" in what for what, _ in secrets)  # the audit knows what to look for
    assert student_release.audit(tmp_path / "released", secrets) == []
    released = notebook.read(exercise)
    assert not any(c.hidden for c in notebook.checks(released))
    hidden = [c for c in notebook.checks(notebook.read(path)) if c.hidden]
    assert released.metadata["course"]["hidden_checks"] == [
        {"task": c.task, "points": c.points, "covers": c.covers} for c in hidden
    ]
    for cell in released.cells:  # what a student's own run would store is not there either
        if cell.cell_type == "code" and not notebook.is_check(cell) and "NotImplementedError" in cell.source:
            assert cell.outputs == []


# --------------------------------------------------------------------------- the hard-coded submission

REPLAY = '''import base64 as _base64
import pickle as _pickle

_ANSWERS = _pickle.loads(_base64.b64decode("{table}"))
_CALLS = {{}}


def _replay(name, args, owner=None):
    """The recorded answer to these arguments (and the object's state after it); the first one for any other."""
    try:
        key = _pickle.dumps(args, protocol=4)
    except Exception:
        key = repr(args).encode()
    known = _ANSWERS[name]["calls"].get(key)
    if known is None:
        answer = _ANSWERS[name]["first"]
    else:
        count = _CALLS[name, key] = _CALLS.get((name, key), -1) + 1
        answer = known[min(count, len(known) - 1)]
    printed, raised, value, state = _pickle.loads(answer)
    if owner is not None and state is not None:
        owner.__dict__.update(state)
    if printed:
        print(printed, end="")
    if raised:
        raise value
    return value
'''


def _key(args: tuple) -> bytes:
    try:
        return pickle.dumps(args, protocol=4)
    except Exception:
        return repr(args).encode()


def _regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (1-based) of each solution region, markers included."""
    found, start = [], None
    for number, line in enumerate(source.splitlines(), 1):
        if notebook.BEGIN_RE.match(line):
            start = number
        elif notebook.END_RE.match(line) and start is not None:
            found.append((start, number))
            start = None
    return found


def _home(tree: ast.Module, line: int) -> tuple[str, ast.FunctionDef] | None:
    """The qualified name and node of the innermost function around ``line`` (None: at top level)."""
    best = None

    def visit(node, prefix):
        nonlocal best
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                name = f"{prefix}{child.name}"
                if isinstance(child, ast.FunctionDef) and child.lineno < line <= child.end_lineno:
                    best = (name, child)
                visit(child, name + ".")

    visit(tree, "")
    return best


def _assigned(source: str, first: int, last: int) -> list[str]:
    """Names a top-level region assigns."""
    names = []
    for node in ast.parse(source).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and first < node.lineno < last:
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names += [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
    return names


def _wrong_guess(value):
    """A prediction of the same form that is wrong everywhere it can be."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, dict):
        return {k: _wrong_guess(v) for k, v in value.items()}
    if isinstance(value, list):
        return value[::-1] if value[::-1] != value else [_wrong_guess(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_wrong_guess(v) for v in value)
    return value


def _lookup(namespace: dict, qualname: str):
    owner, *path = qualname.split(".")
    value = namespace[owner]
    for part in path:
        value = value.__dict__[part] if isinstance(value, type) else getattr(value, part)
    return value


def _install(namespace: dict, qualname: str, function) -> None:
    owner, *path = qualname.split(".")
    if not path:
        namespace[owner] = function
    else:
        setattr(_lookup(namespace, ".".join([owner, *path[:-1]])), path[-1], function)


def record(solution) -> tuple[dict, dict]:
    """Run the solution here: what each solution function answered during the public checks, and each prediction.

    Returns ``({qualname: [(key, answer), ...]}, {name: value})``; an answer is the pickled
    ``(printed, raised, value, state)``, ``state`` being a method's object's attributes after the call.
    """
    calls: dict[str, list] = {}
    predictions: dict[str, object] = {}
    recording = False
    namespace: dict = {"__name__": "__main__"}

    def recorder(qualname, function):
        signature = inspect.signature(function)

        def recorded(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            key = _key(tuple(v for name, v in bound.arguments.items() if name != "self"))
            out, raised, value = io.StringIO(), False, None
            try:
                with contextlib.redirect_stdout(out):
                    value = function(*args, **kwargs)
            except Exception as exc:
                raised, value = True, exc
            if recording:
                state = copy.deepcopy(vars(bound.arguments["self"])) if "self" in bound.arguments else None
                calls.setdefault(qualname, []).append((key, pickle.dumps((out.getvalue(), raised, value, state))))
            if raised:
                raise value
            return value

        recorded.__signature__ = signature
        return recorded

    with contextlib.chdir(ROOT / "solutions"), contextlib.redirect_stdout(io.StringIO()):
        for cell in tamper.solved(solution).cells:
            if cell.cell_type != "code":
                continue
            recording = notebook.is_check(cell)
            exec(compile(cell.source, f"<{cell.get('id')}>", "exec"), namespace)
            recording = False
            tree = ast.parse(cell.source)
            for first, last in _regions(cell.source):
                home = _home(tree, first)
                if home is None:
                    predictions.update({n: copy.deepcopy(namespace[n]) for n in _assigned(cell.source, first, last)})
                else:
                    _install(namespace, home[0], recorder(home[0], _lookup(namespace, home[0])))
    return calls, predictions


def _replay_call(qualname: str, node: ast.FunctionDef) -> str:
    names = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs]
    names += [a.arg for a in (node.args.vararg, node.args.kwarg) if a is not None]
    values = "".join(n + ", " for n in names if n != "self")
    return f"return _replay({qualname!r}, ({values}){', self' if 'self' in names else ''})"


def hard_coded(solution):
    """The released exercise with each solution region answering only what the public checks asked."""
    calls, predictions = record(solution)
    exercise = notebook.exercise_from(solution)
    sources = {c.get("id"): c.source for c in solution.cells}
    for cell in exercise.cells:
        source = sources.get(cell.get("id"), "")
        if cell.cell_type != "code" or not notebook.has_solution(source):
            continue
        tree, lines, table = ast.parse(source), source.splitlines(), {}
        for first, last in reversed(_regions(source)):
            indent = notebook.BEGIN_RE.match(lines[first - 1]).group("indent")
            home = _home(tree, first)
            if home is None:
                body = [
                    f"{n} = _pickle.loads({pickle.dumps(_wrong_guess(predictions[n]))!r})"
                    for n in _assigned(source, first, last)
                ]
                assert body and all(
                    _wrong_guess(predictions[n]) != predictions[n] for n in _assigned(source, first, last)
                ), (cell.get("id"), "no wrong guess")
            else:
                recorded = calls.get(home[0], [])
                assert recorded, f"{home[0]} was never called by a public check"
                table[home[0]] = {"first": recorded[0][1], "calls": {}}
                for key, answer in recorded:
                    table[home[0]]["calls"].setdefault(key, []).append(answer)
                body = [_replay_call(*home)]
            lines[first - 1 : last] = [indent + line for line in body]
        packed = base64.b64encode(pickle.dumps(table)).decode()
        cell.source = REPLAY.format(table=packed) + "\n\n" + "\n".join(lines)
    return exercise


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{(solution stem, "solution" | "hard_coded"): Grade}, graded two at a time in the sandbox."""
    folder = tmp_path_factory.mktemp("hidden")
    jobs = []
    for path in SOLUTIONS:
        solution = notebook.read(path)
        for case, made in (("solution", tamper.solved(solution)), ("hard_coded", hard_coded(solution))):
            target = folder / path.stem / f"{case}.ipynb"
            target.parent.mkdir(exist_ok=True)
            target.write_text(nbformat.writes(made), encoding="utf-8")
            jobs.append(((path.stem, case), solution, target))

    def run(job):
        name, solution, target = job
        return name, grade.grade_one(
            solution, target, limits=LIMITS, slot=len(name[1]) % 2, root=folder, roster_id="s-hidden-0042"
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _status(g: grade.Grade) -> dict:
    return {c.name: (c.earned, c.status, c.reason) for c in g.checks}


@needs_sandbox
@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_the_solution_without_its_hidden_checks_scores_full(graded, path):
    g = graded[(path.stem, "solution")]
    assert g.score == g.max_score > 0, (_status(g), g.problems, g.student_errors)
    assert all(c.status == "passed" for c in g.checks), _status(g)


@needs_sandbox
@pytest.mark.parametrize("path", SOLUTIONS, ids=_id)
def test_answers_hard_coded_from_the_public_checks_score_zero(graded, path):
    g = graded[(path.stem, "hard_coded")]
    assert g.status == "graded" and not g.problems, (g.status, g.problems)
    assert g.score == 0, _status(g)
    for c in g.checks:
        if c.hidden:
            assert c.status in ("wrong output", "error"), (c.name, c.status, c.actual)
        else:  # the copied answers do reproduce every public answer (a prediction's shows only its form) ...
            assert grade.normalize(c.actual or "") == grade.normalize(c.expected or ""), (c.name, c.actual)
            if c.points > 0:  # ... and those points wait for the hidden checks
                assert c.status == "waits for hidden checks", (c.name, c.status, c.reason)
