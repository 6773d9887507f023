"""Where a DHCP message goes: the :class:`Outgoing` record and RFC 2131 §4.1.

The protocol cores (server, client, relay) never touch a socket. They return
``Outgoing`` records - "send this message to that IP and port" - and a driver
(the simulated LAN in :mod:`refimpl.sim.network`, or real asyncio sockets) moves
the bytes.

One case needs care: a client that has no address yet cannot receive an
ordinary unicast, because nobody can ARP for an address it does not have. The
server then sends to ``yiaddr`` *at the client's hardware address* (RFC 2131
§4.1) - ``to_chaddr=True``. A real driver writes the frame straight to
``chaddr`` (or, lacking that power, broadcasts); the simulator delivers it to
the host with that MAC.

:func:`reply_destination` is the server's rule from RFC 2131 §4.1, in order:

1. ``giaddr`` set (the request came through a relay): to ``giaddr``, port 67;
   a DHCPNAK then gets the BROADCAST bit so the relay broadcasts it (that
   rule is §4.3.2's, not §4.1's);
2. a DHCPNAK without relay: broadcast ``255.255.255.255``;
3. ``ciaddr`` set (the client already has an address: RENEWING, REBINDING,
   INFORM): unicast to ``ciaddr``, port 68;
4. the BROADCAST bit set: broadcast ``255.255.255.255``, port 68;
5. otherwise: unicast to ``yiaddr`` at ``chaddr`` (``to_chaddr``), port 68.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from refimpl.dhcp.describe import kind

SERVER_PORT = 67  # RFC 2131 §4.1: servers and relay agents listen on 67
CLIENT_PORT = 68  # RFC 2131 §4.1: clients listen on 68
BROADCAST_IP = "255.255.255.255"
ZERO_IP = "0.0.0.0"


@dataclass
class Outgoing:
    """One datagram a core wants sent.

    ``message`` is a :class:`refimpl.dhcp.Message`; ``data`` its bytes.
    ``iface`` names the side of a multi-homed box (a relay's ``"client"`` or
    ``"server"`` side); ``None`` means "the only interface". ``why`` is the
    rule that chose the destination, for traces and lessons.
    """

    message: Any
    dst_ip: str
    dst_port: int
    src_port: int
    src_ip: str = ZERO_IP
    to_chaddr: bool = False  # unicast to an address-less client, by hardware address
    iface: str | None = None
    why: str = ""

    @property
    def broadcast(self) -> bool:
        return self.dst_ip == BROADCAST_IP

    @property
    def chaddr(self) -> str:
        """The MAC address to deliver to when ``to_chaddr`` is set."""
        return self.message.mac

    @property
    def data(self) -> bytes:
        return self.message.encode()

    def __str__(self) -> str:
        via = f" via chaddr {self.chaddr}" if self.to_chaddr else ""
        return f"{kind(self.message)} {self.src_ip}:{self.src_port} -> {self.dst_ip}:{self.dst_port}{via}"


def reply_destination(request: Any, reply: Any, server_ip: str) -> Outgoing:
    """Address a server's reply as RFC 2131 §4.1 says (rules in the module docstring).

    May set the BROADCAST bit of a DHCPNAK sent through a relay.
    """
    is_nak = reply.message_type is not None and reply.message_type.name == "NAK"
    if request.giaddr != ZERO_IP:
        # RFC 2131 §4.1: "If the 'giaddr' field in a DHCP message from a client is
        # non-zero, the server sends any return messages to the 'DHCP server' port
        # on the BOOTP relay agent whose address appears in 'giaddr'."
        if is_nak:
            # RFC 2131 §4.3.2: "If 'giaddr' is set in the DHCPREQUEST message, the client is on a
            # different subnet. The server MUST set the broadcast bit in the DHCPNAK, so that the
            # relay agent will broadcast the DHCPNAK to the client, because the client may not have
            # a correct network address or subnet mask, and the client may not be answering ARP requests."
            reply.broadcast = True
        return Outgoing(reply, request.giaddr, SERVER_PORT, SERVER_PORT, server_ip, why="relay: giaddr port 67")
    if is_nak:
        # RFC 2131 §4.1: "In all cases, when 'giaddr' is zero, the server
        # broadcasts any DHCPNAK messages to 0xffffffff."
        return Outgoing(reply, BROADCAST_IP, CLIENT_PORT, SERVER_PORT, server_ip, why="NAK: broadcast")
    if request.ciaddr != ZERO_IP:
        # RFC 2131 §4.1: giaddr zero and ciaddr nonzero -> unicast to ciaddr.
        return Outgoing(reply, request.ciaddr, CLIENT_PORT, SERVER_PORT, server_ip, why="ciaddr: unicast")
    if request.broadcast:
        # RFC 2131 §4.1: broadcast bit set -> broadcast to 0xffffffff.
        return Outgoing(reply, BROADCAST_IP, CLIENT_PORT, SERVER_PORT, server_ip, why="broadcast bit: broadcast")
    # RFC 2131 §4.1: broadcast bit clear, ciaddr zero -> unicast to the client's
    # hardware address and yiaddr.
    return Outgoing(
        reply, reply.yiaddr, CLIENT_PORT, SERVER_PORT, server_ip, to_chaddr=True, why="unicast to yiaddr at chaddr"
    )
