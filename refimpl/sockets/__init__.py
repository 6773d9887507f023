"""asyncio drivers that put the sans-I/O cores on real interfaces.

    dhcp         the DHCP server, client and relay on one interface each
    rawlink      Ethernet frames by hand (AF_PACKET), which a DHCP client needs
    ftp_server   the FTP server: control connection as an asyncio Protocol, data sockets
    ftp_client   the FTP client
    tftp_server  the TFTP server: one socket per transfer
    tftp_client  TFTP get and put

The cores decide *what* to send; these modules only move bytes and read the
clock. Nothing below :mod:`refimpl.sockets` imports it.
"""
