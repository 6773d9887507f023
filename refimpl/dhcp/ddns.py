"""DDNS from the DHCP server: the client's name into the DNS on DHCPACK, out on release or expiry.

Theory of operation
-------------------
:class:`DdnsServer` wraps a :class:`~refimpl.dhcp.server.DhcpServer` and has
the same sans-I/O interface (``receive``, ``get_timer``, ``handle_timer``). It
hands each request to the DHCP core unchanged, then looks at what came back:

* a DHCPACK that grants a lease, to a client that named itself (option 81,
  RFC 4702, or the host name, option 12, RFC 2132 §3.14): choose the FQDN,
  add option 81 to the reply when the client sent one, and return, *after* the
  reply, a :class:`DnsUpdate` effect carrying an
  :class:`~refimpl.dhcp.ddns_exchange.Exchange` that adds the A, PTR and DHCID
  records with RFC 4703's conflict rules;
* a DHCPRELEASE the core accepted, or (from ``handle_timer``) a lease whose
  time ran out: a ``DnsUpdate`` that removes them again (RFC 4703 §5.5).

The driver sends the DHCPACK first and runs the exchange afterwards, so DNS
never delays an answer (RFC 4702 §4 leaves the ordering to the server; not
blocking the ACK is our policy). The DNS server decides conflicts atomically:
this module only remembers what it registered, so a RELEASE (which carries no
name) can be undone.

Who updates what (RFC 4702 §2.1, §3, §4), and our policy
---------------------------------------------------------
The client's flags ask; the server's reply in its own option 81 says what it did.

=====================  ======================================  ====================
client sends           we do (policy, see below)               we answer (flags)
=====================  ======================================  ====================
option 81, N=1         no DNS update                           N=1, S=0
option 81, S=1         A and PTR                               S=1
option 81, S=0, N=0    A and PTR anyway (override)             S=1, O=1
option 12 only         A and PTR                               (no option 81)
neither                no DNS update                           (no option 81)
=====================  ======================================  ====================

Policy, not RFC: the server always does the A update unless N is set, as Kea
does with ``ddns-override-client-update: true`` - a server that holds the
DHCID records is the one that can keep two clients off one name. With N=1 we
respect the client's wish (Kea's ``ddns-override-no-update: false``). The
reply's RCODE1 and RCODE2 are 255 (RFC 4702 §2.2: "A server SHOULD set these to
255 when sending the option"), E is the client's E, and the name is the FQDN
we used, fully qualified. When a client sends both options we use option 81.

Which names we refuse (policy): a name that is not a host name in the
letters-digits-hyphen form (RFC 952, RFC 1123 §2.1) - bytes that are not
ASCII, underscores, spaces; a label over 63 octets (RFC 1035 §2.3.4); a
fully qualified name outside our forward zone. A partial name (option 12, or
option 81 without the root label) gets the forward zone appended, unless it
already ends with it (busybox ``udhcpc -F host7.example.com`` sends it so). A refused
name gets a note and no update; the lease is granted all the same.

TTL (policy): one third of the lease time, at least 60 s: a resolver's cached
answer then outlives a released lease by at most a third of its time.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from refimpl.dhcp.ddns_exchange import ADD, REMOVE, Exchange
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.notes import Note
from refimpl.dhcp.options import ClientFqdn, MessageType
from refimpl.dhcp.server import DhcpServer
from refimpl.dns.records import dhcid_for_dhcpv4
from refimpl.dns.tsig import Key

_LDH = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


@dataclass
class DdnsConfig:
    """What the DHCP server's configuration says about DDNS."""

    forward_zone: str  # e.g. "example.com": names go here, partial names get it appended
    reverse_zone: str | None = None  # e.g. "2.0.192.in-addr.arpa"; None: no PTR records
    key: Key | None = None  # TSIG key for the UPDATEs (RFC 8945)
    min_ttl: int = 60
    ids: Any = None  # a random.Random for the UPDATE message IDs (the simulator passes a seeded one)


@dataclass
class DnsUpdate:
    """An effect: run this exchange with the DNS server (after sending the replies before it)."""

    exchange: Exchange
    why: str = ""

    def __str__(self) -> str:
        return f"DNS UPDATE: {self.exchange.action} {self.exchange.fqdn} {self.exchange.address} ({self.why})"


@dataclass
class Registration:
    """What we put in the DNS for one client, so a RELEASE or the expiry can take it out."""

    fqdn: str
    address: str
    dhcid: bytes
    forward: bool
    expires: float


