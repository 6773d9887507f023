"""One TFTP transfer, sans-I/O: the lock-step of RFC 1350 with timers.

Theory of operation. A file goes in blocks of ``blksize`` bytes (512 unless
negotiated, RFC 2348), numbered from 1. The sender sends DATA n and waits;
the receiver answers ACK n; only then comes DATA n+1 (RFC 1350 §2). A block
shorter than ``blksize`` (even 0 bytes) is the last one, so a file whose size
is a multiple of the block size ends with an empty DATA. Nothing else says
where a file ends: TFTP has no length field and no "end" packet.

Both sides keep the last packet they sent and send it again when nothing
came back within ``timeout`` seconds, waiting twice as long after each resend
in a row (RFC 1123 §4.2.3.2 asks for an adaptive timeout); after
``max_retries`` such tries the transfer gives up (RFC 1350 §2). Two rules keep
that safe:

* A receiver that sees the DATA it has already acknowledged sends that ACK
  again (its ACK was lost) but does not store the block twice.
* A sender that sees an old ACK again does **nothing** (RFC 1123 §4.2.3.1).
  If it resent the current block instead, one delayed packet would make every
  later block travel twice: the "Sorcerer's Apprentice" bug. ``apprentice_bug=True``
  turns the wrong behaviour on, so the lesson can show it.

After the last ACK, the receiver waits two more ``timeout`` ("dallying",
RFC 1350 §6) and answers a repeated last DATA with the last ACK again, in case
that ACK was lost. Two, not one: the sender's timer started a trip *before*
the dally did, so with equal timeouts its repeated DATA would arrive just as a
one-timeout dally ends, and any delay on the way would make it too late (a put
would then report failure although the server stored the file). ``complete``
is True from the last block on; ``finished`` once the transfer has nothing
more to do.

A server must also not become an amplifier. Its request has no handshake, so
the address in an RRQ may be forged: the server's DATA then goes to a victim
who never asked and never answers, and each resend multiplies what a 20-byte
request costs that victim. So, until the peer has *acknowledged a DATA block*
(or, for an upload, sent one), the server's timer resends only while the bytes
it resent stay within ``resend_budget``; then it waits in silence and gives up
at the usual time. The peer's own repeat (an ACK 0 again) is still answered:
one packet for each packet it sends, which a real client that lost DATA 1
needs and a forger gains nothing from. A client transfer has no budget (None).

Windows (RFC 7440). With the ``windowsize`` option the sender sends up to
``windowsize`` blocks before it waits: "The DSND MUST cyclically send to the
DRCV the agreed windowsize consecutive data blocks before normally stopping and
waiting for the ACK of the transferred window", and the receiver answers the
window's last block only: "The DRCV MUST send to the DSND the ACK of the last
data block of the window" (RFC 7440 §4). The final short block is acknowledged
at once, whatever its place in the window. When something is lost:

* The receiver that sees a block *ahead* of the one it waits for (a gap) ACKs
  the last block it has in order, once per gap: "In the case of a data block
  sequence error, the DRCV SHOULD notify the DSND by sending an ACK
  corresponding to the last data block correctly received." When nothing
  arrives for a timeout in the middle of a window, its timer sends that same ACK.
* The sender that gets an ACK inside its window starts a new window after the
  acknowledged block ("The notified DSND SHOULD send a new data block window
  whose beginning MUST be set based on the ACK received out of sequence"); on
  its own timeout it sends the window again from the block after the last ACK
  ("the last received ACK SHALL set the beginning of the next windowsize data
  block window to be sent"). It keeps the blocks of the window until they are
  acknowledged, so a file read through netascii need not be read twice.
* An ACK that acknowledges nothing new (the one the sender already had) is
  still ignored, as RFC 1123 §4.2.3.1 asks, with windows as without: the
  Sorcerer's Apprentice would otherwise come back as whole windows sent twice.
  That is our policy where RFC 7440 §4 says SHOULD: when the *first* block of a
  window is lost, the receiver's ACK of the gap repeats the last ACK, and the
  sender waits for its timer instead (one timeout, as in lock-step); a block
  lost later in the window is sent again at once. An ACK for a block the
  sender never sent (beyond the window) is ignored.

Block numbers still wrap after 65535, inside a window too: the window is
counted on a block count that does not wrap, and only the wire number wraps.
Without the option the window is 1 and every rule above is RFC 1350's lock-step
("Traffic with windowsize = 1 MUST be equivalent to traffic specified by
[RFC1350]", RFC 7440 §4).

Each end is a *transfer identifier* (TID): its UDP port. A packet that comes
from another address or port is answered with ERROR 5 and does not disturb the
transfer (RFC 1350 §4). A client learns the server's TID from the first reply.

The shape is aioquic's, the contract of every core in the course:
``start(now=...)``, ``receive(datagram, address, now=...)`` and
``handle_timer(now=...)`` return the effects (:data:`Effect`: what to send, and
notes for the log); ``get_timer()`` says when to call ``handle_timer`` next.
``now`` is always a keyword, and last. No sockets, no clock: the simulated
network and the asyncio driver both run the same code.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from functools import cached_property
from typing import BinaryIO

from .options import OptionRefused, Settings, client_accepts
from .packets import Ack, Data, Error, ErrorCode, OptionAck, Packet, PacketError, Request, decode, kind

BLOCK_NUMBERS = 65536  # the 2-byte block number wraps to 0 after 65535, as tftpd-hpa and curl do
MAX_RETRIES = 5
BACKOFF_LIMIT = 8  # resends wait at most 8 timeouts (RFC 1123 §4.2.3.2; see handle_timer)
DALLY_TIMEOUTS = 2  # how many timeouts the receiver of the last block waits for it again (RFC 1350 §6)

Address = tuple[str, int]


@dataclass(frozen=True)
class Send:
    """Send ``packet`` to ``to``; ``data`` is its bytes.

    The bytes are made once, the first time a driver asks, and kept: a block that
    a timeout sends again is not encoded twice. (``cached_property`` stores them
    beside the fields, so the effect stays frozen and compares by its fields.)
    """

    packet: Packet
    to: Address

    @cached_property
    def data(self) -> bytes:
        return self.packet.encode()


@dataclass(frozen=True)
class Note:
    """Something worth a line in a log or a note in a trace: a timeout, a duplicate, the end."""

    text: str


Effect = Send | Note


class Transfer:
    """What senders and receivers share: the peer's TID, the timer, the end."""

    sending = False

    def __init__(
        self,
        file: BinaryIO,
        peer: Address,
        *,
        settings: Settings | None = None,
        max_retries: int = MAX_RETRIES,
        client: bool = False,
        request: Request | None = None,
        server_port: int = 69,
        resend_budget: int | None = None,
    ):
        self.file = file
        self.file_closed = False
        self.peer_ip, self.peer_port = peer  # a client's peer port is 0 until the first reply
        self.settings = settings or Settings()
        self.max_retries = max_retries
        self.client = client
        self.request = request
        self.server_port = server_port  # where a client's request (and its repeats) go
        self.block = 0  # the block being sent or waited for
        self.bytes = 0  # file bytes (as on the wire) sent or received so far
        self.last: Send | None = None  # what a timeout sends again
        self.retries = 0
        self._timer: float | None = None  # when handle_timer has something to do
        self.complete = False  # the whole file went through
        self.finished = False  # nothing more to do (dallying over, or failed)
        self.error = ""  # why it failed; "" while running or after success
        self.resend_budget = resend_budget  # bytes the timer may resend before the peer is verified
        self.resent = 0  # bytes the timer resent so far
        self.verified = False  # the peer acknowledged one of our DATA blocks, or sent us one

    @property
    def peer(self) -> Address:
        return (self.peer_ip, self.peer_port)

    @property
    def ok(self) -> bool:
        return self.complete and not self.error

    # -- what a driver calls --------------------------------------------------------------
    def start(self, *, now: float) -> list[Effect]:
        """The first packet: a client's request, or a server's first answer."""
        raise NotImplementedError

    def receive(self, datagram: bytes, address: Address, *, now: float) -> list[Effect]:
        """A datagram arrived from ``address``: what to send, and what to note."""
        if self.finished:
            return []
        if self.peer_port == 0 and address[0] == self.peer_ip:
            self.peer_port = address[1]  # RFC 1350 §4: the server's first reply gives its TID
        if address != self.peer:
            stranger = f"{address[0]}:{address[1]}"
            if datagram[:2] == b"\x00\x05":  # never answer an ERROR with an ERROR: two confused
                return [Note(f"ERROR from {stranger}, not our peer: ignored")]  # ends could loop
            # RFC 1350 §4: someone else's packet; tell them, and carry on undisturbed.
            return [
                Send(Error(ErrorCode.UNKNOWN_TID, "Unknown transfer ID"), address),
                Note(f"packet from {stranger}, not our peer: ERROR 5"),
            ]
        try:
            packet = decode(datagram)
        except PacketError as exc:
            if self.complete:  # the file is whole and kept; junk now changes nothing
                return [Note(f"malformed packet after the end: ignored ({exc})")]
            return self.fail(f"malformed packet: {exc}", Error(ErrorCode.ILLEGAL_OPERATION, str(exc)))
        if self.complete and not isinstance(packet, Data):
            # Dallying (RFC 1350 §6) waits only for a repeated last DATA; the transfer succeeded.
            return [Note(f"{_name(packet)} after the end: ignored")]
        if isinstance(packet, Error):
            # RFC 1350 §7: an ERROR ends the transfer and is not acknowledged.
            return self.fail(f"peer sent ERROR {packet.code}: {packet.message}")
        return self.on_packet(packet, now)

    def get_timer(self) -> float | None:
        """When to call :meth:`handle_timer` next; None when no timer runs."""
        return self._timer

    def handle_timer(self, *, now: float) -> list[Effect]:
        """The timer is due (a driver waking early is harmless: nothing happens before it)."""
        if self.finished or self._timer is None or now < self._timer:
            return []
        if self.complete:  # the dallying after the last ACK is over
            self._timer, self.finished = None, True
            self.close()
            return []
        self.retries += 1
        if self.retries > self.max_retries:
            return self.fail(f"no answer after {self.max_retries} retransmissions")
        assert self.last is not None
        again = self.again()
        what = _names([send.packet for send in again])
        if self.silenced():  # an unverified peer may be a forged address: no more resends to it
            self._timer = now + self.settings.timeout * min(2**self.retries, BACKOFF_LIMIT)
            why = f"the peer acknowledged no DATA yet and {self.resent} bytes went again already"
            return [Note(f"timeout: {what} not sent again, {why} (try {self.retries})")]
        self.resent += sum(len(send.data) for send in again)
        # RFC 1123 §4.2.3.2: the timeout MUST adapt. The simplest rule that does: exponential
        # backoff, each resend in a row waiting twice as long (1, 2, 4, 8, 8 s...), so a
        # congested or slow path is not flooded; any answer brings it back to ``timeout``.
        self._timer = now + self.settings.timeout * min(2**self.retries, BACKOFF_LIMIT)
        return [Note(f"timeout: sending {what} again (try {self.retries})"), *again]

    def again(self) -> list[Send]:
        """What a timeout sends again: the last packet (a sender's whole window, see :class:`Sender`)."""
        return [self.last]

    def silenced(self) -> bool:
        """True when the timer may not resend the last packet: the peer is not verified and the
        resend would go over ``resend_budget`` (see the theory of operation)."""
        if self.verified or self.resend_budget is None or self.last is None:
            return False
        return self.resent + sum(len(send.data) for send in self.again()) > self.resend_budget

    def fail(self, why: str, error: Error | None = None) -> list[Effect]:
        """End the transfer; send ``error`` to the peer first if given."""
        effects: list[Effect] = [Note(f"transfer failed: {why}")]
        if error is not None and self.peer_port:
            effects.insert(0, Send(error, self.peer))
        self.error = why
        self.finished, self._timer = True, None
        self.close()
        return effects

    def close(self) -> None:
        if self.file_closed:
            return
        self.file_closed = True
        discard = getattr(self.file, "discard", None)  # an upload that failed leaves nothing
        try:
            if self.error and discard is not None:
                discard()
            else:
                self.file.close()
        except OSError as exc:  # a full disk may show up only here
            if not self.error:
                self.error = f"closing the file: {exc}"

    # -- for the subclasses ---------------------------------------------------------------
    def on_packet(self, packet: Packet, now: float) -> list[Effect]:
        raise NotImplementedError

    def send(self, packet: Packet, now: float) -> list[Effect]:
        """Send ``packet`` as the new "last packet", and start its timer."""
        if (self.last is not None and isinstance(self.last.packet, Data)) or (isinstance(packet, Ack) and self.block):
            self.verified = True  # its ACK of our DATA brought this packet, or we acknowledge its DATA
        self.last = Send(packet, self.peer if self.peer_port else (self.peer_ip, self.server_port))
        self.retries = 0
        self._timer = now + self.settings.timeout
        return [self.last]

    def negotiate(self, oack: OptionAck) -> list[Effect] | None:
        """A client reads the server's OACK; None if it is acceptable."""
        try:
            self.settings = client_accepts(
                self.request.options, oack.options, reading=not self.sending, default_timeout=self.settings.timeout
            )
        except OptionRefused as exc:  # RFC 2347: the client ends it with ERROR 8
            return self.fail(f"refused the OACK: {exc}", Error(ErrorCode.OPTION_REFUSED, str(exc)))
        return None

    def illegal(self, packet: Packet) -> list[Effect]:
        why = f"unexpected {_name(packet)} while {'sending' if self.sending else 'receiving'}"
        return self.fail(why, Error(ErrorCode.ILLEGAL_OPERATION, why))


