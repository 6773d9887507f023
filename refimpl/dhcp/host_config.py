"""What a lease's options do to the host: its routing table, resolver and MTU.

A DHCP client does not stop at an address. Options 1 and 3 become the
on-link route and the default route; 33 and 121 add static routes; 6 and 15
become the resolver's settings; 26 sets the interface MTU. This module turns
the options of an ACK into that configuration, as plain data a lesson can
print, so the rules are visible in a few lines:

* RFC 3442 (DHCP Client Behavior): "If the DHCP server returns both a
  Classless Static Routes option and a Router option, the DHCP client MUST
  ignore the Router option." The same for option 33.
* Option 33 has no mask on the wire: the destination's class gives it
  (RFC 2132 §5.8, RFC 3442 explains why that is no longer useful).

Pure functions, no I/O: the host applies the result, the lesson prints it.
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple

from refimpl.dhcp.options import option_spec


class Route(NamedTuple):
    """One row of the host's routing table."""

    destination: str  # "a.b.c.d/width"
    gateway: str | None  # None: on-link (the destination is reached directly)
    source: str  # which option made it, e.g. "option 121"


class HostConfig(NamedTuple):
    """Everything an ACK tells the host, beyond its address."""

    address: str
    prefix: str  # "a.b.c.d/width" of the client's own subnet
    broadcast: str
    routes: tuple[Route, ...]
    dns_servers: tuple[str, ...]
    domain: str | None
    mtu: int | None
    ignored: tuple[str, ...]  # options the host received but must not use, with the reason

    def table(self) -> str:
        """The routing table as `ip route` would list it (longest prefix first)."""
        lines = [f"{'destination':<20} {'via':<16} from"]
        for r in self.routes:
            lines.append(f"{r.destination:<20} {r.gateway or 'on-link':<16} {r.source}")
        return "\n".join(lines)

    def resolv_conf(self) -> str:
        """The lines a Linux host would write to /etc/resolv.conf (options 15 and 6)."""
        lines = [f"search {self.domain}"] if self.domain else []
        lines += [f"nameserver {ip}" for ip in self.dns_servers]
        return "\n".join(lines)


def classful_network(address: str) -> str:
    """The class A/B/C network of an address (RFC 791 §3.2), the only mask option 33 can mean."""
    first = int(address.split(".")[0])
    width = 8 if first < 128 else 16 if first < 192 else 24
    return str(ipaddress.ip_network(f"{address}/{width}", strict=False))


def _get(options: dict, name: str):
    return options.get(option_spec(name).code)


def host_config(address: str, options: dict) -> HostConfig:
    """The host's configuration from ``address`` (yiaddr) and the lease's options {code: value}."""
    mask = _get(options, "subnet_mask") or "255.255.255.255"
    subnet = ipaddress.ip_network(f"{address}/{mask}", strict=False)
    broadcast = _get(options, "broadcast_address") or str(subnet.broadcast_address)
    routes = [Route(str(subnet), None, "option 1 (mask)")]
    ignored = []
    classless = _get(options, "classless_static_routes")
    routers = _get(options, "router") or []
    statics = _get(options, "static_routes") or []
    if classless:  # RFC 3442: 121 present -> 3 and 33 are ignored
        for cidr, gateway in classless:
            routes.append(Route(cidr, None if gateway == "0.0.0.0" else gateway, "option 121"))
        if routers:
            ignored.append("option 3 (router): RFC 3442, the client MUST ignore it when 121 is present")
        if statics:
            ignored.append("option 33 (static routes): RFC 3442, ignored when 121 is present")
    else:
        if routers:  # RFC 2132 §3.5: in order of preference; a host uses the first
            routes.append(Route("0.0.0.0/0", routers[0], "option 3 (router)"))
        for dest, gateway in statics:
            if dest == "0.0.0.0":  # RFC 2132 §5.8: "an illegal destination for a static route"
                ignored.append("option 33 route to 0.0.0.0: RFC 2132 §5.8, an illegal destination")
                continue
            routes.append(Route(classful_network(dest), gateway, "option 33 (classful)"))
    routes.sort(key=lambda r: -ipaddress.ip_network(r.destination).prefixlen)
    return HostConfig(
        address=address,
        prefix=str(subnet),
        broadcast=broadcast,
        routes=tuple(routes),
        dns_servers=tuple(_get(options, "dns_servers") or ()),
        domain=_get(options, "domain_name"),
        mtu=_get(options, "interface_mtu"),
        ignored=tuple(ignored),
    )


def route_for(config: HostConfig, destination: str) -> Route | None:
    """The route the host uses for ``destination``: the longest prefix that contains it."""
    ip = ipaddress.ip_address(destination)
    for r in config.routes:  # sorted longest prefix first
        if ip in ipaddress.ip_network(r.destination):
            return r
    return None
