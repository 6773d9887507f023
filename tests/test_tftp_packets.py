"""TFTP packets (refimpl.tftp.packets): the layouts of RFC 1350 §5 and RFC 2347's OACK.

The expected bytes are written out by hand from RFC 1350 §5 (figures 5-1 to
5-4 and the ERROR packet) and RFC 2347, never produced by the code under test.
"""

from __future__ import annotations

import dataclasses
import inspect
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.tftp import (
    LAYOUTS,
    Ack,
    Data,
    Error,
    ErrorCode,
    Opcode,
    OptionAck,
    PacketError,
    Request,
    decode,
    get,
    kind,
    put,
)
from refimpl.tftp import packets as codec
from refimpl.tftp.describe import summary
from refimpl.tftp.packets import MODES, Field

# -- strategies: what may go into a packet -------------------------------------------------------
# RFC 1350 §5: strings are netascii, NUL-terminated, so any ASCII character but NUL.
ascii_text = st.text(st.characters(min_codepoint=1, max_codepoint=127))
# Option names compare without case (RFC 2347), so decode() stores them lower-case; names
# generated without capitals survive a round trip unchanged.
CAPITALS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
option_name = st.text(st.characters(min_codepoint=1, max_codepoint=127, blacklist_characters=CAPITALS), min_size=1)
options = st.dictionaries(option_name, ascii_text, max_size=5)
block = st.integers(0, 0xFFFF)

requests = st.builds(
    Request, st.sampled_from([Opcode.RRQ, Opcode.WRQ]), ascii_text.filter(bool), st.sampled_from(MODES), options
)
packets = st.one_of(
    requests,
    st.builds(Data, block, st.binary(max_size=1500)),
    st.builds(Ack, block),
    st.builds(Error, block, ascii_text),
    st.builds(OptionAck, options),
)


# -- bytes written by hand -------------------------------------------------------------------------
HAND_MADE = [
    # RFC 1350 §5 figure 5-1: | 01 | filename | 0 | mode | 0 |
    (Request(Opcode.RRQ, "a.txt", "octet"), b"\x00\x01" + b"a.txt" + b"\x00" + b"octet" + b"\x00"),
    (Request(Opcode.WRQ, "boot/pxelinux.0", "netascii"), b"\x00\x02boot/pxelinux.0\x00netascii\x00"),
    # RFC 2347: the options follow the mode as more name/value strings
    (
        Request(Opcode.RRQ, "f", "octet", {"blksize": "1428", "tsize": "0"}),
        b"\x00\x01f\x00octet\x00blksize\x001428\x00tsize\x000\x00",
    ),
    # figure 5-2: | 03 | block # | data |
    (Data(1, b"hi"), b"\x00\x03\x00\x01hi"),
    (Data(0x1234, b""), b"\x00\x03\x12\x34"),
    (Data(65535, b"\x00\xff"), b"\x00\x03\xff\xff\x00\xff"),
    # figure 5-3: | 04 | block # |
    (Ack(0), b"\x00\x04\x00\x00"),
    (Ack(258), b"\x00\x04\x01\x02"),
    # figure 5-4: | 05 | ErrorCode | ErrMsg | 0 |
    (Error(ErrorCode.FILE_NOT_FOUND, "File not found"), b"\x00\x05\x00\x01File not found\x00"),
    (Error(0, ""), b"\x00\x05\x00\x00\x00"),
    # RFC 2347: | 06 | opt1 | 0 | value1 | 0 | ...
    (OptionAck({"blksize": "8"}), b"\x00\x06blksize\x008\x00"),
    (OptionAck({}), b"\x00\x06"),
]


@pytest.mark.parametrize(("packet", "raw"), HAND_MADE, ids=lambda v: v.hex() if isinstance(v, bytes) else kind(v))
def test_the_bytes_of_rfc_1350_section_5(packet, raw):
    """RFC 1350 §5, RFC 2347: encode writes exactly these bytes and decode reads them back."""
    assert packet.encode() == raw
    assert decode(raw) == packet


def test_opcodes_and_error_codes_are_the_rfcs():
    """RFC 1350 §5 opcodes 1-5, RFC 2347 OACK 6; the error codes of RFC 1350's appendix and RFC 2347's 8."""
    assert [(o.name, int(o)) for o in Opcode] == [
        ("RRQ", 1),
        ("WRQ", 2),
        ("DATA", 3),
        ("ACK", 4),
        ("ERROR", 5),
        ("OACK", 6),
    ]
    assert [int(c) for c in ErrorCode] == list(range(9))


