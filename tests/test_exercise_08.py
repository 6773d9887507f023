"""Exercise 08 (DNS and Telnet): right answers for any student id, and grading that holds for it alone.

The parametrized exercise tests (test_release, test_exercises_hidden, test_exercises_per_student) glob
``solutions/`` and so cover 08 with the others; these run 08 only, so a change to it is checked in a minute,
and add what is 08's own:

* the solution's answers that are computed, not read (the sizes of exercise 3, the pointers of exercise 2,
  the login of exercise 5) agree, for many ids, with what refimpl's server sends, with the bytes, and with how
  the login was drawn: a per-student check's expected answer is the solution's, so the solution must be right
  for every id, not only for the one it was stored with;
* the inputs differ enough between students that the tasks discriminate (some ids see TC, some do not);
* graded in the sandbox: the solution scores full for several ids, the blank exercise and the public answers
  hard-coded score 0, answers copied from a classmate score 0 on the per-student checks, and a function that
  hands its task to refimpl scores 0 on that task.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from refimpl.dns import Edns, Message, Question, Type, decode
from refimpl.dns.names import decode_name
from refimpl.dns.server import AuthoritativeServer
from refimpl.dns.zone import parse_zone
from refimpl.grading import grade, notebook, release, sandbox, student_release
from refimpl.telnet_login import _draw
from refimpl.variant import GRADED_ID, Variant

ROOT = Path(__file__).resolve().parent.parent
SOLUTION = ROOT / "solutions" / "08_application_layer.ipynb"
EXERCISE = ROOT / "exercises" / "08_application_layer.ipynb"
IDS = ["s1234567", "20261203", "ana.lopez@example.edu"]
MANY = IDS + [f"s{n:07d}" for n in range(1, 40)] + ["Zoë Ünal", "A"]
LIMITS = sandbox.Limits(cell_timeout=30)
REGION = re.compile(r"(?ms)^(?P<indent>[ \t]*)### BEGIN SOLUTION.*?### END SOLUTION[^\n]*")
needs_sandbox = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _without_hidden(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    return nb


@pytest.fixture(scope="module")
def solution():
    return notebook.read(SOLUTION)


@pytest.fixture(scope="module")
def answers(solution):
    """{student id: the solution's namespace after its non-check cells ran with that id}."""
    found = {}
    code = [c.source for c in _without_hidden(solution).cells if c.cell_type == "code" and not notebook.is_check(c)]
    old = os.environ.get(GRADED_ID)
    try:
        for sid in MANY:
            os.environ[GRADED_ID] = sid
            namespace: dict = {"__name__": "__main__"}
            with contextlib.chdir(SOLUTION.parent), contextlib.redirect_stdout(io.StringIO()):
                for source in code:
                    exec(compile(source, "<08>", "exec"), namespace)
            found[sid] = namespace
    finally:
        if old is None:
            os.environ.pop(GRADED_ID, None)
        else:
            os.environ[GRADED_ID] = old
    return found


# --------------------------------------------------------------------------------------------- the answers


@pytest.mark.parametrize("sid", MANY)
def test_the_tc_answers_are_what_the_server_sends(answers, sid):
    ns = answers[sid]
    server = AuthoritativeServer(parse_zone(ns["your_tc_zone_text"]))
    question = [Question(ns["your_tc_name"], Type[ns["your_tc_type"]])]
    peer = ("192.0.2.10", 5353)
    plain = Message(id=1, rd=True, questions=question).encode()
    edns = Message(id=1, rd=True, questions=question, edns=Edns(udp_size=ns["your_payload"])).encode()
    full = server.receive(plain, peer, now=0, tcp=True)[0].data
    udp, udp_edns = (decode(server.receive(q, peer, now=0)[0].data) for q in (plain, edns))
    assert len(decode(full).answer) == ns["your_tc_count"]
    assert ns["your_tc"] == {
        "full_octets": len(full),
        "tc_without_edns": udp.tc,
        "answers_without_edns": len(udp.answer),
        "tc_with_edns": udp_edns.tc,
        "answers_with_edns": len(udp_edns.answer),
        "next_without_edns": "C" if udp.tc else "D",  # RFC 2181 §9: ignore a TC response, ask over TCP
        "next_with_edns": "C" if udp_edns.tc else "D",
    }


def test_the_tc_task_discriminates(answers):
    """Some students see truncation and some do not, with EDNS and without; some payloads are capped or raised."""
    seen = {(a["your_tc"]["tc_without_edns"], a["your_tc"]["tc_with_edns"]) for a in answers.values()}
    assert {(True, True), (True, False), (False, False)} <= seen, seen
    payloads = {a["your_payload"] for a in answers.values()}
    assert payloads & {256} and payloads & {1400, 4096}, payloads  # below 512, and above our 1232


@pytest.mark.parametrize("sid", MANY)
def test_the_jumps_follow_the_last_owner_to_the_zone(answers, sid):
    ns = answers[sid]
    data, jumps = ns["your_response"], ns["your_jumps"]
    assert len(jumps) == 2 and jumps[0] > jumps[1], jumps  # a pointer to a pointer, each one backwards
    assert decode_name(data, jumps[0])[0] == ns["your_target"]  # where the CNAME's RDATA wrote the target
    assert decode_name(data, jumps[1])[0] == ns["your_zone"]  # the zone, inside the question's name
    assert decode(data).answer[-1].name == ns["your_target"]


@pytest.mark.parametrize("sid", MANY)
def test_the_telnet_login_answers_are_how_the_login_was_drawn(answers, sid):
    ns = answers[sid]
    _, user, password, mistakes = _draw(Variant("08_application_layer", student=sid).rng("telnet login"))
    login = ns["telnet_login"]
    assert (login["user"], login["password"], login["erased"]) == (user, password, len(mistakes))
    direction, data = ns["your_session"][login["first_password_segment"]]
    assert direction == "client->server" and data == password[:1].encode()
    assert ns["your_session"][login["first_password_segment"] - 1][1].endswith(b"Password: ")
    client = b"".join(d for way, d in ns["your_session"] if way == "client->server")
    assert password.encode() not in client  # the mistakes split it: reading it needs the EC commands
    assert all(password.encode() not in d for way, d in ns["your_session"] if way == "server->client")  # no echo


def test_the_ftp_answers_are_the_captures():
    from refimpl.capture.ftp import read_segments

    segments = read_segments(ROOT / "refimpl" / "data" / "captures" / "ftp_session.pcap")
    assert segments[8].payload == b"PASS anonymous@\r\n" and segments[9].payload.startswith(b"230 ")
    assert segments[5].payload == b"USER anonymous\r\n"
    shown = next(c for c in notebook.checks(notebook.read(SOLUTION)) if c.name == "08-ftp-password-hidden")
    assert shown.expected == "user 'anonymous' password 'anonymous@'\nsegment 9 reply 230\n"


def test_inputs_differ_between_students(answers):
    for name in ("your_qid", "your_response", "your_stream", "your_session", "your_tc_zone_text"):
        values = [repr(answers[sid][name]) for sid in IDS]
        assert len(set(values)) == len(IDS), name


def test_the_release_is_in_step_and_holds_no_secret(tmp_path):
    assert EXERCISE.read_text(encoding="utf-8") == release.render(SOLUTION), "run: python -m refimpl release"
    (tmp_path / "solutions").mkdir()
    shutil.copy(SOLUTION, tmp_path / "solutions")
    (tmp_path / "released").mkdir()
    shutil.copy(EXERCISE, tmp_path / "released")
    secrets = student_release.secrets(tmp_path / "solutions")
    assert len(secrets) > 10
    assert student_release.audit(tmp_path / "released", secrets) == []
    released = notebook.read(EXERCISE)
    assert "TSIG is such a measure" not in EXERCISE.read_text(encoding="utf-8")  # the model answer stays behind
    assert {c.name for c in notebook.checks(released)} == {
        "08-query",
        "08-names",
        "08-jumps",
        "08-predict-tc",
        "08-telnet",
        "08-ftp-password",
        "08-telnet-login",
    }


def test_points_and_tasks(solution):
    checks = notebook.checks(solution)
    manual = [notebook.manual_meta(c) for c in solution.cells if notebook.manual_meta(c)]
    total = sum(c.points for c in checks) + sum(float(m["points"]) for m in manual)
    assert 15 <= total <= 20, total
    per_student = [c for c in checks if c.per_student]
    assert sum(c.points for c in per_student) >= 8
    assert {c.task for c in per_student} == {
        "08-query",
        "08-names",
        "08-jumps",
        "08-predict-tc",
        "08-telnet",
        "08-telnet-login",
    }


# --------------------------------------------------------------------------------------------- graded

#: What a student who lets refimpl do each function's task would write: {function: (body, refimpl name seen)}.
ONE_LINERS = {
    "query_bytes": (
        "return Message(id=qid, rd=rd, questions=[Question(name, qtype)]).encode()",
        "refimpl.dns.message.Message.encode",
    ),
    "answer_names": ("return [r.name for r in decode(data).answer]", "refimpl.dns.message.decode"),
    "read_telnet": ("return refimpl_reading(data)", "refimpl.telnet.split"),
}
TASKS = {"query_bytes": "08-query", "answer_names": "08-names", "read_telnet": "08-telnet"}


def with_one_liners(solution):
    nb = _without_hidden(solution)
    done = set()
    for cell in nb.cells:
        for function, (body, _) in ONE_LINERS.items():
            if cell.cell_type == "code" and f"def {function}(" in cell.source:
                head, _, tail = cell.source.partition(f"def {function}(")
                tail = REGION.sub(lambda m, body=body: m.group("indent") + body, tail, count=1)
                cell.source = head + f"def {function}(" + tail
                done.add(function)
    assert done == set(ONE_LINERS)
    return nb


@pytest.fixture(scope="module")
def graded(solution, tmp_path_factory):
    """{case: Grade}, two at a time in the sandbox."""
    import test_exercises_hidden as hidden_tests  # the builders the suite-wide tests use, on 08 alone
    import test_exercises_per_student as per_student_tests

    folder = tmp_path_factory.mktemp("exercise-08")
    cases = {f"solution {sid}": (_without_hidden(solution), sid) for sid in IDS}
    cases["blank"] = (notebook.read(EXERCISE), IDS[0])
    copied = per_student_tests.copied_answers(solution, IDS[0])
    cases.update({f"copied from {IDS[0]} by {sid}": (copied, sid) for sid in IDS[1:]})
    cases["hard-coded"] = (hidden_tests.hard_coded(solution), IDS[1])
    cases["one-liners"] = (with_one_liners(solution), IDS[2])
    cases["no id"] = (_without_hidden(solution), None)
    cases["attacks"] = (hidden_tests.tamper.everything_at_once(solution, notebook.read(EXERCISE)), IDS[0])
    jobs = []
    for n, (case, (made, sid)) in enumerate(cases.items()):
        target = folder / f"{n}.ipynb"
        target.write_text(nbformat.writes(made), encoding="utf-8")
        jobs.append((case, target, sid, n))

    def run(job):
        case, target, sid, n = job
        return case, grade.grade_one(solution, target, limits=LIMITS, slot=n % 2, root=folder, roster_id=sid)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(run, jobs))


