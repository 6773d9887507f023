"""The one label of a DHCP message, for every trace and every log line.

A message is named by its kind (:func:`kind`: ``DHCPDISCOVER``, ``DHCPOFFER``,
...) and a short summary of the fields a student looks at first
(:func:`summary`)::

    DHCPDISCOVER  xid=0x3903f326
    DHCPOFFER     xid=0x3903f326 yiaddr=192.0.2.100 sid=192.0.2.1 lease=3600
    DHCPREQUEST   xid=0x3903f326 req=192.0.2.100 sid=192.0.2.1
    DHCPREQUEST   xid=0x5a1c0e22 ciaddr=192.0.2.100          (RENEWING: ciaddr set, no 50/54)

The simulated network (:mod:`refimpl.dhcp.sim_glue`) and the capture reader
(:mod:`refimpl.capture.dhcp`) both label messages with these two functions,
so a diagram of a capture of real programs looks like one of a simulation.
The socket drivers' log lines (:mod:`refimpl.sockets.dhcp`) use the same kind
names in the sentences ISC dhcpd writes (:func:`request_line`,
:func:`reply_line`: "DHCPOFFER on 192.0.2.10 to 02:00:00:00:00:01 via eth0"),
and so do the server's notes. Standard library only.
"""

from __future__ import annotations

from typing import Any

from .message import Message, MessageError
from .options import MessageType

UNDECODABLE = "undecodable"  # the kind of a datagram on port 67/68 our codec refuses
_ZERO_IP = "0.0.0.0"


def kind(message: Message) -> str:
    """``"DHCPOFFER"``; a plain BOOTP message (no option 53) is ``BOOTREQUEST`` or ``BOOTREPLY`` (RFC 951)."""
    name = message.message_type
    if name is not None:
        return f"DHCP{name.name}"
    return "BOOTREQUEST" if message.op == 1 else "BOOTREPLY"


def summary(message: Message) -> str:
    """The key fields, short enough for an arrow label: ``"xid=0x3903f326 yiaddr=192.0.2.10 sid=192.0.2.1"``.

    ``xid`` always (it ties a reply to its request, RFC 2131 §4.1); ``ciaddr``,
    ``yiaddr`` and ``giaddr`` only when set; ``hops`` when a relay counted;
    ``req`` (option 50), ``sid`` (option 54) and ``lease`` (option 51) when
    present; ``B`` when the BROADCAST bit is set (RFC 2131 §4.1).
    """
    parts = [f"xid=0x{message.xid:08x}"]
    for name in ("ciaddr", "yiaddr", "giaddr"):
        value = getattr(message, name)
        if value != _ZERO_IP:
            parts.append(f"{name}={value}")
    if message.hops:
        parts.append(f"hops={message.hops}")
    for label, option in (("req", "requested_ip"), ("sid", "server_id"), ("lease", "lease_time")):
        value = message.get(option)
        if value is not None:
            parts.append(f"{label}={value}")
    if message.broadcast:
        parts.append("B")
    return " ".join(parts)


def describe_datagram(raw: bytes) -> tuple[str, str, Any]:
    """``(kind, summary, message)`` of one datagram, as a trace records it.

    Bytes our codec refuses read ``("undecodable", the reason, None)``, the
    same in a simulation as in a capture.
    """
    try:
        message = Message.decode(raw)
    except MessageError as exc:
        return UNDECODABLE, str(exc), None
    return kind(message), summary(message), message


# -- log lines, in ISC dhcpd's words --------------------------------------------------
def request_line(message: Message, via: str) -> str:
    """``"DHCPREQUEST for 192.0.2.10 (192.0.2.1) from 02:00:00:00:00:01 via eth0"``: a message a client sent."""
    name = message.message_type
    if name == MessageType.REQUEST:
        asked = message.get("requested_ip") or message.ciaddr
        server = message.get("server_id")
        return f"DHCPREQUEST for {asked}{f' ({server})' if server else ''} from {message.mac} via {via}"
    if name in (MessageType.RELEASE, MessageType.DECLINE):
        address = message.ciaddr if name == MessageType.RELEASE else message.get("requested_ip")
        return f"{kind(message)} of {address} from {message.mac} via {via}"
    if name == MessageType.INFORM:
        return f"DHCPINFORM from {message.ciaddr} ({message.mac}) via {via}"
    return f"{kind(message)} from {message.mac} via {via}"


def reply_line(message: Message, via: str, request: Message | None = None) -> str:
    """``"DHCPOFFER on 192.0.2.10 to 02:00:00:00:00:01 via eth0"``: a server's reply (a NAK says why)."""
    address = message.yiaddr if message.yiaddr != _ZERO_IP else message.ciaddr
    if address == _ZERO_IP and request is not None:  # a NAK names the address it refuses
        address = request.get("requested_ip") or request.ciaddr
    on = f" on {address}" if address != _ZERO_IP else ""
    text = message.get("message") if message.message_type == MessageType.NAK else None
    why = f" ({text})" if text else ""
    return f"{kind(message)}{on} to {message.mac} via {via}{why}"


__all__ = ["UNDECODABLE", "describe_datagram", "kind", "reply_line", "request_line", "summary"]
