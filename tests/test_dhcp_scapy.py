"""Interop with scapy: our bytes dissect in scapy to the same values, and back.

scapy is an independent DHCP implementation, so agreement here checks our
codec against someone else's reading of the RFCs. Quirks of scapy that the
comparison works around are listed in refimpl/capture/scapy_dhcp.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

scapy_dhcp = pytest.importorskip("scapy.layers.dhcp", reason="needs scapy (a course dependency)")
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

from refimpl.capture.scapy_dhcp import from_scapy, read_pcap, to_scapy, write_pcap  # noqa: E402
from refimpl.dhcp import Message, MessageType  # noqa: E402
from refimpl.dhcp.options import OPTIONS, encode_option  # noqa: E402

MAC = "02:00:00:00:00:01"


def test_to_scapy_addresses_a_discover_per_rfc_2131_4_1():
    m = Message.discover(mac=MAC, xid=0x42)
    pkt = to_scapy(m)
    assert pkt[Ether].src == MAC and pkt[Ether].dst == "ff:ff:ff:ff:ff:ff"
    assert (pkt[IP].src, pkt[IP].dst) == ("0.0.0.0", "255.255.255.255")
    assert (pkt[UDP].sport, pkt[UDP].dport) == (68, 67)
    assert pkt[BOOTP].xid == 0x42
    assert ("message-type", 1) in pkt[DHCP].options


def test_to_scapy_sends_a_relayed_reply_to_the_relay():
    request = Message.discover(mac=MAC, xid=1)
    request.giaddr = "198.51.100.1"
    offer = Message.offer(request, yiaddr="192.0.2.10", server_id="192.0.2.1", lease_time=60)
    pkt = to_scapy(offer)
    assert (pkt[IP].src, pkt[IP].dst, pkt[UDP].sport, pkt[UDP].dport) == ("192.0.2.1", "198.51.100.1", 67, 67)
    pkt = to_scapy(offer, dst_ip="192.0.2.10", dst_port=68)
    assert (pkt[IP].dst, pkt[UDP].dport) == ("192.0.2.10", 68)


def test_from_scapy_inverts_to_scapy_through_real_bytes():
    m = Message.discover(mac=MAC, xid=7, hostname="pc1", params=[1, 3])
    wire = bytes(to_scapy(m))  # Ether + IP + UDP + BOOTP, as on the wire
    assert from_scapy(Ether(wire)) == m


def test_we_decode_a_packet_built_by_scapy():
    pkt = BOOTP(op=2, xid=0xABCD, yiaddr="192.0.2.10", chaddr=bytes.fromhex("020000000001")) / DHCP(
        options=[
            ("message-type", "offer"),
            ("server_id", "192.0.2.1"),
            ("lease_time", 3600),
            ("router", "192.0.2.1"),
            ("name_server", "192.0.2.53", "198.51.100.53"),
            ("domain", b"example.org"),
            "end",
        ]
    )
    m = from_scapy(pkt)
    assert m.op == 2 and m.xid == 0xABCD and m.yiaddr == "192.0.2.10" and m.mac == MAC
    assert m.message_type is MessageType.OFFER
    assert m.get("server_id") == "192.0.2.1" and m.get("lease_time") == 3600
    assert m.get("router") == ["192.0.2.1"]
    assert m.get("dns_servers") == ["192.0.2.53", "198.51.100.53"]
    assert m.get("domain_name") == "example.org"


def test_pcap_round_trip_skips_other_packets(tmp_path):
    path = tmp_path / "dhcp.pcap"
    discover = Message.discover(mac=MAC, xid=1)
    offer = Message.offer(discover, yiaddr="192.0.2.10", server_id="192.0.2.1", lease_time=600)
    other = Ether() / IP(src="192.0.2.1", dst="192.0.2.2") / UDP(sport=53, dport=53)
    assert write_pcap(path, [discover, other, to_scapy(offer)]) == 3
    assert read_pcap(path) == [discover, offer]


# -- property: every message we encode dissects in scapy to the same values ----

# Our option value -> what scapy's DHCP layer shows for it.
TO_SCAPY_VIEW = {
    "ip": lambda v: (v,),
    "ips": lambda v: tuple(v),
    "u8": lambda v: (v,),
    "u16": lambda v: (v,),
    "u32": lambda v: (v,),
    "msgtype": lambda v: (int(v),),
    "codes": lambda v: (list(v),),
    "str": lambda v: (v.encode("utf-8", "surrogateescape"),),
    "bytes": lambda v: (v,),
    "client_id": lambda v: (v,),
    "relay": lambda v: (encode_option(82, v),),
    "vivso": lambda v: (encode_option(125, v),),
    "routes": lambda v: ([f"{dest}:{router}" for dest, router in v],),
}

addresses = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t)
text = st.text("abcdefghijklmnopqrstuvwxyz0123456789.-", min_size=1, max_size=30)
scapy_known = st.one_of(
    st.tuples(st.sampled_from([1, 28, 50, 54]), addresses),
    st.tuples(st.sampled_from([3, 6, 42]), st.lists(addresses, min_size=1, max_size=4)),
    st.tuples(st.sampled_from([51, 58, 59]), st.integers(0, 0xFFFFFFFF)),
    st.tuples(st.just(57), st.integers(576, 0xFFFF)),
    st.tuples(st.sampled_from([12, 15, 66, 67]), text),
    st.tuples(st.sampled_from([43, 60]), st.binary(min_size=1, max_size=30)),
    st.tuples(st.just(61), st.binary(min_size=2, max_size=20)),
    st.tuples(st.just(55), st.lists(st.integers(1, 254), min_size=1, max_size=10)),
    st.tuples(st.just(82), st.dictionaries(st.integers(1, 10), st.binary(max_size=8), min_size=1, max_size=3)),
    st.tuples(
        st.just(121),
        st.lists(
            st.tuples(st.sampled_from(["0.0.0.0/0", "10.0.0.0/8", "10.17.0.0/16", "192.0.2.128/25"]), addresses),
            min_size=1,
            max_size=3,
        ),
    ),
    st.tuples(
        st.just(125),
        st.dictionaries(
            st.integers(0, 0xFFFFFFFF),
            st.dictionaries(st.integers(1, 9), st.binary(max_size=6), max_size=2),
            min_size=1,
            max_size=2,
        ),
    ),
    st.tuples(st.integers(224, 254), st.binary(max_size=20)),  # site-specific (RFC 2132 §2): unknown to both
)


@st.composite
def messages(draw):
    m = Message(
        op=draw(st.sampled_from([1, 2])),
        xid=draw(st.integers(0, 0xFFFFFFFF)),
        secs=draw(st.integers(0, 0xFFFF)),
        flags=draw(st.sampled_from([0, 0x8000])),
        ciaddr=draw(addresses),
        yiaddr=draw(addresses),
        siaddr=draw(addresses),
        giaddr=draw(addresses),
        hops=draw(st.integers(0, 16)),
        sname=draw(st.binary(max_size=64)),
        file=draw(st.binary(max_size=128)),
    )
    m.mac = draw(st.binary(min_size=6, max_size=6))
    m.options[53] = draw(st.sampled_from(list(MessageType)))
    for code, value in draw(st.lists(scapy_known, max_size=8)):
        m.options[code] = value
    return m


def scapy_view(pkt) -> dict:
    """scapy's options as {code: tuple of values}, joining repeated entries of bytes."""
    from scapy.layers.dhcp import DHCPRevOptions

    result: dict = {}
    for entry in pkt[DHCP].options:
        if entry in ("end", "pad"):
            continue
        name, values = entry[0], tuple(entry[1:])
        code = name if isinstance(name, int) else DHCPRevOptions[name][0]
        if code in result and isinstance(values[0], bytes):  # scapy does not join (RFC 3396)
            result[code] = (result[code][0] + values[0],)
        else:
            result[code] = values
    return result


