"""Deliberate faults of the DHCP cores, for the diagnosis exercises only (issue 12).

A diagnosis task hands a student a broken run: the student names the rule the
run breaks, with its RFC section, and changes one setting to mend it. Each
fault here is one named flag on the thing that has it, off by default, and
nothing in the course turns one on except the ``diagnose_*`` scenarios of
:mod:`refimpl.dhcp.scenarios` (a test checks that). A fault changes only what
goes on the wire, so it shows in the trace as a real misbehaving program's
would; the cores' logs say nothing about it.

=========================================  ===========================================
fault                                      the rule it breaks
=========================================  ===========================================
``ServerFaults.ignore_broadcast_flag``     RFC 2131 §4.1: OFFER and ACK are unicast to
                                           ``yiaddr`` at ``chaddr`` although the client
                                           set the BROADCAST bit
``RelayFaults.clear_nak_broadcast``        RFC 2131 §4.1 and §4.3.2: the relay clears the
                                           BROADCAST bit of a DHCPNAK and unicasts it to
                                           ``yiaddr``, which a NAK leaves 0.0.0.0
``ClientFaults.ignore_t1``                 RFC 2131 §4.4.5: the client skips RENEWING and
                                           waits for T2, then broadcasts (REBINDING)
=========================================  ===========================================
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerFaults:
    """Faults of :class:`~refimpl.dhcp.server.DhcpServer` (``ServerConfig(faults=...)``)."""

    ignore_broadcast_flag: bool = False  # breaks RFC 2131 §4.1: unicast OFFER/ACK whatever the flag says

    @property
    def any(self) -> bool:
        return self.ignore_broadcast_flag


@dataclass(frozen=True)
class RelayFaults:
    """Faults of :class:`~refimpl.dhcp.relay.RelayAgent` (``RelayAgent(..., faults=...)``)."""

    clear_nak_broadcast: bool = False  # breaks RFC 2131 §4.1/§4.3.2: a DHCPNAK loses its BROADCAST bit

    @property
    def any(self) -> bool:
        return self.clear_nak_broadcast


@dataclass(frozen=True)
class ClientFaults:
    """Faults of :class:`~refimpl.dhcp.client.DhcpClient` (``DhcpClient(..., faults=...)``)."""

    ignore_t1: bool = False  # breaks RFC 2131 §4.4.5: no RENEWING at T1, straight to REBINDING at T2

    @property
    def any(self) -> bool:
        return self.ignore_t1


NO_SERVER_FAULTS, NO_RELAY_FAULTS, NO_CLIENT_FAULTS = ServerFaults(), RelayFaults(), ClientFaults()
