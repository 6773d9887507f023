"""The simulated network: clock, UDP, broadcast domains, loss injection, timers, ARP, routing."""

from __future__ import annotations

import ast
import pathlib
import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.sim.network import BROADCAST_IP, Network


def lan_with(*names, subnet="192.0.2.0/24", seed=0):
    """A network with one segment and hosts .1, .2, ... on it."""
    net = Network(seed=seed)
    lan = net.segment("lan", subnet)
    prefix = subnet.rsplit(".", 1)[0]
    hosts = [net.host(name, lan, ip=f"{prefix}.{i}") for i, name in enumerate(names, start=1)]
    return net, lan, hosts


def signature(trace):
    return [(e.time, e.src, e.dst, e.kind, e.lost, e.raw, e.src_port, e.dst_port) for e in trace]


# -- determinism ------------------------------------------------------------
def lossy_run(seed):
    net, lan, (a, b) = lan_with("a", "b", seed=seed)
    got = []
    b.udp(9, lambda pkt: got.append(pkt.payload))
    net.impair(loss=0.4, jitter=0.01)
    for k in range(40):
        a.call_at(k * 0.1, a.send_udp, 1000, b.ip, 9, b"n%d" % k)
    net.run(until=10)
    return net, got


def test_same_seed_gives_identical_trace():
    first, got1 = lossy_run(seed=7)
    second, got2 = lossy_run(seed=7)
    assert signature(first.trace) == signature(second.trace)
    assert got1 == got2
    assert 0 < len(got1) < 40  # some lost, some delivered


def test_different_seed_gives_different_losses():
    one, _ = lossy_run(seed=1)
    two, _ = lossy_run(seed=2)
    assert [e.lost for e in one.trace] != [e.lost for e in two.trace]


# -- UDP and broadcast ----------------------------------------------------------
def test_broadcast_reaches_every_host_on_the_segment_and_no_other():
    net = Network()
    lan, other = net.segment("lan", "192.0.2.0/24"), net.segment("other", "198.51.100.0/24")
    a = net.host("a", lan, ip="192.0.2.10")
    b = net.host("b", lan, ip="192.0.2.11")
    c = net.host("c", lan)  # no address yet
    d = net.host("d", other, ip="198.51.100.10", gateway="198.51.100.1")
    r = net.router("r", (lan, "192.0.2.1/24"), (other, "198.51.100.1/24"))
    heard = {}
    for host in (b, c, d, r):
        host.udp(67, lambda pkt, name=host.name: heard.setdefault(name, pkt.payload))
    a.send_udp(68, BROADCAST_IP, 67, b"anyone?")
    net.run(until=1)
    assert heard == {"b": b"anyone?", "c": b"anyone?", "r": b"anyone?"}
    (event,) = net.trace
    assert event.dst == "*" and event.is_broadcast and not event.lost
    assert set(event.reached) == {"b", "c", "r"}


def test_unconfigured_host_sends_from_0000_and_gets_broadcast_reply():
    net, lan, (server,) = lan_with("server")
    client = net.host("client", lan)
    assert client.ip == "0.0.0.0"
    replies = []
    server.udp(67, lambda pkt: server.send_udp(67, BROADCAST_IP, 68, b"offer:" + pkt.src_ip.encode()))
    client.udp(68, lambda pkt: replies.append(pkt.payload))
    client.send_udp(68, BROADCAST_IP, 67, b"discover")
    net.run(until=1)
    assert replies == [b"offer:0.0.0.0"]
    assert [(e.src_ip, e.dst_ip) for e in net.trace] == [("0.0.0.0", BROADCAST_IP), ("192.0.2.1", BROADCAST_IP)]


def test_unicast_to_a_mac_reaches_a_host_without_address():
    net, lan, (server,) = lan_with("server")
    client = net.host("client", lan, mac="02:00:00:00:00:aa")
    got = []
    client.udp(68, got.append)
    server.send_udp(67, "192.0.2.50", 68, b"offer", dst_mac="02:00:00:00:00:aa")
    net.run(until=1)
    assert [p.payload for p in got] == [b"offer"]
    assert net.trace[0].dst == "client" and not net.trace[0].lost


def test_datagram_to_port_without_listener_is_recorded_lost():
    net, lan, (a, b) = lan_with("a", "b")
    a.send_udp(5000, b.ip, 6000, b"hello")
    a.send_udp(5000, "192.0.2.99", 6000, b"nobody")
    net.run(until=1)
    first, second = net.trace
    assert first.lost and "no listener on 6000" in first.summary and first.dst == "b"
    assert second.lost and "no host" in second.summary


