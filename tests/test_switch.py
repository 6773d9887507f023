"""The simulated switch (refimpl/sim/switch.py): ports, MAC learning, flooding, limits, hooks (issue 14).

Protocol-agnostic on purpose: these tests send plain UDP and never name DHCP.
"""

from __future__ import annotations

import pytest

from refimpl.sim.network import Network
from refimpl.sim.switch import add_switch


def lan(**port_options):
    net = Network(seed=1)
    sw = add_switch(net, "sw", "192.0.2.0/24")
    hosts = {}
    for k, name in enumerate(("a", "b", "c"), start=1):
        hosts[name] = net.host(name, sw.port(f"p{k}", **port_options.get(name, {})), ip=f"192.0.2.{k}/24")
        hosts[name].udp(9)  # keeps what it receives
    return net, sw, hosts


def got(host) -> list[bytes]:
    return [p.payload for p in host.udp_sockets[9].received]


def test_a_broadcast_is_flooded_to_every_other_port():
    net, sw, h = lan()
    h["a"].send_udp(9, "255.255.255.255", 9, b"hello all")
    net.run(until=1)
    assert got(h["b"]) == got(h["c"]) == [b"hello all"] and got(h["a"]) == []
    hops = [(e.src, e.dst) for e in net.trace]
    assert hops == [("a", "*"), ("sw", "*"), ("sw", "*")], "one hop to the switch, one out of each other port"


def test_a_unicast_leaves_by_one_port_only():
    net, sw, h = lan()
    h["a"].send_udp(9, "192.0.2.3", 9, b"for c")
    net.run(until=1)
    assert got(h["c"]) == [b"for c"] and got(h["b"]) == []
    assert [(e.src, e.dst) for e in net.trace] == [("a", "sw"), ("sw", "c")]


def test_the_switch_learns_macs_and_their_ports():
    net, sw, h = lan()
    h["a"].send_udp(9, "255.255.255.255", 9, b"x")
    net.run(until=1)
    assert sw.port_for_mac(h["a"].mac).name == "p1"
    assert sw.port_for_mac(h["b"].mac) is None  # b has sent nothing yet


def test_a_unicast_to_nobody_is_lost_on_the_senders_cable():
    net, sw, h = lan()
    h["a"].send_udp(9, "192.0.2.77", 9, b"?")
    net.run(until=1)
    (event,) = net.trace
    assert event.lost and "no host 192.0.2.77" in event.summary
    assert got(h["b"]) == got(h["c"]) == []


def test_a_flood_beyond_the_rate_limit_is_dropped_at_the_port():
    net, sw, h = lan(a={"rate": 5.0, "burst": 5})
    for k in range(50):  # 50 packets in 0.5 s against 5/s with a burst of 5
        net.call_at(k * 0.01, h["a"].send_udp, 9, "192.0.2.2", 9, b"%d" % k)
    net.run(until=2)
    passed = len(got(h["b"]))
    assert 5 <= passed <= 8, passed  # the burst, plus what 0.5 s refills
    assert sw.ports["p1"].dropped == {"port p1 over its rate limit (5/s)": 50 - passed}
    assert any("over its rate limit" in e.summary for e in net.trace if e.lost)


def test_the_rate_limit_counts_only_what_it_matches():
    net, sw, h = lan()
    sw.limit("p1", 1.0, 1, match=lambda packet: packet.dst_port == 7)
    for _ in range(10):
        h["a"].send_udp(9, "192.0.2.2", 9, b"free")
    net.run(until=1)
    assert len(got(h["b"])) == 10


def test_port_security_admits_only_max_macs_source_macs():
    net, sw, h = lan(a={"max_macs": 2})
    a = h["a"]
    for k in range(5):
        a.iface.mac = f"0e:00:00:00:00:{k:02x}"  # a host that changes its MAC for every frame
        a.send_udp(9, "192.0.2.2", 9, b"%d" % k)
    net.run(until=1)
    assert got(h["b"]) == [b"0", b"1"]
    assert sw.ports["p1"].macs == ["0e:00:00:00:00:00", "0e:00:00:00:00:01"]


def test_an_ingress_hook_sees_the_port_and_can_drop_with_a_reason():
    net, sw, h = lan()
    seen = []

    def hook(switch, packet, port):
        seen.append(port.name)
        return "no port 9 on p2" if port.name == "p2" and packet.dst_port == 9 else packet

    sw.add_ingress(hook)
    h["b"].send_udp(9, "192.0.2.1", 9, b"from b")
    h["c"].send_udp(9, "192.0.2.1", 9, b"from c")
    net.run(until=1)
    assert got(h["a"]) == [b"from c"] and seen == ["p2", "p3"]
    lost = [e for e in net.trace if e.lost]
    assert len(lost) == 1 and "blocked by sw: no port 9 on p2" in lost[0].summary


def test_an_egress_hook_can_rewrite_each_copy():
    net, sw, h = lan()
    sw.add_egress(lambda switch, packet, port: _retag(packet, port.name))
    h["a"].send_udp(9, "255.255.255.255", 9, b"x")
    net.run(until=1)
    assert got(h["b"]) == [b"x via p2"] and got(h["c"]) == [b"x via p3"]


def _retag(packet, name):
    packet.payload += f" via {name}".encode()
    return packet


def test_a_host_spoofing_another_ports_mac_moves_the_mac_table_not_the_port():
    net, sw, h = lan()
    h["a"].send_udp(9, "255.255.255.255", 9, b"a")
    h["c"].iface.mac = h["a"].mac  # c claims a's MAC
    net.call_at(0.5, h["c"].send_udp, 9, "255.255.255.255", 9, b"c")
    ports = []
    sw.add_ingress(lambda switch, packet, port: ports.append(port.name) or packet)
    net.run(until=1)
    assert ports == ["p1", "p3"], "the switch knows the cable each frame came in on"
    assert sw.port_for_mac(h["a"].mac).name == "p3"  # the MAC table was fooled, the port was not


def test_port_names_are_unique_and_limits_must_make_sense():
    net = Network(seed=1)
    sw = add_switch(net, "sw")
    sw.port("p1")
    with pytest.raises(ValueError):
        sw.port("p1")
    with pytest.raises(ValueError):
        sw.limit("p1", 0.0)
    with pytest.raises(ValueError):
        add_switch(net, "sw")
