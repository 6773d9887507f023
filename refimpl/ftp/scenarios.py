"""Ready-made FTP stories on the simulated network, one line each in a notebook.

Every function builds a small network (:mod:`refimpl.sim.network`), puts the
real FTP cores on it (:mod:`refimpl.ftp.sim_glue`), runs the virtual clock
and returns a :class:`FtpRun` - the trace plus everything that made it::

    from refimpl.ftp import scenarios
    run = scenarios.login_list("active")
    print(run.trace.table())
    print(run.summary())

Addresses come from the documentation ranges (RFC 5737). On one LAN the
client is 192.0.2.10 and the server 192.0.2.1. Behind a NAT or a firewall the
client's LAN is 192.0.2.0/24 and the "internet" 198.51.100.0/24; a server
behind its own firewall lives on 203.0.113.0/24. Runs are deterministic.

=======================  ============================================================
scenario                 what it shows
=======================  ============================================================
``login_list``           control connection, login, LIST over a data connection, QUIT;
                         ``mode`` = active (PORT), passive (PASV), eprt, epsv
``transfer``             a real user: RETR a file, STOR one (RFC 959 §4.1.3)
``through_nat``          client behind a NAT (RFC 3022): active fails, passive works;
                         ``helper=True``: an FTP helper in the NAT rewrites PORT
``client_firewall``      client behind a stateful firewall: the same story, no NAT
``server_firewall``      server behind a firewall that lets in only port 21:
                         passive fails, active works; ``open_passive=True`` fixes it
``login_as``             anonymous, real and guest users (the three kinds vsftpd has)
``conversation``         type command lines at the server, as with telnet
``jail_escape``          ``..`` and a symbolic link cannot leave the user's root
``bounce``               PORT to a third host (RFC 2577 §2), refused by our policy
                         (``permit=True`` shows the attack it prevents)
``resume``               a download cut after some bytes, finished later with SIZE,
                         MDTM and REST (RFC 3659 §3-§5)
``fxp``                  server to server (FXP): PASV to one server, PORT with its address
                         to the other; refused by our policy unless ``permit=True``
``diagnose_port_through_nat``  a diagnosis run (issue 12): active mode through a NAT without
                         an FTP helper; the listing never arrives (:mod:`refimpl.diagnosis`)
=======================  ============================================================
"""

from __future__ import annotations

import calendar
import functools
import os
import tempfile
from dataclasses import dataclass, field

from refimpl.diagnosis import Diagnosis, with_mend
from refimpl.jail import JailedFS
from refimpl.sim.network import Network
from refimpl.trace import Trace

from .client import ReplyParser
from .datachannel import format_host_port, parse_227
from .describe import CONTROL_FLOW, DATA_FLOW
from .events import Done
from .session import ServerConfig
from .sim_glue import FtpClientHost, FtpServerHost, ScriptedClient, add_ftp_helper, control_only, register
from .users import UserDB, user_line

EPOCH = calendar.timegm((2026, 11, 23, 9, 0, 0))
"""The wall-clock time of the simulation's t=0 (what the logs print)."""

FILE_TIME = EPOCH - 86400  # every file of the demo site was last changed a day earlier

HELLO = b"hello, world\r\n"
NOTES = b"alice's notes\nline 2\n"
SECRET = b"root:x:0:0:outside the jail\n"

PASSWORDS = {"alice": "wonderland", "visitor": "letmein"}
"""Demo passwords of the demo users (FTP sends them in clear text anyway)."""

MODES = ("active", "passive", "eprt", "epsv")


