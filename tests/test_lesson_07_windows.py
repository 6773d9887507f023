"""Lesson 07's windowsize section says what RFC 7440 says, as worded, and what the runs show."""

from __future__ import annotations

import json
from pathlib import Path

from refimpl.tftp import scenarios

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "notebooks" / "07_tftp.ipynb"

RFC_7440 = (  # RFC 7440 §3 and §4, as worded
    "The DSND MUST cyclically send to the DRCV the agreed windowsize consecutive data blocks before normally "
    "stopping and waiting for the ACK of the transferred window.",
    "The DRCV MUST send to the DSND the ACK of the last data block of the window in order to confirm a successful "
    "data block window reception.",
    "The valid values range MUST be between 1 and 65535 blocks, inclusive.",
    "Traffic with windowsize = 1 MUST be equivalent to traffic specified by [RFC1350].",
    "In the case of a data block sequence error, the DRCV SHOULD notify the DSND by sending an ACK corresponding to "
    "the last data block correctly received.",
    "The notified DSND SHOULD send a new data block window whose beginning MUST be set based on the ACK received out "
    "of sequence.",
    "In the case of an expected ACK not timely reaching the DSND (timeout), the last received ACK SHALL set the "
    "beginning of the next windowsize data block window to be sent.",
)


def _markdown() -> str:
    cells = json.loads(LESSON.read_text(encoding="utf-8"))["cells"]
    text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return " ".join(text.split())  # line breaks in the notebook are spaces in the quote


def test_the_section_quotes_rfc_7440_as_worded():
    text = _markdown()
    assert "### Windows: several blocks per ACK (RFC 7440)" in text
    for sentence in RFC_7440:
        assert sentence in text, sentence[:60]


def test_the_policy_is_labelled_and_matches_the_server():
    from refimpl.tftp.server import ServerConfig

    text = _markdown()
    assert "Our server's policy, not the RFC's: it grants at most 64 blocks and at most 64 KiB" in text
    config = ServerConfig()
    assert config.max_windowsize == 64 and config.max_window_bytes == 64 * 1024


def test_a_window_of_one_is_lock_step_and_wider_windows_cost_fewer_round_trips():
    lockstep = scenarios.read_file(size=20_000, delay=0.01)
    one, four, eight = scenarios.windows((1, 4, 8), size=20_000, delay=0.01)
    kinds = [e.kind for e in one.run.trace if not e.is_note][3:]  # after RRQ, OACK, ACK 0
    assert kinds == [e.kind for e in lockstep.trace if not e.is_note][1:]  # DATA, ACK, DATA, ACK ... as RFC 1350
    assert one.round_trips > four.round_trips > eight.round_trips
    assert all(r.ok for r in (one, four, eight))


def test_a_gap_is_answered_at_once_and_the_next_window_starts_at_the_lost_block():
    lossy = scenarios.read_file(size=20_000, windowsize=4, delay=0.01, drop={"DATA 6": {1}})
    wire = [e for e in lossy.trace if not e.is_note]
    lost = next(k for k, e in enumerate(wire) if e.lost)
    after = wire[lost + 1 :]
    ack = next(e for e in after if e.kind == "ACK")
    assert ack.message.block == 5
    assert next(e for e in after if e.kind == "DATA" and e.time > ack.time).message.block == 6
    assert ack.time - wire[lost].time < 0.05, "no timer: the gap itself starts the repair"
