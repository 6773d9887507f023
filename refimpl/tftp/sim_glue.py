"""Plug the sans-I/O TFTP core into the simulated network.

* :class:`TftpServerHost` listens on UDP 69 of a simulated host. Each request
  gets a socket on a new port, the transfer's TID (RFC 1350 §4), exactly as
  the asyncio driver does on a real machine.
* :class:`TftpClientHost` reads (``get``) and writes (``put``) files.
* :func:`describe_tftp` is the decoder the trace uses, so every event reads
  ``DATA block=3 512 bytes`` or ``ERROR code=1 (FILE_NOT_FOUND) File not found``.

TFTP's ports change after the request, so the trace cannot recognise the
protocol by port number: every datagram sent here carries the flow name
``"tftp"`` and the decoder is registered for that flow.

Nothing here decides anything about TFTP: every rule lives in the core.
"""

from __future__ import annotations

import io
from typing import Any

from .packets import TFTP_PORT, PacketError, decode, kind
from .server import ServerConfig, TftpServer
from .transfer import Note, Send, Transfer
from . import client as tftp_client

FLOW = "tftp"


def describe_tftp(raw: bytes) -> tuple[str, str, Any]:
    """Decoder for the simulator: ``raw`` -> ``(kind, summary, packet)``."""
    try:
        packet = decode(raw)
    except PacketError as exc:
        return "?", f"not TFTP: {exc}", None
    return kind(packet), packet.summary(), packet


def register(net) -> None:
    """Make ``net``'s trace read TFTP in the ``"tftp"`` flow and on port 69."""
    net.describe(FLOW, describe_tftp, flow=FLOW)
    net.describe(("udp", TFTP_PORT), describe_tftp, flow=FLOW)


class _Runner:
    """Carries one transfer's effects out on one simulated socket, and keeps its one timer."""

    def __init__(self, net, host, sock, transfer: Transfer, notes: bool, on_end=None):
        self.net, self.host, self.sock, self.transfer = net, host, sock, transfer
        self.notes, self.on_end = notes, on_end
        self.timer = None

    def run(self, effects: list) -> None:
        for effect in effects:
            if isinstance(effect, Send):
                self.sock.sendto(effect.data, effect.to, flow=FLOW)
            elif isinstance(effect, Note) and self.notes:
                self.net.note(self.host, effect.text)
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transfer.finished:
            self.sock.close()
            if self.on_end is not None:
                self.on_end(self.transfer)
        elif self.transfer.deadline is not None:
            self.timer = self.net.call_at(self.transfer.deadline, self.on_timer)

    def on_datagram(self, packet) -> None:
        self.run(self.transfer.receive(packet.payload, (packet.src_ip, packet.src_port), self.net.now))

    def on_timer(self) -> None:
        self.timer = None
        self.run(self.transfer.handle_timer(self.net.now))


class TftpServerHost:
    """A TFTP server on UDP ``port`` (69) of a simulated host, serving ``files``."""

    def __init__(self, net, host, files, config: ServerConfig | None = None, port: int = TFTP_PORT,
                 notes: bool = True, port_range: tuple[int, int] = (50000, 50999)):
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
        transfer, refusal = self.server.receive_request(packet.payload, client, self.net.now)
        runner = None
        sock = self.host.udp(self._free_port(), lambda p: runner.on_datagram(p), flow=FLOW)  # the new TID
        if transfer is None:
            _Runner(self.net, self.host, sock, _Refused(), self.notes).run(refusal)
            return
        self.transfers.append(transfer)
        runner = _Runner(self.net, self.host, sock, transfer, self.notes)
        runner.run(transfer.start(self.net.now))


    def _free_port(self) -> int:
        """A port of its own for each transfer (RFC 1350 §4), so 69 stays free for requests."""
        low, high = self.port_range
        for port in range(low, high + 1):
            if port not in self.host.udp_sockets:
                return port
        raise OSError(f"{self.host.name}: no free port in {low}-{high}")


class _Refused:
    """Stands in for a transfer when the answer is one ERROR: the socket closes at once."""

    finished, deadline = True, None


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
        transfer = tftp_client.put(filename, io.BytesIO(data), self.server_ip, server_port=self.server_port,
                                   **options)  # fmt: skip
        return self._start(transfer, at, None)

    def _start(self, transfer: Transfer, at: float | None, on_end) -> Transfer:
        self.transfers.append(transfer)
        runner = None
        sock = self.host.udp(0, lambda p: runner.on_datagram(p), flow=FLOW)
        runner = _Runner(self.net, self.host, sock, transfer, self.notes, on_end)
        self.net.call_at(self.net.now if at is None else at, lambda: runner.run(transfer.start(self.net.now)))
        return transfer