def _status(g: grade.Grade) -> dict:
    return {c.name: (c.earned, c.status, (c.actual or "")[-160:]) for c in g.checks}


@needs_sandbox
@pytest.mark.parametrize("sid", IDS)
def test_the_solution_scores_full_for_any_id(graded, sid):
    g = graded[f"solution {sid}"]
    assert g.status == "graded" and g.score == g.max_score > 0, (_status(g), g.problems, g.student_errors)


@needs_sandbox
def test_two_students_right_answers_differ_on_every_per_student_check(graded, solution):
    per = {c.name for c in notebook.checks(solution) if c.per_student}
    a, b = ({c.name: c.actual for c in graded[f"solution {sid}"].checks} for sid in IDS[:2])
    assert [n for n in per if a[n] == b[n]] == []


@needs_sandbox
def test_the_blank_exercise_scores_zero(graded):
    g = graded["blank"]
    assert g.status == "graded" and g.score == 0, _status(g)
    assert all(c.status in ("error", "wrong output") for c in g.checks), _status(g)


@needs_sandbox
def test_without_a_student_id_the_per_student_checks_say_so_and_the_others_pass(graded, solution):
    g = graded["no id"]
    per = {c.name for c in notebook.checks(solution) if c.per_student}
    assert all(c.earned == 0 and c.reason == grade.NO_STUDENT_ID for c in g.checks if c.name in per), _status(g)
    assert all(c.status == "passed" for c in g.checks if c.hidden and c.name not in per), _status(g)


