"""A tiny in-test network for the TFTP core: datagrams, timers and a fake clock.

Tests of whole transfers need something to carry the ``Send`` effects of one
side to the other, call ``handle_timer`` when a deadline comes, and let a test
lose, duplicate or delay a chosen packet. That is all this does; it knows
nothing of TFTP beyond the public API of :mod:`refimpl.tftp`:

* a datagram to the server's port 69 goes to ``TftpServer.receive``; a
  transfer it returns (``NewTransfer``) gets a fresh port of its own (RFC 1350
  §4) and is started; a refusal is sent from a fresh port too;
* a datagram to an address with a transfer goes to ``Transfer.receive``;
* a datagram to any other address is dropped (a closed UDP port);
* every packet sent is numbered from 0 in ``Loop.log``; ``drop``, ``duplicate``
  and ``delay`` pick packets by that number.

The clock only moves to the next arrival or deadline, so timeouts of seconds
cost nothing, and the number of steps is bounded so a livelock fails the test
instead of hanging it. ``run_get`` and ``run_put`` run one client against a
server; ``serve``, ``uploads`` and ``content`` make the servers and files.
"""

from __future__ import annotations

import heapq
import io
from dataclasses import dataclass, field

from refimpl.tftp import Data, MemoryFiles, NewTransfer, Note, Send, ServerConfig, TftpServer, get, kind, put
from refimpl.tftp.describe import summary

SERVER_IP, CLIENT_IP = "192.0.2.1", "192.0.2.10"
CLIENT = (CLIENT_IP, 40000)
SERVER = (SERVER_IP, 69)
LATENCY = 0.01  # one way, in (fake) seconds: far below every timeout


@dataclass
class Sent:
    """One packet put on the wire (whether or not it arrived)."""

    number: int
    time: float
    src: tuple[str, int]
    dst: tuple[str, int]
    data: bytes
    packet: object  # what the core sent (the receiver decodes ``data`` itself)
    dropped: bool = False

    @property
    def kind(self) -> str:
        return kind(self.packet)

    def __repr__(self) -> str:  # what a failing assertion prints
        lost = " (lost)" if self.dropped else ""
        return f"#{self.number} {self.src[1]}->{self.dst[1]} {self.kind} {summary(self.packet)}{lost}"


@dataclass
class Loop:
    """The network between one client transfer and a server (or a hand-made peer transfer)."""

    server: TftpServer | None = None
    drop: set[int] = field(default_factory=set)
    duplicate: set[int] = field(default_factory=set)
    delay: dict[int, float] = field(default_factory=dict)  # packet number -> extra seconds on the way
    rewrite_request: object = None  # f(bytes) -> bytes, applied to what reaches port 69
    prepare: object = None  # f(transfer), called on each server transfer before it starts
    max_steps: int = 20_000
    now: float = 0.0
    log: list[Sent] = field(default_factory=list)
    notes: list[tuple[tuple[str, int], str]] = field(default_factory=list)
    transfers: dict[tuple[str, int], object] = field(default_factory=dict)
    server_transfers: list = field(default_factory=list)  # in the order the server made them
    _queue: list = field(default_factory=list)
    _seq: int = 0
    _next_port: int = 50000

    # -- building --------------------------------------------------------------------------
    def add(self, address: tuple[str, int], transfer, *, start: bool = True) -> None:
        """Put a transfer at ``address`` and (unless told not to) start it now."""
        self.transfers[address] = transfer
        if start:
            self.effects(address, transfer.start(now=self.now))

    def inject(self, src: tuple[str, int], dst: tuple[str, int], data: bytes, at: float) -> None:
        """A datagram from outside the transfers (another host, an old transfer) arriving at ``at``."""
        self._seq += 1
        heapq.heappush(self._queue, (at, self._seq, src, dst, data))

    def fresh_port(self) -> tuple[str, int]:
        self._next_port += 1
        return (SERVER_IP, self._next_port)

    # -- moving packets --------------------------------------------------------------------
    def effects(self, src: tuple[str, int], effects: list) -> None:
        for effect in effects:
            if isinstance(effect, Note):
                self.notes.append((src, effect.text))
                continue
            assert isinstance(effect, Send), effect
            sent = Sent(len(self.log), self.now, src, effect.to, effect.data, effect.packet)
            self.log.append(sent)
            if sent.number in self.drop:
                sent.dropped = True
                continue
            copies = 2 if sent.number in self.duplicate else 1
            for copy in range(copies):
                arrival = self.now + LATENCY + self.delay.get(sent.number, 0.0) + copy * LATENCY / 2
                self._seq += 1
                heapq.heappush(self._queue, (arrival, self._seq, src, effect.to, sent.data))

    def deliver(self, src, dst, data: bytes) -> None:
        if dst == SERVER and self.server is not None:
            if self.rewrite_request is not None:
                data = self.rewrite_request(data)
            transfer, refusal = accept(self.server, data, src, now=self.now)
            port = self.fresh_port()
            self.effects(port, refusal)
            if transfer is not None:
                self.server_transfers.append(transfer)
                if self.prepare is not None:
                    self.prepare(transfer)
                self.add(port, transfer)
        elif dst in self.transfers:
            self.effects(dst, self.transfers[dst].receive(data, src, now=self.now))
        # else: nobody listens there; UDP drops it

    def next_deadline(self):
        pending = [
            (t.get_timer(), address)
            for address, t in self.transfers.items()
            if not t.finished and t.get_timer() is not None
        ]
        return min(pending, default=None)

    def run(self) -> Loop:
        """Until nothing is in flight and no transfer waits for a timer."""
        for _ in range(self.max_steps):
            timer = self.next_deadline()
            if self._queue and (timer is None or self._queue[0][0] <= timer[0]):
                arrival, _, src, dst, data = heapq.heappop(self._queue)
                self.now = max(self.now, arrival)
                self.deliver(src, dst, data)
            elif timer is not None:
                self.now = max(self.now, timer[0])
                self.effects(timer[1], self.transfers[timer[1]].handle_timer(now=self.now))
            else:
                return self
        raise AssertionError(f"still running after {self.max_steps} steps: {self.log[-6:]}")

    # -- looking at what happened -----------------------------------------------------------
    def kinds(self, *, src=None, delivered_only=False) -> list[str]:
        return [s.kind for s in self.log if (src is None or s.src == src) and not (delivered_only and s.dropped)]

    def sent_by(self, address) -> list[Sent]:
        return [s for s in self.log if s.src == address]

    def data_blocks_sent(self) -> list[int]:
        """The block number of every DATA put on the wire, in order."""
        return [s.packet.block for s in self.log if isinstance(s.packet, Data)]


