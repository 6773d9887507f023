"""Mode netascii (refimpl.tftp.netascii): CR LF line ends and CR NUL (RFC 1350 §1 and §5, RFC 764)."""

from __future__ import annotations

import errno
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.tftp.netascii import NetasciiDecoder, NetasciiReader, NetasciiWriter, from_netascii, to_netascii

# Text-like bytes: line ends and carriage returns are common, so hypothesis meets them often.
texty = st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\x00", b"\r\n", b"\xff", b" "]), max_size=60).map(b"".join)
any_bytes = st.one_of(texty, st.binary(max_size=200))


@pytest.mark.parametrize(
    ("local", "wire"),
    [
        (b"", b""),
        (b"a\nb", b"a\r\nb"),  # RFC 764: a line ends with CR LF
        (b"a\rb", b"a\r\x00b"),  # a CR alone goes as CR NUL
        (b"\r\n", b"\r\x00\r\n"),  # a local CR before a local LF: CR NUL, then the line end
        (b"\n\n", b"\r\n\r\n"),
        (b"\x00", b"\x00"),  # a NUL alone is not special
        (b"x\r", b"x\r\x00"),
    ],
)
def test_line_ends_on_the_wire(local, wire):
    """RFC 1350 §1 (netascii is Telnet's ASCII, RFC 764): LF -> CR LF, CR -> CR NUL, and back."""
    assert to_netascii(local) == wire
    assert from_netascii(wire) == local


@given(any_bytes)
def test_any_bytes_survive_the_round_trip(local):
    """RFC 1350 §1: what goes out as netascii comes back the same, whatever the bytes."""
    wire = to_netascii(local)
    assert from_netascii(wire) == local
    # every CR on the wire is followed by LF or NUL, as RFC 764 requires
    assert all(wire[i + 1 : i + 2] in (b"\n", b"\x00") for i in range(len(wire)) if wire[i : i + 1] == b"\r")


def test_a_cr_at_the_end_of_a_chunk_waits_for_the_next_byte():
    """RFC 1350 §1: a block boundary may cut CR LF or CR NUL in two; the CR is held until the next block."""
    decoder = NetasciiDecoder()
    assert decoder.feed(b"one\r") == b"one"
    assert decoder.feed(b"\ntwo\r") == b"\ntwo"
    assert decoder.feed(b"\x00three\r") == b"\rthree"
    assert decoder.finish() == b"\r"  # a lone CR at the very end is kept, not lost
    assert decoder.finish() == b""


@given(any_bytes)
def test_decoding_in_two_chunks_split_anywhere_equals_decoding_at_once(local):
    """RFC 1350 §1: for every split position of the wire bytes, chunked decoding gives the same text."""
    for wire in (to_netascii(local), local):  # valid netascii, and arbitrary (lenient) input
        whole = from_netascii(wire)
        for cut in range(len(wire) + 1):
            decoder = NetasciiDecoder()
            assert decoder.feed(wire[:cut]) + decoder.feed(wire[cut:]) + decoder.finish() == whole, cut


@given(any_bytes, st.lists(st.integers(0, 50), max_size=10))
def test_decoding_in_many_chunks_equals_decoding_at_once(local, sizes):
    """RFC 1350 §1: blocks of any sizes (also empty ones) decode like the whole."""
    wire = to_netascii(local)
    decoder, out, at = NetasciiDecoder(), b"", 0
    for size in sizes:
        out += decoder.feed(wire[at : at + size])
        at += size
    out += decoder.feed(wire[at:]) + decoder.finish()
    assert out == local


class Trickle(io.RawIOBase):
    """A file whose read() returns at most ``most`` bytes at a time (a pipe, a raw file)."""

    def __init__(self, data: bytes, most: int):
        self.data, self.most = data, most

    def readable(self) -> bool:
        return True

    def read(self, size=-1) -> bytes:
        size = self.most if size < 0 else min(size, self.most)
        chunk, self.data = self.data[:size], self.data[size:]
        return chunk


@given(any_bytes, st.integers(1, 70), st.integers(1, 9))
def test_reader_returns_exactly_n_bytes_until_the_end(local, n, most):
    """RFC 1350 §6: a short block ends the transfer, so read(n) must give n bytes until the very end."""
    for source in (io.BytesIO(local), Trickle(local, most)):
        reader = NetasciiReader(source)
        pieces = []
        while True:
            piece = reader.read(n)
            pieces.append(piece)
            if len(piece) < n:
                break
            assert len(piece) == n
        assert b"".join(pieces) == to_netascii(local)
        assert reader.read(n) == b""


def test_reader_with_blocks_of_eight_cuts_a_line_end_in_two():
    """RFC 1350 §1: the wire size is not the file size; a block may end between CR and LF."""
    reader = NetasciiReader(io.BytesIO(b"abcdefg\nh"))
    assert reader.read(8) == b"abcdefg\r"
    assert reader.read(8) == b"\nh"


def test_writer_stores_local_text_and_the_last_cr_on_close():
    """RFC 1350 §1: the receiving side turns CR LF back into LF and CR NUL into CR, across blocks."""
    sink = io.BytesIO()
    sink.close = lambda: None  # keep the value readable after close
    writer = NetasciiWriter(sink)
    for chunk in (b"a\r", b"\nb\r", b"\x00c\r"):
        assert writer.write(chunk) == len(chunk)
    writer.close()
    assert sink.getvalue() == b"a\nb\rc\r"


class FullDisk(io.BytesIO):
    """Accepts ``room`` writes, then says ENOSPC; remembers whether it was discarded or closed."""

    def __init__(self, room: int):
        super().__init__()
        self.room, self.discarded, self.kept = room, False, False

    def write(self, chunk) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= 1
        return super().write(chunk)

    def close(self) -> None:
        self.kept = True

    def discard(self) -> None:
        self.discarded = True


def test_writer_discards_the_upload_when_the_last_cr_does_not_fit():
    """RFC 1350 §5 ERROR 3 (disk full): a failure on the final byte leaves no half file, it is not kept."""
    sink = FullDisk(room=1)
    writer = NetasciiWriter(sink)
    writer.write(b"text\r")  # the CR waits for the next block...
    with pytest.raises(OSError):
        writer.close()  # ...and the end of the file has no room for it
    assert sink.discarded and not sink.kept


def test_writer_discard_drops_the_file():
    """A failed upload: NetasciiWriter.discard passes on to the file's discard, not close."""
    sink = FullDisk(room=5)
    NetasciiWriter(sink).discard()
    assert sink.discarded and not sink.kept
