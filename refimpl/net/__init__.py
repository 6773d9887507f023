"""Drivers that move a protocol core's bytes: a simulated LAN, real sockets, captures.

:mod:`refimpl.net.sim` is the deterministic simulated network the lessons use
(virtual clock, seeded loss, UDP broadcast, TCP, NAT and firewall boxes)::

    from refimpl.net.sim import Network
    net = Network(seed=1)

Importing this package imports nothing heavy (no scapy, no matplotlib).
"""
