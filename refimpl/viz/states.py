"""The DHCP client's state diagram, drawn from its transition table.

RFC 2131 figure 5 draws the client as boxes and arrows. The client in
:mod:`refimpl.dhcp.client` *is* a table, ``TRANSITIONS[(state, event)] =
Transition(action, next_state, rule, method)`` - the client calls ``method``,
the picture shows ``action``; this module draws that table. Only
where each box sits is decided here (:data:`POSITIONS`, placed roughly as in
figure 5); every arrow and every label comes from the table, so if someone
adds a transition to the client, it appears in the picture, and a picture
cannot show a rule the code does not have.

* :func:`state_diagram` - the matplotlib picture, with the current state
  filled and the last transition in red;
* :func:`state_text` - the same table as text (for nbval-checked outputs);
* :func:`stepper` - the trace player of :mod:`refimpl.viz.player` with the
  diagram as its third view, kept in step with the trace.

matplotlib is imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from refimpl.dhcp import client as dhcp_client

# Where each state's box sits (x, y): layout only, no behaviour.
POSITIONS: dict[str, tuple[float, float]] = {
    "INIT-REBOOT": (0.9, 7.0),
    "INIT": (4.2, 7.0),
    "INFORMING": (8.6, 7.0),
    "INFORMED": (8.6, 4.3),
    "REBOOTING": (0.9, 4.6),
    "SELECTING": (4.2, 5.3),
    "LINK-LOCAL": (6.9, 5.3),
    "REQUESTING": (4.2, 3.2),
    "BOUND": (1.9, 1.4),
    "RENEWING": (4.2, -0.2),
    "REBINDING": (7.4, 1.4),
}
# How much some arrows bend (arc3 "rad"), so they go round the boxes in between.
BENDS: dict[tuple[str, str], float] = {
    ("REQUESTING", "INIT"): -0.55,
    ("RENEWING", "INIT"): 0.4,
    ("REBINDING", "INIT"): 0.08,
    ("BOUND", "INIT"): -0.15,
    ("REBOOTING", "INIT"): -0.1,
    ("INFORMING", "INFORMED"): 0.3,
    ("INFORMED", "INFORMING"): 0.3,
    ("SELECTING", "LINK-LOCAL"): 0.2,
    ("LINK-LOCAL", "SELECTING"): 0.2,
}
DEFAULT_BEND = 0.12
CURRENT_FILL = "#ffd24d"
LAST_COLOR = "#c0392b"


def transition_edges(transitions: Mapping | None = None) -> dict[tuple[str, str], list[str]]:
    """``(from, to) -> [events]`` for every transition in the table (self-loops included)."""
    table = dhcp_client.TRANSITIONS if transitions is None else transitions
    edges: dict[tuple[str, str], list[str]] = {}
    for (state, event), step in table.items():
        edges.setdefault((state, step.next_state), []).append(event)
    return edges


def _state_of(last) -> tuple[str, str, str] | None:
    """Accept a ``StateChange``, a client ``Step`` or a ``(before, event, after)`` tuple."""
    if last is None:
        return None
    if isinstance(last, tuple):
        return last
    before = getattr(last, "before", None) or last.state
    after = getattr(last, "after", None) or last.next_state
    return before, last.event, after


def state_text(current: str | None = None, last=None, transitions: Mapping | None = None) -> str:
    """The transition table as text, one state per block; ``*`` marks the current
    state and ``>>`` the transition just taken."""
    table = dhcp_client.TRANSITIONS if transitions is None else transitions
    taken = _state_of(last)
    lines = []
    for state in dhcp_client.STATES:
        rows = [(event, step) for (s, event), step in table.items() if s == state]
        if not rows:
            continue
        mark = "*" if state == current else " "
        extra = "  (addition to RFC 2131 figure 5)" if state in dhcp_client.EXTRA_STATES else ""
        lines.append(f"{mark} {state}{extra}")
        for event, step in rows:
            arrow = ">>" if taken is not None and taken[:2] == (state, event) else "  "
            lines.append(f"   {arrow} {event:<17} -> {step.next_state:<11} {step.action}  [{step.rule}]")
    return "\n".join(lines)


def _bezier_mid(a, b, rad):
    (x1, y1), (x2, y2) = a, b
    dx, dy = x2 - x1, y2 - y1
    # matplotlib's arc3: control point = midpoint + rad * (dy, -dx); curve midpoint halfway to it
    return (x1 + x2) / 2 + rad * dy / 2, (y1 + y2) / 2 - rad * dx / 2


def state_diagram(
    current: str | None = None,
    last=None,
    ax=None,
    title: str | None = None,
    transitions: Mapping | None = None,
    labels: bool = True,
):
    """Draw the client's states and transitions; return the Figure.

    ``current`` is filled; ``last`` (a ``StateChange``, a ``Step`` or a
    ``(before, event, after)`` tuple) is drawn in red. Self-loops are listed
    under their box (``↻ event``). Dashed boxes are this client's additions
    to RFC 2131 figure 5 (RFC 3927 link-local, RFC 2131 §3.4 INFORM).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    edges = transition_edges(transitions)
    taken = _state_of(last)
    if ax is None:
        fig = Figure(figsize=(8.6, 7.2), dpi=80, layout="constrained")
        ax = fig.add_subplot()
    ax.set_xlim(-0.6, 9.8)
    ax.set_ylim(-1.4, 7.9)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=11)

    boxes = {}
    for state, (x, y) in POSITIONS.items():
        extra = state in dhcp_client.EXTRA_STATES
        lit = state == current
        boxes[state] = ax.text(
            x,
            y,
            state,
            ha="center",
            va="center",
            fontsize=9.5,
            zorder=3,
            fontweight="bold" if lit else "normal",
            bbox=dict(
                boxstyle="round,pad=0.45",
                linestyle="--" if extra else "-",
                linewidth=2.2 if lit else 1.0,
                facecolor=CURRENT_FILL if lit else ("#f4f4f4" if extra else "white"),
                edgecolor="#333333",
            ),
        )

    loops: dict[str, list[tuple[str, bool]]] = {}
    for (a, b), events in edges.items():
        hot = taken is not None and taken[0] == a and taken[2] == b
        if a == b:
            loops.setdefault(a, []).extend((e, hot and taken[1] == e) for e in events)
            continue
        if a not in POSITIONS or b not in POSITIONS:
            continue
        rad = BENDS.get((a, b), DEFAULT_BEND)
        arrow = FancyArrowPatch(
            POSITIONS[a],
            POSITIONS[b],
            connectionstyle=f"arc3,rad={rad}",
            arrowstyle="-|>",
            mutation_scale=13,
            patchA=boxes[a].get_bbox_patch(),
            patchB=boxes[b].get_bbox_patch(),
            shrinkA=2,
            shrinkB=2,
            color=LAST_COLOR if hot else "#555555",
            linewidth=2.4 if hot else 0.9,
            zorder=2,
        )
        ax.add_patch(arrow)
        if labels:
            mx, my = _bezier_mid(POSITIONS[a], POSITIONS[b], rad)
            text = "\n".join(events)
            ax.text(
                mx,
                my,
                text,
                ha="center",
                va="center",
                fontsize=6.8,
                zorder=4,
                color=LAST_COLOR if hot else "#222222",
                fontweight="bold" if hot else "normal",
                bbox=dict(boxstyle="round,pad=0.12", facecolor="white", edgecolor="none", alpha=0.85),
            )
    if labels:
        for state, items in loops.items():
            if state not in POSITIONS:
                continue
            x, y = POSITIONS[state]
            for k, (event, hot) in enumerate(items):
                ax.text(
                    x,
                    y - 0.42 - 0.22 * k,
                    "\u21bb " + event,
                    ha="center",
                    va="top",
                    fontsize=6.3,
                    zorder=4,
                    color=LAST_COLOR if hot else "#666666",
                    fontweight="bold" if hot else "normal",
                )
    if taken is not None:
        ax.text(
            -0.5,
            -1.3,
            f"last: {taken[0]} --{taken[1]}--> {taken[2]}",
            fontsize=8.5,
            color=LAST_COLOR,
            ha="left",
            va="bottom",
        )
    return ax.figure


