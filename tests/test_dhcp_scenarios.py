"""The ready-made DHCP scenarios: each runs, its trace has the expected kinds in
order, and the RFC rule it exists to show is visible in the trace."""

from __future__ import annotations

import pytest

from refimpl.dhcp import scenarios
from refimpl.dhcp.describe import UNDECODABLE, describe_datagram
from refimpl.dhcp.describe import summary as summarize
from refimpl.dhcp.message import Message

HANDSHAKE = ["DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]


def dhcp_kinds(trace, src=None):
    return [e.kind for e in trace if e.flow == "dhcp" and (src is None or e.src == src)]


def test_describe_reads_kind_and_key_fields():
    request = Message.request("02:00:00:00:00:01", 0x1234, ciaddr="192.0.2.7", server_id="192.0.2.1")
    kind, summary, message = describe_datagram(request.encode())
    assert kind == "DHCPREQUEST"
    assert "xid=0x00001234" in summary and "ciaddr=192.0.2.7" in summary and "sid=192.0.2.1" in summary
    assert "yiaddr" not in summary  # zero addresses are left out
    assert message.xid == 0x1234
    assert summarize(Message.discover("02:00:00:00:00:01", 1, broadcast=True)).endswith(" B")
    assert describe_datagram(b"\x01junk")[::2] == (UNDECODABLE, None)  # as a capture reader labels it


def test_one_client_four_steps_and_ports():
    run = scenarios.one_client()
    assert dhcp_kinds(run.trace) == HANDSHAKE
    discover, offer, request, ack = run.trace.where(flow="dhcp")
    # RFC 2131 §4.1: client 0.0.0.0:68 -> 255.255.255.255:67, server answers to port 68
    assert (discover.src_ip, discover.src_port, discover.dst_ip, discover.dst_port) == (
        "0.0.0.0",
        68,
        "255.255.255.255",
        67,
    )
    assert discover.is_broadcast and request.is_broadcast
    # broadcast bit clear: OFFER and ACK unicast to yiaddr (a common tutorial claim says always broadcast;
    # RFC 2131 §4.1 broadcasts only when the client sets the bit)
    assert not offer.is_broadcast and offer.dst_ip == offer.message.yiaddr and offer.dst_port == 68
    assert not ack.is_broadcast and ack.src_port == 67
    assert len({e.message.xid for e in (discover, offer, request, ack)}) == 1
    assert run.client.state == "BOUND" and run.client.host.ip == ack.message.yiaddr
    assert run.states()[0] == "SELECTING" and run.states()[-1] == "BOUND"


def test_broadcast_bit_makes_replies_broadcast():
    run = scenarios.one_client(broadcast=True)
    offer, ack = [e for e in run.trace if e.kind in ("DHCPOFFER", "DHCPACK")]
    assert offer.is_broadcast and ack.is_broadcast and offer.dst_ip == "255.255.255.255"


def test_lost_offer_is_retransmitted_with_same_xid():
    run = scenarios.one_client(drop={"DHCPOFFER": {1}}, until=20)
    discovers = [e for e in run.trace if e.kind == "DHCPDISCOVER"]
    assert len(discovers) == 2 and discovers[0].message.xid == discovers[1].message.xid
    gap = discovers[1].time - discovers[0].time
    assert 3.0 <= gap <= 5.0  # RFC 2131 §4.1: first wait 4 s +- 1 s
    assert [e.lost for e in run.trace if e.kind == "DHCPOFFER"] == [True, False]
    assert run.client.state == "BOUND"


def test_three_clients_get_three_addresses():
    run = scenarios.three_clients()
    acks = [e for e in run.trace if e.kind == "DHCPACK"]
    assert len(acks) == 3 and len({e.message.yiaddr for e in acks}) == 3
    for name, host in run.clients.items():
        assert dhcp_kinds(run.trace, src=name) == ["DHCPDISCOVER", "DHCPREQUEST"]
        assert host.state == "BOUND"
    assert len({e.message.xid for e in acks}) == 3


def test_two_servers_the_request_names_one():
    run = scenarios.two_servers()
    assert dhcp_kinds(run.trace) == ["DHCPDISCOVER", "DHCPOFFER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK"]
    request = next(e for e in run.trace if e.kind == "DHCPREQUEST")
    ack = next(e for e in run.trace if e.kind == "DHCPACK")
    assert request.message.get("server_id") == ack.message.get("server_id") == "192.0.2.1"
    assert ack.src == "dhcp-a"
    # RFC 2131 §3.1 step 4: the other server takes the REQUEST as "declined" and withdraws its offer
    assert any("withdrawn" in line for line in run.servers["dhcp-b"].log)
    assert run.servers["dhcp-b"].server.store.offers == {}


@pytest.mark.parametrize("servers", [1, 2])
def test_relay_replies_go_to_giaddr_port_67(servers):
    run = scenarios.relay(servers=servers)
    relayed = [e for e in run.trace if e.src == "relay" and e.dst.startswith("server")]
    assert relayed and all(e.message.giaddr == "198.51.100.1" and e.message.hops == 1 for e in relayed)
    assert all(e.dst_port == 67 and not e.is_broadcast for e in relayed)
    assert all(82 in e.message.options for e in relayed)  # RFC 3046: option 82 added
    replies = [e for e in run.trace if e.src.startswith("server")]
    assert replies and all((e.dst_ip, e.dst_port) == ("198.51.100.1", 67) for e in replies)  # RFC 2131 §4.1
    to_client = [e for e in run.trace if e.src == "relay" and e.dst == "client"]
    assert to_client and all(e.dst_port == 68 and 82 not in e.message.options for e in to_client)
    assert len([e for e in replies if e.kind == "DHCPOFFER"]) == servers
    assert run.client.state == "BOUND" and run.client.host.ip.startswith("198.51.100.")


def test_pool_exhaustion_third_client_falls_back():
    run = scenarios.pool_exhaustion()
    assert [run.clients[n].state for n in ("pc1", "pc2", "pc3")] == ["BOUND", "BOUND", "LINK-LOCAL"]
    assert dhcp_kinds(run.trace, src="pc3") == ["DHCPDISCOVER"] * 5
    assert not any(e.kind == "DHCPOFFER" and e.dst == "pc3" for e in run.trace)
    assert run.clients["pc3"].host.ip.startswith("169.254.")


def test_address_conflict_declines_and_gets_another():
    run = scenarios.address_conflict()
    assert dhcp_kinds(run.trace) == HANDSHAKE + ["DHCPDECLINE"] + HANDSHAKE
    kinds = run.trace.kinds()
    assert kinds.index("ARP reply") < kinds.index("DHCPDECLINE")
    decline = next(e for e in run.trace if e.kind == "DHCPDECLINE")
    second = [e for e in run.trace if e.kind == "DHCPDISCOVER"][1]
    assert second.time - decline.time >= 10.0 - 0.01  # RFC 2131 §3.1 step 5: wait at least 10 s
    assert run.client.host.ip != decline.message.get("requested_ip")


def test_no_server_backoff_then_link_local():
    run = scenarios.no_server()
    times = [e.time for e in run.trace if e.kind == "DHCPDISCOVER"]
    assert len(times) == 5 and all(e.lost for e in run.trace if e.kind == "DHCPDISCOVER")
    gaps = [b - a for a, b in zip(times, times[1:])]
    for gap, nominal in zip(gaps, (4, 8, 16, 32)):
        assert nominal - 1 <= gap <= nominal + 1  # RFC 2131 §4.1
    assert run.client.state == "LINK-LOCAL" and run.client.host.ip.startswith("169.254.")


def test_no_server_then_server_comes_back():
    run = scenarios.no_server(server_at=250, until=500)
    assert run.client.state == "BOUND" and run.client.host.ip == "192.0.2.100"
    ll = [c for c in run.changes() if c.event == "retry timer"]
    assert (
        ll
        and 299
        <= ll[0].time - next(c.time for c in run.changes() if c.after == "LINK-LOCAL" and c.event == "address free")
        <= 301
    )


def test_lease_life_renew_rebind_expire():
    run = scenarios.lease_life()
    events = [c.event for c in run.changes()]
    for expected in ("T1 expires", "T2 expires", "lease expires"):
        assert expected in events
    bound = next(c for c in run.changes() if c.after == "BOUND")
    t1 = next(c for c in run.changes() if c.event == "T1 expires")
    t2 = next(c for c in run.changes() if c.event == "T2 expires")
    start = 0.002  # the REQUEST was sent at t=0.002 (RFC 2131 §4.4.1: count from there)
    assert t1.time == pytest.approx(start + 300) and t2.time == pytest.approx(start + 525)
    assert bound.time < t1.time
    renews = [e for e in run.trace if e.kind == "DHCPREQUEST" and e.dst == "dhcp-a"]
    assert renews and all(e.lost and e.message.ciaddr == "192.0.2.100" for e in renews)
    rebind = next(e for e in run.trace if e.kind == "DHCPREQUEST" and e.time > t2.time)
    assert rebind.is_broadcast and rebind.message.get("server_id") is None
    ack = next(e for e in run.trace if e.kind == "DHCPACK" and e.time > t2.time)
    assert ack.src == "dhcp-b"
    # a common tutorial claim says a RELEASE is sent at expiry; RFC 2131 §4.4.5: the client just stops
    assert "DHCPRELEASE" not in run.trace.kinds()
    expired = next(c for c in run.changes() if c.event == "lease expires")
    assert run.client.host.ip != "192.0.2.100" and expired.after == "INIT"


def test_release_then_same_address_again():
    run = scenarios.release()
    rel = next(e for e in run.trace if e.kind == "DHCPRELEASE")
    assert not rel.is_broadcast and rel.dst == "server" and rel.message.ciaddr == "192.0.2.100"
    assert "RELEASE: 192.0.2.100 freed" in "\n".join(run.server.log)
    assert dhcp_kinds(run.trace) == HANDSHAKE + ["DHCPRELEASE"] + HANDSHAKE
    assert run.client.host.ip == "192.0.2.100"


def test_init_reboot_ack_and_nak():
    run = scenarios.init_reboot()
    reboot = [e for e in run.trace if e.kind == "DHCPREQUEST"][-1]
    assert reboot.message.get("requested_ip") == "192.0.2.100" and reboot.message.get("server_id") is None
    assert run.trace.kinds()[-1] == "DHCPACK" and run.client.state == "BOUND"
    moved = scenarios.init_reboot(moved=True)
    kinds = dhcp_kinds(moved.trace)
    assert kinds[:2] == ["DHCPREQUEST", "DHCPNAK"] and kinds[2:] == HANDSHAKE
    nak = next(e for e in moved.trace if e.kind == "DHCPNAK")
    assert nak.is_broadcast  # RFC 2131 §4.1: NAKs are broadcast when giaddr is 0
    assert moved.client.state == "BOUND"


@pytest.mark.parametrize("name", sorted(scenarios.SCENARIOS))
def test_every_scenario_is_deterministic(name):
    a = scenarios.SCENARIOS[name]()
    b = scenarios.SCENARIOS[name]()
    assert a.trace.table() == b.trace.table() and len(a.trace) > 0
    assert len(a.states()) == len(a.trace)


def test_server_on_several_segments_answers_on_the_right_one():
    from refimpl.bench import dhcp_sim

    seconds, bound, events = dhcp_sim.simulate(clients=250)
    assert bound == 250 and events == 5 * 250  # DISCOVER, OFFER, REQUEST, ACK, ARP probe each
    seconds, bound = dhcp_sim.bare(clients=50)
    assert bound == 50
    lines = dhcp_sim.run(clients=40)
    assert len(lines) == 3 and "40 bound" in lines[0]


def test_inform_gets_configuration_without_lease():
    run = scenarios.inform()
    assert dhcp_kinds(run.trace) == ["DHCPINFORM", "DHCPACK"]
    inform, ack = run.trace.where(flow="dhcp")
    assert inform.src_ip == "192.0.2.50" and inform.message.ciaddr == "192.0.2.50"
    # RFC 2131 §4.3.5: no lease time, no yiaddr, unicast to ciaddr
    assert ack.message.get("lease_time") is None and ack.message.yiaddr == "0.0.0.0"
    assert (ack.dst_ip, ack.dst_port) == ("192.0.2.50", 68) and not ack.is_broadcast
    assert run.client.state == "INFORMED" and ack.message.get("router") == ["192.0.2.1"]


def test_each_scenario_shows_its_own_xid_by_default():
    """Issue 12: with one shared default seed, every story started with the same xid, and a
    student comparing two traces could think the xid is a constant of the protocol."""
    stories = {
        "one_client": scenarios.one_client,
        "three_clients": scenarios.three_clients,
        "two_servers": scenarios.two_servers,
        "relay": scenarios.relay,
        "pool_exhaustion": scenarios.pool_exhaustion,
        "address_conflict": scenarios.address_conflict,
        "no_server": scenarios.no_server,
        "lease_life": scenarios.lease_life,
        "release": scenarios.release,
        "init_reboot": scenarios.init_reboot,
        "inform": scenarios.inform,
        "diagnose_broadcast_ignored": scenarios.diagnose_broadcast_ignored,
        "diagnose_relay_nak": scenarios.diagnose_relay_nak,
        "diagnose_renew_time": scenarios.diagnose_renew_time,
    }
    first_xid = {}
    for name, story in stories.items():
        first = next(e for e in story().trace if e.message is not None and hasattr(e.message, "xid"))
        first_xid[name] = first.message.xid
    assert len(set(first_xid.values())) == len(stories), first_xid
