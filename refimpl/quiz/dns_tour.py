"""The questions of lesson 08 (DNS and DDNS), joined into :mod:`refimpl.quiz.bank`.

A module of their own, like lessons 09 and 10's; the bank adds them to
``QUESTIONS`` and every bank test checks them (right answer right, wrong
answers wrong, an RFC section quoted as worded). The quotes are transcribed
from the RFC texts (RFC 1034, 1035, 2131, 2136, 2181, 4703, 5936, 6891);
tests/test_lesson_08.py checks that the lesson quotes the same words.
"""

from __future__ import annotations

from refimpl.quiz.question import Number, Question
from refimpl.quiz.question import turned_choice as _choice

RFC1035_TRANSPORT = (
    "The Internet supports name server access using TCP [RFC-793] on server port 53 (decimal) as well as "
    "datagram access using UDP [RFC-768] on UDP port 53 (decimal)."
)
RFC1035_UDP = (
    "UDP is not acceptable for zone transfers, but is the recommended method for standard queries in the Internet."
)
RFC1035_512 = (
    "Messages carried by UDP are restricted to 512 bytes (not counting the IP or UDP headers). Longer messages "
    "are truncated and the TC bit is set in the header."
)
RFC1035_QNAME = (
    "a domain name represented as a sequence of labels, where each label consists of a length octet followed by "
    "that number of octets. The domain name terminates with the zero length octet for the null label of the root."
)
RFC1035_OFFSET = (
    "The OFFSET field specifies an offset from the start of the message (i.e., the first octet of the ID field in "
    "the domain header). A zero offset specifies the first byte of the ID field, etc."
)
RFC1035_REFRESH = "Zone refresh activities must use virtual circuits because of the need for reliable transfer."
RFC1034_NON_RECURSIVE = (
    "The simplest mode for the server is non-recursive, since it can answer queries using only local information: "
    'the response contains an error, the answer, or a referral to some other server "closer" to the answer.'
)
RFC1034_RECURSIVE = (
    "The simplest mode for the client is recursive, since in this mode the name server acts in the role of a "
    "resolver and returns either an error or the answer, but never referrals."
)
RFC2181_TC = (
    "When a DNS client receives a reply with TC set, it should ignore that response, and query again, using a "
    "mechanism, such as a TCP connection, that will permit larger replies."
)
RFC5936_UDP = "AXFR sessions over UDP transport are not defined."
RFC6891_512 = "Traditional DNS messages are limited to 512 octets in size when sent over UDP [RFC1035]."
RFC2136_ABSTRACT = (
    "Using this specification of the UPDATE opcode, it is possible to add or delete RRs or RRsets from a "
    "specified zone."
)
RFC2136_ATOMIC = (
    "UPDATE is atomic, i.e., all prerequisites must be satisfied or else no update operations will take place."
)
RFC4703_ABSTRACT = (
    "This document identifies situations in which conflicts in the use of fully qualified domain names may arise "
    "among DHCP clients and servers, and it describes a strategy for the use of the DHCID DNS resource record (RR) "
    "in resolving those conflicts."
)
RFC2131_PORTS = (
    "DHCP uses UDP as its transport protocol. DHCP messages from a client to a server are sent to the 'DHCP "
    "server' port (67), and DHCP messages from a server to a client are sent to the 'DHCP client' port (68)."
)

