"""The DHCP server (RFC 2131 §4.3) and reply delivery (§4.1): one test per rule,
the rule named in each docstring."""

from __future__ import annotations

import pytest

from refimpl.dhcp import Message, MessageType
from refimpl.dhcp.delivery import Outgoing, reply_destination
from refimpl.dhcp.notes import Note, NoteKind
from refimpl.dhcp.server import DhcpServer, ServerConfig

SID = "192.0.2.1"
MAC1, MAC2, MAC3 = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"


def make_server(**kw) -> DhcpServer:
    cfg = dict(
        server_ip=SID,
        network="192.0.2.0/24",
        pool=("192.0.2.100", "192.0.2.109"),
        lease_time=1000,
        options={"router": ["192.0.2.1"], "dns_servers": ["192.0.2.53"], "domain_name": "example.test"},
    )
    cfg.update(kw)
    return DhcpServer(ServerConfig(**cfg))


def replies(effects: list) -> list[Outgoing]:
    """The datagrams among a core's effects."""
    return [e for e in effects if isinstance(e, Outgoing)]


def last_note(effects: list) -> Note:
    """The last thing the server said about a datagram (its notes come with the replies)."""
    notes = [e for e in effects if isinstance(e, Note)]
    assert notes, effects
    return notes[-1]


def one(effects: list) -> Outgoing:
    sent = replies(effects)
    assert len(sent) == 1, effects
    return sent[0]


def get_lease(server, mac=MAC1, xid=1, now=0.0, **discover_kw) -> str:
    """DISCOVER + REQUEST(SELECTING) -> the address ACKed."""
    offer = one(server.receive(Message.discover(mac, xid, **discover_kw).encode(), now=now)).message
    req = Message.request(mac, xid, requested_ip=offer.yiaddr, server_id=SID, client_id=discover_kw.get("client_id"))
    ack = one(server.receive(req.encode(), now=now)).message
    assert ack.message_type == MessageType.ACK
    return ack.yiaddr


# -- DISCOVER (§4.3.1) ------------------------------------------------------------------
def test_discover_gets_offer_with_lease_t1_t2():
    """RFC 2131 §4.3.1: DISCOVER -> OFFER with yiaddr, server id, lease time; §4.4.5 T1 50 %, T2 87.5 %."""
    out = one(make_server().receive(Message.discover(MAC1, 0x42).encode(), now=0.0))
    m = out.message
    assert m.message_type == MessageType.OFFER and m.xid == 0x42 and m.op == 2
    assert m.yiaddr == "192.0.2.100" and m.get("server_id") == SID
    assert (m.get("lease_time"), m.get("renewal_time"), m.get("rebinding_time")) == (1000, 500, 875)


def test_configured_t1_t2_are_sent():
    """RFC 2132 §9.11/9.12: the server may set T1 (58) and T2 (59) itself."""
    s = make_server(renewal_time=300, rebinding_time=600)
    m = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message
    assert (m.get("renewal_time"), m.get("rebinding_time")) == (300, 600)


def test_requested_lease_time_is_capped():
    """RFC 2131 §4.3.1: a client may ask for a lease time; the server grants at most its maximum."""
    s = make_server(max_lease_time=5000)
    short = Message.discover(MAC1, 1).set("lease_time", 200)
    assert one(s.receive(short.encode(), now=0)).message.get("lease_time") == 200
    greedy = Message.discover(MAC2, 2).set("lease_time", 10**6)
    assert one(s.receive(greedy.encode(), now=0)).message.get("lease_time") == 5000


def test_address_is_reserved_at_offer_time():
    """RFC 2131 §4.3.1: an offered address is held; a second client gets another one."""
    s = make_server()
    a = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message.yiaddr
    b = one(s.receive(Message.discover(MAC2, 2).encode(), now=0)).message.yiaddr
    assert a != b


