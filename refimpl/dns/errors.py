"""The one exception the DNS decoder raises: which field, at which byte, and why.

A decoder that parses bytes from the network must fail in one predictable way
(the tests feed it random and mutated bytes and accept only this exception),
so every check in :mod:`refimpl.dns.names`, :mod:`refimpl.dns.records` and
:mod:`refimpl.dns.message` raises :class:`MessageError`, never IndexError or
struct.error.
"""

from __future__ import annotations


class MessageError(ValueError):
    """Bad bytes or a bad value. ``field``: ``"qdcount"``, ``"answer[0] rdata"``...;
    ``offset``: the byte where it starts (None for a bad value given to the encoder)."""

    def __init__(self, field: str, offset: int | None, reason: str):
        self.field = field
        self.offset = offset
        self.reason = reason
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"{field}{where}: {reason}")
