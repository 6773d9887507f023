"""DHCP snooping on the simulated switch (refimpl/dhcp/snooping.py), with the attacks it must stop (issue 14)."""

from __future__ import annotations

from refimpl.dhcp import attacks
from refimpl.dhcp.message import Message
from refimpl.dhcp.scenarios import _client, _server
from refimpl.dhcp.sim_glue import register
from refimpl.dhcp.snooping import DhcpSnooping, is_dhcp, is_from_client, is_from_server
from refimpl.sim.network import Network
from refimpl.sim.packet import Packet
from refimpl.sim.switch import add_switch


def test_the_port_tests_read_only_udp_ports():
    offer = Packet("udp", "192.0.2.1", 67, "255.255.255.255", 68)
    request = Packet("udp", "0.0.0.0", 68, "255.255.255.255", 67)
    other = Packet("tcp", "192.0.2.1", 67, "192.0.2.2", 68)
    assert is_from_server(offer) and not is_from_client(offer)
    assert is_from_client(request) and not is_from_server(request)
    assert is_dhcp(offer) and is_dhcp(request) and not is_dhcp(other)


# ---------------------------------------------------------------- the rogue server
def test_without_snooping_the_rogue_wins_on_the_switch_too():
    run = attacks.snooping_rogue(snooping=False)
    assert run.client.host.ip == "198.51.100.200" and run.client.host.gateway == attacks.ROGUE_IP


def test_snooping_drops_the_rogues_offer_and_the_client_gets_the_real_server():
    run = attacks.snooping_rogue()
    assert run.client.host.ip == "198.51.100.100" and run.client.host.gateway == "198.51.100.1"
    blocked = [e for e in run.trace if e.lost and e.src == "rogue"]
    assert blocked and all("untrusted port p2" in e.summary for e in blocked)
    assert not any(e.src == "switch" and e.kind == "DHCPOFFER" and e.message.yiaddr.endswith(".200") for e in run.trace)
    # the traffic goes to the real router, not to the rogue
    assert not any(e.dst == "rogue" and e.dst_port == 443 for e in run.trace)
    assert any(e.src == "switch" and e.dst == "router" and e.dst_port == 443 for e in run.trace)


def test_a_rogue_spoofing_the_trusted_ports_mac_is_still_dropped():
    probe = attacks.snooping_rogue(until=0.5)
    router_mac = probe.net.hosts["router"].interfaces[0].mac
    run = attacks.snooping_rogue(rogue_mac=router_mac)
    assert run.net.hosts["rogue"].mac == router_mac
    assert run.client.host.gateway == "198.51.100.1"
    assert run.switch.ports["p2"].dropped, "the rogue's OFFER is dropped on its own port"


def test_the_binding_table_learns_from_the_ack_on_the_clients_port():
    run = attacks.snooping_rogue()
    (binding,) = run.snooping.bindings.values()
    assert (binding.mac, binding.address, binding.port, binding.lease_time) == (
        run.client.host.mac,
        "198.51.100.100",
        "p1",
        3600,
    )


def test_option_82_is_added_for_the_server_and_removed_before_the_client():
    run = attacks.snooping_rogue()
    to_relay = next(e for e in run.trace if e.src == "switch" and e.dst == "*" and e.kind == "DHCPDISCOVER")
    assert to_relay.message.options[82] == {1: b"p1", 2: b"switch"}
    assert to_relay.message.giaddr == "0.0.0.0", "a switch adds option 82 but leaves giaddr (RFC 3046 §2.1)"
    at_server = next(e for e in run.trace if e.dst == "dhcp" and e.kind == "DHCPDISCOVER")
    assert at_server.message.options[82] == {1: b"p1", 2: b"switch"}
    echoed = next(e for e in run.trace if e.src == "dhcp" and e.kind == "DHCPACK")
    assert echoed.message.options[82] == {1: b"p1", 2: b"switch"}, "the server echoes it (RFC 3046 §2.2)"
    delivered = next(e for e in run.trace if e.src == "switch" and e.dst == "victim" and e.kind == "DHCPACK")
    assert 82 not in delivered.message.options


def test_the_switch_itself_strips_the_echoed_option_82_when_no_relay_did():
    net, sw, run, victim, forger, snooping = _switched()
    victim.start()
    net.run(until=5)
    from_server = next(e for e in run.trace if e.src == "server" and e.kind == "DHCPACK")
    to_victim = next(e for e in run.trace if e.src == "switch" and e.dst == "victim" and e.kind == "DHCPACK")
    assert from_server.message.options[82] == {1: b"p1", 2: b"switch"}
    assert 82 not in to_victim.message.options and victim.host.ip == "192.0.2.100"


def test_a_relay_that_does_not_trust_the_switch_drops_every_request():
    run = attacks.snooping_rogue(relay_trusts_switch=False)
    assert run.client.host.ip == "0.0.0.0"
    assert any("option 82 present with giaddr 0" in line for line in run.relays["router"].log)


def _switched(seed=31):
    net = Network(seed=seed)
    register(net)
    from refimpl.dhcp.scenarios import Scenario

    sw = add_switch(net, "switch", "192.0.2.0/24")
    run = Scenario("t", net)
    _server(run, sw.port("uplink", trusted=True), "server", "192.0.2.1", pool=("192.0.2.100", "192.0.2.119"))
    victim = _client(run, sw.port("p1"), "victim")
    forger = net.host("forger", sw.port("p3"), ip="192.0.2.66/24")
    snooping = DhcpSnooping(sw, rate=5.0, burst=5)
    return net, sw, run, victim, forger, snooping


