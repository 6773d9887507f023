"""Take a diagram to a slide or a paper: a Trace as Mermaid, PlantUML or mscgen text; a figure as SVG or PDF.

The three text formats are what slide decks, wikis and papers render
themselves (Mermaid in GitHub and JupyterLab Markdown, PlantUML and mscgen
in many documentation tools), so a teacher can restyle a diagram without
Python. They are written from the same :func:`refimpl.viz.sequence.layout` as
the matplotlib picture: the same lifelines in the same order and one arrow per
row, so an exported diagram cannot show an arrow that the course's own
picture lacks. What each format cannot draw is said where it is drawn
differently:

* a **broadcast** (dashed arrow in the picture) becomes one dashed arrow per
  lifeline it reached (none of the three has a one-to-many arrow);
* a **lost** message ends in a cross (Mermaid ``-x``, PlantUML ``->x``,
  mscgen ``-x``): all three have one;
* a **note** (``T1 reached``) is a note over its host's lifeline.

Labels are the arrow text of the picture (``kind`` then key fields), with the
time in front when ``times=True`` (the left axis of the picture). Characters
with a meaning in the target syntax are escaped, so a hostile label (an FTP
command a student typed, a hostname from a capture) stays text.

Importing this module is cheap: matplotlib is imported only by
:func:`save_figure`, which is handed a figure already made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from refimpl.trace import BROADCAST, Trace
from refimpl.viz.sequence import layout

FORMATS = ("mermaid", "plantuml", "mscgen")
FIGURE_SUFFIXES = (".svg", ".pdf", ".png")


@dataclass(frozen=True)
class Arrow:
    """One arrow of a diagram: what every export draws, one per target lifeline."""

    src: str
    dst: str
    label: str
    style: str  # "unicast", "broadcast", "lost" or "note" (then src == dst)


def arrows(
    trace: Trace, hosts: Sequence[str] | Mapping[str, str] | None = None, times: bool = False
) -> tuple[dict[str, str], list[Arrow]]:
    """The lifelines (name -> header, as the picture's: name and addresses on one line) and the
    arrows of ``trace``, row by row as the picture draws them."""
    lay = layout(trace, hosts)
    headers = {name: " ".join(lay.labels[name].split("\n")) for name in lay.hosts}
    out: list[Arrow] = []
    for row in lay.rows:
        event = row.event
        text = event.label()
        if times:
            text = f"{event.time:.3f} {text}"
        if event.is_note:
            out.append(Arrow(event.src, event.src, text, "note"))
            continue
        style = "lost" if event.lost else ("broadcast" if event.dst == BROADCAST else "unicast")
        for target in row.targets:
            out.append(Arrow(event.src, target, text, style))
    return headers, out


def _ids(names) -> dict[str, str]:
    """Identifiers every syntax accepts (a host may be called ``relay-1`` or ``ftp server``)."""
    return {name: f"h{k}" for k, name in enumerate(names)}


def _plain(text: str) -> str:
    """One line of text: newlines and other control characters become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def _mermaid_text(text: str) -> str:
    # Mermaid reads ';' as a line end and '#' as the start of an entity ("#35;" is '#');
    # its entity codes keep them text. '<' and '>' could open HTML in labels.
    replace = {"#": "#35;", ";": "#59;", "<": "#lt;", ">": "#gt;"}
    return "".join(replace.get(ch, ch) for ch in _plain(text))


def to_mermaid(trace: Trace, hosts=None, times: bool = False) -> str:
    """A Mermaid ``sequenceDiagram`` (renders in GitHub and JupyterLab Markdown: fence it with ```mermaid)."""
    names, drawn = arrows(trace, hosts, times)
    ids = _ids(names)
    lines = ["sequenceDiagram"]
    for name in names:
        lines.append(f"    participant {ids[name]} as {_mermaid_text(names[name])}")
    head = {"unicast": "->>", "broadcast": "-->>", "lost": "-x"}
    for arrow in drawn:
        if arrow.style == "note":
            lines.append(f"    Note over {ids[arrow.src]}: {_mermaid_text(arrow.label)}")
        else:
            lines.append(f"    {ids[arrow.src]}{head[arrow.style]}{ids[arrow.dst]}: {_mermaid_text(arrow.label)}")
    return "\n".join(lines) + "\n"


ZWSP = "\u200b"  # zero-width space: shows nothing, and splits what a renderer would read as markup
_DOUBLED_MARKUP = re.compile(r'([*/_\-"\[\]^=])(?=\1)')  # PlantUML's creole: **bold**, --strike--, [[link]], ...


def _plantuml_text(text: str) -> str:
    """PlantUML reads creole markup, ``<tags>``, ``&#entities;``, ``~`` escapes and ``\\n`` in labels (a trailing
    backslash even continues the line). A zero-width space after each of them keeps them the characters typed."""
    text = _DOUBLED_MARKUP.sub(lambda m: m[1] + ZWSP, _plain(text))
    return re.sub(r"([\\~<&])", lambda m: m[1] + ZWSP, text)


def _mscgen_quoted(text: str) -> str:
    """mscgen reads ``\\n`` as a line break and ``\\"`` as a quote; a backslash is otherwise taken literally
    (``\\\\`` stays two), so each backslash gets a zero-width space after it, and quotes are escaped."""
    # Its SVG writer also copies '&' unescaped, so "&#92;" would show as a backslash: '&' gets one too.
    text = _plain(text).replace("\\", "\\" + ZWSP).replace("&", "&" + ZWSP)
    return '"' + text.replace('"', '\\"') + '"'


def to_plantuml(trace: Trace, hosts=None, times: bool = False) -> str:
    """PlantUML sequence diagram text (``plantuml -tsvg file.puml``)."""
    names, drawn = arrows(trace, hosts, times)
    ids = _ids(names)
    lines = ["@startuml", "hide footbox"]
    for name in names:
        lines.append(f'participant "{_plantuml_text(names[name]).replace(chr(34), ZWSP)}" as {ids[name]}')
    head = {"unicast": "->", "broadcast": "-->", "lost": "->x"}
    for arrow in drawn:
        label = _plantuml_text(arrow.label)  # after ':' PlantUML takes the rest of the line as the text
        if arrow.style == "note":
            lines.append(f"note over {ids[arrow.src]} : {label}")
        else:
            lines.append(f"{ids[arrow.src]} {head[arrow.style]} {ids[arrow.dst]} : {label}")
    lines.append("@enduml")
    return "\n".join(lines) + "\n"


def to_mscgen(trace: Trace, hosts=None, times: bool = False) -> str:
    """mscgen text (``mscgen -T svg -i file.msc``): the message sequence charts of ITU-T Z.120 style."""
    names, drawn = arrows(trace, hosts, times)
    ids = _ids(names)
    longest = max((len(a.label) for a in drawn), default=0)
    # mscgen gives each lifeline gap about 30 characters at hscale 1; widen it so labels clear the arrows.
    lines = ["msc {", f'  hscale = "{max(1.5, min(4.0, longest / 30)):.1f}";']
    lines.append("  " + ", ".join(f"{ids[n]} [label={_mscgen_quoted(names[n])}]" for n in names) + ";")
    head = {"unicast": "->", "broadcast": ">>", "lost": "-x"}  # '>>' is mscgen's dashed arrow
    for arrow in drawn:
        label = _mscgen_quoted(arrow.label)
        if arrow.style == "note":
            lines.append(f"  {ids[arrow.src]} note {ids[arrow.src]} [label={label}];")
        else:
            lines.append(f"  {ids[arrow.src]} {head[arrow.style]} {ids[arrow.dst]} [label={label}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def export_text(trace: Trace, fmt: str, hosts=None, times: bool = False) -> str:
    """``fmt`` is one of :data:`FORMATS`."""
    writers = {"mermaid": to_mermaid, "plantuml": to_plantuml, "mscgen": to_mscgen}
    if fmt not in writers:
        raise ValueError(f"unknown diagram format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return writers[fmt](trace, hosts, times)


def save_figure(fig, path: str | Path) -> Path:
    """Write a matplotlib figure as SVG, PDF or PNG, chosen by the file's suffix.

    SVG keeps its text as text (``svg.fonttype = none``), so a label can still be
    edited in a slide program; PDF embeds its fonts (TrueType, type 42), which
    journals ask for. Returns the path written.
    """
    path = Path(path)
    if path.suffix.lower() not in FIGURE_SUFFIXES:
        raise ValueError(f"{path.name}: a figure is saved as {', '.join(FIGURE_SUFFIXES)}, not {path.suffix!r}")
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "pdf.fonttype": 42}):
        fig.savefig(path, bbox_inches="tight", dpi=150)
    return path
