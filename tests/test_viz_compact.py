"""Smaller stored notebooks (issue 17): palette PNGs that look the same, widget state without dead weight."""

from __future__ import annotations

import base64
import copy
import io
from pathlib import Path

import pytest

from refimpl.quiz.widget import NEEDS_KERNEL
from refimpl.viz.compact import (
    WIDGET_VIEW,
    compact_outputs,
    compact_png,
    compact_widget_state,
    drop_kernel_only_widgets,
)

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 300_000  # bytes per lesson file (issue 17)


def diagram_png() -> bytes:
    pytest.importorskip("matplotlib")
    from refimpl.dhcp import scenarios
    from refimpl.viz.sequence import sequence_diagram

    buffer = io.BytesIO()
    fig = sequence_diagram(scenarios.one_client(drop={"DHCPOFFER": {1}}).trace)
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def test_a_diagram_keeps_its_look_at_a_fraction_of_the_bytes():
    from PIL import Image, ImageChops, ImageStat

    original = diagram_png()
    small = compact_png(original)
    assert len(small) * 2.5 < len(original), (len(original), len(small))
    a, b = Image.open(io.BytesIO(original)).convert("RGB"), Image.open(io.BytesIO(small)).convert("RGB")
    assert a.size == b.size and Image.open(io.BytesIO(small)).mode == "P"
    difference = ImageStat.Stat(ImageChops.difference(a, b)).mean
    assert max(difference) < 2.0, difference  # of 255: the eye sees no change
    # every colour the picture uses for meaning (arrows, red lost marks, notes) survives almost exactly
    colours = {c for n, c in a.getcolors(1 << 20) if n > 200}
    kept = {c for n, c in b.getcolors(1 << 20)}
    assert all(min(sum(abs(x - y) for x, y in zip(c, k)) for k in kept) <= 24 for c in colours)


def test_what_is_not_a_png_or_already_small_is_returned_as_it_came():
    assert compact_png(b"not a picture") == b"not a picture"
    small = compact_png(diagram_png())
    assert compact_png(small) is small  # already a palette picture


def test_outputs_are_compacted_in_place():
    png = base64.b64encode(diagram_png()).decode()
    nb = {"cells": [{"cell_type": "code", "outputs": [{"data": {"image/png": png, "text/plain": "<Figure>"}}]}]}
    before, after = compact_outputs(nb)
    assert after * 2.5 < before and nb["cells"][0]["outputs"][0]["data"]["text/plain"] == "<Figure>"


def widget_nb() -> dict:
    def model(name, **state):
        return {"model_name": name, "state": {"_model_name": name, **state}}

    outputs = [
        {"data": {WIDGET_VIEW: {"model_id": "a1"}, "text/plain": NEEDS_KERNEL}},  # a question's Check control
        {"data": {WIDGET_VIEW: {"model_id": "c1"}, "text/plain": "Stepper"}},  # a stepper: kept
    ]
    state = {
        "a1": model("VBoxModel", children=["IPY_MODEL_b1"], layout="IPY_MODEL_l1"),
        "b1": model("ButtonModel", layout="IPY_MODEL_l2"),
        "l2": model("LayoutModel", width=None),
        "c1": model("VBoxModel", children=["IPY_MODEL_d1"], layout="IPY_MODEL_l1"),
        "d1": model("ImageModel", format="png"),
        "l1": model("LayoutModel", width="20em", height=None, _view_count=None),
    }
    return {
        "cells": [{"cell_type": "code", "outputs": outputs}],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": state}}},
    }


def test_check_controls_are_stored_as_their_stand_in_and_their_models_leave():
    nb = widget_nb()
    assert drop_kernel_only_widgets(nb) == 1
    quiz, stepper = nb["cells"][0]["outputs"]
    assert quiz["data"] == {"text/plain": NEEDS_KERNEL}
    assert WIDGET_VIEW in stepper["data"]
    models = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert set(models) == {"c1", "d1", "l1"}  # l1 is shared with the stepper: kept


def test_layout_models_lose_their_null_properties_only():
    nb = widget_nb()
    compact_widget_state(nb)
    models = nb["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    assert models["l1"]["state"] == {"_model_name": "LayoutModel", "width": "20em", "_view_count": None}
    assert models["b1"]["state"]["layout"] == "IPY_MODEL_l2"
    untouched = copy.deepcopy(models["a1"])
    compact_widget_state(nb)
    assert models["a1"] == untouched


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").rglob("*.ipynb")), ids=lambda p: p.name)
def test_each_lesson_file_is_under_300_kB(path):
    size, limit = path.stat().st_size, LIMIT
    assert size < limit, (
        f"{path.name} is {size // 1000} kB (limit {limit // 1000} kB); run python -m refimpl refresh on it"
    )


def test_a_wide_diagram_is_drawn_no_wider_than_the_output_area_and_a_narrow_one_at_full_dpi():
    pytest.importorskip("matplotlib")
    from refimpl.dhcp import attacks, scenarios
    from refimpl.viz.sequence import DPI, MAX_WIDTH_PX, dpi_for, sequence_diagram

    assert dpi_for(5.0) == DPI and dpi_for(20.0) == MAX_WIDTH_PX / 20.0
    narrow = sequence_diagram(scenarios.one_client().trace)
    wide = sequence_diagram(attacks.snooping_rogue().trace, hosts=["victim", "switch", "rogue", "router", "dhcp"])
    assert narrow.dpi == DPI
    assert wide.get_size_inches()[0] * wide.dpi <= MAX_WIDTH_PX + 0.5
