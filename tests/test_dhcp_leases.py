"""The pool and lease store: address choice order, reservations, expiry, the
crash-safe lease file (torn writes at every byte offset), and cost that does
not grow with the pool."""

from __future__ import annotations

import logging
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.dhcp.ipv4 import int_to_ip, ip_to_int
from refimpl.dhcp.leasefile import HEADER, LeaseFile, LeaseRecord
from refimpl.dhcp.leases import Lease, LeaseConflict, LeaseStore, client_id_hex, client_key

MAC = [f"02:00:00:00:00:{i:02x}" for i in range(256)]
KEY = [client_key(m) for m in MAC]


def lease(store, i, now=0.0, lifetime=100, requested=None):
    """DISCOVER + REQUEST for client i: returns the address bound."""
    held = store.offer(KEY[i], MAC[i], now, requested)
    assert held is not None
    store.commit(KEY[i], MAC[i], held.address, now, lifetime)
    return held.address


# -- helpers ----------------------------------------------------------------------
def test_ip_int_round_trip_and_errors():
    assert ip_to_int("192.0.2.10") == 0xC000020A
    assert int_to_ip(0xC000020A) == "192.0.2.10"
    for bad in (
        "192.0.2",
        "192.0.2.256",
        "a.b.c.d",
        "",
        "192.0.2.010",
        "0xc0.0.2.1",
        " 192.0.2.1",
        "192.0.2.1\x00",
        None,
    ):
        with pytest.raises(ValueError):
            ip_to_int(bad)


def test_client_key_prefers_client_identifier():
    """RFC 2131 §4.2: option 61 identifies the client if present, else chaddr."""
    assert client_key("02:00:00:00:00:01", b"\x01abc") == "id:01616263"
    assert client_key("02:00:00:00:00:01", "abc") == "id:616263"
    assert client_key("02:00:00:00:00:AB") == "hw:02:00:00:00:00:ab"


def test_a_stored_lease_has_the_key_of_the_message_that_made_it():
    """One rule (RFC 2131 §4.2) for a live message and a lease read back from the file."""
    for mac, client_id in (("02:00:00:00:00:AB", None), ("02:00:00:00:00:01", b"\x01abc"), ("02:00:00:00:00:01", "ab")):
        stored = Lease("192.0.2.10", mac.lower(), client_id_hex(client_id), 60, 60.0, "bound")
        assert stored.key == client_key(mac, client_id)
    assert client_id_hex(None) == client_id_hex(b"") == ""


# -- allocation order ---------------------------------------------------------------
def test_never_used_addresses_come_in_order():
    """A cursor walks the pool; each new client gets the next never-used address
    (RFC 2131 §4.3.1 leaves the choice to the server)."""
    store = LeaseStore("192.0.2.10", "192.0.2.20")
    got = [store.offer(KEY[i], MAC[i], 0.0).address for i in range(3)]
    assert got == ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    assert store.offers[KEY[1]].why == "never used"


def test_offer_reserves_the_address_and_repeat_discover_gets_same():
    """The address is reserved at OFFER time (RFC 2131 §4.3.1 allows it); a repeated DISCOVER gets the same offer."""
    store = LeaseStore("192.0.2.10", "192.0.2.11")
    a = store.offer(KEY[0], MAC[0], 0.0).address
    assert store.offer(KEY[0], MAC[0], 1.0).address == a
    b = store.offer(KEY[1], MAC[1], 1.0).address
    assert b != a
    assert store.offer(KEY[2], MAC[2], 1.0) is None  # both held


def test_previous_address_first():
    """RFC 2131 §4.3.1: the client's previous (expired) address is offered again first."""
    store = LeaseStore("192.0.2.10", "192.0.2.50")
    a = lease(store, 0, now=0.0, lifetime=10)
    lease(store, 1, now=0.0, lifetime=10)
    held = store.offer(KEY[0], MAC[0], 500.0)  # long expired
    assert held.address == a and held.why == "previous"


def test_requested_address_before_never_used():
    """RFC 2131 §4.3.1: the address in option 50, if valid and free, before a new one."""
    store = LeaseStore("192.0.2.10", "192.0.2.50")
    held = store.offer(KEY[0], MAC[0], 0.0, requested="192.0.2.40")
    assert held.address == "192.0.2.40" and held.why == "requested"
    # out of the pool or taken: ignored
    assert store.offer(KEY[1], MAC[1], 0.0, requested="198.51.100.1").address == "192.0.2.10"
    assert store.offer(KEY[2], MAC[2], 0.0, requested="192.0.2.40").address == "192.0.2.11"


