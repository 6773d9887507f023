"""refimpl.rdp_wire: the Client X.224 Connection Request of [MS-RDPBCGR] §2.2.1.1, against its §4.1.1 example."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.rdp_wire import PROTOCOLS, RdpError, connection_request, fields, protocol_names

# [MS-RDPBCGR] §4.1.1: the Client X.224 Connection Request PDU of its annotated connection
SPEC_4_1_1 = bytes.fromhex(
    "0300002c27e00000000000"
    "436f6f6b69653a206d737473686173683d656c746f6e730d0a"  # Cookie: mstshash=eltons CR LF
    "0100080000000000"
)


def test_builds_the_specs_example():
    assert connection_request("eltons", PROTOCOLS["PROTOCOL_RDP"]) == SPEC_4_1_1
    assert len(SPEC_4_1_1) == 44 and SPEC_4_1_1[4] == 39


def test_fields_read_it_back():
    rows = {f.name: f.value for f in fields(SPEC_4_1_1)}
    assert rows["TPKT version"] == 3 and rows["TPKT length"] == 44 and rows["X.224 LI"] == 39
    assert rows["X.224 CR-CDT"] == "0xe0" and rows["cookie"] == "Cookie: mstshash=eltons"
    assert rows["rdpNegReq requestedProtocols"] == "PROTOCOL_RDP"
    offsets = [(f.offset, f.size) for f in fields(SPEC_4_1_1)]
    assert all(a + n == b for (a, n), (b, _) in zip(offsets, offsets[1:]))  # no gaps, no overlaps


def test_protocol_bits_and_the_smallest_request():
    tls_nla = connection_request(protocols=PROTOCOLS["PROTOCOL_SSL"] | PROTOCOLS["PROTOCOL_HYBRID"])
    assert tls_nla[-4:] == b"\x03\x00\x00\x00"  # little-endian, unlike the TPKT length
    assert protocol_names(3) == ["PROTOCOL_SSL", "PROTOCOL_HYBRID"]
    bare = connection_request(protocols=None)
    assert len(bare) == 11 and [f.name for f in fields(bare)][-1] == "X.224 class and options"


@pytest.mark.parametrize(
    "data, offset",
    [
        (SPEC_4_1_1[:10], 0),
        (b"\x02" + SPEC_4_1_1[1:], 0),
        (SPEC_4_1_1[:-1], 2),
        (SPEC_4_1_1[:5] + b"\xd0" + SPEC_4_1_1[6:], 5),
    ],
)
def test_bad_requests_name_the_field(data, offset):
    with pytest.raises(RdpError) as caught:
        fields(data)
    assert caught.value.offset == offset


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=60))
def test_random_bytes_raise_only_rdp_error(data):
    try:
        fields(data)
    except RdpError:
        pass


@settings(max_examples=100, deadline=None)
@given(st.one_of(st.none(), st.text("abcdefgh0123", max_size=12)), st.one_of(st.none(), st.integers(0, 15)))
def test_every_built_request_reads_back(cookie, protocols):
    data = connection_request(cookie, protocols)
    assert fields(data)[2].value == len(data)
