"""TCP in the simulator: handshake, data, teardown, RST, retransmission, NAT and firewall boxes."""

from __future__ import annotations

from refimpl.sim.network import Network


def two_hosts(seed=0):
    net = Network(seed=seed)
    lan = net.segment("lan", "192.0.2.0/24")
    client = net.host("client", lan, ip="192.0.2.10")
    server = net.host("server", lan, ip="192.0.2.1")
    return net, client, server


def echo_server(server, port=21, flow="ftp-control"):
    """Greets, answers every line with "200 <line>", closes after QUIT."""
    accepted = []

    def on_accept(conn):
        accepted.append(conn)

        def on_data(conn, data):
            line = data.decode().strip()
            conn.send(f"200 {line}\r\n".encode())
            if line == "QUIT":
                conn.close()

        conn.on_data = on_data
        conn.send(b"220 ready\r\n")

    server.tcp.listen(port, on_accept, flow=flow)
    return accepted


def test_handshake_data_and_teardown_in_order():
    net, client, server = two_hosts()
    accepted = echo_server(server)
    received = []

    def on_data(conn, data):
        received.append(data)
        if data.startswith(b"220"):
            conn.send(b"QUIT\r\n")

    conn = client.tcp.connect(("192.0.2.1", 21), on_data=on_data, flow="ftp-control")
    net.run(until=5)
    flow = [(e.src, e.kind) for e in net.trace]
    assert flow == [
        ("client", "SYN"),
        ("server", "SYN-ACK"),
        ("client", "ACK"),  # RFC 793 §3.4 three-way handshake
        ("server", "220"),
        ("client", "QUIT"),
        ("server", "200"),
        ("server", "FIN"),
        ("client", "ACK"),
        ("client", "FIN"),
        ("server", "ACK"),  # §3.5 close
    ]
    assert received == [b"220 ready\r\n", b"200 QUIT\r\n"]
    assert conn.state == "CLOSED" and accepted[0].state == "CLOSED"
    assert client.tcp.connections == {} and server.tcp.connections == {}
    assert all(e.transport == "tcp" and e.flow == "ftp-control" and not e.lost for e in net.trace)
    quit_event = net.trace[4]
    assert (quit_event.summary, quit_event.raw) == ("", b"QUIT\r\n")
    assert net.trace[3].summary == "ready"


def test_ephemeral_ports_are_deterministic():
    net, client, server = two_hosts()
    server.tcp.listen(21)
    first = client.tcp.connect(("192.0.2.1", 21))
    second = client.tcp.connect(("192.0.2.1", 21))
    assert (first.local[1], second.local[1]) == (49152, 49153)


def test_connection_refused_by_rst():
    net, client, server = two_hosts()
    errors = []
    conn = client.tcp.connect(("192.0.2.1", 2121), on_error=lambda c, why: errors.append(why))
    net.run(until=5)
    assert [(e.src, e.kind) for e in net.trace] == [("client", "SYN"), ("server", "RST")]
    assert errors == ["connection refused"] and conn.state == "CLOSED"


def test_large_send_is_cut_into_segments_and_arrives_in_order():
    net, client, server = two_hosts()
    chunks = []
    server.tcp.listen(20, lambda conn: setattr(conn, "on_data", lambda c, d: chunks.append(d)))
    payload = bytes(range(256)) * 20  # 5120 bytes
    client.tcp.connect(("192.0.2.1", 20), on_connect=lambda c: (c.send(payload), c.close()))
    net.run(until=5)
    assert b"".join(chunks) == payload
    assert [len(c) for c in chunks] == [1460, 1460, 1460, 740]
    data_events = [e for e in net.trace if e.kind == "DATA"]
    assert [e.summary for e in data_events] == ["1460 bytes"] * 3 + ["740 bytes"]


def test_lost_data_segment_is_retransmitted_and_order_kept():
    net, client, server = two_hosts()
    chunks = []
    server.tcp.listen(20, lambda conn: setattr(conn, "on_data", lambda c, d: chunks.append(d)))
    net.impair(src="client", kind="DATA", drop_nth={1})

    def on_connect(conn):
        for k in range(3):
            conn.send(b"block %d\n" % k)

    client.tcp.connect(("192.0.2.1", 20), on_connect=on_connect)
    net.run(until=10)
    assert chunks == [b"block 0\n", b"block 1\n", b"block 2\n"]
    data = [e for e in net.trace if e.kind == "DATA"]
    assert [e.lost for e in data] == [True, False, False, False]
    assert data[1].time >= data[0].time + net.tcp_rto  # waited for the retransmission timeout
    assert data[0].raw == data[1].raw


