"""asyncio drivers: the sans-I/O DHCP server, client and relay on a real interface.

The cores in :mod:`refimpl.dhcp` decide *what* to send; these drivers only move
bytes and read the clock. Each driver owns a few sockets:

==========  ==================================================================
server      UDP ``0.0.0.0:67`` bound to the interface (SO_BINDTODEVICE), with
            SO_BROADCAST and IP_PKTINFO (to tell a broadcast REBIND from a
            unicast RENEW, RFC 2131 §4.3.2); a send-only packet socket for
            replies to clients that have no address yet
client      a packet socket with a BPF filter "UDP to port 68" to receive
            (the reply may be addressed to an IP the host does not have yet);
            UDP ``0.0.0.0:68`` on the interface to send broadcasts from
            0.0.0.0 (and so the kernel does not answer port-unreachable)
relay       UDP ``0.0.0.0:67`` on the client interface (client broadcasts),
            UDP ``giaddr:67`` (server replies, forwarded requests), and a
            send-only packet socket on the client interface
==========  ==================================================================

How a server reply reaches the client (RFC 2131 §4.1, rules in
:mod:`refimpl.dhcp.delivery`): to ``giaddr:67`` through a relay; to
``ciaddr`` when the client has an address; broadcast when the client set the
BROADCAST bit (and every DHCPNAK); otherwise **unicast to yiaddr at chaddr**:
we write the Ethernet frame ourselves, destination MAC = ``chaddr``, on an
AF_PACKET socket - what ISC dhcpd does. We never need to touch the ARP cache.

Every message in or out is one log line, in the style of ISC dhcpd
("DHCPDISCOVER from 02:00:00:00:00:01 via eth0", "DHCPOFFER on 192.0.2.10
to 02:00:00:00:00:01 via eth0", in the words of :mod:`refimpl.dhcp.describe`);
datagrams we drop are logged with the reason.

Linux only; needs root (ports below 1024, SO_BINDTODEVICE, AF_PACKET).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from typing import TextIO

from refimpl.dhcp.client import ArpProbe, Configure, DhcpClient, Unconfigure
from refimpl.dhcp.ddns import DnsUpdate
from refimpl.dhcp.delivery import BROADCAST_IP, CLIENT_PORT, SERVER_PORT, Outgoing
from refimpl.dhcp.describe import kind, reply_line, request_line
from refimpl.dhcp.message import Message, MessageError
from refimpl.dhcp.notes import Note
from refimpl.dhcp.options import MessageType
from refimpl.dhcp.relay import RelayAgent
from refimpl.dhcp.server import DhcpServer
from refimpl.sockets import rawlink

IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)  # linux/in.h; Python does not export it
BATCH = 256  # datagrams the client and relay read per wake-up before yielding to the event loop
# The server drains its socket in one go (see ServerDriver._readable): up to DRAIN
# datagrams per wake-up (Python has no recvmmsg, so that is one recvmsg each), then
# it answers them for at most DRAIN_BUDGET seconds of CPU before it sheds DISCOVERs.
# A short budget keeps each reply's wait short, and so the number of offers held at
# once (each OFFER holds an address until its REQUEST comes; leases.py caps them per
# relay). CPU time, not wall time: on a busy machine the time we wait for a core is
# no reason to shed. Reading that clock is a system call (~2 us here), so the drain
# looks at it once every CLOCK_EVERY DISCOVERs answered.
DRAIN = 1024
DRAIN_BUDGET = 0.010
CLOCK_EVERY = 8
# The server's receive buffer. The default (~200 KB, about 150 queued datagrams)
# overflows whenever a busy machine does not schedule us for ~20 ms under load,
# and the kernel then drops requests of every kind; a bigger queue lets us catch
# up (and pick what to shed ourselves). Linux caps it at net.core.rmem_max.
SERVER_RCVBUF = 4 << 20
# RFC 2131 §4.4.5: T1 and T2 SHOULD carry some random fuzz, so clients that started
# together do not all renew together. On a real network we follow it: up to ±5 %.
TIMER_FUZZ = 0.05


# -- sockets --------------------------------------------------------------------------
def udp_socket(port: int, *, address: str = "0.0.0.0", device: str | None = None) -> socket.socket:
    """A non-blocking UDP socket for DHCP: broadcast allowed, optionally tied to one device."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)  # to send to 255.255.255.255
        sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)  # tell us each datagram's destination
        if device:
            # Only datagrams that arrive on this interface; broadcasts leave through it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device.encode())
        sock.bind((address, port))
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