def test_decoder_names_packets_and_bad_bytes_do_not_stop_the_sim():
    net, lan, (a, b) = lan_with("a", "b")
    b.udp(67)

    def decode(raw):
        if raw[:1] != b"D":
            raise ValueError("not a D message")
        return "DMSG", f"len={len(raw)}", {"raw": raw}

    net.describe(67, decode, flow="demo")
    a.send_udp(68, b.ip, 67, b"D123")
    a.send_udp(68, b.ip, 67, b"xx")
    net.run(until=1)
    good, bad = net.trace
    assert (good.kind, good.summary, good.flow, good.message) == ("DMSG", "len=4", "demo", {"raw": b"D123"})
    assert bad.kind == "?" and "not a D message" in bad.summary
    assert len(b.udp_sockets[67].received) == 2  # delivered anyway


# -- loss and delay injection ---------------------------------------------------
def test_drop_the_second_packet_exactly():
    net, lan, (a, b) = lan_with("a", "b")
    got = []
    b.udp(9, lambda pkt: got.append(pkt.payload))
    rule = net.impair(src="a", drop_nth={2})
    for k in range(1, 5):
        a.call_at(k, a.send_udp, 1000, b.ip, 9, b"%d" % k)
    net.run(until=10)
    assert got == [b"1", b"3", b"4"]
    assert [e.lost for e in net.trace] == [False, True, False, False]
    assert (rule.count, rule.dropped) == (4, 1)


def test_drop_by_kind_and_delay_injection():
    net, lan, (a, b) = lan_with("a", "b")
    net.describe(9, lambda raw: (raw.decode().split()[0], "", None))
    got = []
    b.udp(9, lambda pkt: got.append((round(net.now, 3), pkt.payload)))
    net.impair(kind="OFFER", drop_nth={1})
    net.impair(kind="ACK", delay=0.5)
    a.send_udp(1, b.ip, 9, b"OFFER one")
    a.send_udp(1, b.ip, 9, b"OFFER two")
    a.send_udp(1, b.ip, 9, b"ACK three")
    net.run(until=2)
    assert got == [(0.001, b"OFFER two"), (0.5, b"ACK three")]


def test_random_loss_rate_is_roughly_the_probability():
    net, lan, (a, b) = lan_with("a", "b", seed=3)
    b.udp(9)
    net.impair(loss=0.25)
    for k in range(400):
        a.call_at(k * 0.01, a.send_udp, 1, b.ip, 9, b"x")
    net.run(until=10)
    lost = sum(e.lost for e in net.trace)
    assert 60 < lost < 140


def test_bad_impairment_is_refused():
    net, lan, _ = lan_with("a")
    with pytest.raises(ValueError):
        net.impair(loss=1.5)


# -- clock, timers, bounded runs ----------------------------------------------------
def test_timers_run_in_time_order_and_can_be_cancelled():
    net, lan, (a,) = lan_with("a")
    calls = []
    a.call_at(3.0, calls.append, "three")
    a.call_at(1.0, calls.append, "one")
    a.call_later(2.0, calls.append, "two")
    a.call_at(2.5, calls.append, "cancelled").cancel()
    net.run()
    assert calls == ["one", "two", "three"]
    assert net.now == 3.0


def test_set_timer_keeps_one_timer_per_name():
    """The sans-I/O pattern: re-arm the core's timer after each input."""
    net, lan, (a,) = lan_with("a")
    fired = []
    a.set_timer("t1", 5.0, lambda: fired.append(("t1", net.now)))
    a.set_timer("t1", 2.0, lambda: fired.append(("t1-again", net.now)))
    a.set_timer("t2", 1.0, lambda: fired.append(("t2", net.now)))
    a.set_timer("t2", None, lambda: None)  # None cancels
    net.run(until=10)
    assert fired == [("t1-again", 2.0)]


def test_run_is_bounded_by_events_and_by_time():
    net, lan, (a,) = lan_with("a")
    ticks = []

    def tick():
        ticks.append(net.now)
        a.call_later(1.0, tick)  # forever, unless run() stops

    a.call_at(0.0, tick)
    assert net.run(max_events=50) == 50
    assert len(ticks) == 50
    done = net.run(until=60.5)
    assert net.now == 60.5 and ticks[-1] == 60.0 and done == 11
    assert net.pending() == 1


def test_callbacks_never_go_back_in_time():
    net, lan, (a,) = lan_with("a")
    net.run(until=5)
    seen = []
    a.call_at(1.0, lambda: seen.append(net.now))
    net.run()
    assert seen == [5.0]


# -- ARP probe ---------------------------------------------------------------
def test_arp_probe_answers_from_configured_interfaces():
    net, lan, (server, printer) = lan_with("server", "printer")
    client = net.host("client", lan)
    assert client.arp_probe("192.0.2.2") is True
    assert client.arp_probe("192.0.2.77") is False
    kinds = [(e.src, e.dst, e.kind) for e in net.trace]
    assert kinds == [
        ("client", "*", "ARP probe"),
        ("printer", "client", "ARP reply"),
        ("client", "*", "ARP probe"),
    ]
    assert net.trace[0].src_ip == "0.0.0.0"  # RFC 5227 §2.1.1: sender IP all zeros
    assert printer.mac in net.trace[1].summary


