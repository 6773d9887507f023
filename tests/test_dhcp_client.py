"""The DHCP client state table (RFC 2131 figure 5): every transition exercised,
T1/T2 timing, backoff with jitter bounds, conflict -> DECLINE, NAK -> INIT,
lease expiry, link-local fallback, RELEASE and INFORM."""

from __future__ import annotations

import random

import pytest

from refimpl.dhcp import Message, MessageType
from refimpl.dhcp import client as C
from refimpl.dhcp.client import (
    BACKOFF,
    STATES,
    TRANSITIONS,
    ArpProbe,
    Configure,
    DhcpClient,
    Unconfigure,
)
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.ipv4 import int_to_ip
from refimpl.dhcp.notes import Note
from refimpl.dhcp.server import DhcpServer, ServerConfig

SID = "192.0.2.1"
MAC = "02:00:00:00:00:01"


def make_server(sid=SID, pool=("192.0.2.100", "192.0.2.109"), **kw) -> DhcpServer:
    return DhcpServer(
        ServerConfig(
            server_ip=sid, network="192.0.2.0/24", pool=pool, lease_time=1000, options={"router": ["192.0.2.1"]}, **kw
        )
    )


class Wire:
    """Connect one client to servers directly: deliver every effect at once (no loss
    unless ``drop`` says so), answer ARP probes from ``in_use``. Bounded loops."""

    def __init__(self, client, servers=(), in_use=(), drop=None):
        self.client, self.servers = client, list(servers)
        self.in_use, self.drop = set(in_use), drop
        self.now = 0.0
        self.effects: list[tuple[float, object]] = []
        self.sent: list[tuple[float, Outgoing]] = []

    def feed(self, effects):
        queue = list(effects)
        for _ in range(1000):
            if not queue:
                return
            e = queue.pop(0)
            self.effects.append((self.now, e))
            if isinstance(e, Outgoing):
                if e.message.op == 1:
                    self.sent.append((self.now, e))
                if self.drop is not None and self.drop(self, e):
                    continue
                if e.dst_port == 67:
                    for s in self.servers:
                        if e.dst_ip in ("255.255.255.255", s.config.server_ip):
                            queue += s.receive(
                                e.data, src_ip=e.src_ip, src_port=e.src_port, dst_ip=e.dst_ip, now=self.now
                            )
                else:
                    queue += self.client.receive(e.data, now=self.now)
            elif isinstance(e, ArpProbe):
                queue += self.client.probe_result(e.address in self.in_use, now=self.now)
        raise AssertionError("effect storm")

    def start(self):
        self.feed(self.client.start(now=self.now))
        return self

    def run(self, until):
        for _ in range(10_000):
            t = self.client.get_timer()
            if t is None or t > until:
                break
            self.now = max(self.now, t)
            self.feed(self.client.handle_timer(now=self.now))
        self.now = max(self.now, until)
        return self

    def kinds(self, since=-1.0):
        return [o.message.message_type.name for t, o in self.sent if t > since]

    def of(self, cls):
        return [e for _, e in self.effects if isinstance(e, cls)]


def inject(client, kind, yiaddr="192.0.2.100", sid=SID, lease=1000, **opts):
    """A reply for the client's current transaction, built by hand."""
    req = Message.discover(client.mac, client.xid)
    if kind == "offer":
        m = Message.offer(req, yiaddr=yiaddr, server_id=sid, lease_time=lease, options=opts)
    elif kind == "ack":
        m = Message.ack(req, yiaddr=yiaddr, server_id=sid, lease_time=lease, options=opts)
    else:
        m = Message.nak(req, server_id=sid)
    return client.receive(m.encode(), now=0.0)


def states(client):
    return [(s.state, s.event, s.next_state) for s in client.history]


# -- the table itself -----------------------------------------------------------------------
def test_table_is_well_formed():
    """RFC 2131 figure 5: every figure-5 state has transitions; every row names a method that does its action."""
    for (state, event), step in TRANSITIONS.items():
        assert state in STATES and step.next_state in STATES
        assert callable(getattr(DhcpClient, step.method, None)), (state, event, step.method)
        assert step.action and step.rule, (state, event)
    assert {s for s, _ in TRANSITIONS} == set(STATES)
    assert set(C.FIGURE5_STATES) == {
        "INIT",
        "SELECTING",
        "REQUESTING",
        "BOUND",
        "RENEWING",
        "REBINDING",
        "INIT-REBOOT",
        "REBOOTING",
    }


