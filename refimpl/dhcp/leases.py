"""The address pool and the lease store of a DHCP server.

A DHCP server's real work is bookkeeping: which address belongs to whom, until
when. This module keeps that book; :mod:`refimpl.dhcp.server` only reads and
writes it.

Words
-----
* **offer** - an address set aside for a client between DHCPOFFER and DHCPREQUEST.
  As seed 002 says, the address is reserved when the OFFER is sent, not at
  the REQUEST; if the client picks another server the offer is dropped and the
  address goes back. An offer lives in memory only and lapses after
  ``offer_hold`` seconds (RFC 2131 §3.1 step 2: servers "need not reserve the
  offered address", but doing so stops two OFFERs carrying one address).
* **lease** - an address acknowledged with DHCPACK, until ``expire``. A lease
  is written to the lease file (:mod:`refimpl.dhcp.leasefile`) *before* the ACK
  is sent.
* **reservation** - an address that always goes to one MAC address.

Which address does a client get?  (RFC 2131 §4.3.1, and seed 002's order)
------------------------------------------------------------------------
1. its reservation, if it has one;
2. the client's previous address (current or expired binding), if still free;
3. the address it asked for (option 50), if in the pool and free;
4. a **never-used** address;
5. an **expired or released** address, the one free the longest first (so a
   returning client is most likely to find its old address still there);
6. a **declined** address, oldest decline first (last resort: a client said
   somebody was using it);
7. nothing: no offer, and the reason is logged (``last_reason``).

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
from collections import deque
from dataclasses import dataclass
from socket import AF_INET, inet_pton
from typing import Iterable

from refimpl.dhcp.leasefile import LeaseFile, LeaseRecord

log = logging.getLogger(__name__)


# -- addresses as integers ------------------------------------------------
def ip_to_int(address: str) -> int:
    """``"192.0.2.10"`` -> ``3221225994`` (``ValueError`` if malformed).

    ``inet_pton`` is strict dotted-decimal (no ``1.2.3``, no hex, no leading
    zeros, which some tools read as octal) and, being C, about four times
    faster than splitting the string here: the server calls this for every
    message, and it was the largest cost left in the lease store's profile.
    """
    try:
        return int.from_bytes(inet_pton(AF_INET, address), "big")
    except (OSError, TypeError, ValueError):
        raise ValueError(f"not an IPv4 address: {address!r}") from None


def int_to_ip(value: int) -> str:
    """``3221225994`` -> ``"192.0.2.10"``."""
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


def client_key(mac: str, client_id: str | bytes | None = None) -> str:
    """How the server tells clients apart (RFC 2131 §4.2).

    The client identifier (option 61) when the client sends one, otherwise the
    hardware address: ``"id:01020000000001"`` or ``"hw:02:00:00:00:00:01"``.
    """
    if client_id:
        if isinstance(client_id, str):
            client_id = client_id.encode("utf-8")
        return "id:" + client_id.hex()
    return "hw:" + mac.lower()


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
        return "id:" + self.client_id if self.client_id else "hw:" + self.mac.lower()

    def active(self, now: float) -> bool:
        """True while the address belongs to its client."""
        return self.state == "bound" and now < self.expire

    def to_record(self) -> LeaseRecord:
        return LeaseRecord(self.address, self.mac, self.client_id, self.lifetime, self.expire, self.state, self.hostname)

    @classmethod
    def from_record(cls, r: LeaseRecord) -> "Lease":
        return cls(r.address, r.hwaddr, r.client_id, r.valid_lifetime, r.expire, r.state, r.hostname)


@dataclass
class Offer:
    """An address held for a client between DHCPOFFER and DHCPREQUEST."""

    address: str
    key: str
    mac: str
    expire: float
    why: str  # which rule chose it: "reserved", "previous", "requested", "never used", ...


class LeaseConflict(Exception):
    """Raised by :meth:`LeaseStore.commit` when the address is not the client's to have."""


class LeaseStore:
    """The pool ``first``..``last`` (inclusive) and every lease in it.

    ``reservations`` maps MAC -> address (the address may lie outside the
    dynamic range). ``excluded`` addresses are never handed out (the server's
    own, a router's). ``path`` is the lease file; ``None`` keeps leases in
    memory only (lessons, benches).
    """

    def __init__(
        self,
        first: str,
        last: str,
        *,
        offer_hold: float = 60.0,
        reservations: dict[str, str] | None = None,
        excluded: Iterable[str] = (),
        path: str | os.PathLike | None = None,
        fsync: bool = True,
    ):
        self.first, self.last = ip_to_int(first), ip_to_int(last)
        if self.first > self.last:
            raise ValueError(f"empty pool: {first} > {last}")
        self.offer_hold = offer_hold
        self.reservations = {mac.lower(): ip_to_int(ip) for mac, ip in (reservations or {}).items()}
        self._reserved_for = {ip: mac for mac, ip in self.reservations.items()}
        self.excluded = {ip_to_int(ip) for ip in excluded}
        self.last_reason = ""  # why the last offer() returned None

        self.leases: dict[int, Lease] = {}  # address -> latest binding
        self.by_client: dict[str, int] = {}  # client key -> its (current or previous) address
        self.offers: dict[str, Offer] = {}  # client key -> offer
        self.offered: dict[int, str] = {}  # address -> client key holding an offer

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
    def offer(self, key: str, mac: str, now: float, requested: str | None = None) -> Offer | None:
        """Choose and hold an address for a DHCPOFFER (order in the module docstring)."""
        self._expire_offers(now)
        held = self.offers.get(key)
        if held is not None:  # a repeated DISCOVER gets the same address again
            self._hold(held, now)
            return held
        found = self._choose(key, mac, now, requested)
        if found is None:
            self.last_reason = (
                f"no address for {key}: pool {int_to_ip(self.first)}-{int_to_ip(self.last)} "
                f"({self.size} addresses) is fully leased, offered, reserved or excluded"
            )
            log.warning(self.last_reason)
            return None
        a, why = found
        held = Offer(int_to_ip(a), key, mac.lower(), 0.0, why)
        self.offered[a] = key
        self._hold(held, now)
        return held

    def _hold(self, held: Offer, now: float) -> None:
        held.expire = now + self.offer_hold
        self.offers[held.key] = held
        heapq.heappush(self._offer_heap, (held.expire, held.key))

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
        held = self.offers.pop(key, None)
        if held is None:
            return None
        a = ip_to_int(held.address)
        if self.offered.get(a) == key:
            del self.offered[a]
        self._give_back(a)
        return held.address

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
            if held is not None and held.expire == expire:
                self.cancel_offer(key)

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
        held = self.offers.pop(key, None)
        if held is not None:
            h = ip_to_int(held.address)
            self.offered.pop(h, None)
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
        every other choice is gone (RFC 2131 §4.3.3; seed 002)."""
        try:
            a = ip_to_int(address)
        except ValueError:
            return False
        if not (self.first <= a <= self.last or a in self._reserved_for):
            return False
        marked = Lease(address, mac.lower(), client_id, 0, now, "declined")
        self._write(marked)
        holder = self.offered.pop(a, None)
        if holder is not None:
            self.offers.pop(holder, None)
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
