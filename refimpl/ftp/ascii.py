"""TYPE A: line ends become CRLF on the wire and go back to the local form on disk.

RFC 959 §3.1.1.1: in ASCII type the data travels as NVT-ASCII, where every line
ends in CRLF, whatever the sending or receiving system uses. Our disk uses
Unix line ends (LF), so

* sending (RETR, LIST): LF -> CRLF (an LF already preceded by CR stays as is);
* receiving (STOR, APPE): CRLF -> LF (a lone CR is kept).

Data arrives in chunks, and a CRLF can be split between two chunks, so each
converter remembers the last byte it saw. TYPE I (image, binary) sends the
bytes untouched - the only safe choice for anything but text.
"""

from __future__ import annotations

import re

_BARE_LF = re.compile(rb"(?<!\r)\n")


class ToNetwork:
    """LF -> CRLF, chunk by chunk."""

    def __init__(self) -> None:
        self.last = b""

    def convert(self, chunk: bytes) -> bytes:
        if not chunk:
            return chunk
        if chunk[:1] == b"\n" and self.last == b"\r":
            out = b"\n" + _BARE_LF.sub(b"\r\n", chunk[1:])
        else:
            out = _BARE_LF.sub(b"\r\n", chunk)
        self.last = chunk[-1:]
        return out


class FromNetwork:
    """CRLF -> LF, chunk by chunk; call :meth:`flush` at the end."""

    def __init__(self) -> None:
        self.held_cr = False

    def convert(self, chunk: bytes) -> bytes:
        if self.held_cr:
            chunk = b"\r" + chunk
            self.held_cr = False
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            self.held_cr = True  # maybe the first half of a CRLF: wait for the next chunk
        return chunk.replace(b"\r\n", b"\n")

    def flush(self) -> bytes:
        """A CR at the very end of the data was not followed by LF: keep it."""
        held, self.held_cr = self.held_cr, False
        return b"\r" if held else b""


def to_network(data: bytes) -> bytes:
    """Convert a whole text at once (LF -> CRLF)."""
    return ToNetwork().convert(data)


def from_network(data: bytes) -> bytes:
    """Convert a whole text at once (CRLF -> LF)."""
    conv = FromNetwork()
    return conv.convert(data) + conv.flush()
