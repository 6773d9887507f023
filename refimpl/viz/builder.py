"""A packet builder: a form of DHCP header fields and options, and its bytes.

Change a field and watch what changes on the wire: the hexdump marks the
octets of the field you just edited, and the RFC-style diagram shows the new
values. The form is *generated* from :data:`refimpl.dhcp.message.HEADER_FIELDS`
(one input per header field, its meaning as the tooltip) plus a few options
from the registry, so it can never disagree with the codec.

Bad input (``192.0.2.999``, an xid too big for 4 octets) is reported under the
form by :func:`bad_input`: the field's name, what is wrong, and what a valid
value looks like (what passes that check, the codec still checks, and its
own message is shown then); the last good message stays shown.

ipywidgets is imported lazily inside :func:`packet_builder`.
"""

from __future__ import annotations

import html

from refimpl.viz import fields

# Options offered in the form: (option name, widget type, hint shown as placeholder)
FORM_OPTIONS = (
    ("message_type", "choice", ""),
    ("requested_ip", "text", "e.g. 192.0.2.10 (empty: none)"),
    ("param_request_list", "text", "codes, e.g. 1, 3, 6, 15"),
    ("hostname", "text", "e.g. laptop (empty: none)"),
    ("server_id", "text", "e.g. 192.0.2.1 (empty: none)"),
    ("lease_time", "text", "seconds (empty: none)"),
)


# What a valid value looks like, per kind of field: the builder's answer to bad input names the field and says
# this, instead of passing on whatever the conversion raised ("bytes must be in range(0, 256)").
_UNSIGNED = {"u8": 8, "u16": 16, "u32": 32}
_EXAMPLES = {
    "ip": "a dotted IPv4 address: four numbers from 0 to 255, e.g. 192.0.2.10",
    "chaddr": "a MAC address: six pairs of hex digits separated by ':', e.g. 02:00:00:00:00:01",
    "param_request_list": "option codes from 1 to 254, separated by commas, e.g. 1, 3, 6, 15",
    "lease_time": "a number of seconds from 0 to 4294967295 (0xffffffff means infinite, RFC 2132 §9.2)",
}
_IP_OPTIONS = ("requested_ip", "server_id")


def _is_ipv4(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)


def _is_number(text: str, bits: int) -> bool:
    try:
        return 0 <= int(text, 0) < 2**bits
    except ValueError:
        return False


def bad_input(name: str, text: str) -> str | None:
    """Why ``text`` is no valid value for the form's field ``name`` (with what a valid one looks like), or None.

    Checks the *form* of the value before the codec sees it; what passes here the codec still checks.
    """
    from refimpl.dhcp.message import HEADER_FIELDS

    text = str(text).strip()
    kinds = {f.name: (f.kind, f.size) for f in HEADER_FIELDS}
    shown = repr(text) if text else "an empty value"
    if name == "chaddr":
        parts = text.replace("-", ":").split(":")
        if not (len(parts) == 6 and all(len(p) == 2 and all(c in "0123456789abcdefABCDEF" for c in p) for p in parts)):
            return f"{name}: {shown} is not {_EXAMPLES['chaddr']}"
    elif name in kinds and kinds[name][0] in _UNSIGNED:
        bits = _UNSIGNED[kinds[name][0]]
        if not _is_number(text, bits):
            return (
                f"{name}: {shown} does not fit: {name} is {bits // 8} octet{'s' if bits > 8 else ''}, a whole number "
                f"from 0 to {2**bits - 1} (decimal, or hex written 0x..., e.g. 0x{2**bits - 1:0{bits // 4}x})"
            )
    elif name in kinds and kinds[name][0] == "ip" or (name in _IP_OPTIONS and text):
        if not _is_ipv4(text):
            return f"{name}: {shown} is not {_EXAMPLES['ip']}"
    elif name in kinds and kinds[name][0] == "bytes":
        size = kinds[name][1]
        if len(text.encode("utf-8")) > size - 1:
            return f"{name}: {len(text.encode('utf-8'))} bytes is too long: at most {size - 1}, and a NUL ends it"
    elif name == "param_request_list" and text:
        codes = text.replace(",", " ").split()
        if not all(c.isdigit() and 1 <= int(c) <= 254 for c in codes):
            return f"{name}: {shown} is not {_EXAMPLES['param_request_list']}"
    elif name == "lease_time" and text and not _is_number(text, 32):
        return f"{name}: {shown} is not {_EXAMPLES['lease_time']}"
    return None


