"""Ethernet frames by hand: the packet socket (AF_PACKET) a DHCP driver needs.

Why a DHCP program needs more than UDP sockets
----------------------------------------------
A client that has no IP address yet cannot receive an ordinary unicast: the
server's kernel would ARP for ``yiaddr``, and nobody answers for an address
that is not configured yet; and the client's kernel would drop an IP packet
addressed to an address it does not own. RFC 2131 §4.1 gives the server two
ways out: broadcast the reply, or send it "to the client's hardware address
and 'yiaddr' address" - that is, write the Ethernet frame yourself with
``chaddr`` as the destination MAC. ISC dhcpd and busybox udhcpc do exactly
that, on a Linux *packet socket*. So do our drivers:

* the server and the relay send a reply to an address-less client as a frame
  built here (:func:`udp_frame`) on a :class:`PacketSocket`;
* the client listens on a :class:`PacketSocket` with a small BPF filter
  ("UDP to port 68"), so it sees the reply whatever IP address it carries.

A frame, as we build it::

    Ethernet (14 bytes)   dst MAC | src MAC | type 0x0800 (IPv4)
    IPv4     (20 bytes)   RFC 791, no options, TTL 64, header checksum
    UDP       (8 bytes)   RFC 768, with the checksum over the pseudo-header
    DHCP payload

Linux only; needs root (CAP_NET_RAW). Standard library only.
"""

from __future__ import annotations

import ctypes
import fcntl
import socket
import struct
from dataclasses import dataclass

ETH_P_ALL = 0x0003
ETH_P_IP = 0x0800  # EtherType of IPv4
ETH_P_ARP = 0x0806  # EtherType of ARP
BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
PACKET_OUTGOING = 4  # sll_pkttype of frames this host sent (linux/if_packet.h)
SO_ATTACH_FILTER = 26  # linux/asm-generic/socket.h
SIOCGIFADDR = 0x8915  # linux/sockios.h: get the interface's IPv4 address
SIOCGIFNETMASK = 0x891B


# -- the interface -----------------------------------------------------------------
def interface_mac(ifname: str) -> str:
    """The interface's hardware address, ``"02:00:00:00:00:01"``."""
    with open(f"/sys/class/net/{ifname}/address") as handle:
        return handle.read().strip().lower()


def _ifreq_ipv4(ifname: str, request: int) -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            answer = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", ifname.encode()[:15]))
        except OSError:
            return None  # EADDRNOTAVAIL: no IPv4 address on the interface
    return socket.inet_ntoa(answer[20:24])  # struct ifreq: name[16], sockaddr_in (family, port, addr)


def interface_ipv4(ifname: str) -> tuple[str, str] | None:
    """``(address, netmask)`` of the interface's first IPv4 address, or None."""
    address = _ifreq_ipv4(ifname, SIOCGIFADDR)
    if address is None:
        return None
    return address, _ifreq_ipv4(ifname, SIOCGIFNETMASK) or "255.255.255.255"