@needs_sandbox
@pytest.mark.parametrize("sid", IDS[1:])
def test_answers_copied_from_a_classmate_score_zero_where_they_are_values(graded, solution, sid):
    g = graded[f"copied from {IDS[0]} by {sid}"]
    values = {"08-jumps", "08-predict-tc", "08-telnet-login"}  # the tasks answered with values, not functions
    ours = [c for c in g.checks if c.task in values]
    assert ours and sum(c.earned for c in ours) == 0, _status(g)
    per = {c.name for c in notebook.checks(solution) if c.per_student}
    assert all(c.status == "wrong output" for c in ours if c.name in per), _status(g)
    own = graded[f"solution {IDS[0]}"]  # the same literals are right for the classmate they came from
    assert all(c.status == "passed" for c in own.checks if c.task in values)


@needs_sandbox
def test_the_in_kernel_attacks_score_zero(graded):
    """Edited check cells, printed expected text, an input transformer and a fake print, on the blank exercise."""
    g = graded["attacks"]
    assert g.score == 0, _status(g)
    assert any("edited" in f for f in g.findings) and any("IPython shell" in s for s in g.suspicious)


def test_check_cells_print_text_and_are_stored_run(solution):
    for cell in solution.cells:
        if notebook.is_check(cell):
            kinds = {o.get("output_type") for o in cell.outputs}
            assert kinds and kinds <= {"stream", "execute_result"}, (cell.id, kinds)
            assert all(o.get("name", "stdout") == "stdout" for o in cell.outputs), cell.id
            assert cell.execution_count is not None, f"{cell.id}: store the notebook executed"


