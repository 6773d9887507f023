"""Feedback a student can act on: which checks failed, why, and what differs.

When a check's answer is a packet (its output holds bytes as a hexdump, a hex
string or a ``b'...'`` literal), the diff is by field: each DHCP header field
and option whose bytes differ is listed with those bytes highlighted (``<mark>``
in HTML, a caret line in Markdown). Otherwise it is a line diff of the text.

A report is first built as a list of blocks, then rendered to Markdown or HTML.
"""

from __future__ import annotations

import difflib
import html
import re

from refimpl.grading import python_source

# A hexdump row: offset, then up to 16 two-digit hex bytes (one or two spaces apart).
HEXDUMP_ROW = re.compile(r"^\s*(?:0x)?[0-9a-fA-F]{4,8}:?\s{1,3}((?:[0-9a-fA-F]{2}(?: {1,2}|$)){1,16})")
HEX_TOKEN = re.compile(r"\b(?:[0-9a-fA-F]{2}){8,}\b")
SPACED_HEX = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{2} ){7,}[0-9a-fA-F]{2}(?![0-9A-Za-z])")
BYTES_LITERAL = re.compile(r"""b(['"]).*?(?<!\\)\1""")


def extract_bytes(text: str) -> bytes | None:
    """The packet shown in a check's output, if there is one."""
    rows = [m.group(1) for line in text.splitlines() if (m := HEXDUMP_ROW.match(line))]
    if len(rows) >= 2:
        return bytes.fromhex("".join(rows).replace(" ", ""))
    spaced = SPACED_HEX.findall(text)
    if spaced:
        return bytes.fromhex(max(spaced, key=len).replace(" ", ""))
    tokens = HEX_TOKEN.findall(text)
    if tokens:
        return bytes.fromhex(max(tokens, key=len))
    for match in BYTES_LITERAL.finditer(text):
        value = python_source.literal(match.group(0))
        if isinstance(value, bytes) and len(value) >= 4:
            return value
    return None


def packet_fields(expected: bytes) -> list[tuple[str, int, int]]:
    """(name, offset, size) for the pieces of a packet, from the DHCP layout when it is one."""
    try:
        from refimpl.dhcp.message import layout_of

        spans = [(s.name, s.offset, s.size) for s in layout_of(expected)]
        if spans:
            return spans
    except Exception:  # not a whole DHCP message: maybe its fixed header, else 16-byte rows
        pass
    if len(expected) >= 4 and expected[0] in (1, 2) and expected[1] == 1:  # op, htype=Ethernet
        try:
            from refimpl.dhcp.message import HEADER_FIELDS

            return [
                (f.name, f.offset, min(f.size, len(expected) - f.offset))
                for f in HEADER_FIELDS
                if f.offset < len(expected)
            ]
        except Exception:
            pass
    return [(f"bytes {start:#06x}", start, 16) for start in range(0, len(expected), 16)]


def _meanings() -> dict[str, str]:
    """Header field name -> "meaning [RFC section]", to tell a student what a field is for."""
    try:
        from refimpl.dhcp.message import HEADER_FIELDS
    except Exception:
        return {}
    return {f.name: f"{f.meaning} [{f.rfc}]" for f in HEADER_FIELDS}


def field_diff(expected: bytes, actual: bytes) -> list[dict]:
    """One row per field whose bytes differ: name, offset, and both byte strings."""
    meanings = _meanings()
    rows = []
    covered = 0
    for name, offset, size in packet_fields(expected):
        covered = max(covered, offset + size)
        want, got = expected[offset : offset + size], actual[offset : offset + size]
        if want != got:
            row = {"field": name, "offset": offset, "expected": want, "actual": got}
            if name in meanings:
                row["meaning"] = meanings[name]
            rows.append(row)
    if len(actual) != len(expected):
        rows.append(
            {
                "field": "length",
                "offset": min(len(actual), len(expected)),
                "expected": expected[covered:],
                "actual": actual[covered:],
                "note": f"expected {len(expected)} bytes, got {len(actual)}",
            }
        )
    return rows


def text_diff(expected: str, actual: str, limit: int = 60) -> str:
    lines = list(
        difflib.unified_diff(expected.splitlines(), actual.splitlines(), "expected", "your output", lineterm="", n=2)
    )
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)"]
    return "\n".join(lines)


# --------------------------------------------------------------------------- blocks