# -- round trips ------------------------------------------------------------------------------------
@given(packets)
def test_every_packet_survives_encode_and_decode(packet):
    """RFC 1350 §5, RFC 2347: decode(encode(p)) == p for every opcode, and the opcode leads."""
    raw = packet.encode()
    assert decode(raw) == packet
    assert struct.unpack("!H", raw[:2])[0] == Opcode[kind(packet)]


def decodes_or_refuses(raw: bytes) -> None:
    """A packet that re-encodes to the same, or a PacketError with a short reason: nothing else."""
    try:
        packet = decode(raw)
    except PacketError as exc:
        assert str(exc) and len(str(exc)) < 200
    else:
        assert decode(packet.encode()) == packet


@given(st.binary(max_size=64))
def test_decode_of_any_bytes_is_a_packet_or_a_packet_error(raw):
    """RFC 1350 §5: junk never raises anything but PacketError (a server answers it and goes on)."""
    decodes_or_refuses(raw)


# Junk that looks more like TFTP: a known opcode, then NUL-separated pieces (reaches the string rules).
near_packets = st.builds(
    lambda op, parts, end: struct.pack("!H", op) + b"\x00".join(parts) + end,
    st.integers(0, 8),
    st.lists(st.binary(max_size=12), max_size=8),
    st.sampled_from([b"", b"\x00"]),
)


@given(near_packets)
def test_decode_of_near_packets_is_a_packet_or_a_packet_error(raw):
    """RFC 1350 §5, RFC 2347: nearly-right packets too: PacketError or a packet that re-encodes the same."""
    decodes_or_refuses(raw)


def test_an_error_message_quoting_junk_stays_short():
    """RFC 1350 §5: the reason goes back in an ERROR packet, so a 60 KB junk option is not quoted whole."""
    raw = b"\x00\x01a\x00octet\x00" + b"\x01" * 60000 + b"\x00"
    with pytest.raises(PacketError, match="has no value") as caught:
        decode(raw)
    assert len(str(caught.value)) < 200


# -- malformed packets ----------------------------------------------------------------------------
MALFORMED = [
    (b"", "too short"),
    (b"\x00", "too short"),
    (b"\x00\x00", "unknown opcode 0"),
    (b"\x00\x07", "unknown opcode 7"),
    (b"\xff\xff\x00\x01", "unknown opcode 65535"),
    (b"\x00\x01", "filename and a mode"),
    (b"\x00\x01a.txt\x00", "filename and a mode"),  # RRQ without a mode
    (b"\x00\x02a.txt\x00", "filename and a mode"),  # WRQ without a mode
    (b"\x00\x01a.txt\x00octet", "not NUL-terminated"),  # the final NUL is missing
    (b"\x00\x01a.txt", "not NUL-terminated"),
    (b"\x00\x01caf\xc3\xa9\x00octet\x00", "not ASCII"),
    (b"\x00\x01a\x00oct\xe9t\x00", "not ASCII"),
    (b"\x00\x01\x00octet\x00", "empty filename"),
    (b"\x00\x01a\x00octet\x00blksize\x00", "has no value"),  # an odd option list
    (b"\x00\x06blksize\x00", "has no value"),
    (b"\x00\x01a\x00octet\x00blksize\x008\x00BlkSize\x0016\x00", "given twice"),  # case-insensitive names
    (b"\x00\x06tsize\x000\x00tsize\x001\x00", "given twice"),
    (b"\x00\x01a\x00octet\x00\x008\x00", "empty name"),
    (b"\x00\x03\x00", "2-byte number"),  # DATA with half a block number
    (b"\x00\x04", "2-byte number"),
    (b"\x00\x04\x00\x01\x00", "extra byte"),  # ACK with one byte too many
    (b"\x00\x04\x00\x01\x00\x00\x00", "3 extra byte"),
    (b"\x00\x05\x00", "2-byte number"),
    (b"\x00\x05\x00\x01oops", "not NUL-terminated"),
    (b"\x00\x05\x00\x01one\x00two\x00", "after its message"),
]


