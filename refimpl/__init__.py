"""Reference DHCP and FTP implementation for the course.

Every protocol here is written *sans-I/O*: a core takes bytes (or events) and
the current time ``now`` and returns bytes (or effects). It never opens a
socket, sleeps or reads the clock. Drivers move the bytes: an in-memory
simulated LAN, real asyncio sockets, or a pcap file.

The layers, each importing only the ones above it in this list::

    trace.py, jail.py   one trace format; the jailed filesystem FTP and TFTP share
    sim/                the simulated LAN (virtual clock, UDP, TCP, boxes); knows no protocol
    dhcp/ ftp/ tftp/    sans-I/O cores, with their sim glue, scenarios and describe module
    sockets/            asyncio drivers on real interfaces, one module per protocol
    capture/            pcap files <-> Trace, and the recorders of real sessions
    lab/                network-namespace test hosts and process helpers
    cli/                the ``python -m refimpl`` commands
    viz/                pictures and widgets, for notebooks and grading feedback only
    grading/ bench/     release, grade, refresh; benchmarks beside their peers

Importing a core is cheap: no matplotlib, scapy or ipywidgets at import time.
"""

__version__ = "0.1.0"
