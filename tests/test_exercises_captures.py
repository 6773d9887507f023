"""Exercises 01 and 05, task 6: answers read from the shipped captures (issue 12).

The hidden checks of these tasks store their expected output in the solutions. These tests make sure that
output is what the packets say - recomputed here from the pcap with scapy's own dissectors, not with the
course's readers the solutions use - that a blank exercise scores 0 on the tasks and the solution full marks
(in the grading sandbox), that the tshark output the notebooks show is what tshark prints for the shipped files,
and that the optional "record your own" part runs nothing.
"""

from __future__ import annotations

import copy
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from refimpl.grading import grade, notebook, sandbox
from refimpl.variant import GRADED_ID, PLACEHOLDER, Variant

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "refimpl" / "data" / "captures"
DHCP_PCAP = CAPTURES / "dhcp_udhcpc.pcap"
FTP_PCAP = CAPTURES / "ftp_session.pcap"
DHCP = ROOT / "solutions" / "01_dhcp_message.ipynb"
FTP = ROOT / "solutions" / "05_ftp_control.ipynb"
CONTROL_PORT = 42021
TASKS = {DHCP: "01-capture", FTP: "05-capture"}


def stored(path: Path, check: str) -> str:
    """The output the solution stores for ``check`` (what the grader expects)."""
    found = [c for c in notebook.checks(notebook.read(path)) if c.name == check]
    assert found, f"{path.name} has no check {check!r}"
    return found[0].expected


@pytest.fixture
def placeholder_id(monkeypatch):
    """The id the stored outputs were made with (refresh runs the solution as shipped)."""
    monkeypatch.delenv(GRADED_ID, raising=False)
    return PLACEHOLDER


# --------------------------------------------------------------------------- DHCP: scapy reads the pcap


def _dhcp_options(packet) -> dict:
    from scapy.layers import dhcp

    return {o[0]: o[1] for o in packet[dhcp.DHCP].options if isinstance(o, tuple)}


def test_the_dhcp_answers_are_what_scapy_reads_from_the_capture():
    from scapy.layers import dhcp
    from scapy.utils import rdpcap

    BOOTP = dhcp.BOOTP
    frames = rdpcap(str(DHCP_PCAP))
    assert all(f.haslayer(dhcp.DHCP) for f in frames) and len(frames) == 7
    types = [_dhcp_options(f)["message-type"] for f in frames]
    discover = types.index(1)
    offer = frames[types.index(2)]
    raw_options = bytes(frames[discover][dhcp.DHCP])
    assert raw_options.startswith(bytes([53, 1, 1]))  # udhcpc puts option 53 first: the octets the answer names
    xids = {f[BOOTP].xid for f in frames[:4]}
    assert len(xids) == 1
    o = _dhcp_options(offer)
    flag = bool(int(frames[discover][BOOTP].flags) & 0x8000)
    expected = (
        f"DISCOVER in frame {discover + 1} option [53, 1, 1] xid {hex(xids.pop())}\n"
        f"OFFER from {o['server_id']} offers {offer[BOOTP].yiaddr} lease {o['lease_time']} "
        f"T1 {o['renewal_time']} T2 {o['rebinding_time']} broadcast flag {flag!r}\n"
    )
    assert stored(DHCP, "01-capture-packets") == expected


def test_the_clock_answers_count_from_the_request_as_scapy_times_it(placeholder_id):
    from scapy.utils import rdpcap

    frames = rdpcap(str(DHCP_PCAP))
    types = [_dhcp_options(f)["message-type"] for f in frames]
    offer = _dhcp_options(frames[types.index(2)])
    clock = Variant("01_dhcp_message", student=placeholder_id).number("clock at frame 1", 1_000_000, 9_000_000)

    def answer(frame) -> str:
        sent = clock + round(float(frames[frame].time - frames[0].time) * 1000)
        times = [sent + offer[k] * 1000 for k in ("renewal_time", "rebinding_time", "lease_time")]
        return str(dict(zip(("request_at", "renew_at", "rebind_at", "expires_at"), [sent, *times]))) + "\n"

    assert stored(DHCP, "01-capture-clock") == answer(types.index(3))  # RFC 2131 §4.4.1: from the REQUEST
    # A student who counts from the ACK instead is off by the millisecond between them, and scores 0.
    assert answer(types.index(5)) != stored(DHCP, "01-capture-clock")


# --------------------------------------------------------------------------- FTP: scapy reads the pcap


