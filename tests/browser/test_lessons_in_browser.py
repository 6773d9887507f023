"""Every lesson, as a student meets it: JupyterLab in Chromium, Run All, then look.

nbval checks what each cell *prints*; only a browser shows whether a widget
renders, a stepper steps, an animation plays and nothing is fetched from the
internet (an offline classroom). Per lesson, after Run All with the kernel idle:

1. no cell failed: no error output (``ename``) and no Traceback on stderr;
2. every widget view renders: no "Loading widget", no "Error displaying widget",
   no widget repr such as ``VBox(children=...)`` in place of a widget;
3. every stepper (:class:`refimpl.viz.player.SequencePlayer`) moves: its
   "next" button and its slider each change the message shown and the diagram;
   its pictures keep their aspect ratio and at least 90% of their drawn size;
   an ``interact`` form's slider changes its output;
4. every animation player (``Animation.to_jshtml``) shows a frame and its Play
   button moves to another frame;
5. no request leaves 127.0.0.1 (all are recorded, and aborted, so a CDN link
   fails here as it would in a classroom without internet).

A failure keeps a screenshot; its path is in the failure message.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
RUN_ALL_TIMEOUT = 150  # seconds, per lesson

# Page-side helpers: the notebook panel of a path, its cells' outputs, the kernel's state.
JS_PANEL = """
window.coursePanel = (path) => {
  const app = window.jupyterapp;
  for (const w of app.shell.widgets('main')) {
    if (w.context && w.context.path === path) return w;
  }
  return null;
};
"""


def _open_lesson(page, lab, name: str):
    """Open one lesson in a workspace of its own (so the tabs of earlier lessons are not restored)."""
    page.goto(f"{lab.url}/lab/workspaces/{Path(name).stem}/tree/notebooks/{name}?token={lab.token}")
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
    page.evaluate(JS_PANEL)
    path = f"notebooks/{name}"
    page.wait_for_function(
        """(path) => {
            const p = window.coursePanel(path);
            return p && p.sessionContext.session && p.sessionContext.session.kernel
                && p.sessionContext.session.kernel.status === 'idle' && p.content.widgets.length > 0;
        }""",
        arg=path,
        timeout=90_000,
    )
    return path


def _run_all(page, path: str) -> str:
    """Run All Cells; 'done', or 'timeout' after RUN_ALL_TIMEOUT."""
    return page.evaluate(
        """async ([path, ms]) => {
            const app = window.jupyterapp;
            const panel = window.coursePanel(path);
            app.shell.activateById(panel.id);
            const run = app.commands.execute('notebook:run-all-cells').then(() => 'done');
            const late = new Promise((r) => setTimeout(() => r('timeout'), ms));
            return await Promise.race([run, late]);
        }""",
        [path, RUN_ALL_TIMEOUT * 1000],
    )


def _wait_idle(page, path: str, seconds: float) -> bool:
    try:
        page.wait_for_function(
            """(path) => {
                const p = window.coursePanel(path);
                const k = p.sessionContext.session.kernel;
                const pending = p.content.widgets.some((c) => c.model.type === 'code'
                    && c.promptNode && c.promptNode.textContent.includes('*'));
                return k.status === 'idle' && !pending;
            }""",
            arg=path,
            timeout=seconds * 1000,
        )
        return True
    except Exception:
        return False


def _outputs(page, path: str) -> list[dict]:
    """Every code cell's outputs from the notebook model (what Run All produced)."""
    return page.evaluate(
        """(path) => window.coursePanel(path).content.widgets
            .map((c, i) => ({index: i, type: c.model.type,
                             outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}))""",
        path,
    )


def _cell_errors(cells: list[dict]) -> list[str]:
    problems = []
    for cell in cells:
        for out in cell["outputs"]:
            if out.get("output_type") == "error":
                problems.append(f"cell {cell['index']}: {out.get('ename')}: {out.get('evalue')}")
            elif out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                if "Traceback" in text:
                    problems.append(f"cell {cell['index']}: a Traceback on stderr: {text[-400:]}")
    return problems


