"""What travels in the simulated network: packets, timers and loss rules.

Plain data, no behaviour to speak of: the :class:`Packet` a host puts on the
wire, the :class:`Timer` the event queue holds, the :class:`Impairment`
rules that lose or delay packets on purpose, and the default way to name a
packet in the trace when no protocol decoder is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from refimpl.sim.host import Interface

BROADCAST_IP = "255.255.255.255"
ANY_IP = "0.0.0.0"
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
EPHEMERAL_FIRST = 49152  # RFC 6335 §6: the dynamic/private port range starts here


# ---------------------------------------------------------------------------
# What travels on the wire
# ---------------------------------------------------------------------------
@dataclass
class Packet:
    """One IP packet as the simulator sees it: addresses, ports and a payload.

    ``flags`` is only used by TCP ("SYN", "SYN-ACK", "ACK", "FIN", "RST"; ""
    for a data segment). ``dst_mac`` lets a sender address a host by its
    hardware address when it has no IP yet (RFC 2131 §4.1: a server may unicast
    an OFFER to ``chaddr``/``yiaddr``). The network fills in ``iface`` (the
    receiving interface), ``src_mac`` and the description fields.
    """

    transport: str  # "udp" or "tcp"
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    payload: bytes = b""
    flags: str = ""
    dst_mac: str | None = None
    flow: str = ""
    src_mac: str = ""
    ttl: int = 16
    # filled in by the network
    iface: Interface | None = field(default=None, repr=False, compare=False)
    kind: str = ""
    summary: str = ""
    message: Any = field(default=None, repr=False, compare=False)

    @property
    def is_broadcast(self) -> bool:
        return self.dst_ip == BROADCAST_IP or self.dst_mac == BROADCAST_MAC

    @property
    def source(self) -> tuple[str, int]:
        """``(src_ip, src_port)``: where a reply should go."""
        return (self.src_ip, self.src_port)


class Timer:
    """A scheduled callback; ``cancel()`` it and it never runs."""

    def __init__(self, when: float, fn: Callable, args: tuple):
        self.when, self.fn, self.args = when, fn, args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<Timer at {self.when:.3f}{state} {getattr(self.fn, '__name__', self.fn)}>"


@dataclass
class Impairment:
    """A rule that delays or drops matching packets (loss injection).

    A packet matches when every filter given matches (``None`` = any). The
    ``count`` goes up by one for each matching packet, so ``drop_nth={2}``
    drops exactly the second match: a lesson can say "the OFFER is lost" and
    get the same picture every run. ``loss`` is a probability drawn from the
    network's seeded ``rng``.
    """

    segment: str | None = None
    src: str | None = None
    dst: str | None = None
    kind: str | None = None
    transport: str | None = None
    port: int | None = None
    match: Callable[[Packet], bool] | None = None
    loss: float = 0.0
    drop_nth: frozenset[int] = frozenset()
    delay: float | None = None
    jitter: float = 0.0
    count: int = 0
    dropped: int = 0

    def matches(self, packet: Packet, segment: str, src: str, dst: str) -> bool:
        checks = [
            (self.segment, segment),
            (self.src, src),
            (self.dst, dst),
            (self.kind, packet.kind),
            (self.transport, packet.transport),
        ]
        if any(want is not None and want != got for want, got in checks):
            return False
        if self.port is not None and self.port not in (packet.src_port, packet.dst_port):
            return False
        return self.match is None or bool(self.match(packet))


def default_description(packet: Packet) -> tuple[str, str]:
    """``(kind, summary)`` when no decoder is registered.

    A CRLF-terminated text line (FTP commands and replies use Telnet end of
    line, RFC 959 §4) becomes kind = its first word and summary = the rest,
    e.g. ``("227", "Entering Passive Mode (...)")``; other bytes become
    ``("DATA", "1460 bytes")``.
    """
    raw = packet.payload
    if packet.flags and not raw:
        return packet.flags, ""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text and text.endswith("\r\n") and all(c.isprintable() or c in "\r\n\t" for c in text):
        lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
        first = lines[0] if lines else ""
        kind, _, rest = first.partition(" ")
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        return kind or "DATA", (rest + more).strip()
    name = "DATA" if packet.transport == "tcp" else packet.transport.upper()
    return name, f"{len(raw)} bytes"
