"""``python -m refimpl site [DIR]``: write the course as a static web site (default ``site/``).

What is published, and where (the site keeps the course's folders, so a link
between notebooks keeps working once ``.ipynb`` becomes ``.html``)::

    index.html                 the units, their objectives and times (from refimpl.syllabus)
    notebooks/NN_*.html        the lessons, with the outputs they store
    notebooks/labs/*.html      the labs with real daemons (to read; running them needs root)
    exercises/NN_*.html        the exercises, made afresh from solutions/ as a student gets them

Left out: ``solutions/`` and the teacher's guide; a link to either becomes
plain text. A link to a file of the repository that is not a page (say
``../refimpl/dhcp/server.py``) becomes plain text too, so no page has a link
that leads nowhere.

Each page is nbconvert's "lab" page with the parts that would fetch from the
internet removed (require.js, MathJax, Mermaid, the widget renderer: the
lessons use no maths and no Mermaid), and every saved widget view drawn as
static HTML by :mod:`refimpl.site.static_widgets`. After writing, the build
reads every page and fails if one fetches anything from another host, shows a
widget as its Python repr, or holds any hidden check, hidden answer or
solution region (the student release's own audit).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from refimpl.site import static_widgets

ROOT = Path(__file__).resolve().parent.parent.parent
TEACHER_ONLY = {"99_for_teachers.ipynb"}

TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{% block jupyter_widgets %}{% endblock jupyter_widgets %}
{% block body_header %}{{ super() }}<nav class="course-nav"><a href="{{ resources.home }}">The course</a></nav>
{% endblock body_header %}
"""

# [text](target) in markdown; the target ends at the first space or ")" (titles are not used here)
_LINK = re.compile(r"\[([^\]\n]*)\]\(([^)\s]+)\)")


def pages(root: Path = ROOT) -> list[tuple[Path, str]]:
    """(source notebook, page path inside the site) for everything the site publishes."""
    found = []
    for lesson in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if lesson.name not in TEACHER_ONLY:
            found.append((lesson, f"notebooks/{lesson.stem}.html"))
    for lab in sorted((root / "notebooks" / "labs").glob("*.ipynb")):
        found.append((lab, f"notebooks/labs/{lab.stem}.html"))
    for solution in sorted((root / "solutions").glob("[0-9][0-9]_*.ipynb")):
        found.append((solution, f"exercises/{solution.stem}.html"))
    return found


def rewrite_link(target: str, page: str, published: set[str]) -> str | None:
    """The link's new target on the site, or None when it must become plain text.

    ``page`` and ``published`` are paths inside the site, so a relative target
    is resolved against the page's folder, exactly as a browser would.
    """
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return target  # a link to the web stays (a reader's click, not a fetch)
    if not parts.path:
        return target  # "#section" on the same page
    path = parts.path
    if path.endswith(".ipynb"):
        path = path[: -len(".ipynb")] + ".html"
    resolved = _resolve(page, path)
    if resolved not in published:
        return None
    return path + (f"#{parts.fragment}" if parts.fragment else "")


def _resolve(page: str, relative: str) -> str:
    parts = page.split("/")[:-1]
    for piece in relative.split("/"):
        if piece == "..":
            if not parts:
                return "../" + relative  # above the site: never published
            parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def rewrite_markdown(source: str, page: str, published: set[str]) -> str:
    def one(match: re.Match) -> str:
        text, target = match.group(1), match.group(2)
        new = rewrite_link(target, page, published)
        return text if new is None else f"[{text}]({new})"

    return _LINK.sub(one, source)


def prepare(nb, page: str, published: set[str]):
    """The notebook as the page shows it: links rewritten, widget views drawn, widget state dropped."""
    models = static_widgets.saved_state(nb.metadata)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = rewrite_markdown(cell.source, page, published)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            drawn = static_widgets.render_output(data, models)
            if drawn is not None:
                output["data"] = {"text/html": drawn}
    nb.metadata.pop("widgets", None)
    return nb


def _exporter():
    import jinja2
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="lab",
        extra_loaders=[jinja2.DictLoader({"course.html.j2": TEMPLATE})],
        template_file="course.html.j2",
    )


def _notebook(source: Path):
    import nbformat

    from refimpl.grading import release

    if source.parent.name == "solutions":
        return nbformat.reads(release.render(source), as_version=4)  # the exercise, made as release makes it
    return nbformat.read(source, as_version=4)


def _title(nb, fallback: str) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


class _Fetches(HTMLParser):
    """Every URL a page would load by itself (scripts, styles, pictures, frames), not the links a reader clicks."""

    LOADING = {"script": "src", "img": "src", "iframe": "src", "source": "src", "embed": "src", "link": "href"}

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        wanted = self.LOADING.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)
            if name == "style" and value:
                self.urls += _css_urls(value)

    def handle_data(self, data):
        self.urls += _css_urls(data) + re.findall(r"@import\s+['\"]([^'\"]+)", data)


