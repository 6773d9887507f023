"""Ready-made TFTP stories on the simulated network, one line each in a notebook.

Like :mod:`refimpl.dhcp.scenarios`: each function builds a small LAN
(192.0.2.0/24, the server at 192.0.2.1, the client at 192.0.2.10), runs the
real core on it with a virtual clock and returns a :class:`Scenario` with the
trace, the server, the client and the transfers::

    from refimpl.tftp import scenarios
    run = scenarios.read_file(size=1200)
    print(run.trace.table())

=======================  ==========================================================
scenario                 what it shows
=======================  ==========================================================
``read_file``            RRQ to port 69, then DATA/ACK from a new port (RFC 1350 §4);
                         ``drop=`` loses packets, ``blksize=``/``ask_size=``/``windowsize=``
                         add options, ``delay=`` sets the link's one-way delay
``write_file``           WRQ, ACK 0, then DATA/ACK the other way
``windows``              the same file read with several windowsizes (RFC 7440) over
                         a link with delay: seconds, round trips and packets of each
``missing_file``         RRQ for a file the server does not have: ERROR 1
``sorcerers_apprentice`` one late DATA; the RFC 1123 §4.2.3.1 rule against the bug
``stranger``             a packet from the wrong port: ERROR 5, the transfer goes on
``network_boot``         DHCP gives the boot server and file (options 66, 67);
                         the new host fetches the file by TFTP
``diagnose_sorcerers_apprentice``  a diagnosis run (issue 12): the same late packet, a server
                         whose settings break RFC 1123 §4.2.3.1 (:mod:`refimpl.diagnosis`)
=======================  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field

from refimpl.diagnosis import Diagnosis, with_mend
from refimpl.sim.network import Network
from refimpl.trace import Trace

from .files import MemoryFiles
from .server import ServerConfig
from .sim_glue import TftpClientHost, TftpServerHost, register
from .transfer import Transfer

SERVER_IP, CLIENT_IP = "192.0.2.1", "192.0.2.10"


@dataclass
class Scenario:
    """What a scenario leaves behind: the trace and everything that made it."""

    name: str
    net: Network
    server: TftpServerHost
    client: TftpClientHost
    transfers: list[Transfer] = field(default_factory=list)
    story: str = ""

    @property
    def trace(self) -> Trace:
        return self.net.trace

    @property
    def transfer(self) -> Transfer:
        """The client's (first) transfer."""
        return self.transfers[0]

    def kinds(self) -> list[str]:
        """The kinds of the packets that crossed the wire, lost ones included, in order."""
        return [e.kind for e in self.trace if not e.is_note]


