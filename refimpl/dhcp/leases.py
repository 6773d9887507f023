"""The address pool and the lease store of a DHCP server.

A DHCP server's real work is bookkeeping: which address belongs to whom, until
when. This module keeps that book; :mod:`refimpl.dhcp.server` only reads and
writes it.

Words
-----
* **offer** - an address set aside for a client between DHCPOFFER and DHCPREQUEST.
  A common tutorial claim, and this server's rule: the address is reserved when
  the OFFER is sent, not at the REQUEST; if the client picks another server the
  offer is dropped and the address goes back. An offer lives in memory only and lapses after
  ``offer_hold`` seconds (RFC 2131 §3.1 step 2: servers "need not reserve the
  offered address", but doing so stops two OFFERs carrying one address).
  How long to hold is the server's policy; see "Offers under pressure" below.
* **lease** - an address acknowledged with DHCPACK, until ``expire``. A lease
  is written to the lease file (:mod:`refimpl.dhcp.leasefile`) *before* the ACK
  is sent.
* **reservation** - an address that always goes to one MAC address.

Which address does a client get?  (RFC 2131 §4.3.1, in a common tutorial's order)
-------------------------------------------------------------------------------
1. its reservation, if it has one;
2. the client's previous address (current or expired binding), if still free;
3. the address it asked for (option 50), if in the pool and free;
4. a **never-used** address;
5. an **expired or released** address, the one free the longest first (so a
   returning client is most likely to find its old address still there);
6. a **declined** address, oldest decline first (last resort: a client said
   somebody was using it);
7. nothing: no offer, and the reason is logged (``last_reason``).

Offers under pressure
---------------------
A client that sends DISCOVERs and never a REQUEST costs nothing to send and
would hold an address for ``offer_hold`` seconds each time: sixty of them
held a sixty-address pool for good. The asymmetry to use is that an honest
client REQUESTs at once (RFC 2131 §3.1 step 3, §4.4.1) and an attacker never
does. So an offer is held for ``offer_hold`` (60 s) only while there is room;
under pressure its hold shrinks to ``offer_min_hold`` (5 s):

* **pool full**: a newcomer takes back the offer held longest (by the time it
  was first made; repeated DISCOVERs keep the address but not the age), if
  that offer is at least ``offer_min_hold`` old; a younger one is never taken,
  so a flood cannot knock an honest client's fresh offer away;
* **per MAC** (chaddr): one machine holds at most ``offers_per_mac`` offers,
  however many client identifiers (option 61) it invents;
* **per relay** (giaddr): clients behind one relay hold at most
  ``offers_per_relay`` offers (default half the pool), so a flood on one
  segment leaves room for the others.

When a cap is reached, the group's oldest offer is taken back by the same
rule (at least ``offer_min_hold`` old), else the newcomer gets no offer and
retransmits (RFC 2131 §4.1). Every check is a dict look-up or the first entry
of an ordered dict: O(1) per DISCOVER.

Why it stays fast for a million addresses
-----------------------------------------
The pool is a range of integers. Nothing ever lists all of it:

* never-used addresses come from a *cursor* that walks the range once, upward,
  skipping addresses that already have a history; each address is skipped at
  most once, so the walk costs O(1) per allocation on average;
* expired and released addresses wait in a heap ordered by the time they
  became free; declined ones in a queue;
* leases live in dicts keyed by address and by client.

Entries in the heap and the queue may go stale (a lease was renewed, an
address reused); they are checked when taken and skipped if stale ("lazy
deletion"), which keeps every operation O(log n).

Standard library only; time is always passed in as ``now``.
"""

from __future__ import annotations

import heapq
import logging
import os
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from refimpl.dhcp.ipv4 import int_to_ip, ip_to_int
from refimpl.dhcp.leasefile import LeaseFile, LeaseRecord

log = logging.getLogger(__name__)


# -- who is who -------------------------------------------------------------
def client_id_hex(client_id: str | bytes | None) -> str:
    """Option 61 as the lease file keeps it: hex (``"01020000000001"``), ``""`` when absent."""
    if not client_id:
        return ""
    return (client_id.encode("utf-8") if isinstance(client_id, str) else bytes(client_id)).hex()


def client_key(mac: str, client_id: str | bytes | None = None) -> str:
    """How the server tells clients apart (RFC 2131 §4.2).

    The client identifier (option 61) when the client sends one, otherwise the
    hardware address: ``"id:01020000000001"`` or ``"hw:02:00:00:00:00:01"``.
    """
    return _key_for(mac, client_id_hex(client_id))


