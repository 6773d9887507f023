"""Sequence diagrams of a :class:`refimpl.trace.Trace`, as pictures, animations and text.

One lifeline per host, one row per event, time growing downwards: the
picture every protocol textbook draws, made from what really crossed the
(simulated or real) wire. Rows are evenly spaced, whatever the time between
events, so a DHCP renewal an hour later does not squash the handshake into a
line; the real time of each row is written on the left axis.

Conventions (the same in the picture and in :func:`sequence_text`):

* solid arrow: unicast; dashed arrow with heads on every lifeline it reached:
  broadcast (``dst == "*"``);
* an arrow that stops short in a red X: lost (loss injection, blocked by a
  NAT, nobody listening);
* the small ``:68`` / ``:67`` at the arrow ends: source and destination ports;
* a yellow box on a lifeline: a note ("T1 reached").

matplotlib is imported inside the functions, so importing this module (and
any core that uses it) stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from refimpl.trace import BROADCAST, Event, Trace

ROW = 0.5  # inches per event row
COLUMN = 2.9  # inches between lifelines
FONT = 9.5
DPI = 100  # a static diagram's resolution: 9.5-pt labels are 13 px, about the notebook's body text
# JupyterLab shows a picture at most as wide as the output area (about 960 px in a 1400-px window with the
# file browser open) and scales a wider one down. Pixels beyond MAX_WIDTH_PX are shrunk away on such a
# screen, so a wide diagram is drawn at a lower dpi instead: the same size on screen, fewer bytes.
MAX_WIDTH_PX = 1000
SMALL = 7.5
LOST_COLOR = "#c0392b"
PALETTE = ["#1f5fa8", "#2e8b57", "#8e44ad", "#d35400", "#16a085", "#7f6000", "#34495e"]
CONTROL = {"SYN", "SYN-ACK", "ACK", "FIN", "RST", "FIN-ACK"}


# ---------------------------------------------------------------------------
# Layout: which events become rows, where the lifelines are
# ---------------------------------------------------------------------------
@dataclass
class Row:
    index: int  # position of the event in the trace
    event: Event
    y: float  # row position (1, 2, 3, ...)
    targets: tuple[str, ...]  # lifelines the arrow points at (several for a broadcast)


@dataclass
class Layout:
    hosts: list[str]
    labels: dict[str, str]
    x: dict[str, float]
    rows: list[Row]

    @property
    def height(self) -> float:
        return len(self.rows) + 1


def host_addresses(trace: Trace) -> dict[str, list[str]]:
    """The IP addresses of each host (what its lifeline header shows).

    The simulator records them in ``trace.addresses``. For other traces
    (a capture) they are guessed from the packets each host sent or received,
    which is wrong for routers (they forward other hosts' addresses).
    """
    if trace.addresses:
        return trace.addresses
    seen: dict[str, list[str]] = {}
    for event in trace:
        if event.is_note:
            continue
        pairs = [(event.src, event.src_ip)]
        if not event.is_broadcast:
            pairs.append((event.dst, event.dst_ip))
        for host, ip in pairs:
            if host and ip and ip not in seen.setdefault(host, []):
                seen[host].append(ip)
    return seen


def trace_hosts(trace: Trace) -> list[str]:
    """Lifelines in order of appearance, including hosts that only heard a broadcast."""
    seen: dict[str, None] = {}
    for event in trace:
        for name in (event.src, event.dst, *event.reached):
            if name and name != BROADCAST:
                seen.setdefault(name, None)
    return list(seen)


def _header(name: str, ips: list[str]) -> str:
    if not ips:
        return name
    if len(ips) > 1 and ips[0] == "0.0.0.0":
        shown = "0.0.0.0 \u2192 " + ips[1]  # a client that got an address during the trace
    else:
        shown = "\n".join(ips[:2]) + (" \u2026" if len(ips) > 2 else "")
    return f"{name}\n{shown}"


def layout(trace: Trace, hosts: Sequence[str] | Mapping[str, str] | None = None) -> Layout:
    """Choose lifelines (``hosts`` order, or order of appearance) and one row per drawable event."""
    if hosts is None:
        names = trace_hosts(trace)
        labels: dict[str, str] = {}
    elif isinstance(hosts, Mapping):
        names, labels = list(hosts), {k: v for k, v in hosts.items() if v}
    else:
        names, labels = list(hosts), {}
    addresses = host_addresses(trace)
    for name in names:
        labels.setdefault(name, _header(name, addresses.get(name, [])))
    x = {name: float(i) for i, name in enumerate(names)}
    rows: list[Row] = []
    for index, event in enumerate(trace):
        if event.src not in x:
            continue
        if event.is_note:
            targets: tuple[str, ...] = (event.src,)
        elif event.dst == BROADCAST:
            reached = event.reached or tuple(n for n in names if n != event.src)
            targets = tuple(n for n in reached if n in x and n != event.src)
        elif event.dst in x:
            targets = (event.dst,)
        else:
            continue  # the other end is not drawn
        rows.append(Row(index, event, float(len(rows) + 1), targets))
    return Layout(names, labels, x, rows)


# ---------------------------------------------------------------------------
# Text helpers shared by the picture and the text version
# ---------------------------------------------------------------------------
def _fit(text: str, width_chars: float) -> str:
    width = max(int(width_chars), 4)
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def _colors(trace: Trace) -> dict[str, str]:
    keys: dict[str, str] = {}
    for event in trace:
        key = event.flow or event.transport
        if not event.is_note and key not in keys:
            keys[key] = PALETTE[len(keys) % len(PALETTE)]
    return keys


def _arrow_label(event: Event, room_inches: float) -> str:
    """The arrow's text, cut to fit ``room_inches`` (DejaVu Sans: about 0.56 em per character)."""
    return _fit(event.label(), room_inches * 72 / (FONT * 0.56))


# ---------------------------------------------------------------------------
# Drawing
# ---------------------------------------------------------------------------
def _top(lay: Layout) -> float:
    """Upper y limit: room for the tallest lifeline header."""
    lines = max((lay.labels[name].count("\n") + 1 for name in lay.hosts), default=1)
    return -0.15 - 0.3 * lines


def _figure(**options):
    """A Figure that a notebook shows once, as the cell's value (closed in pyplot at birth).

    A figure left open in pyplot is drawn again at the end of the cell, and a
    bare ``matplotlib.figure.Figure`` has no notebook display at all.
    """
    import matplotlib.pyplot as plt

    fig = plt.figure(**options)
    plt.close(fig)
    return fig


def _new_figure(lay: Layout, title: str | None):
    width = max(6.5, COLUMN * max(len(lay.hosts) - 1, 1) + 3.2)
    height = 1.5 + ROW * max(len(lay.rows), 1) + (0.3 if title else 0)
    fig = _figure(figsize=(width, height), dpi=dpi_for(width), layout="constrained")
    return fig, fig.add_subplot()


def dpi_for(width_inches: float) -> float:
    """:data:`DPI`, or less for a figure so wide that it would be drawn wider than :data:`MAX_WIDTH_PX`."""
    return min(DPI, MAX_WIDTH_PX / width_inches)


def _setup_axes(ax, lay: Layout, title: str | None) -> list:
    """Lifelines, headers and the time axis; returns the artists (all always visible)."""
    n = len(lay.hosts)
    ax.set_xlim(-0.6, max(n - 1, 1) + 0.6)
    ax.set_ylim(lay.height - 0.4, _top(lay))
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xticks([])
    _time_labels(ax, lay, None)
    ax.tick_params(axis="y", length=2)
    ax.set_ylabel("time (s)", fontsize=FONT, color="#555555")
    if title:
        ax.set_title(title, fontsize=FONT + 2, fontweight="bold")
    artists = []
    for name in lay.hosts:
        x = lay.x[name]
        artists.append(
            ax.plot([x, x], [0, lay.height - 0.5], color="#9a9a9a", lw=1.0, zorder=1, gid=f"lifeline:{name}")[0]
        )
        artists.append(
            ax.text(
                x,
                0.3,
                lay.labels[name],
                ha="center",
                va="bottom",
                fontsize=FONT,
                zorder=4,
                gid=f"header:{name}",
                bbox=dict(boxstyle="round,pad=0.35", facecolor="#eef2f7", edgecolor="#7a8ca5"),
            )
        )
    return artists


def _time_labels(ax, lay: Layout, upto: int | None) -> None:
    """The time of each row on the left axis (rows not drawn yet stay blank: no spoilers)."""
    shown = len(lay.rows) if upto is None else upto
    labels = [f"{row.event.time:.3f}" if k < shown else "" for k, row in enumerate(lay.rows)]
    ax.set_yticks([row.y for row in lay.rows], labels, fontsize=SMALL + 0.5, color="#555555")


def _draw_row(ax, lay: Layout, row: Row, colors: dict[str, str], show_ports: bool, inches_per_unit: float) -> list:
    """The artists of one event: arrow(s), label, ports, loss mark or note box."""
    from matplotlib.patches import FancyArrowPatch

    event, y, i = row.event, row.y, row.index
    artists = []
    if event.is_note:
        text = f"{event.kind} {event.summary}".strip()
        artists.append(
            ax.text(
                lay.x[event.src],
                y,
                _fit(text, COLUMN * 72 / (SMALL * 0.6) * 1.3),
                ha="center",
                va="center",
                fontsize=SMALL + 0.5,
                zorder=5,
                gid=f"note:{i}",
                bbox=dict(boxstyle="round,pad=0.3", facecolor="#fff6bf", edgecolor="#c9a800"),
            )
        )
        return artists

    x1 = lay.x[event.src]
    color = colors.get(event.flow or event.transport, PALETTE[0])
    control = event.transport == "tcp" and event.kind in CONTROL
    style = dict(color=color, lw=1.0 if control else 1.6, alpha=0.75 if control else 1.0)
    broadcast = event.dst == BROADCAST
    if not row.targets:  # a broadcast nobody else could hear
        ends = [x1 + 0.45]
    else:
        ends = [lay.x[t] for t in row.targets]
    far = max(ends, key=lambda e: abs(e - x1))
    left, right = min(ends + [x1]), max(ends + [x1])
    kind = "bcast" if broadcast else "arrow"

    if event.lost:
        # stop short of the receiver(s) and cross the arrow out (a lost broadcast: every arm)
        arms = {e > x1: e for e in sorted(ends, key=lambda e: abs(e - x1))}.values()
        for arm in arms:
            stop = x1 + (arm - x1) * 0.62
            artists.append(
                ax.add_patch(
                    FancyArrowPatch(
                        (x1, y),
                        (stop, y),
                        arrowstyle="-",
                        linestyle=(0, (5, 3)) if broadcast else "-",
                        zorder=3,
                        gid=f"lost:{i}",
                        **style,
                    )
                )
            )
            artists.append(
                ax.plot(
                    [stop], [y], marker="x", markersize=11, mew=2.6, color=LOST_COLOR, zorder=4, gid=f"lostmark:{i}"
                )[0]
            )
        stops = [x1 + (arm - x1) * 0.62 for arm in arms] + [x1]
        label_x = (min(stops) + max(stops)) / 2
    else:
        for end in ends:
            artists.append(
                ax.add_patch(
                    FancyArrowPatch(
                        (x1, y),
                        (end, y),
                        arrowstyle="-|>",
                        mutation_scale=14,
                        shrinkA=0,
                        shrinkB=2,
                        linestyle=(0, (5, 3)) if broadcast else "-",
                        zorder=3,
                        gid=f"{kind}:{i}",
                        **style,
                    )
                )
            )
        label_x = (left + right) / 2

    # The label is centred on the arrow but may run past its ends, over other lifelines (it has an
    # opaque background): a long one slides sideways to stay inside the axes and is cut only when it
    # is wider than the whole diagram. So the numbers of a long 227 reply survive.
    left_edge, right_edge = ax.get_xlim()
    label = _arrow_label(event, (right_edge - left_edge) * inches_per_unit)
    half = len(label) * FONT * 0.56 / 72 / inches_per_unit / 2
    label_x = min(max(label_x, left_edge + half), right_edge - half)
    label_color = LOST_COLOR if event.lost else "black"
    artists.append(
        ax.text(
            label_x,
            y - 0.1,
            label,
            ha="center",
            va="bottom",
            fontsize=FONT,
            color=label_color,
            zorder=6,
            gid=f"label:{i}",
            bbox=dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85),
        )
    )
    direction = 1 if far >= x1 else -1
    small = dict(fontsize=SMALL, color="#555555", va="top", zorder=6)
    src_text = f":{event.src_port}" if show_ports and event.src_port else ""
    if broadcast:
        # the marker sits under the sender, on the side of the longest arm
        artists.append(
            ax.text(
                x1 + direction * 0.05,
                y + 0.1,
                f"{src_text} broadcast".strip(),
                ha="left" if direction > 0 else "right",
                va="top",
                fontsize=SMALL,
                style="italic",
                color=color,
                zorder=6,
                gid=f"bmark:{i}",
            )
        )
    elif src_text:
        artists.append(
            ax.text(
                x1 + direction * 0.05,
                y + 0.1,
                src_text,
                ha="left" if direction > 0 else "right",
                gid=f"port:{i}",
                **small,
            )
        )
    if show_ports and event.src_port and not event.lost:
        for end in {e > x1: e for e in sorted(ends, key=lambda e: abs(e - x1))}.values():
            side = 1 if end > x1 else -1
            artists.append(
                ax.text(
                    end - side * 0.05,
                    y + 0.1,
                    f":{event.dst_port}",
                    ha="right" if side > 0 else "left",
                    gid=f"port:{i}",
                    **small,
                )
            )
    return artists


