"""The simulated LAN: a deterministic network with a virtual clock.

    network  the Network: hosts, segments, the event queue and its clock, the Trace it records
    host     segments, interfaces, UDP sockets and hosts
    packet   what travels: packets, timers and loss rules
    tcp      just enough TCP to teach FTP's two connections
    boxes    routers, NAT and firewalls in the middle
    switch   an Ethernet switch with ports: MAC learning, per-port limits, hooks

It knows no protocol: the DHCP, FTP and TFTP cores plug into it through their
own ``sim_glue`` modules, which import this package (never the other way
round). Standard library only::

    from refimpl.sim import Network
    net = Network(seed=1)
"""

from .network import Network

__all__ = ["Network"]
