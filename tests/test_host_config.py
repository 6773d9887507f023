"""refimpl.dhcp.host_config (issue 14, lesson 09): the host's table from a lease's options, built from real bytes."""

from __future__ import annotations

import pytest

from refimpl.dhcp.host_config import classful_network, host_config, route_for
from refimpl.dhcp.message import Message
from refimpl.dhcp.options import decode_option, encode_option

BASE = {
    "message_type": 5,
    "subnet_mask": "255.255.255.0",
    "router": ["192.0.2.1", "192.0.2.3"],
    "dns_servers": ["192.0.2.53"],
    "domain_name": "lab.example",
    "interface_mtu": 1400,
}


def ack(**extra) -> Message:
    """An ACK encoded and decoded again, so the table comes from bytes on the wire."""
    m = Message(op=2, yiaddr="192.0.2.50", options={**BASE, **extra})
    return Message.decode(m.encode())


def test_mask_and_router_give_on_link_and_default_routes():
    c = host_config("192.0.2.50", ack().options)
    assert [(r.destination, r.gateway) for r in c.routes] == [("192.0.2.0/24", None), ("0.0.0.0/0", "192.0.2.1")]
    assert c.broadcast == "192.0.2.255" and c.mtu == 1400 and c.ignored == ()
    assert c.resolv_conf() == "search lab.example\nnameserver 192.0.2.53"


def test_option_28_overrides_the_computed_broadcast():
    assert host_config("192.0.2.50", ack(broadcast_address="192.0.2.127").options).broadcast == "192.0.2.127"


def test_121_beats_3_and_33():
    m = ack(
        static_routes=[("10.1.2.0", "192.0.2.254")],
        classless_static_routes=[("198.51.100.0/24", "192.0.2.254"), ("0.0.0.0/0", "192.0.2.2")],
    )
    c = host_config(m.yiaddr, m.options)
    assert ("0.0.0.0/0", "192.0.2.2") in [(r.destination, r.gateway) for r in c.routes]
    assert all(r.gateway != "192.0.2.1" for r in c.routes), "option 3 must be ignored"
    assert all("33" not in r.source for r in c.routes), "option 33 must be ignored"
    assert len(c.ignored) == 2
    assert route_for(c, "203.0.113.9").gateway == "192.0.2.2"
    assert route_for(c, "198.51.100.7").gateway == "192.0.2.254"
    assert route_for(c, "192.0.2.9").gateway is None


def test_121_without_a_default_route_leaves_the_host_without_one():
    c = host_config("192.0.2.50", ack(classless_static_routes=[("198.51.100.0/24", "192.0.2.254")]).options)
    assert route_for(c, "203.0.113.9") is None


def test_option_33_is_classful():
    c = host_config("192.0.2.50", ack(static_routes=[("10.1.2.0", "192.0.2.254")]).options)
    assert ("10.0.0.0/8", "192.0.2.254") in [(r.destination, r.gateway) for r in c.routes]
    assert [classful_network(a) for a in ("10.1.2.3", "172.16.5.4", "203.0.113.9")] == [
        "10.0.0.0/8",
        "172.16.0.0/16",
        "203.0.113.0/24",
    ]


def test_option_33_bytes():
    assert encode_option(33, [("10.1.2.0", "192.0.2.254")]).hex() == "0a010200c00002fe"
    with pytest.raises(ValueError):
        decode_option(33, bytes(12))  # not a multiple of 8


def test_option_121_bytes_are_rfc_3442s_compact_form():
    raw = encode_option(121, [("198.51.100.0/24", "192.0.2.254"), ("0.0.0.0/0", "192.0.2.2")])
    assert raw.hex(" ") == "18 c6 33 64 c0 00 02 fe 00 c0 00 02 02"


def test_option_33_default_route_is_refused():
    # RFC 2132 §5.8: "The default route (0.0.0.0) is an illegal destination for a static route."
    c = host_config("192.0.2.50", ack(static_routes=[("0.0.0.0", "192.0.2.66")]).options)
    assert all(r.gateway != "192.0.2.66" for r in c.routes)
    assert route_for(c, "203.0.113.9").gateway == "192.0.2.1"
    assert c.ignored and "§5.8" in c.ignored[0]


def test_121_router_0_0_0_0_is_on_link():
    c = host_config("192.0.2.50", ack(classless_static_routes=[("198.51.100.0/24", "0.0.0.0")]).options)
    assert route_for(c, "198.51.100.7").gateway is None


def test_without_a_mask_only_the_address_itself_is_on_link():
    c = host_config("192.0.2.50", {3: ["192.0.2.1"]})
    assert c.prefix == "192.0.2.50/32"
    assert route_for(c, "192.0.2.9").gateway == "192.0.2.1"