def blocks_for(grade) -> list[tuple]:
    """The report for one graded submission (see ``grade.Grade``)."""
    out: list[tuple] = [
        ("h1", f"Feedback for {grade.student}"),
        ("p", f"Score: **{_num(grade.score)} / {_num(grade.max_score)}** ({grade.status})"),
    ]
    if not grade.sandboxed:
        out.append(("p", "This submission was graded **without the sandbox** (`--no-sandbox`)."))
    if grade.problems:
        out.append(("h2", "Problems with this submission"))
        out.append(("list", grade.problems))
    out.append(("h2", "Checks"))
    out.append(
        (
            "table",
            [("check", "points", "result")]
            + [
                (c.name + (" (hidden)" if c.hidden else ""), f"{_num(c.earned)} / {_num(c.points)}", c.status)
                for c in grade.checks
            ],
        )
    )
    for check in grade.checks:
        if check.status == "passed" and not check.stray:
            continue
        title = f"{check.name}: {check.status}" + (
            f" (hidden: {check.covers})" if check.hidden and check.covers else " (hidden)" if check.hidden else ""
        )
        out.append(("h3", title))
        if check.reason:
            out.append(("p", check.reason))
        if check.where:
            out.append(("p", "Where it went wrong in your code:"))
            out.append(("list", check.where))
        if check.stray and check.hidden:  # its text could show the hidden check's inputs
            count = len(check.stray.rstrip().splitlines())
            out.append(
                (
                    "p",
                    f"Your code printed {count} line(s) while this hidden check ran (not counted, and "
                    "not shown: it would show the check's inputs).",
                )
            )
        elif check.stray:
            out.append(("p", "Your code printed this while the check ran (shown here, not counted):"))
            out.append(("code", check.stray.rstrip()[:2000]))
        if check.hidden:
            continue  # a hidden check's expected answer stays hidden
        if check.actual and check.expected is not None and check.status == "wrong output":
            want, got = extract_bytes(check.expected), extract_bytes(check.actual)
            rows = field_diff(want, got) if want is not None and got is not None else []
            if rows:
                out.append(
                    ("p", "Your packet differs from the expected one in these fields (differing bytes highlighted):")
                )
                out.append(("bytes", rows))
            else:  # no packet, or the packet found is the same (the difference is elsewhere)
                out.append(("code", text_diff(check.expected, check.actual)))
    for title, intro, items in (
        ("Errors in your own cells", "", grade.student_errors),
        ("How your notebook was matched to the assignment", "", grade.matching),
        (
            "Changes to the assignment's check cells",
            "Check cells always come from the assignment, so these changes had no effect:",
            grade.findings,
        ),
        (
            "For the teacher to review",
            "This code reaches for tools that can interfere with grading or do the task "
            "for it (a flag, not a penalty):",
            grade.suspicious,
        ),
    ):
        if items:
            out.append(("h2", title))
            if intro:
                out.append(("p", intro))
            out.append(("list", items))
    return out


def _num(value: float) -> str:
    return f"{value:g}"


def _hex(data: bytes, other: bytes) -> tuple[str, str]:
    """Hex of ``data`` and a caret line under the bytes that differ from ``other``."""
    cells, marks = [], []
    for i, b in enumerate(data):
        cells.append(f"{b:02x}")
        marks.append("^^" if i >= len(other) or other[i] != b else "  ")
    return " ".join(cells), " ".join(marks).rstrip()


def to_markdown(blocks) -> str:
    lines: list[str] = []
    for kind, body in blocks:
        if kind in ("h1", "h2", "h3"):
            lines += ["#" * int(kind[1]) + " " + body, ""]
        elif kind == "p":
            lines += [body, ""]
        elif kind == "list":
            lines += [f"- {item}" for item in body] + [""]
        elif kind == "code":
            # A fence longer than any run of backticks in the text: a student's output cannot close it.
            longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
            fence = "`" * max(3, longest + 1)
            lines += [fence + "diff", body, fence, ""]
        elif kind == "table":
            head, *rows = body
            lines.append("| " + " | ".join(head) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows] + [""]
        elif kind == "bytes":
            lines.append("```text")
            for row in body:
                want, marks_want = _hex(row["expected"], row["actual"])
                got, marks_got = _hex(row["actual"], row["expected"])
                note = row.get("note") or row.get("meaning")
                lines.append(f"{row['field']} (offset {row['offset']})" + (f": {note}" if note else ""))
                lines.append(f"  expected: {want}")
                lines.append(f"  yours:    {got}")
                if marks_got.strip():
                    lines.append(f"            {marks_got}")
            lines += ["```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _hex_html(data: bytes, other: bytes) -> str:
    return " ".join(
        f"<mark>{b:02x}</mark>" if i >= len(other) or other[i] != b else f"{b:02x}" for i, b in enumerate(data)
    )


def _inline(text: str) -> str:
    """Markdown's **bold** and `code` as HTML, after escaping."""
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def to_html(blocks) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:auto}"
        "mark{background:#ffb3b3}td,th{padding:2px 8px;text-align:left}pre{background:#f6f6f6;padding:6px}</style>",
        "</head><body>",
    ]
    for kind, body in blocks:
        if kind in ("h1", "h2", "h3"):
            parts.append(f"<{kind}>{html.escape(body)}</{kind}>")
        elif kind == "p":
            parts.append(f"<p>{_inline(body)}</p>")
        elif kind == "list":
            parts.append("<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in body) + "</ul>")
        elif kind == "code":
            parts.append(f"<pre>{html.escape(body)}</pre>")
        elif kind == "table":
            head, *rows = body
            parts.append(
                "<table><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in head)
                + "</tr>"
                + "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
                + "</table>"
            )
        elif kind == "bytes":
            parts.append("<table><tr><th>field</th><th>offset</th><th>expected</th><th>yours</th></tr>")
            for row in body:
                note = row.get("note") or row.get("meaning") or ""
                parts.append(
                    f"<tr><td title='{html.escape(note, quote=True)}'>{html.escape(row['field'])}</td>"
                    f"<td>{row['offset']}</td>"
                    f"<td><code>{_hex_html(row['expected'], row['actual'])}</code></td>"
                    f"<td><code>{_hex_html(row['actual'], row['expected'])}</code></td></tr>"
                )
            parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render(grade, fmt: str = "md") -> str:
    blocks = blocks_for(grade)
    return to_html(blocks) if fmt == "html" else to_markdown(blocks)
