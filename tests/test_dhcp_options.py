"""The option registry and each option codec (RFC 2132, 3046, 3442, 3925)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.dhcp.options import (
    KINDS,
    OPTIONS,
    BlockError,
    ClientFqdn,
    MessageType,
    decode_option,
    describe,
    encode_option,
    ip_to_bytes,
    join_blocks,
    normalize,
    option_spec,
    walk_blocks,
)
from refimpl.dns.names import label_text

REQUIRED = [1, 3, 6, 12, 15, 28, 42, 43, 50, 51, 52, 53, 54, 55, 57, 58, 59, 60, 61, 66, 67, 82, 121, 125]


def test_registry_has_every_required_option_with_meaning_and_rfc():
    for code in REQUIRED:
        spec = OPTIONS[code]
        assert spec.code == code
        assert spec.kind in KINDS
        assert spec.meaning and spec.rfc.startswith("RFC")
    names = [spec.name for spec in OPTIONS.values()]
    assert len(names) == len(set(names)), "option names must be unique"


def test_option_spec_by_code_name_alias_and_unknown():
    assert option_spec(51).name == "lease_time"
    assert option_spec("lease_time").code == 51
    assert option_spec("lease-time").code == 51
    assert option_spec("Lease_Time").code == 51
    assert option_spec("requested_addr").code == 50  # scapy's spelling
    assert option_spec(224).kind == "raw"  # unknown code: raw bytes
    assert option_spec("option_224").code == 224
    with pytest.raises(KeyError):
        option_spec("no_such_option")
    with pytest.raises(KeyError):
        option_spec(255)


# (code, python value, exact wire bytes) -- bytes written out by hand from the RFCs
EXAMPLES = [
    (1, "255.255.255.0", bytes([255, 255, 255, 0])),
    (3, ["192.0.2.1", "192.0.2.2"], bytes([192, 0, 2, 1, 192, 0, 2, 2])),
    (6, ["198.51.100.53"], bytes([198, 51, 100, 53])),
    (12, "pc1", b"pc1"),
    (15, "example.org", b"example.org"),
    (28, "192.0.2.255", bytes([192, 0, 2, 255])),
    (42, ["203.0.113.123"], bytes([203, 0, 113, 123])),
    (43, b"\x01\x02ab", b"\x01\x02ab"),
    (50, "192.0.2.10", bytes([192, 0, 2, 10])),
    (51, 3600, (3600).to_bytes(4, "big")),
    (51, 0xFFFFFFFF, b"\xff\xff\xff\xff"),
    (2, -3600, b"\xff\xff\xf1\xf0"),  # RFC 2132 §3.4: signed, UTC-1h
    (52, 3, b"\x03"),
    (53, MessageType.REQUEST, b"\x03"),
    (54, "192.0.2.1", bytes([192, 0, 2, 1])),
    (55, [1, 3, 6, 15], bytes([1, 3, 6, 15])),
    (57, 1500, (1500).to_bytes(2, "big")),
    (58, 1800, (1800).to_bytes(4, "big")),
    (59, 3150, (3150).to_bytes(4, "big")),
    (60, b"MSFT 5.0", b"MSFT 5.0"),
    (61, b"\x01\x02\x00\x00\x00\x00\x01", b"\x01\x02\x00\x00\x00\x00\x01"),
    (66, "tftp.example.org", b"tftp.example.org"),
    (67, "pxelinux.0", b"pxelinux.0"),
    # RFC 3046 §2.0: sub-option 1 circuit id, 2 remote id
    (82, {1: b"eth0", 2: b"\x02\x00\x00\x00\x00\x09"}, b"\x01\x04eth0\x02\x06\x02\x00\x00\x00\x00\x09"),
    # RFC 3442 §3: only the significant octets of the destination are sent
    (
        121,
        [
            ("10.0.0.0/8", "192.0.2.1"),
            ("0.0.0.0/0", "192.0.2.254"),
            ("10.17.0.0/16", "192.0.2.2"),
            ("198.51.100.128/25", "192.0.2.3"),
            ("192.0.2.7/32", "192.0.2.4"),
        ],
        bytes(
            [
                8,
                10,
                192,
                0,
                2,
                1,
                0,
                192,
                0,
                2,
                254,
                16,
                10,
                17,
                192,
                0,
                2,
                2,
                25,
                198,
                51,
                100,
                128,
                192,
                0,
                2,
                3,
                32,
                192,
                0,
                2,
                7,
                192,
                0,
                2,
                4,
            ]
        ),
    ),
    # RFC 3925 §4: enterprise number (4 bytes), data length, sub-options
    (125, {3561: {1: b"ab"}}, (3561).to_bytes(4, "big") + b"\x04\x01\x02ab"),
    (224, b"\x00\xff", b"\x00\xff"),  # unknown: raw bytes
]


@pytest.mark.parametrize("code, value, wire", EXAMPLES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(EXAMPLES)])
def test_codec_encodes_and_decodes_the_rfc_bytes(code, value, wire):
    assert encode_option(code, value) == wire
    assert decode_option(code, wire) == value


def test_required_options_all_have_an_example():
    assert set(REQUIRED) <= {code for code, _, _ in EXAMPLES}


# (code, bad bytes, words the reason must contain)
BAD_BYTES = [
    (1, b"\xff\xff\xff", "expected 4 bytes, got 3"),
    (3, b"", "multiple of 4"),
    (6, b"\x01\x02\x03\x04\x05", "multiple of 4"),
    (51, b"\x00\x00\x0e", "expected 4 bytes, got 3"),
    (57, b"\x05", "expected 2 bytes"),
    (53, b"\x01\x01", "expected 1 bytes"),
    (52, b"\x04", "1, 2 or 3"),
    (55, b"", "at least 1"),
    (12, b"", "at least 1"),
    (61, b"\x01", "at least 2"),
    (82, b"\x01\x05abc", "runs past the end"),
    (82, b"\x01", "no length byte"),
    (82, b"\x01\x01a\x01\x01b", "twice"),
    (121, b"\x21" + bytes(9), "33 > 32"),
    (121, b"\x18\x0a\x00", "runs past the end"),
    (125, b"\x00\x00\x0d", "shorter than 5"),
    (125, b"\x00\x00\x0d\xe9\x09\x01\x02", "runs past the end"),
]


def test_one_walk_reads_options_suboptions_and_vendor_blocks():
    """RFC 2132 §2, RFC 3046 §2.0, RFC 3925 §4: the same key/length/value layout at three levels."""
    options = bytes([0, 53, 1, 1, 0, 255, 99])  # PAD, message type, PAD, END, then bytes after END
    assert list(walk_blocks(options, pad_end=True)) == [(0, 0, b""), (1, 53, b"\x01"), (4, 0, b""), (5, 255, b"")]
    assert list(walk_blocks(b"\x01\x02ab\x02\x00")) == [(0, 1, b"ab"), (4, 2, b"")]  # no PAD/END in sub-options
    vendor = b"\x00\x00\x0d\xe9\x01X"
    assert list(walk_blocks(vendor, key_size=4)) == [(0, 3561, b"X")]
    assert join_blocks([(3561, b"X")], key_size=4) == vendor
    assert join_blocks([(1, b"ab"), (2, b"")]) == b"\x01\x02ab\x02\x00"
    with pytest.raises(BlockError) as past:
        list(walk_blocks(b"\x01\x05abc"))
    assert (past.value.offset, past.value.key, past.value.length, past.value.end) == (0, 1, 5, 5)
    with pytest.raises(BlockError) as short:
        list(walk_blocks(b"\x35\x01\x01\x36", pad_end=True))
    assert (short.value.offset, short.value.key, short.value.length) == (3, 0x36, None)


@pytest.mark.parametrize("code, data, reason", BAD_BYTES)
def test_decoders_reject_malformed_values_with_a_reason(code, data, reason):
    with pytest.raises(ValueError, match=reason.replace("(", r"\(")):
        decode_option(code, data)


BAD_VALUES = [
    (1, "192.0.2"),
    (1, "192.0.2.256"),
    (1, "1.2.3.04x"),
    (3, []),
    (51, -1),
    (51, 1 << 32),
    (51, "3600"),
    (57, 70000),
    (53, "HELLO"),
    (52, 4),
    (12, ""),
    (121, [("10.0.0.0", "192.0.2.1")]),  # no prefix length
    (121, [("10.0.0.0/33", "192.0.2.1")]),
    (82, {1: b"x" * 256}),
    (60, 5),  # bytes(5) would silently be five zero bytes
    (224, 3),
]


@pytest.mark.parametrize("code, value", BAD_VALUES)
def test_encoders_reject_bad_values(code, value):
    with pytest.raises((ValueError, TypeError)):
        encode_option(code, value)


def test_friendly_inputs_are_normalized():
    assert normalize(3, "192.0.2.1") == ["192.0.2.1"]  # one address -> a list of one
    assert normalize(53, "dhcpack") is MessageType.ACK
    assert normalize(53, 5) is MessageType.ACK
    assert normalize(55, ["subnet_mask", "router", 6]) == [1, 3, 6]
    assert normalize(61, "abc") == b"abc"  # str -> UTF-8 bytes
    assert normalize(12, b"pc1") == "pc1"


def test_unknown_message_type_number_stays_an_int():
    value = decode_option(53, b"\x63")
    assert value == 99 and not isinstance(value, MessageType)


def test_text_options_round_trip_any_bytes():
    # Not UTF-8: kept as surrogate escapes so re-encoding gives the same bytes.
    raw = b"caf\xe9\x00"
    assert encode_option(12, decode_option(12, raw)) == raw


def test_classless_route_keeps_bits_beyond_the_prefix_it_sends():
    # RFC 3442: 10.255.x.x/9 sends two octets; the decoder shows what was sent.
    wire = bytes([9, 10, 255, 192, 0, 2, 1])
    routes = decode_option(121, wire)
    assert routes == [("10.255.0.0/9", "192.0.2.1")]
    assert encode_option(121, routes) == wire


def test_ip_to_bytes_is_strict():
    assert ip_to_bytes("192.0.2.1") == b"\xc0\x00\x02\x01"
    for bad in ["192.0.2.1.5", " 1.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3", "٣.1.1.1"]:
        with pytest.raises(ValueError):
            ip_to_bytes(bad)


def test_describe_gives_short_text():
    assert describe(53, MessageType.OFFER) == "OFFER"
    assert describe(51, 3600) == "3600 s"
    assert describe(51, 0xFFFFFFFF) == "infinite"
    assert describe(3, ["192.0.2.1", "192.0.2.2"]) == "192.0.2.1, 192.0.2.2"
    assert describe(55, [1, 3]) == "1 subnet_mask, 3 router"
    assert describe(121, [("0.0.0.0/0", "192.0.2.1")]) == "0.0.0.0/0 via 192.0.2.1"


# -- property tests: every codec is a bijection on its valid values -----------------

addresses = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t)


def _route(width_and_address):
    width, address = width_and_address
    raw = ip_to_bytes(address)[: (width + 7) // 8].ljust(4, b"\0")
    return "%d.%d.%d.%d/%d" % (*raw, width)


VALUES = {
    "ip": addresses,
    "ips": st.lists(addresses, min_size=1, max_size=5),
    "u8": st.integers(0, 255),
    "u16": st.integers(0, 0xFFFF),
    "u32": st.integers(0, 0xFFFFFFFF),
    "s32": st.integers(-(2**31), 2**31 - 1),
    "msgtype": st.sampled_from(list(MessageType)),
    "overload": st.sampled_from([1, 2, 3]),
    "codes": st.lists(st.integers(0, 255), min_size=1, max_size=20),
    "str": st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    "bytes": st.binary(min_size=1, max_size=40),
    "client_id": st.binary(min_size=2, max_size=20),
    "relay": st.dictionaries(st.integers(0, 255), st.binary(max_size=20), min_size=1, max_size=4),
    "ip_pairs": st.lists(st.tuples(addresses, addresses), min_size=1, max_size=4),  # option 33
    "routes": st.lists(
        st.tuples(st.tuples(st.integers(0, 32), addresses).map(_route), addresses), min_size=1, max_size=4
    ),
    # option 81 (RFC 4702 §2): any flags octet; with E the name as decode writes it (zone-file labels,
    # a final dot when fully qualified), without E the deprecated ASCII text
    "fqdn": st.one_of(
        st.builds(
            lambda flags, labels, fully, r1, r2: ClientFqdn(
                flags | ClientFqdn.E, ".".join(map(label_text, labels)) + ("." if fully else ""), r1, r2
            ),
            st.integers(0, 255),
            st.lists(st.binary(min_size=1, max_size=63), max_size=3),
            st.booleans(),
            st.integers(0, 255),
            st.integers(0, 255),
        ),
        st.builds(
            ClientFqdn,
            st.integers(0, 255).map(lambda f: f & ~ClientFqdn.E),
            st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
            st.integers(0, 255),
            st.integers(0, 255),
        ),
    ),
    "vivso": st.dictionaries(
        st.integers(0, 0xFFFFFFFF),
        st.dictionaries(st.integers(0, 255), st.binary(max_size=10), max_size=3),
        min_size=1,
        max_size=3,
    ),
}


def test_every_kind_has_a_strategy():
    assert set(VALUES) | {"raw"} == set(KINDS)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_every_option_codec_round_trips(data):
    code = data.draw(st.sampled_from(sorted(OPTIONS)))
    value = data.draw(VALUES[OPTIONS[code].kind])
    wire = encode_option(code, value)
    assert decode_option(code, wire) == value
    assert encode_option(code, decode_option(code, wire)) == wire


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(OPTIONS)), st.binary(max_size=40))
def test_decoders_raise_only_value_error(code, raw):
    try:
        value = decode_option(code, raw)
    except ValueError:
        return
    assert encode_option(code, value) == raw  # what decodes re-encodes exactly


# -- the compiled fast codecs must agree with the reference codecs -----------


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(OPTIONS)), st.binary(max_size=12))
def test_fast_decoder_accepts_and_rejects_what_the_reference_does(code, raw):
    from refimpl.dhcp.options import FAST_DECODERS

    try:
        expected = decode_option(code, raw)
    except ValueError:
        with pytest.raises(Exception):  # noqa: B017 - any error: the message codec then asks the reference
            FAST_DECODERS[code](raw)
        return
    got = FAST_DECODERS[code](raw)
    assert got == expected and type(got) is type(expected)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_whole_option_encoder_is_code_length_value(data):
    from refimpl.dhcp.options import OPTION_ENCODERS

    code = data.draw(st.sampled_from(sorted(OPTIONS)))
    value = data.draw(VALUES[OPTIONS[code].kind])
    raw = encode_option(code, value)
    try:
        got = OPTION_ENCODERS[code](value)
    except Exception:  # allowed only where the careful path has work to do: splitting
        assert len(raw) > 255
        return
    assert got == bytes((code, len(raw))) + raw


@pytest.mark.parametrize(
    "code, value",
    [
        (51, -1),
        (51, 2**32),
        (51, "3600"),
        (51, 1.5),
        (2, 2**31),
        (26, 65536),
        (52, 4),
        (53, 256),
        (54, "192.0.2.256"),
        (54, 7),
        (3, []),
        (3, ["192.0.2.1", "x"]),
        (12, ""),
        (61, b"\x01"),
        (55, []),
    ],
)
def test_whole_option_encoder_rejects_what_the_reference_rejects(code, value):
    from refimpl.dhcp.options import OPTION_ENCODERS

    with pytest.raises(ValueError):
        encode_option(code, value)
    with pytest.raises(Exception):  # noqa: B017 - the fast encoder may fail in its own way; it must fail
        OPTION_ENCODERS[code](value)


def test_decoder_table_by_code_is_the_fast_decoders_with_pad_and_end_left_out():
    from refimpl.dhcp.options import DECODER_BY_CODE, FAST_DECODERS

    assert len(DECODER_BY_CODE) == 256 and DECODER_BY_CODE[0] is None and DECODER_BY_CODE[255] is None
    assert all(DECODER_BY_CODE[c] is FAST_DECODERS[c] for c in FAST_DECODERS)
    assert DECODER_BY_CODE[200] is bytes  # an unknown code stays raw bytes


def test_address_caches_give_inet_ntoa_answers_refuse_bad_input_and_stay_bounded():
    from _socket import inet_ntoa

    from refimpl.dhcp.options import ADDRESS_TEXT, OPTION_ENCODERS, address_text

    for n in range(ADDRESS_TEXT.LIMIT + 10):  # more addresses than it keeps
        raw = n.to_bytes(4, "big")
        assert address_text(raw) == inet_ntoa(raw)
        assert len(ADDRESS_TEXT) <= ADDRESS_TEXT.LIMIT
    with pytest.raises(OSError):
        address_text(b"\x01\x02\x03")  # not 4 bytes: nothing remembered
    assert b"\x01\x02\x03" not in ADDRESS_TEXT
    encode = OPTION_ENCODERS[54]
    assert encode("192.0.2.1") == bytes([54, 4, 192, 0, 2, 1])
    for bad in ("192.0.2.256", "1.2.3", 7, None):
        with pytest.raises((TypeError, ValueError)):
            encode(bad)