class Sender(Transfer):
    """Sends a file: a server answering an RRQ, or a client that sent a WRQ.

    Blocks are counted twice: ``self.block`` is the wire number of the last block
    sent (it wraps after 65535), ``sent`` and ``acked`` count blocks from the
    start without wrapping, so a window across the wrap is still in order.
    """

    sending = True

    def __init__(
        self, file: BinaryIO, peer: Address, *, oack: dict[str, str] | None = None, apprentice_bug: bool = False, **kw
    ):
        super().__init__(file, peer, **kw)
        self.oack = oack  # a server's accepted options: sent first, then wait for ACK 0
        self.apprentice_bug = apprentice_bug
        self.last_block_size = -1
        self.final: int | None = None  # the count of the short last block, once it has been read
        self.window: deque[Send] = deque()  # blocks sent and not acknowledged yet, oldest first

    @property
    def block(self) -> int:
        """The wire number of the last block sent: the count of blocks, wrapped after 65535."""
        return self.sent % BLOCK_NUMBERS

    @block.setter
    def block(self, number: int) -> None:
        """Where the count starts, before any DATA (0; a test of the wrap starts near 65535)."""
        self.sent = self.acked = number  # blocks sent so far, and blocks the peer acknowledged in order

    def start(self, *, now: float) -> list[Effect]:
        if self.client:  # WRQ; the answer is ACK 0 or an OACK
            return self.send(self.request, now)
        if self.oack:  # RFC 2347: OACK, then the client's ACK 0 starts the data
            return self.send(OptionAck(self.oack), now)
        return self.next_window(now)

    def again(self) -> list[Send]:
        """RFC 7440 §4: on a timeout the window goes again from the block after the last ACK."""
        return list(self.window) or [self.last]

    def next_window(self, now: float) -> list[Effect]:
        """Send the window after the last acknowledged block: what of it was sent already, then new blocks."""
        effects: list[Effect] = list(self.window)  # after an ACK inside the window: the rest goes again
        while len(self.window) < self.settings.windowsize and self.final is None:
            try:
                chunk = self.file.read(self.settings.blksize)
            except OSError as exc:
                return self.fail(f"reading the file: {exc}", Error(ErrorCode.NOT_DEFINED, "read error"))
            self.sent += 1
            self.last_block_size = len(chunk)
            self.bytes += len(chunk)
            if len(chunk) < self.settings.blksize:
                self.final = self.sent
            send = Send(Data(self.block, chunk), self.peer)
            self.window.append(send)
            effects.append(send)
        self.last = self.window[-1]
        self.retries = 0
        self._timer = now + self.settings.timeout
        return effects

    def on_packet(self, packet: Packet, now: float) -> list[Effect]:
        if isinstance(packet, OptionAck) and self.client:
            if self.last_block_size < 0:  # RFC 2347: for a WRQ the OACK stands for ACK 0
                return self.negotiate(packet) or self.next_window(now)
            # The OACK again (duplicated, or resent because our DATA 1 was lost): an old
            # ACK 0, so the rule for duplicate ACKs below applies, not "illegal operation".
            packet = Ack(0)
        if not isinstance(packet, Ack):
            return self.illegal(packet)
        if self.last_block_size < 0 and packet.block == 0:  # ACK 0 (to our WRQ or OACK): the data starts
            return self.next_window(now)
        ahead = (packet.block - self.acked) % BLOCK_NUMBERS  # how many blocks this ACK acknowledges
        if self.last_block_size >= 0 and 0 < ahead <= self.sent - self.acked:
            self.acked += ahead
            self.verified = True  # it acknowledged one of our DATA blocks: a real peer
            for _ in range(ahead):
                self.window.popleft()
            if self.acked == self.final:  # the short block was acknowledged
                self.complete, self.finished, self._timer = True, True, None
                self.close()
                return [Note(f"done: {self.bytes} bytes in {_blocks(self.block)}")]
            if self.window:  # RFC 7440 §4: an ACK inside the window; the next window starts after it
                gap = (
                    f"ACK {packet.block} inside the window: sending again from DATA {(self.acked + 1) % BLOCK_NUMBERS}"
                )
                return [Note(f"{gap} (RFC 7440 §4)"), *self.next_window(now)]
            return self.next_window(now)
        if packet.block == self.acked % BLOCK_NUMBERS and self.last_block_size >= 0:
            if self.apprentice_bug:  # the wrong way: answer a duplicate ACK by sending again
                what = _names([send.packet for send in self.again()])
                return [Note(f"duplicate ACK {packet.block}: sending {what} again (the bug)"), *self.again()]
            if self.silenced():  # our timer no longer resends DATA 1, so the peer's repeat asks for it
                what = _names([send.packet for send in self.again()])
                return [
                    Note(f"ACK {packet.block} again, before any DATA was acknowledged: {what} again"),
                    *self.again(),
                ]
            return [Note(f"duplicate ACK {packet.block}: ignored (RFC 1123 §4.2.3.1)")]
        return [Note(f"ACK {packet.block} while waiting for ACK {self.block}: ignored")]


