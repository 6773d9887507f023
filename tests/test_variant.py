"""refimpl.variant: every student's inputs of their own, the same on every run, and the grader's id wins."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.grading import per_student
from refimpl.variant import GRADED_ID, PLACEHOLDER, TEST_NETS, Variant, VariantError

IDS = st.text(min_size=1, max_size=40).filter(lambda s: s.strip())


@pytest.fixture(autouse=True)
def _not_graded(monkeypatch):
    monkeypatch.delenv(GRADED_ID, raising=False)


def test_the_same_id_gives_the_same_inputs_whatever_the_order_of_asking():
    a, b = Variant("02", student="s1"), Variant("02", student="s1")
    first = [a.mac("client"), a.xid("discover"), a.pool("lan", 4), a.port("data")]
    b.port("data"), b.xid("other"), b.pool("lan", 4)  # asked in another order, with an extra name
    assert [b.mac("client"), b.xid("discover"), b.pool("lan", 4), b.port("data")] == first


def test_ids_exercises_and_names_each_change_the_value():
    values = {Variant("02", student=f"s{n}").xid("discover") for n in range(200)}
    assert len(values) == 200
    assert Variant("02", student="s1").xid("discover") != Variant("03", student="s1").xid("discover")
    assert Variant("02", student="s1").xid("discover") != Variant("02", student="s1").xid("renew")
    macs = {Variant("02", student=f"s{n}").mac("client") for n in range(200)}
    assert len(macs) == 200


@settings(max_examples=200, deadline=None)
@given(IDS, st.text(max_size=20))
def test_values_stay_in_their_documented_ranges(student, name):
    v = Variant("exercise", student=student)
    first = int(v.mac(name).split(":")[0], 16)
    assert first & 0x02 and not first & 0x01  # locally administered, unicast (RFC 7042 §2.1)
    assert 1 <= v.xid(name) <= 0xFFFF_FFFF
    nets = [ipaddress.IPv4Network(n) for n in TEST_NETS]
    pool = [ipaddress.IPv4Address(a) for a in v.pool(name, 5)]
    assert any(all(a in net for a in pool) for net in nets)
    assert [int(a) - int(pool[0]) for a in pool] == [0, 1, 2, 3, 4]
    assert int(pool[0]) & 0xFF >= 10 and int(pool[-1]) & 0xFF <= 250  # never .0, .255 or a server's low address
    assert any(ipaddress.IPv4Address(v.address(name)) in net for net in nets)
    assert 1024 <= v.port(name) <= 65535
    assert 0 <= v.seed(name) < 2**31


def test_the_graders_id_wins_over_the_one_in_the_notebook(monkeypatch):
    mine = Variant("02", student="bob").xid("discover")
    monkeypatch.setenv(GRADED_ID, "alice")
    copied = Variant("02", student="bob")  # alice handed in bob's notebook, id and all
    assert copied.student == "alice" and copied.from_grader
    assert copied.xid("discover") != mine
    assert copied.xid("discover") == Variant("02", student="alice").xid("discover")


def test_bad_requests_say_what_is_wrong():
    with pytest.raises(VariantError, match="student id is empty"):
        Variant("02", student="   ")
    with pytest.raises(VariantError, match="1 to 200"):
        Variant("02").pool("lan", 0)
    with pytest.raises(VariantError, match="empty"):
        Variant("02").number("n", 5, 4)
    with pytest.raises(VariantError, match="nothing to pick"):
        Variant("02").pick("p", [])


# --------------------------------------------------------------------------- the id as the grader reads it


def _nb(*sources):
    import nbformat

    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])


@pytest.mark.parametrize(
    "source, declared",
    [
        ('variant = Variant("02", student="s42")', "s42"),
        ("variant = Variant('02', 's42')", "s42"),
        ('import refimpl.variant as rv\nv = rv.Variant("02", student=" s42 ")', "s42"),
        ('variant = Variant("02")', ""),
        ('variant = Variant("02", student=ID)', ""),  # not a literal: nothing is guessed
        ("this is not python (", ""),
    ],
)
def test_the_declared_id_is_read_from_the_notebooks_variant_call(source, declared):
    assert per_student.declared_id(_nb("x = 1", source)) == declared


def test_which_id_grades_and_what_the_report_says():
    roster = per_student.identity(_nb('v = Variant("02", student="bob")'), "alice")
    assert (roster.student_id, roster.source) == ("alice", "roster")
    assert "names student id 'bob', but it was graded as 'alice'" in per_student.notes(roster)[0]
    own = per_student.identity(_nb('v = Variant("02", student="alice")'), "alice")
    assert per_student.notes(own) == []
    typed = per_student.identity(_nb('v = Variant("02", student="carol")'), None)
    assert (typed.student_id, typed.source) == ("carol", "notebook")
    assert "no roster was given" in per_student.notes(typed)[0]
    blank = per_student.identity(_nb(f'v = Variant("02", student="{PLACEHOLDER}")'), None)
    assert (blank.student_id, blank.source) == ("", "none")
