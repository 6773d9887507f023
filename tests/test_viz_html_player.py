"""The HTML animation player (refimpl.viz.html_player) without a browser: offline-safe, self-contained.

tests/browser/ checks that it plays in JupyterLab; these check what the HTML is made of.
"""

from __future__ import annotations

import base64
import json
import re

import pytest

from refimpl.viz.html_player import ICONS, player_html
from refimpl.viz.sequence import animate_sequence, to_html_player
from tests.test_viz_sequence import dhcp_like_trace

PNG = b"\x89PNG\r\n\x1a\n"  # enough of a picture for the HTML (the browser test draws real ones)


def _urls(html: str) -> list[str]:
    return re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html)


def test_nothing_is_fetched_from_outside_the_page():
    """matplotlib's to_jshtml linked a font-awesome stylesheet from a CDN: none of that here."""
    html = player_html([PNG + b"a", PNG + b"b"])
    assert "<link" not in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "http" not in html.replace("http://www.w3.org/2000/svg", "")
    assert "fa-" not in html  # no icon font: the icons are inline SVG
    assert html.count("<svg") == len(ICONS)


def test_the_last_frame_is_in_the_page_itself_and_each_frame_once():
    frames = [PNG + bytes([k]) for k in range(4)]
    html = player_html(frames, interval=700)
    urls = _urls(html)
    assert len(urls) == 4  # no frame stored twice
    shown = re.search(r'<img [^>]*src="([^"]+)"', html).group(1)
    assert shown == "data:image/png;base64," + base64.b64encode(frames[-1]).decode()  # a reader without
    assert sorted(urls) == sorted(set(urls))  # scripts sees the whole exchange; no frame is stored twice
    assert 'value="3"' in html and "4/4" in html
    assert "interval = 700" in html


def test_the_script_finds_its_own_elements_and_defines_no_global_name():
    html = player_html([PNG, PNG + b"x"])
    script = html[html.index("<script>") : html.index("</script>")]
    assert "document.currentScript" in script
    assert not re.search(r"^\s*(var\s+)?anim\w*\s*=", script, re.M)  # matplotlib's anim<uuid> globals
    assert html.index("<script>") > html.index("<img")  # inside the player, after what it drives


def test_loop_and_errors():
    assert "checked>" in player_html([PNG], loop=True)
    assert "checked>" not in player_html([PNG])
    with pytest.raises(ValueError):
        player_html([])


def test_a_sequence_animation_with_every_frame_stores_one_picture_per_message():
    trace = dhcp_like_trace()[:3]
    html = to_html_player(animate_sequence(trace, title="three", dpi=30), every_frame=True)
    assert len(_urls(html)) == 3
    assert 'alt="sequence diagram, one message per frame: three"' in html
    assert 'class="animation course-player"' in html


def _reveal_rows(html: str):
    script = html[html.index("<script>") : html.index("</script>")]
    return json.loads(re.search(r"reveal = (\[\[.*?\]\]);", script).group(1))


def test_a_sequence_animation_is_one_picture_revealed_row_by_row():
    trace = dhcp_like_trace()[:4]
    anim = animate_sequence(trace, title="four", dpi=30)
    html = to_html_player(anim)
    assert len(_urls(html)) == 1  # the whole diagram, once
    rows = _reveal_rows(html)
    assert len(rows) == anim._course_rows == 4
    assert all(0 <= top < bottom <= 1 for top, bottom in rows)
    assert all(a[1] <= b[0] + 1e-6 for a, b in zip(rows, rows[1:]))  # rows go down the picture, apart
    assert 'class="anim-mask"' in html and "top:100%" in html  # unscripted: nothing hidden
    assert "4/4" in html
    assert 'alt="sequence diagram, one message per frame: four"' in html


def test_the_revealed_rows_lie_where_the_picture_draws_them():
    """Each band's middle falls on the row of pixels where that message's arrow is drawn."""
    import io

    from PIL import Image

    trace = dhcp_like_trace()[:3]
    html = to_html_player(animate_sequence(trace, title="three", dpi=50))
    picture = Image.open(io.BytesIO(base64.b64decode(_urls(html)[0].split(",", 1)[1]))).convert("L")
    width, height = picture.size
    for top, bottom in _reveal_rows(html):
        band = range(int(top * height), int(bottom * height))
        darkest = min(band, key=lambda y: sum(picture.getpixel((x, y)) for x in range(width)))
        assert top * height <= darkest < bottom * height
        ink = sum(255 - picture.getpixel((x, darkest)) for x in range(width)) / width
        assert ink > 20, "a row of the band holds the arrow's line"


def test_reveal_refuses_bad_rows():
    with pytest.raises(ValueError):
        player_html([PNG, PNG], reveal=[(0.1, 0.2)])
    with pytest.raises(ValueError):
        player_html([PNG], reveal=[(0.3, 0.2)])
    with pytest.raises(ValueError):
        player_html([PNG], reveal=[])


def test_base64_text_cannot_collide_with_the_scripts_placeholders():
    """A picture whose base64 holds "INTERVAL" or "REVEAL" must not be rewritten into the script."""
    picture = base64.b64decode("INTERVALREVEAL" + "A" * 2)
    html = player_html([picture, picture + b"x"], interval=700)
    assert "INTERVALREVEAL" in html
    assert "interval = 700" in html
