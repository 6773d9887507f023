"""The FTP server, sans-I/O: one :class:`ServerSession` per control connection.

Theory of operation
-------------------
An FTP session is a conversation on the *control connection* (RFC 959 §3):
the client sends one command a line (``RETR a.txt\\r\\n``), the server answers
each with a reply (``150 ...``, later ``226 ...``). Files and listings travel
on a separate *data connection*, opened per transfer (RFC 959 §3.2).

The session owns no socket and reads no clock. The driver feeds it what
happened, with the current time ``now``, and gets back a list of effects
(:mod:`refimpl.ftp.events`) to carry out, in order::

    driver -> session                      session -> driver
    -----------------                      -----------------
    start(now)                             [Reply 220]
    receive_data(b"USER ann\\r\\n", now)     [Reply 331, Log]
    receive_data(b"PASV\\r\\n", now)         [DataListen(ip, ports)]
    data_listening(30007, now)             [Reply 227]
    receive_data(b"RETR a.txt\\r\\n", now)   [Reply 150]
    data_connected(now, peer)              [SendData(chunk)]
    data_sent(now)                         [SendData(chunk)] ... until
    data_sent(now)                         [CloseData, Reply 226, Log, Log xferlog]

Rules of this file
------------------
* Every command goes through one table, :data:`refimpl.ftp.commands.COMMANDS`:
  unknown verb -> 500, left out -> 502, argument rule -> 501, login -> 530,
  all checked in :meth:`ServerSession._dispatch` before a handler runs.
* Handlers are the ``ftp_VERB`` methods; each returns its effects.
* Paths go through the user's :class:`~refimpl.ftp.jail.JailedFS`, which
  refuses anything outside the user's root; an ``OSError`` becomes 550.
* A transfer is one :class:`Transfer`; it starts when both the command has
  been given and the data connection is open, whichever comes last.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import os
import random
from dataclasses import dataclass, field
from typing import BinaryIO

from . import listing
from .ascii import FromNetwork, ToNetwork
from .commands import COMMANDS, DATA_COMMANDS, FEATURES, NOT_IMPLEMENTED
from .datachannel import (
    DataChannelError,
    format_227,
    format_229,
    is_bounce,
    parse_eprt,
    parse_host_port,
)
from .events import Close, CloseData, DataConnect, DataListen, Log, Reply, SendData, SendFile, Wait
from .guard import Guard
from .jail import JailedFS, JailError
from .users import Account, UserDB
from .xferlog import command_line, xferlog_line


@dataclass
class ServerConfig:
    """Settings shared by every session of one server."""

    users: UserDB = field(default_factory=lambda: UserDB(anonymous=True))
    guard: Guard = field(default_factory=Guard)
    passive_ports: tuple[int, int] = (30000, 30100)  # inclusive range to listen on
    passive_address: str | None = None  # address announced in 227 (behind NAT); default: ours
    active_port: int = 20  # RFC 959 §3.2: the server's data port L-1
    permit_foreign_addresses: bool = False  # RFC 2577 §3: keep False
    permit_privileged_ports: bool = False  # RFC 2577 §3: keep False
    max_login_attempts: int = 3  # per connection, then it is closed
    failed_login_delay: float = 1.0  # seconds before answering a wrong password
    chunk_size: int = 64 * 1024  # bytes read from a file at a time
    sendfile: bool = False  # may the driver use sendfile(2) for TYPE I RETR?
    banner: str = "refimpl FTP server ready."
    max_line: int = 4096  # a longer command line is refused
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass
class Transfer:
    """One file or listing moving over the data connection."""

    verb: str
    vpath: str
    outgoing: bool
    binary: bool
    source: BinaryIO | None = None  # outgoing: the file, or a BytesIO listing
    sink: BinaryIO | None = None  # incoming: the file being written
    offset: int = 0  # REST position
    count: int = 0  # bytes of the file moved so far
    started: float = 0.0
    running: bool = False
    use_sendfile: bool = False
    size: int = 0  # sendfile: bytes to send
    to_net: ToNetwork | None = None
    from_net: FromNetwork | None = None
    is_file: bool = True  # False for listings (not in the xferlog)


@functools.lru_cache(maxsize=1024)
def _ip(addr: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address, with IPv4-mapped IPv6 (``::ffff:192.0.2.1``) unwrapped.

    Speed: cached (addresses are immutable), as every connection parses the
    same few addresses - its client's, ours, and its data connection's."""
    ip = ipaddress.ip_address(addr.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def _quote(path: str) -> str:
    """RFC 959 Appendix II: a ``"`` inside a 257 pathname is doubled."""
    return '"' + path.replace('"', '""') + '"'


def _strip_telnet(line: bytes) -> bytes:
    """Drop Telnet commands (IAC IP, IAC DM, IAC WILL x, ...) that clients
    send before ABOR (RFC 959 §4.1.3); IAC IAC stands for one 0xFF byte."""
    if b"\xff" not in line:
        return line
    out, i = bytearray(), 0
    while i < len(line):
        b = line[i]
        if b == 0xFF and i + 1 < len(line):
            cmd = line[i + 1]
            if cmd == 0xFF:
                out.append(0xFF)
                i += 2
            elif cmd in (0xFB, 0xFC, 0xFD, 0xFE):  # WILL WONT DO DONT + option
                i += 3
            else:
                i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


class ServerSession:
    """The server side of one FTP control connection."""

    def __init__(self, config: ServerConfig, fs: JailedFS, client_addr: tuple, server_addr: tuple,
                 now: float = 0.0):
        self.config = config
        self.root_fs = fs
        self.client_addr = (client_addr[0], client_addr[1])
        self.server_addr = (server_addr[0], server_addr[1])
        self.client_ip = _ip(client_addr[0])
        self.client_host = str(self.client_ip)  # for logs and the guard; made once (a crowd profile showed it)
        self.server_ip = _ip(server_addr[0])
        self.opened = now
        self.buffer = b""
        self.discarding = False  # inside an overlong command line
        self.closed = False
        self.counted = False  # did the guard count this connection?
        # login
        self.pending_user: str | None = None
        self.account: Account | None = None
        self.fs: JailedFS | None = None
        self.cwd = "/"
        self.attempts = 0
        # transfer parameters
        self.type = "A"  # RFC 959 §3.1.1.1: ASCII is the default type
        self.rest = 0
        self.rnfr: str | None = None
        self.epsv_all = False
        # data connection: mode None / "active" / "passive";
        # state "none" / "binding" / "listening" / "connecting" / "open"
        self.data_mode: str | None = None
        self.data_state = "none"
        self.active_target: tuple[str, int] | None = None
        self.passive_port: int | None = None
        self.passive_reply = 227
        self.listen_command = "PASV"
        self.command = ""  # the line being executed (receive_line)
        self.pending_log: str | None = None  # a data command waiting for its final reply
        self.transfer: Transfer | None = None

    # ------------------------------------------------------------------ API
    def start(self, now: float) -> list:
        """The greeting (RFC 959 §5.4: 220), or 421 when the address is over its limits."""
        ip = self.client_host
        if self.config.guard.is_blocked(ip, now):
            self.closed = True
            return [Reply(421, "Too many failed logins from your address; try again later."), Close("blocked")]
        if not self.config.guard.connection_opened(ip):
            self.closed = True
            return [Reply(421, "Too many connections from your address."), Close("connection limit")]
        self.counted = True
        return [Reply(220, self.config.banner)]

    def receive_data(self, data: bytes, now: float) -> list:
        """Bytes from the control connection; complete lines are executed."""
        effects: list = []
        self.buffer += data
        while not self.closed:
            end = self.buffer.find(b"\n")
            if end < 0:
                if len(self.buffer) > self.config.max_line:
                    # refuse once, then drop everything up to the end of this line
                    self.buffer, self.discarding = b"", True
                    effects.append(Reply(500, "Command line too long."))
                break
            line, self.buffer = self.buffer[: end + 1], self.buffer[end + 1 :]
            if self.discarding:
                self.discarding = False  # the tail of an overlong line
                continue
            if len(line) > self.config.max_line:
                effects.append(Reply(500, "Command line too long."))
                continue
            effects += self.receive_line(line, now)
        return effects

    def receive_line(self, line: bytes | str, now: float) -> list:
        """Execute one command line (with or without its CRLF)."""
        if self.closed:
            return []
        if isinstance(line, bytes):
            line = _strip_telnet(line).decode("utf-8", "surrogateescape")
        line = line.rstrip("\r\n")
        if not line.strip():
            return []  # RFC 959 has no empty command; ignore blank lines quietly
        verb, _, arg = line.lstrip().partition(" ")
        verb = verb.upper()
        self.command = command = f"{verb} {arg}".strip()
        effects = self._dispatch(verb, arg, now)
        if any(isinstance(e, DataListen) for e in effects):
            self.listen_command = command  # logged with its 227/229 once we listen
            return effects
        replies = [e.code for e in effects if isinstance(e, Reply)]
        if replies and replies[0] < 200:
            # RFC 959 §4.2: 1yz is only preliminary; the line is logged with the
            # final reply (226, 426, 425...) by _final_reply, as vsftpd logs the outcome
            return effects
        # the last reply is this command's (ABOR's 426 before it belongs to the transfer)
        return [*effects, self._command_log(command, replies[-1] if replies else 0, now)]

    def _command_log(self, command: str, code: int, now: float) -> Log:
        user = self.account.name if self.account else (self.pending_user or "")
        return Log("command", command_line(now=now, host=self.client_host, user=user,
                                           command=command, code=code))

    def _final_reply(self, code: int, text: str, now: float) -> list:
        """A transfer's final reply, with the command log line its 1yz put off."""
        return [Reply(code, text), *self._log_pending(code, now)]

    def _log_pending(self, code: int, now: float) -> list:
        if self.pending_log is None:
            return []
        command, self.pending_log = self.pending_log, None
        return [self._command_log(command, code, now)]

    def data_listening(self, port: int, now: float) -> list:
        """The driver listens on ``port`` (after :class:`DataListen`): announce it."""
        if self.data_state != "binding":
            return []
        self.data_state, self.passive_port = "listening", port
        if self.passive_reply == 229:
            reply = Reply(229, format_229(port))
        else:
            announce = self.config.passive_address or str(self.server_ip)
            reply = Reply(227, format_227(announce, port))
        return [reply, self._command_log(self.listen_command, reply.code, now)]

    def data_listen_failed(self, now: float, reason: str = "") -> list:
        self._reset_data()
        reply = Reply(425, "Can't open passive data connection: no free port.")
        return [reply, self._command_log(self.listen_command, reply.code, now)]

    def data_connected(self, now: float, peer: tuple | None = None) -> list:
        """The data connection is up (we connected, or we accepted ``peer``)."""
        if self.data_state not in ("listening", "connecting"):
            return [CloseData("unexpected data connection")]
        if self.data_state == "listening" and peer is not None and not self.config.permit_foreign_addresses:
            # RFC 2577 §4 (check the data connection comes from the control connection's host)
            # and §8 (port stealing): a passive connection from another host is refused
            if _ip(peer[0]) != self.client_ip:
                effects: list = [CloseData("foreign address")]
                if self.transfer:
                    self._close_files()
                    self.transfer = None
                    effects += self._final_reply(425, f"Rejected data connection from foreign address {peer[0]}.", now)
                self._reset_data()
                return effects
        self.data_state = "open"
        if self.transfer and not self.transfer.running:
            return self._run(now)
        return []

    def data_failed(self, now: float, reason: str = "") -> list:
        """Connecting (active) or accepting (passive) did not work."""
        effects: list = []
        if self.transfer:
            self._close_files()
            self.transfer = None
            effects += self._final_reply(425, "Can't open data connection.", now)
        self._reset_data()
        return effects

    def data_sent(self, now: float, count: int = 0) -> list:
        """The last SendData/SendFile has been handed to the network."""
        t = self.transfer
        if not t or not t.running or not t.outgoing:
            return []
        if t.use_sendfile:
            t.count = count
            return self._finish(now, complete=count >= t.size)
        return self._next_chunk(now)

    def data_received(self, data: bytes, now: float) -> list:
        """Bytes from the data connection (STOR, APPE).

        ``data`` may be a view of the driver's receive buffer, which is reused
        once this returns: it is written (or converted) here and never kept.
        """
        t = self.transfer
        if not t or not t.running or t.outgoing:
            return []
        if t.from_net:
            data = t.from_net.convert(bytes(data))
        try:
            t.sink.write(data)
        except OSError as exc:
            return self._fail(now, 451, f"Local error writing the file: {exc.strerror or exc}.")
        t.count += len(data)
        return []

    def data_closed(self, now: float) -> list:
        """The client closed the data connection."""
        t = self.transfer
        if t and t.running and not t.outgoing:
            if t.from_net:
                t.sink.write(t.from_net.flush())
            return self._finish(now, complete=True)  # RFC 959 §3.4: in stream mode EOF ends the file
        if t and t.running:
            return self._fail(now, 426, "Connection closed; transfer aborted.")
        self._reset_data()
        return []

    def connection_lost(self, now: float) -> list:
        """The control connection is gone: clean up (the driver closes data)."""
        effects: list = []
        if self.transfer:
            effects += self._abandon(now)
            effects += self._log_pending(0, now)  # no final reply: logged as "-"
        if self.counted:
            self.config.guard.connection_closed(self.client_host)
            self.counted = False
        self.closed = True
        return effects

    # ------------------------------------------------------------- dispatch
    def _dispatch(self, verb: str, arg: str, now: float) -> list:
        spec = COMMANDS.get(verb)
        if spec is None:
            if verb in NOT_IMPLEMENTED:
                return [Reply(502, f"{verb} not implemented.")]
            return [Reply(500, f"Command {verb[:20]!r} not understood.")]
        if spec.arg == "none" and arg.strip():
            return [Reply(501, f"Syntax error: {verb} takes no argument.")]
        if spec.arg == "required" and not arg.strip():
            return [Reply(501, f"Syntax error: {verb} needs an argument.")]
        if spec.auth and self.account is None:
            return [Reply(530, "Log in with USER and PASS first.")]
        # RFC 959 §4.1.3: RNTO must come right after RNFR. (REST should too, but
        # clients send PASV or TYPE in between; like pyftpdlib we keep the offset
        # until the next transfer uses it.)
        if verb != "RNTO":
            self.rnfr = None
        if self.transfer and (verb in DATA_COMMANDS or verb in ("PORT", "PASV", "EPRT", "EPSV")):
            return [Reply(425, "A transfer is in progress; wait or send ABOR.")]
        if verb in DATA_COMMANDS and self.data_mode is None:
            return [Reply(425, "Use PORT, EPRT, PASV or EPSV first.")]
        try:
            return getattr(self, spec.handler)(arg, now)
        except JailError:
            return [Reply(550, "No such file or directory (outside your root).")]
        except OSError as exc:
            return [Reply(550, f"{exc.strerror or 'Failed'}.")]
        except ValueError as exc:  # e.g. a name the file system cannot take
            return [Reply(501, f"Bad argument: {str(exc)[:60]}.")]

    # -- helpers --------------------------------------------------------------
    def _path(self, arg: str) -> str:
        """The virtual path a command argument names (raises JailError for NUL)."""
        return self.fs.resolve(self.cwd, arg)

    def _allowed(self, perm: str, vpath: str) -> bool:
        return self.account.has_perm(perm, vpath)

    def _denied(self) -> list:
        return [Reply(550, "Permission denied.")]

    # -------------------------------------------------- access (RFC 959 §4.1.1)
    def ftp_USER(self, arg: str, now: float) -> list:
        if self.config.guard.is_blocked(self.client_host, now):
            self.closed = True
            return [Reply(421, "Too many failed logins from your address; try again later."), Close("blocked")]
        if self.account is not None:  # RFC 959 §4.1.1: USER may change the user at any time
            self.account, self.fs, self.cwd = None, None, "/"
        self.pending_user = arg.strip()
        if self.config.users.is_anonymous(self.pending_user):
            return [Reply(331, "Anonymous login ok, send your e-mail address as password.")]
        # the same reply for unknown users: a guesser must not learn which names exist
        return [Reply(331, f"Password required for {self.pending_user}.")]

    def ftp_PASS(self, arg: str, now: float) -> list:
        if self.account is not None:
            return [Reply(503, "You are already logged in.")]
        if self.pending_user is None:
            return [Reply(503, "Login with USER first.")]
        ip = self.client_host
        if self.config.guard.is_blocked(ip, now):
            self.closed = True
            return [Reply(421, "Too many failed logins from your address; try again later."), Close("blocked")]
        account = self.config.users.authenticate(self.pending_user, arg)
        if account is not None:
            try:
                fs = self._home_fs(account)
            except OSError:
                return [Reply(530, "Home directory not available.")]
            self.account, self.fs, self.cwd = account, fs, "/"
            self.config.guard.login_succeeded(ip)
            what = "Anonymous access granted" if account.kind == "anonymous" else f"User {account.name} logged in"
            return [Reply(230, f"{what}, restrictions apply.")]
        self.attempts += 1
        self.pending_user = None
        self.config.guard.login_failed(ip, now)
        delay = [Wait(self.config.failed_login_delay)] if self.config.failed_login_delay > 0 else []
        if self.attempts >= self.config.max_login_attempts or self.config.guard.is_blocked(ip, now):
            self.closed = True
            return [*delay, Reply(530, "Login incorrect; too many attempts, closing connection."),
                    Close("login attempts")]
        return [*delay, Reply(530, "Login incorrect.")]

    def _home_fs(self, account: Account) -> JailedFS:
        """The jail of a logged-in user: its home, relative to the server root or absolute."""
        home = account.home
        if not home:
            return self.root_fs
        if home.startswith("/"):
            return JailedFS(home)
        return self.root_fs.subjail("/" + home)

    def ftp_QUIT(self, arg: str, now: float) -> list:
        effects: list = []
        if self.transfer:
            effects += self._abandon(now)
            effects += self._log_pending(0, now)  # no final reply: logged as "-"
        elif self.data_state != "none":
            effects.append(CloseData("quit"))
            self._reset_data()
        self.closed = True
        return [*effects, Reply(221, "Goodbye."), Close("quit")]

    # ---------------------------------------- informational commands
    def ftp_NOOP(self, arg: str, now: float) -> list:
        return [Reply(200, "NOOP ok.")]

    def ftp_SYST(self, arg: str, now: float) -> list:
        # RFC 959 §4.1.3; "L8" = bytes of 8 bits. Clients use this to pick a LIST parser.
        return [Reply(215, "UNIX Type: L8")]

    def ftp_FEAT(self, arg: str, now: float) -> list:
        # RFC 2389 §3.2: each feature line starts with a space
        return [Reply(211, ["Features:", *[" " + f for f in FEATURES], "End"])]

    def ftp_OPTS(self, arg: str, now: float) -> list:
        name, _, value = arg.strip().partition(" ")
        name = name.upper()
        if name == "UTF8" and value.strip().upper() in ("ON", ""):
            return [Reply(200, "Always in UTF8 mode.")]
        if name == "MLST":
            return [Reply(200, "MLST OPTS type;size;modify;perm;")]
        return [Reply(501, f"Option not understood: {arg[:40]}.")]

    def ftp_HELP(self, arg: str, now: float) -> list:
        if arg.strip():
            spec = COMMANDS.get(arg.strip().upper())
            if spec is None:
                return [Reply(501, f"Unknown command {arg.strip()[:20]!r}.")]
            return [Reply(214, f"Syntax: {spec.help}")]
        verbs = sorted(COMMANDS)
        rows = [" " + " ".join(f"{v:<5}" for v in verbs[i : i + 8]).rstrip() for i in range(0, len(verbs), 8)]
        return [Reply(214, ["The following commands are recognized:", *rows, "Help OK."])]

    def ftp_STAT(self, arg: str, now: float) -> list:
        if not arg.strip():
            who = f"Logged in as {self.account.name}" if self.account else "Not logged in"
            data = {"none": "No data connection", "open": "Data connection open"}.get(
                self.data_state, f"Data connection {self.data_state}")
            return [Reply(211, [
                "FTP server status:",
                f" Connected to {self.client_addr[0]}",
                f" {who}",
                f" TYPE: {'ASCII' if self.type == 'A' else 'BINARY'}; STRUcture: File; MODE: Stream",
                f" {data}",
                "End of status.",
            ])]
        if self.account is None:
            return [Reply(530, "Log in with USER and PASS first.")]
        vpath = self._path(self._strip_options(arg))
        if not self._allowed("l", vpath):
            return self._denied()
        lines = self._list_lines(vpath, now)
        return [Reply(213, [f"Status of {vpath}:", *[" " + l for l in lines], "End of status."])]

    # ---------------------------------- transfer parameters (RFC 959 §4.1.2)
    def ftp_TYPE(self, arg: str, now: float) -> list:
        words = arg.upper().split()
        if words in (["A"], ["A", "N"]):
            self.type = "A"
            return [Reply(200, "Type set to A (ASCII).")]
        if words in (["I"], ["L", "8"]):
            self.type = "I"
            return [Reply(200, "Type set to I (binary).")]
        if words and words[0] in ("A", "E", "L") or words[:1] == ["I"]:
            return [Reply(504, f"TYPE {arg.strip()} not implemented for that parameter.")]
        return [Reply(501, f"Unknown TYPE {arg.strip()[:10]}.")]

    def ftp_MODE(self, arg: str, now: float) -> list:
        mode = arg.strip().upper()
        if mode == "S":
            return [Reply(200, "Mode set to S (stream).")]
        if mode in ("B", "C"):
            return [Reply(504, f"MODE {mode} not implemented; only S (stream).")]
        return [Reply(501, f"Unknown MODE {mode[:10]}.")]

    def ftp_STRU(self, arg: str, now: float) -> list:
        stru = arg.strip().upper()
        if stru == "F":
            return [Reply(200, "Structure set to F (file).")]
        if stru in ("R", "P"):
            return [Reply(504, f"STRU {stru} not implemented; only F (file).")]
        return [Reply(501, f"Unknown STRU {stru[:10]}.")]

    # ------------------------------------------- data connection set-up
    def _refuse_target(self, ip: str, port: int, verb: str) -> list | None:
        """RFC 2577 §3: no bounce. vsftpd answers 500, RFC 2577 suggests 504
        for ports below 1024; pyftpdlib uses 501 for both."""
        reason = is_bounce(str(_ip(ip)), port, self.client_host)
        if reason == "foreign address" and not self.config.permit_foreign_addresses:
            return [Reply(500, f"Illegal {verb} command: {ip} is not your address (RFC 2577).")]
        if reason == "privileged port" and not self.config.permit_privileged_ports:
            return [Reply(504, f"Illegal {verb} command: port {port} is below 1024 (RFC 2577).")]
        return None

    def _set_active(self, ip: str, port: int) -> list:
        effects: list = []
        if self.data_state != "none":
            effects.append(CloseData("new PORT"))
        self._reset_data()
        self.data_mode, self.active_target = "active", (ip, port)
        return effects

    def ftp_PORT(self, arg: str, now: float) -> list:
        if self.epsv_all:
            return [Reply(503, "EPSV ALL in effect: only EPSV allowed (RFC 2428 §4).")]
        if self.client_ip.version != 4:
            return [Reply(522, "PORT is IPv4 only; use EPRT (1,2).")]
        try:
            ip, port = parse_host_port(arg)
        except DataChannelError as exc:
            return [Reply(501, f"Syntax error in PORT: {exc}.")]
        refused = self._refuse_target(ip, port, "PORT")
        if refused:
            return refused
        return [*self._set_active(ip, port), Reply(200, "PORT command successful.")]

    def ftp_EPRT(self, arg: str, now: float) -> list:
        if self.epsv_all:
            return [Reply(503, "EPSV ALL in effect: only EPSV allowed (RFC 2428 §4).")]
        try:
            proto, ip, port = parse_eprt(arg)
        except DataChannelError as exc:
            return [Reply(501, f"Syntax error in EPRT: {exc}.")]
        family = 1 if self.client_ip.version == 4 else 2
        if proto != family:
            return [Reply(522, f"Network protocol not supported, use ({family}).")]
        refused = self._refuse_target(ip, port, "EPRT")
        if refused:
            return refused
        return [*self._set_active(ip, port), Reply(200, "EPRT command successful.")]

    def _listen(self, reply_code: int) -> list:
        effects: list = []
        if self.data_state != "none":
            effects.append(CloseData("new PASV"))
        self._reset_data()
        lo, hi = self.config.passive_ports
        # A random port is harder to guess and hijack (RFC 2577 §8). Start at a random
        # place and walk the range from there (as vsftpd does): one random draw instead
        # of shuffling the whole range on every PASV.
        first = lo + self.config.rng.randrange(hi - lo + 1)
        ports = (*range(first, hi + 1), *range(lo, first))
        self.data_mode, self.data_state, self.passive_reply = "passive", "binding", reply_code
        return [*effects, DataListen(self.server_addr[0], tuple(ports))]

    def ftp_PASV(self, arg: str, now: float) -> list:
        if self.epsv_all:
            return [Reply(503, "EPSV ALL in effect: only EPSV allowed (RFC 2428 §4).")]
        if self.server_ip.version != 4:
            return [Reply(522, "PASV is IPv4 only; use EPSV.")]
        return self._listen(227)

    def ftp_EPSV(self, arg: str, now: float) -> list:
        arg = arg.strip().upper()
        family = 1 if self.server_ip.version == 4 else 2
        if arg == "ALL":
            self.epsv_all = True  # RFC 2428 §4: from now on only EPSV sets up data
            return [Reply(200, "EPSV ALL ok.")]
        if arg and arg != str(family):
            if arg in ("1", "2"):
                return [Reply(522, f"Network protocol not supported, use ({family}).")]
            return [Reply(501, "EPSV argument must be 1, 2 or ALL.")]
        return self._listen(229)

    # ---------------------------------------------- directories and files
    def ftp_PWD(self, arg: str, now: float) -> list:
        return [Reply(257, f"{_quote(self.cwd)} is the current directory.")]

    def ftp_CWD(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("e", vpath):
            return self._denied()
        if not self.fs.isdir(vpath):
            return [Reply(550, f"{arg}: no such directory.")]
        self.cwd = vpath
        return [Reply(250, f"Directory changed to {vpath}.")]

    def ftp_CDUP(self, arg: str, now: float) -> list:
        effects = self.ftp_CWD("..", now)
        if effects[0].code == 250:  # RFC 959 §5.4 lists 200 for CDUP
            return [Reply(200, f"Directory changed to {self.cwd}.")]
        return effects

    def ftp_MKD(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("m", vpath):
            return self._denied()
        self.fs.mkdir(vpath)
        return [Reply(257, f"{_quote(vpath)} directory created.")]

    def ftp_RMD(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("d", vpath):
            return self._denied()
        if vpath == "/":
            return [Reply(550, "Cannot remove the root directory.")]
        self.fs.rmdir(vpath)
        return [Reply(250, "Directory removed.")]

    def ftp_DELE(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("d", vpath):
            return self._denied()
        self.fs.remove(vpath)
        return [Reply(250, "File removed.")]

    def ftp_RNFR(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("f", vpath):
            return self._denied()
        if vpath == "/" or not os.path.lexists(self.fs.real_entry(vpath)):
            return [Reply(550, f"{arg}: no such file or directory.")]
        self.rnfr = vpath
        return [Reply(350, "Ready for destination name (RNTO).")]

    def ftp_RNTO(self, arg: str, now: float) -> list:
        source, self.rnfr = self.rnfr, None
        if source is None:
            return [Reply(503, "Bad sequence of commands: send RNFR first.")]
        vpath = self._path(arg)
        if not self._allowed("f", vpath):
            return self._denied()
        self.fs.rename(source, vpath)
        return [Reply(250, "Rename successful.")]

    def ftp_SIZE(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("l", vpath):
            return self._denied()
        if self.type == "A":
            # RFC 3659 §4: the size is that of the transfer, which in TYPE A we
            # would have to convert the whole file to know (pyftpdlib refuses too).
            return [Reply(550, "SIZE not allowed in ASCII mode; send TYPE I.")]
        if not self.fs.isfile(vpath):
            return [Reply(550, f"{arg}: not a plain file.")]
        return [Reply(213, str(self.fs.stat(vpath).st_size))]

    def ftp_MDTM(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("l", vpath):
            return self._denied()
        if not self.fs.isfile(vpath):
            return [Reply(550, f"{arg}: not a plain file.")]
        return [Reply(213, listing.mdtm(self.fs.stat(vpath)))]

    def ftp_REST(self, arg: str, now: float) -> list:
        # RFC 3659 §5: the offset counts bytes of the file as stored (stream
        # mode). In TYPE A a client should not resume; we simply seek the file.
        text = arg.strip()
        if not text.isdigit():
            return [Reply(501, f"Invalid REST parameter {text[:20]!r}.")]
        self.rest = int(text)
        return [Reply(350, f"Restarting at {self.rest}. Send STOR or RETR.")]

    # ---------------------------------------------------------- listings
    @staticmethod
    def _strip_options(arg: str) -> str:
        """``LIST -la /pub`` -> ``/pub``: clients send ``ls`` options we ignore."""
        words = arg.split(" ")
        while words and words[0].startswith("-"):
            words.pop(0)
        return " ".join(words).strip() or "."

    def _list_lines(self, vpath: str, now: float) -> list[str]:
        # Speed: try the directory first instead of asking isdir() and then
        # listdir(); each would check the path against the jail again.
        try:
            entries = self.fs.listdir(vpath)
        except NotADirectoryError:
            entries = None
        if entries is not None:
            return [listing.ls_line(name, st, now) for name, st in entries]
        st = self.fs.stat(vpath)
        return [listing.ls_line(vpath.rsplit("/", 1)[-1], st, now)]

    def _send_listing(self, verb: str, vpath: str, lines: list[str], now: float) -> list:
        text = "".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape")
        # a listing is text already in network form (CRLF): sent as is in any TYPE
        t = Transfer(verb, vpath, outgoing=True, binary=False, source=io.BytesIO(text), is_file=False)
        return self._begin(t, now)

    def ftp_LIST(self, arg: str, now: float) -> list:
        vpath = self._path(self._strip_options(arg))
        if not self._allowed("l", vpath):
            return self._denied()
        try:
            lines = self._list_lines(vpath, now)  # Speed: no exists() first, one jail check fewer
        except FileNotFoundError:
            return [Reply(550, f"{arg}: no such file or directory.")]
        return self._send_listing("LIST", vpath, lines, now)

    def ftp_NLST(self, arg: str, now: float) -> list:
        vpath = self._path(self._strip_options(arg))
        if not self._allowed("l", vpath):
            return self._denied()
        if self.fs.isdir(vpath):
            names = [name for name, _ in self.fs.listdir(vpath)]
        elif self.fs.exists(vpath):
            names = [vpath.rsplit("/", 1)[-1]]
        else:
            return [Reply(550, f"{arg}: no such file or directory.")]
        return self._send_listing("NLST", vpath, names, now)

    def ftp_MLSD(self, arg: str, now: float) -> list:
        vpath = self._path(arg or ".")
        if not self._allowed("l", vpath):
            return self._denied()
        if not self.fs.isdir(vpath):
            return [Reply(501, f"{arg}: not a directory (RFC 3659 §7.2.2).")]
        lines = [listing.mlsx_facts(name, st, self.account.perms) for name, st in self.fs.listdir(vpath)]
        return self._send_listing("MLSD", vpath, lines, now)

    def ftp_MLST(self, arg: str, now: float) -> list:
        vpath = self._path(arg or ".")
        if not self._allowed("l", vpath):
            return self._denied()
        if not self.fs.exists(vpath):
            return [Reply(550, f"{arg}: no such file or directory.")]
        facts = listing.mlsx_facts(vpath, self.fs.stat(vpath), self.account.perms)
        # RFC 3659 §7.2: the facts line of MLST starts with one space
        return [Reply(250, [f"Listing {vpath}", " " + facts, "End."])]

    # ------------------------------------------------------ file transfers
    def ftp_RETR(self, arg: str, now: float) -> list:
        vpath = self._path(arg)
        if not self._allowed("r", vpath):
            return self._denied()
        if not self.fs.isfile(vpath):
            return [Reply(550, f"{arg}: no such file.")]
        size = self.fs.stat(vpath).st_size
        offset, self.rest = self.rest, 0
        if offset > size:
            return [Reply(554, f"Invalid REST parameter: {offset} is beyond the end of the file ({size}).")]
        t = Transfer("RETR", vpath, outgoing=True, binary=self.type == "I", offset=offset,
                     source=self.fs.open_read(vpath, offset))
        if self.type == "A":
            t.to_net = ToNetwork()
        elif self.config.sendfile:
            t.use_sendfile, t.size = True, size - offset
        return self._begin(t, now)

    def _store(self, verb: str, arg: str, append: bool, now: float) -> list:
        vpath = self._path(arg)
        offset, self.rest = self.rest, 0
        if append and offset:
            return [Reply(550, "APPE after REST is not allowed; use STOR.")]
        exists = self.fs.exists(vpath)
        if exists and not self.account.may_overwrite:
            return [Reply(553, "Overwriting or appending to files is not allowed.")]
        if exists and self.fs.isdir(vpath):
            return [Reply(550, f"{arg}: is a directory.")]
        if offset and (not exists or offset > self.fs.stat(vpath).st_size):
            return [Reply(554, f"Invalid REST parameter {offset}.")]
        t = Transfer(verb, vpath, outgoing=False, binary=self.type == "I", offset=offset,
                     sink=self.fs.open_write(vpath, offset, append))
        if self.type == "A":
            t.from_net = FromNetwork()
        return self._begin(t, now)

    def ftp_STOR(self, arg: str, now: float) -> list:
        if not self._allowed("w", self._path(arg)):
            return self._denied()
        return self._store("STOR", arg, append=False, now=now)

    def ftp_APPE(self, arg: str, now: float) -> list:
        if not self._allowed("a", self._path(arg)):
            return self._denied()
        return self._store("APPE", arg, append=True, now=now)

    def ftp_ABOR(self, arg: str, now: float) -> list:
        if self.transfer:
            # RFC 959 §4.1.3: 426 for the aborted transfer, then 226 for ABOR itself
            effects = self._abandon(now)
            return [*effects, *self._final_reply(426, "Connection closed; transfer aborted.", now),
                    Reply(226, "ABOR command successful.")]
        if self.data_state != "none":
            self._reset_data()
            return [CloseData("ABOR"), Reply(225, "ABOR command successful; data connection closed.")]
        return [Reply(225, "No transfer to abort.")]

    # ------------------------------------------------- the transfer engine
    def _begin(self, t: Transfer, now: float) -> list:
        """The command is accepted; start now or when the data connection is up."""
        if self.data_mode is None:
            self._close_files(t)
            return [Reply(425, "Use PORT, EPRT, PASV or EPSV first.")]
        self.transfer, t.started = t, now
        what = f"{'BINARY' if t.binary else 'ASCII'} mode data connection for {t.vpath}"
        self.pending_log = self.command  # logged with the final reply (_final_reply)
        if self.data_state == "open":
            return [Reply(125, f"Data connection already open; transfer starting ({t.vpath})."), *self._run(now)]
        if self.data_mode == "active" and self.data_state == "none":
            ip, port = self.active_target
            self.data_state = "connecting"
            # RFC 959 §3.2: the server connects from its data port (L-1 = 20)
            return [Reply(150, f"Opening {what}."), DataConnect(ip, port, self.config.active_port)]
        return [Reply(150, f"Opening {what}.")]  # passive: wait for the client to connect

    def _run(self, now: float) -> list:
        t = self.transfer
        t.running = True
        if not t.outgoing:
            return []  # now data_received() does the work
        if t.use_sendfile:
            return [SendFile(t.source, t.offset, t.size)]
        return self._next_chunk(now)

    def _next_chunk(self, now: float) -> list:
        t = self.transfer
        try:
            chunk = t.source.read(self.config.chunk_size)
        except OSError as exc:
            return self._fail(now, 451, f"Local error reading the file: {exc.strerror or exc}.")
        if not chunk:
            return self._finish(now, complete=True)
        t.count += len(chunk)
        if t.to_net:
            chunk = t.to_net.convert(chunk)
        return [SendData(chunk)]

    def _finish(self, now: float, complete: bool) -> list:
        t = self.transfer
        effects: list = [CloseData("transfer complete")]
        self._close_files()
        self.transfer = None
        self._reset_data()
        if complete:
            effects += self._final_reply(226, f"Transfer complete ({t.count} bytes).", now)
        else:
            effects += self._final_reply(426, "Connection closed; transfer aborted.", now)
        effects += self._xferlog_effect(t, now, complete)
        return effects

    def _fail(self, now: float, code: int, text: str) -> list:
        effects = self._abandon(now)
        return [*effects, *self._final_reply(code, text, now)]

    def _abandon(self, now: float) -> list:
        """Stop the current transfer without a reply (ABOR, QUIT, errors)."""
        t = self.transfer
        self._close_files()
        self.transfer = None
        self._reset_data()
        effects: list = [CloseData("transfer aborted")]
        if t and t.running:
            effects += self._xferlog_effect(t, now, complete=False)
        return effects

    def _xferlog_effect(self, t: Transfer, now: float, complete: bool) -> list:
        if not t.is_file:
            return []
        a = self.account
        user = a.ident if a.kind == "anonymous" and a.ident else a.name
        return [Log("xferlog", xferlog_line(
            now=now, seconds=now - t.started, host=self.client_host, size=t.count,
            filename=t.vpath, binary=t.binary, direction="o" if t.outgoing else "i",
            access_mode=a.xferlog_mode, username=user, complete=complete))]

    def _close_files(self, t: Transfer | None = None) -> None:
        t = t or self.transfer
        if not t:
            return
        for f in (t.source, t.sink):
            if f is not None:
                try:
                    f.close()
                except OSError:
                    pass

    def _reset_data(self) -> None:
        """Each PORT/PASV serves one transfer (RFC 959 §3.2 stream mode closes it)."""
        self.data_mode = None
        self.data_state = "none"
        self.active_target = None
        self.passive_port = None