def _ftp_segments():
    """(src port, dst port, flags, seq, payload) of every TCP segment, in capture order (scapy alone)."""
    from scapy.layers.inet import IP, TCP
    from scapy.utils import rdpcap

    found = []
    for p in rdpcap(str(FTP_PCAP)):
        if p.haslayer(TCP):
            tcp, ip = p[TCP], p[IP]
            payload = bytes(tcp.payload)[: ip.len - ip.ihl * 4 - tcp.dataofs * 4]
            found.append((tcp.sport, tcp.dport, str(tcp.flags), tcp.seq, payload))
    return found


def _scapy_session() -> tuple[dict, bytes]:
    segments = _ftp_segments()
    commands, last_227, answers, retr_at, port_at = [], "", {}, None, None
    for n, (sport, dport, _flags, _seq, payload) in enumerate(segments):
        for line in payload.decode("ascii", "replace").split("\r\n"):
            if dport == CONTROL_PORT and line:
                commands.append(line.split(" ")[0])
                retr_at = n if line.startswith("RETR") else retr_at
                port_at = n if line.startswith("PORT") else port_at
            elif sport == CONTROL_PORT and line.startswith("227") and retr_at is None:
                last_227 = line
    numbers = [int(x) for x in re.search(r"\((.*)\)", last_227).group(1).split(",")]
    answers["retr_host"], answers["retr_port"] = ".".join(map(str, numbers[:4])), numbers[4] * 256 + numbers[5]
    first_data = next(s for s in segments[retr_at:] if s[4] and CONTROL_PORT not in s[:2])
    server_port, client_port = first_data[0], first_data[1]
    syn = next(s for s in segments if s[2] == "S" and {s[0], s[1]} == {server_port, client_port})
    answers["retr_connection"] = [client_port, server_port]
    answers["retr_opened_by"] = "client" if syn[0] == client_port else "server"
    chunks = {s[3]: s[4] for s in segments if (s[0], s[1]) == (server_port, client_port) and s[4]}
    file_bytes = b"".join(chunks[k] for k in sorted(chunks))
    answers["file_size"] = len(file_bytes)
    answers["active_from"] = next(s[0] for s in segments[port_at:] if s[2] == "S" and CONTROL_PORT not in s[:2])
    answers["commands"] = commands
    return answers, file_bytes


def test_the_ftp_answers_are_what_scapy_reads_from_the_capture():
    a, file_bytes = _scapy_session()
    assert file_bytes.startswith(b"Hello from the course's FTP server.")
    expected = (
        f"commands {a['commands']}\n"
        f"RETR's data endpoint {a['retr_host']} {a['retr_port']} connection {a['retr_connection']} "
        f"opened by {a['retr_opened_by']}\n"
        f"file {a['file_size']} bytes; active LIST from port {a['active_from']}\n"
    )
    assert stored(FTP, "05-capture-packets") == expected
    assert a["active_from"] == CONTROL_PORT - 1  # RFC 959 §3.2's L-1, as the recorder started the server


def test_the_ftp_byte_answers_are_the_files_octets(placeholder_id):
    _, file_bytes = _scapy_session()
    offsets = Variant("05_ftp_control", student=placeholder_id).shuffled("file offsets", list(range(64)))[:4]
    assert stored(FTP, "05-capture-bytes") == str([(o, file_bytes[o]) for o in offsets]) + "\n"


# --------------------------------------------------------------------------- tshark's output, as shown

SHOWN = re.compile(r"```\n(\$ tshark .*?)```", re.S)


def _shown_tshark(path: Path) -> list[tuple[str, list[str]]]:
    """(command, output lines) for every ``$ tshark ...`` line in the solution's markdown."""
    found = []
    for cell in notebook.read(path).cells:
        if cell.cell_type != "markdown":
            continue
        for block in SHOWN.findall(cell.source):
            for part in re.split(r"^\$ ", block, flags=re.M)[1:]:
                command, *output = part.rstrip("\n").split("\n")
                found.append((command, output))
    return found


def _words(lines: list[str]) -> list[list[str]]:
    return [line.split() for line in lines if line.strip()]


