"""Captures: pcap files in and out of the course's :class:`~refimpl.trace.Trace`.

    dhcp         read a DHCP capture into a Trace (lifelines named from what DHCP says)
    ftp          read an FTP capture (control and data connections) into a Trace
    tftp         read a TFTP capture, following each transfer's TIDs
    scapy_dhcp   our DHCP Message to and from scapy packets
    recorder     tcpdump around a block of code: what every recorder below shares
    record_dhcp  record the course's own DHCP capture (udhcpc against our server)
    record_ftp   record an FTP session (ftplib against our server)
    record_tftp  record real TFTP programs against tftpd-hpa

scapy is imported inside the functions that need it, so importing a module
here stays cheap.
"""