def _key_for(mac: str, client_id_hex: str) -> str:
    # RFC 2131 §4.2: the client identifier if the client sent one, else chaddr.
    return "id:" + client_id_hex if client_id_hex else "hw:" + mac.lower()


# -- records ----------------------------------------------------------------
@dataclass
class Lease:
    """One address's binding (in memory; one line in the lease file)."""

    address: str
    mac: str
    client_id: str  # hex of option 61, "" if none
    lifetime: int  # seconds granted
    expire: float  # absolute time the lease ends (for "declined": when declined)
    state: str  # "bound", "released" or "declined"
    hostname: str = ""

    @property
    def key(self) -> str:
        return _key_for(self.mac, self.client_id)  # the rule of client_key, from the stored hex

    def active(self, now: float) -> bool:
        """True while the address belongs to its client."""
        return self.state == "bound" and now < self.expire

    def to_record(self) -> LeaseRecord:
        return LeaseRecord(
            self.address, self.mac, self.client_id, self.lifetime, self.expire, self.state, self.hostname
        )

    @classmethod
    def from_record(cls, r: LeaseRecord) -> Lease:
        return cls(r.address, r.hwaddr, r.client_id, r.valid_lifetime, r.expire, r.state, r.hostname)


@dataclass
class Offer:
    """An address held for a client between DHCPOFFER and DHCPREQUEST."""

    address: str
    key: str
    mac: str
    expire: float
    why: str  # which rule chose it: "reserved", "previous", "requested", "never used", ...
    since: float = 0.0  # when it was first made: the age that decides which offer is taken back
    relay: str = ""  # giaddr of the relay the DISCOVER came through, "" from the server's own link
    queued: float = 0.0  # the expiry its entry in the heap of offer expiries carries (see LeaseStore._hold)


class LeaseConflict(Exception):
    """Raised by :meth:`LeaseStore.commit` when the address is not the client's to have."""