class Receiver(Transfer):
    """Receives a file: a server answering a WRQ, or a client that sent an RRQ.

    ``max_bytes``: the most (wire) bytes it takes; one more is ERROR 3. A limit on
    the announced tsize alone (RFC 2349) is no limit: a client may announce none.
    """

    def __init__(
        self, file: BinaryIO, peer: Address, *, oack: dict[str, str] | None = None, max_bytes: int | None = None, **kw
    ):
        super().__init__(file, peer, **kw)
        self.oack = oack
        self.max_bytes = max_bytes
        self.ack_sent: int | None = None  # the block of the last ACK we sent (None: none yet)
        self.since_ack = 0  # blocks stored in order since that ACK: a window ends at ``windowsize``
        self.gap_acked_at: float | None = None  # when we last ACKed a gap, until a block comes in order

    def send(self, packet: Packet, now: float) -> list[Effect]:
        if isinstance(packet, Ack):  # the sender's next window starts after this block (RFC 7440 §4)
            self.ack_sent, self.since_ack = packet.block, 0
        return super().send(packet, now)

    def handle_timer(self, *, now: float) -> list[Effect]:
        effects = super().handle_timer(now=now)
        if any(isinstance(effect, Send) for effect in effects) and isinstance(self.last.packet, Ack):
            self.ack_sent, self.since_ack = self.last.packet.block, 0  # the window went quiet: we said how far
        return effects

    def start(self, *, now: float) -> list[Effect]:
        if self.client:  # RRQ; the answer is DATA 1 or an OACK
            return self.send(self.request, now)
        if self.oack:
            return self.send(OptionAck(self.oack), now)
        return self.send(Ack(0), now)  # RFC 1350 §4: a WRQ is acknowledged with block 0

    def on_packet(self, packet: Packet, now: float) -> list[Effect]:
        if isinstance(packet, OptionAck) and self.client:
            if self.last.packet is self.request:  # RFC 2347: an RRQ's OACK is answered with ACK 0
                return self.negotiate(packet) or self.send(Ack(0), now)
            if self.block == 0:  # the OACK again: our ACK 0 was lost, say it again (as for DATA)
                self._timer = now + self.settings.timeout
                return [Note("OACK again: ACK 0 again"), self.last]
            return [Note(f"OACK while waiting for DATA {self.block + 1}: ignored")]
        if not isinstance(packet, Data):
            return self.illegal(packet)
        expected = (self.block + 1) % BLOCK_NUMBERS
        if packet.block == expected and not self.complete:
            if len(packet.data) > self.settings.blksize:
                why = f"DATA {packet.block} has {len(packet.data)} bytes, more than blksize {self.settings.blksize}"
                return self.fail(why, Error(ErrorCode.ILLEGAL_OPERATION, why))
            if self.max_bytes is not None and self.bytes + len(packet.data) > self.max_bytes:
                return self.fail(
                    f"more than {self.max_bytes} bytes", Error(ErrorCode.DISK_FULL, "Disk full or allocation exceeded")
                )
            try:
                self.file.write(packet.data)
            except OSError as exc:
                return self.fail(
                    f"writing the file: {exc}", Error(ErrorCode.DISK_FULL, "Disk full or allocation exceeded")
                )
            self.block, self.bytes = expected, self.bytes + len(packet.data)
            if len(packet.data) < self.settings.blksize:  # the last block
                self.close()  # the file is whole: keep it before saying so with the last ACK
                if self.error:
                    why, self.error = self.error, ""
                    return self.fail(why, Error(ErrorCode.DISK_FULL, "Disk full or allocation exceeded"))
                self.complete = True
                effects = self.send(Ack(packet.block), now)
                self._timer = now + DALLY_TIMEOUTS * self.settings.timeout
                return [*effects, Note(f"done: {self.bytes} bytes in {_blocks(self.block)}; dallying")]
            self.since_ack, self.gap_acked_at = self.since_ack + 1, None
            if self.since_ack >= self.settings.windowsize:  # the window's last block (always, in lock-step)
                return self.send(Ack(packet.block), now)
            # RFC 7440 §4: inside a window nothing is acknowledged. If the rest does not come
            # within a timeout, the timer sends the ACK of this block, the last one in order.
            self.verified = True
            self.last, self.retries = Send(Ack(packet.block), self.peer), 0
            self._timer = now + self.settings.timeout
            return []
        if packet.block == self.ack_sent and self.last is not None and isinstance(self.last.packet, Ack):
            # Our ACK was lost (or the DATA came twice): say it again, store nothing. (In a window,
            # blocks may have come in order since: the ACK says the last of them, RFC 7440 §4.)
            self._timer = now + (DALLY_TIMEOUTS if self.complete else 1) * self.settings.timeout
            self.ack_sent, self.since_ack = self.last.packet.block, 0
            return [Note(f"DATA {packet.block} again: ACK again, not stored twice"), self.last]
        ahead = (packet.block - self.block) % BLOCK_NUMBERS
        if 1 < ahead <= self.settings.windowsize and not self.complete:
            # RFC 7440 §4: a block is missing. ACK the last one in order, so the sender starts again
            # after it; once per timeout at most, however many blocks of the window come after the gap.
            if self.gap_acked_at is None or now - self.gap_acked_at >= self.settings.timeout:
                self.gap_acked_at = now
                gap = f"DATA {packet.block} while waiting for {expected}: ACK {self.block}, the last block in order"
                return [Note(f"{gap} (RFC 7440 §4)"), *self.send(Ack(self.block), now)]
        return [Note(f"DATA {packet.block} while waiting for {expected}: ignored")]


def _blocks(count: int) -> str:
    return "1 block" if count == 1 else f"{count} blocks"


def _names(packets: list[Packet]) -> str:
    """``"DATA 3"`` for one packet, ``"DATA 3-6"`` for a window of blocks (``"DATA 65534-1"`` across the wrap)."""
    if len(packets) > 1 and isinstance(packets[0], Data):
        return f"DATA {packets[0].block}-{packets[-1].block}"
    return _name(packets[0])


def _name(packet: Packet) -> str:
    """``"DATA 3"``, ``"ACK 0"``, ``"OACK"``: as the notes and the lessons say it."""
    if isinstance(packet, (Data, Ack)):
        return f"{kind(packet)} {packet.block}"
    return kind(packet)