def _draw(trace: Trace, ax, hosts, title, show_ports) -> tuple[Layout, list, list[list]]:
    lay = layout(trace, hosts)
    base = _setup_axes(ax, lay, title)
    fig = ax.figure
    axes_width = fig.get_figwidth() * ax.get_position().width
    inches_per_unit = axes_width / (max(len(lay.hosts) - 1, 1) + 1.2)
    colors = _colors(trace)
    per_row = [_draw_row(ax, lay, row, colors, show_ports, inches_per_unit) for row in lay.rows]
    return lay, base, per_row


def clip(trace: Trace, hosts=None, max_rows: int | None = None) -> tuple[Trace, int]:
    """The first ``max_rows`` drawable events of ``trace``, and how many rows were left out."""
    rows = layout(trace, hosts).rows
    if max_rows is None or len(rows) <= max_rows:
        return trace, 0
    last = rows[max(max_rows, 1) - 1].index
    return Trace(trace.events[: last + 1], trace.addresses), len(rows) - max(max_rows, 1)


def _mention_hidden(ax, hidden: int) -> None:
    if hidden:
        ax.set_xlabel(
            f"\u2026 and {hidden} more events (slice the trace, or raise max_rows, to see them)",
            fontsize=FONT,
            color="#555555",
            style="italic",
        )


