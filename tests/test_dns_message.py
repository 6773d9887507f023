"""The DNS message codec (RFC 1035 §4, RFC 6891): round trips, real bytes, and every way bytes can lie."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.dns import Edns, Message, MessageError, Question, Rcode, Record, Type, decode
from refimpl.dns.message import HEADER_FIELDS
from refimpl.dns.names import decode_name, encode_name

# dig 9.18 asking "www.example.com MX" (captured from a UDP socket on loopback): RD, AD, EDNS 1232 + cookie.
DIG_QUERY = bytes.fromhex(
    "e1900120000100000000000103777777076578616d706c6503636f6d00000f000100002904d000000000000c000a0008f029a3c11af2d17f"
)


def sample() -> Message:
    m = Message(id=7, qr=True, aa=True, rd=True, questions=[Question("www.example.com", Type.A)], edns=Edns(4096))
    m.answer = [
        Record("www.example.com", Type.CNAME, "web.example.com"),
        Record("web.example.com", Type.A, "192.0.2.1", 300),
        Record("example.com", Type.MX, (10, "mail.example.com")),
        Record("example.com", Type.TXT, (b"v=spf1 -all", b"")),
        Record("_ftp._tcp.example.com", Type.SRV, (1, 2, 21, "ftp.example.com")),
        Record(
            "example.com", Type.SOA, ("ns1.example.com", "hostmaster.example.com", 2026120301, 7200, 900, 1209600, 300)
        ),
        Record("web.example.com", Type.AAAA, "2001:db8::1"),
        Record("1.2.0.192.in-addr.arpa", Type.PTR, "web.example.com"),
        Record("example.com", Type.NS, "ns1.example.com"),
        Record("example.com", 65280, b"\x01\x02"),  # RFC 3597: unknown types kept as bytes
    ]
    return m


def test_header_table_covers_96_bits_without_gaps():
    bit = 0
    for f in HEADER_FIELDS:
        assert f.bit == bit
        bit += f.bits
    assert bit == 96


def test_round_trip_every_type():
    m = sample()
    assert decode(m.encode()) == m
    assert decode(m.encode(compress=False)) == m


def test_compression_makes_it_smaller_and_points_backwards():
    m = sample()
    packed, plain = m.encode(), m.encode(compress=False)
    assert len(packed) < len(plain)
    # The answer's first name is the question's name: a pointer to offset 12 (RFC 1035 §4.1.4).
    question_end = 12 + len(b"\x03www\x07example\x03com\x00") + 4
    assert packed[question_end : question_end + 2] == b"\xc0\x0c"


def test_srv_target_is_not_compressed():
    # RFC 2782: "name compression is not to be used for this field"
    m = Message(
        answer=[Record("a.example", Type.A, "192.0.2.1"), Record("s.example", Type.SRV, (0, 0, 1, "a.example"))]
    )
    assert m.encode().endswith(b"\x01a\x07example\x00")


def test_every_flag_has_its_bit():
    for f in HEADER_FIELDS[1:11]:
        value = 1 if f.bits == 1 else (1 << f.bits) - 1
        m = Message(**{f.name: value if f.name in ("opcode", "rcode", "z") else True})
        word = int.from_bytes(m.encode()[2:4], "big")
        assert word == ((1 << f.bits) - 1) << (32 - f.bit - f.bits), f.name


def test_real_dig_query():
    m = decode(DIG_QUERY)
    assert (m.id, m.qr, m.rd, m.ad) == (0xE190, False, True, True)
    assert m.questions == [Question("www.example.com", Type.MX, 1)]
    assert m.edns.udp_size == 1232 and m.edns.options[0][0] == 10  # the COOKIE option (RFC 7873)
    assert m.encode() == DIG_QUERY


def test_extended_rcode_uses_the_opt_ttl():
    m = Message(qr=True, rcode=Rcode.BADVERS, edns=Edns())
    data = m.encode()
    assert data[3] & 0xF == 0  # 16 = 0x10: low four bits in the header
    assert decode(data).rcode == Rcode.BADVERS
    with pytest.raises(MessageError, match="needs EDNS"):
        Message(rcode=16).encode()


def test_truncation_sets_tc_and_keeps_opt():
    m = Message(qr=True, questions=[Question("big.example", Type.A)], edns=Edns(512))
    m.answer = [Record("big.example", Type.A, f"192.0.2.{i}") for i in range(60)]
    data = m.encode(max_size=512)
    assert len(data) <= 512
    back = decode(data)
    assert back.tc and back.edns is not None and 0 < len(back.answer) < 60


# -- bad input: each raises MessageError naming the field and the byte ---------------------
HEADER = bytes.fromhex("1234 0100 0001 0000 0000 0000")


def error_of(data: bytes) -> MessageError:
    with pytest.raises(MessageError) as info:
        decode(data)
    return info.value


def test_short_header():
    assert error_of(b"\x00" * 11).field == "header"


def test_pointer_loop_to_itself():
    e = error_of(HEADER + b"\xc0\x0c\x00\x01\x00\x01")
    assert e.offset == 12 and "backwards" in e.reason


def test_pointer_loop_between_two():
    # label "a" at 12, then a pointer back to 12: "a.a.a..." for ever unless each jump must go further back.
    data = HEADER + b"\x01a\xc0\x0c\x00\x01\x00\x01"
    e = error_of(data)
    assert e.field == "question[0] name" and e.offset == 14 and "loop" in e.reason


def test_forward_pointer():
    e = error_of(HEADER + b"\xc0\x20\x00\x01\x00\x01" + b"\x00" * 20)
    assert "backwards" in e.reason


def test_label_over_63_is_reserved_bits():
    e = error_of(HEADER + b"\x40" + b"a" * 64 + b"\x00\x00\x01\x00\x01")
    assert "reserved" in e.reason and e.offset == 12


def test_name_over_255():
    name = b"".join(b"\x3f" + b"a" * 63 for _ in range(4)) + b"\x00"  # 257 octets
    e = error_of(HEADER + name + b"\x00\x01\x00\x01")
    assert "255" in e.reason


def test_count_that_lies():
    e = error_of(bytes.fromhex("1234 0100 0002 0000 0000 0000") + b"\x00\x00\x01\x00\x01")
    assert e.field == "qdcount" and e.offset == 4


def test_ancount_that_lies():
    e = error_of(bytes.fromhex("1234 8100 0000 0001 0000 0000"))
    assert e.field == "ancount"


def test_truncated_rdata():
    data = bytes.fromhex("1234 8100 0000 0001 0000 0000") + b"\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00"
    e = error_of(data)
    assert e.field == "answer[0] rdlength" and e.offset == 21


def test_a_record_with_wrong_length():
    data = bytes.fromhex("1234 8100 0000 0001 0000 0000") + b"\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x03\xc0\x00\x02"
    assert "address takes 4" in error_of(data).reason


def test_bytes_after_the_last_record():
    assert error_of(HEADER + b"\x00\x00\x01\x00\x01" + b"\x00").field == "message"


def test_two_opt_records():
    opt = b"\x00\x00\x29\x10\x00\x00\x00\x00\x00\x00\x00"
    data = bytes.fromhex("1234 0100 0000 0000 0000 0002") + opt + opt
    assert "second OPT" in error_of(data).reason


def test_encoder_refuses_bad_names():
    for name in ("a" * 64 + ".example", ".".join(["a" * 63] * 4), "a..b"):
        with pytest.raises(MessageError):
            encode_name(name, bytearray(), {})


def test_escaped_labels_round_trip():
    out = bytearray(b"\0" * 12)
    encode_name("a\\.b.\\255x.example", out, None)
    assert out[12:] == b"\x03a.b\x02\xffx\x07example\x00"
    assert decode_name(bytes(out), 12) == ("a\\.b.\\255x.example", len(out))


# -- the decoder raises only MessageError --------------------------------------------------
@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_raise_only_message_error(data):
    try:
        decode(data)
    except MessageError:
        pass


@settings(max_examples=600, deadline=None)
@given(st.data())
def test_mutated_real_messages_raise_only_message_error(data):
    seed_bytes = bytearray(data.draw(st.sampled_from([DIG_QUERY, sample().encode()])))
    for _ in range(data.draw(st.integers(1, 6))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert"]))
        where = data.draw(st.integers(0, max(0, len(seed_bytes) - 1)))
        if kind == "flip" and seed_bytes:
            seed_bytes[where] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del seed_bytes[where : where + data.draw(st.integers(1, 8))]
        else:
            seed_bytes[where:where] = data.draw(st.binary(min_size=1, max_size=4))
    try:
        back = decode(bytes(seed_bytes))
    except MessageError:
        return
    # What decodes must encode again (maybe other bytes: compression may differ) and decode the same.
    try:
        again = back.encode()
    except MessageError:
        return  # e.g. a decoded unknown-class name the encoder's label rules refuse
    assert decode(again) == back


# -- pictures drawn from the same table ----------------------------------------------------
def test_header_diagram_is_drawn_from_the_table():
    from refimpl.dns.describe import header_diagram_text

    text = header_diagram_text()
    assert "|QR|   OPCODE  |AA|TC|RD|RA|Z |AD|CD|   RCODE   |" in text
    assert len(text.splitlines()) == 2 + 2 * 6  # ruler, border, six 16-bit rows
    assert "|1 |" in header_diagram_text(Message(qr=True))


def test_layout_covers_every_byte_once():
    from refimpl.dns.describe import layout

    data = sample().encode()
    spans = layout(data)
    position = 0
    for span in spans:
        assert span.offset == position, span
        position += span.size
    assert position == len(data)
    rdata = next(s for s in spans if s.name == "answer[1] rdata")
    assert data[rdata.offset : rdata.offset + rdata.size] == bytes([192, 0, 2, 1])
