"""A client core and a server core wired together in memory, recording a trace.

No sockets and no real time: :class:`Pair` plays the network between an
:class:`~refimpl.ftp.client.FTPClient` and a
:class:`~refimpl.ftp.session.ServerSession`, on a virtual clock that advances
``latency`` seconds per message. Every command, reply and data block becomes a
:class:`refimpl.trace.Event`, so a lesson can draw the whole conversation -
both connections - as a sequence diagram, labelled as the simulated network
and a capture label them (:mod:`refimpl.ftp.describe`)::

    pair = Pair(config, JailedFS(root))
    pair.run(pair.client.login("anonymous", "me@example.org"))
    pair.run(pair.client.retr("/pub/hello.txt"))
    pair.results[-1].data          # b'hello\\nworld\\n'
    pair.trace.table()             # USER, 331, PASS, 230, TYPE, 200, PASV, 227, ...
"""

from __future__ import annotations

from refimpl.jail import JailedFS
from refimpl.trace import Event, Trace

from .client import FTPClient
from .describe import CONTROL_FLOW, DATA_FLOW, describe_control, describe_data
from .events import (
    ClientEffect,
    Close,
    CloseData,
    DataConnect,
    DataListen,
    Done,
    Effect,
    Failed,
    Log,
    Reply,
    SendCommand,
    SendData,
    SendFile,
    ServerEffect,
    Wait,
)
from .session import ServerConfig, ServerSession