@dataclass
class FtpRun:
    """What a scenario leaves behind: the network, its trace, the server and clients."""

    name: str
    net: Network
    server: FtpServerHost | None = None
    clients: dict[str, object] = field(default_factory=dict)
    story: str = ""
    site: object = None  # the TemporaryDirectory with the server's files, while the scenario runs
    files: dict[str, bytes] = field(default_factory=dict)  # the server's files after the run, by path below its root

    @property
    def trace(self) -> Trace:
        return self.net.trace

    @property
    def client(self):
        """The first client (most scenarios have one)."""
        return next(iter(self.clients.values()))

    def control(self) -> Trace:
        """Commands and replies only."""
        return control_only(self.trace)

    def data(self) -> Trace:
        """The data connection(s): handshakes, data, teardown."""
        return self.trace.where(flow=DATA_FLOW)

    def summary(self) -> str:
        """One line per client operation: ``LIST ok 226 (..bytes)``."""
        lines = []
        for name, client in self.clients.items():
            if hasattr(client, "summary"):
                lines += [f"{name}: {line}" for line in client.summary()]
            else:
                lines += [f"{name}: {reply.code} {reply.lines[0]}" for reply in client.replies]
        return "\n".join(lines)

    def command_log(self) -> str:
        return "\n".join(self.server.command_log()) if self.server else ""

    def xferlog(self) -> str:
        return "\n".join(self.server.xferlog()) if self.server else ""

    def __repr__(self) -> str:
        return f"<FtpRun {self.name}: {len(self.trace)} events, clients {list(self.clients)}>"


# ---------------------------------------------------------------------------
# Building blocks
# ---------------------------------------------------------------------------
def make_site() -> tempfile.TemporaryDirectory:
    """A small server tree in a temporary directory, with fixed times and modes.

    ::

        <tmp>/secret.txt          outside the server root: nobody may read it
        <tmp>/root/anon/pub/hello.txt      anonymous users land in anon/
        <tmp>/root/anon/incoming/          ... and may upload only here
        <tmp>/root/home/alice/notes.txt    a real user's home
        <tmp>/root/home/alice/escape  ->  ../../../secret.txt   (a symbolic link out)
        <tmp>/root/home/shared/welcome.txt the guests' shared account
    """
    site = tempfile.TemporaryDirectory(prefix="ftp-sim-")
    base = site.name
    files = {
        "secret.txt": SECRET,
        "root/anon/pub/hello.txt": HELLO,
        "root/home/alice/notes.txt": NOTES,
        "root/home/shared/welcome.txt": b"welcome, guest\n",
    }
    for directory in ("root/anon/pub", "root/anon/incoming", "root/home/alice", "root/home/shared"):
        os.makedirs(os.path.join(base, directory), exist_ok=True)
    for name, data in files.items():
        with open(os.path.join(base, name), "wb") as f:
            f.write(data)
    os.symlink("../../../secret.txt", os.path.join(base, "root/home/alice/escape"))
    for here, _dirs, names in os.walk(base):
        for name in names:
            path = os.path.join(here, name)
            if not os.path.islink(path):
                os.chmod(path, 0o644)
                os.utime(path, (FILE_TIME, FILE_TIME))
        os.chmod(here, 0o755)
        os.utime(here, (FILE_TIME, FILE_TIME))
    return site


@functools.lru_cache(maxsize=1)
def users_file() -> str:
    """The demo users file: alice (real), ftpguest (the guests' shared account), visitor (guest).

    scrypt is slow on purpose (that is what makes guessing expensive), so
    the file is hashed once per process.
    """
    salt = b"fixed-demo-salt!"  # a fixed salt only so the demo is repeatable; real files use os.urandom
    return "\n".join(
        [
            user_line("alice", PASSWORDS["alice"], home="home/alice", perms="elradfmw", salt=salt),
            user_line("ftpguest", "not-for-login-" + "x" * 8, home="home/shared", perms="elr", salt=salt),
            user_line("visitor", PASSWORDS["visitor"], perms="elr", kind="guest", maps_to="ftpguest", salt=salt),
        ]
    )


def users() -> UserDB:
    """alice (real), visitor (guest, mapped onto the shared account ``ftpguest``), anonymous
    (landing in ``anon/``, may upload into ``/incoming`` only)."""
    return UserDB.parse(users_file(), anonymous=True, anonymous_home="anon", anonymous_upload_dir="/incoming")