class LeaseStore:
    """The pool ``first``..``last`` (inclusive) and every lease in it.

    ``reservations`` maps MAC -> address (the address may lie outside the
    dynamic range). ``excluded`` addresses are never handed out (the server's
    own, a router's). ``path`` is the lease file; ``None`` keeps leases in
    memory only (lessons, benches). ``offer_min_hold``, ``offers_per_mac``
    and ``offers_per_relay`` are the rules of "Offers under pressure" in the
    module docstring (``offers_per_relay=None``: half the pool).
    """

    def __init__(
        self,
        first: str,
        last: str,
        *,
        offer_hold: float = 60.0,
        offer_min_hold: float = 5.0,
        offers_per_mac: int = 1,
        offers_per_relay: int | None = None,
        reservations: dict[str, str] | None = None,
        excluded: Iterable[str] = (),
        path: str | os.PathLike | None = None,
        fsync: bool = True,
    ):
        self.first, self.last = ip_to_int(first), ip_to_int(last)
        if self.first > self.last:
            raise ValueError(f"empty pool: {first} > {last}")
        self.offer_hold = offer_hold
        self.offer_min_hold = min(offer_min_hold, offer_hold)
        self.offers_per_mac = max(1, offers_per_mac)
        self.offers_per_relay = max(1, offers_per_relay if offers_per_relay is not None else self.size // 2)
        self.reservations = {mac.lower(): ip_to_int(ip) for mac, ip in (reservations or {}).items()}
        self._reserved_for = {ip: mac for mac, ip in self.reservations.items()}
        self.excluded = {ip_to_int(ip) for ip in excluded}
        self.last_reason = ""  # why the last offer() returned None

        self.leases: dict[int, Lease] = {}  # address -> latest binding
        self.by_client: dict[str, int] = {}  # client key -> its (current or previous) address
        self.offers: OrderedDict[str, Offer] = OrderedDict()  # client key -> offer, oldest first
        self.offered: dict[int, str] = {}  # address -> client key holding an offer
        self._offers_by_mac: dict[str, list[str]] = {}  # chaddr -> its offers' keys, oldest first
        self._offers_by_relay: dict[str, OrderedDict[str, None]] = {}  # giaddr -> keys, oldest first

        self._cursor = self.first  # every address below it has been looked at once
        self._returned: list[int] = []  # never-used addresses handed back (cancelled offers)
        self._free_heap: list[tuple[float, int]] = []  # (time it became free, address)
        self._declined: deque[tuple[float, int]] = deque()  # (time declined, address)
        self._offer_heap: list[tuple[float, str]] = []  # (offer expiry, client key)

        self.file = LeaseFile(path, fsync=fsync) if path is not None else None
        if self.file is not None:
            self._replay()
            self.compact()  # start from a clean file (also drops a torn last line)

    # -- questions ------------------------------------------------------------
    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def in_pool(self, address: str) -> bool:
        a = ip_to_int(address)
        return self.first <= a <= self.last or a in self._reserved_for

    def lease_at(self, address: str) -> Lease | None:
        return self.leases.get(ip_to_int(address))

    def lease_for(self, key: str, now: float) -> Lease | None:
        """The client's lease if it is still running, else ``None``."""
        a = self.by_client.get(key)
        lease = self.leases.get(a) if a is not None else None
        return lease if lease is not None and lease.key == key and lease.active(now) else None

    def known_address(self, key: str) -> str | None:
        """The address we last bound to this client (running, expired or released)."""
        a = self.by_client.get(key)
        lease = self.leases.get(a) if a is not None else None
        if lease is not None and lease.key == key and lease.state != "declined":
            return lease.address
        return None

    def offer_for(self, key: str, now: float) -> Offer | None:
        self._expire_offers(now)
        return self.offers.get(key)

    def can_assign(self, key: str, mac: str, address: str, now: float) -> bool:
        """May ``address`` be bound to this client now? (no one else holds it)"""
        try:
            a = ip_to_int(address)
        except ValueError:
            return False
        self._expire_offers(now)
        # A declined address is assignable only if the client's own offer holds it.
        return self._free_for(a, key, mac, now, allow_declined=self.offered.get(a) == key)

    def active_leases(self, now: float) -> list[Lease]:
        return [lease for lease in self.leases.values() if lease.active(now)]

    # -- the allocation order -----------------------------------------------------
    def offer(self, key: str, mac: str, now: float, requested: str | None = None, *, relay: str = "") -> Offer | None:
        """Choose and hold an address for a DHCPOFFER (order and limits in the module docstring)."""
        self._expire_offers(now)
        held = self.offers.get(key)
        if held is not None:  # a repeated DISCOVER gets the same address again
            self._hold(held, now)
            return held
        mac = mac.lower()
        same_mac = self._offers_by_mac.get(mac)
        if same_mac is not None and len(same_mac) >= self.offers_per_mac and not self._take_back(same_mac, now):
            return self._no_offer(f"no address for {key}: MAC {mac} holds {len(same_mac)} recent offers already")
        same_relay = self._offers_by_relay.get(relay) if relay else None
        if same_relay is not None and len(same_relay) >= self.offers_per_relay and not self._take_back(same_relay, now):
            return self._no_offer(f"no address for {key}: relay {relay} holds {len(same_relay)} recent offers already")
        found = self._choose(key, mac, now, requested)
        for _ in range(8):  # pool full: take back old offers (a bounded few, in case one frees no usable address)
            if found is not None or not self._take_back(self.offers, now):
                break
            found = self._choose(key, mac, now, requested)
        if found is None:
            return self._no_offer(
                f"no address for {key}: pool {int_to_ip(self.first)}-{int_to_ip(self.last)} "
                f"({self.size} addresses) is fully leased, offered, reserved or excluded"
            )
        a, why = found
        held = Offer(int_to_ip(a), key, mac, 0.0, why, since=now, relay=relay)
        self.offered[a] = key
        if same_mac is None:
            self._offers_by_mac[mac] = [key]  # a short list: at most offers_per_mac keys, oldest first
        else:
            same_mac.append(key)
        if relay:
            if same_relay is None:
                same_relay = self._offers_by_relay[relay] = OrderedDict()
            same_relay[key] = None
        self._hold(held, now)
        return held

    def _no_offer(self, reason: str) -> None:
        self.last_reason = reason
        log.warning(reason)
        return None

    def _take_back(self, keys: OrderedDict | list, now: float) -> bool:
        """Withdraw the oldest offer among ``keys`` if it is ``offer_min_hold`` old (pressure: see the docstring)."""
        if not keys:
            return False
        held = self.offers[next(iter(keys))]
        if now - held.since < self.offer_min_hold:
            return False  # young: its client may be sending its REQUEST right now
        log.info(
            "offer of %s to %s taken back after %.1f s: the address is needed", held.address, held.key, now - held.since
        )
        self.cancel_offer(held.key)
        return True

    def _hold(self, held: Offer, now: float) -> None:
        held.expire = now + self.offer_hold
        if self.offers.get(held.key) is not held:  # a new offer: one entry in the heap of expiries
            self.offers[held.key] = held
            held.queued = held.expire
            heapq.heappush(self._offer_heap, (held.expire, held.key))
        # A renewal (repeated DISCOVER) only moves expire; _expire_offers queues the entry again when it comes
        # up. One entry per offer, not one per DISCOVER: DISCOVERs in a loop cannot grow the heap.

    def _choose(self, key: str, mac: str, now: float, requested: str | None) -> tuple[int, str] | None:
        mac = mac.lower()
        # 1. a reservation by MAC address
        if mac in self.reservations:
            a = self.reservations[mac]
            if self._free_for(a, key, mac, now, allow_declined=True):
                return a, "reserved"
        # 2. the client's previous address (RFC 2131 §4.3.1)
        a = self.by_client.get(key)
        if a is not None and self._free_for(a, key, mac, now, allow_declined=False):
            return a, "previous"
        # 3. the address the client asked for in option 50 (RFC 2131 §4.3.1)
        if requested:
            try:
                a = ip_to_int(requested)
            except ValueError:
                a = None
            if a is not None and self.first <= a <= self.last and self._free_for(a, key, mac, now, False):
                return a, "requested"
        # 4. a never-used address
        a = self._next_never_used(key, mac, now)
        if a is not None:
            return a, "never used"
        # 5. expired or released, free the longest first
        while self._free_heap and self._free_heap[0][0] <= now:
            since, a = heapq.heappop(self._free_heap)
            lease = self.leases.get(a)
            if lease is None or lease.expire != since or lease.state == "declined":
                continue  # stale entry: the address was renewed or reused since
            if self.first <= a <= self.last and self._free_for(a, key, mac, now, allow_declined=False):
                return a, ("released" if lease.state == "released" else "expired")
        # 6. declined, oldest first
        for _ in range(len(self._declined)):
            since, a = self._declined.popleft()
            lease = self.leases.get(a)
            if lease is None or lease.state != "declined" or lease.expire != since:
                continue  # stale
            if self._free_for(a, key, mac, now, allow_declined=True):
                return a, "declined"
            self._declined.append((since, a))  # held by an offer right now; keep it
        return None

    def _next_never_used(self, key: str, mac: str, now: float) -> int | None:
        while self._returned:
            a = self._returned.pop()
            if a not in self.leases and self._free_for(a, key, mac, now, allow_declined=False):
                return a
        while self._cursor <= self.last:
            a = self._cursor
            self._cursor += 1
            if a not in self.leases and self._free_for(a, key, mac, now, allow_declined=False):
                return a
        return None

    def _free_for(self, a: int, key: str, mac: str, now: float, allow_declined: bool) -> bool:
        if a in self.excluded:
            return False
        owner_mac = self._reserved_for.get(a)
        if owner_mac is not None and owner_mac != mac.lower():
            return False  # reserved for someone else
        if owner_mac is None and not (self.first <= a <= self.last):
            return False
        holder = self.offered.get(a)
        if holder is not None and holder != key:
            return False
        lease = self.leases.get(a)
        if lease is None:
            return True
        if lease.state == "declined":
            return allow_declined
        return lease.key == key or not lease.active(now)

    # -- changes ----------------------------------------------------------------
    def cancel_offer(self, key: str) -> str | None:
        """Drop the client's offer (it chose another server, or the offer lapsed)."""
        held = self._forget_offer(key)
        if held is None:
            return None
        self._give_back(ip_to_int(held.address))
        return held.address

    def _forget_offer(self, key: str) -> Offer | None:
        """Remove the client's offer from every index (the address itself is the caller's to place)."""
        held = self.offers.pop(key, None)
        if held is None:
            return None
        a = ip_to_int(held.address)
        if self.offered.get(a) == key:
            del self.offered[a]
        same_mac = self._offers_by_mac.get(held.mac)
        if same_mac is not None and key in same_mac:
            same_mac.remove(key)
            if not same_mac:
                del self._offers_by_mac[held.mac]
        if held.relay:
            same_relay = self._offers_by_relay.get(held.relay)
            if same_relay is not None:
                same_relay.pop(key, None)
                if not same_relay:
                    del self._offers_by_relay[held.relay]
        return held

    def _give_back(self, a: int) -> None:
        """Put an address back in the tier it came from."""
        lease = self.leases.get(a)
        if lease is None:
            self._returned.append(a)  # still never used
        elif lease.state == "declined":
            self._declined.appendleft((lease.expire, a))
        else:
            heapq.heappush(self._free_heap, (lease.expire, a))

    def _expire_offers(self, now: float) -> None:
        while self._offer_heap and self._offer_heap[0][0] <= now:
            expire, key = heapq.heappop(self._offer_heap)
            held = self.offers.get(key)
            if held is None or held.queued != expire:
                continue  # stale: that offer was taken, withdrawn or replaced since
            if held.expire <= now:
                self.cancel_offer(key)
            else:  # renewed since it was queued
                held.queued = held.expire
                heapq.heappush(self._offer_heap, (held.expire, key))

    def commit(
        self,
        key: str,
        mac: str,
        address: str,
        now: float,
        lifetime: int,
        *,
        client_id: str = "",
        hostname: str = "",
    ) -> Lease:
        """Bind ``address`` to the client for ``lifetime`` seconds - durably.

        The record is on disk (written, flushed, fsynced) when this returns, so
        the caller may send DHCPACK. Raises :class:`LeaseConflict` if the address
        is not free for this client.
        """
        a = ip_to_int(address)
        self._expire_offers(now)
        if not self._free_for(a, key, mac, now, allow_declined=self.offered.get(a) == key):
            raise LeaseConflict(f"{address} is not free for {key}")
        old = self.by_client.get(key)
        if old is not None and old != a:
            previous = self.leases.get(old)
            if previous is not None and previous.key == key and previous.active(now):
                self.release(key, previous.address, now)  # one address per client
        lease = Lease(address, mac.lower(), client_id, int(lifetime), now + lifetime, "bound", hostname)
        self._write(lease)  # disk first: if this raises, nothing changed and no ACK goes out
        held = self._forget_offer(key)
        if held is not None:
            h = ip_to_int(held.address)
            if h != a:
                self._give_back(h)
        self.leases[a] = lease
        self.by_client[key] = a
        heapq.heappush(self._free_heap, (lease.expire, a))
        self._maybe_compact()
        return lease

    def release(self, key: str, address: str, now: float) -> bool:
        """DHCPRELEASE: the client gives the address back (RFC 2131 §4.3.4)."""
        a = ip_to_int(address)
        lease = self.leases.get(a)
        if lease is None or lease.key != key or not lease.active(now):
            return False
        freed = Lease(lease.address, lease.mac, lease.client_id, lease.lifetime, now, "released", lease.hostname)
        self._write(freed)
        self.leases[a] = freed
        heapq.heappush(self._free_heap, (now, a))
        self._maybe_compact()
        return True

    def decline(self, address: str, now: float, mac: str = "", client_id: str = "") -> bool:
        """DHCPDECLINE: somebody else uses this address; never offer it before
        every other choice is gone (RFC 2131 §4.3.3: "MUST mark the network address as not available")."""
        try:
            a = ip_to_int(address)
        except ValueError:
            return False
        if not (self.first <= a <= self.last or a in self._reserved_for):
            return False
        marked = Lease(address, mac.lower(), client_id, 0, now, "declined")
        self._write(marked)
        holder = self.offered.get(a)
        if holder is not None:
            self._forget_offer(holder)
        self.leases[a] = marked
        self._declined.append((now, a))
        self._maybe_compact()
        return True

    # -- persistence --------------------------------------------------------------
    def _write(self, lease: Lease) -> None:
        if self.file is not None:
            self.file.append(lease.to_record())

    def _replay(self) -> None:
        assert self.file is not None
        for record in self.file.replay():
            try:
                a = ip_to_int(record.address)
            except ValueError:
                continue
            lease = Lease.from_record(record)
            self.leases[a] = lease  # later lines win
            if lease.state != "declined":
                self.by_client[lease.key] = a
        # Rebuild the tiers from the final state.
        for a, lease in self.leases.items():
            if lease.state == "declined":
                self._declined.append((lease.expire, a))
            else:
                self._free_heap.append((lease.expire, a))
        heapq.heapify(self._free_heap)
        self._declined = deque(sorted(self._declined))

    def compact(self) -> None:
        """Rewrite the lease file with one line per address (atomic)."""
        if self.file is not None:
            self.file.rewrite(lease.to_record() for lease in self.leases.values())

    def _maybe_compact(self) -> None:
        if self.file is not None and self.file.records_written > max(1000, 2 * len(self.leases)):
            self.compact()
        # The heap collects stale entries on renewals; rebuild it when mostly stale.
        if len(self._free_heap) > 2 * len(self.leases) + 64:
            self._free_heap = [(lease.expire, a) for a, lease in self.leases.items() if lease.state != "declined"]
            heapq.heapify(self._free_heap)

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