class Pair:
    def __init__(
        self,
        config: ServerConfig,
        fs: JailedFS,
        mode: str = "passive",
        client_addr=("192.0.2.10", 50000),
        server_addr=("192.0.2.1", 21),
        latency: float = 0.001,
        max_steps: int = 100_000,
        nat_address: str | None = None,
    ):
        """``nat_address``: the client sits behind a NAT and the server sees this
        address instead of ``client_addr[0]`` (the NAT problem of active mode: the
        PORT command still carries the private address, so the server refuses it)."""
        self.client_addr, self.server_addr = client_addr, server_addr
        seen = (nat_address or client_addr[0], client_addr[1])
        self.client = FTPClient(client_addr[0], server_addr[0], mode=mode)
        self.server = ServerSession(config, fs, seen, server_addr, now=0.0)
        self.seen_addr = seen
        self.now, self.latency, self.max_steps = 0.0, latency, max_steps
        self.trace = Trace([])
        self.results: list = []
        self.logs: list[Log] = []
        self.data_open = False
        self.data_ports = (0, 0)  # (client port, server port) of the data connection
        self.next_client_port = 40000
        self.pending_upload: list = []  # client data effects waiting for the connection
        self.closed = False
        self.run(self.server.start(now=self.now), side="server")

    # -- bookkeeping ----------------------------------------------------------------
    def _tick(self) -> float:
        self.now = round(self.now + self.latency, 9)
        return self.now

    def _record(self, src: str, flow: str, raw: bytes = b"", kind: str = "", summary: str = "") -> None:
        """One event; a segment with bytes is labelled by :mod:`~refimpl.ftp.describe`, a bare one by ``kind``."""
        message = None
        if raw:
            kind, summary, message = describe_control(raw) if flow == CONTROL_FLOW else describe_data(raw)
        c_ip, c_port = self.client_addr
        s_ip, s_port = self.server_addr
        if flow == DATA_FLOW:
            c_port, s_port = self.data_ports
        if src == "client":
            ends = dict(src="client", dst="server", src_ip=c_ip, src_port=c_port, dst_ip=s_ip, dst_port=s_port)
        else:
            ends = dict(src="server", dst="client", src_ip=s_ip, src_port=s_port, dst_ip=c_ip, dst_port=c_port)
        self.trace.events.append(
            Event(
                time=self.now, transport="tcp", kind=kind, message=message, raw=raw, summary=summary, flow=flow, **ends
            )
        )

    # -- the network ------------------------------------------------------------------
    def run(self, effects: list[Effect], side: str = "client") -> list[Done | Failed]:
        """Deliver ``effects`` (from ``side``) and everything they cause; return the
        operation results (:class:`Done` / :class:`Failed`) that came out."""
        queue = [(side, e) for e in effects]
        results: list[Done | Failed] = []
        steps = 0
        while queue:
            steps += 1
            if steps > self.max_steps:
                raise RuntimeError("FTP pair did not settle (loop bound reached)")
            who, e = queue.pop(0)
            new = self._client_effect(e, results) if who == "client" else self._server_effect(e)
            queue += new
        self.results += results
        return results

    def _client_effect(self, e: ClientEffect, results: list) -> list:
        if isinstance(e, (Done, Failed)):
            results.append(e)
            return []
        if isinstance(e, SendCommand):
            self._tick()
            self._record("client", CONTROL_FLOW, e.encode())
            return [("server", x) for x in self.server.receive(e.encode(), now=self.now)]
        if isinstance(e, DataConnect):
            self._tick()
            self.next_client_port += 1
            self.data_ports = (self.next_client_port, e.port)
            self._record("client", DATA_FLOW, kind="SYN", summary=f"connect to {e.ip}:{e.port}")
            effects = self.server.data_connected((self.seen_addr[0], self.next_client_port), now=self.now)
            self.data_open = not any(isinstance(x, CloseData) for x in effects)
            return [("server", x) for x in effects]
        if isinstance(e, DataListen):
            self.next_client_port += 1
            return [("client", x) for x in self.client.data_listening(self.next_client_port, now=self.now)]
        if isinstance(e, (SendData, CloseData)):
            if not self.data_open:
                self.pending_upload.append(e)
                return []
            self._tick()
            if isinstance(e, SendData):
                self._record("client", DATA_FLOW, e.data)
                return [("server", x) for x in self.server.data_received(e.data, now=self.now)]
            self.data_open = False
            self._record("client", DATA_FLOW, kind="FIN")
            return [("server", x) for x in self.server.data_closed(now=self.now)]
        return []

    def _server_effect(self, e: ServerEffect) -> list:
        if isinstance(e, Reply):
            self._tick()
            self._record("server", CONTROL_FLOW, e.encode())
            return [("client", x) for x in self.client.receive(e.encode(), now=self.now)]
        if isinstance(e, Log):
            self.logs.append(e)
            return []
        if isinstance(e, Wait):
            self.now = round(self.now + e.seconds, 9)  # virtual time: just move the clock
            return []
        if isinstance(e, DataListen):
            return [("server", x) for x in self.server.data_listening(e.port, now=self.now)]
        if isinstance(e, DataConnect):
            self._tick()
            self.data_ports = (e.port, e.from_port)
            self._record("server", DATA_FLOW, kind="SYN", summary=f"connect from port {e.from_port} to {e.ip}:{e.port}")
            self.data_open = True
            out = [("server", x) for x in self.server.data_connected((e.ip, e.port), now=self.now)]
            out += [("client", x) for x in self.pending_upload]
            self.pending_upload = []
            return out
        if isinstance(e, (SendData, SendFile)):
            data = e.data if isinstance(e, SendData) else _read(e)
            self._tick()
            self._record("server", DATA_FLOW, data)
            self.client.data_received(data, now=self.now)
            count = len(data) if isinstance(e, SendFile) else 0
            return [("server", x) for x in self.server.data_sent(count, now=self.now)]
        if isinstance(e, CloseData):
            if self.data_open:
                self._tick()
                self._record("server", DATA_FLOW, kind="FIN")
                self.data_open = False
                return [("client", x) for x in self.client.data_closed(now=self.now)]
            return []
        if isinstance(e, Close):
            self.closed = True
            return [("client", x) for x in self.client.connection_lost(now=self.now)]
        return []


def _read(e: SendFile) -> bytes:
    e.file.seek(e.offset)
    return e.file.read(e.count)