_PKTINFO_SPACE = socket.CMSG_SPACE(12)


def read_datagram(sock: socket.socket) -> tuple[bytes, str, int, str] | None:
    """``(data, src_ip, src_port, dst_ip)`` of the next datagram, or None if none is waiting."""
    try:
        data, ancdata, _flags, (src_ip, src_port) = sock.recvmsg(4096, _PKTINFO_SPACE)
    except (BlockingIOError, InterruptedError):
        return None
    dst_ip = ""
    for level, what, value in ancdata:
        if level == socket.IPPROTO_IP and what == IP_PKTINFO and len(value) >= 12:
            dst_ip = socket.inet_ntoa(value[8:12])  # struct in_pktinfo: ifindex, spec_dst, addr
    return data, src_ip, src_port, dst_ip


# -- one log line per message --------------------------------------------------------------
class LineLog:
    """Timestamped lines on a stream; flushed once per batch, not once per line."""

    def __init__(self, stream: TextIO | None = None, name: str = "dhcp", quiet: bool = False):
        self.stream = stream if stream is not None else sys.stdout
        self.name = name
        self.quiet = quiet  # only problems, not every message
        self.lines = 0
        self._second = -1
        self._stamp = ""

    def __call__(self, text: str, problem: bool = False) -> None:
        if self.quiet and not problem:
            return
        now = time.time()
        second = int(now)
        if second != self._second:  # strftime once a second, not once a line
            self._second, self._stamp = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now))
        self.stream.write(f"{self._stamp}.{int(now % 1 * 1000):03d} {self.name}: {text}\n")
        self.lines += 1

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass


def _ethernet(msg: Message) -> bool:
    """Can we write a frame to this chaddr? Only for Ethernet (htype 1, hlen 6)."""
    return msg.htype == 1 and msg.hlen == 6


def send_on_client_link(out: Outgoing, udp: socket.socket, link: rawlink.PacketSocket, our_ip: str) -> None:
    """Put a reply on the client's own link, the way RFC 2131 §4.1 says (server and relay alike).

    To yiaddr at chaddr: the client has no address to ARP for yet, so we address
    the Ethernet frame ourselves. If chaddr is not an Ethernet address, §4.1
    allows a broadcast instead. Anything else is ordinary UDP.
    """
    if out.to_chaddr and _ethernet(out.message):
        link.send_udp(out.chaddr, our_ip, out.dst_ip, out.src_port, out.dst_port, out.data)
    elif out.to_chaddr:
        udp.sendto(out.data, (BROADCAST_IP, out.dst_port))
    else:
        udp.sendto(out.data, (out.dst_ip, out.dst_port))


def describe_reply(out: Outgoing, via: str, request: Message | None = None) -> str:
    """ISC dhcpd's words for a reply (:func:`refimpl.dhcp.describe.reply_line`), plus how it was delivered
    (RFC 2131 §4.1)."""
    msg = out.message
    if out.to_chaddr and _ethernet(msg):
        how = f"{out.why} (Ethernet frame to chaddr on AF_PACKET)"
    elif out.to_chaddr:
        how = f"{out.why}: chaddr is not Ethernet, broadcast instead"
    else:
        how = f"{out.why} -> {out.dst_ip}:{out.dst_port}"
    return f"{reply_line(msg, via, request)} [{how}]"


