"""Did a function do its own work? The ``refimpl`` code it ran, recorded while it runs.

An exercise that asks a student to write, say, the option walker of a DHCP
message cannot stop them from calling ``refimpl``'s own walker instead: the
reference implementation is importable in every notebook, since the lessons
need it. So the check that grades such a function runs it inside
``refimpl_calls()``, which records (through ``sys.setprofile``) every function
of the ``refimpl`` package that runs meanwhile, and prints what it found.
The solution calls none, so a function that hands the work to ``refimpl``
prints a different answer and loses the check's points::

    with refimpl_calls(allowed=READING_A_MESSAGE) as used:
        mine = pack_header(m)
    print("refimpl did the work:", sorted(used) or "no")

``allowed`` names the calls that are not the task, such as reading the
attributes of the ``Message`` the exercise hands in. The record is kept
honest only against honest mistakes: code that switches the profiler off is
reported too, and the grader's static scan flags ``sys.setprofile`` for the
teacher, but code in the same process can always undo a check (see the
teacher's guide).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
SWITCHED_OFF = "<the profiler was switched off inside the block>"

#: Reading a refimpl.dhcp.Message's fields and flags (properties run refimpl code) is not doing the task.
READING_A_MESSAGE = (
    "refimpl.dhcp.message.Message.broadcast",
    "refimpl.dhcp.message.Message.message_type",
    "refimpl.dhcp.message.Message.get",
    "refimpl.dhcp.message.Message.mac",
)


@contextmanager
def refimpl_calls(allowed: Iterable[str] = ()) -> Iterator[set[str]]:
    """Record, as ``module.qualname``, each refimpl function that runs in the block (``allowed`` ones and
    whatever they call aside)."""
    allowed = frozenset(allowed)
    used: set[str] = set()
    inside_allowed = 0

    def hook(frame, event, arg):
        nonlocal inside_allowed
        code = frame.f_code if event in ("call", "return") else None
        if code is None or not code.co_filename.startswith(PACKAGE_DIR) or code.co_filename == __file__:
            return
        name = f"{frame.f_globals.get('__name__', '?')}.{code.co_qualname}"
        if name in allowed:
            inside_allowed += 1 if event == "call" else -1
        elif event == "call" and not inside_allowed:
            used.add(name)

    previous = sys.getprofile()
    sys.setprofile(hook)
    try:
        yield used
    finally:
        if sys.getprofile() is not hook:
            used.add(SWITCHED_OFF)
        sys.setprofile(previous)