def stepper_view(scenario, client: str | None = None):
    """An ``extra_view(index, event)`` for :class:`refimpl.viz.player.SequencePlayer`:
    the client's state diagram at trace event ``index``."""

    @lru_cache(maxsize=64)
    def draw(state: str, last: tuple | None):
        return state_diagram(state, last, title=f"{client or scenario.client.name}: {state}")

    def view(index: int, event: Any):
        state, change = scenario.state_at(index, client)
        last = (change.before, change.event, change.after) if change is not None else None
        return draw(state, last)

    return view


def stepper(scenario, client: str | None = None, **options):
    """A trace player whose third view is the client's state diagram, in step with the trace."""
    from refimpl.viz.player import SequencePlayer

    return SequencePlayer(scenario.trace, extra_view=stepper_view(scenario, client), **options)


def stepper_text(scenario, client: str | None = None) -> str:
    """What the stepper shows, as text: per trace event, the client's state after it."""
    lines = []
    for index, event in enumerate(scenario.trace):
        state, _ = scenario.state_at(index, client)
        what = (
            f"note: {event.kind} {event.summary}".strip()
            if event.is_note
            else f"{event.src} -> {event.dst}: {event.kind}"
        )
        lost = " (lost)" if event.lost else ""
        lines.append(f"{index:>3} {event.time:9.3f}  {what:<46}{lost:<7} {state}")
    return "\n".join(lines)