def test_no_address_left_means_no_offer_and_a_logged_reason():
    """RFC 2131 §4.3.1: with no address available the server sends nothing (and logs why)."""
    s = make_server(pool=("192.0.2.100", "192.0.2.100"))
    assert replies(s.receive(Message.discover(MAC1, 1).encode(), now=0))
    refused = s.receive(Message.discover(MAC2, 2).encode(), now=0)
    assert replies(refused) == []
    why = last_note(refused)
    assert why.kind is NoteKind.FAILED and "no offer" in why.text and "fully leased" in why.text


def test_parameter_request_list_is_honoured_in_order():
    """RFC 2131 §4.3.1: return the options the client asked for (option 55), in its order."""
    s = make_server()
    m = one(s.receive(Message.discover(MAC1, 1, params=[6, 3, 42]).encode(), now=0)).message
    codes = [c for c in m.options if c not in (51, 53, 54, 58, 59)]
    assert codes == [6, 3]  # 42 (NTP) not configured; subnet mask (1) and domain (15) not asked for
    everything = one(s.receive(Message.discover(MAC2, 2).encode(), now=0)).message
    assert {1, 3, 6, 15} <= set(everything.options)


def test_client_identifier_identifies_the_client():
    """RFC 2131 §4.2: option 61 identifies the client, else chaddr."""
    s = make_server()
    a = get_lease(s, MAC1, client_id=b"\x00host-a")
    # same client id on a new network card: same binding
    assert one(s.receive(Message.discover(MAC2, 5, client_id=b"\x00host-a").encode(), now=1)).message.yiaddr == a
    # same MAC but another client id: another client
    assert one(s.receive(Message.discover(MAC1, 6, client_id=b"\x00host-b").encode(), now=1)).message.yiaddr != a


def test_option_82_is_echoed_last():
    """RFC 3046 §2.2: the server copies the relay agent option into its reply, as the last option."""
    s = make_server()
    d = Message.discover(MAC1, 1, params=[3]).set("giaddr", "192.0.2.254").set("hops", 1)
    d.set("relay_agent_info", {1: b"port7", 2: b"relay1"})
    m = one(s.receive(d.encode(), now=0)).message
    assert list(m.options)[-1] == 82 and m.options[82] == {1: b"port7", 2: b"relay1"}


# -- REQUEST (§4.3.2) -------------------------------------------------------------------------
def test_selecting_request_for_our_offer_gets_ack():
    """RFC 2131 §4.3.2 SELECTING: server id is ours and the address is the one offered -> ACK."""
    s = make_server()
    a = get_lease(s)
    assert s.store.lease_for("hw:" + MAC1, 1.0).address == a


def test_selecting_request_for_another_address_gets_nak():
    """RFC 2131 §4.3.2 SELECTING: requested IP differs from our offer -> NAK."""
    s = make_server()
    one(s.receive(Message.discover(MAC1, 1).encode(), now=0))
    r = Message.request(MAC1, 1, requested_ip="192.0.2.105", server_id=SID)
    assert one(s.receive(r.encode(), now=0)).message.message_type == MessageType.NAK


def test_selecting_another_server_drops_our_offer_silently():
    """RFC 2131 §4.3.2 SELECTING: a REQUEST naming another server means the client declined
    our offer: no reply, and the held address is freed (§3.1 step 4)."""
    s = make_server(pool=("192.0.2.100", "192.0.2.100"))
    a = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message.yiaddr
    assert replies(s.receive(Message.discover(MAC2, 2).encode(), now=0)) == []  # held for MAC1
    r = Message.request(MAC1, 1, requested_ip="198.51.100.7", server_id="198.51.100.1")
    assert replies(s.receive(r.encode(), now=0)) == []
    assert one(s.receive(Message.discover(MAC2, 3).encode(), now=1)).message.yiaddr == a


def test_selecting_after_offer_lapsed_still_acks_a_free_address():
    """RFC 2131 §4.3.2: the server commits the binding at REQUEST if the address is still free."""
    s = make_server(offer_hold=5.0)
    a = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message.yiaddr
    r = Message.request(MAC1, 1, requested_ip=a, server_id=SID)
    assert one(s.receive(r.encode(), now=100.0)).message.message_type == MessageType.ACK


