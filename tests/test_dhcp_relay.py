"""The relay agent (RFC 2131 §4.1, RFC 1542 §4, RFC 3046): giaddr, hops, option 82,
forwarding both ways, and a whole exchange client -> relay -> server -> relay -> client."""

from __future__ import annotations

import random

from refimpl.dhcp import Message, MessageType
from refimpl.dhcp.client import ArpProbe, DhcpClient
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.notes import Note, NoteKind
from refimpl.dhcp.relay import RelayAgent
from refimpl.dhcp.server import DhcpServer, ServerConfig

MAC = "02:00:00:00:00:01"
GI = "192.0.2.254"  # relay on the client segment
SERVERS = ["198.51.100.10", "198.51.100.11"]


def sent(effects: list) -> list[Outgoing]:
    """The datagrams among the relay's effects."""
    return [e for e in effects if isinstance(e, Outgoing)]


def dropped_because(effects: list) -> str:
    """The relay forwarded nothing; the text of the note that says why."""
    assert sent(effects) == [], effects
    notes = [e for e in effects if isinstance(e, Note)]
    assert len(notes) == 1 and notes[0].kind is NoteKind.DROPPED, notes
    return notes[0].text


def relay(**kw) -> RelayAgent:
    kw.setdefault("circuit_id", b"port-7")
    kw.setdefault("remote_id", b"relay-1")
    return RelayAgent(GI, SERVERS, server_side_ip="198.51.100.1", **kw)


def test_request_gets_giaddr_hops_and_goes_to_every_server():
    """RFC 1542 §4.1.1: fill giaddr if zero, hops + 1; forward to each configured server, port 67."""
    out = sent(relay().receive(Message.discover(MAC, 1).encode(), now=0.0))
    assert [(o.dst_ip, o.dst_port, o.src_port, o.src_ip, o.iface) for o in out] == [
        (s, 67, 67, "198.51.100.1", "server") for s in SERVERS
    ]
    m = out[0].message
    assert m.giaddr == GI and m.hops == 1
    assert out[0].message is not out[1].message  # independent copies


def test_existing_giaddr_is_kept():
    """RFC 1542 §4.1.1: a giaddr set by an earlier relay is not overwritten (hops still counted)."""
    d = Message.discover(MAC, 1).set("giaddr", "203.0.113.1").set("hops", 3)
    m = sent(relay().receive(d.encode(), now=0.0))[0].message
    assert (m.giaddr, m.hops) == ("203.0.113.1", 4)
    assert 82 not in m.options  # only the first-hop relay adds option 82


def test_request_with_our_own_giaddr_is_dropped():
    """RFC 3046 §2.1.1: a client packet whose nonzero giaddr is the relay's own address is discarded."""
    r = relay()
    assert "own" in dropped_because(r.receive(Message.discover(MAC, 1).set("giaddr", GI).encode(), now=0.0))


def test_too_many_hops_are_dropped():
    """RFC 1542 §4.1.1: discard BOOTREQUESTs whose hops exceed 16 (MUST), or a configurable
    lower threshold whose default SHOULD be 4."""
    r = relay()
    assert sent(r.receive(Message.discover(MAC, 1).set("hops", 4).encode(), now=0.0))
    assert "hops 5 > 4" in dropped_because(r.receive(Message.discover(MAC, 1).set("hops", 5).encode(), now=0.0))
    wide = relay(max_hops=16)
    assert sent(wide.receive(Message.discover(MAC, 1).set("hops", 16).encode(), now=0.0))
    assert dropped_because(wide.receive(Message.discover(MAC, 1).set("hops", 17).encode(), now=0.0))
    too_wide = relay(max_hops=50)  # never above the hard limit of 16
    assert dropped_because(too_wide.receive(Message.discover(MAC, 1).set("hops", 17).encode(), now=0.0))


def test_option_82_circuit_and_remote_id_added_last():
    """RFC 3046 §2.1, §3.1, §3.2: the first relay appends option 82 with circuit id and remote id."""
    m = sent(relay().receive(Message.discover(MAC, 1, params=[1, 3]).encode(), now=0.0))[0].message
    assert list(m.options)[-1] == 82 and m.options[82] == {1: b"port-7", 2: b"relay-1"}
    again = Message.decode(m.encode())
    assert again.options[82] == {1: b"port-7", 2: b"relay-1"}


def test_forged_option_82_from_a_client_is_dropped():
    """RFC 3046 §2.1: option 82 already present with giaddr 0 -> discard."""
    d = Message.discover(MAC, 1).set("relay_agent_info", {1: b"fake"})
    r = relay()
    assert "option 82" in dropped_because(r.receive(d.encode(), now=0.0))


