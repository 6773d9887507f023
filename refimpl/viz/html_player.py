"""An animation as one self-contained HTML player: offline, and working on the first click.

matplotlib's ``Animation.to_jshtml`` was the course's player, and a browser
test found three faults in it:

1. its buttons are font-awesome icons, and it links their stylesheet from a
   CDN: a request to the internet from every lesson (it fails in an offline
   classroom, and the buttons are blank boxes outside JupyterLab, which
   happens to bundle that font);
2. its script finds the image with ``document.getElementById`` once, just
   after it ran; and JupyterLab's notebook takes the first mousedown on an
   output to select the cell, so the first click on Play was lost;
3. before its script runs (an untrusted notebook, a static view) the image is
   empty.

This player keeps what matplotlib draws (one PNG per frame, collected with a
:class:`matplotlib.animation.AbstractMovieWriter`) and replaces the page
around it: the buttons are inline SVG, the script finds its own elements
from ``document.currentScript`` (no global names, no ids to look up), it
keeps mousedown on its controls to itself, and the image shows the last
frame (the whole exchange) in the HTML itself, so a reader without a kernel
or without scripts still sees the diagram. Play from the last frame starts
again from the first.

A sequence diagram need not be stored once per frame at all: frame *k* is the
whole diagram with the rows after *k* hidden. ``player_html(..., reveal=rows)``
takes one picture and, per frame, where its highlighted row lies (fractions of
the picture's height); the script moves a white mask over the rows not yet
reached and a highlighter band over the current one. One picture instead of
one per message is what keeps the lessons under 300 kB, and it leaves room to
draw that picture at the static diagrams' dpi, so its labels are as large.

Nothing here imports matplotlib at module import time.
"""

from __future__ import annotations

import base64
import html
import io
import json
import uuid

# 16x16 icons as SVG paths: no font, no stylesheet, nothing fetched.
ICONS = {
    "first": "M2 3h2v10H2z M9 3v10L4 8z M15 3v10l-5-5z",
    "prev": "M3 3h2v10H3z M13 3v10L6 8z",
    "play": "M4 2v12l10-6z",
    "pause": "M4 3h3v10H4z M9 3h3v10H9z",
    "next": "M3 3v10l7-5z M11 3h2v10h-2z",
    "last": "M1 3v10l5-5z M7 3v10l5-5z M12 3h2v10h-2z",
}
TITLES = {
    "first": "First frame",
    "prev": "Previous frame",
    "play": "Play",
    "pause": "Pause",
    "next": "Next frame",
    "last": "Last frame",
}

SCRIPT = """
(function (script) {
  var root = script ? script.parentNode : document.getElementById(PLAYER_ID);
  if (!root || root.getAttribute("data-ready")) return;
  root.setAttribute("data-ready", "1");
  var img = root.querySelector("img"), slider = root.querySelector("input[type=range]");
  var counter = root.querySelector(".anim-counter"), loop = root.querySelector("input[type=checkbox]");
  var frames = FRAMES, reveal = REVEAL;
  var mask = root.querySelector(".anim-mask"), band = root.querySelector(".anim-band");
  if (reveal) { frames = reveal; } else { frames.push(img.getAttribute("src")); }
  var current = frames.length - 1, timer = null, interval = INTERVAL;
  function show(k) {
    current = Math.max(0, Math.min(frames.length - 1, k));
    if (reveal) {  /* one picture: hide the rows after this one, highlight this one */
      var row = reveal[current], last = current === frames.length - 1;
      mask.style.top = (last ? 100 : row[1] * 100) + "%";
      band.style.top = row[0] * 100 + "%";
      band.style.height = (row[1] - row[0]) * 100 + "%";
      band.style.display = "block";
    } else {
      img.src = frames[current];
    }
    slider.value = current;
    counter.textContent = (current + 1) + "/" + frames.length;
  }
  function pause() { if (timer) { clearInterval(timer); timer = null; } }
  function tick() {
    if (current < frames.length - 1) show(current + 1);
    else if (loop.checked) show(0);
    else pause();
  }
  function play() { pause(); if (current >= frames.length - 1) show(0); timer = setInterval(tick, interval); }
  var acts = {
    first: function () { pause(); show(0); },
    prev: function () { pause(); show(current - 1); },
    play: play,
    pause: pause,
    next: function () { pause(); show(current + 1); },
    last: function () { pause(); show(frames.length - 1); }
  };
  /* The notebook selects a cell on mousedown and may move it: keep our presses to ourselves. */
  function own(e) { e.stopPropagation(); }
  root.querySelectorAll("button, input").forEach(function (node) {
    node.addEventListener("mousedown", own);
    node.addEventListener("pointerdown", own);
  });
  root.querySelectorAll("button[data-act]").forEach(function (button) {
    button.addEventListener("click", function (e) { e.stopPropagation(); acts[button.getAttribute("data-act")](); });
  });
  slider.addEventListener("input", function () { pause(); show(parseInt(slider.value, 10)); });
  root.player = {show: show, play: play, pause: pause, frame: function () { return current; }};
})(document.currentScript);
"""


