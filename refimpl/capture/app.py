"""Read a capture of HTTP, Telnet or SSH on one server port into a :class:`~refimpl.trace.Trace`.

The three protocols of lesson 08's tour each run over one TCP connection to
a known port, so one walk serves them all: :func:`connections` puts each
connection's bytes back in order per direction (RFC 793 §3.3, with the
reassembly of :mod:`refimpl.capture.ftp`) and keeps them in *chunks*, the
bytes each segment brought, with its time. Then each protocol reads its
chunks in its own way:

* :func:`read_http_trace`: h11 (a sans-I/O HTTP/1.1 library) splits each
  direction into requests and responses (RFC 9112 §6.3 says where a body
  ends; a HEAD's answer has none). One event per message, plus the SYN and
  FIN of each connection, so a persistent connection shows as several
  requests between one SYN and one FIN.
* :func:`read_telnet_trace`: one event per chunk, the pieces
  :mod:`refimpl.telnet` finds in it (``IAC DO ECHO (RFC 857)``, text).
* :func:`read_ssh_trace`: the version line, each clear-text packet up to
  NEWKEYS (:mod:`refimpl.ssh_wire`), then one ``encrypted`` event per run
  of chunks in the same direction.

Lifelines are ``client`` (who sent the SYN; ``client2`` for a second client
connection...) and ``server``. scapy reads the file (inside
:func:`refimpl.capture.ftp.read_segments`); h11 is imported inside
:func:`read_http_trace`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from refimpl import ssh_wire, telnet
from refimpl.capture.ftp import Endpoint, Segment, _Stream, read_segments
from refimpl.trace import Event, Trace


@dataclass(frozen=True)
class Chunk:
    """Bytes one segment brought, in order; ``from_client`` says the direction."""

    time: float
    from_client: bool
    data: bytes


@dataclass
class Connection:
    """One TCP connection to the server port: when it opened and closed, and its chunks."""

    client: Endpoint
    server: Endpoint
    opened: float
    chunks: list[Chunk] = field(default_factory=list)
    fins: list[tuple[float, bool]] = field(default_factory=list)  # (time, from_client) of each first FIN
    resets: list[tuple[float, bool]] = field(default_factory=list)

    def stream(self, from_client: bool) -> bytes:
        """Everything one side sent, in order."""
        return b"".join(c.data for c in self.chunks if c.from_client == from_client)


def connections(segments: list[Segment], server_port: int) -> list[Connection]:
    """Every connection to ``server_port`` that starts with a SYN in the capture, in the order they opened."""
    found: dict[frozenset, Connection] = {}
    streams: dict[Endpoint, _Stream] = {}
    start = segments[0].time if segments else 0.0
    for s in segments:
        when = round(s.time - start, 6)
        if "S" in s.flags and "A" not in s.flags and s.dst[1] == server_port:
            found[s.key] = Connection(client=s.src, server=s.dst, opened=when)
            streams[s.src] = _Stream()
        conn = found.get(s.key)
        if conn is None:
            continue
        if "S" in s.flags:
            streams.setdefault(s.src, _Stream()).start(s.seq)
        from_client = s.src == conn.client
        fresh = streams[s.src].add(s.seq, s.payload)
        if fresh:
            conn.chunks.append(Chunk(when, from_client, fresh))
        if "F" in s.flags and from_client not in [side for _, side in conn.fins]:
            conn.fins.append((when, from_client))
        if "R" in s.flags:
            conn.resets.append((when, from_client))
    return sorted(found.values(), key=lambda c: c.opened)


def _names(conns: list[Connection]) -> list[str]:
    return ["client" if i == 0 else f"client{i + 1}" for i in range(len(conns))]


def _event(conn: Connection, name: str, when: float, from_client: bool, kind: str, summary: str = "", **more) -> Event:
    src, dst = (conn.client, conn.server) if from_client else (conn.server, conn.client)
    return Event(
        time=when,
        src=name if from_client else "server",
        dst="server" if from_client else name,
        transport="tcp",
        kind=kind,
        src_ip=src[0],
        src_port=src[1],
        dst_ip=dst[0],
        dst_port=dst[1],
        summary=summary,
        **more,
    )


def _trace(conns: list[Connection]) -> Trace:
    addresses = {name: [c.client[0]] for name, c in zip(_names(conns), conns)}
    if conns:
        addresses["server"] = [conns[0].server[0]]
    return Trace(addresses=addresses)


def _opened(conn: Connection, name: str, flow: str) -> Event:
    return _event(conn, name, conn.opened, True, "SYN", flow=flow)


def _ends(trace_events: list[Event], conn: Connection, name: str, flow: str) -> None:
    """FIN and RST events, appended after the messages so that a sort by time keeps them last on a tie."""
    for when, from_client in conn.fins:
        trace_events.append(_event(conn, name, when, from_client, "FIN", flow=flow))
    for when, from_client in conn.resets[:1]:
        trace_events.append(_event(conn, name, when, from_client, "RST", flow=flow))


# --- HTTP/1.1 ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class HttpMessage:
    """A request or a response as h11 read it: the start line's parts, the headers, the body."""

    start: str  # "GET /hello.txt HTTP/1.1" or "HTTP/1.1 200 OK"
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