@pytest.mark.parametrize(("raw", "reason"), MALFORMED, ids=[raw.hex() or "empty" for raw, _ in MALFORMED])
def test_malformed_packets_raise_packet_error_saying_why(raw, reason):
    """RFC 1350 §5, RFC 2347: each wrong shape is a PacketError whose message names the problem."""
    with pytest.raises(PacketError, match=reason):
        decode(raw)


def test_packet_error_is_a_value_error():
    """A caller catching ValueError (as for any parser) catches PacketError too."""
    assert issubclass(PacketError, ValueError)


@pytest.mark.parametrize(
    "packet",
    [
        Request(Opcode.RRQ, "caf\u00e9", "octet"),
        Request(Opcode.RRQ, "a\x00b", "octet"),
        Error(1, "\u00e9chec"),
        OptionAck({"blk\x00size": "8"}),
    ],
)
def test_encode_refuses_what_cannot_be_a_netascii_string(packet):
    """RFC 1350 §5: strings are ASCII and NUL-terminated, so a NUL inside or a non-ASCII letter is refused."""
    with pytest.raises(PacketError):
        packet.encode()


def test_the_client_refuses_a_name_that_cannot_go_on_the_wire_at_once():
    """RFC 1350 §5: get/put fail when called, not later inside the network driver."""
    with pytest.raises(PacketError, match="not ASCII"):
        get("caf\u00e9.txt", None, "192.0.2.1")
    with pytest.raises(PacketError, match="NUL"):
        put("a\x00b", None, "192.0.2.1")


# -- case ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["OCTET", "Octet", "NetAscii", "NETASCII", "mAiL"])
def test_the_mode_is_case_insensitive(mode):
    """RFC 1350 §5: "any combination of upper and lower case, such as NETASCII, NetAscii, etc."."""
    packet = decode(b"\x00\x01File.TXT\x00" + mode.encode() + b"\x00")
    assert packet.mode == mode.lower()
    assert packet.filename == "File.TXT"  # the filename keeps its case: file systems tell them apart


def test_option_names_are_case_insensitive_and_values_kept():
    """RFC 2347: option names compare without case; decode stores them lower-case, values as sent."""
    packet = decode(b"\x00\x01f\x00octet\x00BLKSIZE\x001428\x00TSize\x000\x00X-Vendor\x00AbC\x00")
    assert packet.options == {"blksize": "1428", "tsize": "0", "x-vendor": "AbC"}
    assert decode(b"\x00\x06BlkSize\x008\x00") == OptionAck({"blksize": "8"})


# -- the layout table --------------------------------------------------------------------------------
def test_layouts_cover_every_opcode_and_name_the_fields_decode_fills():
    """RFC 1350 §5, RFC 2347: one row per opcode, and each row lists the decoded packet's fields in order."""
    assert set(LAYOUTS) == set(Opcode)
    samples = {
        Opcode.RRQ: Request(Opcode.RRQ, "f"),
        Opcode.WRQ: Request(Opcode.WRQ, "f"),
        Opcode.DATA: Data(1),
        Opcode.ACK: Ack(1),
        Opcode.ERROR: Error(1),
        Opcode.OACK: OptionAck(),
    }
    for opcode, sample in samples.items():
        fields = [f.name for f in dataclasses.fields(decode(sample.encode())) if f.name != "opcode"]
        assert fields == [f.name for f in LAYOUTS[opcode]], opcode
    assert LAYOUTS[Opcode.DATA][0] == Field("block", 2) and LAYOUTS[Opcode.ERROR][0] == Field("code", 2)


def test_kind_and_summary_name_each_packet():
    """The names the lessons and the trace use: the opcode names of RFC 1350 §5 and RFC 2347."""
    assert [
        kind(p) for p in (Request(Opcode.RRQ, "f"), Request(Opcode.WRQ, "f"), Data(1), Ack(1), Error(1), OptionAck())
    ] == ["RRQ", "WRQ", "DATA", "ACK", "ERROR", "OACK"]
    assert summary(Error(1, "File not found")) == "code=1 (FILE_NOT_FOUND) File not found"
    assert summary(Error(99)) == "code=99 (?)"
    assert summary(Request(Opcode.RRQ, "f", "octet", {"blksize": "8"})) == "f octet blksize=8"
    assert summary(Data(3, b"abc")) == "block=3 3 bytes"


def test_an_error_message_that_is_not_ascii_reads_as_escapes_and_encodes_again():
    """Found by the property above: a peer's non-ASCII error text must not make a packet we cannot encode."""
    packet = decode(b"\x00\x05\x00\x00\x80\x00")
    assert packet.message == "\\x80" and decode(packet.encode()) == packet


