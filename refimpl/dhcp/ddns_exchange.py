"""The DNS side of DDNS: RFC 4703's UPDATE exchanges, as a small sans-I/O state machine.

A DHCP server that puts its clients' names in the DNS must not take a name
that belongs to someone else, nor let one client take another's. RFC 4703
settles this with a DHCID record (RFC 4701) beside each name: a digest of the
client's identity, so the server can ask the DNS server "change this name only
if it is still the one I gave to *this* client" - the prerequisites of RFC 2136
§2.4 do the asking, and the DNS server answers atomically.

An :class:`Exchange` is one such conversation: :meth:`Exchange.start` gives
the first :class:`~refimpl.dns.updater.UpdateRequest`; each answer's RCODE
goes to :meth:`Exchange.answered`, which gives the next request or None when
done; :attr:`Exchange.outcome` then says what happened. It never sends a byte:
:mod:`refimpl.sockets.dhcp` sends the requests on real sockets,
:mod:`refimpl.dhcp.ddns_scenario` on the simulated LAN.

Adding a name (RFC 4703 §5.3, forward then reverse)::

    1  prerequisite  name not in use (RFC 2136 §2.4.5)        §5.3.1
       update        add A, add DHCID
         NOERROR  -> the name was free: ours now; go to 3
         YXDOMAIN -> the name exists: is it ours? go to 2
    2  prerequisite  DHCID RRset is exactly ours (§2.4.2)     §5.3.2
       update        delete the A RRset, add A
         NOERROR  -> it was ours (the client came back): go to 3
         NXRRSET  -> another client's name: CONFLICT, stop - the first owner keeps it
    3  update        delete the PTR RRset and the DHCID RRset at
                     d.c.b.a.in-addr.arpa, add PTR and DHCID     §5.4

Removing it (RFC 4703 §5.5, on DHCPRELEASE or when the lease expires)::

    1  prerequisite  DHCID is ours;  update  delete our A record
         NOERROR  -> go to 2;  NXRRSET -> not ours any more: leave the name, go to 3
    2  prerequisite  DHCID is ours, no A RRset, no AAAA RRset
       update        delete the DHCID RRset (nothing else points at the name)
         NOERROR, or YXRRSET (an address is left: the DHCID stays) -> go to 3
    3  update        delete the PTR and DHCID RRsets at the reverse name

Step 2 of the removal and the DHCID beside the PTR follow Kea's DHCP-DDNS
(kea-dhcp-ddns, whose NameRemoveTransaction paraphrases RFC 4703 §5.5 the same
way); the RFC lets the DHCID at the reverse name be left out. One difference,
our policy: when the name is no longer ours (NXRRSET, or NXDOMAIN: gone), Kea
abandons the whole removal, we still clear the PTR of the address we leased -
that address was ours to name, and a client that lost a name conflict has no
PTR there anyway.
"""

from __future__ import annotations

from refimpl.dns.message import Rcode
from refimpl.dns.records import Type
from refimpl.dns.tsig import Key
from refimpl.dns.updater import (
    UpdateFailed,
    UpdateRequest,
    add,
    delete_rr,
    delete_rrset,
    name_not_in_use,
    rcode_name,
    rrset_absent,
    rrset_is,
)

ADD, REMOVE = "add", "remove"


def reverse_name(address: str) -> str:
    """``192.0.2.7`` -> ``7.2.0.192.in-addr.arpa`` (RFC 1035 §3.5)."""
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