def test_order_never_used_then_expired_then_declined_then_none(caplog):
    """The order made explicit: never-used, then expired (oldest first), then declined, then no offer."""
    store = LeaseStore("192.0.2.10", "192.0.2.13")
    a0 = lease(store, 0, now=0.0, lifetime=10)  # .10, expires at 10
    a1 = lease(store, 1, now=0.0, lifetime=20)  # .11, expires at 20
    store.decline("192.0.2.12", 1.0)  # .12 declined
    a3 = store.offer(KEY[3], MAC[3], 30.0)
    assert (a3.address, a3.why) == ("192.0.2.13", "never used")  # the last never-used one
    e1 = store.offer(KEY[4], MAC[4], 30.0)
    assert (e1.address, e1.why) == (a0, "expired")  # expired longest ago first
    e2 = store.offer(KEY[5], MAC[5], 30.0)
    assert (e2.address, e2.why) == (a1, "expired")
    d = store.offer(KEY[6], MAC[6], 30.0)
    assert (d.address, d.why) == ("192.0.2.12", "declined")
    with caplog.at_level(logging.WARNING, logger="refimpl.dhcp.leases"):
        assert store.offer(KEY[7], MAC[7], 30.0) is None
    assert "fully leased" in store.last_reason
    assert store.last_reason in caplog.text


def test_released_address_is_reused_after_never_used():
    """RFC 2131 §4.3.4: a released address goes back to the pool (behind never-used ones)."""
    store = LeaseStore("192.0.2.10", "192.0.2.11")
    a = lease(store, 0, now=0.0, lifetime=1000)
    assert store.release(KEY[0], a, 5.0)
    assert store.lease_for(KEY[0], 5.0) is None
    assert store.offer(KEY[1], MAC[1], 6.0).address == "192.0.2.11"
    held = store.offer(KEY[2], MAC[2], 6.0)
    assert (held.address, held.why) == (a, "released")


def test_release_by_another_client_is_refused():
    """RFC 2131 §4.3.4: only the lease's own client can release it."""
    store = LeaseStore("192.0.2.10", "192.0.2.11")
    a = lease(store, 0)
    assert not store.release(KEY[1], a, 1.0)
    assert store.lease_for(KEY[0], 1.0).address == a


def test_cancelled_offer_returns_to_never_used():
    """When the client picks another server, the held address is freed at once (RFC 2131 §3.1 step 4)."""
    store = LeaseStore("192.0.2.10", "192.0.2.10")
    a = store.offer(KEY[0], MAC[0], 0.0).address
    assert store.offer(KEY[1], MAC[1], 0.0) is None
    assert store.cancel_offer(KEY[0]) == a
    assert store.offer(KEY[1], MAC[1], 0.0).address == a


def test_offer_lapses_after_hold_time():
    """An unanswered offer is not held for ever (offer_hold seconds; with no take-back under pressure)."""
    store = LeaseStore("192.0.2.10", "192.0.2.10", offer_hold=30.0, offer_min_hold=30.0)
    store.offer(KEY[0], MAC[0], 0.0)
    assert store.offer(KEY[1], MAC[1], 29.0) is None
    assert store.offer(KEY[1], MAC[1], 30.0).address == "192.0.2.10"


# -- reservations, exclusions ----------------------------------------------------------
def test_reservation_by_mac():
    """A reserved address goes to its MAC only, even outside the dynamic range."""
    store = LeaseStore("192.0.2.10", "192.0.2.12", reservations={MAC[9]: "192.0.2.11", MAC[8]: "192.0.2.200"})
    got = [store.offer(KEY[i], MAC[i], 0.0).address for i in range(2)]
    assert got == ["192.0.2.10", "192.0.2.12"]  # .11 skipped
    assert store.offer(KEY[2], MAC[2], 0.0) is None
    held = store.offer(KEY[9], MAC[9], 0.0)
    assert (held.address, held.why) == ("192.0.2.11", "reserved")
    assert store.offer(KEY[8], MAC[8], 0.0).address == "192.0.2.200"
    store.commit(KEY[8], MAC[8], "192.0.2.200", 0.0, 100)
    assert not store.can_assign(KEY[3], MAC[3], "192.0.2.11", 0.0)


def test_excluded_addresses_never_offered():
    store = LeaseStore("192.0.2.10", "192.0.2.11", excluded=["192.0.2.10"])
    assert store.offer(KEY[0], MAC[0], 0.0).address == "192.0.2.11"
    assert store.offer(KEY[1], MAC[1], 0.0) is None


# -- expiry, conflicts ---------------------------------------------------------------------
def test_lease_expires_by_time():
    """A lease is the client's until expire; then the address may go to another client."""
    store = LeaseStore("192.0.2.10", "192.0.2.10")
    a = lease(store, 0, now=0.0, lifetime=100)
    assert store.lease_for(KEY[0], 99.9).address == a
    assert store.offer(KEY[1], MAC[1], 99.9) is None
    assert store.lease_for(KEY[0], 100.0) is None
    assert store.offer(KEY[1], MAC[1], 100.0).address == a