def _server(run: FtpRun, host, **config) -> FtpServerHost:
    run.site = make_site()
    fs = JailedFS(os.path.join(run.site.name, "root"))
    config.setdefault("failed_login_delay", 0.5)
    run.server = FtpServerHost(host, ServerConfig(users=users(), **config), fs, epoch=EPOCH)
    return run.server


def _client(run: FtpRun, host, server_ip: str, mode: str, name: str = "client", **options) -> FtpClientHost:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    client = FtpClientHost(host, server_ip, mode=mode, **options)
    run.clients[name] = client
    return client.connect()


def _lan(seed: int):
    net = Network(seed=seed)
    lan = net.segment("lan", "192.0.2.0/24")
    return net, lan


def _snapshot(root: str) -> dict[str, bytes]:
    """Every regular file below ``root``: ``{"home/alice/notes.txt": b"..."}`` (links left out)."""
    files = {}
    for here, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(here, name)
            if not os.path.islink(path):
                with open(path, "rb") as f:
                    files[os.path.relpath(path, root).replace(os.sep, "/")] = f.read()
    return files


def _list_pub(run: FtpRun, client: FtpClientHost, until: float = 90) -> FtpRun:
    """The story every scenario with a box in the way tells: anonymous login, LIST /pub, QUIT."""
    client.login()
    client.list("pub")
    client.quit()
    return _finish(run, until)


def _finish(run: FtpRun, until: float) -> FtpRun:
    """Run the clock, keep the server's files in ``run.files``, and remove the temporary tree
    now (a notebook kernel that is killed never runs the cleanup of a TemporaryDirectory)."""
    try:
        run.net.run(until=until, max_events=20_000)
        if run.site is not None:
            run.files = _snapshot(os.path.join(run.site.name, "root"))
    finally:
        if run.site is not None:
            run.site.cleanup()
            run.site = None
    return run


