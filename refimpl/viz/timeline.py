"""The lease timeline: what each client's lease was doing, over (virtual) time.

A sequence diagram spaces its rows evenly, which is right for reading an
exchange and wrong for seeing a lease: a handshake takes milliseconds, a
lease an hour. This picture uses a real time axis instead:

* one row per client, coloured by *phase*: ``acquiring`` (no address yet),
  ``bound``, ``renewing`` (after T1), ``rebinding`` (after T2), ``expired``
  (lost its lease, trying again), ``link-local`` (RFC 3927 fallback);
* markers where timers fired (T1, T2, expiry) and where leases were granted;
* below, the pool's occupancy: how many addresses the servers had given out
  (counted from the DHCPACKs, DHCPRELEASEs and lease times in the trace).

The phases come from the client's recorded state changes
(:class:`refimpl.dhcp.sim_glue.StateChange`), not from guessing, so the
picture shows exactly what the state machine did. matplotlib is imported
inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

PHASES = ("acquiring", "bound", "renewing", "rebinding", "expired", "link-local")
COLORS = {
    "acquiring": "#d9d9d9",
    "bound": "#2e8b57",
    "renewing": "#f1c40f",
    "rebinding": "#e67e22",
    "expired": "#c0392b",
    "link-local": "#8e44ad",
}
MARKED_EVENTS = {
    "T1 expires": "T1",
    "T2 expires": "T2",
    "lease expires": "expiry",
    "release": "release",
    "address in use": "conflict",
}


@dataclass(frozen=True)
class Band:
    start: float
    end: float
    phase: str
    state: str


def phase_of(state: str, had_lease: bool) -> str:
    """Which band a client state belongs to (RFC 2131 figure 5 states, plus LINK-LOCAL)."""
    if state == "BOUND":
        return "bound"
    if state == "RENEWING":
        return "renewing"
    if state == "REBINDING":
        return "rebinding"
    if state == "LINK-LOCAL":
        return "link-local"
    return "expired" if had_lease else "acquiring"


def _end_time(scenario, end: float | None) -> float:
    return scenario.net.now if end is None else end


def lease_bands(scenario, end: float | None = None) -> dict[str, list[Band]]:
    """Per client, the consecutive phases from its first state change to ``end``.

    Adjacent changes that stay in the same phase are merged into one band.
    """
    stop = _end_time(scenario, end)
    result: dict[str, list[Band]] = {}
    for name, host in scenario.clients.items():
        bands: list[Band] = []
        had_lease = False
        changes = [c for c in host.changes if c.time <= stop]
        for k, change in enumerate(changes):
            if change.before in ("BOUND", "RENEWING", "REBINDING") and change.after not in (
                "BOUND",
                "RENEWING",
                "REBINDING",
            ):
                had_lease = True
            phase = phase_of(change.after, had_lease and change.after != "BOUND")
            until = changes[k + 1].time if k + 1 < len(changes) else stop
            if bands and bands[-1].phase == phase:
                bands[-1] = Band(bands[-1].start, until, phase, bands[-1].state)
            else:
                bands.append(Band(change.time, until, phase, change.after))
        result[name] = [b for b in bands if b.end > b.start or b is bands[-1]]
    return result


def occupancy(scenario, end: float | None = None) -> list[tuple[float, int]]:
    """Steps ``(time, addresses leased)`` of all servers together, from the trace.

    A DHCPACK with a lease time binds ``yiaddr`` until ``time + lease``
    (a renewal moves that end); a DHCPRELEASE frees ``ciaddr`` at once.
    """
    stop = _end_time(scenario, end)
    changes: list[tuple[float, str, float]] = []  # (time, address, new expiry)
    for event in scenario.trace:
        msg = event.message
        if event.lost or msg is None or event.flow != "dhcp" or event.time > stop:
            continue
        if event.kind == "DHCPACK" and msg.get("lease_time") and msg.yiaddr != "0.0.0.0":
            if event.src in scenario.relays:  # the relay's copy of an ACK already counted
                continue
            changes.append((event.time, msg.yiaddr, event.time + msg.get("lease_time")))
        elif event.kind == "DHCPRELEASE" and event.src in scenario.clients:
            changes.append((event.time, msg.ciaddr, event.time))
    expiry: dict[str, float] = {}
    times = sorted({t for t, _, _ in changes} | {e for _, _, e in changes if e <= stop} | {0.0, stop})
    steps = []
    for t in times:
        for when, address, until in changes:
            if when == t:
                expiry[address] = until
        steps.append((t, sum(1 for until in expiry.values() if until > t)))
    return steps


def pool_size(scenario) -> int:
    """Addresses the servers can lease; two servers sharing one range (a failover pair) count it once."""
    ranges = {(s.server.store.first, s.server.store.last) for s in scenario.servers.values()}
    return sum(last - first + 1 for first, last in ranges)


def timeline_text(scenario, end: float | None = None) -> str:
    """The bands as text: one line per band, then the occupancy steps."""
    lines = []
    for name, bands in lease_bands(scenario, end).items():
        for band in bands:
            lines.append(f"{name:<8} {band.start:9.3f} -> {band.end:9.3f}  {band.phase:<10} ({band.state})")
    size = pool_size(scenario)
    steps = occupancy(scenario, end)
    lines.append("pool: " + ", ".join(f"t={t:g}: {n}/{size}" for t, n in steps))
    return "\n".join(lines)


def lease_timeline(scenario, end: float | None = None, title: str | None = None):
    """Draw the bands per client above the pool occupancy; return the Figure."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    stop = _end_time(scenario, end)
    bands = lease_bands(scenario, stop)
    names = list(bands)
    fig = Figure(figsize=(9.5, 1.4 + 0.55 * len(names) + 1.6), dpi=80, layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[max(len(names), 1) * 0.6 + 0.6, 1.4])
    for row, name in enumerate(names):
        y = len(names) - 1 - row
        for band in bands[name]:
            top.broken_barh(
                [(band.start, max(band.end - band.start, stop * 0.002))],
                (y - 0.35, 0.7),
                facecolors=COLORS[band.phase],
                edgecolor="white",
                linewidth=0.5,
            )
        for change in scenario.clients[name].changes:
            if change.event in MARKED_EVENTS and change.time <= stop:
                top.plot([change.time], [y + 0.42], marker="v", color="#333333", markersize=5)
                top.text(change.time, y + 0.5, MARKED_EVENTS[change.event], fontsize=7, ha="center", va="bottom")
    top.set_yticks(range(len(names)), list(reversed(names)))
    top.set_ylim(-0.6, len(names) - 0.1 + 0.5)
    top.set_xlim(0, stop)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.legend(
        handles=[Patch(color=COLORS[p], label=p) for p in PHASES],
        loc="outside lower center",
        ncols=6,
        fontsize=7.5,
        frameon=False,
    )
    steps = occupancy(scenario, stop)
    size = pool_size(scenario)
    xs = [t for t, _ in steps] + [stop]
    ys = [n for _, n in steps] + [steps[-1][1] if steps else 0]
    bottom.step(xs, ys, where="post", color="#1f5fa8")
    bottom.fill_between(xs, ys, step="post", alpha=0.25, color="#1f5fa8")
    if size:
        bottom.axhline(size, color="#c0392b", linestyle="--", linewidth=0.8)
        bottom.text(stop * 0.005, size, f"pool size {size}", fontsize=7, va="bottom", ha="left", color="#c0392b")
    bottom.set_ylim(0, max(size, max(ys, default=0)) * 1.15 + 0.5)
    bottom.set_ylabel("leased", fontsize=8)
    bottom.set_xlabel("time (s)")
    return fig
