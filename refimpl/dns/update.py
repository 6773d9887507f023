"""DNS UPDATE (RFC 2136): prerequisites, then additions and deletions, all or nothing.

An UPDATE message (opcode 5) reuses the four sections of a query under new
names (RFC 2136 §2): Zone (the question section: exactly one ``zone. SOA IN``),
Prerequisite (the answer section), Update (the authority section),
Additional. The CLASS field of a record says what it means (§2.4, §2.5):

=========  ==========  =======================  ==================================
section    CLASS       TYPE / RDATA             meaning
=========  ==========  =======================  ==================================
prereq     ANY         ANY, empty               name is in use (§2.4.4)
prereq     ANY         T, empty                 RRset exists, value-independent (§2.4.1)
prereq     NONE        ANY, empty               name is not in use (§2.4.5)
prereq     NONE        T, empty                 RRset does not exist (§2.4.3)
prereq     zone's      T, data                  RRset exists, value-dependent (§2.4.2)
update     zone's      T, data                  add to an RRset (§2.5.1)
update     ANY         ANY, empty               delete all RRsets from a name (§2.5.3)
update     ANY         T, empty                 delete an RRset (§2.5.2)
update     NONE        T, data                  delete an RR from an RRset (§2.5.4)
=========  ==========  =======================  ==================================

:data:`PREREQUISITES` is the first half of that table as code: per CLASS, the
test on the zone and the RCODE when it fails (§3.2.1, §3.2.2); value-dependent
prerequisites are gathered into RRsets and compared as sets (§3.2.3).

The order of the checks is §3's: the zone section (§3.1.1: "exactly one RR
therein and that the RR's ZTYPE is SOA, else signal FORMERR"; not our zone:
NOTAUTH), the prerequisites (§3.2), the permission (§3.3; our server checks
it, with TSIG, before calling this module: policy), the prescan of the update section
(§3.4.1), then the changes (§3.4.2). The first failure ends the request.

Atomic (§3.4.2.1: on failure "undo all updates applied to the zone during this
transaction"; §3.7 atomicity): :func:`apply_update` changes copies of the
record lists of the names it touches (:class:`Changes`) and puts them in place
only when every record went through; the rest of the zone is not copied, so an
update costs the same in a zone of ten names or ten thousand.

The serial (§3.6): "If the zone's SOA's SERIAL is not changed as a result of
an update operation, then the server shall increment it automatically"; of the
moments §3.6 lets the implementor choose we take the first, "Each update
operation" (that changed anything: policy), with RFC 1982 arithmetic (mod 2**32).

Comparison (§1.1.1): "Two RRs are considered equal if their NAME, CLASS, TYPE,
RDLENGTH and RDATA fields are equal. Note that the time-to-live (TTL) field is
explicitly excluded from the comparison." Names (also inside RDATA) compare
without case (RFC 4343). No wildcards (§1.1.3), no CNAME following (§1.1.4).
"""

from __future__ import annotations

from typing import NamedTuple

from .message import Message, Rcode, Record
from .names import key
from .records import RECORD_TYPES, Class, Type
from .zone import Zone

META_TYPES = frozenset({Type.ANY, Type.AXFR, Type.MAILA, Type.MAILB, Type.OPT, Type.TSIG})
SERIAL_MODULUS = 1 << 32  # RFC 1982 with SERIAL_BITS = 32


class Outcome(NamedTuple):
    """What an update did: the RCODE to send and a line for the log."""

    rcode: int
    note: str
    changed: bool = False


def rdata_key(value):
    """RDATA in the form to compare (§1.1.1): names folded to lower case (RFC 4343 §3)."""
    if isinstance(value, str):
        return key(value)
    if isinstance(value, tuple):
        return tuple(rdata_key(v) for v in value)
    return value


def same_rr(a: Record, b: Record) -> bool:
    """§1.1.1: NAME, CLASS, TYPE and RDATA equal; TTL not compared. (Our zone's records are all IN.)"""
    return key(a.name) == key(b.name) and a.type == b.type and rdata_key(a.value) == rdata_key(b.value)


def serial_newer(new: int, old: int) -> bool:
    """RFC 1982 §3.2: ``new`` is greater than ``old`` in 32-bit serial arithmetic."""
    return new != old and ((new - old) % SERIAL_MODULUS) < (1 << 31)


# -- prerequisites (§3.2) --------------------------------------------------------------
def _name_in_use(records: dict, rr: Record) -> bool:
    return bool(records.get(key(rr.name)))


