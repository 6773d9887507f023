"""Pictures of one DHCP message: the header as an RFC bit ruler, the options
as a TLV chain, and a hexdump with one field's bytes marked.

Why this module exists: students learn a binary format by seeing the same
bytes three ways at once - where each field sits (RFC 2131 figure 1), what
the options area is made of (RFC 2132 §2: code, length, value), and which
bytes on the wire belong to which field. Every picture here is *derived*:

- the header layout comes from :data:`refimpl.dhcp.message.HEADER_FIELDS`
  (the same table that encodes and decodes), never from a second copy;
- byte ranges come from :meth:`Message.layout`, so the highlight is exactly
  what the encoder wrote;
- option names come from the options registry :data:`refimpl.dhcp.options.OPTIONS`.

Each picture has a text version (compared by nbval in the notebooks, usable
in a terminal) and a matplotlib version. matplotlib is imported lazily, so
importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass

BITS_PER_ROW = 32  # RFC 2131 figure 1 draws the message 32 bits (4 octets) wide
BYTES_PER_ROW = BITS_PER_ROW // 8
MAGIC_COOKIE = bytes([99, 130, 83, 99])  # RFC 2131 §3, RFC 2132 §2
PAD, END = 0, 255  # RFC 2132 §3.1 and §3.2: the only options with no length octet


# --------------------------------------------------------------------------
# The row model shared by the text and the matplotlib diagram.
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One field's box inside a block of rows: bits [first_bit, last_bit)."""

    name: str
    size: int  # octets, as in the RFC figure's "(4)"
    first_bit: int
    last_bit: int


@dataclass(frozen=True)
class Block:
    """Consecutive 32-bit rows drawn together.

    A block is either one row holding several small fields (op, htype, hlen,
    hops) or several rows that all belong to one big field (chaddr, sname,
    file). Big fields are drawn shorter than they are (``lines`` < ``rows``),
    as the RFC itself does for sname and file.
    """

    offset: int  # first octet of the block
    rows: int  # how many 32-bit rows of the message it covers
    lines: int  # how many text lines (or figure row heights) it is drawn with
    cells: tuple[Cell, ...]


def _header_fields():
    from refimpl.dhcp.message import HEADER_FIELDS

    return HEADER_FIELDS


def header_blocks(max_lines: int = 4) -> list[Block]:
    """Group HEADER_FIELDS into the rows of RFC 2131 figure 1.

    Fields of up to 4 octets share a row; a field of several whole rows gets
    a block of its own, drawn with at most ``max_lines`` lines.
    """
    blocks: list[Block] = []
    row_cells: list[Cell] = []
    row_start = 0
    for f in _header_fields():
        if f.size > BYTES_PER_ROW:
            if f.offset % BYTES_PER_ROW or f.size % BYTES_PER_ROW or row_cells:
                raise ValueError(f"field {f.name} does not start or end on a 32-bit row")
            rows = f.size // BYTES_PER_ROW
            lines = rows if rows <= max_lines else min(3, max_lines)
            blocks.append(Block(f.offset, rows, lines, (Cell(f.name, f.size, 0, BITS_PER_ROW),)))
            row_start = f.offset + f.size
            continue
        first = (f.offset - row_start) * 8
        last = first + f.size * 8
        if last > BITS_PER_ROW:
            raise ValueError(f"field {f.name} crosses a 32-bit row boundary")
        row_cells.append(Cell(f.name, f.size, first, last))
        if last == BITS_PER_ROW:
            blocks.append(Block(row_start, 1, 1, tuple(row_cells)))
            row_cells = []
            row_start = f.offset + f.size
    if row_cells:
        raise ValueError("the header does not end on a 32-bit row")
    return blocks


# --------------------------------------------------------------------------
# Values, formatted short enough to sit inside a box.
# --------------------------------------------------------------------------


