"""One trace format for simulated, real and captured traffic.

Every driver (the simulated LAN in :mod:`refimpl.sim.network`, the asyncio sockets
in :mod:`refimpl.sockets`, a pcap read by :mod:`refimpl.capture.dhcp`) records
what crossed the wire as a :class:`Trace`: a list of :class:`Event`. Every
picture in :mod:`refimpl.viz` takes a ``Trace``, so a diagram drawn from a
simulation looks exactly like one drawn from a student's own capture.

Standard library only: importing this module is cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

BROADCAST = "*"
"""The ``dst`` host name of an event sent to every host on a segment."""


@dataclass(frozen=True)
class Event:
    """One thing seen on the wire (or, with ``transport == "note"``, an annotation).

    ``src`` and ``dst`` name hosts (lifelines in a sequence diagram); the IP
    addresses and ports say where the packet was really addressed, which is
    what students must learn to read: a DHCPDISCOVER goes from ``0.0.0.0:68``
    to ``255.255.255.255:67`` (RFC 2131 §4.1).
    """

    time: float
    src: str
    dst: str
    transport: str  # "udp", "tcp", "arp" or "note"
    kind: str  # "DHCPDISCOVER", "SYN", "FIN", "USER", "227", "T1 reached", ...
    src_ip: str = ""
    src_port: int = 0
    dst_ip: str = ""
    dst_port: int = 0
    message: Any = None  # the decoded message (a dhcp Message, an FTP command, ...)
    raw: bytes = b""  # the bytes of the transport payload
    lost: bool = False  # sent but never delivered (loss injection, no listener)
    summary: str = ""  # key fields, e.g. "xid=0x3903f326 yiaddr=192.0.2.10"
    flow: str = ""  # which conversation: "dhcp", "ftp-control", "ftp-data", ...
    reached: tuple[str, ...] = ()  # broadcasts: the hosts on the segment (empty = unknown)

    @property
    def is_broadcast(self) -> bool:
        return self.dst == BROADCAST or self.dst_ip == "255.255.255.255"

    @property
    def is_note(self) -> bool:
        return self.transport == "note"

    def label(self) -> str:
        """Short text for an arrow: the kind, then the key fields."""
        return f"{self.kind} {self.summary}".strip()

    def endpoints(self) -> str:
        """``0.0.0.0:68 -> 255.255.255.255:67`` (empty for notes).

        ARP has no ports: its line is sender address -> target address, and a
        probe's sender is 0.0.0.0 (RFC 2131 §4.4.1, RFC 5227 §2.1.1).
        """
        if self.is_note:
            return ""
        if self.transport == "arp":
            return f"{self.src_ip} -> {self.dst_ip}"
        return f"{self.src_ip}:{self.src_port} -> {self.dst_ip}:{self.dst_port}"


@dataclass
class Trace:
    """An ordered list of events with a few helpers for lessons and tests."""

    events: list[Event] = field(default_factory=list)
    # host name -> the IP addresses it had, in order (filled by the simulator; may stay empty)
    addresses: dict[str, list[str]] = field(default_factory=dict)

    # -- list-like -------------------------------------------------------
    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Trace(self.events[index], self.addresses)
        return self.events[index]

    def append(self, event: Event) -> None:
        self.events.append(event)

    def extend(self, events: Iterable[Event]) -> None:
        self.events.extend(events)

    # -- questions a lesson asks -----------------------------------------
    def hosts(self) -> list[str]:
        """Host names in order of first appearance (the lifelines, left to right)."""
        seen: dict[str, None] = {}
        for event in self.events:
            for name in (event.src, event.dst):
                if name and name != BROADCAST:
                    seen.setdefault(name, None)
        return list(seen)

    def kinds(self) -> list[str]:
        """The ``kind`` of every packet event, in order (notes left out)."""
        return [event.kind for event in self.events if not event.is_note]

    def where(self, predicate: Callable[[Event], bool] | None = None, **fields: Any) -> Trace:
        """Events matching every ``field=value`` given (and the predicate, if any)."""
        chosen = [
            event
            for event in self.events
            if all(getattr(event, name) == value for name, value in fields.items())
            and (predicate is None or predicate(event))
        ]
        return Trace(chosen, self.addresses)

    def shifted(self, offset: float) -> Trace:
        """The same events with ``offset`` added to every time (to line up two traces)."""
        return Trace([replace(event, time=event.time + offset) for event in self.events], self.addresses)

    def table(self) -> str:
        """A plain-text listing, one line per event: time, from -> to, addresses, label."""
        lines = []
        for event in self.events:
            if event.is_note:
                lines.append(f"{event.time:9.3f}  {event.src:<10} note: {event.kind} {event.summary}".rstrip())
                continue
            mark = "  (lost)" if event.lost else ""
            lines.append(
                f"{event.time:9.3f}  {event.src:<10} -> {event.dst:<10} "
                f"{event.transport.upper():<4} {event.endpoints():<44} {event.label()}{mark}"
            )
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"Trace({len(self.events)} events: {', '.join(self.kinds()[:6])}{'...' if len(self) > 6 else ''})"
