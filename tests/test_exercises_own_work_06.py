"""Exercise 06's functions must do their own work: handing them to refimpl scores zero on their tasks.

The public checks compare the student's answers with refimpl's, so a ``port_reply`` that simply asks refimpl's
``ServerSession`` for the reply, or a ``parse_227_reply`` that calls ``datachannel.parse_227``, passes them. The
hidden checks run the function inside ``refimpl.own_work.refimpl_calls`` and print whether refimpl did the work,
so the task's points are lost (a public check counts only once its task's hidden checks pass), and only that
task's: every other task of the notebook still scores.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, sandbox

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "06_ftp_active_passive.ipynb"
LIMITS = sandbox.Limits(cell_timeout=30)
REGION = re.compile(r"(?ms)^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*")

#: A port_reply that lets refimpl's server session answer the PORT (what the public check compares with).
PORT_REPLY_BY_REFIMPL = "\n".join(
    [
        "import tempfile",
        "    from refimpl.ftp import JailedFS, ServerConfig, ServerSession, UserDB",
        "    with tempfile.TemporaryDirectory() as root:",
        "        config = ServerConfig(users=UserDB(anonymous=True), failed_login_delay=0)",
        '        s = ServerSession(config, JailedFS(root), (client_ip, 40000), ("192.0.2.1", 21))',
        "        s.start(now=0.0)",
        '        for line in ("USER anonymous", "PASS me@example.org"):',
        "            s.receive_line(line, now=0.0)",
        '        return next(e.code for e in s.receive_line("PORT " + argument, now=0.0) if hasattr(e, "code"))',
    ]
)
#: A parse_227_reply that is refimpl's own parser.
PARSE_227_BY_REFIMPL = "return datachannel.parse_227(line)"

CASES = {
    "port_reply": ("def port_reply(", PORT_REPLY_BY_REFIMPL, {"06-port-reply"}, "refimpl.ftp.session.ServerSession"),
    "parse_227_reply": (
        "def parse_227_reply(",
        PARSE_227_BY_REFIMPL,
        {"06-parse-227", "06-parse-227-live"},
        "refimpl.ftp.datachannel.parse_227",
    ),
}

pytestmark = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _with_body(marker: str, body: str):
    nb = copy.deepcopy(notebook.read(SOLUTION))
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    for cell in nb.cells:
        if cell.cell_type == "code" and marker in cell.source:
            cell.source = REGION.sub(lambda m: m.group("indent") + body, cell.source, count=1)
            return nb
    raise AssertionError(f"no {marker} in the solution")


@pytest.mark.parametrize("function", list(CASES))
def test_a_function_handed_to_refimpl_scores_zero_on_its_task_and_only_there(tmp_path, function):
    marker, body, tasks, recorded = CASES[function]
    solution = notebook.read(SOLUTION)
    target = tmp_path / f"{function}_by_refimpl.ipynb"
    target.write_text(nbformat.writes(_with_body(marker, body)), encoding="utf-8")
    g = grade.grade_one(solution, target, limits=LIMITS, roster_id="s-own-work-06")
    assert g.status == "graded", (g.status, g.problems)
    ours = [c for c in g.checks if c.task in tasks]
    assert ours and sum(c.earned for c in ours) == 0, [(c.name, c.status, c.earned) for c in ours]
    for watched in (c for c in ours if c.hidden):
        assert watched.status == "wrong output" and recorded in watched.actual, (watched.name, watched.actual)
    # it answers what refimpl answers, so the public checks' outputs are right: only the record catches it
    for public in (c for c in ours if not c.hidden and c.points):
        assert public.status == "waits for hidden checks" and public.earned == 0, (public.status, public.reason)
    others = [c for c in g.checks if c.task not in tasks]
    assert others and all(c.status == "passed" for c in others), [(c.name, c.status) for c in others]
