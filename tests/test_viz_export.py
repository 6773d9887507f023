"""Diagrams for slides (issue 17): Mermaid, PlantUML and mscgen text, SVG and PDF figures, the ``diagram`` command.

The text exports are checked twice: against the layout the matplotlib picture
draws (parsed back from the Mermaid text, arrow by arrow), and by the real
programs (Debian's mscgen and plantuml render every one without an error and
show every label). Labels an attacker controls (FTP commands) stay text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from html import unescape

import pytest

from refimpl.dhcp import scenarios as dhcp
from refimpl.ftp import scenarios as ftp
from refimpl.tftp import scenarios as tftp
from refimpl.trace import BROADCAST
from refimpl.viz.export import FORMATS, ZWSP, arrows, export_text, save_figure, to_mermaid, to_mscgen, to_plantuml
from refimpl.viz.sequence import layout

HOSTILE = [
    "USER a;b#c",
    'PASS "}; x -> y : z',
    "MKD <script>alert(1)</script>",
    "CWD \\n@enduml",
    "RETR **b** //i// ~~t~~ [[link]] &#92; <color:red>",
    "STOR end\\",
]

RUNS = {
    "dhcp lost offer": lambda: dhcp.one_client(drop={"DHCPOFFER": {1}}).trace,
    "dhcp two servers": lambda: dhcp.two_servers().trace,
    "dhcp lease life": lambda: dhcp.lease_life().trace,
    "ftp active": lambda: ftp.login_list("active").trace,
    "ftp hostile": lambda: ftp.conversation(HOSTILE).trace,
    "tftp read": lambda: tftp.read_file().trace,
}


def need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"needs {tool} (Debian package {package})")
    return path


MERMAID_ARROW = re.compile(r"^    (h\d+)(->>|-->>|-x)(h\d+): (.*)$")
MERMAID_NOTE = re.compile(r"^    Note over (h\d+): (.*)$")


def mermaid_arrows(text: str) -> list[tuple[str, str, str, str]]:
    """Parse our Mermaid back: (src, dst, style, label) with the host names, not the ids."""
    names = dict(re.findall(r"^    participant (h\d+) as (\S+)", text, re.M))
    style = {"->>": "unicast", "-->>": "broadcast", "-x": "lost"}
    out = []
    for line in text.splitlines()[1:]:
        if m := MERMAID_ARROW.match(line):
            out.append((names[m[1]], names[m[3]], style[m[2]], m[4]))
        elif m := MERMAID_NOTE.match(line):
            out.append((names[m[1]], names[m[1]], "note", m[2]))
        else:
            assert line.startswith("    participant "), line
    return out


def unmermaid(label: str) -> str:
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), label).replace("#lt;", "<").replace("#gt;", ">")


@pytest.mark.parametrize("name", RUNS)
def test_mermaid_has_the_pictures_arrows_one_per_lifeline_reached(name):
    trace = RUNS[name]()
    expected = []
    for row in layout(trace).rows:  # what sequence_diagram draws, row by row
        event = row.event
        if event.is_note:
            expected.append((event.src, event.src, "note", event.label()))
            continue
        style = "lost" if event.lost else ("broadcast" if event.dst == BROADCAST else "unicast")
        expected += [(event.src, target, style, event.label()) for target in row.targets]
    got = [(s, d, style, unmermaid(label)) for s, d, style, label in mermaid_arrows(to_mermaid(trace))]
    assert got == expected
    assert len(got) >= 4


def test_a_broadcast_to_two_servers_becomes_two_dashed_arrows():
    got = mermaid_arrows(to_mermaid(dhcp.two_servers().trace))
    discover = [(s, d) for s, d, style, label in got if label.startswith("DHCPDISCOVER") and style == "broadcast"]
    assert sorted(discover) == [("client", "dhcp-a"), ("client", "dhcp-b")]


def test_hostile_labels_stay_text_on_one_line():
    trace = ftp.conversation(HOSTILE).trace
    mermaid = to_mermaid(trace)
    assert "<script>" not in mermaid and ";b" not in mermaid.replace("#59;", "")
    assert all(MERMAID_ARROW.match(line) or MERMAID_NOTE.match(line) for line in mermaid.splitlines()[3:])
    assert len(to_plantuml(trace).splitlines()) == len(to_plantuml(trace).strip().splitlines())
    labels = [unmermaid(label) for *_, label in mermaid_arrows(mermaid)]
    for command in HOSTILE:
        assert any(command in label for label in labels), command


def svg_text(path) -> str:
    """All text of an SVG file, entities decoded."""
    root = ET.parse(path).getroot()
    shown = " ".join(unescape("".join(node.itertext())) for node in root.iter() if node.tag.endswith("text"))
    return shown.replace(ZWSP, "")  # the exports' markup breaker is invisible


@pytest.mark.parametrize("name", RUNS)
def test_mscgen_renders_every_export_and_shows_every_label(name, tmp_path):
    mscgen = need("mscgen", "mscgen")
    trace = RUNS[name]()
    source = tmp_path / "d.msc"
    source.write_text(to_mscgen(trace), encoding="utf-8")
    out = subprocess.run(
        [mscgen, "-T", "svg", "-i", str(source), "-o", str(tmp_path / "d.svg")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    shown = svg_text(tmp_path / "d.svg")
    for arrow in arrows(trace)[1]:
        assert arrow.label in shown, arrow.label


def test_plantuml_renders_every_export_and_shows_every_label(tmp_path):
    plantuml = need("plantuml", "plantuml")
    for k, name in enumerate(RUNS):  # one JVM start for all: about 3 s
        (tmp_path / f"d{k}.puml").write_text(to_plantuml(RUNS[name]()), encoding="utf-8")
    out = subprocess.run(
        [plantuml, "-tsvg", "-failfast2", *sorted(str(p) for p in tmp_path.glob("*.puml"))],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    for k, name in enumerate(RUNS):
        shown = svg_text(tmp_path / f"d{k}.svg")
        assert "Syntax Error" not in shown
        for arrow in arrows(RUNS[name]())[1]:
            # PlantUML draws runs of spaces as one and may break nothing: compare word by word
            assert " ".join(arrow.label.split()) in " ".join(shown.split()), (name, arrow.label)


def test_plantuml_catches_a_broken_export(tmp_path):
    """The check above can fail: plantuml -failfast2 says so for text that is not a diagram."""
    plantuml = need("plantuml", "plantuml")
    broken = to_plantuml(dhcp.one_client().trace).replace("hide footbox", "this is not plantuml {{")
    (tmp_path / "bad.puml").write_text(broken)
    out = subprocess.run([plantuml, "-tsvg", "-failfast2", str(tmp_path / "bad.puml")], capture_output=True, timeout=60)
    assert out.returncode != 0


def test_times_go_in_front_of_labels_and_formats_are_named():
    trace = dhcp.one_client().trace
    first = next(a for a in arrows(trace, times=True)[1])
    assert re.match(r"\d+\.\d{3} DHCPDISCOVER", first.label)
    for fmt in FORMATS:
        assert export_text(trace, fmt)
    with pytest.raises(ValueError, match="mermaid, plantuml, mscgen"):
        export_text(trace, "graphviz")


def test_figures_save_as_svg_with_editable_text_and_pdf_with_embedded_fonts(tmp_path):
    pytest.importorskip("matplotlib")
    from refimpl.viz.sequence import sequence_diagram

    trace = dhcp.one_client().trace
    fig = sequence_diagram(trace)
    svg = save_figure(fig, tmp_path / "lease.svg")
    assert "DHCPACK" in svg_text(svg)  # text, not glyph outlines: a slide program can edit it
    pdf = save_figure(fig, tmp_path / "lease.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"FontFile2" in pdf  # TrueType fonts embedded (type 42)
    with pytest.raises(ValueError, match=r"\.svg, \.pdf, \.png"):
        save_figure(fig, tmp_path / "lease.jpg")


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "refimpl", "diagram", *args], capture_output=True, text=True, timeout=120
    )


def test_cli_writes_text_and_pictures(tmp_path):
    out = cli("dhcp.two_servers", "--format", "mermaid")
    assert out.returncode == 0 and out.stdout == to_mermaid(dhcp.two_servers().trace)
    out = cli("ftp.login_list", "--format", "plantuml", "-o", str(tmp_path / "l.puml"))
    assert out.returncode == 0 and (tmp_path / "l.puml").read_text().startswith("@startuml")
    pcap = "refimpl/data/captures/tftp_session.pcap"
    out = cli("--pcap", pcap, "--protocol", "tftp", "--port", "46969", "--format", "svg", "-o", str(tmp_path / "t.svg"))
    assert out.returncode == 0, out.stderr
    assert "RRQ" in svg_text(tmp_path / "t.svg")


@pytest.mark.parametrize(
    "args, code, says",
    [
        (["dhcp.nope"], 1, "try one of: address_conflict"),
        (["dhcp.check_relay_nak"], 1, "no scenario"),  # a checker, not a story
        (["os.system"], 1, "PROTOCOL one of dhcp, ftp, tftp"),
        (["ftp.conversation"], 1, "cannot run with its defaults"),
        (["--pcap", "/etc/hostname"], 1, "cannot be read"),
        (["--pcap", "/nonexistent.pcap"], 1, "no such file"),
        (["dhcp.one_client", "--format", "pdf"], 2, "give -o FILE.pdf"),
        (["dhcp.one_client", "--format", "svg", "-o", "x.pdf"], 2, "must end in .svg"),
        ([], 2, "give a scenario"),
    ],
)
def test_cli_errors_say_what_is_wrong(args, code, says):
    out = cli(*args)
    assert out.returncode == code and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_the_export_module_imports_no_matplotlib():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, refimpl.viz.export; print('matplotlib' in sys.modules)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.strip() == "False"