def test_selecting_request_for_an_address_taken_meanwhile_gets_nak():
    """RFC 2131 §4.3.2: the selected server cannot satisfy the REQUEST (address allocated
    to another client after our offer lapsed) -> NAK."""
    s = make_server(pool=("192.0.2.100", "192.0.2.100"), offer_hold=5.0)
    a = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message.yiaddr
    get_lease(s, MAC2, xid=2, now=10.0)  # MAC1's offer lapsed; MAC2 takes the address
    late = Message.request(MAC1, 1, requested_ip=a, server_id=SID)
    assert one(s.receive(late.encode(), now=11.0)).message.message_type == MessageType.NAK
    assert s.store.lease_for("hw:" + MAC2, 11.0).address == a


def test_init_reboot_wrong_network_gets_nak():
    """RFC 2131 §4.3.2 INIT-REBOOT: requested IP on the wrong network -> NAK."""
    s = make_server()
    r = Message.request(MAC1, 9, requested_ip="198.51.100.23")
    out = one(s.receive(r.encode(), now=0))
    assert out.message.message_type == MessageType.NAK and out.dst_ip == "255.255.255.255"


def test_init_reboot_without_record_is_silent():
    """RFC 2131 §4.3.2 INIT-REBOOT: no record of the client -> MUST remain silent."""
    s = make_server()
    effects = s.receive(Message.request(MAC1, 9, requested_ip="192.0.2.105").encode(), now=0)
    assert replies(effects) == [] and "no record" in last_note(effects).text


def test_init_reboot_with_record_acks_right_and_naks_wrong_address():
    """RFC 2131 §4.3.2 INIT-REBOOT: client's notion correct -> ACK; incorrect -> NAK."""
    s = make_server()
    a = get_lease(s)
    good = one(s.receive(Message.request(MAC1, 9, requested_ip=a).encode(), now=10.0)).message
    assert good.message_type == MessageType.ACK and good.yiaddr == a
    other = "192.0.2.108" if a != "192.0.2.108" else "192.0.2.107"
    bad = one(s.receive(Message.request(MAC1, 10, requested_ip=other).encode(), now=10.0)).message
    assert bad.message_type == MessageType.NAK


def test_init_reboot_after_server_restart_uses_the_lease_file(tmp_path):
    """RFC 2131 §1.6 (retain configuration across server reboots): a restarted server still knows the client."""
    path = str(tmp_path / "leases.csv")
    s = make_server(lease_file=path)
    a = get_lease(s)
    s.store.close()
    s2 = make_server(lease_file=path)
    assert one(s2.receive(Message.request(MAC1, 9, requested_ip=a).encode(), now=10.0)).message.yiaddr == a
    s2.store.close()


def test_renewing_extends_lease_unicast_to_ciaddr():
    """RFC 2131 §4.3.2 RENEWING: ciaddr set, unicast -> ACK extending the lease; §4.1 reply to ciaddr."""
    s = make_server()
    a = get_lease(s, now=0.0)
    out = one(s.receive(Message.request(MAC1, 20, ciaddr=a).encode(), src_ip=a, dst_ip=SID, now=500.0))
    assert out.message.message_type == MessageType.ACK and out.message.yiaddr == a
    assert (out.dst_ip, out.dst_port, out.to_chaddr) == (a, 68, False)
    assert s.store.lease_for("hw:" + MAC1, 1400.0).expire == 1500.0


def test_renewing_an_address_leased_to_another_client_gets_nak():
    """RFC 2131 §4.3.2 RENEWING: the server checks ciaddr; someone else's lease -> NAK."""
    s = make_server()
    a = get_lease(s, MAC1)
    out = one(s.receive(Message.request(MAC2, 21, ciaddr=a).encode(), src_ip=a, dst_ip=SID, now=5.0))
    assert out.message.message_type == MessageType.NAK


def test_renewing_an_address_outside_our_pool_gets_nak():
    """RFC 2131 §4.3.2 RENEWING (unicast to us): an address we never lease -> NAK."""
    s = make_server()
    out = one(s.receive(Message.request(MAC1, 22, ciaddr="198.51.100.9").encode(), dst_ip=SID, now=5.0))
    assert out.message.message_type == MessageType.NAK