# -- the server ------------------------------------------------------------------------------
class ServerDriver:
    """Runs a :class:`~refimpl.dhcp.server.DhcpServer` on ``interface``.

    ``clock`` is wall-clock time (``time.time``) so that lease expiry times in
    the lease file stay right across a restart. ``udp`` and ``link`` are the
    sockets to use instead of opening them (a test passes stand-ins).
    """

    def __init__(
        self,
        server: DhcpServer,
        interface: str,
        log: LineLog | None = None,
        clock: Callable[[], float] = time.time,
        verbose: bool = False,
        *,
        udp: socket.socket | None = None,
        link: rawlink.PacketSocket | None = None,
        ddns=None,
    ):
        self.server = server
        self.ddns = ddns  # a refimpl.sockets.ddns_sender.DdnsSender when server is a DdnsServer
        self._timer: asyncio.TimerHandle | None = None
        self.interface = interface
        self.log = log or LineLog(name="dhcp-server")
        self.clock = clock
        self.verbose = verbose
        self.stats = {"received": 0, "sent": 0, "dropped": 0}
        self.work_clock = time.thread_time  # CPU time of each drain's work (DRAIN_BUDGET); a test may replace it
        self._last_shed_note = 0.0
        if udp is None:
            udp = udp_socket(SERVER_PORT, device=interface)
            udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SERVER_RCVBUF)
        self.udp = udp
        self.link = link if link is not None else rawlink.PacketSocket(interface, ethertype=0)  # send-only

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.udp.fileno(), self._readable)
        self._arm_timer()

    def close(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        if loop is not None:
            loop.remove_reader(self.udp.fileno())
        if self._timer is not None:
            self._timer.cancel()
        if self.ddns is not None:
            self.ddns.close()  # the queued DNS updates (bounded wait)
        self.udp.close()
        self.link.close()
        self.server.store.close()
        self.log.flush()

    def _readable(self) -> None:
        """Drain the socket, then answer: exchanges in progress first, new ones while time allows.

        Overload policy. A DHCPREQUEST completes an exchange that already cost
        us an OFFER; a DHCPDISCOVER only starts one. A completed exchange is
        worth more than a new one, so when more arrives than we can answer,
        DISCOVERs are what we give up:

        1. read everything waiting, up to ``DRAIN`` datagrams, and decode it
           (cheap next to answering: a few microseconds each);
        2. answer every REQUEST (and RELEASE, DECLINE, INFORM) of the drain,
           in arrival order - each ACK only after its lease is fsynced
           (:meth:`refimpl.dhcp.leases.LeaseStore.commit`);
        3. answer the DISCOVERs, **newest first**, until the drain has used
           ``DRAIN_BUDGET`` seconds of CPU since it began; the older rest are shed
           (counted, one log line a second). RFC 2131 §4.1: "DHCP clients are
           responsible for all message retransmission", on Ethernet "the delay
           before the first retransmission SHOULD be 4 seconds"; and an old
           DISCOVER is the likeliest to have been given up by its client already.
           Newest first and the 10 ms budget are our policy, not the RFC's.

        Without step 3 the answers to DISCOVERs take all the time, the queue
        grows, and the REQUESTs that would complete exchanges wait behind it
        until their clients give up: past its capacity such a server completes
        fewer exchanges the more it is offered. With it, each drain takes about
        ``DRAIN_BUDGET`` however much is offered, and the OFFERs sent are no
        more than the REQUESTs the next drains can answer.
        """
        start = self.work_clock()
        requests: list[tuple[Message, tuple]] = []
        discovers: list[tuple[Message, tuple]] = []
        for _ in range(DRAIN):
            got = read_datagram(self.udp)
            if got is None:
                break
            msg = self.decode(*got)
            if msg is not None:
                (discovers if msg.message_type == MessageType.DISCOVER else requests).append((msg, got))
        for msg, got in requests:
            self._answer_logged(msg, got)
        deadline = start + DRAIN_BUDGET
        left, answered = len(discovers), 0
        while left and (answered % CLOCK_EVERY or self.work_clock() < deadline):
            left, answered = left - 1, answered + 1
            self._answer_logged(*discovers[left])
        if left:
            self._shed(left)
        self._arm_timer()
        self.log.flush()

    def _arm_timer(self) -> None:
        """Wake when the core asks to (``get_timer``: DDNS removes the records of expired leases)."""
        when = self.server.get_timer()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if when is not None:
            loop = asyncio.get_event_loop()
            self._timer = loop.call_later(max(0.0, when - self.clock()), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        try:
            self._effects(self.server.handle_timer(now=self.clock()), self.interface, None)
        except Exception as exc:  # noqa: BLE001 - a server keeps serving
            self.log(f"timer: internal error {exc!r}", problem=True)
        self._arm_timer()
        self.log.flush()

    def _answer_logged(self, msg: Message, got: tuple) -> None:
        _, src_ip, src_port, dst_ip = got
        try:
            self.answer(msg, src_ip, src_port, dst_ip)
        except Exception as exc:  # noqa: BLE001 - a server keeps serving whatever one datagram does
            self.stats["dropped"] += 1
            self.log(f"dropped a datagram from {src_ip}:{src_port}: internal error {exc!r}", problem=True)

    def _shed(self, count: int) -> None:
        self.stats["shed"] = self.stats.get("shed", 0) + count
        now = time.monotonic()
        if now - self._last_shed_note >= 1.0:  # one line a second, not one per datagram
            self._last_shed_note = now
            self.log(
                f"overloaded: dropped DHCPDISCOVERs to finish exchanges in progress ({self.stats['shed']} so far)",
                problem=True,
            )

    def handle(self, data: bytes, src_ip: str, src_port: int, dst_ip: str) -> None:
        """One datagram that arrived on port 67."""
        msg = self.decode(data, src_ip, src_port, dst_ip)
        if msg is not None:
            self.answer(msg, src_ip, src_port, dst_ip)

    def decode(self, data: bytes, src_ip: str, src_port: int, dst_ip: str) -> Message | None:
        """Our codec reads the datagram; undecodable ones are logged and dropped."""
        self.stats["received"] += 1
        try:
            return Message.decode(data)
        except MessageError as exc:
            self.stats["dropped"] += 1
            self.log(f"dropped {len(data)} bytes from {src_ip}:{src_port}: not a DHCP message ({exc})", problem=True)
        except Exception as exc:  # noqa: BLE001 - a codec bug must not stop the server
            self.stats["dropped"] += 1
            self.log(f"dropped {len(data)} bytes from {src_ip}:{src_port}: decoder error {exc!r}", problem=True)
        return None

    def answer(self, msg: Message, src_ip: str, src_port: int, dst_ip: str) -> None:
        """Hand a decoded request to the core; send what it returns."""
        via = msg.giaddr if msg.giaddr != "0.0.0.0" else self.interface
        if msg.op == 1 and not self.log.quiet:
            self.log(request_line(msg, via))
        effects = self.server.receive(
            msg, src_ip=src_ip, src_port=src_port, dst_ip=dst_ip or BROADCAST_IP, now=self.clock()
        )
        self._effects(effects, via, msg)

    def _effects(self, effects: list, via: str, msg: Message | None) -> None:
        """Notes to the log, replies to the link, DNS updates (after the replies) to the DDNS sender."""
        for effect in effects:
            if isinstance(effect, DnsUpdate):  # the DDNS core put it after the ACK: the ACK has gone
                if self.ddns is not None:
                    self.ddns.submit(effect)
                continue
            if isinstance(effect, Note):
                if effect.problem:  # a datagram refused, or a request the server could not serve
                    self.stats["dropped"] += 1
                if effect.problem or self.verbose or effect.text.startswith("DDNS"):
                    self.log(effect.text, problem=effect.problem)
            else:
                self.send(effect, via, msg)

    def send(self, out: Outgoing, via: str, request: Message | None = None) -> None:
        try:
            send_on_client_link(out, self.udp, self.link, self.server.config.server_ip)
        except OSError as exc:
            self.log(f"could not send {kind(out.message)} to {out.dst_ip}:{out.dst_port}: {exc}", problem=True)
            return
        self.stats["sent"] += 1
        if not self.log.quiet:
            self.log(describe_reply(out, via, request))


# -- the relay ---------------------------------------------------------------------------------
class RelayDriver:
    """Runs a :class:`~refimpl.dhcp.relay.RelayAgent` between ``client_interface`` and the servers."""

    def __init__(
        self,
        agent: RelayAgent,
        client_interface: str,
        log: LineLog | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.agent = agent
        self.interface = client_interface
        self.log = log or LineLog(name="dhcp-relay")
        self.clock = clock
        self.stats = {"received": 0, "sent": 0, "dropped": 0}
        # Client broadcasts arrive on the client interface; replies to them leave there.
        self.client_side = udp_socket(SERVER_PORT, device=client_interface)
        # Servers answer to giaddr:67 (RFC 2131 §4.1); requests go to them from giaddr:67.
        self.server_side = udp_socket(SERVER_PORT, address=agent.address)
        for sock in (self.client_side, self.server_side):  # as the server's, and for the same reason
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SERVER_RCVBUF)
        self.link = rawlink.PacketSocket(client_interface, ethertype=0)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.client_side.fileno(), self._readable, self.client_side, "client")
        loop.add_reader(self.server_side.fileno(), self._readable, self.server_side, "server")

    def close(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        for sock in (self.client_side, self.server_side):
            if loop is not None:
                loop.remove_reader(sock.fileno())
            sock.close()
        self.link.close()
        self.log.flush()

    def _readable(self, sock: socket.socket, side: str) -> None:
        for _ in range(BATCH):
            got = read_datagram(sock)
            if got is None:
                break
            try:
                self.handle(got[0], got[1], got[2], side)
            except Exception as exc:  # noqa: BLE001
                self.stats["dropped"] += 1
                self.log(f"dropped a datagram from {got[1]}:{got[2]}: internal error {exc!r}", problem=True)
        self.log.flush()

    def handle(self, data: bytes, src_ip: str, src_port: int, side: str) -> None:
        self.stats["received"] += 1
        try:
            msg = Message.decode(data)
        except MessageError as exc:
            self.stats["dropped"] += 1
            self.log(f"dropped {len(data)} bytes from {src_ip}:{src_port}: not a DHCP message ({exc})", problem=True)
            return
        if (msg.op == 1) != (side == "client"):
            return  # a request on the server side or a reply on the client side: not ours to relay
        for effect in self.agent.receive(msg, src_ip=src_ip, src_port=src_port, iface=side, now=self.clock()):
            if isinstance(effect, Note):
                if effect.problem:
                    self.stats["dropped"] += 1
                    self.log(effect.text, problem=True)
            else:
                self.send(effect, msg)

    def send(self, out: Outgoing, original: Message) -> None:
        try:
            if out.iface == "server":
                self.server_side.sendto(out.data, (out.dst_ip, out.dst_port))
            else:
                send_on_client_link(out, self.client_side, self.link, self.agent.address)
        except OSError as exc:
            self.log(f"could not send {kind(out.message)} to {out.dst_ip}:{out.dst_port}: {exc}", problem=True)
            return
        self.stats["sent"] += 1
        if out.iface == "server":
            self.log(
                f"{request_line(original, self.interface)}: forwarded to {out.dst_ip}:{out.dst_port} "
                f"(giaddr {out.message.giaddr}, hops {out.message.hops})"
            )
        else:
            self.log(describe_reply(out, self.interface))


# -- the client ---------------------------------------------------------------------------------
def _prefix(netmask: str) -> int:
    return ipaddress.ip_network(f"0.0.0.0/{netmask}").prefixlen


def lease_json(interface: str, lease, mac: str, monotonic_now: float) -> dict:
    """What ``dhcp-client`` prints: the lease as JSON-friendly values."""
    options = lease.options
    remaining = lease.expiry - monotonic_now
    return {
        "interface": interface,
        "mac": mac,
        "address": lease.address,
        "netmask": lease.netmask,
        "server_id": lease.server_id,
        "lease_time": lease.lease_time,
        "renew_in": round(max(0.0, lease.t1 - monotonic_now), 1),
        "rebind_in": round(max(0.0, lease.t2 - monotonic_now), 1),
        "expires": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + remaining)),
        "router": options.get(3),
        "dns": options.get(6),
        "domain": options.get(15),
    }


