"""Saved ipywidgets views drawn as static HTML, from the state a notebook stores.

JupyterLab saves each widget model's state in the notebook's metadata
(``metadata.widgets["application/vnd.jupyter.widget-state+json"]``) and each
output that shows a widget names its root model. That state holds what the
reader saw when the notebook was saved: the picture of an ``Image`` (a base64
buffer), the markup of an ``HTML``, a slider's position. Drawing those with
ordinary HTML gives a reader without a kernel the stepper as it was left,
instead of ``VBox(children=...)``.

Only the widgets the course uses are drawn faithfully; any other model is named
in a short placeholder, so nothing fails on a notebook with a widget we never
met.
"""

from __future__ import annotations

import html

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PREFIX = "IPY_MODEL_"
MAX_DEPTH = 40  # a saved state with a cycle (never written by ipywidgets) still ends

NOTE = (
    '<div class="course-static-note" style="font-size:12px;color:#555;margin:2px 0 4px">'
    "A static copy of an interactive control, as it was saved: open the notebook in JupyterLab to use it."
    "</div>"
)


def saved_state(metadata) -> dict:
    """The notebook's saved widget models, ``{model_id: {"model_name", "state", "buffers"}}`` (or {})."""
    widgets = (metadata or {}).get("widgets") or {}
    return dict((widgets.get(WIDGET_STATE) or {}).get("state") or {})


def render_output(data: dict, models: dict) -> str | None:
    """Static HTML for one output's mime bundle that shows a widget, or None if it shows none."""
    view = data.get(WIDGET_VIEW)
    if not isinstance(view, dict):
        return None
    model_id = str(view.get("model_id", ""))
    if model_id in models:
        body = render(model_id, models)
    else:  # the notebook was saved without its widget state: say so, show the repr
        plain = data.get("text/plain", "")
        plain = "".join(plain) if isinstance(plain, list) else str(plain)
        body = f"<pre>{html.escape(plain)}</pre>"
    return f'<div class="course-static-widget">{NOTE}{body}</div>'


def render(model_id: str, models: dict, depth: int = 0) -> str:
    """One model and its children as HTML."""
    model = models.get(model_id)
    if model is None or depth > MAX_DEPTH:
        return ""
    name = str(model.get("model_name", ""))
    state = dict(model.get("state") or {})
    for buffer in model.get("buffers") or ():  # binary values (an Image's picture) are kept apart, base64
        path = buffer.get("path") or []
        if len(path) == 1 and buffer.get("encoding") == "base64":
            state[path[0]] = buffer.get("data", "")
    drawer = DRAWERS.get(name)
    if drawer is None:
        return f'<span class="course-static-control">[{html.escape(name.removesuffix("Model") or "widget")}]</span>'
    return drawer(state, models, depth)


def _style(state: dict, models: dict) -> str:
    """CSS from the model's LayoutModel: the sizes a view was given."""
    layout = models.get(str(state.get("layout", "")).removeprefix(PREFIX), {}).get("state", {})
    keep = (
        "display",
        "visibility",
        "width",
        "height",
        "max_width",
        "min_width",
        "margin",
        "padding",
        "flex",
        "align_self",
    )
    rules = [f"{key.replace('_', '-')}:{html.escape(str(layout[key]), quote=True)}" for key in keep if layout.get(key)]
    return ";".join(rules)


def _children(state: dict, models: dict, depth: int) -> str:
    ids = [str(child).removeprefix(PREFIX) for child in state.get("children") or ()]
    return "".join(render(child, models, depth + 1) for child in ids)


def _box(direction: str):
    def draw(state, models, depth):
        style = f"display:flex;flex-direction:{direction};flex-wrap:wrap;gap:6px;align-items:flex-start"
        extra = _style(state, models)
        return f'<div style="{style};{extra}">{_children(state, models, depth)}</div>'

    return draw


def _image(state, models, depth):
    if not state.get("value"):
        return ""  # an Image not yet given a picture (a stepper's hidden pane): nothing to show
    fmt = html.escape(str(state.get("format") or "png"), quote=True)
    data = html.escape(str(state.get("value") or ""), quote=True)
    size = "".join(
        f' {key}="{html.escape(str(state[key]), quote=True)}"' for key in ("width", "height") if state.get(key)
    )
    style = "max-width:100%;height:auto;" + _style(state, models)
    return f'<img src="data:image/{fmt};base64,{data}"{size} style="{style}" alt="a picture saved with the notebook">'


def _html(state, models, depth):
    # The markup was written by the course's own code when the notebook ran; it is shown as saved.
    return f'<div style="{_style(state, models)}">{state.get("value", "")}</div>'


def _label(state, models, depth):
    return f"<span>{html.escape(str(state.get('value', '')))}</span>"


def _button(state, models, depth):
    return f"<button disabled>{html.escape(str(state.get('description', '')))}</button>"


def _slider(state, models, depth):
    label = html.escape(str(state.get("description", "")))
    low, high, value = (html.escape(str(state.get(k, "")), quote=True) for k in ("min", "max", "value"))
    return (
        f'<label>{label} <input type="range" disabled min="{low}" max="{high}" value="{value}"> '
        f"{value} of {low}-{high}</label>"
    )


def _play(state, models, depth):
    return f"<button disabled>&#9654; {html.escape(str(state.get('description', '') or 'play'))}</button>"


def _choice(state, models, depth):
    labels = [str(label) for label in state.get("_options_labels") or ()]
    chosen = state.get("index")
    items = [f"<b>{html.escape(text)}</b>" if i == chosen else html.escape(text) for i, text in enumerate(labels)]
    label = html.escape(str(state.get("description", "")))
    return f"<span>{label} {' | '.join(items)}</span>"


def _text(state, models, depth):
    label = html.escape(str(state.get("description", "")))
    value = html.escape(str(state.get("value", "")), quote=True)
    return f'<label>{label} <input type="text" disabled value="{value}"></label>'


def _output(state, models, depth):
    parts = []
    for out in state.get("outputs") or ():
        data = out.get("data") or {}
        if out.get("output_type") == "stream":
            parts.append(f"<pre>{html.escape(''.join(out.get('text', '')))}</pre>")
        elif "text/html" in data:
            parts.append("".join(data["text/html"]))
        elif "image/png" in data:
            parts.append(f'<img src="data:image/png;base64,{"".join(data["image/png"])}" style="max-width:100%">')
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(''.join(data['text/plain']))}</pre>")
    return f'<div style="{_style(state, models)}">{"".join(parts)}</div>'


DRAWERS = {
    "VBoxModel": _box("column"),
    "BoxModel": _box("column"),
    "HBoxModel": _box("row"),
    "GridBoxModel": _box("row"),
    "ImageModel": _image,
    "HTMLModel": _html,
    "HTMLMathModel": _html,
    "LabelModel": _label,
    "ButtonModel": _button,
    "IntSliderModel": _slider,
    "FloatSliderModel": _slider,
    "PlayModel": _play,
    "DropdownModel": _choice,
    "ToggleButtonsModel": _choice,
    "RadioButtonsModel": _choice,
    "SelectModel": _choice,
    "TextModel": _text,
    "TextareaModel": _text,
    "OutputModel": _output,
}
