"""DHCP (RFC 2131) as a sans-I/O reference implementation.

    message       the message: one table of the BOOTP header drives encode, decode, show()
    options       the option registry (code, name, codec, RFC), its codecs, and the one
                  walk over code/length/value blocks
    ipv4          IPv4 addresses as text, bytes and integers
    describe      the one label of a message (kind, summary) for every trace and log
    delivery      where a reply goes (RFC 2131 §4.1) and the Outgoing record drivers send
    notes         the Note effect: what a core says about its decisions, and of what kind
    leases        the address pool and lease store: which address a client gets
    leasefile     the append-only lease file that survives a crash
    server        the server of RFC 2131 §4.3
    client        the client state machine, one table (RFC 2131 figure 5)
    relay         the relay agent (RFC 1542, RFC 3046 option 82)
    faults        deliberate faults, off by default, for the diagnosis exercises (issue 12)
    sim_glue      the cores on the simulated network; scenarios: lessons in one call

Every core has the same interface (after aioquic): ``receive(data, ..., now=t)``,
``get_timer()``, ``handle_timer(now=t)``, ``now`` always a keyword, and each
returns a list of effects - datagrams to send, notes, and for the client ARP
probes and interface changes.

Drivers live elsewhere: :mod:`refimpl.sockets.dhcp` on a real interface,
:mod:`refimpl.capture.dhcp` for a pcap, :mod:`refimpl.capture.scapy_dhcp` to and
from scapy packets, :mod:`refimpl.cli.dhcp` for the command line.

Standard library only: importing this package never imports scapy, matplotlib
or ipywidgets.
"""

from .message import HEADER_FIELDS, Message, MessageError, Span, hexdump
from .options import OPTIONS, MessageType, option_spec

__all__ = ["HEADER_FIELDS", "OPTIONS", "Message", "MessageError", "MessageType", "Span", "hexdump", "option_spec"]