def test_a_row_naming_no_method_fails_at_import(monkeypatch):
    """The import-time check catches a typo in a row's method name before any client runs."""
    broken = dict(TRANSITIONS)
    broken[(C.INIT, "start")] = broken[(C.INIT, "start")]._replace(method="_send_discovr")
    monkeypatch.setattr(C, "TRANSITIONS", broken)
    with pytest.raises(ImportError, match="_send_discovr"):
        C._check_methods()


def test_rewording_the_table_cannot_break_dispatch(monkeypatch):
    """The words of a row are for the diagram and the history; the row's method does the work.
    Reword every action and the same run takes the same steps, sending the same messages."""

    def run():
        c = DhcpClient(MAC, random.Random(1))
        w = Wire(c, [make_server()]).start().run(600)
        return states(c), w.kinds(), [step.action for step in c.history]

    before, sent_before, words_before = run()
    reworded = {
        key: step._replace(action=f"in other words: {step.action.upper()}") for key, step in TRANSITIONS.items()
    }
    monkeypatch.setattr(C, "TRANSITIONS", reworded)
    after, sent_after, words_after = run()
    assert (after, sent_after) == (before, sent_before) and "BOUND" in {s for _, _, s in after}
    assert words_after == [f"in other words: {w.upper()}" for w in words_before]  # the new words are used


def test_unknown_event_is_ignored():
    """A pair not in the table changes nothing (figure 5 draws only what matters)."""
    c = DhcpClient(MAC)
    assert c._fire("T2 expires", 0.0) == [] and c.state == "INIT" and c.history == []


# -- scenarios (each returns its client; together they exercise every transition) ---------------
def scenario_normal_and_renew():
    """INIT -> SELECTING -> REQUESTING -(ACK, probe)-> BOUND -(T1)-> RENEWING -(ACK)-> BOUND."""
    c = DhcpClient(MAC, random.Random(1))
    w = Wire(c, [make_server()]).start().run(600)
    return c, w


def scenario_server_vanishes():
    """BOUND -> RENEWING (retransmits) -> REBINDING (retransmits) -> lease expires -> INIT
    -> SELECTING (retransmits) -> no answer -> LINK-LOCAL (probe, conflict, probe, use) -> retry."""
    c = DhcpClient(MAC, random.Random(2))
    w = Wire(c, [make_server()])
    w.start()
    w.servers = []  # the server dies after the first lease
    first_ll = int_to_ip(random.Random(int(MAC.replace(":", ""), 16)).randint(C.LINK_LOCAL_FIRST, C.LINK_LOCAL_LAST))
    w.in_use = {first_ll}  # the first link-local candidate is taken
    w.run(1000 + 130 + 300 + 5)
    return c, w


def scenario_rebind_ack():
    """RENEWING gets no answer (unicast lost) but REBINDING's broadcast is answered -> BOUND."""
    c = DhcpClient(MAC, random.Random(3))
    w = Wire(c, [make_server()], drop=lambda w, o: o.dst_ip == SID)
    w.start().run(900)
    return c, w


def scenario_naks():
    """NAK in REQUESTING, RENEWING, REBINDING and REBOOTING -> INIT."""
    clients = []
    c = DhcpClient(MAC, random.Random(4))
    c.start(now=0.0)
    inject(c, "offer")
    inject(c, "nak")  # REQUESTING -> INIT
    clients.append(c)
    for where in ("RENEWING", "REBINDING"):
        c = DhcpClient(MAC, random.Random(5))
        w = Wire(c).start()
        inject(c, "offer")
        inject(c, "ack")
        c.probe_result(False, now=0.0)
        w.run(500 if where == "RENEWING" else 875)
        assert c.state == where
        inject(c, "nak")
        clients.append(c)
    c = DhcpClient(MAC, random.Random(6), previous_ip="192.0.2.77")
    c.start(now=0.0)
    inject(c, "nak", sid="192.0.2.2")  # REBOOTING -> INIT
    clients.append(c)
    return clients


def scenario_requesting_misc():
    """REQUESTING: a second OFFER is discarded; a REQUEST nobody answers is resent, then given up."""
    c = DhcpClient(MAC, random.Random(7))
    w = Wire(c).start()
    inject(c, "offer")
    inject(c, "offer", yiaddr="192.0.2.150", sid="192.0.2.2")  # discarded
    w.run(135)  # 4+8+16+32+64 (+-1 each) -> no answer -> INIT -> start -> SELECTING
    return c, w