QUESTIONS: tuple[Question, ...] = (
    # ---------------------------------------------------------------- 1 the map
    _choice(
        id="08-dns-transport",
        prompt="A laptop's resolver asks for the address of `www.example.com`. What carries its first query?",
        options=("UDP, to port 53", "TCP, to port 53", "UDP, to port 67", "TCP, to port 80"),
        answer=0,
        why=(
            f'RFC 1035 §4.2: "{RFC1035_TRANSPORT}" and §4.2.1: "{RFC1035_UDP}" So a query goes over UDP first; '
            "TCP is there for answers too big for a datagram and for zone transfers."
        ),
        covers=("dns-transport",),
    ),
    _choice(
        id="08-fixed-client-port",
        prompt="In which protocol of the map is the *client's* port fixed by the standard, not an ephemeral one?",
        options=("DHCP", "DNS", "HTTP", "SSH"),
        answer=0,
        why=(
            f'RFC 2131 §4.1: "{RFC2131_PORTS}" A DHCP client has no address yet, so the server cannot answer to '
            "a port it picked at random: both ends are fixed. DNS, HTTP and SSH clients send from ephemeral ports."
        ),
        covers=("app-ports",),
    ),
    # ---------------------------------------------------------------- 2 the message
    Number(
        id="08-query-size",
        prompt="How many bytes long is a query for `www.example.com`, type A, class IN, without EDNS?",
        answer=33,
        why=(
            f'The header is 12 bytes (RFC 1035 §4.1.1). The name, RFC 1035 §4.1.2: "{RFC1035_QNAME}" '
            "So 1+3 (www) + 1+7 (example) + 1+3 (com) + 1 (the root) = 17 bytes, then QTYPE and QCLASS, "
            "two bytes each: 12 + 17 + 4 = 33."
        ),
        covers=("dns-message",),
    ),
    Number(
        id="08-pointer-offset",
        prompt=(
            "In the answer, the record's name field holds just the two bytes `c0 0c`. At which offset of the "
            "message does the name it stands for begin?"
        ),
        answer=12,
        why=(
            f'RFC 1035 §4.1.4: the two top bits 11 mark a pointer; "{RFC1035_OFFSET}" 0xc00c without its top '
            "two bits is 0x000c = 12: the first byte after the 12-byte header, where the question's name starts."
        ),
        covers=("dns-compression",),
    ),
    # ---------------------------------------------------------------- 3 query and answer
    _choice(
        id="08-tc-retry",
        prompt="The answer that comes back over UDP has TC=1. What does a resolver do with it?",
        options=(
            "drops it and asks the same question again over TCP",
            "uses the records it holds: they are the first part of the answer",
            "asks again over UDP, hoping for a shorter answer",
            "reports an error to the program that asked",
        ),
        answer=0,
        why=f'RFC 2181 §9: "{RFC2181_TC}" (RFC 1035 §4.2.1: "{RFC1035_512}")',
        covers=("dns-truncation",),
    ),
    # ---------------------------------------------------------------- 4 recursion and iteration
    _choice(
        id="08-root-referral",
        prompt=(
            "The recursive resolver asks a root server for `www.example.com`, with RD=0. What does the root "
            "server send back?"
        ),
        options=(
            "a referral: the NS records of `com` and their addresses, with AA=0",
            "the address of `www.example.com`, after asking the other servers itself",
            "NXDOMAIN: the root zone holds no `www.example.com`",
            "nothing: root servers answer only queries with RD=1",
        ),
        answer=0,
        why=(
            f'RFC 1034 §4.3.1: "{RFC1034_NON_RECURSIVE}" Recursion is the other mode: "{RFC1034_RECURSIVE}" '
            "A root server does not recurse, so it refers."
        ),
        covers=("dns-iteration",),
    ),
    # ---------------------------------------------------------------- 5 zone transfer and sizes
    _choice(
        id="08-axfr-transport",
        prompt="A secondary server copies the whole zone from the primary (AXFR). Over what?",
        options=(
            "TCP, to port 53",
            "UDP, to port 53, one datagram per record",
            "UDP with EDNS(0), in one big datagram",
            "TFTP, as a file",
        ),
        answer=0,
        why=(
            f'RFC 1035 §4.2: "{RFC1035_REFRESH}" and §4.2.1: "{RFC1035_UDP}" RFC 5936 §4.2 keeps it so: "{RFC5936_UDP}"'
        ),
        covers=("dns-axfr",),
    ),
    Number(
        id="08-udp-limit",
        prompt=(
            "A query comes over UDP *without* an OPT record (no EDNS). How many bytes, at most, may the DNS "
            "message of the answer be?"
        ),
        answer=512,
        why=(
            f'RFC 1035 §4.2.1: "{RFC1035_512}" RFC 6891 §4.3: "{RFC6891_512}" With EDNS(0) the asker names a '
            "larger size in its OPT record, and the answer may be that large."
        ),
        covers=("dns-truncation", "edns"),
    ),
    # ---------------------------------------------------------------- 6 DDNS
    _choice(
        id="08-ddns-meaning",
        prompt="In DDNS, what is dynamic?",
        options=(
            "the records of a zone: a program changes them with UPDATE messages sent to the zone's server",
            "the name server: a special kind of server, a 'Dynamic Domain Name Server'",
            "the server's own IP address, which it gets by DHCP",
            "the TTLs, which the server shortens when the load is high",
        ),
        answer=0,
        why=(
            f'RFC 2136 (abstract): "{RFC2136_ABSTRACT}" It is an opcode, UPDATE = 5 (RFC 2136 §1.3), which '
            "any authoritative server may accept: not a kind of server."
        ),
        covers=("ddns",),
    ),
    _choice(
        id="08-rival-dhcid",
        prompt=(
            "`host7` holds a lease and its name is in the zone. A second client, `rival`, asks for a lease with "
            "the same host name. What does the zone hold afterwards for `host7.example.com`?"
        ),
        options=(
            "the first client's A record and DHCID: the rival's updates fail their prerequisites",
            "the rival's address: the latest lease wins the name",
            "both addresses, one A record each",
            "nothing: a conflict removes the name",
        ),
        answer=0,
        why=(
            f'RFC 4703 (abstract): "{RFC4703_ABSTRACT}" Its rule (RFC 4703 §5.3.1, §5.3.2): '
            "add the name only if it is not in use, else replace the address only if the DHCID beside it "
            "is this client's. The rival's DHCID differs, so its second UPDATE fails (NXRRSET), and "
            "RFC 2136 (abstract): "
            f'"{RFC2136_ATOMIC}"'
        ),
        covers=("ddns", "dhcid"),
    ),
)