def test_rebinding_known_lease_acks_and_foreign_address_is_silent():
    """RFC 2131 §4.3.2 REBINDING: broadcast with ciaddr; ACK our client's lease, stay silent about others'."""
    s = make_server()
    a = get_lease(s)
    ok = one(s.receive(Message.request(MAC1, 30, ciaddr=a).encode(), src_ip=a, now=900.0))
    assert ok.message.message_type == MessageType.ACK and ok.dst_ip == a
    assert replies(s.receive(Message.request(MAC2, 31, ciaddr="198.51.100.9").encode(), now=900.0)) == []


# -- DECLINE, RELEASE, INFORM (§4.3.3 - §4.3.5) -------------------------------------------------
def test_decline_marks_address_unusable():
    """RFC 2131 §4.3.3: DECLINE -> the server marks the address as not available."""
    s = make_server(pool=("192.0.2.100", "192.0.2.101"))
    a = get_lease(s, MAC1)
    assert replies(s.receive(Message.decline(MAC1, 2, requested_ip=a, server_id=SID).encode(), now=1.0)) == []
    assert s.store.lease_at(a).state == "declined"
    b = one(s.receive(Message.discover(MAC2, 3).encode(), now=2.0)).message.yiaddr
    assert b != a  # the other address first; the declined one only as last resort


def test_decline_of_someone_elses_running_lease_is_ignored():
    """RFC 2131 §4.3.3 applies to the address offered to *this* client; a stranger's DECLINE
    must not take a working client's lease away."""
    s = make_server()
    a = get_lease(s, MAC1)
    effects = s.receive(Message.decline(MAC2, 2, requested_ip=a, server_id=SID).encode(), now=1.0)
    assert s.store.lease_for("hw:" + MAC1, 1.0).address == a and "ignored" in last_note(effects).text


def test_decline_for_another_server_is_ignored():
    """RFC 2131 §4.3.3: a DECLINE naming another server is not ours to act on."""
    s = make_server()
    s.receive(Message.decline(MAC1, 2, requested_ip="192.0.2.100", server_id="198.51.100.1").encode(), now=1.0)
    assert s.store.lease_at("192.0.2.100") is None


def test_release_frees_the_lease_without_reply():
    """RFC 2131 §4.3.4: RELEASE -> mark the address not allocated; no reply."""
    s = make_server()
    a = get_lease(s)
    release = Message.release(MAC1, 3, ciaddr=a, server_id=SID)
    assert replies(s.receive(release.encode(), src_ip=a, dst_ip=SID, now=5.0)) == []
    assert s.store.lease_for("hw:" + MAC1, 5.0) is None and s.store.lease_at(a).state == "released"


def test_release_of_someone_elses_lease_is_ignored():
    """RFC 2131 §4.3.4: the lease is identified by client and address."""
    s = make_server()
    a = get_lease(s)
    s.receive(Message.release(MAC2, 3, ciaddr=a, server_id=SID).encode(), now=5.0)
    assert s.store.lease_for("hw:" + MAC1, 5.0).address == a


def test_inform_gets_ack_without_lease():
    """RFC 2131 §4.3.5: INFORM -> ACK with configuration, no lease time, no yiaddr, unicast to ciaddr."""
    s = make_server()
    inform = Message.inform(MAC1, 4, ciaddr="192.0.2.50", params=[3, 6])
    out = one(s.receive(inform.encode(), src_ip="192.0.2.50", now=0))
    m = out.message
    assert m.message_type == MessageType.ACK and m.yiaddr == "0.0.0.0"
    assert not {51, 58, 59} & set(m.options) and m.get("router") == ["192.0.2.1"]
    assert (out.dst_ip, out.dst_port) == ("192.0.2.50", 68)
    assert s.store.lease_at("192.0.2.50") is None  # no binding made


