"""Captures: pcap files in and out of the course's :class:`~refimpl.trace.Trace`.

    dhcp         read a DHCP capture into a Trace (lifelines named from what DHCP says)
    ftp          read an FTP capture (control and data connections) into a Trace
    tftp         read a TFTP capture, following each transfer's TIDs
    scapy_dhcp   our DHCP Message to and from scapy packets
    recorder     tcpdump around a block of code: what every recorder below shares
    record_dhcp  record the course's own DHCP capture (udhcpc against our server)
    record_ftp   record an FTP session (ftplib against our server)
    record_tftp  record real TFTP programs against tftpd-hpa
    dns, app, ftps  DNS and DDNS; HTTP, Telnet and SSH; FTPS (lessons 08 and 11), with their recorders

:data:`SHIPPED` is the folder of the captures the course ships, found from the
package itself: a notebook that names ``../refimpl/data/captures`` works only
where it sits beside the package, and a student release or a copy elsewhere
would not find it.

scapy is imported inside the functions that need it, so importing a module
here stays cheap.
"""

from pathlib import Path

SHIPPED = Path(__file__).resolve().parent.parent / "data" / "captures"


def shipped(name: str) -> Path:
    """The shipped capture ``name`` (a FileNotFoundError names the folder and what is in it)."""
    path = SHIPPED / name
    if not path.is_file():
        have = ", ".join(sorted(p.name for p in SHIPPED.glob("*.pcap")))
        raise FileNotFoundError(f"no capture {name!r} in {SHIPPED}; the course ships: {have}")
    return path
