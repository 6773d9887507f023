"""The questions of lesson 10 (DHCP security and operations), joined into :mod:`refimpl.quiz.bank`.

A module of their own so the lesson's questions sit beside nothing else that
changes; the bank adds them to ``QUESTIONS`` and every bank test checks them
(right answer right, wrong answers wrong, an RFC section quoted as worded).
Snooping and split pools have no RFC: the explanations say what is common
practice and quote the RFC text nearest to it.
"""

from __future__ import annotations

from refimpl.quiz.question import Number, Question
from refimpl.quiz.question import turned_choice as _choice

QUESTIONS: tuple[Question, ...] = (
    _choice(
        id="10-rogue-first-offer",
        prompt=(
            "The rogue's OFFER reaches the client 2 ms before the real server's (which comes through a relay). "
            "Which offer does `refimpl`'s client take?"
        ),
        options=(
            "the rogue's: it came first, and the RFC leaves the choice to the client",
            "the real server's: a client prefers an offer that came through a relay",
            "neither: two different offers mean an attack, so it starts again",
            "the one with the longer lease time",
        ),
        answer=0,
        why=(
            'RFC 2131 §4.4.1: "The client collects DHCPOFFER messages over a period of time, selects one DHCPOFFER '
            "message from the (possibly many) incoming DHCPOFFER messages (e.g., the first DHCPOFFER message or the "
            "DHCPOFFER message from the previously used server) and extracts the server address from the 'server "
            "identifier' option in the DHCPOFFER message. The time over which the client collects messages and the "
            'mechanism used to select one DHCPOFFER are implementation dependent." Ours takes the first, as most do: '
            "nothing in the message tells a real server from a rogue."
        ),
        covers=("rogue-server",),
    ),
    Number(
        id="10-starvation-addresses",
        prompt=(
            "The pool has 20 addresses. A tool sends 40 DISCOVERs, each with a new invented `chaddr`, and REQUESTs "
            "every address offered. How many addresses does it hold a second later?"
        ),
        answer=20,
        why=(
            'RFC 2131 §7: "Where dynamic allocation of resources is used, a malicious client could claim all '
            'resources for itself, thereby denying resources to legitimate clients." Each invented chaddr is a '
            "new client to the server (§4.2 tells clients apart by client identifier or chaddr), so all 20 go; "
            "the last 20 DISCOVERs get no OFFER."
        ),
        covers=("starvation",),
    ),
    _choice(
        id="10-snooping-port",
        prompt="With DHCP snooping on, what makes the switch drop the rogue's DHCPOFFER?",
        options=(
            "it entered by an untrusted port, and it is a server message (UDP source port 67)",
            "the rogue's MAC address is not on the switch's list of servers",
            "the server identifier (option 54) is not the real server's address",
            "the OFFER carries no option 82",
        ),
        answer=0,
        why=(
            'Snooping is common switch practice (Cisco\'s "ip dhcp snooping"), not an RFC: it trusts ports, not '
            "addresses, because a port is a cable and a MAC can be typed in. The RFC nearest to it, RFC 3046 §2.1, "
            'leaves trust to the equipment: "The mechanisms for distinguishing between "trusted" and "untrusted" '
            "circuits are specific to the type of circuit termination equipment, and may involve local "
            'administration."'
        ),
        covers=("snooping",),
    ),
    _choice(
        id="10-rate-limit",
        prompt=(
            "The attacker's port may send 5 DHCP packets per second. A patient tool sends 2 DISCOVERs per second "
            "(4 packets a second with the REQUESTs). Of the 20 addresses, how many does it get, if a real client "
            "takes one at t=2 s?"
        ),
        options=(
            "19: the limit slows the attack, it does not stop it",
            "none: the limit stops starvation",
            "5: one per packet allowed per second",
            "10: half the pool",
        ),
        answer=0,
        why=(
            "A rate limit only caps the speed. What stops it is a limit per client port (port security, common "
            'switch practice) or per remote id at the server, which RFC 3046 §4.0 asks for: "The DHCP server '
            "SHOULD implement policies that restrict the number of IP addresses to be assigned to a single "
            'remote ID."'
        ),
        covers=("starvation", "snooping"),
    ),
    _choice(
        id="10-restart-address",
        prompt=(
            "pc1 holds 192.0.2.100. The server, which keeps its leases in memory only, restarts. Then pc2 asks for "
            "an address. What does the server offer pc2?"
        ),
        options=(
            "192.0.2.100, pc1's address: the restarted server does not know it is in use",
            "192.0.2.101: a server always skips an address it once gave out",
            "nothing until pc1 renews",
            "192.0.2.100, and pc1 is told to move by a DHCPNAK at once",
        ),
        answer=0,
        why=(
            'RFC 2131 §3.1 step 4: "The server selected in the DHCPREQUEST message commits the binding for the '
            'client to persistent storage and responds with a DHCPACK message". Forget that and the first design '
            'goal of §1.6 goes: "Guarantee that any specific network address will not be in use by more than one '
            "DHCP client at a time\". Here pc2's ARP probe finds pc1 and declines; pc1 is NAKed at its renewal."
        ),
        covers=("lease-store",),
    ),
    _choice(
        id="10-failover-standard",
        prompt="Which DHCP failover protocol is an RFC?",
        options=(
            "DHCPv6 failover (RFC 8156); the DHCPv4 failover draft never became an RFC",
            "DHCPv4 failover (RFC 2131); DHCPv6 has none",
            "both, in RFC 3046",
            "neither: failover is only vendor practice",
        ),
        answer=0,
        why=(
            'RFC 2131 §1.6 only expects several servers: "Some installations may include multiple, overlapping '
            'DHCP servers to enhance reliability and increase performance." How two DHCPv4 servers share leases '
            "was written down in draft-ietf-dhc-failover (ISC DHCP implements it), which expired as a draft. For "
            'DHCPv6, RFC 8156 (2017) "defines a protocol implementation to provide DHCPv6 failover".'
        ),
        covers=("failover",),
    ),
)
