"""The static site in Chromium, served from loopback: every page loads with nothing from the internet.

``tests/test_site.py`` reads the pages as text; only a browser shows that a
page really loads nothing from another host, runs without a script error,
shows the saved widget views' pictures, and that a stored animation plays with
no kernel at all (the self-study reader's case).
"""

from __future__ import annotations

import functools
import http.server
import threading
import time

import pytest
from test_lessons_in_browser import _frame_of

from refimpl.site import build

pytestmark = [pytest.mark.browser, pytest.mark.slow]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # one line per request would bury the test's own output
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The built site over HTTP on 127.0.0.1 (an ephemeral port), stopped after the module."""
    dest = tmp_path_factory.mktemp("site")
    assert build.build(dest) == []
    handler = functools.partial(_QuietHandler, directory=str(dest))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield dest, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _pages(dest):
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*.html"))


def test_every_page_loads_offline_without_a_script_error(served, offline):
    dest, base = served
    errors: list[str] = []
    offline.page.on("pageerror", lambda exc: errors.append(str(exc)))
    broken = []
    for name in _pages(dest):
        offline.page.goto(f"{base}/{name}", wait_until="load")
        missing = offline.page.evaluate(
            "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length"
        )
        if missing:
            broken.append(f"{name}: {missing} picture(s) not shown")
    assert offline.external == []
    assert errors == []
    assert broken == []


def test_a_saved_stepper_shows_its_diagram_and_a_stored_animation_plays(served, offline):
    dest, base = served
    offline.page.goto(f"{base}/notebooks/02_dhcp_lease.html", wait_until="load")
    widget = offline.page.locator(".course-static-widget").first
    widget.scroll_into_view_if_needed()
    sizes = widget.locator("img").evaluate_all("(imgs) => imgs.map(i => [i.naturalWidth, i.clientWidth])")
    assert sizes and all(natural > 0 and shown > 0 for natural, shown in sizes)
    assert "DHCPDISCOVER" in widget.inner_text()

    player = offline.page.locator(".animation").first
    player.scroll_into_view_if_needed()
    shown = [_frame_of(player)]
    player.locator("button[title='Play']").first.click()
    deadline = time.monotonic() + 8
    while len(shown) < 3 and time.monotonic() < deadline:
        frame = _frame_of(player)
        if frame != shown[-1]:
            shown.append(frame)
        time.sleep(0.1)
    assert len(shown) >= 3, "the stored animation did not play on from its first frame"
    assert offline.external == []


def test_the_index_leads_to_a_lesson_and_the_lesson_back_and_on(served, offline):
    dest, base = served
    page = offline.page
    page.goto(f"{base}/index.html", wait_until="load")
    page.get_by_role("link", name="Start here").click()
    page.wait_for_url(f"{base}/notebooks/00_start_here.html")
    assert "00 Start here" in page.title() or "Start here" in page.inner_text("h1")
    page.locator("a[href='01_dhcp_message.html']").first.click()
    page.wait_for_url(f"{base}/notebooks/01_dhcp_message.html")
    page.get_by_role("link", name="The course").first.click()
    page.wait_for_url(f"{base}/index.html")
    assert offline.external == []