def _data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _button(action: str) -> str:
    return (
        f'<button type="button" data-act="{action}" title="{TITLES[action]}" aria-label="{TITLES[action]}"'
        ' style="width:34px;height:26px;padding:0;margin:0 1px;vertical-align:middle">'
        f'<svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true"><path d="{ICONS[action]}"'
        ' fill="currentColor"/></svg></button>'
    )


def player_html(
    frames: list[bytes],
    interval: int = 900,
    loop: bool = False,
    alt: str = "animation",
    reveal: list[tuple[float, float]] | None = None,
    band: tuple[float, float] = (0.0, 1.0),
) -> str:
    """An HTML player for PNG ``frames``, shown ``interval`` ms apart; the last frame is shown at first.

    With ``reveal``, ``frames`` is one picture and each frame *k* shows it down to the bottom of
    ``reveal[k]`` (top and bottom of the row, as fractions of the picture's height), that row
    highlighted across ``band`` (its left and right edges as fractions of the width: the plot's,
    not the margins'); the last frame shows the whole picture.
    """
    if not frames:
        raise ValueError("an animation needs at least one frame")
    if reveal is not None:
        if len(frames) != 1 or not reveal:
            raise ValueError("a revealed animation is one picture and at least one row")
        if any(not 0 <= top < bottom <= 1 for top, bottom in reveal):
            raise ValueError(f"each row is (top, bottom) with 0 <= top < bottom <= 1, not {reveal}")
    ident = "course-anim-" + uuid.uuid4().hex
    from refimpl.viz.compact import compact_png

    urls = [_data_url(compact_png(png)) for png in frames]  # palette PNGs: a quarter of the bytes
    last = len(reveal) if reveal is not None else len(urls)
    buttons = "".join(_button(action) for action in ICONS)
    rows = None if reveal is None else [[round(top, 5), round(bottom, 5)] for top, bottom in reveal]
    script = (  # the pictures go in last: base64 text could hold a word like "INTERVAL"
        SCRIPT.replace("PLAYER_ID", json.dumps(ident))
        .replace("REVEAL", json.dumps(rows))
        .replace("INTERVAL", str(int(interval)))
        .replace("FRAMES", json.dumps(urls[:-1]))
    )
    picture = f'<img alt="{html.escape(alt)}" src="{urls[-1]}" style="max-width:100%;display:block">'
    if reveal is not None:  # the mask and band start hidden: without a script the whole diagram shows
        picture = (
            '<div class="anim-stage" style="position:relative;display:inline-block;max-width:100%">'
            f"{picture}"
            f'<div class="anim-band" style="position:absolute;left:{band[0]:.3%};right:{1 - band[1]:.3%};'
            "display:none;background:#ffe9a8;"
            'mix-blend-mode:multiply;pointer-events:none"></div>'
            '<div class="anim-mask" style="position:absolute;left:0;right:0;top:100%;bottom:0;background:#fff;'
            'pointer-events:none"></div></div>'
        )
    return (
        f'<div class="animation course-player" id="{ident}" style="display:inline-block;text-align:center">'
        f"{picture}"
        '<div class="anim-controls">'
        f'<input type="range" min="0" max="{last - 1}" value="{last - 1}" step="1" aria-label="frame"'
        ' style="width:70%;vertical-align:middle">'
        f' <span class="anim-counter" style="font-family:monospace">{last}/{last}</span>'
        f'<div class="anim-buttons" style="margin:4px 0">{buttons}'
        f' <label style="vertical-align:middle"><input type="checkbox"{" checked" if loop else ""}> loop</label>'
        "</div></div>"
        f"<script>{script}</script>"
        "</div>"
    )


def animation_frames(anim) -> list[bytes]:
    """Every frame of a matplotlib Animation as PNG bytes, at the figure's dpi (how ``to_jshtml`` draws them)."""
    from matplotlib.animation import AbstractMovieWriter

    class _Frames(AbstractMovieWriter):
        """A 'movie writer' that keeps each frame in memory instead of writing a file."""

        def __init__(self):
            super().__init__()
            self.frames: list[bytes] = []

        def setup(self, fig, outfile, dpi=None):
            self.fig, self.outfile = fig, outfile
            self.dpi = fig.dpi if dpi is None else dpi

        def grab_frame(self, **savefig_kwargs):
            buffer = io.BytesIO()
            self.fig.savefig(buffer, format="png", dpi=self.dpi, **savefig_kwargs)
            self.frames.append(buffer.getvalue())

        def finish(self):
            pass

    writer = _Frames()
    anim.save("frames", writer=writer)
    return writer.frames
