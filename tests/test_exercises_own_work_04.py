"""Exercise 04's relay_forward must do its own work: handing the message to refimpl's RelayAgent scores zero.

The public check and the first hidden check compare the student's copy with what refimpl's relay forwards, so
a function that simply asks a ``RelayAgent`` passes them; the per-student hidden check runs the function inside
``refimpl.own_work.refimpl_calls`` and prints whether refimpl did the work, so the task's points are lost
(a public check counts only once its task's hidden checks pass).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, sandbox

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "04_dhcp_relay_and_servers.ipynb"
LIMITS = sandbox.Limits(cell_timeout=30)
REGION = re.compile(r"(?ms)^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*")
#: What a student who lets refimpl's relay agent do the task would write.
ONE_LINER = (
    "from refimpl.dhcp.relay import RelayAgent\n"
    '    out = RelayAgent(relay_ip, ["192.0.2.1"], max_hops=max_hops).receive(msg.encode(), now=0.0)\n'
    "    sent = [e for e in out if isinstance(e, Outgoing)]\n"
    "    return sent[0].message if sent else None"
)

pytestmark = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _with_relay_forward(body: str):
    nb = copy.deepcopy(notebook.read(SOLUTION))
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    for cell in nb.cells:
        if cell.cell_type == "code" and "def relay_forward(" in cell.source:
            cell.source = REGION.sub(lambda m: m.group("indent") + body, cell.source, count=1)
            return nb
    raise AssertionError("no relay_forward in the solution")


def test_relay_forward_handed_to_refimpl_scores_zero_on_its_task_and_only_there(tmp_path):
    solution = notebook.read(SOLUTION)
    target = tmp_path / "relay_one_liner.ipynb"
    target.write_text(nbformat.writes(_with_relay_forward(ONE_LINER)), encoding="utf-8")
    g = grade.grade_one(solution, target, limits=LIMITS, roster_id="s-own-work-04")
    assert g.status == "graded", (g.status, g.problems)
    ours = [c for c in g.checks if c.task == "04-relay-forward"]
    assert ours and sum(c.earned for c in ours) == 0, [(c.name, c.status, c.earned) for c in ours]
    for watched in (c for c in ours if c.hidden):
        assert watched.status == "wrong output" and "refimpl.dhcp.relay.RelayAgent.receive" in watched.actual, (
            watched.actual
        )
    # it forwards what refimpl forwards, so the public check's output is right: only the record catches it
    public = next(c for c in ours if not c.hidden)
    assert public.status == "waits for hidden checks" and public.earned == 0, (public.status, public.reason)
    others = [c for c in g.checks if c.task != "04-relay-forward"]
    assert others and all(c.status == "passed" for c in others), [(c.name, c.status) for c in others]
