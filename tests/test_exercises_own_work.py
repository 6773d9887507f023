"""A function that hands its task to refimpl scores zero on that task (exercise 01's hidden checks watch it).

refimpl is importable in every graded notebook (the lessons need it), so "write the option walker" could be
answered with refimpl's own walker. The hidden checks run the student's function inside
``refimpl.own_work.refimpl_calls`` and print whether refimpl did the work; these tests hand in the one-liners
a student would try and grade them in the sandbox.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest

from refimpl.dhcp import Message
from refimpl.grading import grade, notebook, sandbox
from refimpl.own_work import READING_A_MESSAGE, SWITCHED_OFF, refimpl_calls

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "01_dhcp_message.ipynb"
LIMITS = sandbox.Limits(cell_timeout=30)
needs_sandbox = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)

#: What a student who lets refimpl do each task would write, task by task.
ONE_LINERS = {
    "pack-discover": ("pack_header", "return m.encode()[:236]"),
    "pack-offer": ("pack_header", "return m.encode()[:236]"),
    "message-type": (
        "find_message_type",
        "t = Message.decode(data).message_type\n    return None if t is None else int(t)",
    ),
    "routes-121": (
        "decode_routes",
        "from refimpl.dhcp.options import decode_option\n    return decode_option(121, value)",
    ),
    "reply-to": (
        "reply_to",
        "from refimpl.dhcp.delivery import reply_destination\n"
        '    out = reply_destination(request, reply, "192.0.2.1")\n'
        "    return out.dst_ip, out.dst_port",
    ),
}
REGION = re.compile(r"(?ms)^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*")


def with_bodies(solution, bodies: dict[str, str]):
    """The solution (hidden checks removed) with the named functions' solution regions replaced."""
    nb = copy.deepcopy(solution)
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    for cell in nb.cells:
        for function, body in bodies.items():
            if cell.cell_type == "code" and f"def {function}(" in cell.source:
                cell.source = REGION.sub(lambda m, body=body: m.group("indent") + body, cell.source, count=1)
    return nb


def test_the_recorder_sees_refimpl_doing_the_work_and_not_a_function_that_does_its_own():
    m = Message.discover(mac="02:00:00:00:00:01", xid=0x3903F326, broadcast=True)
    with refimpl_calls(READING_A_MESSAGE) as used:
        assert m.broadcast and m.xid == 0x3903F326  # reading the message given is not the task
    assert used == set()
    with refimpl_calls(READING_A_MESSAGE) as used:
        m.encode()
    assert "refimpl.dhcp.message.Message.encode" in used
    import sys

    with refimpl_calls() as used:
        sys.setprofile(None)  # a function that switches the recorder off is reported too
    assert used == {SWITCHED_OFF}


@needs_sandbox
@pytest.mark.parametrize("task", sorted(set(ONE_LINERS)))
def test_a_refimpl_one_liner_scores_zero_on_its_task(task, tmp_path):
    solution = notebook.read(SOLUTION)
    function, body = ONE_LINERS[task]
    target = tmp_path / "one_liner.ipynb"
    target.write_text(nbformat.writes(with_bodies(solution, {function: body})), encoding="utf-8")
    g = grade.grade_one(solution, target, limits=LIMITS, roster_id="s-own-work-1")
    assert g.status == "graded", (g.status, g.problems)
    ours = [c for c in g.checks if c.task == task]
    assert ours and sum(c.earned for c in ours) == 0, [(c.name, c.status, c.earned) for c in ours]
    hidden = [c for c in ours if c.hidden]
    assert all(c.status == "wrong output" and "refimpl did the work: refimpl." in c.actual for c in hidden), [
        (c.name, c.actual[-200:]) for c in hidden
    ]
    others = [
        c for c in g.checks if c.task != task and c.task not in {t for t, v in ONE_LINERS.items() if v[0] == function}
    ]
    assert all(c.status == "passed" for c in others), [(c.name, c.status) for c in others if c.status != "passed"]


@needs_sandbox
def test_switching_the_recorder_off_scores_zero_and_is_flagged(tmp_path):
    solution = notebook.read(SOLUTION)
    body = "import sys\n    sys.setprofile(None)\n    return m.encode()[:236]"
    target = tmp_path / "sneaky.ipynb"
    target.write_text(nbformat.writes(with_bodies(solution, {"pack_header": body})), encoding="utf-8")
    g = grade.grade_one(solution, target, limits=LIMITS, roster_id="s-own-work-2")
    pack = [c for c in g.checks if c.task in ("pack-discover", "pack-offer")]
    assert sum(c.earned for c in pack) == 0, [(c.name, c.status) for c in pack]
    assert any("tracing" in s for s in g.suspicious), g.suspicious
