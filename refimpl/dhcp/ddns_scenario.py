"""DDNS on the simulated LAN: a client gets a lease, and its name appears in the DNS.

One run, one trace, so a lesson can draw it as one sequence diagram::

    from refimpl.dhcp.ddns_scenario import ddns_lease
    run = ddns_lease()
    print(run.trace.table())

    client -> server  DHCPDISCOVER        (RFC 2131 §3.1, the four steps)
    server -> client  DHCPOFFER
    client -> server  DHCPREQUEST
    server -> client  DHCPACK
    server -> ns1     DNS UPDATE example.com: A, DHCID if the name is free (RFC 4703 §5.3.1)
    ns1 -> server     UPDATE NOERROR
    server -> ns1     DNS UPDATE 2.0.192.in-addr.arpa: PTR, DHCID (§5.4)
    ns1 -> server     UPDATE NOERROR

and, with ``release_at=``, the DHCPRELEASE and the three UPDATEs that take the
records out again (§5.5); with ``rival=True`` a second client asks for the same
name and the DHCID check keeps it off (YXDOMAIN, then NXRRSET: §5.3.2).

The hosts: the DHCP server at 192.0.2.1 (a :class:`~refimpl.dhcp.ddns.DdnsServer`
around the usual core), the DNS server ``ns1`` at 192.0.2.53 (our
authoritative core, one per zone, chosen by the zone each UPDATE names), the
clients. UPDATEs are signed with TSIG; the TSIG clock is the simulated one
plus a fixed epoch, and the message IDs come from the seed, so a run prints
the same every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from refimpl.dhcp.ddns import DdnsConfig, DdnsServer, DnsUpdate
from refimpl.dhcp.notes import Note
from refimpl.dhcp.scenarios import LAN, Scenario, _client, _config
from refimpl.dhcp.server import DhcpServer
from refimpl.dhcp.sim_glue import ServerHost, _log_line, _send, register
from refimpl.dns.message import Opcode, Rcode, decode, rdata_text
from refimpl.dns.names import key as name_key
from refimpl.dns.records import type_name
from refimpl.dns.server import AuthoritativeServer, Send
from refimpl.dns.tsig import Key
from refimpl.dns.updater import UpdateFailed
from refimpl.dns.zone import parse_zone
from refimpl.sim.network import Network

DNS_PORT = 53
EPOCH = 1_800_000_000  # Unix time at t=0 of the simulation: TSIG signs Unix seconds (RFC 8945 §4.2)
KEY = Key("dhcp-ddns.example.com", bytes(range(32)))
TIMEOUT, TRIES = 2.0, 3  # per UPDATE, as the real driver's defaults

FORWARD_ZONE = """$ORIGIN example.com.
$TTL 3600
@ IN SOA ns1 hostmaster 1 7200 900 1209600 300
  IN NS ns1
ns1 A 192.0.2.53
"""
REVERSE_ZONE = """$ORIGIN 2.0.192.in-addr.arpa.
$TTL 3600
@ IN SOA ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 300
  IN NS ns1.example.com.