def _http_events(conn: Connection, name: str) -> list[Event]:
    import h11

    # h11 reads requests as a server does and responses as a client does. Each side is told what the
    # other read (send()), so both follow the same exchange: the client side must know the request to
    # know where its response ends (the answer to a HEAD has no body, RFC 9110 §9.3.2).
    server, client = h11.Connection(h11.SERVER), h11.Connection(h11.CLIENT)
    events: list[Event] = []
    pending: dict[bool, list] = {True: [], False: []}  # head event and body parts of the message being read
    for chunk in conn.chunks:
        reader = server if chunk.from_client else client
        reader.receive_data(chunk.data)
        while True:
            got = reader.next_event()
            if got is h11.NEED_DATA or got is h11.PAUSED or isinstance(got, h11.ConnectionClosed):
                break
            if isinstance(got, h11.Request):
                client.send(got)
                pending[True] = [got]
            elif isinstance(got, h11.Response | h11.InformationalResponse):
                server.send(got)
                pending[False] = [got]
            elif isinstance(got, h11.Data):
                (client if chunk.from_client else server).send(got)
                pending[chunk.from_client].append(bytes(got.data))
            elif isinstance(got, h11.EndOfMessage):
                head, *body = pending[chunk.from_client]
                headers = tuple((k.decode(), v.decode()) for k, v in head.headers)
                version = "HTTP/" + head.http_version.decode()
                (client if chunk.from_client else server).send(h11.EndOfMessage())
                if chunk.from_client:
                    start = f"{head.method.decode()} {head.target.decode()} {version}"
                    kind, summary = head.method.decode(), head.target.decode()
                else:
                    start = f"{version} {head.status_code} {head.reason.decode()}"
                    kind, summary = str(head.status_code), f"{head.reason.decode()}, body {len(b''.join(body))} bytes"
                message = HttpMessage(start, headers, b"".join(body))
                events.append(_event(conn, name, chunk.time, chunk.from_client, kind, summary, message=message))
                if all(c.our_state is h11.DONE and c.their_state is h11.DONE for c in (server, client)):
                    server.start_next_cycle()  # RFC 9112 §9.3: the connection stays open for the next request
                    client.start_next_cycle()
    return events


def read_http_trace(path: str | Path, server_port: int = 80) -> Trace:
    """Each request and response of every connection to ``server_port``, with the SYN and FIN around them."""
    conns = connections(read_segments(path), server_port)
    trace = _trace(conns)
    events: list[Event] = []
    for name, conn in zip(_names(conns), conns):
        events += [_opened(conn, name, "http"), *_http_events(conn, name)]
        _ends(events, conn, name, "http")
    trace.extend(sorted(events, key=lambda e: e.time))  # stable: ties keep the order of the walk
    return trace