def _css_urls(text: str) -> list[str]:
    return [u.strip("'\" ") for u in re.findall(r"url\(([^)]*)\)", text)]


def external_fetches(page_html: str) -> list[str]:
    """The URLs in a page that would be fetched from another host when it is opened."""
    parser = _Fetches()
    parser.feed(page_html)
    return [u for u in parser.urls if urlsplit(u).scheme in ("http", "https") or u.startswith("//")]


def check(site: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with a built site: external fetches, widget reprs, secrets, links that lead nowhere."""
    from refimpl.grading import student_release

    problems = []
    forbidden = student_release.secrets(root / "solutions")
    for path in sorted(site.rglob("*.html")):
        name = path.relative_to(site).as_posix()
        text = path.read_text(encoding="utf-8")
        problems += [f"{name} fetches {url}" for url in external_fetches(text)]
        readable = html.unescape(text)
        if re.search(r"\b[HV]Box\(children=", readable):
            problems.append(f"{name} shows a widget as its Python repr")
        problems += [f"{name} contains {what}" for what, secret in forbidden if secret in readable]
        for href in re.findall(r'<a\s[^>]*href="([^"]+)"', text):
            parts = urlsplit(html.unescape(href))
            if parts.scheme or parts.netloc or not parts.path:
                continue
            if not (path.parent / parts.path).resolve().is_file():
                problems.append(f"{name} links to {parts.path}, which the site does not have")
    return problems


def index_page(root: Path = ROOT) -> str:
    """The front page: each unit with its lesson, exercise, objectives and estimated time."""
    from refimpl import syllabus

    rows = []
    for unit in syllabus.UNITS:
        plan = syllabus.plan(unit, root)
        lesson = f'<a href="notebooks/{Path(unit.lesson).stem}.html">{html.escape(unit.title)}</a>'
        exercise = (
            f'<a href="exercises/{Path(unit.exercise).stem}.html">exercise {unit.number}</a>' if unit.exercise else ""
        )
        goals = "".join(f"<li>{html.escape(o.text)}</li>" for o in unit.objectives)
        minutes = round(plan.lesson_minutes + plan.exercise_minutes)
        rows.append(
            f"<tr><td>{unit.number}</td><td>{lesson}</td><td>{exercise}</td>"
            f"<td><ul>{goals}</ul></td><td>{minutes}</td></tr>"
        )
    labs = "".join(
        f'<li><a href="notebooks/labs/{p.stem}.html">{html.escape(p.stem.replace("_", " "))}</a></li>'
        for p in sorted((root / "notebooks" / "labs").glob("*.ipynb"))
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>DHCP, FTP and TFTP: the course</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;line-height:1.4}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;vertical-align:top}}</style>
</head><body>
<h1>DHCP, FTP and TFTP: the course</h1>
<p>A static copy of the course: every lesson and exercise with the outputs they store. Pictures and
stored animations work here; buttons, sliders and the exercises' checks need the course installed
(see the README of the course repository: one command sets it up and opens it).</p>
<p><a href="notebooks/00_start_here.html">Start here</a>.</p>
<table><tr><th>unit</th><th>lesson</th><th>exercise</th><th>after it you can</th><th>minutes (our estimate)</th></tr>
{"".join(rows)}
</table>
<h2>Labs with real daemons</h2><ul>{labs}</ul>
</body></html>
"""


def build(dest: Path, root: Path = ROOT) -> list[str]:
    """Write the site into ``dest`` and return its problems (empty when it may be published)."""
    listed = pages(root)
    published = {page for _, page in listed} | {"notebooks/00_start_here.html", "index.html"}
    exporter = _exporter()
    for source, page in listed:
        nb = prepare(_notebook(source), page, published)
        home = "../" * page.count("/") + "index.html"
        body, _ = exporter.from_notebook_node(
            nb, resources={"metadata": {"name": _title(nb, source.stem)}, "home": home}
        )
        out = dest / page
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(body, encoding="utf-8")
    (dest / "index.html").write_text(index_page(root), encoding="utf-8")
    return check(dest, root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl site", description=__doc__.split("\n")[0])
    parser.add_argument("dest", nargs="?", default=str(ROOT / "site"), help="folder to write")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    problems = build(dest)
    for problem in problems:
        print(f"site: {problem}", file=sys.stderr)
    if problems:
        print(f"site: {len(problems)} problem(s); do not publish {dest}", file=sys.stderr)
        return 1
    print(f"site: {len(pages())} pages and index.html written to {dest}; open {dest / 'index.html'}")
    return 0