def test_commit_refuses_an_address_held_by_another_client():
    """Never one address to two clients."""
    store = LeaseStore("192.0.2.10", "192.0.2.11")
    a = lease(store, 0)
    with pytest.raises(LeaseConflict):
        store.commit(KEY[1], MAC[1], a, 1.0, 100)
    held = store.offer(KEY[1], MAC[1], 1.0).address
    with pytest.raises(LeaseConflict):  # held by client 1's offer
        store.commit(KEY[2], MAC[2], held, 1.0, 100)


def test_moving_to_a_new_address_releases_the_old_one():
    store = LeaseStore("192.0.2.10", "192.0.2.20")
    a = lease(store, 0)
    store.commit(KEY[0], MAC[0], "192.0.2.15", 1.0, 100)
    assert store.lease_at(a).state == "released"
    assert store.lease_for(KEY[0], 1.0).address == "192.0.2.15"


def test_declined_offer_address_can_still_be_committed():
    """A declined address handed out as last resort can be committed by that client."""
    store = LeaseStore("192.0.2.10", "192.0.2.10")
    store.decline("192.0.2.10", 0.0)
    held = store.offer(KEY[0], MAC[0], 1.0)
    assert held.why == "declined"
    assert store.commit(KEY[0], MAC[0], held.address, 1.0, 50).state == "bound"


# -- scale ---------------------------------------------------------------------------------------
def test_a_million_address_pool_is_never_materialized():
    """Allocation cost does not grow with the pool: nothing is built per address."""
    store = LeaseStore("10.0.0.0", "10.15.66.63")  # 1,000,000 addresses
    assert store.size == 1_000_000
    for i in range(200):
        store.offer(f"hw:{i}", MAC[i % 256], 0.0)
    assert len(store.offers) == 200
    assert store._cursor - store.first == 200
    assert len(store.leases) == 0 and len(store._free_heap) == 0


@settings(max_examples=120, deadline=None)
@given(st.lists(st.tuples(st.sampled_from("ocrdt"), st.integers(0, 7), st.integers(1, 40)), max_size=60))
def test_random_operations_never_give_one_address_to_two_clients(ops):
    """Property: whatever the sequence, no address is leased or offered to two clients at once."""
    store = LeaseStore("192.0.2.10", "192.0.2.14", offer_hold=15.0)
    now = 0.0
    for op, i, n in ops:
        if op == "o":
            store.offer(KEY[i], MAC[i], now)
        elif op == "c":
            held = store.offer_for(KEY[i], now)
            if held is not None:
                store.commit(KEY[i], MAC[i], held.address, now, n)
        elif op == "r":
            got = store.lease_for(KEY[i], now)
            if got is not None:
                store.release(KEY[i], got.address, now)
        elif op == "d":
            store.decline(f"192.0.2.{10 + n % 5}", now)
        else:
            now += n
        owners: dict[str, set[str]] = {}
        for lease_ in store.active_leases(now):
            owners.setdefault(lease_.address, set()).add(lease_.key)
        store._expire_offers(now)
        for key, held in store.offers.items():
            owners.setdefault(held.address, set()).add(key)
        assert all(len(keys) == 1 for keys in owners.values()), owners
        for a in owners:
            assert ip_to_int("192.0.2.10") <= ip_to_int(a) <= ip_to_int("192.0.2.14")


# -- the lease file ----------------------------------------------------------------------------
def test_lease_record_round_trip_and_rejects_garbage():
    r = LeaseRecord("192.0.2.10", MAC[1], "0102", 3600, 1234.5, "bound", "pc,1")
    back = LeaseRecord.from_line(r.to_line().rstrip("\n"))
    assert back.address == "192.0.2.10" and back.expire == 1234.5 and back.hostname == "pc_1"
    for bad in ("1,2,3", "192.0.2.300,x,,1,2,bound,", "192.0.2.1,x,,1,2,weird,"):
        with pytest.raises(ValueError):
            LeaseRecord.from_line(bad)


def test_leases_survive_a_restart(tmp_path):
    """RFC 2131 §1.6: retain client configuration across server reboots (the lease file)."""
    path = tmp_path / "leases.csv"
    store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    a = lease(store, 0, now=0.0, lifetime=100)
    b = lease(store, 1, now=0.0, lifetime=100)
    store.release(KEY[1], b, 5.0)
    store.decline("192.0.2.19", 6.0)
    store.close()
    again = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    assert again.lease_for(KEY[0], 10.0).address == a
    assert again.lease_at(b).state == "released"
    assert again.lease_at("192.0.2.19").state == "declined"
    assert again.known_address(KEY[1]) == b  # remembered as previous address
    assert again.offer(KEY[2], MAC[2], 10.0).address not in (a, b, "192.0.2.19")
    again.close()


