"""Smaller pictures in stored notebooks: palette PNGs, and widget state without its defaults.

A lesson's file was up to 1 MB, nearly all of it pictures: sequence diagrams
and animation frames saved by matplotlib as full-colour RGBA PNGs, and the
saved state of the widgets (the stepper's current image, and a layout model per
widget listing every CSS property as ``null``). A diagram uses a handful of
colours plus their anti-aliased edges, so a 64-colour palette PNG
(:func:`compact_png`) looks the same at about a quarter of the size; a layout
property left ``null`` is the widget's default anyway, so the saved state need
not carry it (:func:`compact_widget_state`).

Used by the animation player (each frame), and by ``python -m refimpl refresh``
on every stored PNG output and widget image. nbval does not compare PNG
outputs, so this changes nothing it checks. Pillow comes with matplotlib and is
imported only when a picture is compacted.
"""

from __future__ import annotations

import base64
import binascii
import io

PALETTE_COLOURS = 64  # enough for the course's 7 flow colours, red, grey, yellow notes and their edges


def compact_png(png: bytes, colours: int = PALETTE_COLOURS) -> bytes:
    """``png`` as a palette PNG of at most ``colours`` colours, or unchanged when that is not smaller.

    Transparent pictures keep their alpha (quantized with it); anything Pillow
    cannot read is returned as it came, so a strange output is never lost.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(png))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError):
        return png
    if image.mode == "P":
        return png  # already a palette picture
    if image.mode == "RGBA" and image.getextrema()[3][0] == 255:
        image = image.convert("RGB")  # opaque: matplotlib's figures are
    if image.mode == "RGBA":
        quantized = image.quantize(colors=colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    else:
        quantized = image.convert("RGB").quantize(
            colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    out = io.BytesIO()
    quantized.save(out, "PNG", optimize=True)
    smaller = out.getvalue()
    return smaller if len(smaller) < len(png) else png


def compact_png_base64(text: str) -> str:
    """The same for a base64 string, as notebooks store pictures (newlines allowed)."""
    try:
        raw = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return text
    smaller = compact_png(raw)
    return text if smaller is raw else base64.b64encode(smaller).decode("ascii")


def compact_outputs(nb) -> tuple[int, int]:
    """Compact every ``image/png`` output of every cell in place; return (bytes before, bytes after)."""
    before = after = 0
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                text = data["image/png"]
                text = "".join(text) if isinstance(text, list) else text
                new = compact_png_base64(text)
                before, after = before + len(text), after + len(new)
                data["image/png"] = new
    return before, after


def compact_widget_state(nb) -> tuple[int, int]:
    """Drop ``null`` properties of saved layout models and compact saved PNG images; (before, after) sizes."""
    import json

    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {})
    before = len(json.dumps(models))
    for model in models.values():
        values = model.get("state", {})
        if model.get("model_name") == "LayoutModel":
            for key in [k for k, v in values.items() if v is None and not k.startswith("_")]:
                del values[key]
        elif model.get("model_name") == "ImageModel" and values.get("format") == "png":
            for buffer in model.get("buffers", []):  # the picture is a binary buffer, saved as base64
                if buffer.get("path") == ["value"] and buffer.get("encoding") == "base64":
                    buffer["data"] = compact_png_base64(buffer["data"])
    return before, len(json.dumps(models))


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def drop_kernel_only_widgets(nb, stand_in: str | None = None) -> int:
    """Store a question's Check control as its plain-text stand-in only; return how many were dropped.

    The control (:func:`refimpl.quiz.widget.control`) does nothing without a
    kernel: its saved widget state would only let a static view draw a button
    that cannot check anything. Its output keeps the plain text that says so
    (nbval compares that text; it never compares widget views), and the models
    that nothing else shows leave the saved state. A live kernel makes new ones.
    """
    import re

    if stand_in is None:
        from refimpl.quiz.widget import NEEDS_KERNEL as stand_in
    dropped: list[str] = []
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            plain = data.get("text/plain", "")
            plain = "".join(plain) if isinstance(plain, list) else plain
            if WIDGET_VIEW in data and plain == stand_in:
                dropped.append(data.pop(WIDGET_VIEW).get("model_id", ""))
    state = nb.get("metadata", {}).get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    models = state.get("state", {})
    if not models:
        return len(dropped)
    # Keep every model reachable from a view still shown; the rest belonged to the dropped controls.
    shown = [
        output["data"][WIDGET_VIEW].get("model_id", "")
        for cell in nb.get("cells", [])
        for output in cell.get("outputs", [])
        if WIDGET_VIEW in output.get("data", {})
    ]
    keep: set[str] = set()
    todo = [m for m in shown if m in models]
    while todo:
        model_id = todo.pop()
        if model_id in keep or model_id not in models:
            continue
        keep.add(model_id)
        todo.extend(re.findall(r"IPY_MODEL_(\w+)", json_text(models[model_id])))
    for model_id in [m for m in models if m not in keep]:
        del models[model_id]
    return len(dropped)


def json_text(value) -> str:
    import json

    return json.dumps(value)
