"""The Mermaid export renders, in JupyterLab's own Mermaid (bundled with it: nothing from a CDN), with the
arrows of the matplotlib diagram.

A teacher pastes ``to_mermaid(trace)`` into a Markdown cell, a slide or a GitHub page. The test writes
such a cell into a notebook the test's JupyterLab serves, opens it offline, and reads the SVG Mermaid
drew: one message line per arrow of :func:`refimpl.viz.export.arrows`, each with the label the matplotlib
picture writes beside its arrow, a dashed line for a broadcast, a cross for a lost packet, and the notes.
"""

from __future__ import annotations

import json

import matplotlib
import pytest
from matplotlib.patches import FancyArrowPatch
from test_lessons_in_browser import _open_lesson

from refimpl.viz import export, sequence

matplotlib.use("Agg")

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SVG = ".jp-RenderedMermaid img"  # JupyterLab 4 draws a Mermaid block as an SVG inside an <img>, isolated from the page


def _traces():
    from refimpl.dhcp import scenarios as dhcp
    from refimpl.tftp import scenarios as tftp

    return {
        "dhcp_lease": dhcp.one_client().trace,
        "tftp_lost_data": tftp.read_file(size=1200, drop={"DATA 2": {1}}).trace,
    }


def _notebook(blocks: dict[str, str]) -> dict:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": f"## {name}\n\n```mermaid\n{text}```\n"}
        for name, text in blocks.items()
    ]
    kernel = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return {"cells": cells, "metadata": kernel, "nbformat": 4, "nbformat_minor": 5}


def _matplotlib_arrows(trace) -> tuple[int, list[str]]:
    import matplotlib.pyplot as plt

    fig = sequence.sequence_diagram(trace)
    ax = fig.axes[0]
    count = sum(isinstance(p, FancyArrowPatch) for p in ax.patches)
    texts = [t.get_text() for t in ax.texts]
    plt.close(fig)
    return count, texts


def test_mermaid_export_renders_with_the_pictures_arrows(lab, offline, artifacts):
    traces = _traces()
    blocks = {name: export.to_mermaid(trace) for name, trace in traces.items()}
    path = lab.root / "notebooks" / "mermaid_export.ipynb"
    path.write_text(json.dumps(_notebook(blocks)), encoding="utf-8")
    page = offline.page
    try:
        _open_lesson(page, lab, path.name)
        page.wait_for_function(
            f"(n) => document.querySelectorAll('{SVG}').length >= n",
            arg=len(blocks),
            timeout=60_000,
        )
        drawn = page.evaluate(
            """async (selector) => {
                const pictures = [];
                for (const img of document.querySelectorAll(selector)) {
                    const text = await (await fetch(img.src)).text();  // the SVG Mermaid wrote (a data: URL)
                    const svg = new DOMParser().parseFromString(text, 'image/svg+xml');
                    pictures.push({
                        messages: [...svg.querySelectorAll('.messageText')].map((t) => t.textContent.trim()),
                        dashed: svg.querySelectorAll('.messageLine1').length,
                        solid: svg.querySelectorAll('.messageLine0').length,
                        notes: [...svg.querySelectorAll('.noteText')].map((t) => t.textContent.trim()),
                        crosses: svg.querySelectorAll('[marker-end*=crosshead]').length,
                    });
                }
                return pictures;
            }""",
            SVG,
        )
        page.screenshot(path=str(artifacts / "mermaid_export.png"), full_page=True)
    finally:
        path.unlink(missing_ok=True)
        lab.shutdown_kernels()
    assert offline.external == []
    assert len(drawn) == len(traces)
    for (name, trace), svg in zip(traces.items(), drawn):
        _, wanted = export.arrows(trace)
        lines = [a for a in wanted if a.style != "note"]
        assert svg["messages"] == [a.label for a in lines], name
        assert svg["notes"] == [a.label for a in wanted if a.style == "note"], name
        assert svg["dashed"] == sum(a.style == "broadcast" for a in lines), name
        assert svg["solid"] == sum(a.style != "broadcast" for a in lines), name
        assert svg["crosses"] == sum(a.style == "lost" for a in lines), name
        count, texts = _matplotlib_arrows(trace)
        assert count == len(lines), f"{name}: the picture draws {count} arrows, Mermaid {len(lines)}"
        assert all(a.label in texts for a in lines), f"{name}: an arrow Mermaid draws is not in the picture"
    assert any(svg["crosses"] for svg in drawn), "the lossy TFTP trace shows a lost packet"