def sample_file(size: int) -> bytes:
    """``size`` bytes of printable text, the same every run."""
    line = b"TFTP moves files in blocks over UDP.\n"
    return (line * (size // len(line) + 1))[:size]


def _lan(
    seed: int,
    files: dict[str, bytes],
    config: ServerConfig | None = None,
    writable: bool = False,
    notes: bool = True,
    delay: float | None = None,
):
    net = Network(seed=seed)
    register(net)
    lan = net.segment("lan", "192.0.2.0/24", delay=delay)
    server_host = net.host("server", lan, ip=f"{SERVER_IP}/24")
    client_host = net.host("client", lan, ip=f"{CLIENT_IP}/24")
    server = TftpServerHost(net, server_host, MemoryFiles(files, writable=writable), config, notes=notes)
    client = TftpClientHost(net, client_host, SERVER_IP, notes=notes)
    return net, server, client


def _drop(net: Network, drop: dict[str, set[int]] | None) -> None:
    """``{"DATA 2": {1}}``: lose the first DATA with block 2; ``{"ACK": {3}}``: the third ACK."""
    for label, nth in (drop or {}).items():
        kind, _, block = label.partition(" ")
        if block:
            wanted = int(block)
            net.impair(kind=kind, drop_nth=set(nth), match=lambda p, b=wanted: getattr(p.message, "block", None) == b)
        else:
            net.impair(kind=kind, drop_nth=set(nth))


def read_file(
    size: int = 1200,
    seed: int = 1,
    mode: str = "octet",
    blksize: int | None = None,
    ask_size: bool = False,
    drop: dict[str, set[int]] | None = None,
    config: ServerConfig | None = None,
    notes: bool = True,
    until: float = 60.0,
    windowsize: int | None = None,
    delay: float | None = None,
) -> Scenario:
    """The client reads ``boot.txt`` of ``size`` bytes (RFC 1350 §4 and figure 6-1 of §6).

    ``windowsize``: ask for windows of that many blocks (RFC 7440); ``delay``: the
    link's one-way delay in seconds (the network's default, 1 ms, otherwise)."""
    net, server, client = _lan(seed, {"boot.txt": sample_file(size)}, config, notes=notes, delay=delay)
    _drop(net, drop)
    run = Scenario("read_file", net, server, client, story=f"the client reads a {size}-byte file")
    options = {"blksize": blksize, "ask_size": ask_size}
    if windowsize is not None:  # only when asked: the lessons' requests stay as they were
        options["windowsize"] = windowsize
    run.transfers.append(client.get("boot.txt", mode=mode, **options))
    net.run(until=until)
    return run


def write_file(
    size: int = 1200,
    seed: int = 1,
    mode: str = "octet",
    blksize: int | None = None,
    drop: dict[str, set[int]] | None = None,
    notes: bool = True,
    until: float = 60.0,
    windowsize: int | None = None,
    delay: float | None = None,
) -> Scenario:
    """The client writes ``upload.txt`` (WRQ): the server answers ACK 0, then the DATA goes its way."""
    net, server, client = _lan(seed, {}, writable=True, notes=notes, delay=delay)
    _drop(net, drop)
    run = Scenario("write_file", net, server, client, story=f"the client writes a {size}-byte file")
    options = {"windowsize": windowsize} if windowsize is not None else {}
    run.transfers.append(client.put("upload.txt", sample_file(size), mode=mode, blksize=blksize, **options))
    net.run(until=until)
    return run


@dataclass(frozen=True)
class WindowRun:
    """One read of :func:`windows`: how long the file took, in seconds and in round trips."""

    windowsize: int
    seconds: float  # from the RRQ until the last DATA reached the client
    round_trips: float  # ``seconds`` over the link's round trip (two one-way delays)
    packets: int  # every datagram sent, lost ones included
    lost: int  # the datagrams the link lost
    ok: bool  # the client has the file, byte for byte
    run: Scenario


def windows(
    windowsizes: tuple[int, ...] = (1, 4, 8),
    size: int = 20_000,
    delay: float = 0.01,
    drop: dict[str, set[int]] | None = None,
    seed: int = 1,
) -> list[WindowRun]:
    """Read the same file once per windowsize (RFC 7440) over a link with ``delay`` s each way.

    Lock-step pays one round trip per block; a window of W blocks pays one round
    trip per W blocks (RFC 7440 §4), as long as nothing is lost. ``drop`` as in
    :func:`read_file` (``{"DATA 5": {1}}`` loses the first DATA 5 of each run).
    Windowsize 1 is asked for too, so every run has the same OACK and ACK 0.
    """
    rows = []
    for windowsize in windowsizes:
        run = read_file(size=size, seed=seed, windowsize=windowsize, delay=delay, drop=drop, notes=False)
        data = [e for e in run.trace if not e.is_note and e.kind == "DATA" and e.dst == "client" and not e.lost]
        seconds = data[-1].time if data else float("nan")  # trace times are arrival times
        wire = [e for e in run.trace if not e.is_note]
        ok = run.client.received.get("boot.txt") == sample_file(size)
        lost = sum(e.lost for e in wire)
        rows.append(WindowRun(windowsize, seconds, seconds / (2 * delay), len(wire), lost, ok, run))
    return rows


def missing_file(seed: int = 1) -> Scenario:
    """A file the server does not have: one ERROR 1, from a new port, and nothing more (RFC 1350 §7)."""
    net, server, client = _lan(seed, {"boot.txt": b"x"})
    run = Scenario("missing_file", net, server, client, story="the client asks for a file that is not there")
    run.transfers.append(client.get("nothere.bin"))
    net.run(until=30)
    return run


def sorcerers_apprentice(
    bug: bool = False, size: int = 3000, late_block: int = 2, lateness: float = 1.0015, seed: int = 1
) -> Scenario:
    """DATA ``late_block`` is late (not lost): it arrives just after the copy the sender
    sent again when its 1 s timer ran out.

    The receiver gets it twice and acknowledges both copies. A correct sender
    ignores the second ACK (RFC 1123 §4.2.3.1); with ``bug=True`` it answers
    it by sending the next block again, and from then on every block travels
    twice: the "Sorcerer's Apprentice" syndrome. (The client here waits 3 s
    before it repeats an ACK, so only the late packet makes duplicates.)
    """
    net, server, client = _lan(seed, {"boot.txt": sample_file(size)}, ServerConfig(apprentice_bug=bug))
    first = {"seen": False}

    def first_copy(packet) -> bool:
        if getattr(packet.message, "block", None) == late_block and not first["seen"]:
            first["seen"] = True
            return True
        return False

    net.impair(kind="DATA", match=first_copy, delay=lateness)
    name = "the Sorcerer's Apprentice bug" if bug else "a late packet, handled as RFC 1123 says"
    run = Scenario("sorcerers_apprentice", net, server, client, story=name)
    run.transfers.append(client.get("boot.txt", retry_timeout=3.0))
    net.run(until=60)
    return run


def stranger(seed: int = 1) -> Scenario:
    """Mid-transfer, a datagram reaches the server's transfer port from another port.

    RFC 1350 §4: the server answers ERROR 5 (unknown transfer ID) to that port
    and goes on with the transfer as if nothing happened.
    """
    net, server, client = _lan(seed, {"boot.txt": sample_file(2000)})
    run = Scenario("stranger", net, server, client, story="a stray packet during a transfer")
    run.transfers.append(client.get("boot.txt"))

    def interfere() -> None:
        port = next(p for p in server.host.udp_sockets if p != 69)  # the transfer's TID
        stray = client.host.udp(0, None, flow="tftp")
        stray.sendto(b"\x00\x04\x00\x01", (SERVER_IP, port))  # an ACK 1, from the wrong port

    net.call_at(0.0025, interfere)
    net.run(until=30)
    return run


def network_boot(seed: int = 1, bootfile: str = "pxelinux.0", size: int = 2000) -> Scenario:
    """A machine with no address boots from the network (RFC 2132 §9.4-9.5, RFC 1350).

    DHCP first: the client asks for options 66 (TFTP server name) and 67
    (boot file name) in its parameter request list, and the server's ACK
    carries them. Then the client reads that file from that server by TFTP.
    """
    from refimpl.dhcp.server import ServerConfig as DhcpConfig
    from refimpl.dhcp.sim_glue import ClientHost, ServerHost
    from refimpl.dhcp.sim_glue import register as register_dhcp

    net = Network(seed=seed)
    register(net)
    register_dhcp(net)
    lan = net.segment("lan", "192.0.2.0/24")
    server_host = net.host("server", lan, ip=f"{SERVER_IP}/24")
    client_host = net.host("client", lan)
    dhcp_config = DhcpConfig(server_ip=SERVER_IP, options={"tftp_server_name": SERVER_IP, "bootfile_name": bootfile})
    ServerHost(net, server_host, dhcp_config)
    tftp_server = TftpServerHost(net, server_host, MemoryFiles({bootfile: sample_file(size)}))
    dhcp_client = ClientHost(net, client_host, params=(1, 3, 51, 66, 67))
    run = Scenario("network_boot", net, tftp_server, None, story="DHCP names the boot file, TFTP fetches it")

    def fetch() -> None:
        lease = dhcp_client.client.lease
        options = lease.options if lease is not None else {}
        server_ip, filename = options.get(66), options.get(67)  # RFC 2132 §9.4 and §9.5
        if not (server_ip and filename):
            net.note(client_host, "no boot server or file in the DHCP lease")
            return
        run.client = TftpClientHost(net, client_host, server_ip)
        run.transfers.append(run.client.get(filename))

    dhcp_client.start()
    for step in range(1, 101):  # until the lease is bound (ARP check included), at most 10 s
        net.run(until=0.1 * step)
        if dhcp_client.state == "BOUND":
            break
    fetch()
    net.run(until=net.now + 30.0)
    return run


# ---------------------------------------------------------------------------
# Diagnosis run (issue 12): a broken run, the rule it breaks, one setting to mend it
# ---------------------------------------------------------------------------
SORCERERS_APPRENTICE = {
    "apprentice_bug": True,  # the fault: ServerConfig.apprentice_bug, answer a duplicate ACK with DATA
    "server_timeout": 1.0,  # seconds before the server sends a block again (ServerConfig.timeout)
    "client_retry_timeout": 3.0,  # seconds before the client repeats its last ACK
    "size": 3000,  # bytes of boot.txt: six blocks of 512 (the last one 440)
}
LATE_BLOCK = 2  # the first copy of DATA 2 is late by 1.0015 s, just after the server's timer sent it again


def diagnose_sorcerers_apprentice(mend: dict | None = None, seed: int = 1) -> Scenario:
    """A diagnosis run: the client reads ``boot.txt``; the first copy of DATA 2 is late (not lost).

    It arrives just after the server's timer sent DATA 2 again, so the client
    gets DATA 2 twice and acknowledges both. What the server does with the
    second ACK 2 decides how many packets the rest of the file costs. The
    server's own notes are left out of this trace (the wire tells the story);
    the client's stay. Settings: :data:`SORCERERS_APPRENTICE`.
    """
    s = with_mend(SORCERERS_APPRENTICE, mend)
    config = ServerConfig(apprentice_bug=bool(s["apprentice_bug"]), timeout=float(s["server_timeout"]))
    net, server, client = _lan(seed, {"boot.txt": sample_file(int(s["size"]))}, config)
    server.notes = False
    run_sent: list[tuple[float, int]] = []  # (time, block) of every DATA the server sends: a capture on its port
    send = server.host.send

    def capture(packet, *args, **kw):
        if packet.payload[:2] == b"\x00\x03":
            run_sent.append((net.now, int.from_bytes(packet.payload[2:4], "big")))
        return send(packet, *args, **kw)

    server.host.send = capture
    first = {"seen": False}

    def first_copy(packet) -> bool:
        if getattr(packet.message, "block", None) == LATE_BLOCK and not first["seen"]:
            first["seen"] = True
            return True
        return False

    net.impair(kind="DATA", match=first_copy, delay=1.0015)
    run = Scenario("diagnose_sorcerers_apprentice", net, server, client, story="one late DATA packet")
    run.settings, run.data_sent = s, run_sent
    run.transfers.append(client.get("boot.txt", retry_timeout=float(s["client_retry_timeout"])))
    net.run(until=60)
    return run


def check_sorcerers_apprentice(run: Scenario) -> list[str]:
    """Problems of a :func:`diagnose_sorcerers_apprentice` run (RFC 1123 §4.2.3.1)."""
    wire = [e for e in run.trace if not e.is_note and e.kind in ("DATA", "ACK")]
    acks = [e.message.block for e in wire if e.kind == "ACK" and e.dst == "server" and not e.lost]
    problems = []
    if len(acks) == len(set(acks)):
        problems.append("no duplicate ACK reached the server: this run no longer shows the fault")
    # Only the timer may send a block again (RFC 1123 §4.2.3.1), so a copy sooner than one
    # timeout after the previous copy of the same block answered a duplicate ACK.
    timeout, last = float(run.settings["server_timeout"]), {}
    for when, block in run.data_sent:
        if block in last and when - last[block] < timeout - 1e-9:
            problems.append(f"DATA {block} sent again at t={when:.3f}, {when - last[block]:.3f} s after its last copy")
        last[block] = when
    if not run.transfer.ok:
        problems.append(f"the transfer failed: {run.transfer.error}")
    return problems


DIAGNOSES = (
    Diagnosis(
        name="tftp-sorcerers-apprentice",
        protocol="TFTP",
        rule="RFC 1123 §4.2.3.1",
        quote=(
            "The sender (i.e., the side originating the DATA packets) must never resend the current DATA packet "
            "on receipt of a duplicate ACK."
        ),
        fault="the server answers a duplicate ACK by sending the next block again: every later block goes twice",
        settings=SORCERERS_APPRENTICE,
        mends=({"apprentice_bug": False},),
        scenario=diagnose_sorcerers_apprentice,
        check=check_sorcerers_apprentice,
    ),
)
"""The TFTP diagnosis task (:class:`refimpl.diagnosis.Diagnosis`); the registry is :mod:`refimpl.diagnosis`."""