def test_inform_without_ciaddr_is_dropped():
    """RFC 2131 §4.4.3: an INFORM carries the client's address in ciaddr; without it there is
    nowhere to answer (the reply is unicast to ciaddr)."""
    s = make_server()
    effects = s.receive(Message.inform(MAC1, 4, ciaddr="0.0.0.0").encode(), now=0)
    assert replies(effects) == [] and "ciaddr is zero" in last_note(effects).text
    assert last_note(effects).kind is NoteKind.DROPPED


# -- delivery (§4.1) -----------------------------------------------------------------------
def test_delivery_via_relay_goes_to_giaddr_port_67():
    """RFC 2131 §4.1: giaddr nonzero -> reply to the relay at giaddr, port 67."""
    d = Message.discover(MAC1, 1, broadcast=True).set("giaddr", "192.0.2.254")
    out = one(make_server().receive(d.encode(), now=0))
    assert (out.dst_ip, out.dst_port, out.src_port, out.to_chaddr) == ("192.0.2.254", 67, 67, False)


def test_delivery_broadcast_bit_means_broadcast():
    """RFC 2131 §4.1: giaddr and ciaddr zero, broadcast bit set -> broadcast 0xffffffff."""
    out = one(make_server().receive(Message.discover(MAC1, 1, broadcast=True).encode(), now=0))
    assert (out.dst_ip, out.dst_port, out.to_chaddr, out.broadcast) == ("255.255.255.255", 68, False, True)


def test_delivery_unicast_to_yiaddr_and_chaddr():
    """RFC 2131 §4.1: broadcast bit clear, ciaddr zero -> unicast to yiaddr at chaddr."""
    out = one(make_server().receive(Message.discover(MAC1, 1).encode(), now=0))
    assert out.to_chaddr and out.dst_ip == out.message.yiaddr and out.chaddr == MAC1 and out.dst_port == 68


def test_delivery_ciaddr_wins_over_broadcast_bit():
    """RFC 2131 §4.1: giaddr zero and ciaddr nonzero -> unicast to ciaddr."""
    req = Message.request(MAC1, 1, ciaddr="192.0.2.100", broadcast=True)
    reply = Message.ack(req, yiaddr="192.0.2.100", server_id=SID, lease_time=60)
    out = reply_destination(req, reply, SID)
    assert (out.dst_ip, out.to_chaddr) == ("192.0.2.100", False)


def test_nak_without_relay_is_broadcast_even_with_ciaddr():
    """RFC 2131 §4.1: when giaddr is zero the server broadcasts any DHCPNAK."""
    req = Message.request(MAC1, 1, ciaddr="192.0.2.100")
    out = reply_destination(req, Message.nak(req, server_id=SID), SID)
    assert out.dst_ip == "255.255.255.255" and out.dst_port == 68


def test_nak_via_relay_sets_broadcast_bit():
    """RFC 2131 §4.1: a NAK through a relay goes to giaddr with the broadcast bit set."""
    s = make_server()
    r = Message.request(MAC1, 1, requested_ip="198.51.100.3").set("giaddr", "192.0.2.254")
    out = one(s.receive(r.encode(), now=0))
    assert out.message.message_type == MessageType.NAK and out.message.broadcast
    assert (out.dst_ip, out.dst_port) == ("192.0.2.254", 67)


def test_outgoing_bytes_decode_back():
    out = one(make_server().receive(Message.discover(MAC1, 7).encode(), now=0))
    assert Message.decode(out.data) == out.message
    assert "DHCPOFFER 192.0.2.1:67 -> 192.0.2.100:68 via chaddr" in str(out)


# -- robustness -------------------------------------------------------------------------------
@pytest.mark.parametrize("junk", [b"", b"\x01" * 10, bytes(300), b"\xff" * 400])
def test_bad_input_is_dropped_and_server_keeps_serving(junk):
    """Bad input gets a clear log line and loses nothing; the next client is served."""
    s = make_server()
    effects = s.receive(junk, now=0)
    assert replies(effects) == [] and last_note(effects).kind is NoteKind.DROPPED
    assert replies(s.receive(Message.discover(MAC1, 1).encode(), now=0))


