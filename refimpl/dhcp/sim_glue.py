"""Plug the sans-I/O DHCP cores into the simulated network.

The server, client and relay in :mod:`refimpl.dhcp` never touch a socket or a
clock: they take ``(bytes, now)`` and hand back *effects* ("send this to that
address", "probe this address with ARP", "put this address on the
interface", "wake me at t=300"). This module is the small driver that
carries those effects out on a :class:`refimpl.sim.network.Network`:

* :class:`ServerHost` binds a :class:`~refimpl.dhcp.server.DhcpServer` to UDP
  port 67 of a simulated host, and keeps the server's notes as its ``log``;
* :class:`ClientHost` binds a :class:`~refimpl.dhcp.client.DhcpClient` to UDP
  port 68, runs its one timer, answers its ARP probes and configures the
  host's interface when the lease is bound (and removes the address when it
  is lost);
* :class:`RelayHost` binds a :class:`~refimpl.dhcp.relay.RelayAgent` to port
  67 of a router with one leg on the clients' segment and one towards the
  servers, and keeps the relay's notes as its ``log``;
* :func:`register` makes the trace read ports 67/68 with
  :func:`refimpl.dhcp.describe.describe_datagram`, so every event reads
  ``DHCPOFFER`` with ``xid=.. yiaddr=.. sid=..`` - the same label a capture
  of real programs gets (:mod:`refimpl.capture.dhcp`).

Nothing here decides anything about DHCP: every rule lives in the cores.
"""

from __future__ import annotations

import ipaddress
import logging
import random
from dataclasses import dataclass

from refimpl.dhcp.client import ArpProbe, Configure, DhcpClient, Unconfigure
from refimpl.dhcp.delivery import CLIENT_PORT, SERVER_PORT, ZERO_IP, Outgoing
from refimpl.dhcp.describe import describe_datagram
from refimpl.dhcp.notes import Note
from refimpl.dhcp.relay import RelayAgent
from refimpl.dhcp.server import DhcpServer, ServerConfig

# A library leaves logging set-up to the application: without this, the lease
# store's "pool exhausted" warnings would print into every notebook cell.
logging.getLogger("refimpl.dhcp").addHandler(logging.NullHandler())

MESSAGE_EVENTS = ("DHCPOFFER", "DHCPACK", "DHCPNAK")
QUIET_EVENTS = ("start", "retransmit timer", *MESSAGE_EVENTS)
"""Client events whose transition is already visible as an arrow: no note for them."""


def register(net) -> None:
    """Make ``net``'s trace read DHCP on UDP ports 67 and 68."""
    net.describe(("udp", SERVER_PORT), describe_datagram, flow="dhcp")
    net.describe(("udp", CLIENT_PORT), describe_datagram, flow="dhcp")


def _log_line(now: float, note: Note) -> str:
    """A note as a line of a host's log: ``t=0.01 DISCOVER from hw:..: offering ...``."""
    return f"t={now:g} {note.text}"


def _send(host, out: Outgoing, iface=None) -> None:
    """Put one :class:`Outgoing` on the wire of ``host``."""
    host.send_udp(
        out.src_port,
        out.dst_ip,
        out.dst_port,
        out.data,
        src_ip=out.src_ip,
        iface=iface,
        dst_mac=out.chaddr if out.to_chaddr else None,
        flow="dhcp",
    )


