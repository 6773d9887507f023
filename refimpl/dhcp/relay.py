"""A DHCP relay agent (RFC 2131 §4.1, RFC 1542 §4, RFC 3046), sans-I/O.

Why relays exist: a DISCOVER is a broadcast, and routers do not forward
broadcasts. So one DHCP server could only serve its own segment. A relay agent
sits on the client's segment (usually in the router), picks up the broadcast
and forwards it as a *unicast* to the configured servers.

What it changes on the way to the server (BOOTREQUEST, arriving on port 67):

* ``hops`` + 1, and a request whose ``hops`` already exceeds the threshold is
  dropped - a loop guard. RFC 1542 §4.1.1: discard above 16 (MUST), with a
  configurable lower threshold whose default SHOULD be 4 (``max_hops``);
* ``giaddr`` = the relay's own address on the client's segment, if it was 0
  (RFC 1542 §4.1.1). The server uses giaddr to pick the client's network and
  to know where to send the answer;
* option 82, the Relay Agent Information (RFC 3046): sub-option 1 "circuit
  id" (which port/VLAN the client is on) and 2 "remote id" (which relay), so
  the server can apply policy and the relay can find the client again.

A request with giaddr 0 that already carries option 82 depends on the circuit
it came in on (RFC 3046 §2.1). From an *untrusted* circuit (the default, and
the usual case: a port with an ordinary host behind it) it is discarded, since
a client is forging relay information. From a *trusted* circuit
(``trusted_circuit=True``: a trusted bridge between client and relay "MAY add
a relay agent option but not set the giaddr field") it is forwarded with
giaddr set, and the relay does not add a second option 82. The simplification:
this relay has one client side, so trust is one flag for the whole relay, where
real equipment configures it per port (RFC 3046 §2.1 leaves the mechanism to
"local administration").

And on the way back (BOOTREPLY from a server to ``giaddr``:67):

* option 82 is removed (RFC 3046 §2.2) - the client never sees it;
* the reply goes out on the client's segment to port 68: broadcast if the
  client set the BROADCAST bit, otherwise to ``yiaddr`` at ``chaddr``
  (RFC 1542 §4.1.2, RFC 2131 §4.1).

``receive(data, src_ip=..., iface=..., now=t)`` returns its effects:
:class:`~refimpl.dhcp.delivery.Outgoing` records whose ``iface`` is
``"server"`` or ``"client"`` (the side they leave on), and a
:class:`~refimpl.dhcp.notes.Note` for each decision - ``NoteKind.DROPPED``
for a datagram it refused. Like the other cores it has ``get_timer()`` and
``handle_timer(now=t)``; a relay keeps no state, so it never needs a timer.
"""

from __future__ import annotations

from refimpl.dhcp.delivery import BROADCAST_IP, CLIENT_PORT, SERVER_PORT, ZERO_IP, Outgoing
from refimpl.dhcp.faults import NO_RELAY_FAULTS, RelayFaults
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.notes import Note, NoteKind

MAX_HOPS = 16  # RFC 1542 §4.1.1: never relay a request whose hops exceed 16
DEFAULT_MAX_HOPS = 4  # RFC 1542 §4.1.1: "The default setting for a configurable threshold SHOULD be 4"

Effect = Outgoing | Note
"""What :meth:`RelayAgent.receive` returns: datagrams to forward, and notes on what it did."""


def _dropped(text: str) -> Note:
    return Note(text, NoteKind.DROPPED)