def check_name(name: str, zone: str) -> tuple[str | None, str]:
    """``(fqdn, "")`` for a name we will register, or ``(None, why not)``.

    ``name`` ends with a dot when fully qualified. See "Which names we refuse".
    """
    fully = name.endswith(".")
    text = name.rstrip(".").lower()
    zone = zone.rstrip(".").lower()
    if not text:
        return None, "empty name"
    if any(ch not in _LDH and ch != "." for ch in text):
        bad = next(ch for ch in text if ch not in _LDH and ch != ".")
        return None, f"{name!r} is not a host name: {bad!r} is not a letter, digit or hyphen (RFC 952, RFC 1123 §2.1)"
    labels = text.split(".")
    for label in labels:
        if not label:
            return None, f"{name!r} has an empty label"
        if len(label.encode()) > 63:
            return None, f"{name!r} has a label of {len(label)} octets, over 63 (RFC 1035 §2.3.4)"
        if label.startswith("-") or label.endswith("-"):
            return None, f"{name!r}: a label may not begin or end with a hyphen (RFC 952)"
    # A partial name gets the zone appended - unless it already ends with it (policy: busybox
    # udhcpc -F host7.example.com sends the name without the root label).
    fqdn = text if fully or text == zone or text.endswith("." + zone) else f"{text}.{zone}"
    if fqdn != zone and not fqdn.endswith("." + zone):
        return None, f"{fqdn!r} is outside the forward zone {zone!r} (policy: we update only our zone)"
    if len(fqdn) + 2 > 255:
        return None, f"{fqdn!r} is over 255 octets on the wire (RFC 1035 §2.3.4)"
    return fqdn, ""


def reply_fqdn(asked: ClientFqdn, fqdn: str, *, updated: bool) -> ClientFqdn:
    """Our option 81 in a reply: the flags say what we do (RFC 4702 §2.1).

    S: we do the A update. N: we do no update at all ("If the "N" bit is 1, the
    "S" bit MUST be 0"). O: "A server MUST set this bit to 1 if the "S" bit in
    its reply to the client does not match the "S" bit received from the
    client." E as the client's. RCODE1 = RCODE2 = 255 (§2.2). The name: the
    FQDN we used, fully qualified (or, when we do nothing, what the client sent).
    """
    flags = ClientFqdn.S if updated else ClientFqdn.N
    if bool(flags & ClientFqdn.S) != asked.s:
        flags |= ClientFqdn.O
    flags |= asked.flags & ClientFqdn.E
    return ClientFqdn(flags, fqdn + "." if updated else fqdn, 255, 255)