def mac_bytes(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def mac_text(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


# -- building and reading frames -------------------------------------------------------
def internet_checksum(data: bytes) -> int:
    """RFC 1071: the one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_frame(
    src_mac: str, dst_mac: str, src_ip: str, dst_ip: str, src_port: int, dst_port: int, payload: bytes, ttl: int = 64
) -> bytes:
    """Ethernet + IPv4 + UDP around ``payload``, checksums filled in."""
    src, dst = socket.inet_aton(src_ip), socket.inet_aton(dst_ip)
    udp_length = 8 + len(payload)
    # RFC 768: the UDP checksum covers a pseudo-header (src, dst, zero, protocol 17, length).
    pseudo = src + dst + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_length)
    udp_header = struct.pack("!HHHH", src_port, dst_port, udp_length, 0)
    checksum = internet_checksum(pseudo + udp_header + payload) or 0xFFFF  # 0 means "no checksum"
    udp = struct.pack("!HHHH", src_port, dst_port, udp_length, checksum) + payload
    # RFC 791: version 4, header length 5 words, no fragmentation (DF set), TTL, protocol 17.
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + len(udp), 0, 0x4000, ttl, socket.IPPROTO_UDP, 0, src, dst)
    ip_header = ip_header[:10] + struct.pack("!H", internet_checksum(ip_header)) + ip_header[12:]
    ethernet = mac_bytes(dst_mac) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_IP)
    return ethernet + ip_header + udp


@dataclass
class UdpFrame:
    """The parts of a received Ethernet/IPv4/UDP frame a DHCP driver looks at."""

    src_mac: str
    dst_mac: str
    src_ip: str
    dst_ip: str
    src_port: int
    dst_port: int
    payload: bytes


def parse_udp_frame(frame: bytes) -> UdpFrame | None:
    """Read an Ethernet/IPv4/UDP frame; None for anything else (or a fragment)."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14] >> 4 != 4 or ihl < 20 or frame[23] != socket.IPPROTO_UDP:
        return None
    if struct.unpack("!H", frame[20:22])[0] & 0x3FFF:  # more-fragments flag or an offset
        return None
    total = struct.unpack("!H", frame[16:18])[0]
    start = 14 + ihl
    if len(frame) < start + 8:
        return None
    src_port, dst_port, length = struct.unpack("!HHH", frame[start : start + 6])
    end = min(start + length, 14 + total, len(frame))
    return UdpFrame(
        mac_text(frame[6:12]),
        mac_text(frame[0:6]),
        socket.inet_ntoa(frame[26:30]),
        socket.inet_ntoa(frame[30:34]),
        src_port,
        dst_port,
        frame[start + 8 : end],
    )


def udp_port_filter(port: int) -> list[tuple[int, int, int, int]]:
    """A classic BPF program: accept IPv4 UDP datagrams to ``port``, not fragments.

    The same program ``tcpdump -dd "udp dst port 68"`` prints (less the
    EtherType test: the socket is bound to IPv4 already). The kernel runs it on
    every frame, so the program only wakes up for DHCP.
    """
    return [
        (0x30, 0, 0, 23),  # 0: ldb [23]            IPv4 protocol
        (0x15, 0, 6, 17),  # 1: jeq #17 ? 2 : 8     UDP?
        (0x28, 0, 0, 20),  # 2: ldh [20]            flags + fragment offset
        (0x45, 4, 0, 0x1FFF),  # 3: jset #0x1fff ? 8 : 4   a fragment: drop
        (0xB1, 0, 0, 14),  # 4: ldxb 4*([14]&0xf)   X = IPv4 header length
        (0x48, 0, 0, 16),  # 5: ldh [x+16]          UDP destination port
        (0x15, 0, 1, port),  # 6: jeq #port ? 7 : 8
        (0x06, 0, 0, 0x40000),  # 7: ret #262144        accept the frame
        (0x06, 0, 0, 0),  # 8: ret #0             drop it
    ]


class PacketSocket:
    """An AF_PACKET socket on one interface: send and receive whole Ethernet frames."""

    def __init__(self, ifname: str, ethertype: int = ETH_P_IP, udp_port: int | None = None):
        """``ethertype`` 0 makes a send-only socket: the kernel queues no frames for it."""
        self.ifname = ifname
        self.mac = interface_mac(ifname)
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ethertype))
        if udp_port is not None:
            self._attach_filter(udp_port_filter(udp_port))
        self.sock.bind((ifname, ethertype))
        self.sock.setblocking(False)

    def _attach_filter(self, program: list[tuple[int, int, int, int]]) -> None:
        code = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
        self._filter = ctypes.create_string_buffer(code)  # must outlive the call
        fprog = struct.pack("HL", len(program), ctypes.addressof(self._filter))  # struct sock_fprog
        self.sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, fprog)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, frame: bytes) -> None:
        self.sock.send(frame)

    def send_udp(self, dst_mac: str, src_ip: str, dst_ip: str, src_port: int, dst_port: int, payload: bytes) -> None:
        self.send(udp_frame(self.mac, dst_mac, src_ip, dst_ip, src_port, dst_port, payload))

    def receive(self) -> bytes | None:
        """The next frame *received* (frames this host sent are skipped); None when none is waiting."""
        while True:
            try:
                frame, address = self.sock.recvfrom(65535)
            except BlockingIOError:
                return None
            if address[2] != PACKET_OUTGOING:
                return frame

    def close(self) -> None:
        self.sock.close()


# -- ARP probe (RFC 5227 §2.1.1) --------------------------------------------------------
def arp_probe_frame(src_mac: str, address: str) -> bytes:
    """An ARP request "who has ``address``?" with sender IP 0.0.0.0, broadcast.

    RFC 5227 §2.1.1: a probe uses sender IP 0.0.0.0 so that it does not
    pollute other hosts' ARP caches with an address we may not get to keep.
    """
    ethernet = mac_bytes(BROADCAST_MAC) + mac_bytes(src_mac) + struct.pack("!H", ETH_P_ARP)
    # htype 1 (Ethernet), ptype IPv4, hlen 6, plen 4, op 1 (request)
    arp = struct.pack("!HHBBH", 1, ETH_P_IP, 6, 4, 1)
    arp += mac_bytes(src_mac) + socket.inet_aton("0.0.0.0") + bytes(6) + socket.inet_aton(address)
    return ethernet + arp


def arp_claims(frame: bytes, address: str, own_mac: str) -> bool:
    """True if ``frame`` is an ARP packet from another host whose sender IP is ``address``."""
    if len(frame) < 42 or frame[12:14] != b"\x08\x06":
        return False
    sender_mac, sender_ip = mac_text(frame[22:28]), socket.inet_ntoa(frame[28:32])
    return sender_ip == address and sender_mac != own_mac
