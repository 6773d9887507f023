"""Real sockets for the protocol cores (the "asyncio UDP/TCP on real interfaces" box of DESIGN.md).

The DHCP drivers live in :mod:`refimpl.net.dhcp_sockets` (server, client and
relay on one interface each, with the Ethernet-frame helpers of
:mod:`refimpl.net.rawlink`); this module only gathers their names so that
``from refimpl.net.sockets import ServerDriver`` works as the design says.
"""

from refimpl.net.dhcp_sockets import ClientDriver, LineLog, RelayDriver, ServerDriver, read_datagram, udp_socket

__all__ = ["ClientDriver", "LineLog", "RelayDriver", "ServerDriver", "read_datagram", "udp_socket"]