def scenario_conflict():
    """REQUESTING -(ACK, probe answered)-> DECLINE -> INIT (10 s) -> start."""
    s = make_server()
    c = DhcpClient(MAC, random.Random(8))
    w = Wire(c, [s], in_use={"192.0.2.100"}).start()
    w.run(20)
    return c, w, s


def scenario_reboot():
    """INIT-REBOOT -> REBOOTING -(ACK)-> BOUND; and one with no answer -> INIT."""
    s = make_server()
    Wire(DhcpClient(MAC, random.Random(9)), [s]).start()  # the server now has a record
    c = DhcpClient(MAC, random.Random(10), previous_ip="192.0.2.100")
    Wire(c, [s]).start()
    c2 = DhcpClient(MAC, random.Random(11), previous_ip="192.0.2.100")
    Wire(c2).start().run(135)
    return c, c2


def scenario_bound_discards_and_releases():
    """BOUND discards late OFFER/ACK/NAK; release from BOUND, RENEWING and REBINDING."""
    out = []
    for at in (0, 600, 900):
        s = make_server()
        c = DhcpClient(MAC, random.Random(12))
        w = Wire(c, [s], drop=(lambda w, o: o.message.message_type == MessageType.REQUEST and w.now > 100)).start()
        if at == 0:
            for kind in ("offer", "ack", "nak"):
                inject(c, kind)
        w.run(at)
        w.feed(c.release(now=w.now))
        out.append((c, w, s))
    return out


def scenario_inform():
    """INIT -(inform)-> INFORMING -(ACK)-> INFORMED -(inform)-> INFORMING -(no answer)-> INFORMED."""
    s = make_server()
    c = DhcpClient(MAC, random.Random(13), static_ip="192.0.2.50")
    w = Wire(c, [s])
    w.feed(c.inform(now=0.0))
    w.servers = []
    w.feed(c.inform(now=1.0))
    w.now = 1.0
    w.run(200)
    return c, w


def test_every_transition_is_exercised():
    """Every (state, event) line of TRANSITIONS is taken by some scenario."""
    seen = set()
    clients = [
        scenario_normal_and_renew()[0],
        scenario_server_vanishes()[0],
        scenario_rebind_ack()[0],
        *scenario_naks(),
        scenario_requesting_misc()[0],
        scenario_conflict()[0],
        *scenario_reboot(),
        *(c for c, _, _ in scenario_bound_discards_and_releases()),
        scenario_inform()[0],
    ]
    for c in clients:
        seen |= {(s.state, s.event) for s in c.history}
    assert set(TRANSITIONS) - seen == set()


# -- the normal path and its messages -------------------------------------------------------------
def test_normal_exchange_fields():
    """RFC 2131 table 5: DISCOVER broadcast from 0.0.0.0; REQUEST (SELECTING) with the offer's xid,
    requested IP and server id; RENEWING REQUEST unicast from ciaddr without 50/54."""
    c, w = scenario_normal_and_renew()
    assert states(c)[:4] == [
        ("INIT", "start", "SELECTING"),
        ("SELECTING", "DHCPOFFER", "REQUESTING"),
        ("REQUESTING", "DHCPACK", "REQUESTING"),
        ("REQUESTING", "address free", "BOUND"),
    ]
    (t0, disc), (_, req), (t1, renew) = w.sent[:3]
    assert (disc.src_ip, disc.dst_ip, disc.src_port, disc.dst_port) == ("0.0.0.0", "255.255.255.255", 68, 67)
    assert req.message.xid == disc.message.xid and req.dst_ip == "255.255.255.255"
    assert req.message.get("requested_ip") == "192.0.2.100" and req.message.get("server_id") == SID
    assert t1 == 500.0 and (renew.src_ip, renew.dst_ip) == ("192.0.2.100", SID)
    assert renew.message.ciaddr == "192.0.2.100" and renew.message.get("server_id") is None
    assert renew.message.get("requested_ip") is None and renew.message.xid != req.message.xid
    assert c.state == "BOUND" and c.address == "192.0.2.100"
    assert [e.address for e in w.of(Configure)] == ["192.0.2.100"]