def _default_message():
    from refimpl.dhcp.message import Message

    m = Message(xid=0x3903F326, mac="02:00:00:00:00:01")
    return m.set("message_type", 1).set("param_request_list", [1, 3, 6, 15])


def hexdump_html(msg, highlight=None, width: int = 16) -> str:
    """The encoded message as an HTML ``<pre>`` with ``highlight``'s octets in ``<mark>``."""
    data = msg.encode()
    marked = set(fields.field_bytes(msg, highlight)) if highlight is not None else set()
    rows = []
    for start in range(0, len(data), width):
        cells = []
        for i in range(start, min(start + width, len(data))):
            text = f"{data[i]:02x}"
            cells.append(f"<mark>{text}</mark>" if i in marked else text)
            if i - start == 7:
                cells.append("")
        rows.append(f"{start:04x}  " + " ".join(cells))
    title = ""
    if marked:
        title = html.escape(f"{highlight}: {fields._describe_marked(data, sorted(marked))}") + "\n"
    return f"<pre style='line-height:1.25'>{title}" + "\n".join(rows) + "</pre>"


class PacketBuilder:
    """The form's state: its widgets, the current message, and how to redraw.

    Kept as a plain object so tests can drive it without a browser:
    set ``builder.controls["yiaddr"].value`` and read ``builder.message``,
    ``builder.hexdump.value`` and ``builder.diagram.value``.
    """

    def __init__(self, msg=None):
        import ipywidgets as w

        from refimpl.dhcp.message import HEADER_FIELDS
        from refimpl.dhcp.options import MessageType, option_spec

        self.message = (msg if msg is not None else _default_message()).copy()
        self.highlight: str | None = None
        self.controls: dict[str, object] = {}
        layout = w.Layout(width="330px")
        style = {"description_width": "80px"}
        for f in HEADER_FIELDS:
            value = getattr(self.message, f.name)
            if f.name == "chaddr":  # a MAC address reads better than 16 raw octets
                control = w.Text(value=self.message.mac, description="chaddr", placeholder="02:00:00:00:00:01")
            elif f.kind in ("u8", "u16", "u32"):
                text = f"0x{value:08x}" if f.name == "xid" else (f"0x{value:04x}" if f.name == "flags" else str(value))
                control = w.Text(value=text, description=f.name)
            elif f.kind == "bytes":  # sname, file: NUL-terminated text
                control = w.Text(value=value.rstrip(b"\0").decode("utf-8", "replace"), description=f.name)
            else:  # "ip"
                control = w.Text(value=str(value), description=f.name)
            control.tooltip = f"{f.meaning} ({f.rfc})"
            self.controls[f.name] = control
        self.controls["broadcast"] = w.Checkbox(
            value=self.message.broadcast, description="BROADCAST flag (leftmost bit of flags)", indent=False
        )
        for name, kind, hint in FORM_OPTIONS:
            spec = option_spec(name)
            value = self.message.get(name)
            if kind == "choice":
                choices = [("(none)", 0)] + [(f"{t.value} {t.name}", t.value) for t in MessageType]
                control = w.Dropdown(
                    options=choices, value=int(value) if value is not None else 0, description=f"{spec.code}"
                )
            else:
                text = "" if value is None else (", ".join(map(str, value)) if isinstance(value, list) else str(value))
                control = w.Text(value=text, description=f"{spec.code}", placeholder=hint)
            control.tooltip = f"option {spec.code} {spec.name}: {spec.meaning} ({spec.rfc})"
            self.controls[name] = control
        for control in self.controls.values():
            control.layout = layout
            control.style = style
        self.status = w.HTML()
        self.hexdump = w.HTML()
        self.diagram = w.HTML()
        self.view = w.ToggleButtons(options=["header", "options"], value="header", description="diagram")
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._changed(name), names="value")
        self.view.observe(lambda change: self._redraw(), names="value")
        header = [self.controls[f.name] for f in HEADER_FIELDS] + [self.controls["broadcast"]]
        option_labels = [w.HTML("<b>options</b> (code: value)")] + [self.controls[n] for n, _, _ in FORM_OPTIONS]
        form = w.HBox(
            [w.VBox([w.HTML("<b>fixed header</b> (RFC 2131 §2)")] + header), w.VBox(option_labels + [self.status])]
        )
        pictures = w.HBox([self.hexdump, w.VBox([self.view, self.diagram])], layout=w.Layout(flex_flow="row wrap"))
        self.widget = w.VBox([form, pictures])  # the pictures wrap below each other on a narrow page
        self.widget.builder = self  # so a notebook (or test) can reach the state from the widget
        self._redraw()

    # -- reading the form --------------------------------------------------
    def _apply(self, name: str, message) -> None:
        """Copy one control's value into ``message`` (raises on bad input)."""
        from refimpl.dhcp.message import HEADER_FIELDS

        text = self.controls[name].value
        kinds = {f.name: f.kind for f in HEADER_FIELDS}
        if name == "chaddr":
            message.mac = text.strip()
        elif name == "broadcast":
            message.broadcast = bool(text)
        elif name == "message_type":
            message.set("message_type", text or None)
        elif name in kinds:
            kind = kinds[name]
            if kind in ("u8", "u16", "u32"):
                message.set(name, int(str(text).strip(), 0))  # accepts 10, 0x0a
            elif kind == "bytes":
                message.set(name, str(text).encode("utf-8"))
            else:
                message.set(name, str(text).strip())
        else:  # an option typed as text; empty removes it
            text = str(text).strip()
            if not text:
                message.set(name, None)
            elif name == "param_request_list":
                message.set(name, [int(part, 0) for part in text.replace(",", " ").split()])
            elif name == "lease_time":
                message.set(name, int(text, 0))
            else:
                message.set(name, text)

    def _changed(self, name: str) -> None:
        message = self.message.copy()
        why = None if name in ("broadcast", "message_type") else bad_input(name, self.controls[name].value)
        if why:
            self.status.value = f"<span style='color:#b00020'>{html.escape(why)}</span>"
            return
        try:
            self._apply(name, message)
            message.encode()  # every value must also encode
        except ValueError as exc:  # MessageError is a ValueError; int("x") too
            self.status.value = f"<span style='color:#b00020'>{html.escape(name)}: {html.escape(str(exc))}</span>"
            return
        self.message = message
        self.highlight = self._span_name(name)
        if name == "flags":  # keep the checkbox in step with the raw flags
            self.controls["broadcast"].value = message.broadcast
        elif name == "broadcast":
            self.controls["flags"].value = f"0x{message.flags:04x}"
        self.status.value = ""
        self._redraw()

    def _span_name(self, name: str) -> str | None:
        if name == "broadcast":
            return "flags"
        if name in self.controls and name not in dict((n, k) for n, k, _ in FORM_OPTIONS):
            return name
        return name if self.message.get(name) is not None else None

    def _redraw(self) -> None:
        self.hexdump.value = hexdump_html(self.message, self.highlight)
        if self.view.value == "header":
            text = fields.header_diagram_text(self.message)
        else:
            text = fields.options_chain_text(self.message)
        self.diagram.value = f"<pre style='line-height:1.15'>{html.escape(text)}</pre>"


def packet_builder(msg=None):
    """An ipywidgets form for ``msg`` (a DISCOVER by default); display it in a notebook.

    The returned widget has a ``builder`` attribute (:class:`PacketBuilder`)
    holding the current message: ``packet_builder().builder.message``.
    """
    return PacketBuilder(msg).widget