class RelayAgent:
    """Relay between one client segment (``address``) and a list of ``servers``.

    ``server_side_ip`` is the relay's address towards the servers (the source
    of forwarded requests); it defaults to ``address`` for a one-armed relay.
    """

    def __init__(
        self,
        address: str,
        servers: list[str],
        *,
        server_side_ip: str | None = None,
        circuit_id: bytes = b"",
        remote_id: bytes = b"",
        max_hops: int = DEFAULT_MAX_HOPS,
        trusted_circuit: bool = False,
        faults: RelayFaults = NO_RELAY_FAULTS,
    ):
        self.address = address
        self.servers = list(servers)
        self.server_side_ip = server_side_ip or address
        self.circuit_id = circuit_id
        self.remote_id = remote_id
        self.max_hops = min(max_hops, MAX_HOPS)  # configurable, but never above 16
        self.trusted_circuit = trusted_circuit  # RFC 3046 §2.1: may a bridge below us add option 82?
        self.faults = faults  # deliberate faults, for diagnosis exercises only (faults.py)

    def receive(
        self,
        data: bytes | Message,
        *,
        src_ip: str = ZERO_IP,
        src_port: int = CLIENT_PORT,
        iface: str = "client",
        now: float,
    ) -> list[Effect]:
        """A datagram arrived on port 67; return what to forward, and the notes."""
        try:
            msg = (data if isinstance(data, Message) else Message.decode(data)).copy()
        except MessageError as exc:
            return [_dropped(f"dropped an undecodable datagram from {src_ip}: {exc}")]
        if msg.op == 1:
            return self._from_client(msg)
        return self._from_server(msg)

    def get_timer(self) -> float | None:
        """None: a relay forwards at once and keeps nothing to wake up for."""
        return None

    def handle_timer(self, *, now: float) -> list[Effect]:
        """Nothing to do (see :meth:`get_timer`); here so every core has the same interface."""
        return []

    def _from_client(self, msg: Message) -> list[Effect]:
        if msg.hops > self.max_hops:
            # RFC 1542 §4.1.1: "MUST silently discard BOOTREQUEST messages whose
            # 'hops' field exceeds the value 16", or the configured lower threshold.
            return [_dropped(f"dropped request from {msg.mac}: hops {msg.hops} > {self.max_hops}")]
        first_hop = msg.giaddr == ZERO_IP
        if first_hop and 82 in msg.options and not self.trusted_circuit:
            # RFC 3046 §2.1: "Relay agents receiving a DHCP packet from an untrusted circuit with
            # giaddr set to zero ... but with a Relay Agent Information option already present in
            # the packet SHALL discard the packet" - a client is forging relay information.
            return [_dropped(f"dropped request from {msg.mac}: option 82 present with giaddr 0 (untrusted circuit)")]
        if msg.giaddr == self.address:
            # RFC 3046 §2.1.1: a request that already carries *our* giaddr is spoofed (or looping).
            return [_dropped(f"dropped request from {msg.mac}: giaddr {msg.giaddr} is this relay's own")]
        msg.hops += 1  # RFC 1542 §4.1.1
        if first_hop:
            msg.giaddr = self.address  # RFC 1542 §4.1.1: fill giaddr only if it is zero
            info = {}
            if self.circuit_id:
                info[1] = self.circuit_id  # RFC 3046 §3.1: agent circuit id
            if self.remote_id:
                info[2] = self.remote_id  # RFC 3046 §3.2: agent remote id
            if info and 82 not in msg.options:  # RFC 3046 §2.1: from a trusted bridge, no "second" option 82
                msg.set(82, info)  # appended: the last option (RFC 3046 §2.1)
        forwarded = Note(f"request from {msg.mac} -> {', '.join(self.servers)} (giaddr {msg.giaddr}, hops {msg.hops})")
        return [forwarded] + [
            Outgoing(
                msg.copy(),
                server,
                SERVER_PORT,
                SERVER_PORT,
                self.server_side_ip,
                iface="server",
                why="relay: forward to server port 67",
            )
            for server in self.servers
        ]

    def _from_server(self, msg: Message) -> list[Effect]:
        if msg.giaddr != self.address:
            return [_dropped(f"dropped reply for giaddr {msg.giaddr}: not this relay ({self.address})")]
        msg.set(82, None)  # RFC 3046 §2.2: strip option 82 before the client sees it
        if self.faults.clear_nak_broadcast and msg.message_type is not None and msg.message_type.name == "NAK":
            msg.broadcast = False  # the fault of a diagnosis exercise (faults.py): breaks RFC 2131 §4.1
        if msg.broadcast:
            # RFC 1542 §4.1.2 / RFC 2131 §4.1: broadcast bit set -> broadcast on the segment.
            out = Outgoing(
                msg,
                BROADCAST_IP,
                CLIENT_PORT,
                SERVER_PORT,
                self.address,
                iface="client",
                why="relay: broadcast bit set",
            )
        elif msg.yiaddr == ZERO_IP and msg.ciaddr != ZERO_IP:
            # An ACK to an INFORM: no yiaddr; the client has ciaddr and can take unicast.
            out = Outgoing(
                msg, msg.ciaddr, CLIENT_PORT, SERVER_PORT, self.address, iface="client", why="relay: unicast to ciaddr"
            )
        else:
            # RFC 1542 §4.1.2: otherwise unicast to yiaddr at the hardware address chaddr.
            out = Outgoing(
                msg,
                msg.yiaddr,
                CLIENT_PORT,
                SERVER_PORT,
                self.address,
                to_chaddr=True,
                iface="client",
                why="relay: unicast to yiaddr at chaddr",
            )
        return [Note(f"reply to {msg.mac} -> {out.dst_ip}:{out.dst_port}"), out]