# -- routing and boxes ---------------------------------------------------------
def test_router_forwards_unicast_between_segments():
    net = Network()
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("wan", "198.51.100.0/24")
    a = net.host("a", lan, ip="192.0.2.10", gateway="192.0.2.1")
    d = net.host("d", wan, ip="198.51.100.20", gateway="198.51.100.1")
    net.router("r", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))
    got = []
    d.udp(9, lambda pkt: got.append((pkt.src_ip, pkt.payload)))
    a.send_udp(1, d.ip, 9, b"via r")
    net.run(until=1)
    assert got == [("192.0.2.10", b"via r")]
    assert [(e.src, e.dst) for e in net.trace] == [("a", "r"), ("r", "d")]


def test_box_hook_can_rewrite_and_drop():
    net = Network()
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("wan", "198.51.100.0/24")
    a = net.host("a", lan, ip="192.0.2.10", gateway="192.0.2.1")
    d = net.host("d", wan, ip="198.51.100.20")
    seen = []

    def hook(box, packet, iface):
        seen.append((box.name, iface.segment.name, packet.dst_port))
        if packet.dst_port == 23:
            return None  # no telnet through this box
        packet.payload = packet.payload.upper()
        return packet

    net.box("mb", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"), hook=hook)
    got = []
    d.udp(9, lambda pkt: got.append(pkt.payload))
    d.udp(23, lambda pkt: got.append(pkt.payload))
    a.send_udp(1, d.ip, 9, b"hello")
    a.send_udp(1, d.ip, 23, b"telnet")
    net.run(until=1)
    assert got == [b"HELLO"]
    assert seen == [("mb", "lan", 9), ("mb", "lan", 23)]
    blocked = [e for e in net.trace if e.lost]
    assert len(blocked) == 1 and "blocked by mb" in blocked[0].summary


def test_no_route_is_recorded_lost():
    net, lan, (a,) = lan_with("a")
    a.send_udp(1, "203.0.113.9", 9, b"far away")
    net.run(until=1)
    (event,) = net.trace
    assert event.lost and "no route" in event.summary


def test_notes_and_addresses_go_into_the_trace():
    net, lan, (a,) = lan_with("a")
    client = net.host("client", lan)
    net.run(until=2)
    net.note(client, "T1 reached", "renewing")
    client.configure("192.0.2.50/24", gateway="192.0.2.1")
    (note,) = net.trace
    assert (note.time, note.src, note.transport, note.kind, note.summary) == (
        2.0,
        "client",
        "note",
        "T1 reached",
        "renewing",
    )
    assert net.trace.addresses["client"] == ["0.0.0.0", "192.0.2.50"]
    assert client.gateway == "192.0.2.1"


def test_bad_input_gets_clear_errors():
    net, lan, (a,) = lan_with("a")
    with pytest.raises(ValueError):
        net.host("a", lan)
    with pytest.raises(TypeError):
        a.send_udp(1, "192.0.2.9", 9, "not bytes")
    with pytest.raises(ValueError):
        a.configure("192.0.2.300")
    a.udp(9)
    with pytest.raises(OSError):
        a.udp(9)


def test_ephemeral_ports_count_from_a_chosen_port_and_wrap():
    net, lan, (a,) = lan_with("a")
    a.count_ephemeral_ports_from(65535)
    a.udp(49152)  # taken: skipped after the wrap
    assert [a.ephemeral_port(), a.ephemeral_port()] == [65535, 49153]
    for bad in (80, 0, 65536):
        with pytest.raises(ValueError, match="1024-65535"):
            a.count_ephemeral_ports_from(bad)


def test_importing_sim_and_viz_stays_light():
    code = (
        "import sys, refimpl.sim.network, refimpl.sim.packet, refimpl.sim.host, refimpl.sim.tcp, refimpl.sim.boxes,"
        " refimpl.viz.sequence, refimpl.viz.player;"
        "heavy = [m for m in ('matplotlib', 'ipywidgets', 'scapy') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


SIM_SOURCES = sorted((pathlib.Path(__file__).parent.parent / "refimpl" / "sim").glob("*.py"))


def code_without_docstrings(tree: ast.Module) -> list[ast.AST]:
    """Every node of ``tree`` except docstrings: what the module does, not what it says."""
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    return [node for node in ast.walk(tree) if id(node) not in docstrings]


@pytest.mark.parametrize("path", SIM_SOURCES, ids=lambda p: p.name)
def test_sim_modules_talk_through_public_names_only(path):
    """A module of sim/ touches only its own underscore names (``self._x``), never another object's."""
    tree = ast.parse(path.read_text())
    private = [
        f"{path.name}:{node.lineno}: .{node.attr}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id == "self")
    ]
    assert private == []


@pytest.mark.parametrize("path", SIM_SOURCES, ids=lambda p: p.name)
def test_sim_knows_no_protocol_and_imports_only_the_standard_library(path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            imported.add(node.module)
    outside = {m for m in imported if m.split(".")[0] not in sys.stdlib_module_names}
    assert all(m == "refimpl.trace" or m.startswith("refimpl.sim.") for m in outside), outside
    protocol = re.compile(r"dhcp|bootp|ftp", re.IGNORECASE)  # "ftp" also catches TFTP
    named = []
    for node in code_without_docstrings(tree):
        for text in (
            getattr(node, "id", None),
            getattr(node, "attr", None),
            getattr(node, "name", None),
            node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None,
        ):
            if isinstance(text, str) and protocol.search(text):
                named.append(f"{path.name}:{getattr(node, 'lineno', '?')}: {text!r}")
    assert named == []


def test_a_relay_host_joins_two_segments_and_forwards_by_hand():
    """The shape a DHCP relay agent needs (RFC 2131 §4.1, RFC 1542 §4): hear a broadcast on one
    side, unicast it to the server, get the reply on port 67 and broadcast it back."""
    net = Network()
    clients, servers = net.segment("clients", "192.0.2.0/24"), net.segment("servers", "198.51.100.0/24")
    client = net.host("client", clients)
    server = net.host("server", servers, ip="198.51.100.5", gateway="198.51.100.1")
    relay = net.host("relay")
    inside = relay.attach(clients, "192.0.2.1/24")
    relay.attach(servers, "198.51.100.1/24")

    def relay_handler(pkt):
        if pkt.iface is inside:  # from a client: to the server, from our address on the client side
            relay.send_udp(67, server.ip, 67, pkt.payload + b" giaddr=" + inside.ip.encode())
        else:  # the server's answer: back onto the client segment
            relay.send_udp(67, BROADCAST_IP, 68, pkt.payload, iface=inside)

    relay.udp(67, relay_handler)
    server.udp(67, lambda pkt: server.send_udp(67, "192.0.2.1", 67, b"OFFER for " + pkt.payload))
    got = []
    client.udp(68, lambda pkt: got.append(pkt.payload))
    client.send_udp(68, BROADCAST_IP, 67, b"DISCOVER")
    net.run(until=1)
    assert got == [b"OFFER for DISCOVER giaddr=192.0.2.1"]
    hops = [(e.src, e.dst, e.dst_ip) for e in net.trace]
    assert hops == [
        ("client", "*", BROADCAST_IP),
        ("relay", "server", "198.51.100.5"),
        ("server", "relay", "192.0.2.1"),  # routed back via the gateway, which is the relay
        ("relay", "*", BROADCAST_IP),
    ]
    assert net.trace[0].reached == ("relay",) and net.trace[3].reached == ("client",)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    loss=st.floats(0.0, 1.0),
    jitter=st.floats(0.0, 0.05),
    sends=st.lists(st.tuples(st.floats(0.0, 5.0), st.booleans()), max_size=30),
)
def test_every_datagram_is_recorded_once_and_the_trace_is_in_time_order(seed, loss, jitter, sends):
    net, lan, (a, b, c) = lan_with("a", "b", "c", seed=seed)
    got = []
    b.udp(9, lambda pkt: got.append(pkt.payload))
    net.impair(loss=loss, jitter=jitter)
    for k, (when, broadcast) in enumerate(sends):
        a.call_at(when, a.send_udp, 1, BROADCAST_IP if broadcast else b.ip, 9, b"%d" % k)
    net.run(until=10)
    assert sorted(e.raw for e in net.trace) == sorted(b"%d" % k for k in range(len(sends)))
    assert sorted(got) == sorted(e.raw for e in net.trace if not e.lost)
    times = [e.time for e in net.trace]
    assert times == sorted(times)


def test_topology_lists_segments_and_interfaces():
    net = Network()
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("wan", "203.0.113.0/24", delay=0.01)
    net.host("client", lan, gateway="192.0.2.1")
    net.nat("nat", (lan, "192.0.2.1/24"), (wan, "203.0.113.1/24"))
    assert net.topology().splitlines() == [
        "segment lan 192.0.2.0/24 (delay 1 ms)",
        "  client     0.0.0.0 (no address) 02:00:00:00:00:01  gateway 192.0.2.1",
        "  nat        192.0.2.1/24         02:00:00:00:00:02  [natbox]",
        "segment wan 203.0.113.0/24 (delay 10 ms)",
        "  nat        203.0.113.1/24       02:00:00:00:00:03  [natbox]",
    ]