class Exchange:
    """One RFC 4703 exchange for one client's name and address (see the module docstring).

    ``forward``: whether this server does the A record (RFC 4702 lets the client
    do it itself: then only the PTR is ours). ``forward_zone`` and
    ``reverse_zone`` are the zones the UPDATEs name (RFC 2136 §2.3); ``key``
    signs them with TSIG. ``steps`` lists what happened, one line per answer.
    """

    def __init__(
        self,
        action: str,
        fqdn: str,
        address: str,
        dhcid: bytes,
        *,
        forward_zone: str,
        reverse_zone: str | None,
        ttl: int,
        forward: bool = True,
        key: Key | None = None,
        ids=None,
    ):
        if action not in (ADD, REMOVE):
            raise ValueError(f"action must be {ADD!r} or {REMOVE!r}")
        self.action, self.fqdn, self.address, self.dhcid = action, fqdn.rstrip("."), address, dhcid
        self.forward_zone, self.reverse_zone, self.ttl = forward_zone, reverse_zone, ttl
        self.forward, self.key = forward, key
        self.ids = ids  # a random.Random for the message IDs (a seeded one in the simulator); None: fresh ones
        self.ptr = reverse_name(address)
        self.state = ""
        self.outcome = ""  # "added", "removed", "conflict", "failed: ..." when done
        self.steps: list[str] = []
        self.request: UpdateRequest | None = None

    def __repr__(self) -> str:
        return f"Exchange({self.action} {self.fqdn} {self.address}: {self.outcome or self.state or 'not started'})"

    @property
    def done(self) -> bool:
        return bool(self.outcome)

    # -- the requests, one per state -----------------------------------------------
    def _request(self, zone: str) -> UpdateRequest:
        ident = None if self.ids is None else self.ids.randrange(65536)
        return UpdateRequest(zone, self.key, ident=ident)

    def _forward(self) -> UpdateRequest:
        return self._request(self.forward_zone)

    def _add_new(self) -> UpdateRequest:
        # RFC 4703 §5.3.1: the name must not exist; then A and DHCID together.
        return (
            self._forward()
            .require(name_not_in_use(self.fqdn))
            .change(add(self.fqdn, Type.A, self.address, self.ttl), add(self.fqdn, Type.DHCID, self.dhcid, self.ttl))
        )

    def _add_ours(self) -> UpdateRequest:
        # RFC 4703 §5.3.2: the name exists; replace its A only if its DHCID is this client's.
        return (
            self._forward()
            .require(rrset_is(self.fqdn, Type.DHCID, self.dhcid))
            .change(delete_rrset(self.fqdn, Type.A), add(self.fqdn, Type.A, self.address, self.ttl))
        )

    def _remove_a(self) -> UpdateRequest:
        # RFC 4703 §5.5: only if the DHCID is still ours, delete the A record of this lease.
        return (
            self._forward()
            .require(rrset_is(self.fqdn, Type.DHCID, self.dhcid))
            .change(delete_rr(self.fqdn, Type.A, self.address))
        )

    def _remove_dhcid(self) -> UpdateRequest:
        # Kea's second removal step: the DHCID goes once no address record is left at the name.
        return (
            self._forward()
            .require(
                rrset_is(self.fqdn, Type.DHCID, self.dhcid),
                rrset_absent(self.fqdn, Type.A),
                rrset_absent(self.fqdn, Type.AAAA),
            )
            .change(delete_rrset(self.fqdn, Type.DHCID))
        )

    def _reverse(self) -> UpdateRequest | None:
        if self.reverse_zone is None:
            return None
        request = self._request(self.reverse_zone)
        # RFC 4703 §5.4: delete the PTR RRs of the address, add ours (and §5.5 deletes them).
        request.change(delete_rrset(self.ptr, Type.PTR), delete_rrset(self.ptr, Type.DHCID))
        if self.action == ADD:
            request.change(
                add(self.ptr, Type.PTR, self.fqdn, self.ttl), add(self.ptr, Type.DHCID, self.dhcid, self.ttl)
            )
        return request

    # -- the machine ------------------------------------------------------------------
    def _go(self, state: str, request: UpdateRequest | None) -> UpdateRequest | None:
        if request is None:  # no reverse zone configured: the forward step was the last
            return self._finish("added" if self.action == ADD else "removed")
        self.state, self.request = state, request
        return request

    def _finish(self, outcome: str) -> None:
        self.state, self.outcome, self.request = "done", outcome, None
        return None

    def start(self) -> UpdateRequest | None:
        """The first request (None only when there is nothing to send)."""
        if self.action == ADD:
            return self._go("add-new", self._add_new()) if self.forward else self._go("reverse", self._reverse())
        return self._go("remove-a", self._remove_a()) if self.forward else self._go("reverse", self._reverse())

    def answered(self, rcode: int) -> UpdateRequest | None:
        """The RCODE of the answer to the last request -> the next request, or None when done."""
        state = self.state
        self.steps.append(f"{state}: {rcode_name(rcode)}")
        if state == "add-new":
            if rcode == Rcode.NOERROR:
                return self._go("reverse", self._reverse())
            if rcode == Rcode.YXDOMAIN:  # §5.3.2: the name is in use - by this client?
                return self._go("add-ours", self._add_ours())
        elif state == "add-ours":
            if rcode == Rcode.NOERROR:
                return self._go("reverse", self._reverse())
            if rcode == Rcode.NXRRSET:  # §5.3.2 failed: another client's DHCID (or none: a static name)
                return self._finish("conflict")
        elif state == "remove-a":
            if rcode == Rcode.NOERROR:
                return self._go("remove-dhcid", self._remove_dhcid())
            if rcode in (Rcode.NXRRSET, Rcode.NXDOMAIN):  # the name is no longer ours (or gone): leave it
                return self._go("reverse", self._reverse())
        elif state == "remove-dhcid":
            # YXRRSET (RFC 2136 §2.4.3 failed): an address record is left, so the DHCID stays;
            # NXRRSET: the DHCID changed meanwhile. Either way the name is not ours to clear.
            if rcode in (Rcode.NOERROR, Rcode.YXRRSET, Rcode.NXRRSET):
                return self._go("reverse", self._reverse())
        elif state == "reverse":
            if rcode == Rcode.NOERROR:
                return self._finish("added" if self.action == ADD else "removed")
        else:
            raise RuntimeError(f"answered() in state {state!r}: call start() first")
        return self._finish(f"failed: {rcode_name(rcode)} in {state}")

    def failed(self, why: str) -> None:
        """No answer came (timeouts, a bad TSIG on the answer): the exchange stops here."""
        self.steps.append(f"{self.state}: {why}")
        self._finish(f"failed: {why} in {self.state}")


def run(exchange: Exchange, send, *, max_steps: int = 6) -> str:
    """Drive ``exchange`` to its end; return its outcome.

    ``send(request, reverse)`` delivers one request (``reverse``: it is for the
    reverse zone, which may live on another server) and returns the answer's
    RCODE, or raises ``UpdateFailed`` / ``OSError`` when no good answer came. At
    most ``max_steps`` requests (the longest exchange has four).
    """
    request = exchange.start()
    for _ in range(max_steps):
        if request is None:
            break
        try:
            rcode = send(request, exchange.state == "reverse")
        except (UpdateFailed, OSError) as exc:
            exchange.failed(str(exc) or type(exc).__name__)
            break
        request = exchange.answered(rcode)
    else:
        exchange.failed(f"more than {max_steps} requests")
    return exchange.outcome
