"""Reference DHCP and FTP implementation for the course.

Every protocol here is written *sans-I/O*: a core takes bytes (or events) and
the current time ``now`` and returns bytes (or effects). It never opens a
socket, sleeps or reads the clock. Drivers in :mod:`refimpl.net` move the
bytes: an in-memory simulated LAN, real asyncio sockets, or a pcap file.

Importing a core is cheap: no matplotlib, scapy or ipywidgets at import time.
"""

__version__ = "0.1.0"