@needs_sandbox
def test_public_answers_hard_coded_score_zero(graded):
    g = graded["hard-coded"]
    assert g.status == "graded" and g.score == 0, _status(g)
    for c in g.checks:
        if c.hidden:
            assert c.status in ("wrong output", "error"), (c.name, c.status, c.actual)
        else:  # the recorded answers reproduce every public answer; the points wait for the hidden checks
            assert grade.normalize(c.actual or "") == grade.normalize(c.expected or ""), (c.name, c.actual)


@needs_sandbox
@pytest.mark.parametrize("function", sorted(ONE_LINERS))
def test_a_function_handed_to_refimpl_scores_zero_on_its_task(graded, function):
    g = graded["one-liners"]
    body, seen = ONE_LINERS[function]
    ours = [c for c in g.checks if c.task == TASKS[function]]
    assert ours and sum(c.earned for c in ours) == 0, _status(g)
    hidden = [c for c in ours if c.hidden]
    assert hidden and all(c.status == "wrong output" and seen in (c.actual or "") for c in hidden), _status(g)


@needs_sandbox
def test_the_tasks_answered_without_those_functions_keep_their_points(graded):
    g = graded["one-liners"]
    others = [c for c in g.checks if c.task not in TASKS.values()]
    assert {c.task for c in others} >= {"08-predict-tc", "08-telnet-login", "08-ftp-password"}
    assert all(c.status == "passed" for c in others), _status(g)