# --- Telnet -----------------------------------------------------------------------------------


def _telnet_label(pieces: list[telnet.Piece]) -> tuple[str, str]:
    """``("IAC", "DO ECHO (RFC 857); IAC WILL ...")``, ``("text", "b'login: '")`` or ``("IAC+text", ...)``."""
    texts = [isinstance(p, telnet.Text) for p in pieces]
    words = [repr(p.data) if isinstance(p, telnet.Text) else telnet.describe(p) for p in pieces]
    if all(texts):
        return "text", " ".join(words)
    summary = "; ".join(words)
    return ("IAC" if not any(texts) else "IAC+text"), summary.removeprefix("IAC ")


def read_telnet_trace(path: str | Path, server_port: int = 23) -> Trace:
    """One event per chunk: ``kind`` IAC (commands only), text, or IAC+text; the pieces in ``message``."""
    conns = connections(read_segments(path), server_port)
    trace = _trace(conns)
    events: list[Event] = []
    for name, conn in zip(_names(conns), conns):
        events.append(_opened(conn, name, "telnet"))
        splitters = {True: telnet.Splitter(), False: telnet.Splitter()}
        for chunk in conn.chunks:
            pieces = splitters[chunk.from_client].feed(chunk.data)
            kind, summary = _telnet_label(pieces)
            events.append(
                _event(conn, name, chunk.time, chunk.from_client, kind, summary, message=pieces, raw=chunk.data)
            )
        _ends(events, conn, name, "telnet")
    trace.extend(sorted(events, key=lambda e: e.time))  # stable: ties keep the order of the walk
    return trace


# --- SSH --------------------------------------------------------------------------------------


def _at(chunks: list[Chunk], offset: int) -> float:
    """The time of the chunk that holds byte ``offset`` of its direction's stream."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk.data)
        if offset < seen:
            return chunk.time
    return chunks[-1].time if chunks else 0.0


def _ssh_events(conn: Connection, name: str) -> list[Event]:
    events: list[Event] = []
    for from_client in (True, False):
        chunks = [c for c in conn.chunks if c.from_client == from_client]
        shake = ssh_wire.read_handshake(conn.stream(from_client))
        if shake.version is not None:
            version = shake.version
            events.append(
                _event(conn, name, chunks[0].time, from_client, "version", version.line[:-2].decode(), message=version)
            )
        for offset, packet in shake.packets:
            summary = f"{packet.size} bytes"
            message: object = packet
            if packet.name == "KEXINIT":
                message = ssh_wire.parse_kexinit(packet.payload)
                summary = "compression " + ",".join(message.lists["compression_algorithms_client_to_server"])
            events.append(_event(conn, name, _at(chunks, offset), from_client, packet.name, summary, message=message))
        if shake.encrypted_from is not None:
            seen, run = 0, None
            for chunk in chunks:
                start, seen = seen, seen + len(chunk.data)
                if seen <= shake.encrypted_from:
                    continue
                size = seen - max(start, shake.encrypted_from)
                if run is None:
                    run = [chunk.time, 0, 0]
                run[1] += size
                run[2] += 1
            if run is not None:
                summary = f"{run[1]} bytes in {run[2]} segments"
                events.append(_event(conn, name, run[0], from_client, "encrypted", summary))
    return events


def read_ssh_trace(path: str | Path, server_port: int = 22) -> Trace:
    """Per connection: both version lines, the clear-text packets up to NEWKEYS, then the encrypted bytes."""
    conns = connections(read_segments(path), server_port)
    trace = _trace(conns)
    events: list[Event] = []
    for name, conn in zip(_names(conns), conns):
        events += [_opened(conn, name, "ssh"), *_ssh_events(conn, name)]
        _ends(events, conn, name, "ssh")
    trace.extend(sorted(events, key=lambda e: e.time))  # stable: ties keep the order of the walk
    return trace


READERS = {"http": read_http_trace, "telnet": read_telnet_trace, "ssh": read_ssh_trace}
