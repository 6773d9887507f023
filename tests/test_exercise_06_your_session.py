"""Exercise 06, task 6 ("your own session"): the network each student id draws, and what the model answer claims.

The task's cells are run here as the grader runs them, for several ids, so that a change to the simulator or the
FTP cores that breaks the story (a session that no longer lists, a helper that is no longer needed, a server that
no longer connects from port L-1) fails here rather than in a student's notebook.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import os
from pathlib import Path

import pytest

from refimpl.grading import notebook
from refimpl.variant import GRADED_ID, TEST_NETS

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "06_ftp_active_passive.ipynb"
IDS = ["s1234567", "20261203", "ana.lopez@example.edu", "A"]
HELPER_LINE = "    add_ftp_helper(nat)"


def _cells(*ids: str) -> list[str]:
    by_id = {c.get("id"): c.source for c in notebook.read(SOLUTION).cells}
    return [by_id[i] for i in ids]


def _run(student_id: str, *, helper: bool = True) -> dict:
    """The setup, the session and (with the helper) the answer cells of task 6, for ``student_id``: their namespace."""
    setup, run, answer = _cells("setup", "your-helper-run", "your-helper-code")
    assert HELPER_LINE in run, "the session cell no longer adds the NAT's FTP helper where this test expects it"
    if not helper:
        run = run.replace(HELPER_LINE, "    pass  # no helper")
    namespace: dict = {"__name__": "__main__"}
    old = os.environ.get(GRADED_ID)
    os.environ[GRADED_ID] = student_id
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for source in (setup, run, answer) if helper else (setup, run):
                exec(compile(source, "<exercise 06>", "exec"), namespace)
    finally:
        if old is None:
            os.environ.pop(GRADED_ID, None)
        else:
            os.environ[GRADED_ID] = old
    return namespace


def _listed(run) -> int:
    """The final reply code of the LIST, or 0 when the client never got to send it."""
    listing = [r for r in run.client.results if r.name == "LIST"]
    return listing[0].reply.code if listing and listing[0].reply else 0


@pytest.mark.parametrize("student_id", IDS)
def test_every_id_gets_a_working_network_of_documentation_addresses(student_id):
    ns = _run(student_id)
    site, runs = ns["your_site"], ns["your_runs"]
    nets = [ipaddress.ip_network(n) for n in TEST_NETS]
    for name, value in site.items():
        if isinstance(value, str):
            assert any(ipaddress.ip_address(value) in n for n in nets), (name, value)  # RFC 5737 only
    assert len(set(ns["your_nets"])) == 3
    for mode, run in runs.items():
        assert _listed(run) == 226, (mode, run.summary())
    low, high = site["passive ports"]
    answers = ns["my_helper"]
    assert low <= answers["pasv_names"][1] <= high
    # RFC 959 §3.2 and §5.2: the server connects from its port L-1, 20 for a control port of 21
    assert answers["server_data_from"] == (site["server"], 20)
    # the helper rewrote the address only: the NAT kept the client's port (port preservation)
    assert answers["port_at_server"].split(",")[4:] == answers["port_sent"].split(",")[4:]
    assert answers["port_at_server"].split(",")[:4] == site["nat outside"].split(".")
    assert answers["nat_lets_in"] == ((site["server"], 20), (site["nat outside"], answers["port_names"][1]))
    assert answers["passive_from"][0] == site["nat outside"]


def test_two_ids_differ_in_every_answer_but_the_server_port():
    a, b = (_run(sid)["my_helper"] for sid in IDS[:2])
    same = [key for key in a if a[key] == b[key]]
    assert same == [], same
    assert a["server_data_from"][1] == b["server_data_from"][1] == 20


@pytest.mark.parametrize("student_id", IDS[:2])
def test_the_model_answer_holds_without_the_helper_active_fails_and_passive_lists(student_id):
    ns = _run(student_id, helper=False)
    active, passive = ns["your_runs"]["active"], ns["your_runs"]["passive"]
    assert _listed(passive) == 226, passive.summary()
    assert _listed(active) != 226, active.summary()
    refused = [e for e in active.control() if e.kind == "500" and e.dst == "nat"]
    assert refused and "policy" in refused[0].summary, [e.summary for e in active.control()]
