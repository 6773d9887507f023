"""The DHCP client (RFC 2131 §4.4), as one state table.

Theory of operation
-------------------
A DHCP client is always in one of the states of RFC 2131 figure 5. Something
happens - a message arrives, a timer fires, the ARP probe answers, the user
asks to release - and the pair (state, event) decides what the client does and
where it goes next. **Every** such rule is one line of :data:`TRANSITIONS`::

    (state, event) -> Transition(action, next_state, rule, method)

``action`` says what happens in words, ``method`` names the method of
:class:`DhcpClient` that does it (checked at import: a row naming no method
fails at once), and nothing else in this file changes ``self.state``. The
words are only for people: rewording them changes no behaviour. The notebook
draws the state diagram from that same dict, so the picture cannot disagree
with the code. A pair that is not in the table is an event the state does not
care about (a late DHCPOFFER in BOUND, say): it is ignored.

Events (what a student sees on the arrows):

* ``start`` - the client begins (at boot, or when a restart timer fires);
* ``DHCPOFFER``, ``DHCPACK``, ``DHCPNAK`` - a reply for our transaction (same
  ``xid``, our ``chaddr``) arrived;
* ``retransmit timer`` - no reply yet; send again (RFC 2131 §4.1: 4, 8, 16, 32,
  64 s, each ±1 s; in RENEWING/REBINDING half the time left, at least 60 s,
  §4.4.5);
* ``no answer`` - the last retransmission went unanswered;
* ``T1 expires``, ``T2 expires``, ``lease expires`` - the lease timers
  (§4.4.5: T1 = 50 %, T2 = 87.5 % of the lease unless options 58/59 say
  otherwise; all counted from the moment the REQUEST was sent, §4.4.1);
* ``address free``, ``address in use`` - the answer to an ARP probe for the
  address we are about to use (§4.4.1: "the client SHOULD perform a final
  check"; no reply within ``probe_wait`` seconds means free);
* ``release``, ``inform`` - the user (or the lesson) asks for it;
* ``retry timer`` - the 5-minute DHCP retry while on a link-local address.

Two additions to figure 5, marked as such in the table:

* ``LINK-LOCAL`` (RFC 3927): no server answered, so the client takes an
  address in 169.254.0.0/16 - chosen pseudo-randomly from
  169.254.1.0-169.254.254.255 with a generator seeded by its MAC, probed with
  ARP first - and tries DHCP again every 5 minutes (RFC 3927 fixes no
  interval; five minutes is a common choice).
* ``INFORMING``/``INFORMED`` (RFC 2131 §3.4): a host with a hand-set address
  asks only for configuration with DHCPINFORM.

And one arrow of figure 5 split in two: the figure goes from REQUESTING to
BOUND on "DHCPACK/Record lease, set timers T1, T2" and to INIT on "DHCPACK (not
accept.)/Send DHCPDECLINE", with §4.4.1's ARP check inside that arrow. Here
the client waits for the check in REQUESTING (``DHCPACK`` -> REQUESTING, then
``address free`` -> BOUND or ``address in use`` -> INIT): the same end states,
one event later. The check itself is simplified: one ARP probe (sender IP
0.0.0.0, §4.4.1) and ``PROBE_WAIT`` seconds of silence, where RFC 5227 §2.1.1
sends three probes after a random delay and waits again before using the
address; the simulated LAN answers at once or never.

The client is sans-I/O, with the interface every core here shares (after
aioquic): each method takes the time as the keyword ``now`` (``start(now=t)``,
``receive(data, now=t)``) and returns a list of *effects* (:data:`Effect`) -
:class:`~refimpl.dhcp.delivery.Outgoing` (send this), :class:`ArpProbe` (ask
the network whether an address is taken; answer with :meth:`probe_result`),
:class:`Configure` / :class:`Unconfigure` (set or remove the interface
address) and :class:`~refimpl.dhcp.notes.Note` (a line for the trace).
``get_timer()`` says when to call ``handle_timer(now=t)`` next. Randomness
(xid, jitter) comes from the ``random.Random`` passed in.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from refimpl.dhcp.delivery import BROADCAST_IP, CLIENT_PORT, SERVER_PORT, ZERO_IP, Outgoing
from refimpl.dhcp.faults import NO_CLIENT_FAULTS, ClientFaults
from refimpl.dhcp.ipv4 import int_to_ip
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.notes import Note
from refimpl.dhcp.options import MessageType

# -- states ----------------------------------------------------------------------
INIT, SELECTING, REQUESTING, BOUND = "INIT", "SELECTING", "REQUESTING", "BOUND"
RENEWING, REBINDING, INIT_REBOOT, REBOOTING = "RENEWING", "REBINDING", "INIT-REBOOT", "REBOOTING"
LINK_LOCAL, INFORMING, INFORMED = "LINK-LOCAL", "INFORMING", "INFORMED"

FIGURE5_STATES = (INIT, SELECTING, REQUESTING, BOUND, RENEWING, REBINDING, INIT_REBOOT, REBOOTING)
"""The eight states of RFC 2131 figure 5."""
EXTRA_STATES = (LINK_LOCAL, INFORMING, INFORMED)
"""States this client adds: RFC 3927 link-local fallback, RFC 2131 §3.4 INFORM."""
STATES = FIGURE5_STATES + EXTRA_STATES


class Transition(NamedTuple):
    action: str  # what the client does, in words: for the state diagram, the history and the trace
    next_state: str
    rule: str  # where the rule comes from
    method: str  # the DhcpClient method that does it (checked at import, below the class)


T = Transition
# One transition a line: the table reads across, like RFC 2131 figure 5.
# fmt: off
TRANSITIONS: dict[tuple[str, str], Transition] = {
    # -- getting a new address --------------------------------------------------------
    (INIT, "start"): T("send DHCPDISCOVER", SELECTING, "RFC 2131 §4.4.1", "_send_discover"),
    (SELECTING, "DHCPOFFER"): T("select offer, send DHCPREQUEST", REQUESTING, "RFC 2131 §4.4.1", "_select_offer"),
    (SELECTING, "retransmit timer"): T("resend DHCPDISCOVER", SELECTING, "RFC 2131 §4.1 backoff", "_resend"),
    (SELECTING, "no answer"): T("fall back to a link-local address", LINK_LOCAL, "RFC 3927 §2.1", "_link_local_fallback"),
    (REQUESTING, "DHCPOFFER"): T("discard", REQUESTING, "RFC 2131 figure 5", "_discard"),
    (REQUESTING, "retransmit timer"): T("resend DHCPREQUEST", REQUESTING, "RFC 2131 §4.1 backoff", "_resend"),
    (REQUESTING, "no answer"): T("start again", INIT, "RFC 2131 §4.4.1", "_start_again"),
    (REQUESTING, "DHCPACK"): T("probe the address with ARP", REQUESTING, "RFC 2131 §4.4.1, RFC 5227", "_probe"),
    (REQUESTING, "address free"): T("record lease, set timers T1 and T2", BOUND, "RFC 2131 §4.4.1", "_record_lease"),
    (REQUESTING, "address in use"): T("send DHCPDECLINE, restart after 10 s", INIT, "RFC 2131 §3.1 step 5", "_decline"),
    (REQUESTING, "DHCPNAK"): T("discard offer, start again", INIT, "RFC 2131 §3.1 step 5", "_forget_and_restart"),
    # -- rebooting with a remembered address ---------------------------------------------
    (INIT_REBOOT, "start"): T("broadcast DHCPREQUEST for the old address", REBOOTING, "RFC 2131 §3.2", "_reboot"),
    (REBOOTING, "retransmit timer"): T("resend DHCPREQUEST", REBOOTING, "RFC 2131 §4.1 backoff", "_resend"),
    (REBOOTING, "no answer"): T("start again", INIT, "RFC 2131 §3.2", "_start_again"),
    (REBOOTING, "DHCPACK"): T("record lease, set timers T1 and T2", BOUND, "RFC 2131 §3.2", "_record_lease"),
    (REBOOTING, "DHCPNAK"): T("forget the address, start again", INIT, "RFC 2131 §3.2", "_forget_and_restart"),
    # -- keeping the address ---------------------------------------------------------------
    (BOUND, "DHCPOFFER"): T("discard", BOUND, "RFC 2131 figure 5", "_discard"),
    (BOUND, "DHCPACK"): T("discard", BOUND, "RFC 2131 figure 5", "_discard"),
    (BOUND, "DHCPNAK"): T("discard", BOUND, "RFC 2131 figure 5", "_discard"),
    (BOUND, "T1 expires"): T("unicast DHCPREQUEST to the leasing server", RENEWING, "RFC 2131 §4.4.5", "_renew"),
    (BOUND, "release"): T("send DHCPRELEASE, stop using the address", INIT, "RFC 2131 §4.4.6", "_send_release"),
    (RENEWING, "DHCPACK"): T("record lease, set timers T1 and T2", BOUND, "RFC 2131 §4.4.5", "_record_lease"),
    (RENEWING, "DHCPNAK"): T("stop using the address, start again", INIT, "RFC 2131 §4.4.5", "_stop_using"),
    (RENEWING, "retransmit timer"): T("resend DHCPREQUEST", RENEWING, "RFC 2131 §4.4.5", "_resend"),
    (RENEWING, "T2 expires"): T("broadcast DHCPREQUEST", REBINDING, "RFC 2131 §4.4.5", "_rebind"),
    (RENEWING, "release"): T("send DHCPRELEASE, stop using the address", INIT, "RFC 2131 §4.4.6", "_send_release"),
    (REBINDING, "DHCPACK"): T("record lease, set timers T1 and T2", BOUND, "RFC 2131 §4.4.5", "_record_lease"),
    (REBINDING, "DHCPNAK"): T("stop using the address, start again", INIT, "RFC 2131 §4.4.5", "_stop_using"),
    (REBINDING, "retransmit timer"): T("resend DHCPREQUEST", REBINDING, "RFC 2131 §4.4.5", "_resend"),
    (REBINDING, "lease expires"): T("stop using the address, start again", INIT, "RFC 2131 §4.4.5", "_stop_using"),
    (REBINDING, "release"): T("send DHCPRELEASE, stop using the address", INIT, "RFC 2131 §4.4.6", "_send_release"),
    # -- additions: link-local fallback (RFC 3927) -------------------------------------------
    (LINK_LOCAL, "address in use"): T("probe the next link-local address", LINK_LOCAL, "RFC 3927 §2.2.1", "_probe_link_local"),
    (LINK_LOCAL, "address free"): T("use the link-local address, retry DHCP in 5 min", LINK_LOCAL, "RFC 3927 §2.1", "_use_link_local"),
    (LINK_LOCAL, "retry timer"): T("send DHCPDISCOVER", SELECTING, "RFC 3927; 5 min: a common choice", "_send_discover"),
    # -- additions: configuration only (RFC 2131 §3.4) ------------------------------------------
    (INIT, "inform"): T("send DHCPINFORM", INFORMING, "RFC 2131 §3.4", "_send_inform"),
    (INFORMED, "inform"): T("send DHCPINFORM", INFORMING, "RFC 2131 §3.4", "_send_inform"),
    (INFORMING, "retransmit timer"): T("resend DHCPINFORM", INFORMING, "RFC 2131 §4.4.3", "_resend"),
    (INFORMING, "DHCPACK"): T("apply the configuration (no lease)", INFORMED, "RFC 2131 §3.4", "_apply_inform"),
    (INFORMING, "no answer"): T("keep the manual address without configuration", INFORMED, "RFC 2131 §4.4.3", "_keep_manual"),
}
# fmt: on
del T

FAULTY_TRANSITIONS: dict[tuple[str, str], Transition] = {
    # Not figure 5: the one row the fault ``ClientFaults.ignore_t1`` adds (faults.py, for a
    # diagnosis exercise). The client never enters RENEWING; it waits in BOUND until T2.
    (BOUND, "T2 expires"): Transition("broadcast DHCPREQUEST", REBINDING, "none: breaks RFC 2131 §4.4.5", "_rebind"),
}
"""Rows consulted only while a fault is on; the state diagram is drawn from :data:`TRANSITIONS` alone."""

EVENTS = tuple(dict.fromkeys(event for _, event in TRANSITIONS))
"""Every event name, in table order."""


def table_text(states: tuple[str, ...] = STATES) -> str:
    """The table as aligned text, one line per transition (for lessons and docs)."""
    rows = [(s, e, t.action, t.next_state, t.rule) for (s, e), t in TRANSITIONS.items() if s in states]
    head = ("state", "event", "action", "next state", "rule")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(4)]
    lines = []
    for r in [head, *rows]:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return "\n".join(lines)


BACKOFF = (4, 8, 16, 32, 64)
"""RFC 2131 §4.1's example "in a 10Mb/sec Ethernet internetwork": waits between
retransmissions (seconds), each randomized by ±1 s. The MUST is only "a randomized
exponential backoff"; these numbers are the example's SHOULD. After the last wait the
event is ``no answer`` (our policy: the RFC leaves open how many times to try)."""
JITTER = 1.0
RENEW_MIN_WAIT = 60.0  # RFC 2131 §4.4.5: retransmit in RENEWING/REBINDING no sooner than 60 s
DECLINE_WAIT = 10.0  # RFC 2131 §3.1 step 5: wait at least 10 s after a DHCPDECLINE
LINK_LOCAL_RETRY = 300.0  # retry DHCP every 5 minutes: RFC 3927 fixes no interval; a common choice
PROBE_WAIT = 1.0  # no ARP reply within this time: the address is free (RFC 5227 uses ~1-2 s)
LINK_LOCAL_FIRST = (169 << 24) | (254 << 16) | (1 << 8)  # 169.254.1.0   RFC 3927 §2.1
LINK_LOCAL_LAST = (169 << 24) | (254 << 16) | (254 << 8) | 255  # 169.254.254.255


# -- effects ------------------------------------------------------------------------
@dataclass
class ArpProbe:
    """Ask the link whether ``address`` is in use; answer with ``client.probe_result``."""

    address: str
    mac: str


@dataclass
class Configure:
    """Put ``address`` on the interface (``source``: "dhcp", "link-local" or "inform")."""

    address: str
    netmask: str
    source: str
    options: dict = field(default_factory=dict)  # router, DNS, ... from the server


@dataclass
class Unconfigure:
    """Remove ``address`` from the interface."""

    address: str
    why: str


@dataclass
class Step:
    """One transition taken (kept in ``client.history``)."""

    time: float
    state: str
    event: str
    action: str
    next_state: str


Effect = Outgoing | ArpProbe | Configure | Unconfigure | Note
"""What the client's methods return: things for the driver to do, and notes for the trace."""