def sequence_diagram(
    trace: Trace,
    ax=None,
    hosts: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    show_ports: bool = True,
    upto: int | None = None,
    highlight: int | None = None,
    max_rows: int | None = 80,
):
    """Draw ``trace`` as a sequence diagram and return the matplotlib Figure.

    ``hosts`` picks and orders the lifelines (a dict maps name -> header
    text). ``upto`` draws only the first ``upto`` rows but keeps the full
    layout, so a stepper does not jump; ``highlight`` shades one row (by
    default, with ``upto``, the last one drawn). At most ``max_rows`` rows
    are drawn (half an inch each); slice the trace to see later ones.
    """
    trace, hidden = clip(trace, hosts, max_rows)
    if ax is None:
        fig, ax = _new_figure(layout(trace, hosts), title)
    lay, _, per_row = _draw(trace, ax, hosts, title, show_ports)
    _mention_hidden(ax, hidden)
    if upto is not None:
        for artists in per_row[max(upto, 0) :]:
            for artist in artists:
                artist.remove()
        _time_labels(ax, lay, max(upto, 0))
        if highlight is None and 0 < upto <= len(lay.rows):
            highlight = upto - 1
    if highlight is not None and 0 <= highlight < len(lay.rows):
        y = lay.rows[highlight].y
        ax.axhspan(y - 0.45, y + 0.4, color="#ffe9a8", alpha=0.55, zorder=0, gid="highlight")
    return ax.figure