def _rrset_exists(records: dict, rr: Record) -> bool:
    return any(r.type == rr.type for r in records.get(key(rr.name), []))


class Prerequisite(NamedTuple):
    test: object  # (records, rr) -> bool: True when the prerequisite holds
    rcode: int  # sent when it does not
    meaning: str


#: (CLASS, TYPE is ANY) -> the test; RFC 2136 §3.2.1 (ANY) and §3.2.2 (NONE)
PREREQUISITES: dict[tuple[int, bool], Prerequisite] = {
    (Class.ANY, True): Prerequisite(_name_in_use, Rcode.NXDOMAIN, "name is in use (§2.4.4)"),
    (Class.ANY, False): Prerequisite(_rrset_exists, Rcode.NXRRSET, "RRset exists (value independent, §2.4.1)"),
    (Class.NONE, True): Prerequisite(lambda z, rr: not _name_in_use(z, rr), Rcode.YXDOMAIN, "name not in use (§2.4.5)"),
    (Class.NONE, False): Prerequisite(
        lambda z, rr: not _rrset_exists(z, rr), Rcode.YXRRSET, "RRset does not exist (§2.4.3)"
    ),
}


def check_prerequisites(zone: Zone, prerequisites: list[Record]) -> Outcome | None:
    """§3.2: None when all hold, else the failing RCODE (pseudocode §3.2.5, in its order)."""
    records = zone.records
    wanted: dict[tuple[str, int], list[Record]] = {}
    for i, rr in enumerate(prerequisites):
        where = f"prerequisite[{i}] {rr.name} {rr.type}"
        if rr.ttl != 0:  # §3.2.1, §3.2.2, §3.2.3: "test to see that TTL ... zero (0), else signal FORMERR"
            return Outcome(Rcode.FORMERR, f"{where}: TTL {rr.ttl}, must be 0 (§3.2)")
        if not zone.contains(rr.name):
            return Outcome(Rcode.NOTZONE, f"{where}: outside the zone {zone.origin} (§3.2)")
        if rr.cls in (Class.ANY, Class.NONE):
            if rr.value != b"":
                return Outcome(Rcode.FORMERR, f"{where}: RDLENGTH must be 0 with CLASS {Class(rr.cls).name} (§3.2)")
            rule = PREREQUISITES[(rr.cls, rr.type == Type.ANY)]
            if not rule.test(records, rr):
                return Outcome(rule.rcode, f"{where}: fails '{rule.meaning}'")
        elif rr.cls == Class.IN:  # the zone's class: value-dependent, gathered into RRsets (§3.2.3)
            wanted.setdefault((key(rr.name), rr.type), []).append(rr)
        else:
            return Outcome(Rcode.FORMERR, f"{where}: CLASS {rr.cls} (§3.2.3)")
    for (owner, rtype), rrset in wanted.items():
        have = {rdata_key(r.value) for r in records.get(owner, []) if r.type == rtype}
        if have != {rdata_key(r.value) for r in rrset}:  # "same members, no more, no less" (§3.2.3)
            return Outcome(Rcode.NXRRSET, f"{owner} {rtype}: the RRset is not exactly as given (§3.2.3)")
    return None


# -- the update section (§3.4) -----------------------------------------------------------
def prescan(zone: Zone, updates: list[Record]) -> Outcome | None:
    """§3.4.1: every record checked before any is applied (pseudocode §3.4.1.3)."""
    for i, rr in enumerate(updates):
        where = f"update[{i}] {rr.name} {rr.type}"
        if not zone.contains(rr.name):
            return Outcome(Rcode.NOTZONE, f"{where}: outside the zone {zone.origin} (§3.4.1.1)")
        if rr.cls == Class.IN:
            if rr.type in META_TYPES or rr.type not in RECORD_TYPES:  # "or any unrecognized type" (§3.4.1.2)
                return Outcome(Rcode.FORMERR, f"{where}: cannot add a meta or unknown type (§3.4.1.2)")
        elif rr.cls == Class.ANY:
            if rr.ttl != 0 or rr.value != b"" or (rr.type in META_TYPES and rr.type != Type.ANY):
                return Outcome(Rcode.FORMERR, f"{where}: CLASS ANY needs TTL 0, no RDATA, a real type (§3.4.1.2)")
        elif rr.cls == Class.NONE:
            if rr.ttl != 0 or rr.type in META_TYPES:
                return Outcome(Rcode.FORMERR, f"{where}: CLASS NONE needs TTL 0 and a real type (§3.4.1.2)")
        else:
            return Outcome(Rcode.FORMERR, f"{where}: CLASS {rr.cls} (§3.4.1.1)")
    return None