class DdnsServer:
    """A :class:`DhcpServer` that keeps the DNS in step with its leases. See the module docstring."""

    def __init__(self, server: DhcpServer, config: DdnsConfig):
        self.server, self.ddns = server, config
        self.registered: dict[str, Registration] = {}  # client key -> what is in the DNS

    # The driver reads these from the DHCP core.
    @property
    def config(self) -> Any:
        return self.server.config

    @property
    def store(self) -> Any:
        return self.server.store

    def restore(self, now: float) -> int:
        """After a restart: take back the names of the leases still active (from the lease file).

        The lease store keeps option 12, not option 81, so only host-name
        clients are restored; a client named by option 81 alone is registered
        again at its next DHCPACK (the DHCID then matches: RFC 4703 §5.3.2).
        Returns how many were restored.
        """
        count = 0
        for lease in self.server.store.active_leases(now):
            fqdn, _ = check_name(lease.hostname, self.ddns.forward_zone) if lease.hostname else (None, "")
            if fqdn is None or lease.key in self.registered:
                continue
            mac = bytes.fromhex(lease.mac.replace(":", ""))
            client_id = bytes.fromhex(lease.client_id) if lease.client_id else None
            dhcid = dhcid_for_dhcpv4(fqdn, chaddr=mac, client_id=client_id)
            self.registered[lease.key] = Registration(fqdn, lease.address, dhcid, True, lease.expire)
            count += 1
        return count

    def ttl(self, lease_time: int) -> int:
        return max(self.ddns.min_ttl, lease_time // 3)

    def _exchange(self, action: str, r: Registration, ttl: int) -> Exchange:
        return Exchange(
            action,
            r.fqdn,
            r.address,
            r.dhcid,
            forward_zone=self.ddns.forward_zone,
            reverse_zone=self.ddns.reverse_zone,
            ttl=ttl,
            forward=r.forward,
            key=self.ddns.key,
            ids=self.ddns.ids,
        )

    # -- the driver's interface ------------------------------------------------------
    def receive(self, data: bytes | Message, *, now: float, **where) -> list:
        try:
            msg = data if isinstance(data, Message) else Message.decode(data)
        except MessageError:
            return self.server.receive(data, now=now, **where)  # the core writes the note
        effects = self.server.receive(msg, now=now, **where)
        if msg.op != 1:
            return effects
        if msg.message_type == MessageType.RELEASE:
            return effects + self._released(msg, now)
        out: list = []
        for effect in effects:
            out.append(effect)
            if isinstance(effect, Outgoing) and effect.message.message_type in (MessageType.OFFER, MessageType.ACK):
                out += self._named(msg, effect.message, now)
        # the updates go after every reply, so a driver that runs effects in order answers first
        return [e for e in out if not isinstance(e, DnsUpdate)] + [e for e in out if isinstance(e, DnsUpdate)]

    def get_timer(self) -> float | None:
        """When the first registered lease runs out (its records then come out of the DNS)."""
        return min((r.expires for r in self.registered.values()), default=None)

    def handle_timer(self, *, now: float) -> list:
        out: list = []
        for key, r in list(self.registered.items()):
            if r.expires <= now and self.server.store.lease_for(key, now) is None:
                del self.registered[key]
                out += [
                    Note(f"DDNS: the lease of {r.address} ({r.fqdn}) expired; removing its records"),
                    DnsUpdate(self._exchange(REMOVE, r, 0), "lease expired"),
                ]
            elif r.expires <= now:  # renewed meanwhile (a newer ACK would have moved this on)
                lease = self.server.store.lease_for(key, now)
                r.expires = lease.expire if lease else now
        return out

    # -- decisions -------------------------------------------------------------------
    def _named(self, msg: Message, reply: Message, now: float) -> list:
        """Option 81 for the reply (OFFER and ACK); on an ACK that grants a lease, the add exchange."""
        asked = msg.get("client_fqdn")
        hostname = msg.get("hostname")
        if asked is not None:
            if asked.n:  # RFC 4702 §2.1: the client asks the server not to update (we respect it: policy)
                reply.set("client_fqdn", reply_fqdn(asked, asked.name, updated=False))
                return [Note(f"DDNS: {msg.mac} set N (no update): none made")]
            wanted = asked.name
        elif hostname:
            wanted = hostname  # a host name is a single label, or partial name: the zone is appended
        else:
            return []
        fqdn, why = check_name(wanted, self.ddns.forward_zone)
        if fqdn is None:
            if asked is not None:
                reply.set("client_fqdn", reply_fqdn(asked, "", updated=False))
            return [Note(f"DDNS: no update for {msg.mac}: {why}")]  # the lease stands: not a refused datagram
        if asked is not None:
            reply.set("client_fqdn", reply_fqdn(asked, fqdn, updated=True))
        if reply.message_type != MessageType.ACK or reply.yiaddr == "0.0.0.0":
            return []  # an OFFER or an INFORM's ACK: no lease, no records
        key = DhcpServer._key(msg)
        lease_time = reply.get("lease_time") or self.server.config.lease_time
        registration = Registration(
            fqdn,
            reply.yiaddr,
            dhcid_for_dhcpv4(fqdn, chaddr=msg.chaddr[: msg.hlen], htype=msg.htype, client_id=msg.get("client_id")),
            forward=True,
            expires=now + lease_time,
        )
        effects: list = []
        old = self.registered.get(key)
        if old is not None:
            if (old.fqdn, old.address) == (fqdn, reply.yiaddr):
                old.expires = registration.expires  # a renewal: the records stand (policy, as Kea's default)
                return []
            effects.append(DnsUpdate(self._exchange(REMOVE, old, 0), "the client's name or address changed"))
        self.registered[key] = registration
        effects.append(DnsUpdate(self._exchange(ADD, registration, self.ttl(lease_time)), f"DHCPACK to {msg.mac}"))
        return effects

    def _released(self, msg: Message, now: float) -> list:
        key = DhcpServer._key(msg)
        r = self.registered.get(key)
        if r is None or r.address != msg.ciaddr or self.server.store.lease_for(key, now) is not None:
            return []  # nothing of ours, or the core did not free the lease
        del self.registered[key]
        return [DnsUpdate(self._exchange(REMOVE, r, 0), f"DHCPRELEASE from {msg.mac}")]


def default_reverse_zone(network: str) -> str:
    """The in-addr.arpa zone of a /8, /16 or /24 network (RFC 1035 §3.5); other lengths need naming."""
    net = ipaddress.ip_network(network, strict=False)
    if net.prefixlen not in (8, 16, 24):
        raise ValueError(f"{network}: name the reverse zone (not a /8, /16 or /24)")
    octets = str(net.network_address).split(".")[: net.prefixlen // 8]
    return ".".join(reversed(octets)) + ".in-addr.arpa"


__all__ = ["DdnsConfig", "DdnsServer", "DnsUpdate", "Registration", "check_name", "default_reverse_zone"]