def _dom_problems(page, panel_id: str) -> list[str]:
    """What a student would see instead of a working widget or a clean output (in this lesson's tab only)."""
    return page.evaluate(
        r"""(id) => {
            const out = [];
            document.getElementById(id).querySelectorAll('.jp-OutputArea-output').forEach((node, i) => {
                const text = node.textContent || '';  // (innerText is empty for a cell out of view)
                const mime = node.dataset.mimeType || '';
                if (text.includes('Loading widget')) out.push(`output ${i}: "Loading widget..." still shown`);
                if (text.includes('Error displaying widget')) out.push(`output ${i}: "Error displaying widget"`);
                const repr = text.match(/\b(VBox|HBox|Box|interactive|Image|HTML|Play)\(children=|\b\w+\(children=\(/);
                if (repr && !node.querySelector('.jupyter-widgets'))
                    out.push(`output ${i}: a widget repr instead of a widget: ${text.slice(0, 80)}`);
                if (mime === 'application/vnd.jupyter.stderr' && text.includes('Traceback'))
                    out.push(`output ${i}: a Traceback is shown: ${text.slice(-200)}`);
                if (node.classList.contains('jupyter-widgets-output-area')) return;
                const view = node.querySelector('.jupyter-widgets');
                if (view) {
                    node.scrollIntoView();  // content-visibility skips the layout of cells out of view
                    if (view.offsetWidth === 0 || view.offsetHeight === 0)
                        out.push(`output ${i}: a widget view of size 0`);
                }
            });
            return out;
        }""",
        panel_id,
    )


def _widget_views(root) -> int:
    """How many outputs show a widget (top-level ipywidgets views)."""
    return root.evaluate(
        """(panel) => [...panel.querySelectorAll('.jp-OutputArea-output')]
                  .filter((n) => n.querySelector('.jupyter-widgets')).length"""
    )


def _players(root):
    """The SequencePlayers: a box holding a Play widget and a 'next' button.

    Found by the DOM's textContent, not by Playwright's text matching: out of view, under
    JupyterLab's content-visibility windowing, a cell's rendered text is empty.
    """
    count = root.evaluate(
        """(panel) => {
            const boxes = [...panel.querySelectorAll('.jp-OutputArea-output .widget-vbox')].filter((box) =>
                box.querySelector('.widget-play') &&
                [...box.querySelectorAll('button')].some((b) => b.textContent.includes('next')));
            boxes.forEach((box, k) => box.setAttribute('data-course-stepper', String(k)));
            return boxes.length;
        }"""
    )
    return [root.locator(f"[data-course-stepper='{k}']") for k in range(count)]


def _state_of(player) -> tuple[str, str]:
    """(the message text shown, the diagram image's source) of a SequencePlayer."""
    details = player.locator(".widget-html pre").first.inner_text()
    image = player.locator("img").first.get_attribute("src") or ""
    return details, image


def _wait_change(player, before: tuple[str, str], seconds: float = 30) -> tuple[str, str]:
    """The stepper's state once *both* views moved (the kernel sends the diagram, then the text)."""
    deadline = time.monotonic() + seconds
    now = _state_of(player)
    while (now[0] == before[0] or now[1] == before[1]) and time.monotonic() < deadline:
        time.sleep(0.2)
        now = _state_of(player)
    return now


