"""DHCP (RFC 2131) as a sans-I/O reference implementation.

:mod:`refimpl.dhcp.message` encodes and decodes messages from one table of the
BOOTP header; :mod:`refimpl.dhcp.options` is the option registry. Standard
library only: importing this package never imports scapy, matplotlib or
ipywidgets (the scapy bridge is :mod:`refimpl.dhcp.scapy_bridge`, imported on
demand).
"""

from .message import HEADER_FIELDS, Message, MessageError, Span, hexdump
from .options import OPTIONS, MessageType, option_spec

__all__ = ["HEADER_FIELDS", "OPTIONS", "Message", "MessageError", "MessageType", "Span", "hexdump", "option_spec"]