def test_lost_syn_ack_makes_the_client_retry():
    net, client, server = two_hosts()
    accepted = echo_server(server)
    net.impair(kind="SYN-ACK", drop_nth={1})
    conn = client.tcp.connect(("192.0.2.1", 21))
    net.run(until=10)
    assert conn.state == "ESTABLISHED" and len(accepted) == 1
    assert [e.kind for e in net.trace][:5] == ["SYN", "SYN-ACK", "SYN", "SYN-ACK", "ACK"]
    assert net.trace[1].lost and not net.trace[3].lost


def nat_world(box="nat", **kw):
    net = Network()
    home = net.segment("home", "192.0.2.0/24")
    wan = net.segment("internet", "203.0.113.0/24")
    pc = net.host("pc", home, ip="192.0.2.10", gateway="192.0.2.1")
    make = net.nat if box == "nat" else net.firewall
    middle = make(box, (home, "192.0.2.1/24"), (wan, "203.0.113.1/24"), **kw)
    server = net.host("server", wan, ip="203.0.113.5", gateway="203.0.113.1")
    return net, pc, middle, server


def test_nat_lets_outbound_through_and_rewrites_the_source():
    net, pc, nat, server = nat_world()
    accepted = echo_server(server)
    conn = pc.tcp.connect(("203.0.113.5", 21))
    net.run(until=5)
    assert conn.state == "ESTABLISHED"
    assert accepted[0].remote == ("203.0.113.1", conn.local[1])  # the server sees the NAT's address
    hops = [(e.src, e.dst, e.src_ip) for e in net.trace[:2]]
    assert hops == [("pc", "nat", "192.0.2.10"), ("nat", "server", "203.0.113.1")]


def test_nat_blocks_inbound_connection_like_active_ftp():
    net, pc, nat, server = nat_world()
    pc.tcp.listen(50000)
    errors = []
    # the server answers a PORT command: connect from port 20 to the client's data port
    server.tcp.connect(("203.0.113.1", 50000), src_port=20, on_error=lambda c, why: errors.append((net.now, why)))
    server.tcp.connect(("192.0.2.10", 50000), src_port=20)  # the private address: not reachable either
    net.run(until=60)
    syns = [e for e in net.trace if e.kind == "SYN"]
    assert all(e.lost and "blocked by nat" in e.summary for e in syns)
    assert len(syns) == 2 * (1 + net.tcp_syn_retries)
    assert errors and errors[0][1] == "connection timed out"
    assert not [e for e in net.trace if e.dst == "pc"]  # nothing ever reached the client


def test_nat_port_forward_allows_inbound():
    net, pc, nat, server = nat_world()
    accepted = echo_server(pc, port=2121)
    nat.forward_port("tcp", 2121, "192.0.2.10")
    conn = server.tcp.connect(("203.0.113.1", 2121))
    net.run(until=5)
    assert conn.state == "ESTABLISHED" and len(accepted) == 1


def test_firewall_allows_listed_inbound_and_replies_only():
    net, inside, fw, outside = nat_world(box="firewall", allow=[("tcp", 21)])
    echo_server(inside, port=21)
    echo_server(inside, port=40000)
    echo_server(outside, port=80)
    ok = outside.tcp.connect(("192.0.2.10", 21))
    blocked_errors = []
    blocked = outside.tcp.connect(("192.0.2.10", 40000), on_error=lambda c, why: blocked_errors.append(why))
    out = inside.tcp.connect(("203.0.113.5", 80))
    net.run(until=60)
    assert ok.state == "ESTABLISHED" and out.state == "ESTABLISHED"
    assert blocked.state == "CLOSED" and blocked_errors == ["connection timed out"]
    lost = [e for e in net.trace if e.lost]
    assert lost and all(e.dst_port == 40000 and "blocked by firewall" in e.summary for e in lost)


def test_tcp_trace_is_deterministic():
    def run():
        net, pc, nat, server = nat_world()
        echo_server(server)
        net.impair(loss=0.2)
        net.rng.seed(5)
        pc.tcp.connect(("203.0.113.5", 21), on_connect=lambda c: c.send(b"NOOP\r\n"))
        net.run(until=60)
        return [(e.time, e.src, e.dst, e.kind, e.lost) for e in net.trace]

    assert run() == run()