def _reply_from_server(broadcast=False, kind="offer"):
    req = Message.discover(MAC, 5, broadcast=broadcast).set("giaddr", GI)
    req.set("relay_agent_info", {1: b"port-7"})
    if kind == "nak":
        rep = Message.nak(req, server_id=SERVERS[0])
    else:
        rep = Message.offer(req, yiaddr="192.0.2.120", server_id=SERVERS[0], lease_time=60)
    rep.set("relay_agent_info", {1: b"port-7"})
    return rep


def test_reply_strips_option_82_and_unicasts_to_chaddr():
    """RFC 3046 §2.2 strip option 82; RFC 1542 §4.1.2: broadcast bit clear -> yiaddr at chaddr, port 68."""
    out = sent(relay().receive(_reply_from_server().encode(), src_ip=SERVERS[0], src_port=67, iface="server", now=0.0))
    assert len(out) == 1
    o = out[0]
    assert 82 not in o.message.options
    assert (o.dst_ip, o.dst_port, o.src_port, o.src_ip, o.to_chaddr, o.iface) == (
        "192.0.2.120",
        68,
        67,
        GI,
        True,
        "client",
    )
    assert o.chaddr == MAC


def test_reply_with_broadcast_bit_is_broadcast():
    """RFC 1542 §4.1.2 / RFC 2131 §4.1: broadcast bit set -> broadcast on the client segment."""
    o = sent(relay().receive(_reply_from_server(broadcast=True).encode(), now=0.0))[0]
    assert (o.dst_ip, o.dst_port, o.to_chaddr) == ("255.255.255.255", 68, False)


def test_reply_for_another_relay_is_dropped():
    """RFC 1542 §4.1.2: a relay forwards only replies addressed to its own giaddr."""
    rep = _reply_from_server().set("giaddr", "203.0.113.9")
    assert "not this relay" in dropped_because(relay().receive(rep.encode(), now=0.0))


def test_bad_bytes_are_dropped():
    r = relay()
    assert "undecodable" in dropped_because(r.receive(b"\x00\x01", now=0.0))


def test_whole_exchange_through_the_relay():
    """RFC 2131 §4.1: client -> relay -> server (unicast, giaddr) -> relay (giaddr:67) -> client.
    The server picks the pool from giaddr, echoes option 82; the relay strips it."""
    server = DhcpServer(
        ServerConfig(server_ip=SERVERS[0], network="192.0.2.0/24", pool=("192.0.2.120", "192.0.2.129"), lease_time=600)
    )
    r = RelayAgent(GI, [SERVERS[0]], server_side_ip="198.51.100.1", circuit_id=b"port-7")
    c = DhcpClient(MAC, random.Random(1))
    seen: list[tuple[str, Outgoing]] = []

    def deliver(effects, now):
        queue = list(effects)
        for _ in range(100):
            if not queue:
                return
            e = queue.pop(0)
            if isinstance(e, ArpProbe):
                queue += c.probe_result(False, now=now)
            elif isinstance(e, Outgoing):
                if e.dst_port == 67 and e.iface != "server" and e.src_ip != "198.51.100.1" and e.dst_ip != GI:
                    seen.append(("client->relay", e))
                    queue += r.receive(e.data, src_ip=e.src_ip, src_port=e.src_port, iface="client", now=now)
                elif e.iface == "server":
                    seen.append(("relay->server", e))
                    queue += server.receive(e.data, src_ip=e.src_ip, src_port=e.src_port, dst_ip=e.dst_ip, now=now)
                elif e.dst_ip == GI:
                    seen.append(("server->relay", e))
                    queue += r.receive(e.data, src_ip=e.src_ip, src_port=e.src_port, iface="server", now=now)
                else:
                    seen.append(("relay->client", e))
                    queue += c.receive(e.data, now=now)

    deliver(c.start(now=0.0), 0.0)
    assert c.state == "BOUND" and c.address == "192.0.2.120"
    hops = [h for h, _ in seen]
    assert hops[:4] == ["client->relay", "relay->server", "server->relay", "relay->client"]
    to_server = seen[1][1].message
    assert to_server.giaddr == GI and to_server.options[82] == {1: b"port-7"}
    back = seen[2][1]
    assert (back.dst_ip, back.dst_port) == (GI, 67) and back.message.options[82] == {1: b"port-7"}
    assert 82 not in seen[3][1].message.options
    # A NAK through the relay comes back with the broadcast bit and is broadcast (RFC 2131 §4.1).
    bad = Message.request(MAC, 77, requested_ip="198.51.100.50")
    out = sent(r.receive(bad.encode(), now=1.0))
    nak = sent(server.receive(out[0].data, src_ip="198.51.100.1", src_port=67, dst_ip=SERVERS[0], now=1.0))[0]
    assert nak.message.message_type == MessageType.NAK and nak.dst_ip == GI
    final = sent(r.receive(nak.data, iface="server", now=1.0))[0]
    assert final.dst_ip == "255.255.255.255" and final.message.broadcast
