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

    driver -> session                          session -> driver
    -----------------                          -----------------
    start(now=t)                               [Reply 220]
    receive(b"USER ann\\r\\n", now=t)            [Reply 331, Log]
    receive(b"PASV\\r\\n", now=t)                [DataListen(ip, ports)]
    data_listening(30007, now=t)               [Reply 227, Log]
    receive(b"RETR a.txt\\r\\n", now=t)          [Reply 150]
    data_connected(peer, now=t)                [SendData(chunk)]
    data_sent(now=t)                           [SendData(chunk)] ... until
    data_sent(now=t)                           [CloseData, Reply 226, Log, Log xferlog]

Every input takes the time as the keyword ``now``, last, and returns a
``list[ServerEffect]`` (the contract of every core in ``refimpl``). The
session has one timer: after a wrong password it returns a
:class:`~refimpl.ftp.events.Wait` effect and *holds* the lines that follow
(a guesser who pipelines ``PASS`` commands gets no answer to the next one
before the delay is over). :meth:`ServerSession.get_timer` says until when;
the driver calls :meth:`ServerSession.handle_timer` when the Wait is over,
and the held lines run then.

Rules of this file
------------------
* Every command goes through one table, :data:`refimpl.ftp.commands.COMMANDS`,
  and :meth:`ServerSession._dispatch` checks its columns before a handler runs:
  unknown verb -> 500, left out -> 502, argument rule -> 501, login -> 530,
  permission letter -> 550 (on the path the argument names, resolved there once,
  as pyftpdlib's ``pre_process_command`` does).
* Handlers are the ``ftp_VERB`` methods, found once in :data:`HANDLERS`; each
  returns its effects. One with a permission letter gets the path it was
  checked on: ``ftp_RETR(arg, path, now=...)``.
* Paths go through the user's :class:`~refimpl.jail.JailedFS`, which
  refuses anything outside the user's root; an ``OSError`` becomes 550.
* A transfer is one :class:`Transfer`; it starts when both the command has
  been given and the data connection is open, whichever comes last.
"""

from __future__ import annotations

import collections
import errno
import functools
import io
import ipaddress
import os
import random
import secrets
from dataclasses import dataclass, field
from typing import BinaryIO

from refimpl.jail import JailedFS, JailError

from . import listing
from .ascii import FromNetwork, ToNetwork
from .commands import COMMANDS, DATA_COMMANDS, DATA_SETUP, FEATURES, LISTINGS, NO_TLS
from .commands import NOT_IMPLEMENTED as RFC959_LEFT_OUT
from .datachannel import (
    DataChannelError,
    format_227,
    format_229,
    is_bounce,
    parse_eprt,
    parse_host_port,
)
from .describe import command_label, split_command, strip_telnet
from .events import Close, CloseData, DataConnect, DataListen, Log, Reply, SendData, SendFile, ServerEffect, Wait
from .guard import Guard
from .users import Account, UserDB
from .xferlog import command_line, xferlog_line

#: Verbs answered 502 (command not implemented): RFC 959's that we leave out, and the TLS commands of
#: FTPS (RFC 2228, RFC 4217), which this teaching server does not offer (our policy; lesson 11).
NOT_IMPLEMENTED = RFC959_LEFT_OUT + NO_TLS


@dataclass
class ServerConfig:
    """Settings shared by every session of one server."""

    users: UserDB = field(default_factory=lambda: UserDB(anonymous=True))
    guard: Guard = field(default_factory=Guard)
    passive_ports: tuple[int, int] = (30000, 30100)  # inclusive range to listen on
    passive_address: str | None = None  # address announced in 227 (behind NAT); default: ours
    active_port: int = 20  # RFC 959 §3.2: the server's data port L-1
    # PORT/EPRT to another host than the client: refused by our policy, as vsftpd and pyftpdlib do
    # (RFC 2577 §3 does not ask for it). Keep False.
    permit_foreign_addresses: bool = False
    # PORT/EPRT to a port below 1024: refused with 504, as RFC 2577 §3 suggests. Keep False.
    permit_privileged_ports: bool = False
    max_login_attempts: int = 3  # per connection, then it is closed
    failed_login_delay: float = 1.0  # seconds before answering a wrong password
    chunk_size: int = 64 * 1024  # bytes read from a file at a time
    sendfile: bool = False  # may the driver use sendfile(2) for TYPE I RETR?
    fsync_uploads: bool = True  # 226 only once an upload is on disk (fsync), see ServerSession._commit
    banner: str = "refimpl FTP server ready."
    max_line: int = 4096  # a longer command line is refused
    # RFC 2577 §8: passive ports an attacker cannot guess, from the OS's random source.
    # Only the simulation passes a seeded random.Random, so a lesson prints the same ports each run.
    rng: random.Random = field(default_factory=secrets.SystemRandom)


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
    stored_path: str | None = None  # uploads: the file's path after the jail followed any link


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


def _strip_options(arg: str) -> str:
    """``LIST -la /pub`` -> ``/pub``: clients send ``ls`` options we ignore."""
    words = arg.split(" ")
    while words and words[0].startswith("-"):
        words.pop(0)
    return " ".join(words).strip() or "."


class ServerSession:
    """The server side of one FTP control connection."""

    def __init__(self, config: ServerConfig, fs: JailedFS, client_addr: tuple, server_addr: tuple, *, now: float = 0.0):
        self.config = config
        self.root_fs = fs
        self.client_addr = (client_addr[0], client_addr[1])
        self.server_addr = (server_addr[0], server_addr[1])
        self.client_ip = _ip(client_addr[0])
        self.client_host = str(self.client_ip)  # for logs and the guard; made once (a crowd profile showed it)
        self.server_ip = _ip(server_addr[0])
        self.opened = now
        self.buffer = b""  # the start of a line whose end has not come yet
        self.lines: collections.deque[bytes | None] = collections.deque()  # complete lines, not executed yet
        self.discarding = False  # inside an overlong command line
        self.closed = False
        self.counted = False  # did the guard count this connection?
        self._allow = None  # the current command's permission test, for the jail (see _dispatch)
        self.refused_peers = 0
        # login
        self.pending_user: str | None = None
        self.account: Account | None = None
        self.fs: JailedFS | None = None
        self.cwd = "/"
        self.attempts = 0
        self.hold_until: float | None = None  # after a wrong password: lines wait until then
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
    def start(self, *, now: float) -> list[ServerEffect]:
        """The greeting (RFC 959 §5.4: 220), or 421 when the address is over its limits."""
        ip = self.client_host
        if self.config.guard.is_blocked(ip, now):
            self.closed = True
            return [Reply(421, "Too many failed logins from your address; try again later."), Close("blocked")]
        if self.config.guard.server_full():  # RFC 959 §4.2: 421, service not available, closing
            self.closed = True
            return [Reply(421, "Too many users connected; try again later."), Close("server full")]
        if not self.config.guard.connection_opened(ip):
            self.closed = True
            return [Reply(421, "Too many connections from your address."), Close("connection limit")]
        self.counted = True
        return [Reply(220, self.config.banner)]

    def receive(self, data: bytes, *, now: float, max_lines: int | None = None) -> list[ServerEffect]:
        """Bytes from the control connection, split anywhere; complete lines are executed in order.

        ``max_lines``: execute at most that many now and keep the rest (:attr:`lines_waiting`)
        for a later call, ``receive(b"", ...)``. The real driver executes one at a time and
        stops while the client does not read its replies: a client that pipelines thousands of
        ``STAT dir`` and reads nothing must not make the server hold thousands of replies.
        """
        self._split_lines(data)
        effects: list[ServerEffect] = []
        done = 0
        while self.lines and not self.closed and self.hold_until is None:  # held: the lines wait
            if max_lines is not None and done >= max_lines:
                break
            line = self.lines.popleft()
            done += 1
            if line is None:
                effects.append(Reply(500, "Command line too long."))
            else:
                effects += self.receive_line(line, now=now)
        return effects

    @property
    def lines_waiting(self) -> bool:
        """Are there complete lines not executed yet?"""
        return bool(self.lines)

    def _split_lines(self, data: bytes) -> None:
        """Cut the bytes into lines; an overlong line becomes ``None`` (answered with 500, in its turn)."""
        *complete, self.buffer = (self.buffer + data).split(b"\n")
        for line in complete:
            if self.discarding:
                self.discarding = False  # the tail of an overlong line
                continue
            self.lines.append(line + b"\n" if len(line) < self.config.max_line else None)
        if len(self.buffer) > self.config.max_line:
            # refuse once, then drop everything up to the end of this line
            self.buffer, self.discarding = b"", True
            self.lines.append(None)

    def get_timer(self) -> float | None:
        """When the held lines may run (after a wrong password), or ``None``."""
        return self.hold_until

    def handle_timer(self, *, now: float) -> list[ServerEffect]:
        """The Wait is over: run the lines that came meanwhile."""
        self.hold_until = None
        return self.receive(b"", now=now)

    def receive_line(self, line: bytes | str, *, now: float) -> list[ServerEffect]:
        """Execute one command line (with or without its CRLF)."""
        if self.closed:
            return []
        if isinstance(line, bytes):
            line = strip_telnet(line).decode("utf-8", "surrogateescape")
        verb, arg = split_command(line.rstrip("\r\n"))
        if not verb:
            return []  # RFC 959 has no empty command; ignore blank lines quietly
        self.command = command = command_label(verb, arg)  # as a trace labels it
        self._allow = None  # set by _named_path for a command that names a path
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
        return Log("command", command_line(now=now, host=self.client_host, user=user, command=command, code=code))

    def _final_reply(self, code: int, text: str, now: float) -> list[ServerEffect]:
        """A transfer's final reply, with the command log line its 1yz put off."""
        return [Reply(code, text), *self._log_pending(code, now)]

    def _log_pending(self, code: int, now: float) -> list[ServerEffect]:
        if self.pending_log is None:
            return []
        command, self.pending_log = self.pending_log, None
        return [self._command_log(command, code, now)]

    def data_listening(self, port: int, *, now: float) -> list[ServerEffect]:
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

    def data_listen_failed(self, reason: str = "", *, now: float) -> list[ServerEffect]:
        self._reset_data()
        reply = Reply(425, "Can't open passive data connection: no free port.")
        return [reply, self._command_log(self.listen_command, reply.code, now)]

    def data_connected(self, peer: tuple | None = None, *, now: float) -> list[ServerEffect]:
        """The data connection is up (we connected, or we accepted ``peer``)."""
        if self.data_state not in ("listening", "connecting"):
            return [CloseData("unexpected data connection")]
        if self.data_state == "listening" and peer is not None and not self.config.permit_foreign_addresses:
            # RFC 2577 §4 (check the data connection comes from the control connection's host)
            # and §8 (port stealing): a passive connection from another host is refused
            if _ip(peer[0]) != self.client_ip:
                effects: list[ServerEffect] = [CloseData("foreign address")]
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

    def data_peer_allowed(self, ip: str) -> bool:
        """May a passive data connection from ``ip`` serve this session? Only from the control
        connection's own address (RFC 2577 §8, port stealing), unless foreign addresses are permitted."""
        return self.config.permit_foreign_addresses or _ip(ip) == self.client_ip

    def data_peer_refused(self, peer: tuple, *, now: float) -> list[ServerEffect]:
        """The driver closed a passive connection from another address and listens on: log it
        (the first per PASV only, so that a host that keeps connecting cannot fill the log)."""
        self.refused_peers += 1
        if self.refused_peers > 1:
            return []
        label = f"(data connection from {peer[0]} port {peer[1]} refused: not {self.client_host})"
        return [self._command_log(label, 425, now)]

    def data_failed(self, reason: str = "", *, now: float) -> list[ServerEffect]:
        """Connecting (active) or accepting (passive) did not work, or nobody came in time."""
        effects: list[ServerEffect] = []
        if self.transfer:
            self._close_files()
            self.transfer = None
            effects += self._final_reply(425, "Can't open data connection.", now)
        self._reset_data()
        return effects

    def data_sent(self, count: int = 0, *, now: float) -> list[ServerEffect]:
        """The last SendData/SendFile has been handed to the network."""
        t = self.transfer
        if not t or not t.running or not t.outgoing:
            return []
        if t.use_sendfile:
            t.count = count
            return self._finish(now, complete=count >= t.size)
        return self._next_chunk(now)

    def data_received(self, data: bytes, *, now: float) -> list[ServerEffect]:
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
            return self._upload_failed(exc, now)
        t.count += len(data)
        return []

    def data_closed(self, *, now: float) -> list[ServerEffect]:
        """The client closed the data connection: for an upload, the end of the file
        (RFC 959 §3.4: in stream mode EOF ends the file). 226 only once it is on disk."""
        t = self.transfer
        if t and t.running and not t.outgoing:
            try:
                self._commit(t)
            except OSError as exc:
                return self._upload_failed(exc, now)
            return self._finish(now, complete=True)
        if t and t.running:
            return self._fail(now, 426, "Connection closed; transfer aborted.")
        self._reset_data()
        return []

    def data_timed_out(self, *, now: float) -> list[ServerEffect]:
        """No byte moved on the open data connection for the driver's data timeout
        (the client neither reads a download nor sends an upload): give up on it."""
        if self.transfer:
            return self._fail(now, 426, "Data connection timed out; transfer aborted.")
        self._reset_data()
        return [CloseData("data timeout")]

    def connection_lost(self, *, now: float) -> list[ServerEffect]:
        """The control connection is gone: clean up (the driver closes data)."""
        effects: list[ServerEffect] = []
        if self.transfer:
            effects += self._abandon(now)
            effects += self._log_pending(0, now)  # no final reply: logged as "-"
        if self.counted:
            self.config.guard.connection_closed(self.client_host)
            self.counted = False
        self.closed = True
        return effects

    # ------------------------------------------------------------- dispatch
    def _dispatch(self, verb: str, arg: str, now: float) -> list[ServerEffect]:
        """The checks of the command table's columns, in this order, then the handler."""
        spec = COMMANDS.get(verb)
        if spec is None:
            if verb in NOT_IMPLEMENTED:
                return [Reply(502, f"{verb} not implemented.")]
            return [Reply(500, f"Command {verb[:20]!r} not understood.")]
        if spec.arg == "none" and arg.strip():
            return [Reply(501, f"Syntax error: {verb} takes no argument.")]
        if spec.arg == "required" and not arg.strip():
            return [Reply(501, f"Syntax error: {verb} needs an argument.")]
        # A permission letter is checked on a path. STAT alone names none: it asks
        # for the server's status, which anyone may (RFC 959 §4.1.3).
        names_path = bool(spec.perm) and (verb != "STAT" or bool(arg.strip()))
        if (spec.auth or names_path) and self.account is None:
            return [Reply(530, "Log in with USER and PASS first.")]
        # RFC 959 §4.1.3: RNTO must come right after RNFR. (REST should too, but
        # clients send PASV or TYPE in between; like pyftpdlib we keep the offset
        # until the next transfer uses it.)
        if verb != "RNTO":
            self.rnfr = None
        try:
            path = None
            if names_path:
                path = self._named_path(verb, arg)  # resolved once: checked here, used by the handler
                if not self.account.has_perm(spec.perm, path):
                    return [Reply(550, "Permission denied.")]
            if self.transfer and (verb in DATA_COMMANDS or verb in DATA_SETUP):
                return [Reply(425, "A transfer is in progress; wait or send ABOR.")]
            if self.epsv_all and verb in ("PORT", "PASV", "EPRT"):
                return [Reply(503, "EPSV ALL in effect: only EPSV allowed (RFC 2428 §4).")]
            if verb in DATA_COMMANDS and self.data_mode is None:
                return [Reply(425, "Use PORT, EPRT, PASV or EPSV first.")]
            if path is None:
                return HANDLERS[verb](self, arg, now=now)
            return HANDLERS[verb](self, arg, path, now=now)
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

    def _named_path(self, verb: str, arg: str) -> str:
        """The path a command acts on: its argument (``ls`` options dropped for the
        listings), the current directory when there is none, the parent for CDUP."""
        # the jail checks the letter again on the path after it followed any link
        # (refimpl.jail: "Permissions on the path as resolved")
        self._allow = functools.partial(self.account.has_perm, COMMANDS[verb].perm)
        if verb == "CDUP":
            return self._path("..")
        if verb in LISTINGS:
            arg = _strip_options(arg)
        return self._path(arg or ".")

    # -------------------------------------------------- access (RFC 959 §4.1.1)
    def ftp_USER(self, arg: str, *, now: float) -> list[ServerEffect]:
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

    def ftp_PASS(self, arg: str, *, now: float) -> list[ServerEffect]:
        if self.account is not None:
            return [Reply(503, "You are already logged in.")]
        if self.pending_user is None:
            return [Reply(503, "Login with USER first.")]
        ip = self.client_host
        if self.config.guard.is_blocked(ip, now):
            self.closed = True
            return [Reply(421, "Too many failed logins from your address; try again later."), Close("blocked")]
        name, guard = self.pending_user, self.config.guard
        anonymous = self.config.users.is_anonymous(name)
        # RFC 2577 §5: an account that had too many wrong passwords (from any address) is
        # locked for a while; the reply is the one for a wrong password, so a guesser cannot
        # tell that the password was right.
        if not anonymous and guard.account_blocked(name, now):
            account = None
        else:
            account = self.config.users.authenticate(name, arg)
        if account is not None:
            try:
                fs = self._home_fs(account)
            except OSError:
                return [Reply(530, "Home directory not available.")]
            self.account, self.fs, self.cwd = account, fs, "/"
            if not anonymous:  # an anonymous login proves nothing and clears nothing (guard.py)
                guard.login_succeeded(name)
            what = "Anonymous access granted" if account.kind == "anonymous" else f"User {account.name} logged in"
            return [Reply(230, f"{what}, restrictions apply.")]
        self.attempts += 1
        self.pending_user = None
        guard.login_failed(ip, now, account=None if anonymous else name)
        delay: list[ServerEffect] = []
        if self.config.failed_login_delay > 0:
            self.hold_until = now + self.config.failed_login_delay  # the next line waits too
            delay = [Wait(self.config.failed_login_delay)]
        if self.attempts >= self.config.max_login_attempts or guard.is_blocked(ip, now):
            self.closed = True
            return [
                *delay,
                Reply(530, "Login incorrect; too many attempts, closing connection."),
                Close("login attempts"),
            ]
        return [*delay, Reply(530, "Login incorrect.")]

    def _home_fs(self, account: Account) -> JailedFS:
        """The jail of a logged-in user: its home, relative to the server root or absolute."""
        home = account.home
        if not home:
            return self.root_fs
        if home.startswith("/"):
            return JailedFS(home)
        return self.root_fs.subjail("/" + home)

    def ftp_QUIT(self, arg: str, *, now: float) -> list[ServerEffect]:
        effects: list[ServerEffect] = []
        if self.transfer:
            effects += self._abandon(now)
            effects += self._log_pending(0, now)  # no final reply: logged as "-"
        elif self.data_state != "none":
            effects.append(CloseData("quit"))
            self._reset_data()
        self.closed = True
        return [*effects, Reply(221, "Goodbye."), Close("quit")]

    # ---------------------------------------- informational commands
    def ftp_NOOP(self, arg: str, *, now: float) -> list[ServerEffect]:
        return [Reply(200, "NOOP ok.")]

    def ftp_SYST(self, arg: str, *, now: float) -> list[ServerEffect]:
        # RFC 959 §4.1.3; "L8" = bytes of 8 bits. Clients use this to pick a LIST parser.
        return [Reply(215, "UNIX Type: L8")]

    def ftp_FEAT(self, arg: str, *, now: float) -> list[ServerEffect]:
        # RFC 2389 §3.2: each feature line starts with a space
        return [Reply(211, ["Features:", *[" " + f for f in FEATURES], "End"])]

    def ftp_OPTS(self, arg: str, *, now: float) -> list[ServerEffect]:
        name, _, value = arg.strip().partition(" ")
        name = name.upper()
        if name == "UTF8" and value.strip().upper() in ("ON", ""):
            return [Reply(200, "Always in UTF8 mode.")]
        if name == "MLST":
            return [Reply(200, "MLST OPTS type;size;modify;perm;")]
        return [Reply(501, f"Option not understood: {arg[:40]}.")]

    def ftp_HELP(self, arg: str, *, now: float) -> list[ServerEffect]:
        if arg.strip():
            spec = COMMANDS.get(arg.strip().upper())
            if spec is None:
                return [Reply(501, f"Unknown command {arg.strip()[:20]!r}.")]
            return [Reply(214, f"Syntax: {spec.help}")]
        verbs = sorted(COMMANDS)
        rows = [" " + " ".join(f"{v:<5}" for v in verbs[i : i + 8]).rstrip() for i in range(0, len(verbs), 8)]
        return [Reply(214, ["The following commands are recognized:", *rows, "Help OK."])]

    def ftp_STAT(self, arg: str, path: str | None = None, *, now: float) -> list[ServerEffect]:
        if path is None:  # no argument: the server's status, not a listing
            who = f"Logged in as {self.account.name}" if self.account else "Not logged in"
            data = {"none": "No data connection", "open": "Data connection open"}.get(
                self.data_state, f"Data connection {self.data_state}"
            )
            return [
                Reply(
                    211,
                    [
                        "FTP server status:",
                        f" Connected to {self.client_addr[0]}",
                        f" {who}",
                        f" TYPE: {'ASCII' if self.type == 'A' else 'BINARY'}; STRUcture: File; MODE: Stream",
                        f" {data}",
                        "End of status.",
                    ],
                )
            ]
        lines = self._list_lines(path, now)
        return [Reply(213, [f"Status of {path}:", *[" " + line for line in lines], "End of status."])]

    # ---------------------------------- transfer parameters (RFC 959 §4.1.2)
    def ftp_TYPE(self, arg: str, *, now: float) -> list[ServerEffect]:
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

    @staticmethod
    def _only(verb: str, arg: str, what: str, value: str, meaning: str, others: tuple[str, ...]) -> list[ServerEffect]:
        """A parameter RFC 959 defines several values for, of which this server does one:
        that one -> 200, another one RFC 959 defines -> 504, anything else -> 501."""
        got = arg.strip().upper()
        if got == value:
            return [Reply(200, f"{what} set to {value} ({meaning}).")]
        if got in others:
            return [Reply(504, f"{verb} {got} not implemented; only {value} ({meaning}).")]
        return [Reply(501, f"Unknown {verb} {got[:10]}.")]

    def ftp_MODE(self, arg: str, *, now: float) -> list[ServerEffect]:
        # RFC 959 §3.4: stream, block or compressed; stream is the minimum (§5.1)
        return self._only("MODE", arg, "Mode", "S", "stream", ("B", "C"))

    def ftp_STRU(self, arg: str, *, now: float) -> list[ServerEffect]:
        # RFC 959 §3.1.2: file, record or page. §5.1 names file and record as the minimum;
        # like vsftpd and pyftpdlib, this server keeps to files
        return self._only("STRU", arg, "Structure", "F", "file", ("R", "P"))

    # ------------------------------------------- data connection set-up
    def _active(self, verb: str, ip: str, port: int) -> list[ServerEffect]:
        """PORT/EPRT named ``ip:port``: connect there for the next transfer, unless it is a bounce.

        Two refusals of two origins (see :func:`~refimpl.ftp.datachannel.is_bounce`):

        * another host's address gets 500. That is our policy, the common server practice
          (vsftpd's ``port_promiscuous=NO``, pyftpdlib's ``permit_foreign_addresses=False``);
          RFC 2577 §3 does not ask for it;
        * a port below 1024 gets 504, as RFC 2577 §3 suggests: "If a server receives a PORT
          command containing a TCP port number less than 1024, the suggested response is 504".

        pyftpdlib answers 501 to both."""
        reason = is_bounce(str(_ip(ip)), port, self.client_host)
        if reason == "foreign address" and not self.config.permit_foreign_addresses:
            return [Reply(500, f"Illegal {verb} command: {ip} is not your address (server policy: no bounce).")]
        if reason == "privileged port" and not self.config.permit_privileged_ports:
            return [Reply(504, f"Illegal {verb} command: port {port} is below 1024 (RFC 2577 §3).")]
        effects: list[ServerEffect] = [CloseData("new PORT")] if self.data_state != "none" else []
        self._reset_data()
        self.data_mode, self.active_target = "active", (ip, port)
        return [*effects, Reply(200, f"{verb} command successful.")]

    def ftp_PORT(self, arg: str, *, now: float) -> list[ServerEffect]:
        if self.client_ip.version != 4:
            return [Reply(522, "PORT is IPv4 only; use EPRT (1,2).")]
        try:
            ip, port = parse_host_port(arg)
        except DataChannelError as exc:
            return [Reply(501, f"Syntax error in PORT: {exc}.")]
        return self._active("PORT", ip, port)

    def ftp_EPRT(self, arg: str, *, now: float) -> list[ServerEffect]:
        try:
            proto, ip, port = parse_eprt(arg)
        except DataChannelError as exc:
            return [Reply(501, f"Syntax error in EPRT: {exc}.")]
        family = 1 if self.client_ip.version == 4 else 2
        if proto != family:
            return [Reply(522, f"Network protocol not supported, use ({family}).")]
        return self._active("EPRT", ip, port)

    def _listen(self, reply_code: int) -> list[ServerEffect]:
        effects: list[ServerEffect] = []
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

    def ftp_PASV(self, arg: str, *, now: float) -> list[ServerEffect]:
        if self.server_ip.version != 4:
            return [Reply(522, "PASV is IPv4 only; use EPSV.")]
        return self._listen(227)

    def ftp_EPSV(self, arg: str, *, now: float) -> list[ServerEffect]:
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
    def ftp_PWD(self, arg: str, *, now: float) -> list[ServerEffect]:
        return [Reply(257, f"{_quote(self.cwd)} is the current directory.")]

    def ftp_CWD(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if not self.fs.isdir(path, self._allow):
            return [Reply(550, f"{arg}: no such directory.")]
        self.cwd = path
        return [Reply(250, f"Directory changed to {path}.")]

    def ftp_CDUP(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        effects = self.ftp_CWD("..", path, now=now)
        if effects[0].code == 250:  # RFC 959 §5.4 lists 200 for CDUP
            return [Reply(200, f"Directory changed to {self.cwd}.")]
        return effects

    def ftp_MKD(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        self.fs.mkdir(path, self._allow)
        return [Reply(257, f"{_quote(path)} directory created.")]

    def ftp_RMD(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if path == "/":
            return [Reply(550, "Cannot remove the root directory.")]
        self.fs.rmdir(path, self._allow)
        return [Reply(250, "Directory removed.")]

    def ftp_DELE(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        self.fs.remove(path, self._allow)
        return [Reply(250, "File removed.")]

    def ftp_RNFR(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if path == "/" or not self.fs.lexists(path, self._allow):
            return [Reply(550, f"{arg}: no such file or directory.")]
        self.rnfr = path
        return [Reply(350, "Ready for destination name (RNTO).")]

    def ftp_RNTO(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        source, self.rnfr = self.rnfr, None
        if source is None:
            return [Reply(503, "Bad sequence of commands: send RNFR first.")]
        self.fs.rename(source, path, self._allow)
        return [Reply(250, "Rename successful.")]

    def ftp_SIZE(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if self.type == "A":
            # RFC 3659 §4: the size is that of the transfer, which in TYPE A we
            # would have to convert the whole file to know (pyftpdlib refuses too).
            return [Reply(550, "SIZE not allowed in ASCII mode; send TYPE I.")]
        if not self.fs.isfile(path, self._allow):
            return [Reply(550, f"{arg}: not a plain file.")]
        return [Reply(213, str(self.fs.stat(path, self._allow).st_size))]

    def ftp_MDTM(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if not self.fs.isfile(path, self._allow):
            return [Reply(550, f"{arg}: not a plain file.")]
        return [Reply(213, listing.mdtm(self.fs.stat(path, self._allow)))]

    def ftp_REST(self, arg: str, *, now: float) -> list[ServerEffect]:
        # RFC 3659 §5: the offset counts bytes of the file as stored (stream
        # mode). In TYPE A a client should not resume; we simply seek the file.
        text = arg.strip()
        if not text.isdigit():
            return [Reply(501, f"Invalid REST parameter {text[:20]!r}.")]
        self.rest = int(text)
        return [Reply(350, f"Restarting at {self.rest}. Send STOR or RETR.")]

    # ---------------------------------------------------------- listings
    def _list_lines(self, vpath: str, now: float) -> list[str]:
        # Speed: try the directory first instead of asking isdir() and then
        # listdir(); each would check the path against the jail again.
        try:
            entries = self.fs.listdir(vpath, self._allow)
        except NotADirectoryError:
            entries = None
        if entries is not None:
            return [listing.ls_line(name, st, now) for name, st in entries]
        st = self.fs.stat(vpath, self._allow)
        return [listing.ls_line(vpath.rsplit("/", 1)[-1], st, now)]

    def _send_listing(self, verb: str, vpath: str, lines: list[str], now: float) -> list[ServerEffect]:
        text = "".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape")
        # a listing is text already in network form (CRLF): sent as is in any TYPE
        t = Transfer(verb, vpath, outgoing=True, binary=False, source=io.BytesIO(text), is_file=False)
        return self._begin(t, now)

    def ftp_LIST(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        try:
            lines = self._list_lines(path, now)  # Speed: no exists() first, one jail check fewer
        except FileNotFoundError:
            return [Reply(550, f"{arg}: no such file or directory.")]
        return self._send_listing("LIST", path, lines, now)

    def ftp_NLST(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if self.fs.isdir(path, self._allow):
            names = [name for name, _ in self.fs.listdir(path, self._allow)]
        elif self.fs.exists(path, self._allow):
            names = [path.rsplit("/", 1)[-1]]
        else:
            return [Reply(550, f"{arg}: no such file or directory.")]
        return self._send_listing("NLST", path, names, now)

    def ftp_MLSD(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if not self.fs.isdir(path, self._allow):
            return [Reply(501, f"{arg}: not a directory (RFC 3659 §7.2.2).")]
        entries = self.fs.listdir(path, self._allow)
        lines = [listing.mlsx_facts(name, st, self.account.perms) for name, st in entries]
        return self._send_listing("MLSD", path, lines, now)

    def ftp_MLST(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        if not self.fs.exists(path, self._allow):
            return [Reply(550, f"{arg}: no such file or directory.")]
        facts = listing.mlsx_facts(path, self.fs.stat(path, self._allow), self.account.perms)
        # RFC 3659 §7.2: the facts line of MLST starts with one space
        return [Reply(250, [f"Listing {path}", " " + facts, "End."])]

    # ------------------------------------------------------ file transfers
    def ftp_RETR(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        offset, self.rest = self.rest, 0
        try:  # one open: the file we check is the file we send (refimpl.jail)
            source = self.fs.open_read(path, 0, self._allow)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return [Reply(550, f"{arg}: no such file.")]
        size = os.fstat(source.fileno()).st_size
        if offset > size:
            source.close()
            return [Reply(554, f"Invalid REST parameter: {offset} is beyond the end of the file ({size}).")]
        source.seek(offset)
        t = Transfer("RETR", path, outgoing=True, binary=self.type == "I", offset=offset, source=source)
        if self.type == "A":
            t.to_net = ToNetwork()
        elif self.config.sendfile:
            t.use_sendfile, t.size = True, size - offset
        return self._begin(t, now)

    def _store(self, verb: str, arg: str, path: str, append: bool, now: float) -> list[ServerEffect]:
        offset, self.rest = self.rest, 0
        if append and offset:
            return [Reply(550, "APPE after REST is not allowed; use STOR.")]
        allow = self._allow
        exists = self.fs.exists(path, allow)
        if exists and not self.account.may_overwrite:
            return [Reply(553, "Overwriting or appending to files is not allowed.")]
        if exists and self.fs.isdir(path, allow):
            return [Reply(550, f"{arg}: is a directory.")]
        if offset and (not exists or offset > self.fs.stat(path, allow).st_size):
            return [Reply(554, f"Invalid REST parameter {offset}.")]
        sink, stored = self.fs.open_write_at(path, offset, append, allow)
        t = Transfer(verb, path, outgoing=False, binary=self.type == "I", offset=offset, sink=sink, stored_path=stored)
        if self.type == "A":
            t.from_net = FromNetwork()
        return self._begin(t, now)

    def ftp_STOR(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        return self._store("STOR", arg, path, append=False, now=now)

    def ftp_APPE(self, arg: str, path: str, *, now: float) -> list[ServerEffect]:
        return self._store("APPE", arg, path, append=True, now=now)

    def ftp_ABOR(self, arg: str, *, now: float) -> list[ServerEffect]:
        if self.transfer:
            # RFC 959 §4.1.3: 426 for the aborted transfer, then 226 for ABOR itself
            effects = self._abandon(now)
            return [
                *effects,
                *self._final_reply(426, "Connection closed; transfer aborted.", now),
                Reply(226, "ABOR command successful."),
            ]
        if self.data_state != "none":
            self._reset_data()
            return [CloseData("ABOR"), Reply(225, "ABOR command successful; data connection closed.")]
        return [Reply(225, "No transfer to abort.")]

    # ------------------------------------------------- the transfer engine
    def _begin(self, t: Transfer, now: float) -> list[ServerEffect]:
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

    def _run(self, now: float) -> list[ServerEffect]:
        t = self.transfer
        t.running = True
        if not t.outgoing:
            return []  # now data_received() does the work
        if t.use_sendfile:
            return [SendFile(t.source, t.offset, t.size)]
        return self._next_chunk(now)

    def _next_chunk(self, now: float) -> list[ServerEffect]:
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

    def _finish(self, now: float, complete: bool) -> list[ServerEffect]:
        t = self.transfer
        effects: list[ServerEffect] = [CloseData("transfer complete")]
        self._close_files()
        self.transfer = None
        self._reset_data()
        if complete:
            effects += self._final_reply(226, f"Transfer complete ({t.count} bytes).", now)
        else:
            effects += self._final_reply(426, "Connection closed; transfer aborted.", now)
        effects += self._xferlog_effect(t, now, complete)
        return effects

    def _commit(self, t: Transfer) -> None:
        """Put an upload on disk, or raise the ``OSError`` that says why not.

        A buffered file keeps up to 8 KiB that ``write`` accepted but the disk never
        saw: a full disk shows only at ``flush``/``close``, and a filesystem may report
        delayed block allocation only at ``fsync`` (so may NFS). Each is checked."""
        if t.from_net:
            t.sink.write(t.from_net.flush())
        t.sink.flush()
        if self.config.fsync_uploads:
            os.fsync(t.sink.fileno())
        t.sink.close()

    def _upload_failed(self, exc: OSError, now: float) -> list[ServerEffect]:
        """An upload that could not be written: 452 (full disk or quota) or 451, never 226.

        Policy (ours, not RFC 959's): a plain STOR leaves **no** file behind - a file
        cut at a page boundary that looks whole is worse than none, and the client
        sends it again. APPE and STOR after REST keep the file as it is: its start is
        data stored by earlier transfers, and the client may resume from ``SIZE``."""
        t = self.transfer
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        self._close_files()
        if t.verb == "STOR" and not t.offset:
            try:
                self.fs.remove(t.stored_path or t.vpath)
            except OSError:
                pass  # gone already, or never made: nothing left to remove
        if full:
            # RFC 959 §4.2.2, as worded: "452 Requested action not taken. Insufficient storage space in system."
            return self._fail(now, 452, "Requested action not taken. Insufficient storage space in system.")
        return self._fail(now, 451, f"Requested action aborted: local error in processing ({exc.strerror or exc}).")

    def _fail(self, now: float, code: int, text: str) -> list[ServerEffect]:
        effects = self._abandon(now)
        return [*effects, *self._final_reply(code, text, now)]

    def _abandon(self, now: float) -> list[ServerEffect]:
        """Stop the current transfer without a reply (ABOR, QUIT, errors)."""
        t = self.transfer
        self._close_files()
        self.transfer = None
        self._reset_data()
        effects: list[ServerEffect] = [CloseData("transfer aborted")]
        if t and t.running:
            effects += self._xferlog_effect(t, now, complete=False)
        return effects

    def _xferlog_effect(self, t: Transfer, now: float, complete: bool) -> list[ServerEffect]:
        if not t.is_file:
            return []
        a = self.account
        user = a.ident if a.kind == "anonymous" and a.ident else a.name
        return [
            Log(
                "xferlog",
                xferlog_line(
                    now=now,
                    seconds=now - t.started,
                    host=self.client_host,
                    size=t.count,
                    filename=t.vpath,
                    binary=t.binary,
                    direction="o" if t.outgoing else "i",
                    access_mode=a.xferlog_mode,
                    username=user,
                    complete=complete,
                ),
            )
        ]

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
        self.refused_peers = 0  # passive connections from other addresses, closed (data_peer_refused)


#: verb -> the method that carries it out: the command table's ``handler`` column, looked up once.
HANDLERS = {verb: getattr(ServerSession, spec.handler) for verb, spec in COMMANDS.items()}