class ClientDriver:
    """Runs a :class:`~refimpl.dhcp.client.DhcpClient` on ``interface``.

    ``configure``: put the leased address on the interface (``ip addr``), and
    take it off on release. Renewals are unicast from the leased address, so a
    client that runs on should configure it (without, its RENEW leaves as a
    frame we address ourselves, but the server's reply to ``ciaddr`` needs ARP
    for an address this host does not hold).
    """

    def __init__(
        self,
        interface: str,
        *,
        configure: bool = False,
        arp_probe: bool = True,
        rng: random.Random | None = None,
        log: LineLog | None = None,
        on_lease: Callable[[dict], None] | None = None,
        broadcast_flag: bool = False,
    ):
        self.interface = interface
        self.mac = rawlink.interface_mac(interface)
        self.configure = configure
        self.arp_probe = arp_probe
        self.log = log or LineLog(stream=sys.stderr, name="dhcp-client")
        self.on_lease = on_lease
        rng = rng if rng is not None else random.Random(int.from_bytes(os.urandom(8), "big"))
        self.client = DhcpClient(
            self.mac,
            rng,
            link_local=False,
            broadcast=broadcast_flag,
            params=(1, 3, 6, 15, 28, 51, 54, 58, 59),
            timer_fuzz=TIMER_FUZZ,
        )
        self.loop: asyncio.AbstractEventLoop | None = None
        self.listen = rawlink.PacketSocket(interface, udp_port=CLIENT_PORT)  # every reply, whatever its IP
        self.udp = udp_socket(CLIENT_PORT, device=interface)
        self.raw = rawlink.PacketSocket(interface, ethertype=0)  # send-only
        self.next_hop_mac: dict[str, str] = {}  # server id -> MAC its replies came from
        self.configured: str | None = None  # "address/prefix" we put on the interface
        self.leases = 0  # leases obtained or renewed
        self.lease_event = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._arp: rawlink.PacketSocket | None = None
        self._reported = None

    # -- life cycle
    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        loop.add_reader(self.listen.fileno(), self._frames)
        loop.add_reader(self.udp.fileno(), self._drain_udp)
        self._apply(self.client.start(now=loop.time()))

    def release(self) -> bool:
        """Send DHCPRELEASE now if we hold a lease (RFC 2131 §4.4.6). True if one was sent."""
        assert self.loop is not None
        if self.client.lease is None:
            return False
        self._apply(self.client.release(now=self.loop.time()))
        return True

    def close(self) -> None:
        if self.loop is not None:
            for sock in (self.listen, self.udp, self._arp):
                if sock is not None:
                    self.loop.remove_reader(sock.fileno())
        if self._timer is not None:
            self._timer.cancel()
        self.listen.close()
        self.udp.close()
        self.raw.close()
        self._close_arp()
        self.log.flush()

    # -- input
    def _frames(self) -> None:
        for _ in range(BATCH):
            frame = self.listen.receive()
            if frame is None:
                break
            udp = rawlink.parse_udp_frame(frame)
            if udp is None or udp.dst_port != CLIENT_PORT:
                continue
            try:
                msg = Message.decode(udp.payload)
            except MessageError as exc:
                self.log(f"dropped {len(udp.payload)} bytes from {udp.src_ip}: {exc}", problem=True)
                continue
            if msg.op != 2 or msg.mac != self.mac:
                continue  # another client's reply (they are often broadcast)
            server = msg.get("server_id")
            if server:
                self.next_hop_mac[server] = udp.src_mac  # the server itself, or the relay towards it
            self.log(
                f"{kind(msg)} of {msg.yiaddr} from {server or udp.src_ip} via {self.interface} "
                f"(to {udp.dst_ip} at {udp.dst_mac})"
            )
            self._apply(self.client.receive(msg, now=self.loop.time()))
        self.log.flush()

    def _drain_udp(self) -> None:
        # The packet socket already saw these; reading keeps the queue empty.
        while read_datagram(self.udp) is not None:
            pass

    def _on_timer(self) -> None:
        self._timer = None
        self._apply(self.client.handle_timer(now=self.loop.time()))

    # -- effects
    def _apply(self, effects: list) -> None:
        now = self.loop.time()
        for effect in effects:
            if isinstance(effect, Outgoing):
                self._send(effect)
            elif isinstance(effect, ArpProbe):
                self._probe(effect)
                continue
            elif isinstance(effect, Configure):
                self._configure(effect)
            elif isinstance(effect, Unconfigure):
                self._unconfigure(effect)
            if self._arp is not None and not isinstance(effect, ArpProbe):
                self._close_arp()
        lease = self.client.lease
        if lease is not None and lease is not self._reported and self.client.state == "BOUND":
            self._reported = lease
            self.leases += 1
            self.log(f"bound to {lease.address} from {lease.server_id} for {lease.lease_time} s")
            if self.on_lease is not None:
                self.on_lease(lease_json(self.interface, lease, self.mac, now))
            self.lease_event.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self.client.get_timer()
        if when is not None:
            self._timer = self.loop.call_later(max(0.0, when - now), self._on_timer)
        self.log.flush()

    def _send(self, out: Outgoing) -> None:
        data = out.data
        text = f"{kind(out.message)} {out.src_ip}:{out.src_port} -> {out.dst_ip}:{out.dst_port} ({out.why})"
        try:
            if out.dst_ip == BROADCAST_IP or self.configured is not None:
                # RFC 2131 §4.1: with no address the kernel sends from 0.0.0.0.
                self.udp.sendto(data, (out.dst_ip, out.dst_port))
            else:
                # A unicast from a leased address the interface does not hold: build
                # the frame, to the MAC the server's replies came from.
                mac = self.next_hop_mac.get(out.dst_ip, rawlink.BROADCAST_MAC)
                self.raw.send_udp(mac, out.src_ip, out.dst_ip, out.src_port, out.dst_port, data)
        except OSError as exc:
            self.log(f"could not send: {text}: {exc}", problem=True)
            return
        self.log(text)

    def _probe(self, probe: ArpProbe) -> None:
        """RFC 2131 §4.4.1 / RFC 5227: ask "who has this address?" before using it."""
        if not self.arp_probe:
            self.loop.call_soon(self._probe_answer, False)
            return
        self._close_arp()
        self._arp = rawlink.PacketSocket(self.interface, ethertype=rawlink.ETH_P_ARP)
        self._arp_address = probe.address
        self.loop.add_reader(self._arp.fileno(), self._arp_frames)
        self._arp.send(rawlink.arp_probe_frame(self.mac, probe.address))
        self.log(f"ARP probe: who has {probe.address}? (silence for 1 s means free)")

    def _arp_frames(self) -> None:
        while self._arp is not None:
            frame = self._arp.receive()
            if frame is None:
                return
            if rawlink.arp_claims(frame, self._arp_address, self.mac):
                self.log(f"ARP: {self._arp_address} is in use by {rawlink.mac_text(frame[22:28])}", problem=True)
                self._close_arp()
                self._probe_answer(True)

    def _probe_answer(self, in_use: bool) -> None:
        self._apply(self.client.probe_result(in_use, now=self.loop.time()))

    def _close_arp(self) -> None:
        if self._arp is not None:
            if self.loop is not None:
                self.loop.remove_reader(self._arp.fileno())
            self._arp.close()
            self._arp = None

    def _ip(self, *args: str) -> None:
        result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)
        if result.returncode != 0:
            self.log(f"ip {' '.join(args)}: {result.stderr.strip()}", problem=True)

    def _configure(self, effect: Configure) -> None:
        if not self.configure:
            return
        cidr = f"{effect.address}/{_prefix(effect.netmask)}"
        if self.configured and self.configured != cidr:
            self._ip("addr", "del", self.configured, "dev", self.interface)
        self._ip("addr", "replace", cidr, "dev", self.interface)
        self.configured = cidr
        routers = effect.options.get(3) or []
        if routers:
            self._ip("route", "replace", "default", "via", routers[0], "dev", self.interface)
        self.log(f"configured {cidr} on {self.interface}" + (f", default via {routers[0]}" if routers else ""))

    def _unconfigure(self, effect: Unconfigure) -> None:
        if not self.configure or self.configured is None:
            return
        self._ip("addr", "del", self.configured, "dev", self.interface)  # its routes go with it
        self.log(f"removed {self.configured} from {self.interface} ({effect.why})")
        self.configured = None