# ---------------------------------------------------------------------------
# The scenarios
# ---------------------------------------------------------------------------
def login_list(mode: str = "passive", user: str = "anonymous", seed: int = 1) -> FtpRun:
    """Connect, log in, LIST ``/pub``, QUIT, on one LAN (RFC 959 §5.4 sequences)."""
    net, lan = _lan(seed)
    run = FtpRun(f"login_list[{mode}]", net, story=f"login and LIST in {mode} mode")
    server = net.host("server", lan, ip="192.0.2.1/24")
    _server(run, server)
    client = _client(run, net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", mode)
    client.login(user, PASSWORDS.get(user, "guest@example.org"))
    client.list("pub" if user == "anonymous" else "")
    client.quit()
    return _finish(run, 60)


def transfer(mode: str = "passive", binary: bool = True, seed: int = 1) -> FtpRun:
    """alice logs in, downloads ``notes.txt`` (RETR) and uploads ``report.txt`` (STOR).

    ``binary=False`` uses TYPE A: on the wire every line ends in CRLF (RFC 959
    §3.1.1.1), whatever the file on the disk has; TYPE I moves the bytes as they are.
    """
    net, lan = _lan(seed)
    run = FtpRun(f"transfer[{mode}]", net, story=f"RETR and STOR in {mode} mode")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"))
    client = _client(run, net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", mode)
    client.login("alice", PASSWORDS["alice"])
    client.retr("notes.txt", binary=binary)
    client.stor("report.txt", b"all good\r\n", binary=binary)
    client.quit()
    return _finish(run, 60)


def through_nat(mode: str = "active", announce: str = "public", helper: bool = False, seed: int = 1) -> FtpRun:
    """The client sits behind a NAT (RFC 3022); the server is on the internet.

    Active mode: the server must open a connection *to* the client. With
    ``announce="public"`` the client announces the NAT's outside address (the
    story tutorials tell: "the server connects from port 20 to the NAT's port,
    but nobody listens there"); the server's SYN from port 20 reaches the NAT,
    which has no mapping for that port and drops it. With ``announce="private"`` the
    PORT carries 192.0.2.10, which is not the address the server sees, so the
    server refuses it (our policy against the bounce attack of RFC 2577 §2, as vsftpd's;
    RFC 2577 §3 itself only suggests refusing ports below 1024). Passive mode: every connection goes out
    from the client, the NAT maps them all, the transfer works.

    ``helper=True`` gives the NAT an FTP helper (Linux ``nf_nat_ftp``, once
    called ``ip_nat_ftp``): the client announces its private address and the
    NAT rewrites the PORT command and lets the server's connection in.
    """
    net = Network(seed=seed)
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("internet", "198.51.100.0/24")
    run = FtpRun(f"through_nat[{mode}]", net, story=f"client behind a NAT, {mode} mode")
    nat = net.nat("nat", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))
    if helper:
        add_ftp_helper(nat)
        announce = "private"
    _server(run, net.host("server", wan, ip="198.51.100.21/24"))
    host = net.host("client", lan, ip="192.0.2.10/24", gateway="192.0.2.1")
    public = "198.51.100.1" if announce == "public" and mode in ("active", "eprt") else None
    return _list_pub(run, _client(run, host, "198.51.100.21", mode, announce_ip=public))


def client_firewall(mode: str = "active", seed: int = 1) -> FtpRun:
    """The client sits behind a stateful firewall that lets no new connection in.

    No address is rewritten, so PORT is honest - and still the server's SYN
    from port 20 is a *new inbound* connection: dropped. Passive works.
    (A common tutorial claim, and a true one: "many clients inside a LAN cannot use PORT".)
    """
    net = Network(seed=seed)
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("internet", "198.51.100.0/24")
    run = FtpRun(f"client_firewall[{mode}]", net, story=f"client behind a firewall, {mode} mode")
    net.firewall("firewall", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))
    _server(run, net.host("server", wan, ip="198.51.100.21/24", gateway="198.51.100.1"))
    host = net.host("client", lan, ip="192.0.2.10/24", gateway="192.0.2.1")
    return _list_pub(run, _client(run, host, "198.51.100.21", mode))


def server_firewall(mode: str = "passive", open_passive: bool = False, seed: int = 1) -> FtpRun:
    """The server sits behind a firewall that lets in only TCP port 21.

    Passive mode: the client's SYN to the server's high port is dropped
    (a common tutorial claim, and a true one: "many servers behind a firewall cannot offer PASV"). Active
    mode: the server connects *out*, which the firewall allows. With
    ``open_passive=True`` the firewall also admits the server's passive port
    range (30000-30009), the usual fix (vsftpd ``pasv_min_port``/``pasv_max_port``).
    """
    net = Network(seed=seed)
    wan, dmz = net.segment("internet", "198.51.100.0/24"), net.segment("dmz", "203.0.113.0/24")
    run = FtpRun(f"server_firewall[{mode}]", net, story=f"server behind a firewall, {mode} mode")
    ports = (30000, 30009)
    allow = [("tcp", 21)] + ([("tcp", p) for p in range(ports[0], ports[1] + 1)] if open_passive else [])
    net.firewall("firewall", (dmz, "203.0.113.1/24"), (wan, "198.51.100.1/24"), allow=allow)
    _server(run, net.host("server", dmz, ip="203.0.113.21/24", gateway="203.0.113.1"), passive_ports=ports)
    host = net.host("client", wan, ip="198.51.100.10/24", gateway="198.51.100.1")
    return _list_pub(run, _client(run, host, "203.0.113.21", mode))