def animate_sequence(
    trace: Trace,
    hosts: Sequence[str] | Mapping[str, str] | None = None,
    title: str | None = None,
    show_ports: bool = True,
    interval: int = 900,
    repeat: bool = False,
    dpi: float | None = None,
    max_rows: int | None = 40,
):
    """A FuncAnimation that reveals one message per frame (frame k shows rows 0..k).

    The figure is closed in pyplot, so a notebook shows only what you display:
    ``HTML(to_html_player(anim))``. The player stores the whole diagram once and
    reveals it row by row in the browser, so ``dpi`` defaults to the static
    diagrams' (:func:`dpi_for`: their labels, their size); a movie writer
    (``anim.save``) draws every frame as before.
    """
    from matplotlib.animation import FuncAnimation

    trace, hidden = clip(trace, hosts, max_rows)
    fig, ax = _new_figure(layout(trace, hosts), title)
    if dpi is not None:
        fig.set_dpi(dpi)
    lay, _, per_row = _draw(trace, ax, hosts, title, show_ports)
    _mention_hidden(ax, hidden)
    band = ax.axhspan(-0.45, 0.4, color="#ffe9a8", alpha=0.55, zorder=0, gid="highlight")
    frames = max(len(lay.rows), 1)

    def show(frame: int):
        changed = []
        for k, artists in enumerate(per_row):
            for artist in artists:
                artist.set_visible(k <= frame)
                changed.append(artist)
        _time_labels(ax, lay, frame + 1)
        band.set_visible(frame >= 0 and bool(lay.rows))
        if lay.rows:
            y = lay.rows[min(max(frame, 0), len(lay.rows) - 1)].y
            band.set_y(y - 0.45)  # axhspan is a Rectangle in matplotlib >= 3.9
        return changed + [band]

    def init():
        return show(-1)

    def whole_picture() -> tuple[bytes, list[tuple[float, float]], tuple[float, float]]:
        """The last frame without its band; each row's band as (top, bottom) fractions of its height; the
        plot's left and right edges as fractions of its width (where the band spans)."""
        import io

        show(len(lay.rows) - 1)
        band.set_visible(False)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=fig.dpi)  # as a movie frame: the whole figure, no tight crop
        height = fig.bbox.height  # pixels at fig.dpi, after the draw savefig made (constrained layout)
        rows = []
        for row in lay.rows:
            (_, y0), (_, y1) = ax.transData.transform([(0, row.y - 0.45), (0, row.y + 0.4)])
            top, bottom = sorted((1 - y0 / height, 1 - y1 / height))
            rows.append((max(0.0, top), min(1.0, bottom)))
        box = ax.get_position()  # figure fractions, after the layout ran
        return buffer.getvalue(), rows, (box.x0, box.x1)

    anim = FuncAnimation(fig, show, frames=frames, init_func=init, interval=interval, repeat=repeat, blit=False)
    anim._course_rows = len(lay.rows)  # for tests and players
    anim._course_whole_picture = whole_picture if lay.rows else None  # for to_html_player's reveal
    return anim