@pytest.mark.parametrize("path", [DHCP, FTP], ids=lambda p: p.stem)
def test_the_tshark_output_shown_is_what_tshark_prints(path):
    shown = _shown_tshark(path)
    assert len(shown) >= 1 and all(c.startswith("tshark -r ") for c, _ in shown), shown
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (Debian package: tshark) to re-run the commands the notebook shows")
    for command, output in shown:
        ran = subprocess.run(shlex.split(command), cwd=CAPTURES, capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, (command, ran.stderr)
        assert _words(ran.stdout.splitlines()) == _words(output), command


def test_the_ftp_capture_needs_decode_as_and_tshark_misses_the_active_data_connection():
    """What the notebook says about tshark and this capture, checked rather than claimed."""
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (Debian package: tshark)")

    def frames(*args: str) -> list[str]:
        ran = subprocess.run(["tshark", "-r", FTP_PCAP.name, *args], cwd=CAPTURES, capture_output=True, text=True)
        return [line for line in ran.stdout.splitlines() if line.strip()]

    assert frames("-Y", "ftp") == []
    assert len(frames("-d", f"tcp.port=={CONTROL_PORT},ftp", "-Y", "ftp")) == 12 + 16  # 12 commands, 16 replies
    assert len(frames("-d", f"tcp.port=={CONTROL_PORT},ftp", "-Y", "ftp-data")) == 2
    assert len(frames("-Y", "tcp.port == 41919")) == 8  # the PORT connection: handshake, 66 bytes, ACK, FINs


def test_the_dhcp_filter_bootp_still_works_in_this_tshark():
    if shutil.which("tshark") is None:
        pytest.skip("needs tshark (Debian package: tshark)")
    runs = [
        subprocess.run(["tshark", "-r", DHCP_PCAP.name, "-Y", f], cwd=CAPTURES, capture_output=True, text=True)
        for f in ("dhcp", "bootp")
    ]
    assert runs[0].stdout == runs[1].stdout and len(runs[0].stdout.splitlines()) == 7


# --------------------------------------------------------------------------- the optional part runs nothing


@pytest.mark.parametrize("path", [DHCP, FTP], ids=lambda p: p.stem)
def test_recording_your_own_is_only_shown_never_run(path):
    nb = notebook.read(path)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for word in ("tcpdump", "record_dhcp", "record_ftp", "subprocess", "tshark"):
        assert word not in code, word
    assert "sudo .venv/bin/python -m refimpl.capture.record_" in prose and "Optional (0 points)" in prose


@pytest.mark.parametrize("path", [DHCP, FTP], ids=lambda p: p.stem)
def test_the_task_has_a_public_form_check_and_pointed_hidden_checks(path):
    checks = [c for c in notebook.checks(notebook.read(path)) if TASKS[path] in (c.name, c.task)]
    public = [c for c in checks if not c.hidden]
    hidden = [c for c in checks if c.hidden]
    assert [c.points for c in public] == [0]
    assert len(hidden) == 2 and all(c.points == 2 for c in hidden)
    assert sum(c.per_student for c in hidden) == 1  # one on the packets everyone shares, one on one's own
    assert all(re.search(r"\d", c.expected) for c in hidden)


# --------------------------------------------------------------------------- graded: blank 0, solution full

needs_sandbox = pytest.mark.skipif(
    sandbox.unavailable() is not None,
    reason=f"no sandbox here: {sandbox.unavailable()} (the grader refuses without one)",
)


def _without_hidden(nb):
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (notebook.check_meta(c) or {}).get("hidden")]
    return nb


@needs_sandbox
@pytest.mark.parametrize("path", [DHCP, FTP], ids=lambda p: p.stem)
def test_the_capture_task_scores_full_on_the_solution_and_zero_on_the_blank_exercise(path, tmp_path):
    solution = notebook.read(path)
    blank = ROOT / "exercises" / path.name
    solved = tmp_path / "solved.ipynb"
    solved.write_text(nbformat.writes(_without_hidden(solution)), encoding="utf-8")
    results = {}
    for n, target in enumerate((solved, blank)):
        g = grade.grade_one(
            solution, target, limits=sandbox.Limits(cell_timeout=30), slot=n, root=tmp_path, roster_id="s-capture-7"
        )
        assert g.status == "graded", (g.status, g.problems)
        results[target] = {c.name: c for c in g.checks if TASKS[path] in (c.name, c.task)}
    full, empty = results[solved], results[blank]
    assert len(full) == 3 and all(c.status == "passed" and c.earned == c.points for c in full.values()), full
    assert sum(c.earned for c in full.values()) == 4
    assert all(c.earned == 0 and c.status != "passed" for c in empty.values()), {
        n: (c.status, c.actual) for n, c in empty.items()
    }