# ---------------------------------------------------------------------------
# Server
# ---------------------------------------------------------------------------
class ServerHost:
    """A DHCP server core listening on UDP 67 of a simulated host.

    ``log`` holds the server's notes as lines (``"t=0.01 DISCOVER from ..."``),
    one per decision, in order: what a server's log file would say.
    """

    def __init__(
        self, net, host, config: ServerConfig | None = None, server: DhcpServer | None = None, listening: bool = True
    ):
        self.net, self.host = net, host
        self.server = server or DhcpServer(config or ServerConfig(server_ip=host.ip))
        self.log: list[str] = []
        self.socket = None
        if listening:
            self.start(note=None)

    @property
    def name(self) -> str:
        return self.host.name

    def start(self, note: str | None = "server started") -> None:
        """(Re)start listening; the lease store survives, as a lease file would."""
        if self.socket is None:
            self.socket = self.host.udp(SERVER_PORT, self._on_datagram, flow="dhcp")
            if note:
                self.net.note(self.host, note)

    def stop(self, note: str = "server stopped") -> None:
        """Stop listening: later requests to it are lost ("no listener on 67")."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None
            self.net.note(self.host, note)

    def _on_datagram(self, packet) -> None:
        now = self.net.now
        effects = self.server.receive(
            packet.payload, src_ip=packet.src_ip, src_port=packet.src_port, dst_ip=packet.dst_ip, now=now
        )
        for effect in effects:
            if isinstance(effect, Note):
                self.log.append(_log_line(now, effect))
            else:
                # A broadcast, or a unicast to a client's hardware address, leaves on the
                # interface the request came in on (a server may sit on several segments).
                local = effect.broadcast or effect.to_chaddr
                _send(self.host, effect, iface=packet.iface if local else None)


# ---------------------------------------------------------------------------
# Client
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StateChange:
    """One row of a client's history, tied to the trace: ``position`` is
    ``len(trace)`` when it happened, so the events before it caused it."""

    position: int
    time: float
    client: str
    before: str
    event: str
    after: str
    action: str
    cause: int | None = None  # index of the trace event that triggered it (None: a timer or the user)

    def visible_at(self, index: int) -> bool:
        """Has this change happened by the time trace event ``index`` is shown?"""
        return (self.cause if self.cause is not None else self.position) <= index


class ClientHost:
    """A DHCP client core on UDP 68 of a simulated host.

    ``changes`` collects every state transition with its place in the trace
    (for steppers and state diagrams). ``notes`` says which transitions are
    also written into the trace as notes: ``"timers"`` (default) notes the
    ones no arrow shows (T1, T2, expiry, ARP results, release...), ``"all"``
    every one, ``"none"`` none.
    """

    def __init__(self, net, host, client: DhcpClient | None = None, notes: str = "timers", **client_options):
        self.net, self.host = net, host
        self.client = client or DhcpClient(host.mac, random.Random(f"{net.seed}:{host.name}"), **client_options)
        self.notes = notes
        self._cause: int | None = None
        self.changes: list[StateChange] = []
        self.socket = host.udp(CLIENT_PORT, self._on_datagram, flow="dhcp")

    @property
    def name(self) -> str:
        return self.host.name

    @property
    def state(self) -> str:
        return self.client.state

    # -- things a lesson asks the client to do --------------------------------
    def start(self, at: float | None = None) -> None:
        self._at(at, self.client.start)

    def release(self, at: float | None = None) -> None:
        self._at(at, self.client.release)

    def inform(self, at: float | None = None) -> None:
        self._at(at, self.client.inform)

    def reboot(self, at: float | None = None, previous_ip: str | None = None) -> None:
        """Power-cycle: a fresh client core that remembers ``previous_ip`` (INIT-REBOOT, RFC 2131 §3.2)."""

        def go() -> None:
            remembered = previous_ip or self.client.previous_ip
            if self.host.ip != ZERO_IP:
                self.host.iface.unconfigure()
            old = self.client
            self.client = DhcpClient(
                old.mac,
                old.rng,
                previous_ip=remembered,
                client_id=old.client_id,
                hostname=old.hostname,
                params=tuple(old.params),
                broadcast=old.broadcast_flag,
                link_local=old.link_local_enabled,
                faults=old.faults,
            )
            self.net.note(self.host, "reboot", f"remembers {remembered}" if remembered else "")
            self._run(self.client.start)

        if at is None:
            go()
        else:
            self.net.call_at(at, go)

    def _at(self, at: float | None, method) -> None:
        if at is None:
            self._run(method)
        else:
            self.net.call_at(at, lambda: self._run(method))

    # -- driving the core --------------------------------------------------------
    def _run(self, method, *args) -> None:
        before = len(self.client.history)
        effects = method(*args, now=self.net.now)
        self._record(before)
        self._apply(effects)

    def _on_datagram(self, packet) -> None:
        self._cause = self._trace_index(packet.payload)
        try:
            self._run(self.client.receive, packet.payload)
        finally:
            self._cause = None

    def _trace_index(self, raw: bytes) -> int | None:
        """Index of the trace event that carried ``raw`` (the simulator appends
        it just before delivery; a few notes may follow it)."""
        events = self.net.trace.events
        for i in range(len(events) - 1, max(len(events) - 40, -1), -1):
            if events[i].raw == raw and not events[i].lost:
                return i
        return None

    def _on_timer(self) -> None:
        self._run(self.client.handle_timer)

    def _record(self, before: int) -> None:
        for step in self.client.history[before:]:
            self.changes.append(
                StateChange(
                    len(self.net.trace),
                    step.time,
                    self.host.name,
                    step.state,
                    step.event,
                    step.next_state,
                    step.action,
                    self._cause,
                )
            )

    def _apply(self, effects: list) -> None:
        for effect in effects:
            if isinstance(effect, Outgoing):
                _send(self.host, effect)
            elif isinstance(effect, Note):
                self._note(effect)
            elif isinstance(effect, ArpProbe):
                in_use = self.host.arp_probe(effect.address)
                if in_use:  # someone answered; silence is handled by the client's own timer
                    self.net.call_later(
                        self.host.iface.segment.delay, lambda: self._run(self.client.probe_result, True)
                    )
            elif isinstance(effect, Configure):
                prefix = ipaddress.ip_network(f"0.0.0.0/{effect.netmask}").prefixlen
                routers = effect.options.get(3) or []
                self.host.configure(effect.address, prefix, gateway=routers[0] if routers else None)
            elif isinstance(effect, Unconfigure):
                if self.host.ip == effect.address:
                    self.host.iface.unconfigure()
        self.host.set_timer("dhcp", self.client.get_timer(), self._on_timer)

    def _note(self, note: Note) -> None:
        if self.notes == "none" or not self.changes:
            return
        change = self.changes[-1]
        if self.notes == "timers" and change.event in QUIET_EVENTS:
            return
        if change.event == "start" and change.before == change.after:
            return
        self.net.note(self.host, change.event, f"{change.before} -> {change.after}")


# ---------------------------------------------------------------------------
# Relay
# ---------------------------------------------------------------------------
class RelayHost:
    """A relay agent on a router: ``client_iface`` faces the clients, ``server_iface`` the servers.

    ``log`` holds the relay's notes as lines, as :class:`ServerHost` does.
    """

    def __init__(self, net, router, servers: list[str], client_iface=None, server_iface=None, **relay_options):
        self.net, self.host = net, router
        self.client_iface = client_iface or router.interfaces[0]
        self.server_iface = server_iface or router.interfaces[1]
        self.relay = RelayAgent(self.client_iface.ip, servers, server_side_ip=self.server_iface.ip, **relay_options)
        self.log: list[str] = []
        self.socket = router.udp(SERVER_PORT, self._on_datagram, flow="dhcp")

    @property
    def name(self) -> str:
        return self.host.name

    def _on_datagram(self, packet) -> None:
        side = "client" if packet.iface is self.client_iface else "server"
        now = self.net.now
        effects = self.relay.receive(
            packet.payload, src_ip=packet.src_ip, src_port=packet.src_port, iface=side, now=now
        )
        for effect in effects:
            if isinstance(effect, Note):
                self.log.append(_log_line(now, effect))
            else:
                _send(self.host, effect, iface=self.client_iface if effect.iface == "client" else self.server_iface)
