"""Plug the sans-I/O FTP cores into the simulated network (:mod:`refimpl.sim.network`).

:class:`~refimpl.ftp.session.ServerSession` and
:class:`~refimpl.ftp.client.FTPClient` never touch a socket or a clock. They
return *effects* ("send this reply", "listen for a data connection", "connect
to 192.0.2.10:50000 from port 20"). This module is the small driver that
carries them out on simulated TCP, so the trace shows what really crosses the
wire - both of FTP's connections (RFC 959 §2.3, §3.2):

* the **control connection**: client ephemeral port -> server port 21, opened
  with SYN, SYN-ACK, ACK; every command and reply is one arrow, labelled with
  its text (kind ``"PORT"`` summary ``"192,0,2,10,195,80"``; kind ``"227"``
  summary ``"Entering Passive Mode (...)"``);
* a **data connection** per transfer:

  - *active* (PORT/EPRT): the client listens, the server connects **from
    port 20** (RFC 959 §3.2: the server's data port is L-1) to the address
    the client announced;
  - *passive* (PASV/EPSV): the server listens on a high port it announces in
    227/229, the client connects to it.

  The sending side closes it with FIN: in stream mode the end of the
  connection is the end of the file (RFC 959 §3.4.1).

Two things a real driver needs and the cores leave to it:

* a **data timeout** (``data_timeout`` seconds, like vsftpd's
  ``accept_timeout``/``connect_timeout``): a passive port nobody connects to
  is given up, the session answers 425 (RFC 959 §4.2.2 "Can't open data
  connection");
* a client that sees a 4yz/5yz reply while it waits for the data knows no data
  will come: it closes its side and reads the reply (ftplib does the same).

Nothing here decides anything about FTP: every rule lives in the cores.
"""

from __future__ import annotations

import random

from refimpl.jail import JailedFS
from refimpl.trace import Trace

from .client import FTPClient, ReplyParser
from .describe import CONTROL_FLOW, DATA_FLOW, describe_control, describe_data
from .events import (
    ClientEffect,
    Close,
    CloseData,
    DataConnect,
    DataListen,
    Done,
    Failed,
    Log,
    Reply,
    ReplyReceived,
    SendCommand,
    SendData,
    SendFile,
    ServerEffect,
    Wait,
)
from .session import ServerConfig, ServerSession

FTP_PORT = 21  # RFC 959 §3.2 / IANA: the control connection's well-known port L


def register(net) -> None:
    """Teach the network to label FTP segments (by flow, so any port works), as a capture reader does."""
    net.describe(CONTROL_FLOW, describe_control, flow=CONTROL_FLOW)
    net.describe(DATA_FLOW, describe_data, flow=DATA_FLOW)