def test_two_servers_client_picks_one_the_other_frees_its_offer():
    """RFC 2131 §3.1 steps 2-4: both servers offer; the client takes the first OFFER and
    broadcasts a REQUEST naming that server; the other server withdraws its offer silently."""
    s1 = make_server()
    s2 = make_server(sid="192.0.2.2", pool=("192.0.2.200", "192.0.2.209"))
    c = DhcpClient(MAC, random.Random(1))
    w = Wire(c, [s1, s2]).start()
    assert c.state == "BOUND" and c.lease.server_id == SID
    offers = [o for _, o in w.effects if isinstance(o, Outgoing) and o.message.message_type == MessageType.OFFER]
    assert {o.message.get("server_id") for o in offers} == {SID, "192.0.2.2"}
    assert s2.store.offers == {} and any("withdrawn" in note.text for note in w.of(Note))
    assert s2.store.lease_for("hw:" + MAC, 1.0) is None


def test_replies_for_other_transactions_are_ignored():
    """RFC 2131 §4.4.1: the client matches xid and chaddr."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=0.0)
    other = Message.offer(Message.discover(MAC, c.xid ^ 1), yiaddr="192.0.2.9", server_id=SID, lease_time=60)
    assert c.receive(other.encode(), now=0.0) == [] and c.state == "SELECTING"
    wrong_mac = Message.offer(
        Message.discover("02:00:00:00:00:99", c.xid), yiaddr="192.0.2.9", server_id=SID, lease_time=60
    )
    assert c.receive(wrong_mac.encode(), now=0.0) == [] and c.receive(b"junk", now=0.0) == []


# -- timers -------------------------------------------------------------------------------------------
def test_t1_t2_default_fractions_from_request_time():
    """RFC 2131 §4.4.5: T1 = 0.5 and T2 = 0.875 of the lease, counted (§4.4.1) from when the REQUEST was sent."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=10.0)
    c.receive(_offer(c).encode(), now=11.0)  # REQUEST sent at 11
    c.receive(_ack(c, lease=1000).encode(), now=12.0)
    c.probe_result(False, now=13.0)
    assert (c.lease.t1, c.lease.t2, c.lease.expiry) == (511.0, 886.0, 1011.0)
    assert c.get_timer() == 511.0


def test_t1_t2_from_server_options():
    """RFC 2132 §9.11/§9.12: options 58 and 59 set T1 and T2."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=0.0)
    c.receive(_offer(c).encode(), now=0.0)
    c.receive(_ack(c, lease=1000, renewal_time=100, rebinding_time=200).encode(), now=0.0)
    c.probe_result(False, now=0.0)
    assert (c.lease.t1, c.lease.t2) == (100.0, 200.0)


def _lease_with_fuzz(seed, lease=1000, fuzz=0.05, **options):
    c = DhcpClient(MAC, random.Random(seed), timer_fuzz=fuzz)
    c.start(now=0.0)
    c.receive(_offer(c).encode(), now=0.0)
    c.receive(_ack(c, lease=lease, **options).encode(), now=0.0)
    c.probe_result(False, now=0.0)
    return c.lease


def test_t1_t2_fuzz_spreads_clients_and_keeps_the_order():
    """RFC 2131 §4.4.5: T1 and T2 SHOULD be fuzzed "to avoid synchronization of client
    reacquisition"; T1 MUST stay before T2, and T2 before the end of the lease."""
    leases = [_lease_with_fuzz(seed) for seed in range(200)]
    t1s = {round(l.t1, 3) for l in leases}
    assert len(t1s) > 150  # a room of clients no longer renews in the same instant
    for l in leases:
        assert 475.0 <= l.t1 <= 525.0 and 831.25 <= l.t2 <= 918.75  # within ±5 %
        assert l.t1 <= l.t2 <= l.expiry
    # options 58/59 close together and near the end: the fuzz never breaks the order
    for seed in range(200):
        l = _lease_with_fuzz(seed, lease=100, renewal_time=99, rebinding_time=100)
        assert l.t1 <= l.t2 <= l.expiry == 100.0
    # the same seed gives the same times: simulations stay reproducible
    assert _lease_with_fuzz(7).t1 == _lease_with_fuzz(7).t1


def test_timer_fuzz_is_bounded():
    with pytest.raises(ValueError, match="timer_fuzz"):
        DhcpClient(MAC, random.Random(1), timer_fuzz=0.5)


def _offer(c, yiaddr="192.0.2.100"):
    return Message.offer(Message.discover(MAC, c.xid), yiaddr=yiaddr, server_id=SID, lease_time=1000)


