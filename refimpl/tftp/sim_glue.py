"""Plug the sans-I/O TFTP core into the simulated network.

* :class:`TftpServerHost` listens on UDP 69 of a simulated host. Each request
  gets a socket on a new port, the transfer's TID (RFC 1350 §4), exactly as
  the asyncio driver does on a real machine.
* :class:`TftpClientHost` reads (``get``) and writes (``put``) files.
* The trace names each packet with :func:`refimpl.tftp.describe.describe_datagram`,
  as the capture reader and the server's log do, so every event reads
  ``DATA block=3 512 bytes`` or ``ERROR code=1 (FILE_NOT_FOUND) File not found``.

TFTP's ports change after the request, so the trace cannot recognise the
protocol by port number: every datagram sent here carries the flow name
``"tftp"`` and the decoder is registered for that flow.

Nothing here decides anything about TFTP: every rule lives in the core.
"""

from __future__ import annotations

import io

from . import client as tftp_client
from .describe import describe_datagram
from .packets import TFTP_PORT
from .server import NewTransfer, ServerConfig, TftpServer
from .transfer import Note, Send, Transfer

FLOW = "tftp"


def register(net) -> None:
    """Make ``net``'s trace read TFTP in the ``"tftp"`` flow and on port 69."""
    net.describe(FLOW, describe_datagram, flow=FLOW)
    net.describe(("udp", TFTP_PORT), describe_datagram, flow=FLOW)


def _carry_out(net, host, sock, effects: list, notes: bool) -> None:
    """Send what the core said to send, from ``sock``; its notes go into the trace."""
    for effect in effects:
        if isinstance(effect, Send):
            sock.sendto(effect.data, effect.to, flow=FLOW)
        elif isinstance(effect, Note) and notes:
            net.note(host, effect.text)


class _Runner:
    """Carries one transfer's effects out on one simulated socket, and keeps its one timer."""

    def __init__(self, net, host, sock, transfer: Transfer, notes: bool, on_end=None):
        self.net, self.host, self.sock, self.transfer = net, host, sock, transfer
        self.notes, self.on_end = notes, on_end
        self.timer = None

    def run(self, effects: list) -> None:
        _carry_out(self.net, self.host, self.sock, effects, self.notes)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transfer.finished:
            self.sock.close()
            if self.on_end is not None:
                self.on_end(self.transfer)
        elif self.transfer.get_timer() is not None:
            self.timer = self.net.call_at(self.transfer.get_timer(), self.on_timer)

    def on_datagram(self, packet) -> None:
        self.run(self.transfer.receive(packet.payload, (packet.src_ip, packet.src_port), now=self.net.now))

    def on_timer(self) -> None:
        self.timer = None
        self.run(self.transfer.handle_timer(now=self.net.now))


class TftpServerHost:
    """A TFTP server on UDP ``port`` (69) of a simulated host, serving ``files``."""

    def __init__(
        self,
        net,
        host,
        files,
        config: ServerConfig | None = None,
        port: int = TFTP_PORT,
        notes: bool = True,
        port_range: tuple[int, int] = (50000, 50999),
    ):
        self.net, self.host, self.notes = net, host, notes
        self.port_range = port_range  # where the transfers' ports come from (tftpd-hpa: --port-range)
        self.server = TftpServer(files, config)
        self.transfers: list[Transfer] = []
        self.socket = host.udp(port, self._on_request, flow=FLOW)

    @property
    def files(self):
        return self.server.files

    def _on_request(self, packet) -> None:
        client = (packet.src_ip, packet.src_port)
        effects = self.server.receive(packet.payload, client, now=self.net.now)
        runner = None
        sock = self.host.udp(self._free_port(), lambda p: runner.on_datagram(p), flow=FLOW)  # the new TID
        started = [effect.transfer for effect in effects if isinstance(effect, NewTransfer)]
        if not started:  # refused: the ERROR goes from the new port too, which then closes (RFC 1350 §4)
            _carry_out(self.net, self.host, sock, effects, self.notes)
            sock.close()
            return
        transfer = started[0]
        self.transfers.append(transfer)
        runner = _Runner(self.net, self.host, sock, transfer, self.notes)
        runner.run(transfer.start(now=self.net.now))

    def _free_port(self) -> int:
        """A port of its own for each transfer (RFC 1350 §4), so 69 stays free for requests."""
        low, high = self.port_range
        for port in range(low, high + 1):
            if port not in self.host.udp_sockets:
                return port
        raise OSError(f"{self.host.name}: no free port in {low}-{high}")


class TftpClientHost:
    """A TFTP client on a simulated host, talking to ``server_ip``."""

    def __init__(self, net, host, server_ip: str, server_port: int = TFTP_PORT, notes: bool = True):
        self.net, self.host, self.notes = net, host, notes
        self.server_ip, self.server_port = server_ip, server_port
        self.transfers: list[Transfer] = []
        self.received: dict[str, bytes] = {}  # filename -> what a finished get brought

    def get(self, filename: str, at: float | None = None, **options) -> Transfer:
        """Read ``filename`` (RRQ) at time ``at``. Options as :func:`refimpl.tftp.client.get`."""
        into = io.BytesIO()
        transfer = tftp_client.get(filename, into, self.server_ip, server_port=self.server_port, **options)

        def keep(done: Transfer) -> None:
            if done.ok:
                self.received[filename] = into.getvalue()

        return self._start(transfer, at, keep)

    def put(self, filename: str, data: bytes, at: float | None = None, **options) -> Transfer:
        """Write ``data`` as ``filename`` (WRQ) at time ``at``."""
        transfer = tftp_client.put(filename, io.BytesIO(data), self.server_ip, server_port=self.server_port, **options)
        return self._start(transfer, at, None)

    def _start(self, transfer: Transfer, at: float | None, on_end) -> Transfer:
        self.transfers.append(transfer)
        runner = None
        sock = self.host.udp(0, lambda p: runner.on_datagram(p), flow=FLOW)
        runner = _Runner(self.net, self.host, sock, transfer, self.notes, on_end)
        self.net.call_at(self.net.now if at is None else at, lambda: runner.run(transfer.start(now=self.net.now)))
        return transfer