class Recording(io.BytesIO):
    """A caller's file that counts its writes and remembers whether someone closed it."""

    def __init__(self, initial: bytes = b""):
        super().__init__(initial)
        self.writes: list[bytes] = []
        self.close_calls = 0

    def write(self, chunk) -> int:
        self.writes.append(bytes(chunk))
        return super().write(chunk)

    def close(self) -> None:
        self.close_calls += 1
        if not self.closed:
            self.final = super().getvalue()
        super().close()

    def getvalue(self) -> bytes:
        """What it holds, also after a server-side transfer closed it."""
        return self.final if self.closed else super().getvalue()


def accept(server: TftpServer, datagram: bytes, client: tuple[str, int], *, now: float = 0.0):
    """A request through ``server.receive``: ``(the new transfer or None, the other effects)``."""
    effects = server.receive(datagram, client, now=now)
    started = [effect.transfer for effect in effects if isinstance(effect, NewTransfer)]
    assert len(started) <= 1, effects
    return (started[0] if started else None), [effect for effect in effects if not isinstance(effect, NewTransfer)]


def run_get(server: TftpServer, filename: str, *, mode: str = "octet", loop: Loop | None = None, **options):
    """RRQ ``filename`` from ``server`` through a loop; returns ``(loop, client transfer, file)``."""
    loop = loop or Loop()
    loop.server = server
    into = Recording()
    client = get(filename, into, SERVER_IP, mode=mode, **options)
    loop.add(CLIENT, client)
    loop.run()
    return loop, client, into


def run_put(
    server: TftpServer, filename: str, data: bytes, *, mode: str = "octet", loop: Loop | None = None, **options
):
    """WRQ ``data`` as ``filename`` to ``server`` through a loop; returns ``(loop, client transfer, file)``."""
    loop = loop or Loop()
    loop.server = server
    source = Recording(data)
    client = put(filename, source, SERVER_IP, mode=mode, **options)
    loop.add(CLIENT, client)
    loop.run()
    return loop, client, source


# -- files and servers for the tests ----------------------------------------------------------
def content(size: int) -> bytes:
    """Bytes that differ from block to block, so a block stored twice or out of place shows."""
    return bytes((i * 7 + i // 251) % 256 for i in range(size))


def blocks(size: int, blksize: int = 512) -> int:
    """RFC 1350 §6: full blocks, then one short block (empty when the size is a multiple)."""
    return size // blksize + 1


class CountingFiles(MemoryFiles):
    """MemoryFiles whose uploads count their writes (a block stored twice would show here)."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.uploads: list[Counted] = []

    def open_write(self, name):
        upload = Counted(super().open_write(name))
        self.uploads.append(upload)
        return upload


class Counted:
    """One upload of :class:`CountingFiles`: passes everything on, keeps each write."""

    def __init__(self, file):
        self.file, self.writes = file, []

    def write(self, chunk):
        self.writes.append(bytes(chunk))
        return self.file.write(chunk)

    def close(self):
        self.file.close()

    def discard(self):
        self.file.discard()


def serve(files: dict | None = None, **config) -> TftpServer:
    """A server of the files in ``files`` (a dict), configured by ``ServerConfig(**config)``."""
    return TftpServer(MemoryFiles(files or {}), ServerConfig(**config))


def uploads(**config) -> tuple[CountingFiles, TftpServer]:
    """A server taking uploads into empty CountingFiles, and those files."""
    files = CountingFiles(writable=True)
    return files, TftpServer(files, ServerConfig(**config))
