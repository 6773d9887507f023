"""A stepper for a trace: slider, Play, prev/next, and views that move together.

A sequence diagram shows *that* messages flowed; students learn most by
stopping at one message and looking inside it. The player keeps three views
in step with one slider:

1. the diagram so far (``sequence_diagram(trace, upto=i + 1)``, current row
   shaded; a long trace is shown through a window of ``window`` rows);
2. the current message: ``event.message.show()`` if the decoder gave it one,
   else its summary and a hexdump of the raw bytes;
3. optionally ``extra_view(index, event)``, returning a matplotlib Figure or
   text: e.g. the DHCP client's state diagram with the current state lit.

Views are ``Image``/``HTML`` widgets (not ``Output``), so the player builds
and steps without a browser, which is how the tests drive it. It needs a
running kernel to respond; for a saved notebook that still plays, use
:func:`refimpl.viz.sequence.to_html_player`.

ipywidgets and matplotlib are imported inside, when a player is built.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable
from typing import Any

from refimpl.trace import Event, Trace
from refimpl.viz.sequence import layout, sequence_diagram


def hexdump(raw: bytes, limit: int = 256) -> str:
    """Classic 16-bytes-a-line hexdump (offset, hex, ASCII); long payloads are cut at ``limit``."""
    lines = []
    for offset in range(0, min(len(raw), limit), 16):
        chunk = raw[offset : offset + 16]
        hexes = " ".join(f"{b:02x}" for b in chunk)
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{offset:04x}  {hexes:<47}  {text}")
    if len(raw) > limit:
        lines.append(f"... ({len(raw) - limit} more bytes)")
    return "\n".join(lines)


def describe_event(event: Event, number: int | None = None, total: int | None = None) -> str:
    """The text of the details view: where the message went, then what is inside it."""
    head = f"#{number}/{total}  " if number is not None else ""
    if event.is_note:
        return f"{head}t={event.time:.3f} s  note on {event.src}: {event.kind} {event.summary}".rstrip()
    fate = "  LOST" if event.lost else ""
    lines = [
        f"{head}t={event.time:.3f} s  {event.transport.upper()} {event.kind}{fate}",
        f"{event.src} -> {'everyone on the segment' if event.is_broadcast else event.dst}",
        event.endpoints(),
    ]
    if event.summary:
        lines.append(event.summary)
    shown = _show_message(event.message)
    if shown:
        lines += ["", shown]
    elif event.raw:
        lines += ["", f"{len(event.raw)} bytes:", hexdump(event.raw)]
    return "\n".join(lines)


def _show_message(message: Any) -> str:
    show = getattr(message, "show", None)
    if callable(show):
        try:
            return str(show())
        except Exception as exc:  # a broken message must not break the player
            return f"(message.show() failed: {exc})"
    return ""


def _png(fig, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _picture_layout(**options):
    """An ipywidgets Layout for a PNG shown at its drawn size (no stretching, no shrinking but to fit)."""
    import ipywidgets as widgets

    return widgets.Layout(height="auto", align_self="flex-start", object_fit="contain", **options)


class SequencePlayer:
    """Slider + Play + prev/next over the rows of a sequence diagram.

    ``player.widget`` is the ipywidgets box (a notebook displays the player
    itself). ``player.show(i)`` jumps to row ``i``; ``extra_view(index, event)``
    gets the event's index in the trace.
    """

    def __init__(
        self,
        trace: Trace,
        extra_view: Callable[[int, Event], Any] | None = None,
        hosts=None,
        title: str | None = None,
        show_ports: bool = True,
        interval: int = 1500,
        dpi: int = 80,
        window: int = 30,
    ):
        import ipywidgets as widgets

        self.trace = trace
        full = layout(trace, hosts)
        self.rows = full.rows
        self.window = max(int(window), 1)
        self.extra_view = extra_view
        # fixed lifelines, so they do not move when the window slides along a long trace
        self.options = dict(hosts=hosts if hosts is not None else full.hosts, title=title, show_ports=show_ports)
        self.dpi = dpi
        last = max(len(self.rows) - 1, 0)
        self.play = widgets.Play(min=0, max=last, step=1, interval=interval, description="play")
        self.slider = widgets.IntSlider(min=0, max=last, description="message", continuous_update=False)
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.prev_button = widgets.Button(description="\u25c0 prev", layout=widgets.Layout(width="80px"))
        self.next_button = widgets.Button(description="next \u25b6", layout=widgets.Layout(width="80px"))
        self.prev_button.on_click(lambda _: self.step(-1))
        self.next_button.on_click(lambda _: self.step(+1))
        # Pictures keep their own pixel size and aspect ratio: in a flex row an <img> is otherwise
        # stretched to the row's height (02's diagram was drawn 520x384 and shown 520x936) or shrunk
        # to its column (the state diagram at half size, its labels a few pixels high).
        self.diagram = widgets.Image(format="png", layout=_picture_layout(max_width="100%"))
        self.details = widgets.HTML()
        self.extra = widgets.Image(format="png", layout=_picture_layout(display="none"))
        self.extra_text = widgets.HTML()
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        controls = widgets.HBox([self.play, self.prev_button, self.slider, self.next_button])
        # the message text beside the diagram where the window leaves room for it, else below it
        # (a row that wraps); the extra view (a state diagram) below both, at its drawn size
        side = widgets.VBox([self.details], layout=widgets.Layout(flex="1 1 320px", min_width="320px", overflow="auto"))
        top = widgets.HBox([self.diagram, side], layout=widgets.Layout(align_items="flex-start", flex_flow="row wrap"))
        self.widget = widgets.VBox([controls, top, self.extra, self.extra_text])
        self.index = -1
        self.show(0)

    # -- moving ----------------------------------------------------------
    def step(self, delta: int) -> None:
        self.slider.value = min(max(self.slider.value + delta, self.slider.min), self.slider.max)

    def show(self, i: int) -> None:
        """Bring every view to row ``i`` (also moves the slider)."""
        if not self.rows:
            self.details.value = "<pre>(empty trace)</pre>"
            return
        i = min(max(int(i), 0), len(self.rows) - 1)
        self.index = i
        if self.slider.value != i:
            self.slider.value = i  # observe() calls show(i) again; cheap guard below
            return
        row = self.rows[i]
        from matplotlib.figure import Figure

        part, upto = self._window(i)
        fig = sequence_diagram(part, upto=upto, max_rows=None, **self.options)
        self.diagram.value = _png(fig, self.dpi)
        self.details.value = (
            "<pre style='font-size:12px;line-height:1.3'>" + html.escape(self.details_text(i)) + "</pre>"
        )
        if self.extra_view is not None:
            view = self.extra_view(row.index, row.event)
            if isinstance(view, Figure) or hasattr(view, "savefig"):
                self.extra.value = _png(view, self.dpi)
                self.extra.layout.display = ""
                self.extra_text.value = ""
            else:
                self.extra.layout.display = "none"
                self.extra_text.value = "<pre>" + html.escape("" if view is None else str(view)) + "</pre>"

    def _window(self, i: int) -> tuple[Trace, int]:
        """(trace to draw, upto) for row ``i``: the whole trace, or ``window`` rows ending at ``i``."""
        if len(self.rows) <= self.window:
            return self.trace, i + 1
        start = max(0, min(i - self.window + 1, len(self.rows) - self.window))
        first, last = self.rows[start].index, self.rows[start + self.window - 1].index
        return Trace(self.trace.events[first : last + 1], self.trace.addresses), i - start + 1

    def details_text(self, i: int) -> str:
        row = self.rows[i]
        return describe_event(row.event, i + 1, len(self.rows))

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def player(trace: Trace, extra_view: Callable[[int, Event], Any] | None = None, **options) -> SequencePlayer:
    """Build a :class:`SequencePlayer` (the last expression of a cell shows it)."""
    return SequencePlayer(trace, extra_view=extra_view, **options)