def _ack(c, yiaddr="192.0.2.100", lease=1000, **opts):
    return Message.ack(Message.discover(MAC, c.xid), yiaddr=yiaddr, server_id=SID, lease_time=lease, options=opts)


@pytest.mark.parametrize("seed", range(40))
def test_discover_backoff_doubles_with_jitter_bounds(seed):
    """RFC 2131 §4.1: retransmit after 4, 8, 16, 32, 64 s, each randomized by ±1 s."""
    c = DhcpClient(MAC, random.Random(seed), link_local=False)
    w = Wire(c).start().run(200)
    times = [t for t, o in w.sent if o.message.message_type == MessageType.DISCOVER]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) >= 5
    for gap, base in zip(gaps[:4], BACKOFF):
        assert base - 1 <= gap <= base + 1
    xids = {o.message.xid for _, o in w.sent[:5]}
    assert len(xids) == 1  # same transaction while retransmitting
    assert [o.message.secs for _, o in w.sent[:5]] == sorted(o.message.secs for _, o in w.sent[:5])
    # after the fifth wait (64 +- 1 s) the client gives up on this round
    give_up = [s for s in c.history if s.event == "no answer"][0]
    assert 124 - 5 <= give_up.time - times[0] <= 124 + 5


def test_xid_is_random_per_exchange():
    """RFC 2131 §4.1: the client picks xid at random (from the injected generator); a new
    exchange (a renewal) gets a new xid, retransmissions keep theirs."""
    xids = set()
    for seed in range(5):
        c = DhcpClient(MAC, random.Random(seed))
        c.start(now=0.0)
        xids.add(c.xid)
    assert len(xids) == 5
    _, w = scenario_normal_and_renew()
    assert len({o.message.xid for _, o in w.sent}) == 2  # DISCOVER+REQUEST share one; the renewal another


def test_jitter_really_varies():
    """The ±1 s is random (from the injected generator), not a constant offset."""
    firsts = set()
    for seed in range(10):
        c = DhcpClient(MAC, random.Random(seed))
        c.start(now=0.0)
        firsts.add(round(c.get_timer(), 6))
    assert len(firsts) == 10


def test_renewing_and_rebinding_retransmit_at_half_remaining_min_60():
    """RFC 2131 §4.4.5: in RENEWING wait half the time to T2, in REBINDING half the time to expiry,
    never less than 60 s."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=0.0)
    c.receive(_offer(c).encode(), now=0.0)
    c.receive(_ack(c, lease=10_000).encode(), now=0.0)
    c.probe_result(False, now=0.0)
    w = Wire(c)
    w.run(10_000 + 1)
    renew = [t for t, o in w.sent if o.dst_ip == SID]
    rebind = [t for t, o in w.sent if o.dst_ip == "255.255.255.255" and o.message.ciaddr != "0.0.0.0"]

    def expected(start, deadline):
        out, t = [], start
        while t < deadline:
            out.append(t)
            t = t + max(60.0, (deadline - t) / 2)
        return out

    assert renew == pytest.approx(expected(5000.0, 8750.0))
    assert rebind == pytest.approx(expected(8750.0, 10_000.0))
    assert c.state == "INIT" or c.state == "SELECTING"
    assert any(isinstance(e, Unconfigure) and e.why == "lease expired" for _, e in w.effects)


# -- failures -----------------------------------------------------------------------------------------
def test_conflict_sends_decline_and_restarts_after_10_s():
    """RFC 2131 §3.1 step 5 / §4.4.1: the ARP probe finds the address in use -> DHCPDECLINE
    (broadcast, requested IP + server id), back to INIT, wait at least 10 s, start again."""
    c, w, s = scenario_conflict()
    decline = [(t, o) for t, o in w.sent if o.message.message_type == MessageType.DECLINE]
    assert len(decline) == 1
    t_decline, o = decline[0]
    assert o.dst_ip == "255.255.255.255" and o.message.get("requested_ip") == "192.0.2.100"
    assert o.message.get("server_id") == SID and o.message.ciaddr == "0.0.0.0"
    assert s.store.lease_at("192.0.2.100").state == "declined"
    next_discover = [t for t, o in w.sent if o.message.message_type == MessageType.DISCOVER and t > t_decline]
    assert next_discover and next_discover[0] - t_decline >= 10.0
    assert c.state == "BOUND" and c.address != "192.0.2.100"  # second try got another address


def test_nak_sends_client_back_to_init():
    """RFC 2131 §3.1 / §4.4.5: DHCPNAK -> INIT (and the address is dropped)."""
    for c in scenario_naks():
        assert c.state == "INIT" and c.history[-1].event == "DHCPNAK"
        assert c.get_timer() is not None  # restart scheduled
        assert c.address is None


def test_nak_from_a_server_we_did_not_choose_is_ignored():
    """In REQUESTING only the chosen server's NAK counts (RFC 2131 §4.4.1 restarts on a NAK; one from
    another server cannot be about the offer the client took)."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=0.0)
    inject(c, "offer")
    inject(c, "nak", sid="192.0.2.99")
    assert c.state == "REQUESTING"