class Changes:
    """Copy-on-write record lists of the owners one update touches."""

    def __init__(self, zone: Zone):
        self.zone = zone
        self.lists: dict[str, list[Record]] = {}

    def rrs(self, owner: str) -> list[Record]:
        if owner not in self.lists:
            self.lists[owner] = list(self.zone.records.get(owner, []))
        return self.lists[owner]


def _add(zone: Zone, changes: Changes, rr: Record) -> bool:
    """§3.4.2.2, with the replacement rules of §1.1.5 for SOA and CNAME; True if the zone changed."""
    owner = key(rr.name)
    rrs = changes.rrs(owner)
    apex = owner == key(zone.origin)
    if rr.type == Type.SOA:  # "no Zone SOA RR, or the new SOA.SERIAL is lower ... or equal": ignored
        old = next((r for r in rrs if r.type == Type.SOA), None)
        if not apex or old is None or not serial_newer(rr.value[2], old.value[2]):
            return False
        rrs[rrs.index(old)] = rr
        return True
    has_cname = any(r.type == Type.CNAME for r in rrs)
    others = any(r.type != Type.CNAME for r in rrs)
    if (rr.type == Type.CNAME and others) or (rr.type != Type.CNAME and has_cname):
        return False  # "In the case of a CNAME Update RR and a non-CNAME Zone RRset or vice versa, ignore"
    for i, old in enumerate(rrs):
        if same_rr(old, rr) or (rr.type == Type.CNAME and old.type == Type.CNAME):
            rrs[i] = rr  # duplicate RDATA: "the Zone RR is replaced by Update RR"; a CNAME replaces the CNAME
            return old != rr
    rrs.append(rr)
    return True


def _delete(zone: Zone, changes: Changes, rr: Record) -> bool:
    """§3.4.2.3 (CLASS ANY) and §3.4.2.4 (CLASS NONE), sparing the apex's SOA and last NS; True if any went."""
    owner = key(rr.name)
    if owner not in changes.lists and owner not in zone.records:
        return False  # nothing there to delete
    rrs = changes.rrs(owner)
    before = len(rrs)
    apex = owner == key(zone.origin)
    if rr.cls == Class.ANY:
        keep = (Type.SOA, Type.NS) if apex else ()  # "unless the NAME is the same as ZNAME"
        if rr.type == Type.ANY:
            rrs[:] = [r for r in rrs if r.type in keep]
        elif rr.type not in keep:
            rrs[:] = [r for r in rrs if r.type != rr.type]
        return len(rrs) != before
    if apex and (rr.type == Type.SOA or (rr.type == Type.NS and sum(r.type == Type.NS for r in rrs) <= 1)):
        return False  # "the only NS remaining in the RRset, in which case this Update RR is ignored"
    rrs[:] = [r for r in rrs if not (r.type == rr.type and same_rr(r, rr._replace(name=owner)))]
    return len(rrs) != before


def apply_update(zone: Zone, message: Message) -> Outcome:
    """Check and apply one UPDATE to ``zone``; the zone changes only when the RCODE is NOERROR."""
    zones = message.questions
    if len(zones) != 1 or zones[0].type != Type.SOA:  # §3.1.1
        return Outcome(Rcode.FORMERR, f"the zone section holds {len(zones)} entries, or not SOA (§3.1.1)")
    if key(zones[0].name) != key(zone.origin) or zones[0].cls != Class.IN:
        return Outcome(Rcode.NOTAUTH, f"not authoritative for {zones[0].name or '.'} (§3.1.1)")
    failed = check_prerequisites(zone, message.answer) or prescan(zone, message.authority)
    if failed:
        return failed
    changes = Changes(zone)
    serial_before = zone.soa.value[2]
    changed = False
    for rr in message.authority:
        changed |= (_add if rr.cls == Class.IN else _delete)(zone, changes, rr)
    if changed:
        apex = changes.rrs(key(zone.origin))
        soa = next(r for r in apex if r.type == Type.SOA)
        if soa.value[2] == serial_before:  # §3.6: the server increments it itself
            bumped = soa._replace(value=(*soa.value[:2], (serial_before + 1) % SERIAL_MODULUS, *soa.value[3:]))
            apex[apex.index(soa)] = bumped
        zone.commit(changes.lists)
    n = len(message.authority)
    return Outcome(Rcode.NOERROR, f"{n} update record(s) applied, serial {zone.soa.value[2]}", changed)
