"""refimpl.telnet: RFC 854 commands, RFC 855 subnegotiation, IAC IAC, incomplete streams, junk."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import telnet
from refimpl.telnet import Command, Splitter, Subnegotiation, TelnetError, Text, describe, encode, split


def test_codes_are_rfc_854s():
    assert (telnet.IAC, telnet.DONT, telnet.DO, telnet.WONT, telnet.WILL, telnet.SB) == (255, 254, 253, 252, 251, 250)
    assert (telnet.GA, telnet.EL, telnet.EC, telnet.AYT, telnet.AO, telnet.IP) == (249, 248, 247, 246, 245, 244)
    assert (telnet.BRK, telnet.DM, telnet.NOP, telnet.SE) == (243, 242, 241, 240)
    assert sorted(telnet.COMMANDS) == list(range(240, 256))


def test_option_table():
    assert telnet.OPTIONS[1] == ("ECHO", 857)
    assert telnet.OPTIONS[3] == ("SUPPRESS-GO-AHEAD", 858)
    assert telnet.OPTIONS[24] == ("TERMINAL-TYPE", 1091)
    assert telnet.OPTIONS[31] == ("NAWS", 1073)
    assert telnet.OPTIONS[34] == ("LINEMODE", 1184)
    assert telnet.OPTIONS[39] == ("NEW-ENVIRON", 1572)


def test_split_a_negotiation_and_text():
    data = b"\xff\xfd\x18\xff\xfb\x01login: \xff\xf9"
    assert split(data) == [Command("DO", 24), Command("WILL", 1), Text(b"login: "), Command("GA", None)]


def test_iac_iac_is_one_data_byte_inside_text():
    assert split(b"a\xff\xffb") == [Text(b"a\xffb")]
    assert encode(Text(b"a\xffb")) == b"a\xff\xffb"


def test_high_bit_bytes_are_text_unless_after_iac():
    # RFC 854: the codes mean something "only when immediately preceded by an IAC"
    assert split(bytes([251, 253, 240, 200])) == [Text(bytes([251, 253, 240, 200]))]


def test_subnegotiation_with_doubled_255():
    data = b"\xff\xfa\x18\x00xterm\xff\xf0" + b"\xff\xfa\x1f\x00\xff\xff\x00\x18\xff\xf0"
    assert split(data) == [Subnegotiation(24, b"\x00xterm"), Subnegotiation(31, b"\x00\xff\x00\x18")]


@pytest.mark.parametrize(
    "data, offset",
    [(b"ab\xff", 2), (b"\xff\xfd", 0), (b"x\xff\xfa", 1), (b"\xff\xfa\x18\x01", 0), (b"\xff\xfa\x18\x01\xff", 0)],
)
def test_trailing_incomplete_sequence_raises_with_offset(data, offset):
    with pytest.raises(TelnetError) as caught:
        split(data)
    assert caught.value.offset == offset


@pytest.mark.parametrize(
    "data, offset, words",
    [(b"ok\xff\x07", 2, "not a command"), (b"\xff\xf0", 0, "without IAC SB"), (b"\xff\xfa\x18\xff\xfd", 3, "inside")],
)
def test_bytes_that_are_never_telnet(data, offset, words):
    with pytest.raises(TelnetError, match=words) as caught:
        split(data)
    assert caught.value.offset == offset


def test_splitter_keeps_the_unfinished_tail():
    s = Splitter()
    assert s.feed(b"hi\xff") == [Text(b"hi")]
    assert s.rest == b"\xff"
    assert s.feed(b"\xfd") == []
    assert s.feed(b"\x01\xff\xfa\x18\x01") == [Command("DO", 1)]
    assert s.rest == b"\xff\xfa\x18\x01"
    assert s.feed(b"\xff\xf0done") == [Subnegotiation(24, b"\x01"), Text(b"done")]
    assert s.rest == b""


def test_splitter_error_offset_counts_the_whole_stream():
    s = Splitter()
    s.feed(b"12345")
    with pytest.raises(TelnetError) as caught:
        s.feed(b"\xff\x01")
    assert caught.value.offset == 5


def test_describe():
    assert describe(Command("DO", 1)) == "IAC DO ECHO (RFC 857)"
    assert describe(Command("WONT", 77)) == "IAC WONT option 77 (not in our table)"
    assert describe(Command("GA", None)) == "IAC GA"
    assert describe(Text(b"login: ")) == "text b'login: '"
    assert describe(Subnegotiation(24, b"\x01")) == "IAC SB TERMINAL-TYPE (RFC 1091) SEND IAC SE"
    assert describe(Subnegotiation(24, b"\x00xterm")) == "IAC SB TERMINAL-TYPE (RFC 1091) IS 'xterm' IAC SE"
    assert describe(Subnegotiation(31, b"\x00\x50\x00\x18")) == "IAC SB NAWS (RFC 1073) width=80 height=24 IAC SE"


def test_answer_refuses_what_it_was_not_told_to_accept():
    assert telnet.answer(Command("DO", 24)) == b"\xff\xfc\x18"  # WONT
    assert telnet.answer(Command("WILL", 1), do=frozenset({1})) == b"\xff\xfd\x01"  # DO
    assert telnet.answer(Command("WILL", 5)) == b"\xff\xfe\x05"  # DONT
    assert telnet.answer(Command("WONT", 1)) == b""  # no answer to an answer: no loops
    assert telnet.answer(Text(b"x")) == b""


def test_encode_refuses_a_negotiation_without_option():
    with pytest.raises(ValueError):
        encode(Command("DO", None))


pieces = st.one_of(
    st.builds(Text, st.binary(min_size=1, max_size=20)),
    st.builds(Command, st.sampled_from(telnet.NEGOTIATION), st.integers(0, 255)),
    st.builds(Command, st.sampled_from(["NOP", "DM", "BRK", "IP", "AO", "AYT", "EC", "EL", "GA"]), st.none()),
    st.builds(Subnegotiation, st.integers(0, 255), st.binary(max_size=20)),
)


def merge_text(items):
    out = []
    for item in items:
        if isinstance(item, Text) and out and isinstance(out[-1], Text):
            out[-1] = Text(out[-1].data + item.data)
        else:
            out.append(item)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=12))
def test_encode_then_split_gives_the_pieces_back(items):
    data = b"".join(encode(p) for p in items)
    assert split(data) == merge_text(items)


@settings(max_examples=300, deadline=None)
@given(st.lists(pieces, max_size=12), st.data())
def test_splitter_in_any_cuts_equals_split(items, data):
    stream = b"".join(encode(p) for p in items)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=5)))
    s, got = Splitter(), []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got += s.feed(stream[a:b])
    assert s.rest == b""
    assert merge_text(got) == merge_text(items)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_telnet_error(data):
    try:
        result = split(data)
    except TelnetError as exc:
        assert 0 <= exc.offset < len(data)
    else:
        for piece in result:
            describe(piece)
    s = Splitter()
    try:
        s.feed(data[:7])
        s.feed(data[7:])
    except TelnetError:
        pass