def test_lease_expiry_stops_using_the_address():
    """RFC 2131 §4.4.5: at expiry the client stops using the address (no RELEASE needed) -> INIT."""
    c, w = scenario_server_vanishes()
    expired = [s for s in c.history if s.event == "lease expires"]
    assert expired and expired[0].time == pytest.approx(1000.0) and expired[0].next_state == "INIT"
    assert not [o for _, o in w.sent if o.message.message_type == MessageType.RELEASE]


# -- link-local fallback ------------------------------------------------------------------------------
def test_link_local_fallback():
    """RFC 3927 §2.1: no server -> a 169.254.1.0-169.254.254.255 address chosen from a
    MAC-seeded generator, probed first (conflict -> next candidate), DHCP retried every 5 minutes."""
    c = DhcpClient(MAC, random.Random(99))
    w = Wire(c).start().run(135)
    assert c.state == "LINK-LOCAL" and c.link_local_ip is not None
    octets = [int(x) for x in c.link_local_ip.split(".")]
    assert octets[:2] == [169, 254] and 1 <= octets[2] <= 254
    assert [e.source for e in w.of(Configure)] == ["link-local"]
    # deterministic by MAC, not by the xid generator
    other = DhcpClient(MAC, random.Random(12345))
    Wire(other).start().run(135)
    assert other.link_local_ip == c.link_local_ip
    # retry: a DISCOVER 300 s later
    t_ll = c.history[-1].time
    w.run(t_ll + 301)
    assert [round(t - t_ll) for t, o in w.sent if t > t_ll][:1] == [300]


def test_link_local_conflict_picks_another_address():
    """RFC 3927 §2.2.1: a probe that is answered -> choose a new address and probe again."""
    c, w = scenario_server_vanishes()
    probes = [e.address for e in w.of(ArpProbe) if e.address.startswith("169.254.")]
    assert len(probes) >= 2 and probes[0] != probes[1]
    assert c.link_local_ip == probes[1]


def test_server_appears_after_link_local():
    """Once a server answers, the link-local address is given up for the leased one (RFC 3927 advises
    against holding both)."""
    c = DhcpClient(MAC, random.Random(5))
    w = Wire(c).start().run(135)
    ll = c.link_local_ip
    w.servers = [make_server()]
    w.run(w.now + 400)
    assert c.state == "BOUND" and c.link_local_ip is None
    assert any(isinstance(e, Unconfigure) and e.address == ll for _, e in w.effects)


# -- reboot, release, inform ---------------------------------------------------------------------
def test_init_reboot_gets_old_address_back():
    """RFC 2131 §3.2: INIT-REBOOT broadcasts REQUEST with the old address, no server id."""
    c, c2 = scenario_reboot()
    assert c.state == "BOUND" and c.address == "192.0.2.100"
    assert states(c)[0] == ("INIT-REBOOT", "start", "REBOOTING")
    assert ("REBOOTING", "no answer", "INIT") in states(c2)  # nobody answered: start over


def test_release_unicasts_and_frees_the_server_lease():
    """RFC 2131 §4.4.6: DHCPRELEASE unicast to the server with ciaddr; the client stops using the address."""
    c, w, s = scenario_bound_discards_and_releases()[0]
    rel = [o for _, o in w.sent if o.message.message_type == MessageType.RELEASE][0]
    assert (rel.dst_ip, rel.src_ip, rel.message.ciaddr) == (SID, "192.0.2.100", "192.0.2.100")
    assert s.store.lease_at("192.0.2.100").state == "released"
    assert c.state == "INIT" and c.get_timer() is None and c.address is None
    assert ("BOUND", "DHCPOFFER", "BOUND") in states(c)


