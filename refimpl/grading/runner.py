"""The program that runs one submission's cells, inside the sandbox.

    python -I -m refimpl.grading.runner < job.json

It reads a job (the cells to run, in order) on standard input and writes one
JSON line per cell on standard output: what the cell printed, what it
displayed, the error it raised (with the frames that are the student's own),
and, for a check cell, its *answer*.

What it never gets: the expected outputs. The grader keeps those outside the
sandbox and compares there (:mod:`refimpl.grading.grade`), so nothing a
submission does in here (patching modules, walking ``gc``, tracing, threads,
forking, printing) can reveal a hidden check's expected text. Everything this
program writes is treated by the grader as untrusted data to compare, never as
a verdict.

Why an answer is separate from what a check printed: a check cell's own
top-level ``print`` calls (and its last expression, shown as IPython shows it)
are the answer; anything printed by the student's code while the check runs
(a debug ``print`` inside a correct function) is *stray output*. The grader
shows stray output in the feedback instead of failing the check for it.

Student cells run in an IPython shell, so magics and ``display`` work as in
Jupyter; check cells run as plain Python in the same namespace.
"""

from __future__ import annotations

import ast
import io
import json
import os
import signal
import sys
import time
import traceback

#: Text kept per stream per cell; a cell that prints more is cut (and says so).
MAX_TEXT = 64 * 1024
CUT = "\n[... output cut by the grader ...]\n"


_MISSING = object()


class CellTimeout(BaseException):
    """Raised in the cell when it runs past its time (BaseException: ``except Exception`` cannot swallow it)."""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + CUT


class _Capture(io.TextIOBase):
    """A stream that keeps at most MAX_TEXT characters (a flood costs nothing)."""

    def __init__(self):
        self.parts: list[str] = []
        self.size = 0
        self.cut = False

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        room = MAX_TEXT - self.size
        if room > 0:
            self.parts.append(text[:room])
            self.size += min(len(text), room)
        if len(text) > room:
            self.cut = True
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts) + (CUT if self.cut else "")


def _shell():
    from IPython.core.compilerop import CachingCompiler
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Displays(DisplayPublisher):
        """``display(...)`` in a student cell: keep its text/plain."""

        def publish(self, data, metadata=None, *args, **kwargs):
            text = data.get("text/plain")
            if text is not None:
                sys.stdout.write(str(text) + "\n")

    class Results(DisplayHook):
        """A cell's last expression, shown as Jupyter shows it (without ``Out[n]:``)."""

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            text = format_dict.get("text/plain")
            if text is not None:
                sys.stdout.write(str(text) + "\n")

    class CellNames(CachingCompiler):
        """Compiles each cell under the name the grader gave it, so tracebacks say which cell."""

        next_name = "<cell>"

        def get_code_name(self, raw_code, transformed_code, number):
            return self.next_name

    shell = InteractiveShell.instance(
        display_pub_class=Displays,
        displayhook_class=Results,
        compiler_class=CellNames,
        colors="nocolor",
        autoindent=False,
    )
    # The error goes into the record with the student's own frames; IPython's coloured dump is not wanted.
    shell._showtraceback = lambda *args, **kwargs: None
    return shell


def _frames(exc: BaseException, cells: dict[str, str], names: dict[str, str]) -> list[dict]:
    """The traceback's frames that are in submitted cells: cell, line number, the line."""
    frames = []
    for frame in traceback.extract_tb(exc.__traceback__):
        cell = names.get(frame.filename)
        if cell is None:
            continue
        lines = cells[cell].splitlines()
        line = lines[frame.lineno - 1].strip() if frame.lineno and 0 < frame.lineno <= len(lines) else ""
        frames.append({"cell": cell, "line": frame.lineno, "text": line, "function": frame.name})
    return frames


def _error(exc: BaseException, cells, names) -> dict:
    return {"ename": type(exc).__name__, "evalue": _clip(str(exc)), "frames": _frames(exc, cells, names)}


