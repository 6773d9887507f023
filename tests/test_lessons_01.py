"""Unit 00/01 notebooks and the packet builder.

The notebooks themselves are executed and compared by nbval (``make test``);
these tests check what nbval cannot: that the lesson shows the real code
instead of a copy, that the course map covers the seeds' topics, that the
exercise checks carry points and fail on an untouched exercise, and that the
widget builder reacts to input without a browser.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from refimpl.dhcp import Message
from refimpl.dhcp.message import HEADER_FIELDS

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "notebooks" / "00_start_here.ipynb"
LESSON = ROOT / "notebooks" / "01_dhcp_message.ipynb"
SOLUTION = ROOT / "solutions" / "01_dhcp_message.ipynb"
EXERCISE = ROOT / "exercises" / "01_dhcp_message.ipynb"


def cells(path: Path, kind: str) -> list:
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == kind]


def text_of(path: Path, kind: str) -> str:
    return "\n".join(c.source for c in cells(path, kind))


def outputs_of(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"ERROR {out['ename']}")
        else:
            parts.append(out.get("data", {}).get("text/plain", ""))
    return "".join(parts)


# -- the lesson shows the real code, never a copy ---------------------------------

PASTED = [
    r"^\s*def (encode|decode|layout|_pack_header)\b",
    r"^\s*class (Message|HeaderField)\b",
    r"^HEADER_FIELDS\s*[:=]",
    r"HeaderField\(\s*\"op\"",
    r"^\s*def (header_diagram_text|hexdump_text)\b",
]


@pytest.mark.parametrize("path", [START, LESSON, SOLUTION], ids=lambda p: p.parent.name + "/" + p.name)
def test_notebooks_do_not_paste_refimpl_source(path):
    code = text_of(path, "code")
    for pattern in PASTED:
        assert not re.search(pattern, code, re.M), f"{path.name} pastes code matching {pattern!r}"


def test_lesson_shows_source_with_inspect_and_prints_the_table():
    code = text_of(LESSON, "code")
    assert "inspect.getsource" in code
    table_cell = next(c for c in cells(LESSON, "code") if c.id == "header-table")
    shown = outputs_of(table_cell)
    for f in HEADER_FIELDS:  # the stored output is the current table, row by row
        assert re.search(rf"^\s*{f.offset}\s+{f.size}\s+{f.name}\s+", shown, re.M), f.name


def test_lesson_uses_fixed_identifiers():
    code = text_of(LESSON, "code")
    assert "random" not in code and "time.time" not in code
    assert "0x3903F326" in code


def test_lesson_corrects_each_seed_error_next_to_the_rfc():
    prose = re.sub(r"\s*\n>?\s*", " ", text_of(LESSON, "markdown"))  # quotes wrap over "> " lines
    for needle in [
        "RFC 2132 §2",
        "RFC 2131 §4.1",
        "port (67)",
        "'DHCP client' port",
        "next server to use in",
        "only filled in if client is in",
        "seconds elapsed",
        "§4.4.5",
        "broadcast bit is not set",
        "application-layer",
        "RFC 3396",
        "overload",
        "magic cookie",
    ]:
        assert needle in prose, needle


# -- the course map covers the seeds ---------------------------------------------------

SEED_TOPICS = [
    "DISCOVER",
    "OFFER",
    "REQUEST",
    "ACK",
    "NAK",
    "RELEASE",
    "DECLINE",
    "INFORM",
    "INIT-REBOOT",
    "T1",
    "T2",
    "169.254",
    "ARP",
    "relay",
    "giaddr",
    "option 82",
    "several servers",
    "PORT",
    "PASV",
    "port 20",
    "port 21",
    "three-way handshake",
    "SYN",
    "FIN",
    "firewall",
    "NAT",
    "anonymous",
    "guest",
    "chroot",
    "jail",
    "log",
    "TFTP",
    "DNS",
    "EDNS(0)",
    "2021",
]


def test_start_here_maps_every_seed_topic():
    prose = text_of(START, "markdown")
    missing = [t for t in SEED_TOPICS if t not in prose]
    assert not missing, missing
    for unit in ("01", "02", "03", "04", "05", "06", "07"):
        assert re.search(rf"^\| {unit} \|", prose, re.M), unit
    for link in re.findall(r"\]\((\d\d_[a-z_]+\.ipynb)\)", prose):  # every unit link opens a lesson
        assert (START.parent / link).exists(), link


def test_start_here_explains_grading_with_the_real_commands():
    prose = text_of(START, "markdown")
    assert "python -m refimpl grade --assignment solutions/01_dhcp_message.ipynb" in prose
    assert "python -m refimpl release solutions exercises" in prose
    assert '"check"' in prose and '"points"' in prose and "nbval" in prose


# -- exercises -------------------------------------------------------------------


def check_cells(path: Path) -> list:
    return [c for c in cells(path, "code") if c.metadata.get("course", {}).get("check")]


def test_solution_has_at_least_four_exercises_with_points():
    checks = check_cells(SOLUTION)
    names = [c.metadata["course"]["check"] for c in checks]
    assert len(names) == len(set(names)) >= 4
    # A public check may be worth 0 only as the self-check of a task that per-student checks grade.
    per_student_tasks = {c.metadata["course"].get("task") for c in checks if c.metadata["course"].get("per_student")}
    free = [c.metadata["course"]["check"] for c in checks if c.metadata["course"]["points"] <= 0]
    assert set(free) <= per_student_tasks, free
    assert sum(c.metadata["course"]["points"] for c in checks) > 0
    assert all(outputs_of(c).strip() and "ERROR" not in outputs_of(c) for c in checks)
    regions = [c for c in cells(SOLUTION, "code") if "### BEGIN SOLUTION hint:" in c.source]
    assert len(regions) >= 4 and all("### END SOLUTION" in c.source for c in regions)


def test_exercise_is_the_release_of_the_solution():
    from refimpl.grading import release

    assert EXERCISE.exists(), "run: python -m refimpl release solutions exercises"
    assert EXERCISE.read_text(encoding="utf-8") == release.render(SOLUTION)
    student = text_of(EXERCISE, "code")
    assert "BEGIN SOLUTION" not in student and "NotImplementedError" in student


def test_untouched_exercise_fails_every_check():
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(EXERCISE, as_version=4)
    expected = {c.id: outputs_of(c) for c in check_cells(SOLUTION) if not c.metadata["course"].get("hidden")}
    client = nbclient.NotebookClient(
        nb, timeout=60, allow_errors=True, kernel_name="python3", resources={"metadata": {"path": str(EXERCISE.parent)}}
    )
    client.execute()
    ran = {c.id: outputs_of(c) for c in nb.cells if c.id in expected}
    assert set(ran) == set(expected)
    for cell_id, text in ran.items():
        assert text != expected[cell_id], f"check {cell_id} passes without a solution"
        assert "NotImplementedError" in text or "ERROR" in text


# -- the packet builder ------------------------------------------------------------------


@pytest.fixture
def builder():
    pytest.importorskip("ipywidgets")
    from refimpl.viz.builder import packet_builder

    widget = packet_builder(Message.discover(mac="02:00:00:00:00:01", xid=0x3903F326, params=[1, 3]))
    return widget.builder


def test_builder_form_is_generated_from_the_header_table(builder):
    for f in HEADER_FIELDS:
        assert f.name in builder.controls
        assert f.rfc in builder.controls[f.name].tooltip
    assert builder.widget.children  # a real widget tree


def test_builder_reacts_to_a_header_field(builder):
    builder.controls["yiaddr"].value = "192.0.2.77"
    assert builder.message.yiaddr == "192.0.2.77"
    assert builder.highlight == "yiaddr"
    assert "<mark>c0</mark> <mark>00</mark> <mark>02</mark> <mark>4d</mark>" in builder.hexdump.value
    assert "yiaddr (4) = 192.0.2.77" in builder.diagram.value
    assert builder.message.encode()[16:20] == bytes([192, 0, 2, 77])


def test_builder_reacts_to_options_and_flags(builder):
    builder.controls["hostname"].value = "pc1"
    assert builder.message.get("hostname") == "pc1"
    assert builder.hexdump.value.count("<mark>") == 2 + 3  # code, length, "pc1"
    builder.controls["broadcast"].value = True
    assert builder.message.flags == 0x8000 and builder.controls["flags"].value == "0x8000"
    builder.controls["message_type"].value = 3
    assert builder.message.message_type.name == "REQUEST"
    builder.controls["hostname"].value = ""
    assert builder.message.get("hostname") is None
    builder.view.value = "options"
    assert "message_type" in builder.diagram.value and "hostname" not in builder.diagram.value


def test_builder_reports_bad_input_and_keeps_the_last_good_message(builder):
    before = builder.message.encode()
    builder.controls["yiaddr"].value = "192.0.2."
    assert "is not a dotted IPv4 address" in builder.status.value
    builder.controls["xid"].value = "0x1FFFFFFFF"
    assert "xid" in builder.status.value
    assert builder.message.encode() == before
    builder.controls["xid"].value = "0x10"
    assert builder.status.value == "" and builder.message.xid == 16


@pytest.mark.parametrize(
    "field, typed, says",
    [
        ("yiaddr", "192.0.2.999", "four numbers from 0 to 255, e.g. 192.0.2.10"),  # not "bytes must be in range"
        ("giaddr", "192.0.2", "is not a dotted IPv4 address"),
        ("chaddr", "02:00:00:00:01", "six pairs of hex digits"),
        ("chaddr", "02:00:00:00:00:0g", "six pairs of hex digits"),
        ("hops", "256", "hops is 1 octet, a whole number from 0 to 255"),
        ("secs", "-1", "from 0 to 65535"),
        ("xid", "0x1FFFFFFFF", "xid is 4 octets, a whole number from 0 to 4294967295"),
        ("sname", "x" * 64, "at most 63"),
        ("requested_ip", "198.51.100.256", "is not a dotted IPv4 address"),
        ("param_request_list", "1, 3, 300", "option codes from 1 to 254"),
        ("lease_time", "forever", "seconds from 0 to 4294967295"),
    ],
)
def test_builder_says_which_field_is_wrong_and_what_a_valid_value_looks_like(builder, field, typed, says):
    before = builder.message.encode()
    builder.controls[field].value = typed
    assert builder.status.value.startswith(f"<span style='color:#b00020'>{field}: ")
    assert says in builder.status.value and "range(" not in builder.status.value
    assert builder.message.encode() == before


@pytest.mark.parametrize(
    "field, typed",
    [("yiaddr", "203.0.113.5"), ("chaddr", "02-00-00-00-00-2a"), ("hops", "0x03"), ("requested_ip", "")],
)
def test_builder_takes_a_valid_value_without_complaint(builder, field, typed):
    builder.controls[field].value = typed
    assert builder.status.value == ""