# -- the table drives the codec --------------------------------------------------------------
@pytest.fixture
def layouts():
    """LAYOUTS to change in a test (compile_layouts() makes the codec follow); restored and compiled after."""
    saved = dict(LAYOUTS)
    yield LAYOUTS
    LAYOUTS.clear()
    LAYOUTS.update(saved)
    codec.compile_layouts()


def test_a_changed_row_changes_what_decode_reads_and_encode_writes(layouts):
    """The table is the code: an ACK whose block number is 4 bytes wide is read and written as 4 bytes."""
    layouts[Opcode.ACK] = (Field("block", 4),)
    codec.compile_layouts()
    assert decode(b"\x00\x04\x00\x01\x00\x02") == Ack(0x10002)
    assert Ack(0x10002).encode() == b"\x00\x04\x00\x01\x00\x02"
    with pytest.raises(PacketError, match="ACK block at byte 2: needs a 4-byte number"):
        decode(b"\x00\x04\x00\x01")  # RFC 1350's 2-byte ACK no longer fits the row
    # a string's rule too: a strict ERROR message may no longer be missing
    assert decode(b"\x00\x05\x00\x01") == Error(1, "")
    layouts[Opcode.ERROR] = (Field("code", 2), Field("message", "z"))
    codec.compile_layouts()
    with pytest.raises(PacketError, match="ERROR message at byte 4: missing"):
        decode(b"\x00\x05\x00\x01")


def test_every_opcode_is_read_through_its_row_and_no_code_of_its_own(layouts):
    """Without its row in LAYOUTS an opcode is unknown to decode and encode: no opcode has parsing code elsewhere."""
    samples = [
        Request(Opcode.RRQ, "f", "octet", {"blksize": "8"}),
        Request(Opcode.WRQ, "f"),
        Data(1, b"x"),
        Ack(1),
        Error(1, "oops"),
        OptionAck({"tsize": "3"}),
    ]
    for sample in samples:
        raw = sample.encode()
        row = layouts.pop(sample.opcode)
        codec.compile_layouts()
        with pytest.raises(PacketError, match=f"unknown opcode {int(sample.opcode)}"):
            decode(raw)
        with pytest.raises(PacketError, match="unknown opcode"):
            sample.encode()
        layouts[sample.opcode] = row
        codec.compile_layouts()
        assert decode(raw) == sample
    source = "".join(inspect.getsource(f) for f in (codec.decode, codec.encode, codec.read_fields, codec.write_fields))
    assert "Opcode." not in source and "isinstance" not in source


def test_a_row_that_does_not_fit_its_packet_is_refused_when_compiled(layouts):
    """The names of a row are the dataclass's fields, in order; a typo fails at once, not on the wire."""
    layouts[Opcode.ACK] = (Field("blok", 2),)
    with pytest.raises(ValueError, match="blok"):
        codec.compile_layouts()
    layouts[Opcode.ACK] = (Field("block", 3),)
    with pytest.raises(ValueError, match="no such size"):
        codec.compile_layouts()


@pytest.mark.parametrize(
    ("raw", "field", "offset"),
    [
        (b"\x00", "opcode", 0),
        (b"\x00\x01a\x00oct", "RRQ mode", 4),
        (b"\x00\x01a\x00octet\x00blksize\x00", "RRQ options", 10),
        (b"\x00\x03\x00", "DATA block", 2),
        (b"\x00\x04\x00\x01\x00", "ACK", 4),
    ],
)
def test_a_packet_error_names_the_field_and_its_byte_offset(raw, field, offset):
    """As the DHCP codec does: which field, from which byte, then why."""
    with pytest.raises(PacketError) as caught:
        decode(raw)
    assert (caught.value.field, caught.value.offset) == (field, offset)
    assert str(caught.value).startswith(f"{field} at byte {offset}: ")


@given(packets)
def test_the_shortcut_and_the_walk_read_and_write_alike(packet):
    """DATA and ACK take a shortcut compiled from their rows; the walk gives the same packet and bytes."""
    raw = packet.encode()
    layout = codec._BY_PREFIX[raw[:2]]
    assert codec.write_fields(layout, packet) == raw
    assert layout.build(*codec.read_fields(layout, raw)) == decode(raw)