def test_record_is_on_disk_and_fsynced_before_commit_returns(tmp_path, monkeypatch):
    """The lease line is written, flushed and fsynced before the ACK can be sent."""
    path = tmp_path / "leases.csv"
    store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    synced: list[int] = []
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd))
    held = store.offer(KEY[0], MAC[0], 0.0)
    assert synced == []  # offers are not persisted
    store.commit(KEY[0], MAC[0], held.address, 0.0, 100)
    assert len(synced) == 1
    with open(path, encoding="utf-8") as fh:  # another reader sees it now
        assert fh.read().splitlines()[-1].startswith(f"{held.address},{MAC[0]},")
    store.close()


def test_write_failure_changes_nothing(tmp_path):
    """If the lease cannot be written, commit raises and memory is unchanged (no ACK)."""
    store = LeaseStore("192.0.2.10", "192.0.2.20", path=tmp_path / "l.csv")
    held = store.offer(KEY[0], MAC[0], 0.0)

    def broken(record):
        raise OSError("disk full")

    store.file.append = broken
    with pytest.raises(OSError):
        store.commit(KEY[0], MAC[0], held.address, 0.0, 100)
    assert store.lease_for(KEY[0], 0.0) is None
    assert store.offer_for(KEY[0], 0.0).address == held.address


def _build_history(path):
    """A lease file whose last record is a fresh ACK for client 5."""
    store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    acked = {}
    for i in range(5):
        acked[KEY[i]] = lease(store, i, now=float(i), lifetime=1000)
    store.release(KEY[4], acked.pop(KEY[4]), 10.0)
    acked[KEY[3]] = lease(store, 3, now=11.0, lifetime=1000)  # renewal
    before = os.path.getsize(path)
    last = lease(store, 5, now=12.0, lifetime=1000)
    store.close()
    return acked, before, last


def test_torn_last_record_at_every_byte_offset(tmp_path, caplog):
    """Crash simulation: cut the file at every byte of the last record; replay loses
    no lease acknowledged before it and never gives one address to two clients."""
    path = tmp_path / "leases.csv"
    acked, before, last = _build_history(path)
    full = path.read_bytes()
    assert before < len(full)
    for cut in range(before, len(full) + 1):
        path.write_bytes(full[:cut])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="refimpl.dhcp.leasefile"):
            store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
        for key, address in acked.items():  # every earlier ACK survives
            assert store.lease_for(key, 20.0).address == address, (cut, key)
        complete = cut == len(full)
        assert (store.lease_for(KEY[5], 20.0) is not None) == complete
        torn = before < cut < len(full)
        assert ("incomplete" in caplog.text) == torn, cut
        # fresh allocations never collide with a live lease
        live = {lease_.address for lease_ in store.active_leases(20.0)}
        for i in range(6, 12):
            held = store.offer(KEY[i], MAC[i], 20.0)
            if held is None:
                break
            assert held.address not in live
            store.commit(KEY[i], MAC[i], held.address, 20.0, 100)
            live.add(held.address)
        store.close()
        # the start-up compaction removed the torn tail: the file parses cleanly
        assert path.read_bytes().endswith(b"\n")


def test_compaction_is_atomic_and_a_leftover_tmp_is_harmless(tmp_path):
    """Compaction writes NAME.tmp, fsyncs, renames; a crash before the rename leaves the old file."""
    path = tmp_path / "leases.csv"
    store = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    a = lease(store, 0)
    for t in range(1, 6):  # renewals add lines
        store.commit(KEY[0], MAC[0], a, float(t), 100)
    lines_before = path.read_text().count("\n")
    store.compact()
    assert path.read_text().splitlines() == [HEADER, store.lease_at(a).to_record().to_line().rstrip("\n")]
    assert lines_before > 2 and not os.path.exists(str(path) + ".tmp")
    store.close()
    (tmp_path / "leases.csv.tmp").write_text("garbage from a crash mid-compaction")
    again = LeaseStore("192.0.2.10", "192.0.2.20", path=path)
    assert again.lease_for(KEY[0], 10.0).address == a
    again.close()


def test_malformed_middle_line_is_skipped_with_warning(tmp_path, caplog):
    """Bad input loses nothing else: one broken line is skipped, the rest replays."""
    path = tmp_path / "leases.csv"
    good = LeaseRecord("192.0.2.10", MAC[0], "", 100, 500.0, "bound").to_line()
    path.write_text(HEADER + "\n" + "not,a,lease\n" + good)
    with caplog.at_level(logging.WARNING, logger="refimpl.dhcp.leasefile"):
        records = list(LeaseFile(path).replay())
    assert [r.address for r in records] == ["192.0.2.10"]
    assert "malformed" in caplog.text
