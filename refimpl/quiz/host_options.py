"""The questions of lesson 09 (options that configure a host, and DHCPv6), joined into :mod:`refimpl.quiz.bank`.

A module of their own, like lesson 10's (:mod:`refimpl.quiz.security`): the bank
adds them to ``QUESTIONS`` and every bank test checks them (right answer right,
wrong answers wrong, an RFC section quoted as worded).
"""

from __future__ import annotations

from refimpl.quiz.question import Number, Question
from refimpl.quiz.question import turned_choice as _choice

QUESTIONS: tuple[Question, ...] = (
    _choice(
        id="09-default-route-121",
        prompt=(
            "The ACK carries option 3 (router 192.0.2.1) and option 121 with two routes: 198.51.100.0/24 via "
            "192.0.2.254 and 0.0.0.0/0 via 192.0.2.2. Which gateway does the host use for 203.0.113.9?"
        ),
        options=(
            "192.0.2.2: with option 121 present the client ignores option 3",
            "192.0.2.1: option 3 is the default router and always wins",
            "both, in turn: the host balances between the two default routes",
            "none: 203.0.113.9 is in no route, so it is unreachable",
        ),
        answer=0,
        why=(
            'RFC 3442 (DHCP Client Behavior): "If the DHCP server returns both a Classless Static Routes option '
            'and a Router option, the DHCP client MUST ignore the Router option." So the default route is the '
            '0.0.0.0/0 entry of option 121. (RFC 2132 §3.5 on option 3 itself: "Routers SHOULD be listed in order '
            'of preference."; a host without 121 uses the first.)'
        ),
        covers=("router-and-mask",),
    ),
    Number(
        id="09-option-33-prefix",
        prompt=(
            "Option 33 (static routes) carries the pair (10.1.2.0, 192.0.2.254). What prefix length does a host "
            "give the route to 10.1.2.0? (a number, e.g. 24)"
        ),
        answer=8,
        why=(
            'RFC 3442 (Introduction): "The Static Routes option (option 33) does not provide a subnet mask for each '
            'route". The mask is the class of the network number: 10.1.2.0 is class A, so /8, and the route covers '
            'all of 10.0.0.0/8. RFC 2132 §5.8 adds: "The default route (0.0.0.0) is an illegal destination for a '
            'static route."'
        ),
        covers=("router-and-mask",),
    ),
    _choice(
        id="09-siaddr-or-66",
        prompt=(
            "A PXE client gets an OFFER with `siaddr` = 192.0.2.69 and `file` = `pxelinux.0` in the header, and no "
            "options 66 or 67. Where does it fetch its boot file from?"
        ),
        options=(
            "by TFTP from 192.0.2.69, the file named in the header's file field",
            "from the DHCP server itself: siaddr is only a loopback placeholder",
            "nowhere: without options 66 and 67 there is no boot information",
            "by FTP from the relay agent named in giaddr",
        ),
        answer=0,
        why=(
            'RFC 2131 §2: siaddr is the "IP address of next server to use in bootstrap; returned in DHCPOFFER, '
            'DHCPACK by server." Options 66 and 67 (RFC 2132 §9.4, §9.5) carry the same information as options, '
            "for when sname and file are used to hold options."
        ),
        covers=("addresses-before-lease",),
    ),
    _choice(
        id="09-relay-82-who",
        prompt="Who puts option 82 (relay agent information) into a DHCP message, and who takes it out?",
        options=(
            "the relay agent adds it on the way to the server and removes it from the reply to the client",
            "the client adds it so the server knows its switch port",
            "the server adds it to the ACK so the relay knows the lease",
            "the client and the server both add it, and compare",
        ),
        answer=0,
        why=(
            'RFC 3046 §2.1: "The Relay Agent Information option echoed by a server MUST be removed by either the '
            "relay agent or the trusted downstream network element which added it when forwarding a server-to-client "
            'response back to the client." The client never sees it.'
        ),
        covers=("giaddr-relay",),
    ),
    _choice(
        id="09-dhcpv6-router",
        prompt=(
            "A host's DHCPv6 REPLY gives it an address (IA_NA) and DNS servers. Where does its default route come from?"
        ),
        options=(
            "from router advertisements (ICMPv6, RFC 4861): DHCPv6 has no router option",
            "from the DHCPv6 router option, like DHCPv4's option 3",
            "from the server's address: the DHCPv6 server is the default router",
            "from the ff02::1:2 multicast group",
        ),
        answer=0,
        why=(
            'RFC 4861 §4.2, Router Lifetime: "The lifetime associated with the default router in units of '
            'seconds." Default routers are learnt from router advertisements; RFC 8415 defines no option that '
            "names one."
        ),
        covers=("router-and-mask",),
    ),
    _choice(
        id="09-m-flag",
        prompt="A router advertisement has M = 1. What does the flag tell the host?",
        options=(
            "that addresses are available via DHCPv6",
            "that the host must not use SLAAC on any prefix",
            "that the router is also the DHCPv6 server",
            "that the advertised prefix is managed by the ISP",
        ),
        answer=0,
        why=(
            'RFC 4861 §4.2: M is the "Managed address configuration" flag: "When set, it indicates that addresses '
            'are available via Dynamic Host Configuration Protocol [DHCPv6]." Whether a prefix may be used for '
            "SLAAC is a different bit, the A flag of the prefix information option."
        ),
        covers=("addresses-before-lease",),
    ),
)
