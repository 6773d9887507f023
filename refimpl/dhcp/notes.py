"""What a DHCP core says about its decisions: the :class:`Note` effect.

The server, the client and the relay return notes among their effects, beside
the :class:`~refimpl.dhcp.delivery.Outgoing` datagrams. A note is a sentence
for a student or an administrator ("DISCOVER from hw:02:..: offering
192.0.2.100 (never used)") plus a :class:`NoteKind`, so that a driver can
count and log what went wrong without reading the sentence: the socket driver
logs every ``DROPPED`` or ``FAILED`` note as a problem and counts it, and shows
``INFO`` notes only when asked to be verbose. Rewording a sentence changes no
behaviour.

A core keeps no list of its notes: it hands them out and forgets them, so a
server that runs for a year does not grow. Whoever wants a log (the simulated
host, the socket driver) keeps one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class NoteKind(Enum):
    """What a note is about, for the driver to branch on."""

    INFO = "info"  # a decision taken (an offer made, a state changed): for traces and verbose logs
    DROPPED = "dropped"  # a datagram refused: undecodable, or breaking a rule of RFC 2131
    FAILED = "failed"  # a request the core could not serve: no address left, lease file not written


@dataclass(frozen=True)
class Note:
    """A line for the trace or the log ("T1 expires: BOUND -> RENEWING"), and what it is about."""

    text: str
    kind: NoteKind = NoteKind.INFO

    @property
    def problem(self) -> bool:
        """Dropped or failed: something an administrator should see even in a quiet log."""
        return self.kind is not NoteKind.INFO

    def __str__(self) -> str:
        return self.text


__all__ = ["Note", "NoteKind"]
