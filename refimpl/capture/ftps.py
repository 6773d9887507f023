"""Read an FTPS capture: the clear-text lines, then TLS records, per connection.

FTPS is FTP whose connections are wrapped in TLS. On the wire, explicit FTPS
(RFC 4217 §4) starts as plain FTP: the 220 greeting, ``AUTH TLS`` and the
server's ``234`` are readable; after them each side sends only TLS records.
Implicit FTPS starts TLS with the first byte. So one rule cuts both: a TLS
record starts with a content type (RFC 8446 §5.1: 20 change_cipher_spec, 21
alert, 22 handshake, 23 application_data) and the byte 3 (the major version
of every TLS and SSL 3 record); an FTP line starts with a letter or a digit.

Every record is one :class:`~refimpl.trace.Event` whose message is a
:class:`TlsRecord`; every clear line an event whose message is the line.
Nothing is decrypted - that is the point.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from refimpl.capture.app import Connection, _at, _event, _names, _trace, connections
from refimpl.capture.ftp import read_segments
from refimpl.trace import Event, Trace

CONTENT_TYPES = {20: "change_cipher_spec", 21: "alert", 22: "handshake", 23: "application_data"}
"""TLS record content types (RFC 8446 §5.1, the same numbers since SSL 3)."""


@dataclass(frozen=True)
class TlsRecord:
    """A TLS record header (RFC 8446 §5.1): type, legacy version, length; the body stays unread."""

    content_type: int
    version: tuple[int, int]
    length: int

    @property
    def name(self) -> str:
        return CONTENT_TYPES.get(self.content_type, f"type {self.content_type}")


def split_stream(data: bytes) -> list[tuple[int, bytes | TlsRecord]]:
    """``[(offset, line or TlsRecord), ...]`` of one direction's bytes."""
    pieces: list[tuple[int, bytes | TlsRecord]] = []
    at = 0
    while at < len(data):
        if data[at] in CONTENT_TYPES and at + 5 <= len(data) and data[at + 1] == 3:
            length = int.from_bytes(data[at + 3 : at + 5], "big")
            pieces.append((at, TlsRecord(data[at], (data[at + 1], data[at + 2]), length)))
            at += 5 + length
            continue
        end = data.find(b"\r\n", at)
        end = len(data) if end < 0 else end + 2
        pieces.append((at, data[at:end]))
        at = end
    return pieces


def _events(conn: Connection, name: str, flow: str) -> list[Event]:
    events: list[Event] = []
    for from_client in (True, False):
        chunks = [c for c in conn.chunks if c.from_client == from_client]
        for offset, piece in split_stream(conn.stream(from_client)):
            when = _at(chunks, offset)
            if isinstance(piece, TlsRecord):
                summary = f"{piece.name} ({piece.content_type}), {piece.length} bytes"
                events.append(_event(conn, name, when, from_client, "TLS", summary, message=piece, flow=flow))
            else:
                text = piece.decode("latin-1").rstrip("\r\n")
                word = text.split(" ", 1)[0]
                kind = text[:3] if text[:3].isdigit() else word.upper() if word.isalpha() else "line"
                summary = (
                    text[3:].lstrip(" ") if kind == text[:3] else text[len(word) :].strip() if kind != "line" else text
                )
                events.append(_event(conn, name, when, from_client, kind, summary.strip(), message=text, flow=flow))
    return events


def read_ftps_trace(path: str | Path, server_port: int) -> Trace:
    """Connections to ``server_port`` (explicit FTPS), ``server_port + 1`` (implicit) and the passive
    ports after them (``server_port + 2`` to ``+ 5``, the data connections), as the recorder set them."""
    segments = read_segments(path)
    flows = {server_port: "ftps-control", server_port + 1: "ftps-implicit"}
    conns: list[tuple[Connection, str]] = []
    for port in range(server_port, server_port + 6):
        conns += [(c, flows.get(port, "ftps-data")) for c in connections(segments, port)]
    conns.sort(key=lambda pair: pair[0].opened)
    trace = _trace([c for c, _ in conns])
    events: list[Event] = []
    for name, (conn, flow) in zip(_names([c for c, _ in conns]), conns):
        events += [_event(conn, name, conn.opened, True, "SYN", flow=flow), *_events(conn, name, flow)]
    trace.extend(sorted(events, key=lambda e: e.time))
    return trace