def field_value_text(msg, name: str) -> str:
    """A short readable form of header field ``name`` of ``msg``."""
    if name == "chaddr":
        raw = bytes(msg.chaddr)
        used = raw[: msg.hlen] if 0 < msg.hlen <= len(raw) else raw
        text = ":".join(f"{b:02x}" for b in used)
        rest = len(raw) - len(used)
        return f"{text} + {rest} zero octets" if rest and not any(raw[len(used) :]) else text
    value = getattr(msg, name)
    if name == "xid":
        return f"0x{value:08x}"
    if name == "flags":
        return f"0x{value:04x} (B={value >> 15})"  # RFC 2131 figure 2: B is the leftmost bit
    if isinstance(value, (bytes, bytearray)):
        text = bytes(value).rstrip(b"\0")
        if not text:
            return f"{len(value)} zero octets"
        try:
            return repr(text.decode("ascii"))
        except UnicodeDecodeError:
            return text.hex(" ")
    return str(value)


def _label_fits(options: list[str], width: int) -> str:
    for text in options:
        if len(text) <= width:
            return text
    text = options[-1]
    return text[: max(width - 2, 0)] + ".." if width > 2 else text[:width]


# --------------------------------------------------------------------------
# Text version of RFC 2131 figure 1.
# --------------------------------------------------------------------------