def test_replies_and_foreign_relays_are_ignored():
    """RFC 2131 §4.1: servers answer BOOTREQUESTs only, and only for networks they serve."""
    s = make_server()
    offer = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message
    assert replies(s.receive(offer.encode(), now=0)) == []
    foreign = Message.discover(MAC2, 2).set("giaddr", "203.0.113.1")
    effects = s.receive(foreign.encode(), now=0)
    assert replies(effects) == [] and "not a network" in last_note(effects).text


def test_ack_is_logged_after_disk_write(tmp_path):
    """The lease is written (fsync) before the ACK leaves the server."""
    path = tmp_path / "leases.csv"
    s = make_server(lease_file=str(path))
    offer = one(s.receive(Message.discover(MAC1, 1).encode(), now=0)).message
    effects = s.receive(Message.request(MAC1, 1, requested_ip=offer.yiaddr, server_id=SID).encode(), now=0)
    a = one(effects).message.yiaddr
    assert any(line.startswith(a + ",") for line in path.read_text().splitlines())
    leased = next(i for i, e in enumerate(effects) if isinstance(e, Note) and "leased to" in e.text)
    ack = next(i for i, e in enumerate(effects) if isinstance(e, Outgoing))
    assert "written to disk before the ACK" in effects[leased].text and leased < ack
    s.store.close()


# -- properties -------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ADDRS = st.sampled_from(["0.0.0.0", "192.0.2.100", "192.0.2.101", "192.0.2.102", "198.51.100.5"])
_MSG = st.tuples(
    st.sampled_from(["discover", "select", "reboot", "renew", "rebind", "decline", "release", "inform"]),
    st.integers(0, 3),  # which client
    _ADDRS,
    st.sampled_from([SID, "192.0.2.2"]),
    st.integers(0, 400),  # seconds later
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_MSG, max_size=40))
def test_any_message_sequence_keeps_one_client_per_address(script):
    """Whatever clients send, the server never crashes, never leases one address to two
    clients, and never gives one client two running leases."""
    s = make_server(pool=("192.0.2.100", "192.0.2.102"), lease_time=300, offer_hold=30)
    now = 0.0
    for kind, who, addr, sid, dt in script:
        now += dt
        mac = f"02:00:00:00:01:{who:02x}"
        m = {
            "discover": lambda: Message.discover(mac, who),
            "select": lambda: Message.request(mac, who, requested_ip=addr, server_id=sid),
            "reboot": lambda: Message.request(mac, who, requested_ip=addr),
            "renew": lambda: Message.request(mac, who, ciaddr=addr),
            "rebind": lambda: Message.request(mac, who, ciaddr=addr),
            "decline": lambda: Message.decline(mac, who, requested_ip=addr, server_id=sid),
            "release": lambda: Message.release(mac, who, ciaddr=addr, server_id=sid),
            "inform": lambda: Message.inform(mac, who, ciaddr=addr),
        }[kind]()
        dst = SID if kind in ("renew", "release") else "255.255.255.255"
        for out in replies(s.receive(m.encode(), dst_ip=dst, now=now)):
            if out.message.message_type == MessageType.ACK and kind != "inform":
                got = s.store.lease_at(out.message.yiaddr)
                assert got is not None and got.key == "hw:" + mac and got.active(now)
        active = s.store.active_leases(now)
        assert len({x.address for x in active}) == len(active)
        assert len({x.key for x in active}) == len(active)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600), st.lists(st.tuples(st.integers(0, 299), st.integers(0, 255)), max_size=8))
def test_random_and_damaged_bytes_never_crash_the_server(data, damage):
    """Bad input gets a log line, never an exception: random bytes, and a real REQUEST with bytes overwritten."""
    s = make_server()
    assert isinstance(s.receive(data, now=0.0), list)
    raw = bytearray(Message.request(MAC1, 1, requested_ip="192.0.2.100", server_id=SID, params=[1, 3]).encode())
    for offset, value in damage:
        raw[offset] = value
    assert isinstance(s.receive(bytes(raw), now=0.0), list)
    assert replies(s.receive(Message.discover(MAC2, 2).encode(), now=1.0))  # still serving
