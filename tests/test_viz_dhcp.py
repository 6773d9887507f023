"""Pictures of DHCP: the client state diagram (drawn from the transition table),
the stepper wiring, and the lease timeline."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from matplotlib.colors import to_hex  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from refimpl.dhcp import client as dhcp_client  # noqa: E402
from refimpl.dhcp import scenarios  # noqa: E402
from refimpl.viz import states  # noqa: E402


def _arrows(fig):
    return [p for p in fig.axes[0].patches if isinstance(p, FancyArrowPatch)]


def _box(fig, state):
    return next(t for t in fig.axes[0].texts if t.get_text() == state)


def test_every_transition_is_an_arrow_or_a_loop():
    edges = states.transition_edges()
    pairs = {(s, t.next_state) for (s, _), t in dhcp_client.TRANSITIONS.items()}
    assert set(edges) == pairs
    fig = states.state_diagram()
    between = [p for p in pairs if p[0] != p[1]]
    assert len(_arrows(fig)) == len(between)
    texts = [t.get_text() for t in fig.axes[0].texts]
    for (state, event), step in dhcp_client.TRANSITIONS.items():
        if state == step.next_state:
            assert "\u21bb " + event in texts  # self-loop listed under its box
        else:
            assert any(event in t.split("\n") for t in texts), event
    assert set(states.POSITIONS) == set(dhcp_client.STATES)


def test_diagram_follows_the_table_not_a_drawing():
    table = dict(dhcp_client.TRANSITIONS)
    table[("BOUND", "reboot")] = dhcp_client.Transition("forget", "INIT-REBOOT", "test", "_discard")
    fig = states.state_diagram(transitions=table)
    assert len(_arrows(fig)) == len(_arrows(states.state_diagram())) + 1
    assert "reboot" in [t.get_text() for t in fig.axes[0].texts]


def test_current_state_and_last_transition_are_highlighted():
    fig = states.state_diagram("RENEWING", ("BOUND", "T1 expires", "RENEWING"))
    box = _box(fig, "RENEWING").get_bbox_patch()
    assert to_hex(box.get_facecolor()) == states.CURRENT_FILL
    assert to_hex(_box(fig, "BOUND").get_bbox_patch().get_facecolor()) != states.CURRENT_FILL
    red = [p for p in _arrows(fig) if to_hex(p.get_edgecolor()) == states.LAST_COLOR]
    assert len(red) == 1
    label = next(t for t in fig.axes[0].texts if t.get_text() == "T1 expires")
    assert to_hex(label.get_color()) == states.LAST_COLOR


def test_state_text_marks_current_and_taken():
    text = states.state_text("BOUND", ("REQUESTING", "address free", "BOUND"))
    assert "* BOUND" in text
    marked = [line for line in text.splitlines() if ">>" in line]
    assert len(marked) == 1 and "address free" in marked[0] and "BOUND" in marked[0]
    assert text.count("\n") + 1 == len(dhcp_client.TRANSITIONS) + len({s for s, _ in dhcp_client.TRANSITIONS})


def test_stepper_views_stay_in_step():
    pytest.importorskip("ipywidgets")
    run = scenarios.one_client()
    player = states.stepper(run)
    images = []
    for i in range(len(player.rows)):
        player.show(i)
        assert player.index == i and player.slider.value == i
        assert player.extra.layout.display != "none" and bytes(player.extra.value).startswith(b"\x89PNG")
        images.append(bytes(player.extra.value))
    # the state changes SELECTING -> REQUESTING -> BOUND, so the picture changes with it
    assert images[0] != images[1] and images[-1] != images[-2]
    assert run.states() == ["SELECTING", "REQUESTING", "REQUESTING", "REQUESTING", "REQUESTING", "BOUND"]
    lines = states.stepper_text(run).splitlines()
    assert len(lines) == len(run.trace) and lines[-1].endswith("BOUND")


def test_state_at_uses_the_cause_not_the_clock():
    run = scenarios.lease_life()
    kinds = [e.kind for e in run.trace]
    t1 = kinds.index("T1 expires")
    assert run.state_at(t1 - 1)[0] == "BOUND" and run.state_at(t1)[0] == "RENEWING"
    ack = next(i for i, e in enumerate(run.trace) if e.kind == "DHCPACK" and e.src == "dhcp-b")
    assert run.state_at(ack - 1)[0] == "REBINDING" and run.state_at(ack)[0] == "BOUND"


def test_timeline_bands_follow_the_state_changes():
    from refimpl.viz import timeline

    run = scenarios.lease_life()
    bands = timeline.lease_bands(run)["client"]
    phases = [b.phase for b in bands]
    assert phases[:7] == ["acquiring", "bound", "renewing", "rebinding", "bound", "renewing", "rebinding"]
    assert "expired" in phases
    for a, b in zip(bands, bands[1:]):
        assert a.end == b.start and a.phase != b.phase  # contiguous, merged
    t1 = next(c.time for c in run.changes() if c.event == "T1 expires")
    assert bands[2].start == t1
    fig = timeline.lease_timeline(run, title="t")
    assert len(fig.axes) == 2
    text = timeline.timeline_text(run)
    assert "renewing" in text and "pool:" in text


def test_timeline_occupancy_counts_leases_and_releases():
    from refimpl.viz import timeline

    full = scenarios.pool_exhaustion()
    steps = timeline.occupancy(full)
    assert max(n for _, n in steps) == 2 == timeline.pool_size(full)
    assert timeline.lease_bands(full)["pc3"][-1].phase == "link-local"
    released = scenarios.release()
    counts = dict(timeline.occupancy(released))
    rel = next(e.time for e in released.trace if e.kind == "DHCPRELEASE")
    assert counts[rel] == 0 and max(counts.values()) == 1
    # a shared pool (failover pair) counts once
    assert timeline.pool_size(scenarios.lease_life()) == 100
