"""The TFTP server on real sockets: an asyncio driver for :class:`~refimpl.tftp.server.TftpServer`.

The protocol lives in :mod:`refimpl.tftp`; this file only moves datagrams and
time. What it adds is what RFC 1350 §4 asks of the sockets:

* A request (RRQ or WRQ) comes to the server's well-known port (69, or
  ``port`` here). The answer does **not** come from that port: the server
  opens a new UDP socket on a port of its own for each transfer - that port is
  the server's *transfer identifier* (TID) - and the whole transfer runs
  between the client's port and this new one. The well-known port stays free
  for the next request, and two transfers from one client never mix.
* A refusal (ERROR) is sent from a fresh socket too, then that socket closes.

Each transfer is one :class:`TransferSocket`: its socket, the sans-I/O
:class:`~refimpl.tftp.transfer.Transfer`, and one timer. Every datagram goes to
``transfer.receive(data, address, now=...)``; whatever the core returns is done
at once (``Send`` -> ``sendto``, ``Note`` -> a DEBUG log line); then the timer
is set for ``transfer.get_timer()``, when ``handle_timer`` will resend the last
packet (RFC 1350 §2: the sender of the last packet retransmits it on timeout;
with RFC 7440's windowsize, a sender's whole window). A window is several
``Send`` effects from one call: they go out back to back, one ``sendto`` each.
``now`` is the event loop's clock (monotonic), never the wall clock, so a
clock change cannot fire every timer at once.

How it is built, and why:

* The sockets are plain non-blocking sockets watched with ``loop.add_reader``,
  not asyncio transports. A transfer's socket must exist *before* its first
  packet is sent, in the same callback that read the request, and a plain
  socket can be opened there and then (``create_datagram_endpoint`` is a
  coroutine, so a second copy of the request could slip in before it is
  ready). It is also the cheapest way to read one small datagram.
* The well-known socket reads each request with ``IP_PKTINFO``, so a server
  listening on 0.0.0.0 answers from the very address the client wrote to:
  the client checks where the answer comes from, and on a machine with
  several addresses the kernel's own choice might be another one.
* A request repeated by the same client (same address and port) while its
  transfer runs is ignored: the client's first packet was already answered,
  and the running transfer retransmits by itself. Starting a second transfer
  would send the file twice to one port.
* At most ``max_transfers`` transfers run at once; beyond that a request gets
  ERROR 0 "server busy" (a client will try again later). Each transfer holds
  an open file and a socket, so this bounds both.
* At most ``max_per_client`` of them come from one IP address (any port);
  beyond that, that address alone gets ERROR 0. Without it one host could take
  every slot: a WRQ that never sends DATA holds its slot until the transfer
  gives up (``timeout`` x the backoff, about 31 timeouts), so 500 such WRQs
  would lock everyone out for half a minute. Many addresses can still fill the
  server; the global cap is what bounds that.
* Nothing a client sends can stop the server: a datagram that makes the core
  (or this driver) raise is logged and dropped.

Log lines follow tftpd-hpa's: one INFO line when a transfer starts and one
when it ends ("RRQ from 127.0.0.1:40000 file pub/a.bin octet blksize=1428",
"... done 1234 bytes", "... failed: why"), refusals at INFO, and each of the
core's notes (timeouts, duplicates) at DEBUG. A request and an OACK are named
in the words of :mod:`refimpl.tftp.describe`, as in every trace.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
from collections import Counter
from collections.abc import Callable

from refimpl.tftp.describe import describe_datagram, summary
from refimpl.tftp.packets import Error, ErrorCode, OptionAck, Request
from refimpl.tftp.server import NewTransfer, TftpServer
from refimpl.tftp.transfer import Note, Send, Transfer

#: A datagram can carry at most 65507 bytes of UDP payload; blksize 65464 (RFC 2348's
#: largest) plus the 4-byte DATA header fits. Reading less would cut a big block short
#: without an error, and the receiver could not tell it was too long.
DATAGRAM_MAX = 65536
BATCH = 64  # datagrams read per wake-up before the event loop serves other sockets
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # linux/in.h
_PKTINFO_SPACE = socket.CMSG_SPACE(12)  # struct in_pktinfo: ifindex, spec_dst, addr

Address = tuple[str, int]

log = logging.getLogger(__name__)  # "refimpl.sockets.tftp_server"


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def open_udp(host: str, ports=(0,)) -> socket.socket | None:
    """A non-blocking UDP socket bound to ``host`` and the first free port of ``ports``.

    Port 0 lets the kernel pick a free ephemeral port. None if every port is taken.
    """
    for port in ports:
        sock = socket.socket(_family(host), socket.SOCK_DGRAM)
        try:
            sock.bind((host, port))
            sock.setblocking(False)
            return sock
        except OSError:
            sock.close()
    return None


class TransferSocket:
    """One transfer on its own UDP socket; used by the server and by the client alike.

    ``on_end(self)`` is called once, when the transfer has nothing more to do
    (the socket is closed by then). ``timeouts`` counts how often the timer
    had to send a packet again.
    """

    def __init__(
        self,
        transfer: Transfer,
        sock: socket.socket,
        name: str,
        *,
        logger: logging.Logger = log,
        on_end: Callable[[TransferSocket], None] | None = None,
    ):
        self.transfer = transfer
        self.sock = sock
        self.name = name  # "RRQ from 127.0.0.1:40000 file pub/a.bin": the start of each log line
        self.log = logger
        self.on_end = on_end
        self.loop = asyncio.get_running_loop()
        self.port = sock.getsockname()[1]  # our TID
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at: float | None = None
        self.timeouts = 0
        self.closed = False
        self.loop.add_reader(sock.fileno(), self._readable)

    def start(self) -> None:
        """Send the first packet: a client's request, or a server's OACK, DATA 1 or ACK 0."""
        self.carry_out(self.transfer.start(now=self.loop.time()))

    def _readable(self) -> None:
        """Read what has come, up to ``BATCH`` datagrams; stop after the first one that we answered.

        Why stop there: in lock-step the peer sends its next packet only once it has
        our answer, so another ``recvfrom`` now would find nothing and fail, at the
        cost of a system call and an exception on every block. Nothing is missed: the
        selector is level-triggered, so a datagram already queued wakes us again at
        once. Inside a window (RFC 7440) a receiver answers only the window's last
        block, so it reads the whole window in one wake-up.
        """
        for _ in range(BATCH):  # bounded, so one busy transfer cannot starve the others
            if self.closed:
                return
            try:
                data, address = self.sock.recvfrom(DATAGRAM_MAX)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. an ICMP error queued on the socket: not a packet
                self.log.debug("%s: receive error %s", self.name, exc)
                return
            try:
                effects = self.transfer.receive(data, address[:2], now=self.loop.time())
            except Exception:  # noqa: BLE001 - one bad datagram must not stop the server
                self.log.exception(
                    "%s: internal error on a %d-byte datagram from %s", self.name, len(data), address[:2]
                )
                continue
            if self.carry_out(effects):
                return

    def _on_timer(self) -> None:
        self.timer = self.timer_at = None
        try:
            effects = self.transfer.handle_timer(now=self.loop.time())  # does nothing if called early
        except Exception:  # noqa: BLE001 - a transfer without a timer would never end: end it now
            self.log.exception("%s: internal error in the timer", self.name)
            self.abort("internal error")
            return
        if any(isinstance(effect, Send) for effect in effects):
            self.timeouts += 1
        self.carry_out(effects)

    def carry_out(self, effects: list) -> bool:
        """Do what the core said, then set the timer or, if the transfer is over, close.

        True if it sent something (or closed): the caller's cue to stop reading for now."""
        sent = False
        for effect in effects:
            if type(effect) is Send:
                self.send(effect)
                sent = True
            elif type(effect) is Note:
                self.log.debug("%s: %s", self.name, effect.text)
        if self.transfer.finished:
            self.close()
            return True
        self.arm()
        return sent

    def send(self, effect: Send) -> None:
        try:
            self.sock.sendto(effect.data, effect.to)
        except OSError as exc:  # UDP promises nothing anyway: the timer will send it again
            self.log.debug("%s: could not send to %s:%s: %s", self.name, *effect.to, exc)

    def arm(self) -> None:
        """One timer per transfer, at ``transfer.get_timer()``.

        Speed: a deadline that moved *later* (the usual case: every packet that
        arrives in time pushes it on) keeps the timer where it is; when that
        timer fires early, ``handle_timer`` does nothing and we come back here
        to set it at the new deadline. So a fast transfer makes one timer per
        timeout period, not one per block.
        """
        deadline = self.transfer.get_timer()
        if deadline is None:
            self.cancel_timer()
        elif self.timer_at is None or deadline < self.timer_at:
            self.cancel_timer()
            self.timer = self.loop.call_at(deadline, self._on_timer)
            self.timer_at = deadline

    def cancel_timer(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.timer_at = None

    def close(self) -> None:
        """Stop the timer, close the socket, tell the owner (once)."""
        if self.closed:
            return
        self.closed = True
        self.cancel_timer()
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        if self.on_end is not None:
            self.on_end(self)

    def abort(self, why: str) -> None:
        """End a running transfer from our side: tell the peer with an ERROR (RFC 1350 §7), drop the file.

        A receiver that already has the whole file and is only dallying (RFC 1350 §6)
        just stops: the file is kept and the transfer counts as done.
        """
        try:
            if not self.closed and not self.transfer.finished and not self.transfer.complete:
                for effect in self.transfer.fail(why, Error(ErrorCode.NOT_DEFINED, why)):
                    if isinstance(effect, Send):
                        self.send(effect)
        finally:
            self.close()


def name_request(datagram: bytes, client: Address) -> tuple[str, str]:
    """How log lines name a request: the start of each line of its transfer, and the whole request.

    ``("RRQ from 127.0.0.1:40000 file pub/a.bin", "RRQ from 127.0.0.1:40000 file pub/a.bin octet blksize=1428")``:
    the request in the words of every trace (:func:`refimpl.tftp.describe.summary`). The core
    decodes it again; decoding twice costs microseconds, once per transfer.
    """
    peer = f"{client[0]}:{client[1]}"
    kind, text, packet = describe_datagram(datagram)
    if isinstance(packet, Request):
        return f"{kind} from {peer} file {packet.filename}", f"{kind} from {peer} file {text}"
    name = f"{kind} from {peer}" if packet is not None else f"bad request from {peer}"
    return name, f"{name} ({text})"


class TftpServerDriver:
    """Serves a :class:`~refimpl.tftp.server.TftpServer` on ``host:port``::

        driver = TftpServerDriver(TftpServer(DiskFiles(root)), "127.0.0.1", 6969)
        port = await driver.start()
        ...
        await driver.close()

    ``port_range=(low, high)``: transfer sockets (the server's TIDs) use only
    these ports, like tftpd-hpa's ``--port-range``, for a firewall that must
    let them through. Otherwise the kernel picks ephemeral ports.
    """

    def __init__(
        self,
        server: TftpServer,
        host: str = "127.0.0.1",
        port: int = 69,
        *,
        port_range: tuple[int, int] | None = None,
        max_transfers: int = 256,
        max_per_client: int = 16,
        logger: logging.Logger | None = None,
    ):
        self.server = server
        self.host, self.port = host, port
        self.port_range = port_range
        self.max_transfers = max_transfers
        self.max_per_client = max_per_client
        self.log = logger or log
        self.sock: socket.socket | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        # Running transfers by the client's (address, port): RFC 1350 §4 tells transfers
        # apart by their pair of TIDs, and ours are all different, so the client's side is enough.
        self.transfers: dict[Address, TransferSocket] = {}
        self.per_client: Counter[str] = Counter()  # running transfers by the client's IP address
        self.stats = {"requests": 0, "refused": 0, "ignored": 0, "done": 0, "failed": 0}

    async def start(self) -> int:
        """Bind the well-known port; return it (useful with ``port=0``)."""
        self.loop = asyncio.get_running_loop()
        sock = socket.socket(_family(self.host), socket.SOCK_DGRAM)
        try:
            if sock.family == socket.AF_INET:
                sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # tell us each request's destination
            sock.bind((self.host, self.port))
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.loop.add_reader(sock.fileno(), self._readable)
        return self.port

    async def close(self) -> None:
        """Stop listening; end every running transfer (its client gets ERROR 0, an upload is dropped)."""
        if self.sock is not None:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
        for transfer in list(self.transfers.values()):
            transfer.abort("server shutting down")
        self.transfers.clear()
        self.per_client.clear()

    # -- requests on the well-known port ----------------------------------------------------
    def _readable(self) -> None:
        for _ in range(BATCH):
            if self.sock is None:
                return
            try:
                data, ancdata, _flags, address = self.sock.recvmsg(DATAGRAM_MAX, _PKTINFO_SPACE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.log.debug("receive error on the server port: %s", exc)
                return
            local = self.host
            for level, ctype, value in ancdata:
                if level == socket.IPPROTO_IP and ctype == IP_PKTINFO and len(value) >= 12:
                    local = socket.inet_ntoa(value[4:8])  # ipi_spec_dst: the address to answer from
            try:
                self.request(data, address[:2], local)
            except Exception:  # noqa: BLE001 - a server keeps serving whatever one datagram does
                self.log.exception("internal error on a request from %s:%s", *address[:2])

    def request(self, data: bytes, client: Address, local: str) -> None:
        """One datagram that reached the well-known port, from ``client``, sent to our address ``local``."""
        self.stats["requests"] += 1
        head, whole = name_request(data, client)
        if client in self.transfers:
            self.stats["ignored"] += 1
            self.log.debug("%s: repeated while its transfer runs, ignored", head)
            return
        if len(self.transfers) >= self.max_transfers:  # ERROR 0: "not defined, see error message"
            self.refuse(whole, client, local, Error(ErrorCode.NOT_DEFINED, "server busy"))
            return
        if self.per_client[client[0]] >= self.max_per_client:  # one host must not take every slot
            self.log.info("%s: too many transfers from %s (%d)", head, client[0], self.max_per_client)
            busy = Error(ErrorCode.NOT_DEFINED, "server busy: too many transfers from your address")
            self.refuse(whole, client, local, busy)
            return
        effects = self.server.receive(data, client, now=self.loop.time())
        started = [effect.transfer for effect in effects if isinstance(effect, NewTransfer)]
        if not started:
            errors = [effect.packet for effect in effects if isinstance(effect, Send)]
            self.refuse(whole, client, local, *errors)
            return
        transfer = started[0]
        sock = open_udp(local, self.tid_ports())
        if sock is None:  # every port of the range is in use
            transfer.fail("no free port")  # closes the file it opened
            self.refuse(whole, client, local, Error(ErrorCode.NOT_DEFINED, "server busy: no free port"))
            return
        running = TransferSocket(transfer, sock, head, logger=self.log, on_end=self.ended)
        self.transfers[client] = running
        self.per_client[client[0]] += 1
        oack = getattr(transfer, "oack", None)
        answer = f", OACK {summary(OptionAck(oack))}" if oack else ""
        self.log.info("%s (port %d%s)", whole, running.port, answer)
        try:
            running.start()
        except Exception:
            running.abort("internal error")  # free the socket, the file and the slot
            raise

    def refuse(self, name: str, client: Address, local: str, *errors: Error) -> None:
        """Send ERROR from a fresh port (RFC 1350 §4), then close it: nothing more will come."""
        self.stats["refused"] += 1
        for error in errors:
            self.log.info("%s refused: ERROR %d %s", name, error.code, error.message)
        sock = open_udp(local, self.tid_ports()) or open_udp(local)
        if sock is None:
            return
        try:
            for error in errors:
                sock.sendto(error.encode(), client)
        except OSError as exc:  # e.g. a spoofed source port 0
            self.log.debug("%s: could not send the refusal: %s", name, exc)
        finally:
            sock.close()

    def tid_ports(self):
        """The ports a transfer socket may take: any (0), or the range from a random start."""
        if self.port_range is None:
            return (0,)
        low, high = self.port_range
        count = high - low + 1
        first = random.randrange(count)  # spread transfers over the range, like tftpd-hpa
        return (low + (first + i) % count for i in range(count))

    def ended(self, running: TransferSocket) -> None:
        """A transfer has nothing more to do: log how it went, forget it."""
        transfer = running.transfer
        if self.transfers.get(transfer.peer) is running:
            del self.transfers[transfer.peer]
            self.per_client[transfer.peer_ip] -= 1
            if not self.per_client[transfer.peer_ip]:
                del self.per_client[transfer.peer_ip]
        if transfer.ok:
            self.stats["done"] += 1
            blocks = transfer.bytes // transfer.settings.blksize + 1  # the last block is the short one
            self.log.info(
                "%s done %d bytes (%d blocks of %d, %d timeouts)",
                running.name,
                transfer.bytes,
                blocks,
                transfer.settings.blksize,
                running.timeouts,
            )
        else:
            self.stats["failed"] += 1
            self.log.info("%s failed: %s", running.name, transfer.error)


async def run_server(driver: TftpServerDriver, stop: asyncio.Event, ready: Callable[[int], None] | None = None) -> None:
    """Serve until ``stop`` is set, then close every socket."""
    port = await driver.start()
    if ready:
        ready(port)
    try:
        await stop.wait()
    finally:
        await driver.close()