def _ruler() -> list[str]:
    tens = " ".join(str(i // 10) if i % 10 == 0 else " " for i in range(BITS_PER_ROW))
    units = " ".join(str(i % 10) for i in range(BITS_PER_ROW))
    return [tens.rstrip(), units]


def _separator(bounds: set[int], every_bit: bool = False) -> str:
    chars = []
    for bit in range(BITS_PER_ROW + 1):
        chars.append("+" if every_bit or bit in bounds else "-")
        if bit < BITS_PER_ROW:
            chars.append("-")
    return "".join(chars)


def _bounds(block: Block) -> set[int]:
    return {c.first_bit for c in block.cells} | {BITS_PER_ROW}


def _box_line(block: Block, texts: dict[str, str]) -> str:
    line = ""
    for cell in block.cells:
        inner = 2 * (cell.last_bit - cell.first_bit) - 1
        line += "|" + texts.get(cell.name, "").center(inner)[:inner]
    return line + "|"


def header_diagram_text(msg=None, *, options: bool = True) -> str:
    """RFC 2131 figure 1 in ASCII, drawn from HEADER_FIELDS.

    With ``msg``, each box also shows that message's value. With ``options``
    (the default) a last box stands for the variable-length options field,
    which is not part of the fixed header.
    """
    blocks = header_blocks()
    lines = _ruler()
    previous: set[int] | None = None
    for block in blocks:
        bounds = _bounds(block)
        lines.append(_separator(bounds | (previous or set()), every_bit=previous is None))
        previous = bounds
        labels: list[dict[str, str]] = [dict() for _ in range(block.lines)]
        for cell in block.cells:
            inner = 2 * (cell.last_bit - cell.first_bit) - 1
            name = f"{cell.name} ({cell.size})"
            if msg is None:
                texts = [name]
            else:
                value = field_value_text(msg, cell.name)
                texts = [f"{name} = {value}", f"{cell.name} = {value}", value]
            if block.lines == 1:
                labels[0][cell.name] = _label_fits(texts, inner)
            else:
                middle = (block.lines - 1) // 2
                labels[middle][cell.name] = name
                if msg is not None:
                    labels[middle + 1][cell.name] = _label_fits([field_value_text(msg, cell.name)], inner)
        lines.extend(_box_line(block, text) for text in labels)
    if options:
        lines.append(_separator({0, BITS_PER_ROW}))
        box = Block(0, 1, 1, (Cell("options", 0, 0, BITS_PER_ROW),))
        label = "options (variable)"
        if msg is not None:
            n = len(msg.options)
            label += f": magic cookie + {n} option{'' if n == 1 else 's'}"
        lines.append(_box_line(box, {}))
        lines.append(_box_line(box, {"options": label}))
        previous = {0, BITS_PER_ROW}
    lines.append(_separator(previous or set()))
    return "\n".join(line.rstrip() for line in lines)


# --------------------------------------------------------------------------
# Options: the TLV chain (RFC 2132 §2).
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TLV:
    """One option as it sits on the wire (or a PAD/END octet, or a run of PAD)."""

    offset: int  # of the code octet, in the encoded message
    code: int
    length: int | None  # None for PAD and END, which have no length octet
    value: bytes
    size: int = 1  # octets on the wire (a run of trailing PAD counts as one TLV)


def option_tlvs(msg, data: bytes | None = None) -> list[TLV]:
    """The options area of ``msg`` as the encoder laid it out, from ``msg.layout()``.

    Each option is three layout spans (``name.code``, ``name.length``,
    ``name.value``); PAD and END are one-octet spans. The framing comes from
    the codec, so the picture shows exactly what was encoded.
    """
    data = msg.encode() if data is None else data
    tlvs: list[TLV] = []
    code_at = length = None
    for span in msg.layout():
        if span.name in ("pad", "end"):
            tlvs.append(TLV(span.offset, data[span.offset], None, b"", span.size))
        elif span.name.endswith(".code"):
            code_at = span.offset
        elif span.name.endswith(".length"):
            length = data[span.offset]
        elif span.name.endswith(".value") and code_at is not None:
            value = bytes(data[span.offset : span.offset + span.size])
            tlvs.append(TLV(code_at, data[code_at], length, value, 2 + len(value)))
            code_at = length = None
    return tlvs


def option_name(code: int) -> str:
    """The registry's name for option ``code`` (``option_<code>`` if unknown)."""
    from refimpl.dhcp.options import OPTIONS

    if code == PAD:
        return "pad"
    if code == END:
        return "end"
    spec = OPTIONS.get(code)
    return spec.name if spec is not None else f"option_{code}"


def _decoded(msg, code: int) -> str:
    """The codec's decoded value of option ``code``, described by the registry."""
    from refimpl.dhcp.options import describe

    if code in (PAD, END):
        return ""
    value = msg.get(code)
    return "" if value is None else describe(code, value)


def _short_hex(data: bytes, limit: int = 8) -> str:
    if len(data) <= limit:
        return data.hex(" ")
    return data[:limit].hex(" ") + f" .. (+{len(data) - limit})"


def options_chain_text(msg) -> str:
    """The options field of ``msg`` as a TLV chain and a table.

    The first line draws the chain ``[code|len|value]`` the way the bytes
    follow one another; the table gives each option's offset, name and the
    value the codec decodes from it (an option split in several pieces,
    RFC 3396, shows the joined value on its first piece).
    """
    data = msg.encode()
    cookie_at = _cookie_offset()
    tlvs = option_tlvs(msg, data)
    chain = ["cookie"]
    seen: set[int] = set()
    rows = [("offset", "code", "len", "name", "value bytes", "decoded")]
    cookie = data[cookie_at : cookie_at + 4]
    rows.append((str(cookie_at), "", "", "magic cookie", cookie.hex(" "), ".".join(str(b) for b in cookie)))
    area = "options"
    for t in tlvs:
        if _area(t.offset) != area:  # RFC 2131 §4.1: with option 52, file and then sname carry options too
            area = _area(t.offset)
            chain.append(f"({area}:)")
            rows.append(f"-- in the {area} field (option 52 says so) --")
        if t.length is None:
            name = option_name(t.code) + (f" x {t.size}" if t.size > 1 else "")
            chain.append(f"[{t.code}]" + (f" x {t.size}" if t.size > 1 else ""))
            rows.append((str(t.offset), str(t.code), "", name, "", ""))
            continue
        chain.append(f"[{t.code}|{t.length}|{_short_hex(t.value, 4)}]")
        if t.code in seen:  # RFC 3396: a long option goes out in several pieces
            decoded = f"(continues option {t.code}: the pieces are joined)"
        else:
            decoded = _clip(_decoded(msg, t.code), 60)
        seen.add(t.code)
        rows.append((str(t.offset), str(t.code), str(t.length), option_name(t.code), _short_hex(t.value), decoded))
    cols = [r for r in rows if isinstance(r, tuple)]  # marker lines are printed as they are
    widths = [max(len(r[i]) for r in cols) for i in range(len(cols[0]))]
    align = [str.rjust, str.rjust, str.rjust, str.ljust, str.ljust, str.ljust]
    table = [
        "  ".join(align[i](r[i], widths[i]) for i in range(len(r))).rstrip() if isinstance(r, tuple) else r
        for r in rows
    ]
    return "\n".join(_wrap_chain(chain) + [""] + table)


def _area(offset: int) -> str:
    """Which part of the message an option's offset lies in: options, file or sname."""
    for f in _header_fields():
        if f.name in ("sname", "file") and f.offset <= offset < f.offset + f.size:
            return f.name
    return "options"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + " .."


def _wrap_chain(parts: list[str], width: int = 78) -> list[str]:
    lines, line = [], ""
    for part in parts:
        piece = part if not line else " - " + part
        if line and len(line) + len(piece) > width:
            lines.append(line + " -")
            line = "  " + part
        else:
            line += piece
    return lines + [line]


def _cookie_offset() -> int:
    """The magic cookie sits right after the last fixed header field."""
    last = _header_fields()[-1]
    return last.offset + last.size


# --------------------------------------------------------------------------
# Hexdump with one field marked.
# --------------------------------------------------------------------------


def field_bytes(msg, name: str | int) -> list[int]:
    """Offsets in ``msg.encode()`` of the octets that make up ``name``.

    ``name`` is a header field (``"yiaddr"``), ``"cookie"``, an option by
    name or code (``"hostname"``, ``12``: its code, length and value octets,
    every piece if it was split), or any exact layout name
    (``"hostname.value"``, ``"end"``). The positions come from ``msg.layout()``.
    """
    spans = msg.layout()
    chosen = [s for s in spans if s.name == name]
    if not chosen:
        try:
            from refimpl.dhcp.options import option_spec

            prefix = option_spec(name).name + "."
        except (KeyError, ValueError):
            prefix = None
        if prefix:
            chosen = [s for s in spans if s.name.startswith(prefix)]
    if not chosen:
        names = list(dict.fromkeys(s.name.split(".")[0] for s in spans))  # in wire order, once each
        raise KeyError(f"{name!r} is not in this message; try one of: {', '.join(names)}")
    return sorted({i for s in chosen for i in range(s.offset, s.offset + s.size)})


def _describe_marked(data: bytes, marked: list[int]) -> str:
    first, last = marked[0], marked[-1]
    where = f"offset {first} (0x{first:03x})" if last - first + 1 == len(marked) else f"offsets {first}..{last}"
    shown = bytes(data[i] for i in marked[:16]).hex(" ") + (" .." if len(marked) > 16 else "")
    return f"{where}, {len(marked)} octet{'s' if len(marked) != 1 else ''} = {shown}"


def hexdump_text(msg, highlight: str | int | None = "yiaddr", width: int = 16) -> str:
    """``msg.encode()`` as offset / hex / ASCII rows, ``highlight``'s bytes marked ``^^``.

    Rows of zeros identical to the row before are folded into ``*`` as
    hexdump(1) does, unless they hold marked bytes - so sname and file do not
    bury the interesting part.
    """
    data = msg.encode()
    marked: set[int] = set()
    lines: list[str] = []
    if highlight is not None:
        marked_list = field_bytes(msg, highlight)
        marked = set(marked_list)
        lines.append(f"{highlight}: {_describe_marked(data, marked_list)}")
    previous = None
    folded = False
    for row in range(0, len(data), width):
        chunk = data[row : row + width]
        has_mark = any(i in marked for i in range(row, row + len(chunk)))
        if chunk == previous and not has_mark and row + width < len(data):
            if not folded:
                lines.append("*")
                folded = True
            continue
        folded = False
        previous = chunk
        cells = []
        for i, b in enumerate(chunk):
            cells.append(f"{b:02x}")
            if i == 7:
                cells.append("")
        text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{row:04x}  {' '.join(cells):<{3 * width + 1}} {text}".rstrip())
        if has_mark:
            marks = []
            for i in range(len(chunk)):
                marks.append("^^" if row + i in marked else "  ")
                if i == 7:
                    marks.append("")
            lines.append(("      " + " ".join(marks)).rstrip())
    lines.append(f"{len(data):04x}  ({len(data)} octets)")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# matplotlib versions.
# --------------------------------------------------------------------------

# Figures are built with matplotlib.figure.Figure, not pyplot: nothing global,
# nothing left open, and a notebook shows a returned figure exactly once.
_PALETTE = ["#cfe2f3", "#d9ead3", "#fff2cc", "#fce5cd", "#ead1dc", "#d0e0e3", "#e6e0f0"]
_HIGHLIGHT = "#f4b400"


def header_diagram(msg=None, highlight: str | None = None, ax=None):
    """RFC 2131 figure 1 as a matplotlib figure (bit ruler 0..31 on top).

    Returns the Figure. ``highlight`` fills one field's box in a strong colour.
    """
    from matplotlib.patches import Rectangle

    blocks = header_blocks(max_lines=2)
    total = sum(b.lines for b in blocks) + 1  # + options
    fig, ax = _canvas(ax, height=0.42 * total + 1.0)
    ax.set_xlim(-3.2, BITS_PER_ROW + 0.2)
    ax.set_ylim(total + 0.2, -1.6)
    ax.axis("off")
    for bit in range(BITS_PER_ROW):
        ax.text(bit + 0.5, -0.35, str(bit), ha="center", va="bottom", fontsize=7, family="monospace")
        if bit % 8 == 0:
            ax.text(bit + 0.05, -1.0, f"octet +{bit // 8}", ha="left", va="bottom", fontsize=7, color="#666")
    ax.text(-0.3, -0.35, "bit", ha="right", va="bottom", fontsize=7, color="#666")
    y = 0.0
    colour = 0
    for block in blocks:
        ax.text(
            -0.3,
            y + block.lines / 2,
            f"{block.offset}",
            ha="right",
            va="center",
            fontsize=8,
            color="#666",
            family="monospace",
        )
        for cell in block.cells:
            face = _HIGHLIGHT if cell.name == highlight else _PALETTE[colour % len(_PALETTE)]
            colour += 1
            width = cell.last_bit - cell.first_bit
            ax.add_patch(Rectangle((cell.first_bit, y), width, block.lines, facecolor=face, edgecolor="black", lw=1))
            label = f"{cell.name} ({cell.size})"
            if msg is not None:
                value = field_value_text(msg, cell.name)
                label = (
                    f"{label}\n{value}" if len(value) <= width * 2.2 else f"{label}\n{value[: int(width * 2.2) - 2]}.."
                )
            fontsize = 9 if width >= 16 else 8
            ax.text(
                cell.first_bit + width / 2,
                y + block.lines / 2,
                label,
                ha="center",
                va="center",
                fontsize=fontsize,
                family="monospace",
            )
            if block.rows > block.lines:  # drawn shorter than it is: say so with a break mark
                ax.text(
                    BITS_PER_ROW - 0.3,
                    y + block.lines - 0.15,
                    f"{block.rows} rows",
                    ha="right",
                    va="bottom",
                    fontsize=7,
                    color="#555",
                )
        y += block.lines
    ax.add_patch(Rectangle((0, y), BITS_PER_ROW, 1, facecolor="white", edgecolor="black", lw=1, linestyle="--"))
    ax.text(-0.3, y + 0.5, f"{_cookie_offset()}", ha="right", va="center", fontsize=8, color="#666", family="monospace")
    ax.text(
        BITS_PER_ROW / 2,
        y + 0.5,
        "options (variable): magic cookie 99.130.83.99, then code/length/value",
        ha="center",
        va="center",
        fontsize=9,
        family="monospace",
    )
    ax.text(-3.1, -1.0, "offset", ha="left", va="bottom", fontsize=7, color="#666")
    ax.set_title("DHCP message header (RFC 2131 figure 1), 32 bits per row", fontsize=11)
    fig.tight_layout()
    return fig


def options_chain(msg, ax=None):
    """The options field as a chain of boxes: code | len | value, named from the registry."""
    from matplotlib.patches import Rectangle

    data = msg.encode()
    cookie_at = _cookie_offset()
    tlvs = option_tlvs(msg, data)
    n = len(tlvs) + 1
    fig, ax = _canvas(ax, height=0.55 * n + 0.9)
    ax.set_xlim(0, 12)
    ax.set_ylim(n + 0.1, -0.9)
    ax.axis("off")
    for x, title in ((0.0, "offset"), (1.0, "code"), (2.0, "len"), (3.0, "value"), (7.6, "name / decoded")):
        ax.text(x + 0.05, -0.25, title, fontsize=8, color="#555", va="bottom")

    def box(x, y, w, text, face):
        ax.add_patch(Rectangle((x, y + 0.08), w, 0.84, facecolor=face, edgecolor="black", lw=1))
        ax.text(x + w / 2, y + 0.5, text, ha="center", va="center", fontsize=8.5, family="monospace")

    box(1.0, 0, 6.4, "magic cookie  " + data[cookie_at : cookie_at + 4].hex(" "), "#eeeeee")
    ax.text(0.05, 0.5, str(cookie_at), va="center", fontsize=8, family="monospace")
    ax.text(7.6, 0.5, "99.130.83.99 (RFC 2131 §3)", va="center", fontsize=8.5)
    for row, t in enumerate(tlvs, start=1):
        face = _PALETTE[row % len(_PALETTE)]
        ax.text(0.05, row + 0.5, str(t.offset), va="center", fontsize=8, family="monospace")
        box(1.0, row, 1.0, str(t.code), face)
        if t.length is not None:
            box(2.0, row, 1.0, str(t.length), face)
            box(3.0, row, 4.4, _short_hex(t.value, 10) or "(empty)", "white")
        decoded = _decoded(msg, t.code)
        label = option_name(t.code) + (f" = {decoded}" if decoded else "")
        if t.length is None and t.size > 1:
            label += f" x {t.size} (up to {len(data)} octets)"
        ax.text(7.6, row + 0.5, label if len(label) < 52 else label[:50] + "..", va="center", fontsize=8.5)
    ax.set_title("Options: 1-octet code, 1-octet length, then the value (RFC 2132 §2)", fontsize=11)
    fig.tight_layout()
    return fig


def hexdump(msg, highlight: str | int | None = "yiaddr", width: int = 16, ax=None):
    """The encoded message as a grid of octets, ``highlight``'s octets filled in colour."""
    from matplotlib.patches import Rectangle

    data = msg.encode()
    marked: set[int] = set()
    title = f"{len(data)} octets on the wire"
    if highlight is not None:
        marked_list = field_bytes(msg, highlight)
        marked = set(marked_list)
        title = f"{highlight}: {_describe_marked(data, marked_list)}  ({len(data)} octets in all)"
    rows = (len(data) + width - 1) // width
    fig, ax = _canvas(ax, height=0.3 * rows + 1.0)
    ax.set_xlim(-2.2, width + 0.2)
    ax.set_ylim(rows + 0.1, -0.9)
    ax.axis("off")
    for col in range(width):
        ax.text(col + 0.5, -0.15, f"+{col:x}", ha="center", va="bottom", fontsize=7, color="#666", family="monospace")
    tint = {}  # a pale colour per layout span, so field boundaries show
    for n, span in enumerate(msg.layout()):
        for i in range(span.offset, span.offset + span.size):
            tint[i] = ("#eef3fb", "#fbf7e9")[n % 2]
    for i, b in enumerate(data):
        row, col = divmod(i, width)
        if col == 0:
            ax.text(-0.2, row + 0.5, f"{i:04x}", ha="right", va="center", fontsize=8, color="#666", family="monospace")
        face = _HIGHLIGHT if i in marked else tint.get(i, "white")
        ax.add_patch(Rectangle((col, row), 1, 1, facecolor=face, edgecolor="#bbbbbb", lw=0.5))
        ax.text(
            col + 0.5,
            row + 0.5,
            f"{b:02x}",
            ha="center",
            va="center",
            fontsize=8,
            family="monospace",
            color="black" if b else "#aaaaaa",
        )
    ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def _canvas(ax, height: float):
    """The axes to draw on: the caller's, or a new 11-inch-wide figure of ``height`` inches.

    Figures are made without pyplot so a notebook shows each one once (pyplot would
    show it again when the cell ends).
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(11, height))
        return fig, fig.subplots()
    return ax.figure, ax