53 PTR ns1.example.com.
"""


def describe_dns(raw: bytes):
    """``(kind, summary, message)`` of a DNS datagram for the trace: ``DNS UPDATE`` / ``UPDATE NOERROR``."""
    msg = decode(raw)
    opcode = Opcode(msg.opcode).name if msg.opcode in Opcode._value2member_map_ else str(msg.opcode)
    zone = msg.questions[0].name if msg.questions else ""
    if msg.qr:
        return f"{opcode} {Rcode(msg.rcode & 0xF).name}", f"id={msg.id} zone {zone}", msg
    changes = ", ".join(_change(r) for r in msg.authority)
    prereq = ", ".join(_prerequisite(r) for r in msg.answer)
    summary = f"id={msg.id} zone {zone}" + (f" if {prereq}" if prereq else "") + f": {changes}"
    return f"DNS {opcode}", summary, msg


def _prerequisite(r) -> str:
    """RFC 2136 §2.4 in words: ``host7.example.com not in use``, ``... has no A``, ``... DHCID is <digest>``."""
    what = type_name(r.type)
    if r.cls == 254:  # NONE: §2.4.3 RRset does not exist, §2.4.5 name not in use
        return f"{r.name} not in use" if r.type == 255 else f"{r.name} has no {what}"
    if r.cls == 255:  # ANY: §2.4.1 RRset exists, §2.4.4 name in use
        return f"{r.name} in use" if r.type == 255 else f"{r.name} has {what}"
    return f"{r.name} {what} is {'<digest>' if r.type == 49 else rdata_text(r)}"  # §2.4.2, value dependent


def _change(r) -> str:
    verb = {1: "add", 254: "delete", 255: "delete all"}.get(r.cls, str(r.cls))
    what = type_name(r.type)
    value = rdata_text(r) if r.type not in (49,) or r.value == b"" else "<digest>"
    return f"{verb} {r.name} {what} {value}".rstrip()


class DnsHost:
    """Authoritative DNS cores on UDP 53 of a simulated host, one per zone (the UPDATE's zone picks it)."""

    def __init__(self, net, host, servers: list[AuthoritativeServer]):
        self.net, self.host, self.servers = net, host, servers
        self.log: list[str] = []
        self.socket = host.udp(DNS_PORT, self._on_datagram, flow="dns")

    def server_for(self, name: str) -> AuthoritativeServer | None:
        name = name_key(name)
        fits = [
            s for s in self.servers if name == name_key(s.zone.origin) or name.endswith("." + name_key(s.zone.origin))
        ]
        return max(fits, key=lambda s: len(s.zone.origin), default=None)

    def _on_datagram(self, packet) -> None:
        try:
            zone = decode(packet.payload).questions[0].name
        except (ValueError, IndexError):
            return
        server = self.server_for(zone)
        if server is None:
            return
        for effect in server.receive(packet.payload, (packet.src_ip, packet.src_port), now=EPOCH + self.net.now):
            if isinstance(effect, Send):
                self.host.send_udp(DNS_PORT, effect.to[0], effect.to[1], effect.data, flow="dns")
            else:
                self.log.append(f"t={self.net.now:g} {effect.text}")


class DdnsServerHost(ServerHost):
    """The DHCP server host: replies as usual, then each exchange's UPDATEs, one after another."""

    def __init__(self, net, host, server: DdnsServer, dns_ip: str):
        self.dns_ip = dns_ip
        self.queue: list[DnsUpdate] = []
        self.current: DnsUpdate | None = None
        self.done: list = []  # finished exchanges, in order
        self._request, self._tries, self._timer = None, 0, None
        self._wakeups: set[float] = set()  # times a handle_timer call is already scheduled for
        super().__init__(net, host, server=server)
        self.dns_socket = host.udp(0, self._on_answer, flow="dns")

    def _on_datagram(self, packet) -> None:
        now = self.net.now
        effects = self.server.receive(
            packet.payload, src_ip=packet.src_ip, src_port=packet.src_port, dst_ip=packet.dst_ip, now=now
        )
        self._carry_out(effects, packet)

    def _carry_out(self, effects, packet=None) -> None:
        for effect in effects:
            if isinstance(effect, Note):
                self.log.append(_log_line(self.net.now, effect))
            elif isinstance(effect, DnsUpdate):
                self.queue.append(effect)
            else:
                local = effect.broadcast or effect.to_chaddr
                _send(self.host, effect, iface=packet.iface if local and packet is not None else None)
        self._next_exchange()
        when = self.server.get_timer()
        if when is not None and when not in self._wakeups:
            self._wakeups.add(when)
            self.net.call_at(when, self._on_timer, when)

    def _on_timer(self, when: float) -> None:
        self._wakeups.discard(when)
        if self.server.get_timer() == when:  # not moved on by a renewal meanwhile
            self._carry_out(self.server.handle_timer(now=self.net.now))

    # -- one exchange at a time --------------------------------------------------------
    def _next_exchange(self) -> None:
        if self.current is not None or not self.queue:
            return
        self.current = self.queue.pop(0)
        self._send_request(self.current.exchange.start())

    def _send_request(self, request) -> None:
        exchange = self.current.exchange
        if request is None:
            self.done.append(exchange)
            self.log.append(f"t={self.net.now:g} DDNS {exchange.action} {exchange.fqdn}: {exchange.outcome}")
            self.current = None
            self._next_exchange()
            return
        self._request, self._tries = request, 0
        self._data = request.encode(now=EPOCH + self.net.now)
        self._transmit()

    def _transmit(self) -> None:
        if self._tries >= TRIES:
            self.current.exchange.failed(f"no answer after {TRIES} tries")
            self._send_request(None)
            return
        self._tries += 1
        self.host.send_udp(self.dns_socket.port, self.dns_ip, DNS_PORT, self._data, flow="dns")
        self._timer = self.net.call_later(TIMEOUT, self._on_timeout, self._request)

    def _on_timeout(self, request) -> None:
        if request is self._request:
            self._transmit()

    def _on_answer(self, packet) -> None:
        if self.current is None or self._request is None:
            return
        try:
            answer = self._request.check_answer(packet.payload, now=EPOCH + self.net.now)
        except UpdateFailed:
            return  # not ours or not authentic: keep waiting (the timer retransmits)
        self._timer.cancelled = True
        self._request = None
        self._send_request(self.current.exchange.answered(answer.rcode))


@dataclass
class DdnsRun(Scenario):
    """A :class:`~refimpl.dhcp.scenarios.Scenario` with the DNS server and the finished exchanges."""

    dns: DnsHost | None = None
    exchanges: list = field(default_factory=list)

    def records(self, name: str) -> list[str]:
        """The zone's records at ``name`` now, as zone-file lines."""
        server = self.dns.server_for(name)
        return [str(r) for r in server.zone.lookup(name)] if server else []


def ddns_lease(
    seed: int = 15,
    hostname: str = "host7",
    release_at: float | None = None,
    rival: bool = False,
    lease_time: int = 3600,
    until: float = 20.0,
    drop: dict[str, set[int]] | None = None,
) -> DdnsRun:
    """The client ``hostname`` gets a lease; the DHCP server then puts its name in the DNS.

    ``release_at``: the client releases at that time and the records come out.
    ``rival``: a second client, 2 s later, asks for the same host name; the
    DNS server's DHCID check keeps the first owner's records. ``drop``
    loses messages by kind as in :func:`refimpl.dhcp.scenarios.one_client`:
    ``{"UPDATE NOERROR": {1}}`` loses the first answer (the server sends the
    UPDATE again: YXDOMAIN, then its DHCID matches); ``{"DHCPREQUEST":
    set(range(2, 99))}`` loses every renewal, so the lease expires and the
    server removes the records when it does.
    """
    net = Network(seed=seed)
    register(net)
    net.describe(("udp", DNS_PORT), describe_dns, flow="dns")
    lan = net.segment("lan", LAN)
    run = DdnsRun("ddns_lease", net, story=f"{hostname} gets a lease and its name appears in the DNS")
    ns1 = net.host("ns1", lan, ip="192.0.2.53/24")
    run.dns = DnsHost(
        net,
        ns1,
        [AuthoritativeServer(parse_zone(z), keys=[KEY]) for z in (FORWARD_ZONE, REVERSE_ZONE)],
    )
    host = net.host("server", lan, ip="192.0.2.1/24")
    core = DhcpServer(_config("192.0.2.1", ("192.0.2.100", "192.0.2.199"), lease_time=lease_time))
    ddns = DdnsServer(
        core, DdnsConfig("example.com", "2.0.192.in-addr.arpa", key=KEY, ids=random.Random(f"{seed}:ddns"))
    )
    server = DdnsServerHost(net, host, ddns, "192.0.2.53")
    run.servers["server"] = server
    client = _client(run, lan, "client", hostname=hostname)
    for kind, nth in (drop or {}).items():
        net.impair(kind=kind, drop_nth=set(nth))
    client.start()
    if rival:
        _client(run, lan, "rival", hostname=hostname).start(at=2.0)
    if release_at is not None:
        client.release(at=release_at)
    net.run(until=until)
    run.exchanges = server.done
    return run


__all__ = ["DdnsRun", "DdnsServerHost", "DnsHost", "ddns_lease", "describe_dns"]