def test_a_client_port_sending_a_server_reply_is_dropped():
    net, sw, run, victim, forger, snooping = _switched()
    victim.start()
    net.run(until=0.0015)  # the DISCOVER has reached the switch
    xid = victim.client.xid
    fake = Message.ack(
        Message.request(victim.host.mac, xid, requested_ip="192.0.2.66", server_id="192.0.2.66"),
        yiaddr="192.0.2.66",
        server_id="192.0.2.66",
        lease_time=60,
    )
    forger.send_udp(67, "255.255.255.255", 68, fake.encode())
    net.run(until=5)
    assert victim.host.ip == "192.0.2.100", "the real server's lease, not the forged ACK"
    assert any("untrusted port p3" in e.summary for e in run.trace if e.src == "forger")
    assert list(snooping.bindings.values())[0].address == "192.0.2.100"


def test_a_client_forging_option_82_is_dropped():
    net, sw, run, victim, forger, snooping = _switched()
    forger.udp(68)
    request = Message.discover(forger.mac, 0x1234)
    request.set(82, {1: b"uplink", 2: b"switch"})
    forger.send_udp(68, "255.255.255.255", 67, request.encode(), src_ip="0.0.0.0")
    net.run(until=1)
    assert run.server.log == []
    assert any("option 82 from a client" in line for line in snooping.log)


def test_a_release_removes_the_binding():
    net, sw, run, victim, forger, snooping = _switched()
    victim.start()
    victim.release(at=5.0)
    net.run(until=6)
    assert snooping.bindings == {}
    assert any("removed (DHCPRELEASE)" in line for line in snooping.log)


# ---------------------------------------------------------------- starvation
def test_starvation_on_a_plain_lan_takes_the_whole_pool():
    run = attacks.starvation()
    assert len(run.attacker.taken) == 20 and len(attacks.leased(run.server, run.net.now)) == 20
    assert run.clients["victim"].host.ip.startswith("169.254."), "the victim falls back to RFC 3927"


def test_verify_mac_stops_a_tool_that_spoofs_only_chaddr():
    run = attacks.snooping_starvation(spoof_source=False, rate=None)
    assert run.attacker.taken == [] and run.clients["victim"].state == "BOUND"
    assert any("is not the source MAC" in line for line in run.snooping.log)


def test_without_verify_mac_and_limit_the_switch_lets_the_starvation_through():
    run = attacks.snooping_starvation(spoof_source=False, verify_mac=False, rate=None)
    assert len(run.attacker.taken) == 20 and run.clients["victim"].host.ip.startswith("169.254.")


def test_a_flood_beyond_the_rate_limit_takes_almost_nothing():
    run = attacks.snooping_starvation(spoof_source=True, rate=5.0)
    dropped = run.switch.ports["p2"].dropped["port p2 over its rate limit (5/s)"]
    assert dropped > 30 and len(run.attacker.taken) <= 3
    assert run.clients["victim"].state == "BOUND"


def test_a_patient_attacker_below_the_rate_limit_still_drains_the_pool():
    run = attacks.snooping_starvation(spoof_source=True, rate=5.0, attack_rate=2.0)
    assert len(run.attacker.taken) == 19, "the limit slows the attack; it does not stop it"
    assert run.clients["victim"].state == "BOUND", "the victim came early enough to get the 20th"


def test_port_security_stops_the_tool_that_changes_its_mac():
    run = attacks.snooping_starvation(spoof_source=True, rate=None, max_macs=2, attack_rate=2.0)
    assert len(run.attacker.taken) == 2
    assert len(run.switch.ports["p2"].macs) == 2


# ---------------------------------------------------------------- IP source guard
def test_source_guard_drops_a_forged_and_an_unbound_source_but_not_the_bound_client():
    run = attacks.snooping_rogue(source_guard=True, forge=True)
    guarded = [e for e in run.trace if e.lost and "IP source guard" in e.summary]
    assert {e.src_ip for e in guarded} == {"198.51.100.100", attacks.ROGUE_IP}
    assert all(e.src == "rogue" for e in guarded), "the victim's own address passes only on the victim's port"
    assert any(e.src == "switch" and e.dst == "router" and e.src_ip == "198.51.100.100" for e in run.trace)
    got = [(p.src_ip, p.payload) for p in run.net.hosts["dns"].udp_sockets[53].received]
    assert got == [("198.51.100.100", b"bank.example? (a DNS query)")], "only the victim's own query arrives"


def test_without_source_guard_the_forged_source_gets_through():
    run = attacks.snooping_rogue(source_guard=False, forge=True)
    assert not any("IP source guard" in e.summary for e in run.trace)
    got = [(p.src_ip, p.payload) for p in run.net.hosts["dns"].udp_sockets[53].received]
    assert ("198.51.100.100", b"forged") in got and (attacks.ROGUE_IP, b"from its hand-set address") in got


def test_the_arp_probe_finds_a_hand_set_address_behind_another_port():
    """The sim answers an ARP probe for an address behind another port in the switch's name (a simplification);
    the client's conflict check must still work through the switch (RFC 2131 §2.2, §3.1 step 5)."""
    net, sw, run, victim, forger, snooping = _switched()
    net.host("printer", sw.port("p4"), ip="192.0.2.100/24")  # set by hand, unknown to the server
    victim.start()
    net.run(until=30)
    assert any(e.kind == "DHCPDECLINE" and e.src == "victim" for e in run.trace)
    assert victim.host.ip == "192.0.2.101" and victim.state == "BOUND"