def _check_namespace(shell, answer: _Capture) -> dict:
    """The namespace a check runs in: the student's names, with ``print`` writing to the answer."""

    def check_print(*args, sep=" ", end="\n", file=None, flush=False):
        print(*args, sep=sep, end=end, file=answer if file is None else file)

    namespace = dict(shell.user_ns)
    namespace["print"] = check_print
    return namespace


def run_check(shell, source: str, filename: str, answer: _Capture) -> None:
    """Run a check's code, writing its answer (its own prints, then its last expression's text)."""
    tree = ast.parse(source, filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = _check_namespace(shell, answer)
    try:
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)
            if value is not None:
                text = shell.display_formatter.format(value)[0].get("text/plain")
                if text is not None:
                    answer.write(str(text) + "\n")
    finally:
        # What the check defines (``run = scenarios.two_servers()``) later cells may use, as in Jupyter.
        for name, value in namespace.items():
            if name not in ("print", "__builtins__") and shell.user_ns.get(name, _MISSING) is not value:
                shell.user_ns[name] = value


def run_job(job: dict, out) -> None:
    cell_timeout = float(job.get("cell_timeout", 30))
    shell = _shell()
    sources = {cell["id"]: cell["source"] for cell in job["cells"]}
    filenames: dict[str, str] = {}

    def on_alarm(signum, frame):
        raise CellTimeout()

    for cell in job["cells"]:
        filename = f"<cell {cell['id']}>"
        filenames[filename] = cell["id"]
        stdout, stderr, answer = _Capture(), _Capture(), _Capture()
        record = {"cell": cell["id"], "status": "ok"}
        started = time.monotonic()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = stdout, stderr
        # Set again for every cell: a cell before may have ignored SIGALRM. After the first alarm, one more
        # every second: a loop that catches one CellTimeout meets the next. (A cell that defeats all this
        # is stopped from outside: the grader kills the sandbox when no record comes in time.)
        signal.signal(signal.SIGALRM, on_alarm)
        signal.setitimer(signal.ITIMER_REAL, cell_timeout, 1.0)
        try:
            if cell["kind"] == "check":
                run_check(shell, cell["source"], filename, answer)
            else:
                shell.compile.next_name = filename
                result = shell.run_cell(cell["source"], store_history=False, silent=False)
                exc = result.error_in_exec or result.error_before_exec
                if isinstance(exc, CellTimeout):
                    raise exc
                if exc is not None:
                    record["status"], record["error"] = "error", _error(exc, sources, filenames)
        except CellTimeout:
            record["status"] = "timeout"
        except BaseException as exc:  # noqa: BLE001 - a check that raises is a result, not a crash
            record["status"], record["error"] = "error", _error(exc, sources, filenames)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            sys.stdout, sys.stderr = saved
        record["stdout"], record["stderr"] = stdout.getvalue(), stderr.getvalue()
        if cell["kind"] == "check":
            record["answer"] = answer.getvalue()
        record["seconds"] = round(time.monotonic() - started, 3)
        out.write(json.dumps(record) + "\n")
        out.flush()  # after a timeout, go on, as Jupyter does after an interrupt
    out.write(json.dumps({"done": True}) + "\n")
    out.flush()


def main() -> int:
    job = json.loads(sys.stdin.read())
    # Records go to a private copy of stdout; what the student's programs write to
    # file descriptors 1 and 2 directly (os.write, !commands) goes nowhere.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.chdir(job.get("workdir", os.getcwd()))
    # The id the exercise's inputs are drawn from (refimpl.variant): the roster's, not the notebook's.
    os.environ.pop("COURSE_STUDENT_ID", None)
    if isinstance(job.get("student_id"), str) and job["student_id"]:
        os.environ["COURSE_STUDENT_ID"] = job["student_id"]
    run_job(job, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