@settings(max_examples=120, deadline=None)
@given(messages())
def test_scapy_dissects_our_bytes_to_the_same_values(m):
    pkt = BOOTP(m.encode())
    for name in ("op", "htype", "hlen", "hops", "xid", "secs", "ciaddr", "yiaddr", "siaddr", "giaddr"):
        assert getattr(pkt, name) == getattr(m, name), name
    assert int(pkt.flags) == m.flags
    assert bytes(pkt.chaddr) == m.chaddr  # scapy keeps all 16 bytes
    assert bytes(pkt.sname).ljust(64, b"\0") == m.sname
    assert bytes(pkt.file).ljust(128, b"\0") == m.file
    theirs = scapy_view(pkt)
    ours = {
        code: (TO_SCAPY_VIEW[OPTIONS[code].kind](value) if code in OPTIONS else (value,))
        for code, value in m.options.items()
    }
    assert theirs == ours
    assert list(theirs) == list(ours)  # same order
    assert bytes(pkt) == m.encode()  # and scapy rebuilds our exact bytes


def scapy_name(code: int):
    from scapy.layers.dhcp import DHCPOptions

    known = DHCPOptions.get(code)
    if known is None:
        return code
    return known if isinstance(known, str) else known.name


@settings(max_examples=80, deadline=None)
@given(messages())
def test_we_decode_what_scapy_builds_from_the_same_values(m):
    """The other direction: scapy encodes our values; we decode them back."""
    entries = []
    for code, value in m.options.items():
        view = TO_SCAPY_VIEW[OPTIONS[code].kind](value) if code in OPTIONS else (value,)
        entries.append((scapy_name(code), *view))
    header = {
        name: getattr(m, name)
        for name in (
            "op",
            "htype",
            "hlen",
            "hops",
            "xid",
            "secs",
            "flags",
            "ciaddr",
            "yiaddr",
            "siaddr",
            "giaddr",
            "chaddr",
            "sname",
            "file",
        )
    }
    pkt = BOOTP(**header) / DHCP(options=[*entries, "end"])
    assert Message.decode(bytes(pkt)) == m
