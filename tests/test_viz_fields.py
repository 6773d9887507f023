"""The field pictures are derived from the codec's tables, and show what the codec encodes."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from refimpl.dhcp import Message
from refimpl.dhcp import message as message_module
from refimpl.dhcp.message import HEADER_FIELDS, HeaderField
from refimpl.viz import fields


def discover() -> Message:
    return Message.discover(mac="02:00:00:00:00:01", xid=0x3903F326, params=[1, 3, 6], hostname="laptop")


# -- the row model ------------------------------------------------------------


def test_one_cell_per_header_field_in_order():
    cells = [cell for block in fields.header_blocks() for cell in block.cells]
    assert [c.name for c in cells] == [f.name for f in HEADER_FIELDS]


def test_rows_cover_exactly_the_fixed_header():
    blocks = fields.header_blocks()
    assert sum(b.rows for b in blocks) * 32 == 236 * 8
    for block in blocks:
        if block.rows == 1:  # small fields fill one 32-bit row exactly
            assert sum(c.last_bit - c.first_bit for c in block.cells) == 32
    sizes = {c.name: c.size for b in blocks for c in b.cells}
    assert sizes == {f.name: f.size for f in HEADER_FIELDS}


def test_layout_follows_the_table_not_a_copy(monkeypatch):
    renamed = tuple(f._replace(name="opcode") if f.name == "op" else f for f in HEADER_FIELDS)
    monkeypatch.setattr(message_module, "HEADER_FIELDS", renamed)
    text = fields.header_diagram_text()
    assert "opcode (1)" in text and "op (1)" not in text


def test_a_field_crossing_a_row_is_refused(monkeypatch):
    bad = (HeaderField("a", 0, 3, "bytes", "", ""), HeaderField("b", 3, 2, "bytes", "", ""))
    monkeypatch.setattr(message_module, "HEADER_FIELDS", bad)
    with pytest.raises(ValueError, match="crosses"):
        fields.header_blocks()


# -- the text diagram -----------------------------------------------------------


def test_diagram_has_one_box_per_field_and_rfc_geometry():
    text = fields.header_diagram_text(options=False)
    lines = text.splitlines()
    assert lines[1].split() == [str(i % 10) for i in range(32)]  # the bit ruler, 0..31
    for f in HEADER_FIELDS:
        assert text.count(f"{f.name} ({f.size})") == 1, f.name
    body = [line for line in lines[2:] if line]
    assert all(len(line) == 65 for line in body)  # 32 bits x 2 chars + closing edge
    first_row = lines[3]
    assert first_row.count("|") == 5  # op, htype, hlen, hops
    assert re.fullmatch(r"\|\s+xid \(4\)\s+\|", lines[5])


def test_diagram_shows_the_values_of_a_message():
    m = discover()
    m.broadcast = True
    text = fields.header_diagram_text(m)
    assert "xid (4) = 0x3903f326" in text
    assert "0x8000 (B=1)" in text
    assert "02:00:00:00:00:01" in text
    assert "3 options" in text  # message type, parameter list, host name


# -- options -------------------------------------------------------------------


def test_option_tlvs_rebuild_the_encoded_options():
    m = discover()
    data = m.encode()
    tlvs = fields.option_tlvs(m)
    rebuilt = bytearray()
    for t in tlvs:
        rebuilt += bytes([t.code]) * t.size if t.length is None else bytes([t.code, t.length]) + t.value
    assert bytes(rebuilt) == data[240:]
    assert [t.code for t in tlvs if t.length is not None] == list(m.options)


def test_options_chain_names_come_from_the_registry():
    text = fields.options_chain_text(discover())
    assert text.startswith("cookie - [53|1|01] - ")
    assert "[55|3|01 03 06]" in text and "[12|6|6c 61 70 74 .. (+2)]" in text
    assert re.search(r"^\s+240\s+53\s+1\s+message_type\s+01\s+DISCOVER$", text, re.M)
    assert re.search(r"^\s+\d+\s+12\s+6\s+hostname\s+6c 61 70 74 6f 70\s+'laptop'$", text, re.M)
    assert re.search(r"^\s+\d+\s+55\s+3\s+param_request_list\s+01 03 06\s+1 subnet_mask, 3 router", text, re.M)
    assert "magic cookie        63 82 53 63" in text


def test_long_option_shows_its_pieces():
    m = discover().set("router", [f"192.0.2.{i}" for i in range(1, 71)])
    rows = [line for line in fields.options_chain_text(m).splitlines() if re.match(r"^\s+\d+\s+3\s", line)]
    assert len(rows) == 2 and "255" in rows[0] and "25" in rows[1]
    assert "continues option 3" in rows[1]


# -- hexdump ----------------------------------------------------------------------


def marked_offsets(text: str) -> list[int]:
    """Read back the ^^ marks of hexdump_text into byte offsets."""
    offsets, row = [], None
    for line in text.splitlines():
        if re.match(r"^[0-9a-f]{4}  ", line):
            row = int(line[:4], 16)
        elif line.strip() and set(line.strip()) <= {"^", " "}:
            cols = [i for i in range(16) if line[6 + 3 * i + (i >= 8) : 8 + 3 * i + (i >= 8)] == "^^"]
            offsets += [row + c for c in cols]
    return offsets


@pytest.mark.parametrize("name", ["yiaddr", "xid", "chaddr", "hostname", "cookie", 53])
def test_hexdump_marks_exactly_the_layout_span(name):
    m = discover()
    text = fields.hexdump_text(m, name)
    expected = fields.field_bytes(m, name)
    assert marked_offsets(text) == expected
    if name == "yiaddr":
        assert expected == [16, 17, 18, 19]
    if name == "hostname":  # code, length and value octets
        assert len(expected) == 2 + len("laptop")


def test_hexdump_folds_zero_rows_but_keeps_every_octet_count():
    text = fields.hexdump_text(discover(), None)
    assert "*" in text.splitlines()
    assert text.splitlines()[-1] == "012c  (300 octets)"


def test_unknown_field_name_says_what_exists():
    with pytest.raises(KeyError, match="yiaddr"):
        fields.hexdump_text(discover(), "yaddr")


# -- figures --------------------------------------------------------------------------


def test_figures_draw_one_box_per_field(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    m = discover()
    fig = fields.header_diagram(m, highlight="yiaddr")
    boxes = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    assert len(boxes) == len(HEADER_FIELDS) + 1  # + the options box
    colours = {p.get_facecolor() for p in boxes}
    assert len(colours) > 2
    fig.savefig(tmp_path / "header.png")
    fig2 = fields.hexdump(m, "yiaddr")
    assert len(fig2.axes[0].patches) == len(m.encode())
    fig3 = fields.options_chain(m)
    assert fig3.axes[0].texts
    plt.close("all")


def test_importing_fields_does_not_import_matplotlib():
    code = "import sys, refimpl.viz.fields; print('matplotlib' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
