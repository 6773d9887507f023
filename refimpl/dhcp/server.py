"""A DHCP server (RFC 2131 §4.3), sans-I/O.

Theory of operation
-------------------
``DhcpServer.receive(data, src_ip=..., dst_ip=..., now=t)`` takes one datagram
that arrived on port 67 and returns its *effects*: the
:class:`~refimpl.dhcp.delivery.Outgoing` replies to send (usually zero or one)
and a :class:`~refimpl.dhcp.notes.Note` for each decision. It never reads a
clock or opens a socket: a driver does that and passes the time in as ``now``.
Like every core here it also has ``get_timer()`` and ``handle_timer(now=t)``
(after aioquic); the server needs no timer of its own, because offers and
leases lapse when the lease store next looks at them.

What the server does per message type:

=============  ===============================================================
DHCPDISCOVER   choose an address (:mod:`refimpl.dhcp.leases`), hold it, DHCPOFFER;
               within limits per MAC and per relay, so DISCOVERs without a
               REQUEST cannot hold the pool (leases.py, "Offers under pressure")
DHCPREQUEST    tell the client's state from the fields (RFC 2131 §4.3.2 and
               table 4), then DHCPACK, DHCPNAK or silence - see ``_request``
DHCPDECLINE    mark the address unusable (§4.3.3)
DHCPRELEASE    free the lease (§4.3.4)
DHCPINFORM     DHCPACK with configuration only, no lease (§4.3.5)
=============  ===============================================================

Every acknowledged lease is written durably (fsync) *before* the DHCPACK is
returned, so a crash never loses a lease a client was told it has.

Overload is the driver's business, not this core's: handed more than it can
answer, :class:`refimpl.sockets.dhcp.ServerDriver` answers the REQUESTs it has
read before the DISCOVERs and sheds DISCOVERs first - a REQUEST completes an
exchange that already cost an OFFER, a DISCOVER only starts one, and a
completed exchange is worth more than a new one (our policy; the reasons and
the numbers are in that driver's ``_readable``).

Clients are told apart by the client identifier (option 61) when they send
one, else by ``chaddr`` (§4.2). A relay's option 82 is copied into every reply
as the last option (RFC 3046 §2.2). Each decision comes back as a note, a
sentence a student can read next to the trace; notes about datagrams the server
refused say so in their kind (``NoteKind.DROPPED``), so a driver can count them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from refimpl.dhcp.delivery import BROADCAST_IP, SERVER_PORT, ZERO_IP, Outgoing, reply_destination
from refimpl.dhcp.faults import NO_SERVER_FAULTS, ServerFaults
from refimpl.dhcp.ipv4 import ip_to_int
from refimpl.dhcp.leases import LeaseConflict, LeaseStore, client_id_hex, client_key
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.notes import Note, NoteKind
from refimpl.dhcp.options import MessageType, normalize, option_spec

Effect = Outgoing | Note
"""What :meth:`DhcpServer.receive` returns: replies to send, and notes on what it decided."""


def _dropped(text: str) -> Note:
    return Note(text, NoteKind.DROPPED)


def _failed(text: str) -> Note:
    return Note(text, NoteKind.FAILED)


@dataclass
class ServerConfig:
    """What an administrator writes in a DHCP server's configuration file."""

    server_ip: str = "192.0.2.1"
    network: str = "192.0.2.0/24"  # the segment served (directly or via relays whose giaddr lies in it)
    pool: tuple[str, str] = ("192.0.2.100", "192.0.2.199")
    lease_time: int = 3600  # option 51 when the client does not ask
    max_lease_time: int = 86400  # RFC 2131 §4.3.1: the server may grant less than asked
    renewal_time: int | None = None  # option 58 (T1); None = 50% of the lease (RFC 2131 §4.4.5)
    rebinding_time: int | None = None  # option 59 (T2); None = 87.5% of the lease
    options: dict[str | int, Any] = field(default_factory=dict)  # {"router": ["192.0.2.1"], ...}
    reservations: dict[str, str] = field(default_factory=dict)  # MAC -> address
    excluded: tuple[str, ...] = ()
    lease_file: str | None = None  # None: in memory only
    fsync: bool = True
    offer_hold: float = 60.0  # seconds an OFFER holds its address while the pool has room
    offer_min_hold: float = 5.0  # under pressure, an offer this old may be taken back (leases.py)
    offers_per_mac: int = 1  # offers one chaddr may hold, whatever client ids it sends
    offers_per_relay: int | None = None  # offers the clients behind one giaddr may hold; None: half the pool
    faults: ServerFaults = NO_SERVER_FAULTS  # deliberate faults, for diagnosis exercises only (faults.py)


