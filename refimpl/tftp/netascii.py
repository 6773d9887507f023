"""Mode "netascii": text with Telnet's line ends (RFC 1350 §1, RFC 764).

On the wire a line ends with CR LF, and a carriage return that is not part of a
line end is sent as CR NUL, so a receiver can always tell the two apart. Here
(Unix) a line ends with LF. So, sending: LF -> CR LF and CR -> CR NUL;
receiving: CR LF -> LF and CR NUL -> CR. Mode "octet" sends the bytes as they
are.

The conversion changes the length, so a file of 1000 bytes may need more than
two 512-byte blocks in netascii, and a CR LF pair can be cut in two by a block
boundary: both classes here keep that one byte of state between calls.
"""

from __future__ import annotations

from typing import BinaryIO

CR, LF, NUL = b"\r", b"\n", b"\x00"


def to_netascii(text: bytes) -> bytes:
    """Local text -> wire: ``b"a\\rb\\n"`` -> ``b"a\\r\\x00b\\r\\n"``."""
    return text.replace(CR, CR + NUL).replace(LF, CR + LF)


def from_netascii(wire: bytes) -> bytes:
    """Wire -> local text, all at once (:class:`NetasciiDecoder` does it chunk by chunk)."""
    decoder = NetasciiDecoder()
    return decoder.feed(wire) + decoder.finish()


class NetasciiDecoder:
    """Wire -> local text, chunk by chunk; a CR at the end of a chunk waits for the next byte."""

    def __init__(self) -> None:
        self.pending_cr = False

    def feed(self, chunk: bytes) -> bytes:
        if self.pending_cr:
            chunk = CR + bytes(chunk)
            self.pending_cr = False
        if chunk.endswith(CR):
            chunk, self.pending_cr = chunk[:-1], True
        # CR LF -> LF first, then CR NUL -> CR; a CR followed by anything else is kept
        # as it is (RFC 764 forbids it, but a lenient receiver loses nothing).
        return bytes(chunk).replace(CR + LF, LF).replace(CR + NUL, CR)

    def finish(self) -> bytes:
        """The end of the transfer: a lone CR at the very end is kept."""
        tail, self.pending_cr = (CR if self.pending_cr else b""), False
        return tail


class NetasciiReader:
    """A file opened for reading, seen through netascii: ``read(n)`` returns wire bytes."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.buffer = bytearray()
        self.eof = False

    def read(self, size: int) -> bytes:
        while len(self.buffer) < size and not self.eof:
            chunk = self.file.read(max(size, 4096))
            if not chunk:
                self.eof = True
            self.buffer += to_netascii(chunk)  # no state needed: each byte expands alone
        out = bytes(self.buffer[:size])
        del self.buffer[:size]
        return out

    def close(self) -> None:
        self.file.close()


class NetasciiWriter:
    """A file opened for writing, fed wire bytes: ``write(chunk)`` stores local text."""

    def __init__(self, file: BinaryIO) -> None:
        self.file = file
        self.decoder = NetasciiDecoder()

    def write(self, chunk: bytes) -> int:
        self.file.write(self.decoder.feed(chunk))
        return len(chunk)

    def close(self) -> None:
        try:
            self.file.write(self.decoder.finish())
        except OSError:  # a full disk on the very last byte: the upload failed, keep no half file
            self.discard()
            raise
        self.file.close()

    def discard(self) -> None:
        """A failed upload: drop what was written, if the file knows how."""
        getattr(self.file, "discard", self.file.close)()