def test_inform_applies_configuration_without_lease():
    """RFC 2131 §3.4: DHCPINFORM -> ACK with parameters; the hand-set address stays, no lease."""
    c, w = scenario_inform()
    cfg = w.of(Configure)[0]
    assert (cfg.address, cfg.source, cfg.options.get(3)) == ("192.0.2.50", "inform", ["192.0.2.1"])
    assert c.lease is None and c.state == "INFORMED"
    with pytest.raises(ValueError):
        DhcpClient(MAC).inform(now=0.0)


# -- the same cores on the simulated LAN (checks the Outgoing contract with refimpl.sim.network) ----------
def test_client_and_server_on_the_simulated_lan():
    """RFC 2131 §4.1 end to end on refimpl.sim.network: DISCOVER/REQUEST broadcast, OFFER/ACK unicast
    to chaddr (dst_mac) before the client has an address, ARP probe, then a unicast renewal at T1."""
    sim = pytest.importorskip("refimpl.sim.network")
    net = sim.Network(seed=1)
    lan = net.segment("lan", "192.0.2.0/24")
    srv_host = net.host("server", lan, ip=SID)
    cli_host = net.host("client", lan)
    server = make_server()
    client = DhcpClient(cli_host.mac, random.Random(1))

    def send(host, outs):
        for o in outs:
            if isinstance(o, Outgoing):
                host.send_udp(
                    o.src_port, o.dst_ip, o.dst_port, o.data, src_ip=o.src_ip, dst_mac=o.chaddr if o.to_chaddr else None
                )

    def client_effects(effects):
        queue = list(effects)
        while queue:
            e = queue.pop(0)
            if isinstance(e, ArpProbe):
                queue += client.probe_result(cli_host.arp_probe(e.address), now=net.now)
            elif isinstance(e, Configure):
                cli_host.configure(e.address, 24)
            else:
                send(cli_host, [e])
        cli_host.set_timer("dhcp", client.get_timer(), lambda: client_effects(client.handle_timer(now=net.now)))

    srv_host.udp(
        67,
        lambda p: send(
            srv_host, server.receive(p.payload, src_ip=p.src_ip, src_port=p.src_port, dst_ip=p.dst_ip, now=net.now)
        ),
    )
    cli_host.udp(68, lambda p: client_effects(client.receive(p.payload, now=net.now)))
    client_effects(client.start(now=net.now))
    net.run(until=600)
    assert client.state == "BOUND" and cli_host.ips() == ["192.0.2.100"]
    udp = [e for e in net.trace if e.transport == "udp"]
    assert [(e.src_ip, e.dst_ip, e.dst_port) for e in udp[:4]] == [
        ("0.0.0.0", "255.255.255.255", 67),
        ("192.0.2.1", "192.0.2.100", 68),
        ("0.0.0.0", "255.255.255.255", 67),
        ("192.0.2.1", "192.0.2.100", 68),
    ]
    assert (udp[4].src_ip, udp[4].dst_ip) == ("192.0.2.100", SID)  # renewal at T1 = 500 s
    assert not any(e.lost for e in udp)


def test_table_text_lists_every_transition():
    """The table as text (for lessons): one line per TRANSITIONS entry plus a header."""
    text = C.table_text()
    assert len(text.splitlines()) == len(TRANSITIONS) + 1
    assert "BOUND" in text and "T1 expires" in text and "RFC 2131 §4.4.5" in text
    only_fig5 = C.table_text(C.FIGURE5_STATES)
    assert {line.split()[0] for line in only_fig5.splitlines()[1:]} == set(C.FIGURE5_STATES)


def test_ack_without_lease_time_is_ignored_and_bad_t1_t2_fall_back():
    """RFC 2131 table 3: an ACK to a REQUEST carries a lease time; T1 < T2 <= lease (§4.4.5)."""
    c = DhcpClient(MAC, random.Random(1))
    c.start(now=0.0)
    c.receive(_offer(c).encode(), now=0.0)
    bare = _ack(c)
    bare.set("lease_time", None)
    assert c.receive(bare.encode(), now=0.0) == [] and c.state == "REQUESTING"
    c.receive(_ack(c, lease=1000, renewal_time=5000, rebinding_time=9000).encode(), now=0.0)
    c.probe_result(False, now=0.0)
    assert (c.lease.t1, c.lease.t2) == (500.0, 875.0)