class DhcpServer:
    """One DHCP server on one network. See the module docstring."""

    def __init__(self, config: ServerConfig | None = None, store: LeaseStore | None = None):
        self.config = config or ServerConfig()
        c = self.config
        self.network = ipaddress.ip_network(c.network)
        self._netaddr, self._netmask = int(self.network.network_address), int(self.network.netmask)
        self.store = store or LeaseStore(
            c.pool[0],
            c.pool[1],
            offer_hold=c.offer_hold,
            offer_min_hold=c.offer_min_hold,
            offers_per_mac=c.offers_per_mac,
            offers_per_relay=c.offers_per_relay,
            reservations=c.reservations,
            excluded=(c.server_ip, *c.excluded),
            path=c.lease_file,
            fsync=c.fsync,
        )
        # Configured options by code, subnet mask first (RFC 2132 §3.3 asks it before the router).
        self.parameters: dict[int, Any] = {1: str(self.network.netmask)}
        for name, value in c.options.items():
            code = option_spec(name).code
            self.parameters[code] = normalize(code, value)  # checked once, here, not in every reply
        # What the server does per message type (the table of the module docstring), built once.
        self._handlers: dict[MessageType, Callable[[Message, float, str], list[Effect]]] = {
            MessageType.DISCOVER: self._discover,
            MessageType.REQUEST: self._request,
            MessageType.DECLINE: self._decline,
            MessageType.RELEASE: self._release,
            MessageType.INFORM: self._inform,
        }

    # -- the driver's interface ------------------------------------------------------
    def receive(
        self,
        data: bytes | Message,
        *,
        src_ip: str = ZERO_IP,
        src_port: int = 68,
        dst_ip: str = BROADCAST_IP,
        now: float,
    ) -> list[Effect]:
        """Handle one datagram received on port 67; return the replies to send and the notes.

        ``dst_ip`` tells a broadcast from a unicast (REBINDING from RENEWING).
        Bad input is dropped with a ``DROPPED`` note; the server keeps serving.
        """
        try:
            msg = data if isinstance(data, Message) else Message.decode(data)
        except MessageError as exc:
            return [_dropped(f"dropped an undecodable datagram from {src_ip}:{src_port}: {exc}")]
        if msg.op != 1:  # RFC 2131 §4.1: servers only answer BOOTREQUESTs
            return []
        kind = msg.message_type
        if kind is None:
            return [_dropped(f"dropped a plain BOOTP request from {msg.mac} (this server speaks DHCP only)")]
        if not any(msg.chaddr[: msg.hlen]) and not msg.get("client_id"):
            return [_dropped(f"dropped {kind.name}: chaddr is empty and there is no client identifier")]
        if msg.giaddr != ZERO_IP and not self._on_network(msg.giaddr):
            return [_dropped(f"dropped {kind.name} relayed from {msg.giaddr}: not a network this server serves")]
        handler = self._handlers.get(kind)
        if handler is None:
            return [Note(f"ignored a DHCP{kind.name} (only clients receive those)")]
        try:
            return handler(msg, now, dst_ip)
        except (MessageError, ValueError) as exc:  # bad option values in an otherwise decodable message
            return [_dropped(f"dropped {kind.name} from {msg.mac}: {exc}")]

    def get_timer(self) -> float | None:
        """None: the server never needs waking (offers and leases lapse when next looked at)."""
        return None

    def handle_timer(self, *, now: float) -> list[Effect]:
        """Nothing to do (see :meth:`get_timer`); here so every core has the same interface."""
        return []

    # -- helpers -------------------------------------------------------------------
    @staticmethod
    def _key(msg: Message) -> str:
        return client_key(msg.mac, msg.get("client_id"))  # RFC 2131 §4.2, the rule in leases.py

    def _on_network(self, address: str | None) -> bool:
        try:
            value = ip_to_int(address)
        except ValueError:
            return False
        return value & self._netmask == self._netaddr

    def _lease_time(self, msg: Message) -> int:
        # RFC 2131 §4.3.1: the client may ask for a lease time (option 51); the
        # server grants at most its own maximum.
        asked = msg.get("lease_time")
        if isinstance(asked, int) and asked > 0:
            return min(asked, self.config.max_lease_time)
        return self.config.lease_time

    def _options(self, msg: Message, lease_time: int | None) -> dict[int, Any]:
        """Options for a reply: T1/T2 (with a lease), the parameters asked for, option 82."""
        out: dict[int, Any] = {}
        if lease_time is not None:
            c = self.config
            t1 = c.renewal_time if c.renewal_time is not None else lease_time // 2  # RFC 2131 §4.4.5: 0.5
            t2 = c.rebinding_time if c.rebinding_time is not None else lease_time * 7 // 8  # 0.875
            out[51] = lease_time
            out[58] = min(t1, lease_time)
            out[59] = min(t2, lease_time)
        wanted = msg.get("param_request_list")
        if wanted:
            # RFC 2131 §4.3.1: return the parameters the client asked for (option 55),
            # in its order, if we have them.
            for code in wanted:
                if code in self.parameters:
                    out[code] = self.parameters[code]
        else:
            out.update(self.parameters)
        if 82 in msg.options:
            out[82] = msg.options[82]  # RFC 3046 §2.2: echo option 82, as the last option
        return out

    def _send(self, msg: Message, reply: Message, *notes: Note) -> list[Effect]:
        """The notes that led to ``reply``, the reply addressed by RFC 2131 §4.1, and a note on where it goes."""
        if 82 in msg.options and 82 not in reply.options:
            reply.set(82, msg.options[82])  # RFC 3046 §2.2: in every reply, NAKs too
        if self.config.faults.ignore_broadcast_flag:  # the fault of a diagnosis exercise (faults.py)
            msg = msg.copy()
            msg.broadcast = False  # addressed as if the client had not set the bit; the reply still shows it
        out = reply_destination(msg, reply, self.config.server_ip)
        return [*notes, Note(f"-> {out} ({out.why})"), out]

    def _ack(self, msg: Message, address: str, now: float, state: str) -> list[Effect]:
        lease_time = self._lease_time(msg)
        key = self._key(msg)
        try:
            self.store.commit(
                key,
                msg.mac,
                address,
                now,
                lease_time,
                client_id=client_id_hex(msg.get("client_id")),
                hostname=msg.get("hostname") or "",
            )
        except LeaseConflict as exc:
            return self._nak(msg, f"{state}: {exc}")
        except OSError as exc:
            # No durable record, no ACK: the client will retransmit.
            return [_failed(f"{state}: could not write the lease file ({exc}); no DHCPACK sent")]
        stored = "written to disk before the ACK" if self.store.file is not None else "kept in memory"
        leased = Note(f"{state}: {address} leased to {key} for {lease_time} s ({stored})")
        options = self._options(msg, lease_time)
        options.pop(51)
        reply = Message.ack(msg, yiaddr=address, server_id=self.config.server_ip, lease_time=lease_time)
        reply.options.update(options)  # our own values, normalized once in __init__
        return self._send(msg, reply, leased)

    def _nak(self, msg: Message, why: str) -> list[Effect]:
        reply = Message.nak(msg, server_id=self.config.server_ip, message=why[:200])
        return self._send(msg, reply, Note(f"DHCPNAK to {msg.mac}: {why}"))

    # -- DISCOVER (§4.3.1) -------------------------------------------------------------
    def _discover(self, msg: Message, now: float, dst_ip: str) -> list[Effect]:
        key = self._key(msg)
        requested = msg.get("requested_ip")
        if requested is not None and not self._on_network(requested):
            requested = None  # a hint for another network: ignore it
        relay = msg.giaddr if msg.giaddr != ZERO_IP else ""  # offers are capped per relay (leases.py)
        held = self.store.offer(key, msg.mac, now, requested, relay=relay)
        if held is None:
            # RFC 2131 §4.3.1: no address available -> no offer (and tell the admin).
            return [_failed(f"DISCOVER from {key}: no offer: {self.store.last_reason}")]
        offering = Note(
            f"DISCOVER from {key}: offering {held.address} ({held.why}), held for {self.config.offer_hold:g} s"
        )
        lease_time = self._lease_time(msg)
        options = self._options(msg, lease_time)
        options.pop(51)
        reply = Message.offer(msg, yiaddr=held.address, server_id=self.config.server_ip, lease_time=lease_time)
        reply.options.update(options)  # our own values, normalized once in __init__
        return self._send(msg, reply, offering)

    # -- REQUEST (§4.3.2) ---------------------------------------------------------------
    def _request(self, msg: Message, now: float, dst_ip: str) -> list[Effect]:
        """Which state is the client in? RFC 2131 §4.3.2 tells from the fields:

        ========================  ===========  ============  =========
        state                     server id    requested IP  ciaddr
        ========================  ===========  ============  =========
        SELECTING                 MUST         MUST          zero
        INIT-REBOOT               MUST NOT     MUST          zero
        RENEWING (unicast)        MUST NOT     MUST NOT      set
        REBINDING (broadcast)     MUST NOT     MUST NOT      set
        ========================  ===========  ============  =========
        """
        key = self._key(msg)
        server_id = msg.get("server_id")
        requested = msg.get("requested_ip")
        if server_id is not None:
            return self._selecting(msg, key, server_id, requested, now)
        if requested is not None and msg.ciaddr == ZERO_IP:
            return self._init_reboot(msg, key, requested, now)
        if msg.ciaddr != ZERO_IP:
            state = "REBINDING" if dst_ip == BROADCAST_IP else "RENEWING"
            return self._renew_or_rebind(msg, key, state, now)
        return [_dropped(f"dropped REQUEST from {key}: no server id, no requested IP and no ciaddr")]

    def _selecting(self, msg: Message, key: str, server_id: str, requested: str | None, now: float) -> list[Effect]:
        if server_id != self.config.server_ip:
            # RFC 2131 §3.1 step 4: servers not selected "use the message as
            # notification that the client has declined that server's offer".
            # Say nothing, and give the address held at OFFER time back at once.
            freed = self.store.cancel_offer(key)
            withdrawn = f"our offer of {freed} withdrawn" if freed else "we had no offer"
            return [Note(f"SELECTING: {key} chose server {server_id}; {withdrawn}")]
        if requested is None:
            return self._nak(msg, "SELECTING: REQUEST without a requested IP address (option 50)")
        held = self.store.offer_for(key, now)
        if held is not None and held.address != requested:
            return self._nak(msg, f"SELECTING: requested {requested}, but we offered {held.address}")
        if held is None and not (self._on_network(requested) and self.store.in_pool(requested)):
            return self._nak(msg, f"SELECTING: {requested} is not an address we offer")
        # A lapsed offer (or a restart) is fine if the address is still free: commit() checks.
        return self._ack(msg, requested, now, "SELECTING")

    def _init_reboot(self, msg: Message, key: str, requested: str, now: float) -> list[Effect]:
        # RFC 2131 §4.3.2 INIT-REBOOT: NAK if the address is wrong for the
        # client's network (local network, or giaddr's network via a relay) ...
        if not self._on_network(requested):
            return self._nak(msg, f"INIT-REBOOT: {requested} is on the wrong network (not {self.network})")
        known = self.store.known_address(key)
        if known is None:
            # ... and "If the DHCP server has no record of this client, then it
            # MUST remain silent" (another server may own the lease).
            return [Note(f"INIT-REBOOT: no record of {key} asking for {requested}; staying silent")]
        if known != requested:
            return self._nak(msg, f"INIT-REBOOT: {key}'s address is {known}, not {requested}")
        return self._ack(msg, requested, now, "INIT-REBOOT")

    def _renew_or_rebind(self, msg: Message, key: str, state: str, now: float) -> list[Effect]:
        address = msg.ciaddr
        lease = self.store.lease_at(address)
        if lease is not None and lease.key != key and lease.active(now):
            return self._nak(msg, f"{state}: {address} is leased to another client")
        if lease is not None and lease.key == key and lease.state == "bound":
            return self._ack(msg, address, now, state)  # extend the lease
        if self._on_network(address) and self.store.in_pool(address):
            # No current record (lost, expired or released) but the address is
            # ours and free: accept it rather than disrupt the client.
            return self._ack(msg, address, now, state)
        if state == "REBINDING":
            # A broadcast REBIND for an address we do not manage: another
            # server's client. RFC 2131 §4.3.2: check ciaddr before replying; stay silent.
            return [Note(f"REBINDING: {address} is not in our pool; staying silent")]
        return self._nak(msg, f"RENEWING: {address} is not an address this server leases")

    # -- DECLINE, RELEASE, INFORM (§4.3.3 - §4.3.5) -----------------------------------------
    def _decline(self, msg: Message, now: float, dst_ip: str) -> list[Effect]:
        address = msg.get("requested_ip")
        if msg.get("server_id") not in (None, self.config.server_ip):
            return []  # about another server's address
        if address is None:
            return [_dropped(f"dropped DECLINE from {msg.mac}: no requested IP (option 50)")]
        current = self.store.lease_at(address)
        if current is not None and current.active(now) and current.key != self._key(msg):
            # Only the client the address was given to can decline it; otherwise any
            # host could knock a working client off its lease.
            return [Note(f"DECLINE of {address} from {msg.mac} ignored: it is leased to another client")]
        # RFC 2131 §4.3.3: "the server MUST mark the network address as not available".
        if self.store.decline(address, now, msg.mac, client_id_hex(msg.get("client_id"))):
            return [Note(f"DECLINE: {address} is in use by someone else; marked unusable (last resort only)")]
        return []

    def _release(self, msg: Message, now: float, dst_ip: str) -> list[Effect]:
        if msg.get("server_id") not in (None, self.config.server_ip):
            return []
        key = self._key(msg)
        # RFC 2131 §4.3.4: mark the lease as not allocated; no reply is sent.
        if self.store.release(key, msg.ciaddr, now):
            return [Note(f"RELEASE: {msg.ciaddr} freed by {key}")]
        return [Note(f"RELEASE from {key} for {msg.ciaddr} ignored: no such lease of that client")]

    def _inform(self, msg: Message, now: float, dst_ip: str) -> list[Effect]:
        if msg.ciaddr == ZERO_IP:
            return [_dropped(f"dropped INFORM from {msg.mac}: ciaddr is zero (RFC 2131 §4.4.3)")]
        # RFC 2131 §4.3.5: ACK with configuration; no lease time, no yiaddr,
        # no check of an existing lease; unicast to ciaddr.
        reply = Message.ack(msg, server_id=self.config.server_ip, options=self._options(msg, None))
        return self._send(msg, reply, Note(f"INFORM from {msg.ciaddr}: configuration only, no lease"))


__all__ = ["DhcpServer", "Effect", "ServerConfig", "SERVER_PORT"]