def _click_track(page, track, fraction: float) -> bool:
    """Click a slider's track ``fraction`` along (a tap moves the handle there); False if it is not drawn."""
    box = track.bounding_box()
    if box is None:
        return False
    page.mouse.click(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    return True


# Each picture of a stepper as drawn (natural size) and as shown (client size).
JS_PICTURES = """(box) => [...box.querySelectorAll('img')]
    .filter((img) => getComputedStyle(img).display !== 'none' && img.naturalWidth > 0)
    .map((img) => ({natural: [img.naturalWidth, img.naturalHeight], shown: [img.clientWidth, img.clientHeight]}))"""
MIN_SCALE = 0.9  # a picture shown smaller than this shrinks its labels below their drawn size (issue 17)


def _layout_problems(k: int, player) -> list[str]:
    """A stepper's pictures keep their aspect ratio and (nearly) their drawn size, so labels stay legible."""
    problems = []
    for j, pic in enumerate(player.evaluate(JS_PICTURES)):
        (nw, nh), (w, h) = pic["natural"], pic["shown"]
        if h == 0 or abs((w / h) / (nw / nh) - 1) > 0.02:
            problems.append(f"stepper {k}: picture {j} drawn {nw}x{nh} is shown {w}x{h} (aspect ratio changed)")
        elif w / nw < MIN_SCALE:
            problems.append(f"stepper {k}: picture {j} drawn {nw}x{nh} is shown at {w / nw:.0%} ({w}x{h})")
    return problems


def _check_steppers(page, root, seen: dict) -> list[str]:
    problems = []
    players = _players(root)
    seen["steppers"] = len(players)
    for k, player in enumerate(players):
        player.scroll_into_view_if_needed()
        problems += _layout_problems(k, player)
        before = _state_of(player)
        player.locator("button", has_text="next").first.click()
        after = _wait_change(player, before)
        if after[0] == before[0]:
            problems.append(f"stepper {k}: 'next' did not change the message shown ({before[0][:40]!r})")
        if after[1] == before[1]:
            problems.append(f"stepper {k}: 'next' did not change the diagram")
        if not _click_track(page, player.locator(".widget-slider .noUi-target, .widget-slider .slider").first, 0.75):
            problems.append(f"stepper {k}: no slider drawn")
            continue
        moved = _wait_change(player, after)
        if moved[0] == after[0]:
            problems.append(f"stepper {k}: moving the slider did not change the message shown")
        if moved[1] == after[1]:
            problems.append(f"stepper {k}: moving the slider did not change the diagram")
    return problems


def _check_interacts(page, root, seen: dict) -> list[str]:
    """An ``interact`` form: moving its first slider changes the output below it."""
    problems = []
    forms = root.locator(".jp-OutputArea-output .widget-interact").all()
    seen["interact forms"] = len(forms)
    for k, form in enumerate(forms):
        form.scroll_into_view_if_needed()
        output = form.locator(".widget-output")
        before = output.inner_text()
        track = form.locator(".widget-slider .noUi-target, .widget-slider .slider").first
        if track.count() == 0:
            continue
        _click_track(page, track, 0.3)
        deadline = time.monotonic() + 30
        while output.inner_text() == before and time.monotonic() < deadline:
            time.sleep(0.3)
        if output.inner_text() == before:
            problems.append(f"interact form {k}: moving its slider did not change its output")
    return problems


def _frame_shown(image) -> bool:
    return image.evaluate("(img) => img.complete && img.naturalWidth > 0 && !!img.getAttribute('src')")


# What a player shows: its picture, and for a diagram revealed row by row, where its mask and band are.
JS_FRAME = """(anim) => {
    const img = anim.querySelector('img'), mask = anim.querySelector('.anim-mask');
    const band = anim.querySelector('.anim-band');
    return [img.getAttribute('src') || '', mask ? mask.style.top : '', band ? band.style.top : ''].join(' ');
}"""


def _frame_of(anim) -> str:
    return anim.evaluate(JS_FRAME)


def _check_stored_animations(root, seen: dict) -> list[str]:
    """As opened, before any cell runs (an untrusted notebook: no script runs), each player shows a picture."""
    problems = []
    players = root.locator(".jp-OutputArea-output .animation").all()
    seen["stored animations"] = len(players)
    for k, anim in enumerate(players):
        anim.scroll_into_view_if_needed()
        if not _frame_shown(anim.locator("img").first):
            problems.append(f"stored animation {k}: the notebook as opened shows no picture in the player")
    return problems


def _check_animations(root, seen: dict) -> list[str]:
    """Each HTML player shows a frame at once, and the *first* click on Play moves it on, frame after frame."""
    problems = []
    players = root.locator(".jp-OutputArea-output .animation").all()
    seen["animations"] = len(players)
    for k, anim in enumerate(players):
        anim.scroll_into_view_if_needed()
        image = anim.locator("img").first
        if not _frame_shown(image):
            problems.append(f"animation {k}: no frame shown after Run All, before Play is clicked")
        shown = [_frame_of(anim)]
        anim.locator("button[title='Play']").first.click()
        deadline = time.monotonic() + 8
        while len(shown) < 3 and time.monotonic() < deadline:  # two changes: it plays on, not one step
            frame = _frame_of(anim)
            if frame != shown[-1]:
                shown.append(frame)
            time.sleep(0.1)
        if len(shown) < 3:
            problems.append(
                f"animation {k}: the first click on Play showed {len(shown) - 1} new frame(s) in 8 s, not 2"
            )
        anim.locator("button[title='Pause']").first.click()
    return problems


def _shot(page, artifacts: Path, name: str) -> Path:
    path = artifacts / f"{Path(name).stem}.png"
    try:
        page.screenshot(path=str(path), full_page=True)
    except Exception as exc:  # a screenshot must not hide the finding itself
        return Path(f"(no screenshot: {exc})")
    return path


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_runs_and_its_widgets_work_in_the_browser(offline, lab, artifacts, name):
    page = offline.page
    problems: list[str] = []
    seen: dict[str, int] = {}
    started = time.monotonic()
    try:
        path = _open_lesson(page, lab, name)
        panel_id = page.evaluate("(path) => window.coursePanel(path).id", path)
        root = page.locator(f"[id='{panel_id}']")
        problems += _check_stored_animations(root, seen)
        outcome = _run_all(page, path)
        if outcome == "timeout" or not _wait_idle(page, path, 60):
            problems.append(f"Run All did not finish within {RUN_ALL_TIMEOUT} s")
        else:
            page.wait_for_timeout(1500)  # widget views render just after their cell finished
            problems += _cell_errors(_outputs(page, path))
            problems += _dom_problems(page, panel_id)
            seen["widget views"] = _widget_views(root)
            problems += _check_steppers(page, root, seen)
            problems += _check_interacts(page, root, seen)
            problems += _check_animations(root, seen)
    except Exception as exc:  # a Playwright timeout or a page error: keep the picture of it too
        problems.append(f"the check itself failed: {type(exc).__name__}: {str(exc)[:600]}")
    finally:
        lab.shutdown_kernels()
    problems += [f"a request left 127.0.0.1: {url}" for url in offline.external]
    elapsed = time.monotonic() - started
    print(f"{name}: {elapsed:.1f} s in the browser; checked " + ", ".join(f"{v} {k}" for k, v in seen.items()))
    if problems:
        shot = _shot(page, artifacts, name)
        pytest.fail(f"{name} in JupyterLab ({elapsed:.0f} s; screenshot: {shot}):\n- " + "\n- ".join(problems))


# An offline classroom: what a lesson's output might ask for outside the machine (a CDN stylesheet as
# matplotlib's to_jshtml once linked, a picture, a fetch, a WebSocket) is caught, whatever the kind.
LEAKY_PAGE = """<!doctype html><html><head>
<link rel="stylesheet" href="https://cdnjs.cloudflare.com/ajax/libs/font-awesome/4.4.0/css/font-awesome.min.css">
</head><body><img src="http://203.0.113.9/frame.png">
<script>
fetch("http://198.51.100.7/data.json").catch(() => {});
try { new WebSocket("ws://192.0.2.44/socket"); } catch (e) {}
</script></body></html>"""


def test_a_request_that_would_leave_the_machine_is_caught(offline):
    page = offline.page  # about:blank: no Content-Security-Policy stops the page's script
    page.set_content(LEAKY_PAGE)
    deadline = time.monotonic() + 10
    while len(offline.external) < 4 and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    hosts = sorted(urlsplit(url).hostname for url in offline.external)
    assert hosts == ["192.0.2.44", "198.51.100.7", "203.0.113.9", "cdnjs.cloudflare.com"], offline.external


def test_failure_screenshots_go_to_a_folder_git_ignores(artifacts):
    probe = artifacts / "probe.png"
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=ROOT, check=False)
    assert ignored.returncode == 0, f"{artifacts} is not ignored by git: failure screenshots would show as changes"


def test_lessons_are_served_from_a_copy(lab):
    """Run All in the browser rewrites the served files; they must not be the tracked lessons."""
    assert lab.root.resolve() != ROOT
    assert not str(lab.root.resolve()).startswith(str(ROOT) + "/")
    assert sorted(p.name for p in (lab.root / "notebooks").glob("[0-9][0-9]_*.ipynb")) == LESSONS
