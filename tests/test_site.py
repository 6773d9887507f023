"""The static course site: everything a student may read, nothing fetched from the internet, no solutions."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from refimpl.site import build, static_widgets

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    dest = tmp_path_factory.mktemp("site")
    problems = build.build(dest)
    return dest, problems


def test_the_built_site_has_no_problems(site):
    dest, problems = site
    assert problems == []


def test_every_lesson_lab_and_exercise_has_a_page_and_nothing_else_does(site):
    dest, _ = site
    written = {p.relative_to(dest).as_posix() for p in dest.rglob("*.html")}
    lessons = {f"notebooks/{p.stem}.html" for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    labs = {f"notebooks/labs/{p.stem}.html" for p in (ROOT / "notebooks/labs").glob("*.ipynb")}
    exercises = {f"exercises/{p.stem}.html" for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb")}
    assert written == (lessons - {"notebooks/99_for_teachers.html"}) | labs | exercises | {"index.html"}
    assert not any("solution" in name for name in written)


def test_no_page_fetches_from_another_host_or_shows_a_widget_repr(site):
    dest, _ = site
    for path in dest.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert build.external_fetches(text) == [], path.name
        assert "children=(" not in text, path.name
        assert "require.min.js" not in text and "MathJax" not in text and "mermaid" not in text.lower(), path.name


def test_saved_widget_views_are_drawn_with_their_pictures(site):
    dest, _ = site
    for lesson in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"):
        nb = json.loads(lesson.read_text(encoding="utf-8"))
        views = sum(
            static_widgets.WIDGET_VIEW in out.get("data", {}) for c in nb["cells"] for out in c.get("outputs", [])
        )
        if lesson.name in build.TEACHER_ONLY or not views:
            continue
        page = (dest / "notebooks" / f"{lesson.stem}.html").read_text(encoding="utf-8")
        assert page.count('class="course-static-widget"') == views, lesson.name
        assert "data:image/png;base64," in page, lesson.name


def test_exercise_pages_hold_no_hidden_check_and_no_solution(site):
    from refimpl.grading import student_release

    dest, _ = site
    secrets = student_release.secrets(ROOT / "solutions")
    assert secrets, "the solutions hold hidden checks, so this test checks something"
    assert student_release.audit(dest, secrets) == []


def test_the_check_sees_a_leak_a_fetch_a_repr_and_a_dead_link(site, tmp_path):
    from refimpl.grading import student_release

    what, secret = student_release.secrets(ROOT / "solutions")[0]
    (tmp_path / "a.html").write_text(
        f'<html><head><script src="https://cdn.example.com/x.js"></script></head>'
        f"<body><pre>{secret}</pre><pre>VBox(children=(Button(),))</pre>"
        f'<a href="missing.html">x</a><a href="https://example.com/">fine</a></body></html>',
        encoding="utf-8",
    )
    problems = build.check(tmp_path)
    assert any("fetches https://cdn.example.com/x.js" in p for p in problems)
    assert any(what in p for p in problems)
    assert any("Python repr" in p for p in problems)
    assert any("missing.html" in p for p in problems)
    assert not any('example.com/"' in p or p.endswith("https://example.com/") for p in problems)


@pytest.mark.parametrize(
    "markup",
    [
        '<link rel="stylesheet" href="https://cdnjs.example.com/font-awesome.css">',
        '<img src="//cdn.example.com/a.png">',
        '<div style="background:url(https://cdn.example.com/b.png)"></div>',
        "<style>@import 'https://cdn.example.com/c.css';</style>",
        '<iframe src="http://cdn.example.com/d"></iframe>',
    ],
)
def test_external_fetches_finds_every_way_a_page_loads_something(markup):
    assert len(build.external_fetches(markup)) == 1


def test_a_link_a_reader_clicks_is_not_a_fetch():
    assert build.external_fetches('<a href="https://www.rfc-editor.org/rfc/rfc2131">RFC 2131</a>') == []


@pytest.mark.parametrize(
    "target, page, expected",
    [
        ("02_dhcp_lease.ipynb", "notebooks/01_dhcp_message.html", "02_dhcp_lease.html"),
        ("02_dhcp_lease.ipynb#the-offer", "notebooks/01_dhcp_message.html", "02_dhcp_lease.html#the-offer"),
        ("../exercises/02_dhcp_lease.ipynb", "notebooks/02_dhcp_lease.html", "../exercises/02_dhcp_lease.html"),
        ("../solutions/02_dhcp_lease.ipynb", "notebooks/02_dhcp_lease.html", None),
        ("99_for_teachers.ipynb", "notebooks/00_start_here.html", None),
        ("../refimpl/dhcp/server.py", "notebooks/02_dhcp_lease.html", None),
        ("../../../etc/passwd", "notebooks/02_dhcp_lease.html", None),
        (
            "https://www.rfc-editor.org/rfc/rfc2131",
            "notebooks/02_dhcp_lease.html",
            "https://www.rfc-editor.org/rfc/rfc2131",
        ),
        ("#top", "notebooks/02_dhcp_lease.html", "#top"),
    ],
)
def test_links_are_rewritten_or_become_plain_text(target, page, expected):
    published = {"notebooks/01_dhcp_message.html", "notebooks/02_dhcp_lease.html", "exercises/02_dhcp_lease.html"}
    assert build.rewrite_link(target, page, published) == expected


def test_markdown_link_to_a_solution_keeps_its_words():
    text = "See [the solution](../solutions/02_dhcp_lease.ipynb) or [lesson 01](01_dhcp_message.ipynb)."
    out = build.rewrite_markdown(text, "notebooks/02_dhcp_lease.html", {"notebooks/01_dhcp_message.html"})
    assert out == "See the solution or [lesson 01](01_dhcp_message.html)."


PNG = base64.b64encode(b"\x89PNG fake").decode()


def _models():
    png = PNG
    return {
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_img", "IPY_MODEL_row"]}},
        "row": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_go", "IPY_MODEL_pick", "IPY_MODEL_t"]}},
        "img": {
            "model_name": "ImageModel",
            "state": {"format": "png", "layout": "IPY_MODEL_lay"},
            "buffers": [{"path": ["value"], "encoding": "base64", "data": png}],
        },
        "lay": {"model_name": "LayoutModel", "state": {"width": "480px"}},
        "go": {"model_name": "ButtonModel", "state": {"description": "next <b>"}},
        "pick": {"model_name": "IntSliderModel", "state": {"description": "message", "min": 0, "max": 5, "value": 2}},
        "t": {"model_name": "FancyPlotModel", "state": {}},
    }


def test_renderer_draws_a_handmade_state():
    out = static_widgets.render_output(
        {static_widgets.WIDGET_VIEW: {"model_id": "box"}, "text/plain": "VBox(children=(...))"}, _models()
    )
    assert out.count("<div") >= 3
    assert f'src="data:image/png;base64,{PNG}"' in out
    assert "width:480px" in out
    assert "next &lt;b&gt;" in out  # a description is text, never markup
    assert re.search(r'type="range" disabled min="0" max="5" value="2"', out)
    assert "[FancyPlot]" in out  # a model the course never uses is named, not dropped silently
    assert "VBox(children" not in out
    assert static_widgets.NOTE in out


def test_renderer_survives_a_cycle_and_a_missing_state():
    cycle = {"a": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_a"]}}}
    assert (
        static_widgets.render("a", cycle).count("<div") == static_widgets.MAX_DEPTH + 1
    )  # depth 0 to MAX_DEPTH, then it stops
    out = static_widgets.render_output({static_widgets.WIDGET_VIEW: {"model_id": "gone"}, "text/plain": "VBox()"}, {})
    assert "<pre>VBox()</pre>" in out
    assert static_widgets.render_output({"text/plain": "7"}, {}) is None


def test_index_lists_every_unit_and_lab(site):
    from refimpl import syllabus

    dest, _ = site
    index = (dest / "index.html").read_text(encoding="utf-8")
    for unit in syllabus.UNITS:
        assert f'href="notebooks/{Path(unit.lesson).stem}.html"' in index
    for lab in (ROOT / "notebooks/labs").glob("*.ipynb"):
        assert f'href="notebooks/labs/{lab.stem}.html"' in index


def test_a_hidden_pane_stays_hidden_and_an_empty_image_draws_nothing():
    models = {
        "img": {"model_name": "ImageModel", "state": {"format": "png", "value": "", "layout": "IPY_MODEL_lay"}},
        "lay": {"model_name": "LayoutModel", "state": {"display": "none"}},
        "box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_img"], "layout": "IPY_MODEL_lay"}},
    }
    assert static_widgets.render("img", models) == ""
    assert "display:none" in static_widgets.render("box", models)