def login_as(kind: str = "anonymous", mode: str = "passive", seed: int = 1) -> FtpRun:
    """One user of each kind a vsftpd-style server has (real, guest, anonymous; RFC 959 knows only USER/PASS).

    Each logs in, asks where it is (PWD), lists, and tries to upload ``x.txt``
    into its root: the real user may; the guest's shared account and the
    anonymous user are read-only (anonymous may upload into /incoming only).
    """
    who = {
        "anonymous": ("anonymous", "guest@example.org"),
        "real": ("alice", PASSWORDS["alice"]),
        "guest": ("visitor", PASSWORDS["visitor"]),
    }
    if kind not in who:
        raise ValueError(f"kind must be one of {sorted(who)}")
    net, lan = _lan(seed)
    run = FtpRun(f"login_as[{kind}]", net, story=f"a {kind} user logs in")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"))
    client = _client(run, net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", mode)
    client.login(*who[kind])
    client.command("PWD")
    client.list()
    client.stor("x.txt", b"upload\r\n")
    if kind == "anonymous":
        client.stor("/incoming/x.txt", b"upload\r\n")
    client.quit()
    return _finish(run, 60)


def jail_escape(seed: int = 1) -> FtpRun:
    """alice tries to leave her home: ``CWD ../..``, ``RETR ../../../secret.txt``,
    and a symbolic link that points outside. All stay inside (the chroot jail: server policy, not RFC 959)."""
    net, lan = _lan(seed)
    run = FtpRun("jail_escape", net, story="a real user tries to leave her jail")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"))
    client = _client(run, net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", "passive")
    client.login("alice", PASSWORDS["alice"])
    client.command("CWD ../../..")
    client.command("PWD")
    client.retr("../../../secret.txt")
    client.retr("escape")
    client.quit()
    return _finish(run, 60)


def bounce(permit: bool = False, seed: int = 1) -> FtpRun:
    """The FTP bounce attack (RFC 2577 §2).

    The attacker (192.0.2.66) tells the server to send a file to a *third*
    host, the victim 192.0.2.99 port 2525, with ``PORT 192,0,2,99,9,221``.
    A careful server refuses (``permit=False``): the address must be the
    client's. That is our policy, the common practice of servers (vsftpd's
    ``port_promiscuous=NO``); RFC 2577 §3 suggests refusing only ports below
    1024, and port 2525 is above it. ``permit=True`` turns the check off to show why it is
    there: the server connects from port 20 to the victim and pours the file
    into it - the victim sees a connection from the *server*, not the attacker.
    """
    net, lan = _lan(seed)
    run = FtpRun(f"bounce[{'permitted' if permit else 'refused'}]", net, story="PORT to a third host")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"), permit_foreign_addresses=permit)
    victim = net.host("victim", lan, ip="192.0.2.99/24")
    got = bytearray()
    victim.tcp.listen(2525, lambda conn: setattr(conn, "on_data", lambda c, data: got.extend(data)), flow=DATA_FLOW)
    attacker = net.host("attacker", lan, ip="192.0.2.66/24")
    lines = ["USER anonymous", "PASS mallory@example.org", "PORT 192,0,2,99,9,221", "RETR /pub/hello.txt", "QUIT"]
    run.clients["attacker"] = ScriptedClient(attacker, "192.0.2.1", lines)
    run.victim_received = got
    return _finish(run, 60)


def conversation(lines: list[str], seed: int = 1) -> FtpRun:
    """Type ``lines`` at the server one by one, like ``telnet server 21`` (each after the final reply).

    For watching the control connection alone: ``conversation(["USER anonymous",
    "PASS me@example.org", "FEAT", "SYST", "QUIT"])``. Commands that need a data
    connection get 425 here: nobody opens one.
    """
    net, lan = _lan(seed)
    run = FtpRun("conversation", net, story="a typed control conversation")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"))
    run.clients["client"] = ScriptedClient(net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", lines)
    return _finish(run, 60)


BIG = bytes(i * 7 % 251 for i in range(10_000))
"""The file ``resume`` downloads: 10 000 bytes that are not all the same (a wrong offset shows)."""


class _KilledClient(FtpClientHost):
    """A client program that dies once it holds ``cut`` bytes of the download.

    Its sockets close (the kernel sends FIN for a killed process); what it
    received so far stays on its disk in :attr:`partial`, like a ``.part`` file."""

    def __init__(self, *args, cut: int, **kw):
        super().__init__(*args, **kw)
        self.cut, self.partial = cut, b""

    def _attach(self, conn) -> None:
        super()._attach(conn)
        deliver = conn.on_data

        def on_data(c, data: bytes) -> None:
            if self.partial:
                return  # dead already: what still arrives is lost
            deliver(c, data)
            if len(self.client.data) >= self.cut:
                self.partial = bytes(self.client.data)
                self.net.note(self.host, "client killed:", f"after {len(self.partial)} bytes")
                for conn in (self.data, self.control):
                    conn.on_data = conn.on_close = conn.on_error = None
                    conn.close()

        conn.on_data = on_data


def resume(cut: int = 3 * 1460, seed: int = 1) -> FtpRun:
    """A download cut short, then resumed (RFC 3659 §5, "REST STREAM").

    alice starts ``RETR big.bin`` (:data:`BIG`, 10 000 bytes); her client dies
    once it has ``cut`` bytes. Five seconds later she connects again, asks
    ``SIZE`` (RFC 3659 §4) and ``MDTM`` (§3) to see that the file is still the
    same, sends ``REST <bytes she has>`` (350) and ``RETR``: the server sends
    the rest only. ``run.resumed`` is the joined file, ``run.partial`` the part
    the first attempt kept. (What ``curl -C -`` and ``wget -c`` do.)
    """
    net, lan = _lan(seed)
    run = FtpRun("resume", net, story="a download cut short, finished with REST")
    _server(run, net.host("server", lan, ip="192.0.2.1/24"))
    with open(os.path.join(run.site.name, "root/home/alice/big.bin"), "wb") as f:
        f.write(BIG)
    os.utime(os.path.join(run.site.name, "root/home/alice/big.bin"), (FILE_TIME, FILE_TIME))
    host = net.host("client", lan, ip="192.0.2.10/24")
    first = _KilledClient(host, "192.0.2.1", cut=cut)
    run.clients["first"] = first.connect()
    first.login("alice", PASSWORDS["alice"])
    first.retr("big.bin")
    again = FtpClientHost(host, "192.0.2.1")
    run.clients["again"] = again

    def start_again() -> None:
        again.connect()
        again.login("alice", PASSWORDS["alice"])
        again.command("TYPE I")  # SIZE counts the bytes of a TYPE I transfer (RFC 3659 §4)
        again.client.type = "I"  # the client core need not send it again before RETR
        again.command("SIZE big.bin")
        again.command("MDTM big.bin")
        again.retr("big.bin", rest=len(first.partial))
        again.quit()

    net.call_at(5.0, start_again)
    _finish(run, 60)
    done = [r for r in again.results if r.name == "RETR" and getattr(r, "data", None) is not None]
    run.partial = first.partial
    run.resumed = first.partial + (bytes(done[0].data) if done else b"")
    return run


class FxpClient:
    """One client, two control connections: it makes two servers move a file between them (FXP).

    ``steps`` are ``(server, line)`` pairs; a line may be a function of the
    replies so far (the PORT for server B is made from server A's 227). Each
    step is sent after the final reply to the one before on the same server,
    except a transfer command (STOR, RETR), after which its 150 is enough:
    the other server's command must follow while this one waits for data.
    """

    def __init__(self, host, servers: dict[str, str], steps: list):
        self.host, self.steps = host, list(steps)
        self.replies: list[tuple[str, object]] = []  # (server, Reply)
        self.parsers = {name: ReplyParser() for name in servers}
        self.waiting: str | None = None
        register(host.net)
        self.control = {
            name: host.tcp.connect((ip, 21), flow=CONTROL_FLOW, on_data=functools.partial(self._data, name))
            for name, ip in servers.items()
        }
        self.greeted: set[str] = set()

    def _data(self, name: str, conn, data: bytes) -> None:
        for reply in self.parsers[name].feed(data):
            self.replies.append((name, reply))
            if reply.code == 220 and name not in self.greeted:
                self.greeted.add(name)
                if self.greeted == set(self.control):
                    self._next()
            elif name == self.waiting and (reply.code >= 200 or self.transfer_started(reply)):
                self._next()

    @staticmethod
    def transfer_started(reply) -> bool:
        return reply.code in (125, 150)

    def last(self, name: str, code: int):
        """The last reply ``code`` from server ``name``."""
        return next(r for n, r in reversed(self.replies) if n == name and r.code == code)

    def _next(self) -> None:
        if not self.steps:
            self.waiting = None
            return
        name, line = self.steps.pop(0)
        if callable(line):
            try:
                line = line(self)
            except (StopIteration, ValueError) as exc:  # a step failed: say goodbye to both
                self.host.net.note(self.host, "FXP client gives up:", str(exc) or "no such reply")
                self.steps = [(server, "QUIT") for server in self.control]
                name, line = self.steps.pop(0)
        self.waiting = name
        conn = self.control[name]
        if conn.state == "ESTABLISHED":
            conn.send((line + "\r\n").encode())


def fxp(permit: bool = False, seed: int = 1) -> FtpRun:
    """Server to server (FXP): the client copies ``/pub/hello.txt`` from server A to server B.

    It sends PASV to A (192.0.2.1) and gives A's address and port to B
    (192.0.2.2) with PORT, then STOR on B and RETR on A: B connects to A and the
    file goes from A to B; the client (192.0.2.10) carries no byte of it. It is
    the bounce attack's PORT (RFC 2577 §2) used on purpose: with ``permit=False``
    (our policy, vsftpd's ``port_promiscuous=NO``, pyftpdlib's
    ``permit_foreign_addresses=False``) B answers the PORT with 500 and nothing
    moves. ``permit=True`` sets ``permit_foreign_addresses`` on both servers
    (A must also take a data connection from B, not from its client).
    """
    net, lan = _lan(seed)
    run = FtpRun(f"fxp[{'permitted' if permit else 'refused'}]", net, story="a file from server A to server B")
    server_a = _server(run, net.host("A", lan, ip="192.0.2.1/24"), permit_foreign_addresses=permit)
    site_a = run.site
    run.server_b = _server(run, net.host("B", lan, ip="192.0.2.2/24"), permit_foreign_addresses=permit)
    run.site_b, run.site, run.server = run.site, site_a, server_a

    def port_of_a(client: FxpClient) -> str:
        return "PORT " + format_host_port(*parse_227(client.last("A", 227).text))

    def stor_if_port_taken(client: FxpClient) -> str:
        if client.replies[-1][1].code != 200:
            raise ValueError(f"B refused the PORT: {client.replies[-1][1].code}")
        return "STOR copy.txt"

    steps = [
        ("A", "USER anonymous"),
        ("A", "PASS fxp@example.org"),
        ("A", "TYPE I"),
        ("B", "USER alice"),
        ("B", f"PASS {PASSWORDS['alice']}"),
        ("B", "TYPE I"),
        ("A", "PASV"),
        ("B", port_of_a),
        ("B", stor_if_port_taken),
        ("A", "RETR /pub/hello.txt"),
        ("B", "NOOP"),
        ("A", "QUIT"),
        ("B", "QUIT"),
    ]
    client = FxpClient(net.host("client", lan, ip="192.0.2.10/24"), {"A": "192.0.2.1", "B": "192.0.2.2"}, steps)
    run.clients["client"] = client
    try:
        _finish(run, 60)
        run.files_b = _snapshot(os.path.join(run.site_b.name, "root"))
    finally:
        run.site_b.cleanup()
    return run


# ---------------------------------------------------------------------------
# Diagnosis run (issue 12): a broken run, the rule it breaks, one setting to mend it
# ---------------------------------------------------------------------------
PORT_THROUGH_NAT = {
    "mode": "active",  # active (PORT), passive (PASV), eprt or epsv
    "nat_ftp_helper": False,  # does the NAT rewrite PORT (Linux nf_nat_ftp)? The fault: no helper
    "announce": "private",  # which address the client puts in PORT: "private" (its own) or "public" (the NAT's)
}


def diagnose_port_through_nat(mend: dict | None = None, seed: int = 1) -> FtpRun:
    """A diagnosis run: a client behind a NAT without an FTP helper lists /pub in active mode.

    The client's PORT names its own address, 192.0.2.10. The NAT rewrites the
    addresses of every packet but not the one inside the command, so the
    server reads an address that is not where the control connection comes
    from, and no data connection opens. Settings: :data:`PORT_THROUGH_NAT`
    (the same story as :func:`through_nat`).
    """
    s = with_mend(PORT_THROUGH_NAT, mend)
    if s["mode"] not in MODES or s["announce"] not in ("private", "public"):
        raise ValueError(f"mode is one of {MODES}, announce 'private' or 'public': {s}")
    net = Network(seed=seed)
    lan, wan = net.segment("lan", "192.0.2.0/24"), net.segment("internet", "198.51.100.0/24")
    run = FtpRun("diagnose_port_through_nat", net, story="a client behind a NAT lists /pub")
    nat = net.nat("nat", (lan, "192.0.2.1/24"), (wan, "198.51.100.1/24"))
    if s["nat_ftp_helper"]:
        add_ftp_helper(nat)
    _server(run, net.host("server", wan, ip="198.51.100.21/24"))
    host = net.host("client", lan, ip="192.0.2.10/24", gateway="192.0.2.1")
    public = "198.51.100.1" if s["announce"] == "public" and s["mode"] in ("active", "eprt") else None
    run.settings = s
    return _list_pub(run, _client(run, host, "198.51.100.21", s["mode"], announce_ip=public))


def _announced(command: str) -> str | None:
    """The address in ``PORT h1,h2,h3,h4,p1,p2`` or ``EPRT |1|a.b.c.d|port|``; None for other commands."""
    verb, _, argument = command.partition(" ")
    if verb.upper() == "PORT":
        return ".".join(argument.split(",")[:4])
    if verb.upper() == "EPRT" and len(argument) > 1:
        return argument.split(argument[0])[2]
    return None


def check_port_through_nat(run: FtpRun) -> list[str]:
    """Problems of a :func:`diagnose_port_through_nat` run (RFC 959 §4.1.2)."""
    problems = []
    for e in run.trace:
        message = getattr(e, "message", None)
        address = _announced(getattr(message, "text", "") or "") if e.dst == "server" else None
        if address is not None and address != e.src_ip:
            problems.append(
                f"a {e.kind} reached the server naming {address}, but the control connection comes from {e.src_ip}"
            )
    listed = any(isinstance(r, Done) and r.name == "LIST" for r in run.client.results)
    if not listed:
        problems.append("the listing of /pub never arrived: " + "; ".join(run.client.summary()))
    return problems


DIAGNOSES = (
    Diagnosis(
        name="ftp-port-through-nat",
        protocol="FTP",
        rule="RFC 959 §4.1.2",
        quote=(
            "DATA PORT (PORT) The argument is a HOST-PORT specification for the data port to be used in data "
            "connection. [...] If this command is used, the argument is the concatenation of a 32-bit internet "
            "host address and a 16-bit TCP port address."
        ),
        fault="active mode through a NAT without an FTP helper: PORT names an inside address the server cannot use",
        settings=PORT_THROUGH_NAT,
        mends=({"mode": "passive"}, {"mode": "epsv"}, {"nat_ftp_helper": True}),
        scenario=diagnose_port_through_nat,
        check=check_port_through_nat,
        also=("RFC 1579",),
    ),
)
"""The FTP diagnosis task (:class:`refimpl.diagnosis.Diagnosis`); the registry is :mod:`refimpl.diagnosis`."""