def to_html_player(anim, default_mode: str = "once", every_frame: bool = False) -> str:
    """The animation as self-contained HTML/JS: plays in a saved notebook, offline.

    Our own player around matplotlib's pictures (:mod:`refimpl.viz.html_player`
    says why not ``to_jshtml``); ``default_mode="loop"`` starts with looping on.
    An :func:`animate_sequence` is stored as one picture that the browser
    reveals row by row (a fraction of the bytes of one picture per frame);
    ``every_frame=True``, or any other animation, stores every frame.
    """
    from refimpl.viz.html_player import animation_frames, player_html

    title = anim._fig.axes[0].get_title() if anim._fig.axes else ""
    alt = f"sequence diagram, one message per frame: {title}".rstrip(": ")
    whole = getattr(anim, "_course_whole_picture", None)
    if whole is not None and not every_frame:
        picture, rows, across = whole()
        anim._draw_was_started = True  # it was drawn, by us: no "deleted without rendering" warning
        loop = default_mode == "loop"
        return player_html([picture], interval=int(anim._interval), loop=loop, alt=alt, reveal=rows, band=across)
    return player_html(animation_frames(anim), interval=int(anim._interval), loop=default_mode == "loop", alt=alt)


def side_by_side(
    trace_a: Trace,
    trace_b: Trace,
    titles: Sequence[str] = ("A", "B"),
    hosts=None,
    show_ports: bool = True,
    max_rows: int | None = 80,
):
    """Two sequence diagrams next to each other (e.g. active PORT vs passive PASV)."""
    (trace_a, hidden_a), (trace_b, hidden_b) = clip(trace_a, hosts, max_rows), clip(trace_b, hosts, max_rows)
    lay_a, lay_b = layout(trace_a, hosts), layout(trace_b, hosts)
    columns = max(len(lay_a.hosts), len(lay_b.hosts))
    width = 2 * max(6.0, COLUMN * 0.85 * max(columns - 1, 1) + 2.6)
    height = 1.8 + ROW * max(len(lay_a.rows), len(lay_b.rows), 1)
    fig = _figure(figsize=(width, height), dpi=dpi_for(width), layout="constrained")
    ax_a, ax_b = fig.subplots(1, 2)
    _draw(trace_a, ax_a, hosts, titles[0], show_ports)
    _draw(trace_b, ax_b, hosts, titles[1], show_ports)
    _mention_hidden(ax_a, hidden_a)
    _mention_hidden(ax_b, hidden_b)
    # same row scale on both sides, so equal steps look equal
    rows = max(len(lay_a.rows), len(lay_b.rows)) + 1
    for ax in (ax_a, ax_b):
        ax.set_ylim(rows - 0.4, min(_top(lay_a), _top(lay_b)))
    return fig