@dataclass
class ClientLease:
    """What the client knows about its lease; all times absolute."""

    address: str
    server_id: str
    lease_time: int
    start: float  # when the REQUEST that got it was sent (RFC 2131 §4.4.1)
    t1: float
    t2: float
    expiry: float
    netmask: str
    options: dict


class DhcpClient:
    """A DHCP client for one interface. See the module docstring.

    ``previous_ip`` starts the client in INIT-REBOOT (it remembers an address).
    ``static_ip`` is the hand-set address used by :meth:`inform`.
    """

    def __init__(
        self,
        mac: str,
        rng: random.Random | None = None,
        *,
        previous_ip: str | None = None,
        client_id: bytes | str | None = None,
        hostname: str | None = None,
        params: tuple[int, ...] = (1, 3, 6, 15, 51, 58, 59),
        broadcast: bool = False,
        link_local: bool = True,
        static_ip: str | None = None,
        timer_fuzz: float = 0.0,
        faults: ClientFaults = NO_CLIENT_FAULTS,
    ):
        self.mac = mac.lower()
        # RFC 2131 §4.4.5: T1 and T2 "SHOULD be chosen with some random fuzz around a
        # fixed value, to avoid synchronization of client reacquisition" (a whole
        # room booted at once would otherwise renew in the same second). A fraction:
        # 0.05 moves each by up to ±5 %. Off by default so lessons show exact times;
        # the real-network driver turns it on.
        if not 0.0 <= timer_fuzz <= 0.1:
            raise ValueError(f"timer_fuzz must be between 0 and 0.1, got {timer_fuzz}")
        self.timer_fuzz = timer_fuzz
        self.rng = rng if rng is not None else random.Random(0)
        self.previous_ip = previous_ip
        self.client_id = client_id
        self.hostname = hostname
        self.params = list(params)
        self.broadcast_flag = broadcast  # set it if the stack cannot take unicast before configuration
        self.link_local_enabled = link_local
        self.static_ip = static_ip
        self.faults = faults  # deliberate faults, for diagnosis exercises only (faults.py)

        self.state = INIT_REBOOT if previous_ip else INIT
        self.history: list[Step] = []
        self.lease: ClientLease | None = None
        self.offer: Message | None = None  # the offer we selected
        self.link_local_ip: str | None = None  # in use
        self._ll_rng = random.Random(int(self.mac.replace(":", ""), 16))  # RFC 3927 §2.1: seeded by MAC
        self._ll_candidate: str | None = None
        self.xid = 0
        self._started = 0.0  # start of the current exchange, for 'secs'
        self._tries = 0
        self._last: Outgoing | None = None  # last message sent, for retransmission
        self._request_sent = 0.0
        self._probing: str | None = None  # address under ARP probe
        self._ack: Message | None = None  # ACK waiting for the probe result
        self._timer: tuple[float, str] | None = None

    # -- the driver's interface ---------------------------------------------------------
    @property
    def address(self) -> str | None:
        """The address in use now (leased, link-local or static), if any."""
        if self.lease is not None and self.state in (BOUND, RENEWING, REBINDING):
            return self.lease.address
        if self.state == INFORMED:
            return self.static_ip
        return self.link_local_ip

    def start(self, *, now: float) -> list[Effect]:
        return self._fire("start", now)

    def release(self, *, now: float) -> list[Effect]:
        return self._fire("release", now)

    def inform(self, *, now: float) -> list[Effect]:
        if self.static_ip is None:
            raise ValueError("inform() needs the hand-set address: DhcpClient(..., static_ip=...)")
        return self._fire("inform", now)

    def receive(self, data: bytes | Message, *, now: float) -> list[Effect]:
        """A datagram arrived on port 68. Replies to other transactions are ignored."""
        try:
            msg = data if isinstance(data, Message) else Message.decode(data)
        except MessageError:
            return []
        if msg.op != 2 or msg.xid != self.xid or msg.mac != self.mac:
            return []  # not for us (RFC 2131 §4.4.1: match xid and chaddr)
        kind = msg.message_type
        if kind == MessageType.OFFER:
            if msg.yiaddr == ZERO_IP or msg.get("server_id") is None:
                return []
            return self._fire("DHCPOFFER", now, msg)
        if kind == MessageType.ACK:
            if self._probing:
                return []  # already checking an address
            if self.state != INFORMING:
                lease_time = msg.get("lease_time")
                if msg.yiaddr == ZERO_IP or not isinstance(lease_time, int) or lease_time <= 0:
                    return []  # RFC 2131 table 3: an ACK to a REQUEST carries yiaddr and a lease time
            if (
                self.state == REQUESTING
                and self.offer is not None
                and msg.get("server_id") not in (None, self.offer.get("server_id"))
            ):
                return []
            return self._fire("DHCPACK", now, msg)
        if kind == MessageType.NAK:
            # A NAK from a server we did not choose is ignored: it cannot be about our offer (a common
            # tutorial claim, and what clients do; RFC 2131 §4.4.1 says only that a NAK restarts).
            chosen = self.offer.get("server_id") if (self.state == REQUESTING and self.offer) else None
            if chosen is not None and msg.get("server_id") not in (None, chosen):
                return []
            return self._fire("DHCPNAK", now, msg)
        return []

    def probe_result(self, in_use: bool, *, now: float) -> list[Effect]:
        """The driver's answer to :class:`ArpProbe`: did anyone reply for the address?"""
        if self._probing is None:
            return []
        return self._fire("address in use" if in_use else "address free", now)

    def get_timer(self) -> float | None:
        return self._timer[0] if self._timer else None

    def handle_timer(self, *, now: float) -> list[Effect]:
        if self._timer is None or now < self._timer[0]:
            return []
        event = self._timer[1]
        self._timer = None
        if event == "retransmit timer" and self.state not in (RENEWING, REBINDING) and self._tries >= len(BACKOFF):
            event = "no answer"
        return self._fire(event, now)

    # -- the engine: look up the table, run the action -----------------------------------------
    def _fire(self, event: str, now: float, msg: Message | None = None) -> list[Effect]:
        step = TRANSITIONS.get((self.state, event))
        if step is None and self.faults.any:
            step = FAULTY_TRANSITIONS.get((self.state, event))
        if step is None:
            return []  # this state ignores this event
        before = self.state
        effects = getattr(self, step.method)(now, msg)  # the row names the method; its words are for people
        self.state = step.next_state
        self.history.append(Step(now, before, event, step.action, step.next_state))
        return [Note(f"{event}: {before} -> {step.next_state} ({step.action})"), *effects]

    # -- helpers ----------------------------------------------------------------------------
    def _set_timer(self, when: float, event: str) -> None:
        self._timer = (when, event)

    def _secs(self, now: float) -> int:
        return max(0, min(0xFFFF, int(now - self._started)))

    def _new_exchange(self, now: float) -> None:
        self.xid = self.rng.getrandbits(32)
        self._started = now
        self._tries = 0

    def _transmit(self, out: Outgoing, now: float) -> list[Effect]:
        """Send, and arm the backoff timer (RFC 2131 §4.1: 4, 8, ... 64 s, ±1 s)."""
        self._last = out
        self._tries += 1
        wait = BACKOFF[min(self._tries, len(BACKOFF)) - 1] + self.rng.uniform(-JITTER, JITTER)
        self._set_timer(now + wait, "retransmit timer")
        return [out]

    def _broadcast(self, msg: Message, src_ip: str = ZERO_IP) -> Outgoing:
        # RFC 2131 §4.1: a client without an address sends from 0.0.0.0 to 255.255.255.255:67.
        return Outgoing(msg, BROADCAST_IP, SERVER_PORT, CLIENT_PORT, src_ip, why="client broadcast")

    def _renewal_wait(self, now: float, deadline: float, event: str) -> None:
        # RFC 2131 §4.4.5: retransmit after half the time left to T2 (RENEWING)
        # or to expiry (REBINDING), but not sooner than 60 s; the deadline wins.
        retry = now + max(RENEW_MIN_WAIT, (deadline - now) / 2)
        if retry >= deadline:
            self._set_timer(deadline, event)
        else:
            self._set_timer(retry, "retransmit timer")

    def _request(self, now: float, **fields: Any) -> Message:
        return Message.request(
            self.mac,
            self.xid,
            secs=self._secs(now),
            broadcast=self.broadcast_flag,
            params=self.params,
            client_id=self.client_id,
            hostname=self.hostname,
            **fields,
        )

    def _drop_address(self, why: str) -> list[Effect]:
        effects: list[Effect] = []
        if self.lease is not None and self.state in (BOUND, RENEWING, REBINDING):
            effects.append(Unconfigure(self.lease.address, why))
        self.lease = None
        return effects

    # -- actions (the methods the rows of TRANSITIONS name) ----------------------------------------
    def _send_discover(self, now: float, msg: Message | None) -> list[Effect]:
        self._new_exchange(now)
        self.offer = None
        discover = Message.discover(
            self.mac,
            self.xid,
            secs=0,
            broadcast=self.broadcast_flag,
            requested_ip=self.previous_ip,
            params=self.params,
            client_id=self.client_id,
            hostname=self.hostname,
        )
        return self._transmit(self._broadcast(discover), now)

    def _resend(self, now: float, msg: Message | None) -> list[Effect]:
        assert self._last is not None
        again = self._last.message.copy()
        again.secs = self._secs(now)  # RFC 2131 §4.1: same xid, secs updated
        out = Outgoing(
            again, self._last.dst_ip, self._last.dst_port, self._last.src_port, self._last.src_ip, why="retransmission"
        )
        if self.state in (RENEWING, REBINDING):
            self._last = out
            assert self.lease is not None
            if self.state == RENEWING:
                self._renewal_wait(now, self.lease.t2, "T2 expires")
            else:
                self._renewal_wait(now, self.lease.expiry, "lease expires")
            return [out]
        return self._transmit(out, now)

    def _select_offer(self, now: float, msg: Message | None) -> list[Effect]:
        assert msg is not None
        self.offer = msg
        # RFC 2131 table 5, SELECTING: xid of the offer, requested IP = yiaddr,
        # server id = the chosen server, ciaddr 0, broadcast (so other servers hear it).
        request = self._request(now, requested_ip=msg.yiaddr, server_id=msg.get("server_id"))
        self._request_sent = now
        self._tries = 0
        return self._transmit(self._broadcast(request), now)

    def _discard(self, now: float, msg: Message | None) -> list[Effect]:
        return []

    def _start_again(self, now: float, msg: Message | None) -> list[Effect]:
        self.offer = None
        self._set_timer(now, "start")  # RFC 2131 §3.1: restart the configuration process
        return self._drop_address("no answer")

    def _probe(self, now: float, msg: Message | None) -> list[Effect]:
        assert msg is not None
        self._ack = msg
        self._probing = msg.yiaddr
        self._set_timer(now + PROBE_WAIT, "address free")  # silence means free
        return [ArpProbe(msg.yiaddr, self.mac)]

    def _fuzz(self, t1: float, t2: float, lease_time: float) -> tuple[float, float]:
        """T1 and T2 moved by up to ±``timer_fuzz``, still T1 <= T2 <= lease (§4.4.5's MUSTs)."""
        t2 = min(t2 * (1 + self.rng.uniform(-self.timer_fuzz, self.timer_fuzz)), lease_time)
        t1 = min(t1 * (1 + self.rng.uniform(-self.timer_fuzz, self.timer_fuzz)), t2)
        return t1, t2

    def _record_lease(self, now: float, msg: Message | None) -> list[Effect]:
        ack = msg if msg is not None else self._ack
        assert ack is not None
        self._probing, self._ack = None, None
        lease_time = ack.get("lease_time")
        start = self._request_sent  # RFC 2131 §4.4.1: count from when the REQUEST was sent
        t1 = ack.get("renewal_time")
        t2 = ack.get("rebinding_time")
        t2 = t2 if isinstance(t2, int) and 0 < t2 <= lease_time else lease_time * 0.875  # RFC 2131 §4.4.5
        t1 = t1 if isinstance(t1, int) and 0 < t1 <= t2 else min(lease_time * 0.5, t2)  # (nonsense -> defaults)
        if self.timer_fuzz:
            t1, t2 = self._fuzz(t1, t2, lease_time)
        server = ack.get("server_id") or (self.lease.server_id if self.lease else ZERO_IP)
        netmask = ack.get("subnet_mask") or "255.255.255.0"
        old = self.lease
        self.lease = ClientLease(
            ack.yiaddr,
            server,
            lease_time,
            start,
            start + t1,
            start + t2,
            start + lease_time,
            netmask,
            dict(ack.options),
        )
        self.previous_ip = ack.yiaddr
        if self.faults.ignore_t1:  # the fault of a diagnosis exercise (faults.py): no RENEWING at T1
            self._set_timer(self.lease.t2, "T2 expires")
        else:
            self._set_timer(self.lease.t1, "T1 expires")
        effects: list[Effect] = []
        if self.link_local_ip is not None:  # RFC 3927 advises against both at once
            effects.append(Unconfigure(self.link_local_ip, "DHCP address obtained"))
            self.link_local_ip = None
        if old is None or old.address != ack.yiaddr or self.state in (REQUESTING, REBOOTING):
            effects.append(Configure(ack.yiaddr, netmask, "dhcp", dict(ack.options)))
        return effects

    def _decline(self, now: float, msg: Message | None) -> list[Effect]:
        assert self._ack is not None
        address, server = self._ack.yiaddr, self._ack.get("server_id")
        self._probing, self._ack = None, None
        decline = Message.decline(
            self.mac,
            self.xid,
            requested_ip=address,
            server_id=server,
            client_id=self.client_id,
            message="address in use (ARP probe answered)",
        )
        self.offer = None
        self.previous_ip = None  # do not ask for it again
        self._set_timer(now + DECLINE_WAIT, "start")  # RFC 2131 §3.1 step 5: wait at least 10 s
        return [self._broadcast(decline)]

    def _forget_and_restart(self, now: float, msg: Message | None) -> list[Effect]:
        self.offer = None
        self.previous_ip = None  # the server said no: do not ask for that address again
        self._set_timer(now, "start")
        return self._drop_address("DHCPNAK")

    def _renew(self, now: float, msg: Message | None) -> list[Effect]:
        assert self.lease is not None
        self._new_exchange(now)
        self._request_sent = now
        # RFC 2131 table 5, RENEWING: ciaddr = our address, unicast to the server, no 50/54.
        request = self._request(now, ciaddr=self.lease.address)
        request.broadcast = False
        out = Outgoing(
            request,
            self.lease.server_id,
            SERVER_PORT,
            CLIENT_PORT,
            self.lease.address,
            why="RENEWING: unicast to the leasing server",
        )
        self._last = out
        self._renewal_wait(now, self.lease.t2, "T2 expires")
        return [out]

    def _rebind(self, now: float, msg: Message | None) -> list[Effect]:
        assert self.lease is not None
        self._new_exchange(now)
        self._request_sent = now
        # RFC 2131 table 5, REBINDING: ciaddr = our address, broadcast to any server.
        request = self._request(now, ciaddr=self.lease.address)
        request.broadcast = False
        out = self._broadcast(request, src_ip=self.lease.address)
        self._last = out
        self._renewal_wait(now, self.lease.expiry, "lease expires")
        return [out]

    def _stop_using(self, now: float, msg: Message | None) -> list[Effect]:
        why = "DHCPNAK" if msg is not None else "lease expired"
        if msg is not None:
            self.previous_ip = None
        self.offer = None
        self._set_timer(now, "start")
        return self._drop_address(why)

    def _send_release(self, now: float, msg: Message | None) -> list[Effect]:
        assert self.lease is not None
        lease = self.lease
        self._new_exchange(now)
        # RFC 2131 §4.4.6: unicast DHCPRELEASE to the server, ciaddr = the address.
        release = Message.release(
            self.mac, self.xid, ciaddr=lease.address, server_id=lease.server_id, client_id=self.client_id
        )
        out = Outgoing(release, lease.server_id, SERVER_PORT, CLIENT_PORT, lease.address, why="RELEASE: unicast")
        effects = [out, *self._drop_address("released")]
        self.previous_ip = None
        self._timer = None  # INIT, idle: nothing more until start()
        return effects

    def _reboot(self, now: float, msg: Message | None) -> list[Effect]:
        self._new_exchange(now)
        self._request_sent = now
        # RFC 2131 table 5, INIT-REBOOT: requested IP = the old address, no server id, ciaddr 0.
        request = self._request(now, requested_ip=self.previous_ip)
        return self._transmit(self._broadcast(request), now)

    def _link_local_fallback(self, now: float, msg: Message | None) -> list[Effect]:
        if self.link_local_ip is not None or not self.link_local_enabled:
            # Already on a link-local address (or fallback disabled): just wait and retry.
            self._set_timer(now + LINK_LOCAL_RETRY, "retry timer")
            return []
        return self._probe_link_local(now, msg)

    def _probe_link_local(self, now: float, msg: Message | None) -> list[Effect]:
        # RFC 3927 §2.1: pseudo-random in 169.254.1.0-169.254.254.255, from a
        # generator seeded by the MAC so a host tends to get the same address.
        candidate = int_to_ip(self._ll_rng.randint(LINK_LOCAL_FIRST, LINK_LOCAL_LAST))
        self._ll_candidate = self._probing = candidate
        self._set_timer(now + PROBE_WAIT, "address free")
        return [ArpProbe(candidate, self.mac)]

    def _use_link_local(self, now: float, msg: Message | None) -> list[Effect]:
        assert self._ll_candidate is not None
        self.link_local_ip, self._probing = self._ll_candidate, None
        self._set_timer(now + LINK_LOCAL_RETRY, "retry timer")
        return [Configure(self.link_local_ip, "255.255.0.0", "link-local")]

    def _send_inform(self, now: float, msg: Message | None) -> list[Effect]:
        assert self.static_ip is not None
        self._new_exchange(now)
        inform = Message.inform(self.mac, self.xid, ciaddr=self.static_ip, params=self.params, client_id=self.client_id)
        # RFC 2131 §4.4.3: broadcast if the server is unknown; the reply comes to ciaddr.
        return self._transmit(self._broadcast(inform, src_ip=self.static_ip), now)

    def _apply_inform(self, now: float, msg: Message | None) -> list[Effect]:
        assert msg is not None and self.static_ip is not None
        self._timer = None
        mask = msg.get("subnet_mask") or "255.255.255.0"
        return [Configure(self.static_ip, mask, "inform", dict(msg.options))]

    def _keep_manual(self, now: float, msg: Message | None) -> list[Effect]:
        self._timer = None
        return []


def _check_methods() -> None:
    """Every row of TRANSITIONS names a method the client has (a typo fails at import, not mid-lease)."""
    missing = {t.method for t in TRANSITIONS.values() if not callable(getattr(DhcpClient, t.method, None))}
    if missing:
        raise ImportError(f"TRANSITIONS names methods DhcpClient does not have: {sorted(missing)}")


_check_methods()
