"""DHCP (RFC 2131) as a sans-I/O reference implementation.

    message       the message: one table of the BOOTP header drives encode, decode, show()
    options       the option registry (code, name, codec, RFC) and its codecs
    delivery      where a reply goes (RFC 2131 §4.1) and the Outgoing record drivers send
    leases        the address pool and lease store: which address a client gets
    leasefile     the append-only lease file that survives a crash
    server        the server of RFC 2131 §4.3
    client        the client state machine, one table (RFC 2131 figure 5)
    relay         the relay agent (RFC 1542, RFC 3046 option 82)
    sim_glue      the cores on the simulated network; scenarios: lessons in one call
    scapy_bridge  to and from scapy packets and pcap files (imports scapy on demand)

Standard library only: importing this package never imports scapy, matplotlib
or ipywidgets.
"""

from .message import HEADER_FIELDS, Message, MessageError, Span, hexdump
from .options import OPTIONS, MessageType, option_spec

__all__ = ["HEADER_FIELDS", "OPTIONS", "Message", "MessageError", "MessageType", "Span", "hexdump", "option_spec"]