# ---------------------------------------------------------------------------
# Text version (terminals, doctests, nbval-checked outputs)
# ---------------------------------------------------------------------------
def sequence_text(
    trace: Trace,
    hosts: Sequence[str] | Mapping[str, str] | None = None,
    show_ports: bool = True,
    width: int | None = None,
) -> str:
    """An ASCII sequence diagram: one line per event, lifelines as ``|``.

    ``--KIND-->`` unicast, ``==KIND==>>`` broadcast (a ``>`` at every lifeline
    it reached), ``--KIND--X`` lost, ``[note]`` on a lifeline. Key fields and
    ports follow on the right.
    """
    lay = layout(trace, hosts)
    names = lay.hosts
    if not names:
        return "(empty trace)"
    kinds = [len(r.event.kind) for r in lay.rows if not r.event.is_note]
    col = width or max(16, max((len(n) for n in names), default=0) + 4, min(max(kinds, default=0) + 7, 26))
    margin = max([9] + [len(f"{r.event.time:.3f}") + 2 for r in lay.rows])
    pos = {name: margin + col // 2 + k * col for k, name in enumerate(names)}
    line_width = margin + col * len(names)

    def blank() -> list[str]:
        chars = [" "] * line_width
        for p in pos.values():
            chars[p] = "|"
        return chars

    head = [" "] * line_width
    head[:margin] = list(f"{'time':>{margin - 2}}  ")
    for name in names:
        start = max(pos[name] - len(name) // 2, margin)
        head[start : start + len(name)] = list(name[: col - 1])
    out = ["".join(head).rstrip(), "".join(blank()).rstrip()]

    for row in lay.rows:
        event = row.event
        chars = blank()
        chars[:margin] = list(f"{event.time:{margin - 2}.3f}  ")
        x1 = pos[event.src]
        tail = ""
        if event.is_note:
            text = f"[{event.kind}{' ' + event.summary if event.summary else ''}]"
            text = _fit(text, col * 2 - 2)
            start = x1 + 2  # just right of the lifeline, which stays visible
            chars[start : start + len(text)] = list(text)
        else:
            broadcast = event.dst == BROADCAST
            targets = [pos[t] for t in row.targets] or [x1 + col // 2]
            fill = "=" if broadcast else "-"
            sides = [side for side in ([p for p in targets if p > x1], [p for p in targets if p < x1]) if side]
            spans = []
            for side in sides:
                step = 1 if side[0] > x1 else -1
                far = max(side, key=lambda p: abs(p - x1))
                end = x1 + int((far - x1) * 0.62) if event.lost else far - step
                for p in range(x1 + step, end + step, step):
                    if chars[p] != "|" or not broadcast:
                        chars[p] = fill
                if event.lost:
                    chars[end] = "X"
                else:
                    for t in side:
                        chars[t - step] = ">" if step > 0 else "<"
                spans.append((abs(end - x1), step, end))
            length, step, end = max(spans)  # the label goes on the longest arm
            label = _fit(event.kind, length - 3)
            start = x1 + 2 if step > 0 else end + 2
            chars[start : start + len(label)] = list(label)
            bits = [event.kind] if label != event.kind else []  # cut in the arrow: spell it out
            if show_ports:
                bits.append(f":{event.src_port}->:{event.dst_port}" if event.src_port else "")
            if broadcast:
                bits.append("broadcast")
            if event.summary:
                bits.append(event.summary)
            if event.lost:
                bits.append("(lost)")
            tail = "  " + " ".join(b for b in bits if b)
        out.append(("".join(chars) + tail).rstrip())
    return "\n".join(out)
