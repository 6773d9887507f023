"""Exercise 07's functions must do their own work: handing a task to refimpl's TFTP code scores zero on it.

Every public check of exercise 07 compares the student's answer with refimpl's, so a function that simply asks
refimpl (``Request(...).encode()``, a simulated transfer, ``netascii.to_netascii``, a ``Sender``) passes them.
The hidden checks run each function inside ``refimpl.own_work.refimpl_calls`` and print whether refimpl did the
work, so each such task loses its points (a public check counts only once its task's hidden checks pass), while
the tasks answered honestly in the same notebook keep theirs. One graded notebook holds every one-liner at once.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, sandbox

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "07_tftp.ipynb"
LIMITS = sandbox.Limits(cell_timeout=60)
REGION = re.compile(r"(?ms)^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*")

#: What a student who lets refimpl do each function's task would write: {function: (body, refimpl name seen)}.
ONE_LINERS = {
    "request_bytes": (
        "return Request(Opcode(opcode), filename, mode, options).encode()",
        "refimpl.tftp.packets._Packet.encode",
    ),
    "blocks_for": (
        "run = scenarios.read_file(size=size, blksize=None if blksize == 512 else blksize, notes=False)\n"
        '    data = [e for e in run.trace if not e.is_note and e.kind == "DATA"]\n'
        "    return len(data), len(data[-1].message.data)",
        "refimpl.tftp.scenarios.read_file",
    ),
    "to_wire": ("return netascii.to_netascii(text)", "refimpl.tftp.netascii.to_netascii"),
    "from_wire": ("return netascii.from_netascii(wire)", "refimpl.tftp.netascii.from_netascii"),
    "on_ack": (  # a refimpl Sender that waits for ACK 1, the block numbers shifted so that waiting_for is 1
        "import io\n"
        "    from refimpl.tftp import Ack, Data, Send, Sender, Settings\n"
        '    peer = ("192.0.2.10", 49152)\n'
        "    file = io.BytesIO(bytes(3 if last_block_was_short else 16))  # DATA 1 the last block, or not\n"
        "    sender = Sender(file, peer, settings=Settings(blksize=8))\n"
        "    sender.start(now=0.0)\n"
        "    ack = Ack((ack_block - waiting_for + 1) % 65536).encode()\n"
        "    sends = [e.packet for e in sender.receive(ack, peer, now=0.0) if isinstance(e, Send)]\n"
        "    if sender.complete:\n"
        '        return "done"\n'
        '    return "next" if any(isinstance(p, Data) and p.block == 2 for p in sends) else "ignore"',
        "refimpl.tftp.transfer.Sender.on_packet",
    ),
}
#: The task each function answers.
TASKS = {
    "request_bytes": ("07-request-bytes",),
    "blocks_for": ("07-blocks-512", "07-blocks-blksize"),
    "to_wire": ("07-to-wire",),
    "from_wire": ("07-from-wire",),
    "on_ack": ("07-on-ack",),
}

pytestmark = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def with_one_liners(solution):
    """The solution, hidden checks removed, with each function's solution region replaced by its one-liner."""
    nb = copy.deepcopy(solution)
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    done = set()
    for cell in nb.cells:
        for function, (body, _) in ONE_LINERS.items():
            if cell.cell_type == "code" and f"def {function}(" in cell.source:
                head, _, tail = cell.source.partition(f"def {function}(")
                tail = REGION.sub(lambda m, body=body: m.group("indent") + body, tail, count=1)
                cell.source = head + f"def {function}(" + tail
                done.add(function)
    assert done == set(ONE_LINERS), set(ONE_LINERS) - done
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("own-work-07")
    target = folder / "one_liners.ipynb"
    target.write_text(nbformat.writes(with_one_liners(notebook.read(SOLUTION))), encoding="utf-8")
    return grade.grade_one(notebook.read(SOLUTION), target, limits=LIMITS, roster_id="s-own-work-07")


@pytest.mark.parametrize("function", sorted(ONE_LINERS))
def test_a_function_handed_to_refimpl_scores_zero_on_its_task(graded, function):
    assert graded.status == "graded", (graded.status, graded.problems)
    seen = ONE_LINERS[function][1]
    for task in TASKS[function]:
        ours = [c for c in graded.checks if c.task == task]
        assert ours and sum(c.earned for c in ours) == 0, [(c.name, c.status, c.earned) for c in ours]
        for watched in (c for c in ours if c.hidden):
            assert watched.status == "wrong output" and seen in watched.actual, (watched.name, watched.actual)
        # it answers what refimpl answers, so the public check's output is right: only the record catches it
        public = next(c for c in ours if not c.hidden)
        assert public.status == "waits for hidden checks" and public.earned == 0, (public.status, public.reason)


def test_the_tasks_answered_without_functions_keep_their_points(graded):
    watched = {t for tasks in TASKS.values() for t in tasks}
    others = [c for c in graded.checks if c.task not in watched]
    assert {c.task for c in others} >= {"07-predict", "07-diagnose", "07-your-transfer"}, {c.task for c in others}
    assert all(c.status == "passed" for c in others), [(c.name, c.status) for c in others]
    assert graded.score == sum(c.points for c in others) > 0