# ---------------------------------------------------------------------------
# The server: one ServerSession per control connection
# ---------------------------------------------------------------------------
class _ServerConnection:
    """One control connection and its (at most one) data connection."""

    def __init__(self, owner: FtpServerHost, conn):
        self.owner, self.conn = owner, conn
        self.net = owner.host.net
        self.session = ServerSession(owner.config, owner.fs, conn.remote, conn.local, now=owner.clock())
        self.data = None  # the data TcpConnection
        self.listener = None  # passive: the listening data port
        self.timer = None  # passive: give up when nobody connects
        conn.on_data = lambda c, data: self.run(self.session.receive(data, now=owner.clock()))
        conn.on_close = lambda c: self._control_closed()
        self.run(self.session.start(now=owner.clock()))

    # -- carrying out effects ------------------------------------------------
    def run(self, effects: list[ServerEffect]) -> None:
        for i, effect in enumerate(effects):
            if isinstance(effect, Wait):
                # the delay after a failed login: the rest waits on the virtual clock,
                # then the lines the session held meanwhile run
                self.net.call_later(effect.seconds, self._wait_over, list(effects[i + 1 :]))
                return
            self._do(effect)

    def _wait_over(self, rest: list[ServerEffect]) -> None:
        self.run(rest)
        self.run(self.session.handle_timer(now=self.owner.clock()))

    def _do(self, effect: ServerEffect) -> None:
        now = self.owner.clock()
        if isinstance(effect, Reply):
            if self.conn.state in ("ESTABLISHED", "CLOSE-WAIT"):
                self.conn.send(effect.encode())
        elif isinstance(effect, Close):
            self.conn.close()
        elif isinstance(effect, Log):
            self.owner.logs.append(effect)
        elif isinstance(effect, DataListen):
            self._listen(effect)
        elif isinstance(effect, DataConnect):
            # RFC 959 §3.2: active mode, the server opens the data connection from port L-1 = 20
            self.data = self.owner.host.tcp.connect(
                (effect.ip, effect.port),
                src_port=effect.from_port,
                flow=DATA_FLOW,
                on_connect=lambda c: self.run(self.session.data_connected(c.remote, now=self.owner.clock())),
                on_error=lambda c, why: c is self.data and self._data_error(why),
            )
            self._attach(self.data)
        elif isinstance(effect, (SendData, SendFile)):
            if isinstance(effect, SendFile):
                effect.file.seek(effect.offset)
                chunk = effect.file.read(effect.count)
            else:
                chunk = effect.data
            if self.data is not None and self.data.state in ("ESTABLISHED", "CLOSE-WAIT"):
                self.data.send(chunk)
            count = len(chunk) if isinstance(effect, SendFile) else 0
            self.run(self.session.data_sent(count, now=now))
        elif isinstance(effect, CloseData):
            self._close_data()

    # -- the data connection ---------------------------------------------------
    def _listen(self, effect: DataListen) -> None:
        tcp = self.owner.host.tcp
        for port in effect.ports[:64]:  # bounded: the first free port of the range
            if not tcp.port_in_use(port):
                self.listener = tcp.listen(port, self._accepted, flow=DATA_FLOW)
                break
        else:
            self.run(self.session.data_listen_failed("no free port", now=self.owner.clock()))
            return
        self.timer = self.net.call_later(self.owner.data_timeout, self._timed_out)
        self.run(self.session.data_listening(self.listener.port, now=self.owner.clock()))

    def _accepted(self, conn) -> None:
        self._stop_listening()  # one connection per PASV/EPSV
        self.data = conn
        self._attach(conn)
        self.run(self.session.data_connected(conn.remote, now=self.owner.clock()))

    def _attach(self, conn) -> None:
        # only the current data connection may speak to the session (an old one may still be closing)
        clock = self.owner.clock
        conn.on_data = lambda c, data: c is self.data and self.run(self.session.data_received(data, now=clock()))
        conn.on_close = lambda c: c is self.data and self.run(self.session.data_closed(now=clock()))

    def _data_error(self, why: str) -> None:
        self.net.note(self.owner.host, "data connection failed:", why)
        self.data = None
        self.run(self.session.data_failed(why, now=self.owner.clock()))

    def _timed_out(self) -> None:
        self.timer = None
        if self.listener is not None:
            self._stop_listening()
            self.net.note(self.owner.host, "data timeout:", f"nobody connected in {self.owner.data_timeout:g} s")
            self.run(self.session.data_failed("timeout", now=self.owner.clock()))

    def _stop_listening(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _close_data(self) -> None:
        self._stop_listening()
        if self.data is not None:
            self.data.on_data = self.data.on_close = None  # the session is done with it
            self.data.close()
            self.data = None

    def _control_closed(self) -> None:
        self.run(self.session.connection_lost(now=self.owner.clock()))
        self._close_data()


class FtpServerHost:
    """An FTP server on a simulated host: listens on port 21, one session per connection.

    ``epoch`` is added to the virtual clock for the sessions, so the logs
    carry a real-looking date instead of 1970.
    """

    def __init__(
        self,
        host,
        config: ServerConfig,
        fs: JailedFS,
        port: int = FTP_PORT,
        data_timeout: float = 20.0,
        epoch: float = 0.0,
    ):
        if isinstance(config.rng, random.SystemRandom):
            # The real server draws passive ports from the OS (RFC 2577 §8); the simulation
            # seeds its own, so a lesson shows the same ports every run.
            config.rng = random.Random(0)
        self.host, self.config, self.fs = host, config, fs
        self.data_timeout, self.epoch = data_timeout, epoch
        self.logs: list[Log] = []
        self.connections: list[_ServerConnection] = []
        register(host.net)
        self.listener = host.tcp.listen(port, self._accept, flow=CONTROL_FLOW)

    def clock(self) -> float:
        return self.host.net.now + self.epoch

    def _accept(self, conn) -> None:
        self.connections.append(_ServerConnection(self, conn))

    def command_log(self) -> list[str]:
        return [log.line for log in self.logs if log.channel == "command"]

    def xferlog(self) -> list[str]:
        return [log.line for log in self.logs if log.channel == "xferlog"]


# ---------------------------------------------------------------------------
# The client
# ---------------------------------------------------------------------------
class FtpClientHost:
    """An :class:`FTPClient` on a simulated host.

    ``announce_ip`` is the address PORT/EPRT announce (default: the host's
    own). A client behind a NAT that knows its public address announces that
    one (lftp's ``ftp:port-ipv4``, FileZilla's "external IP").

    Call :meth:`connect`, queue operations (``login``, ``list``, ``retr``,
    ``stor``, ``command``, ``quit``), then ``net.run()``. Each operation ends as
    a :class:`~refimpl.ftp.client.Done` or :class:`~refimpl.ftp.client.Failed`
    in :attr:`results`.
    """

    def __init__(
        self, host, server_ip: str, mode: str = "passive", port: int = FTP_PORT, announce_ip: str | None = None
    ):
        self.host, self.server_ip, self.port = host, server_ip, port
        self.client = FTPClient(announce_ip or host.ip, server_ip, mode=mode)
        self.results: list[Done | Failed] = []
        self.replies: list[Reply] = []
        self.control = None
        self.data = None
        self.listener = None
        self.pending: list = []  # SendData/CloseData waiting for the data connection
        register(host.net)

    @property
    def net(self):
        return self.host.net

    def connect(self) -> FtpClientHost:
        self.control = self.host.tcp.connect(
            (self.server_ip, self.port),
            flow=CONTROL_FLOW,
            on_data=lambda c, data: self.run(self.client.receive(data, now=self.net.now)),
            on_close=lambda c: self.run(self.client.connection_lost(now=self.net.now)),
            on_error=lambda c, why: self.run(self.client.connection_lost(now=self.net.now)),
        )
        return self

    # -- operations (queued in the client core) ---------------------------------
    def login(self, user: str = "anonymous", password: str = "guest@example.org"):
        return self.run(self.client.login(user, password))

    def list(self, path: str = ""):
        return self.run(self.client.list(path))

    def retr(self, path: str, **kw):
        return self.run(self.client.retr(path, **kw))

    def stor(self, path: str, data: bytes, **kw):
        return self.run(self.client.stor(path, data, **kw))

    def command(self, line: str):
        return self.run(self.client.command(line))

    def quit(self):
        return self.run(self.client.quit())

    # -- carrying out effects ------------------------------------------------------
    def run(self, effects: list[ClientEffect]) -> None:
        for effect in effects:
            self._do(effect)

    def _do(self, effect: ClientEffect) -> None:
        if isinstance(effect, (Done, Failed)):
            self.results.append(effect)
            if isinstance(effect, Failed):
                self._close_data()  # e.g. after a 425: no data will come for it
        elif isinstance(effect, ReplyReceived):
            self.replies.append(effect.reply)
        elif isinstance(effect, SendCommand):
            if self.control is not None and self.control.state == "ESTABLISHED":
                self.control.send(effect.encode())
        elif isinstance(effect, DataConnect):
            # passive: we open the data connection to the address 227/229 gave us
            self._close_data()  # a connection left over from a failed command
            self.data = self.host.tcp.connect(
                (effect.ip, effect.port),
                flow=DATA_FLOW,
                on_connect=lambda c: self._flush(),
                on_error=lambda c, why: c is self.data and self._data_error(why),
            )
            self._attach(self.data)
        elif isinstance(effect, DataListen):
            # active: listen on a fresh ephemeral port; PORT/EPRT announce it
            self._close_data()
            self.listener = self.host.tcp.listen(0, self._accepted, flow=DATA_FLOW)
            self.run(self.client.data_listening(self.listener.port, now=self.net.now))
        elif isinstance(effect, (SendData, CloseData)):
            self.pending.append(effect)
            self._flush()

    def _attach(self, conn) -> None:
        # only the current data connection counts (an old one may still be closing)
        conn.on_data = lambda c, data: c is self.data and self.client.data_received(data, now=self.net.now)
        conn.on_close = lambda c: c is self.data and self.run(self.client.data_closed(now=self.net.now))

    def _accepted(self, conn) -> None:
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self.data = conn
        self._attach(conn)
        self._flush()

    def _flush(self) -> None:
        """Send the upload once the data connection is up (it may come after the 150)."""
        if self.data is None or self.data.state != "ESTABLISHED":
            return
        while self.pending:
            effect = self.pending.pop(0)
            if isinstance(effect, SendData):
                self.data.send(effect.data)
            else:
                self.data.on_close = None  # we end the file ourselves
                self.data.close()

    def _data_error(self, why: str) -> None:
        self.net.note(self.host, "data connection failed:", why)
        self.data = None
        self.pending.clear()
        self.run(self.client.data_failed(why, now=self.net.now))

    def _close_data(self) -> None:
        self.pending.clear()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        if self.data is not None:
            self.data.on_close = None
            self.data.close()
            self.data = None

    # -- what happened ------------------------------------------------------------------
    def summary(self) -> list[str]:
        """One line per finished operation: ``LIST ok 226`` / ``RETR FAILED 425``."""
        lines = []
        for r in self.results:
            code = r.reply.code if r.reply is not None else "-"
            if isinstance(r, Done):
                size = f" ({len(r.data)} bytes)" if r.data is not None else ""
                lines.append(f"{r.name:<8} ok      {code}{size}")
            else:
                lines.append(f"{r.name:<8} FAILED  {code} {r.reason}".rstrip())
        return lines


class ScriptedClient:
    """A client that just types lines, one after each final reply (like ``telnet host 21``).

    For what a polite client never sends: a PORT to a third host (the bounce
    attack, RFC 2577 §2), ``CWD ../../..``. Replies are parsed with the core's
    :class:`~refimpl.ftp.client.ReplyParser`; 1yz replies are preliminary, so
    the next line waits for the final one (RFC 959 §4.2).
    """

    def __init__(self, host, server_ip: str, lines: list[str], port: int = FTP_PORT, gap: float = 0.0):
        self.host, self.lines, self.gap = host, list(lines), gap
        self.parser = ReplyParser()
        self.replies: list[Reply] = []
        register(host.net)
        self.control = host.tcp.connect((server_ip, port), flow=CONTROL_FLOW, on_data=self._data)

    def _data(self, conn, data: bytes) -> None:
        for reply in self.parser.feed(data):
            self.replies.append(reply)
            if reply.code >= 200 and self.lines:
                line = self.lines.pop(0)
                self.host.net.call_later(self.gap, self._send, line)

    def _send(self, line: str) -> None:
        if self.control.state == "ESTABLISHED":
            self.control.send((line + "\r\n").encode())


def control_only(trace: Trace) -> Trace:
    """The control connection's commands and replies only (no TCP handshakes)."""
    return trace.where(lambda e: e.flow == CONTROL_FLOW and e.kind not in ("SYN", "SYN-ACK", "ACK", "FIN", "RST"))


def connection_table(trace: Trace) -> str:
    """Every TCP connection in a trace, one line each: who opened it, from where to where, how it ended.

    The left end of each line sent the first SYN (the *active open*, RFC 793
    §2.7) - which is the whole difference between FTP's active and passive
    modes. Through a NAT one connection shows twice, once per hop, with the
    addresses each side of the box sees.
    """
    rows: dict[frozenset, dict] = {}
    for e in trace:
        if e.transport != "tcp":
            continue
        key = frozenset([(e.src_ip, e.src_port), (e.dst_ip, e.dst_port)])
        if key not in rows:
            if e.kind != "SYN":
                continue
            rows[key] = {
                "flow": e.flow,
                "hop": f"{e.src}->{e.dst}",
                "from": f"{e.src_ip}:{e.src_port}",
                "to": f"{e.dst_ip}:{e.dst_port}",
                "kinds": [],
                "payload": 0,
            }
        row = rows[key]
        row["kinds"].append("lost " + e.kind if e.lost else e.kind)
        row["payload"] += bool(e.raw) and not e.lost
    lines = [f"{'flow':<12} {'hop':<16} {'opened from':<22} {'to':<22} result"]
    for row in rows.values():
        kinds = row["kinds"]
        if "SYN-ACK" not in kinds and "lost SYN" not in kinds:
            result = "opening: SYN sent"  # (a trace cut short, as in a stepper)
        elif "SYN-ACK" not in kinds:
            result = f"never established: {kinds.count('lost SYN') + kinds.count('SYN')} SYNs, no answer"
        else:
            n = row["payload"]
            end = ("open", "closing: one FIN", "closed")[min(kinds.count("FIN"), 2)]  # RFC 793 §3.5
            result = f"established, {n} segment{'s' * (n != 1)} with data, {end}"
        lines.append(f"{row['flow']:<12} {row['hop']:<16} {row['from']:<22} {row['to']:<22} {result}")
    return "\n".join(lines)


def add_ftp_helper(nat) -> None:
    """Give a simulated NAT box an FTP helper, like Linux's ``nf_nat_ftp`` (once ``ip_nat_ftp``).

    A NAT alone breaks active mode: PORT carries the inside address, and the
    server's SYN from port 20 finds no mapping. The helper reads the control
    connection (only to port 21, unless told other ports, as Linux's ``ports=``
    option) and, for each ``PORT`` from inside:

    1. creates a mapping for the announced inside port and allows one inbound
       connection to it, from the server's port 20;
    2. rewrites the command to carry the NAT's outside address and mapped port.

    The trace shows both versions of the command, one each side of the box. It
    cannot work when the control connection is encrypted (FTPS, RFC 4217) or on
    another port: one more reason to prefer passive mode.
    """
    from dataclasses import replace

    from .datachannel import DataChannelError, format_host_port, parse_host_port

    def helper(packet, iface):
        if iface is not nat.inside or packet.transport != "tcp" or packet.dst_port != FTP_PORT:
            return packet
        if not packet.payload.upper().startswith(b"PORT "):
            return packet
        try:
            ip, port = parse_host_port(packet.payload[5:].decode("ascii").strip())
        except (DataChannelError, UnicodeDecodeError):
            return packet  # not ours to judge: the server will answer 501
        if not nat.inside.on_link(ip):
            return packet
        mapped = nat.mappings.get(("tcp", ip, port))
        if mapped is None:
            mapped = port
            while ("tcp", mapped) in nat.reverse or ("tcp", mapped) in nat.forwards:
                mapped += 1
            nat.mappings[("tcp", ip, port)] = mapped
            nat.reverse[("tcp", mapped)] = (ip, port)
        # expect the server's data connection: from its port 20 (RFC 959 §3.2) to the mapped port
        nat.contacted.add(("tcp", mapped, packet.dst_ip, FTP_PORT - 1))
        line = f"PORT {format_host_port(nat.outside.ip, mapped)}\r\n".encode()
        return replace(packet, payload=line)

    nat.add_hook(helper)
