"""The lessons' questions, by id: each lesson cell calls ``ask("<id>")`` and carries that id.

They sit in one file so a test can check every one (its right answer is right,
a wrong one is wrong, its explanation cites an RFC section) and a teacher can
read them in one place. Together lessons 01-04 ask every question of the
classic DHCP Wireshark lab; ``covers`` names the lab's topic each one asks
(:data:`WIRESHARK_LAB` lists them). Quotes are the RFCs' own words.

Ids start with the lesson's number, so ``01-transport`` is asked in lesson 01.
"""

from __future__ import annotations

from refimpl.quiz import app_tour, dns_tour, ftp_today, host_options, security
from refimpl.quiz.question import Number, Question, Short
from refimpl.quiz.question import turned_choice as _choice

#: The questions of the classic DHCP Wireshark lab, as topic tags.
WIRESHARK_LAB = (
    "transport",
    "ports",
    "discover-vs-request",
    "xid-four-messages",
    "xid-renew",
    "xid-retransmission",
    "addresses-before-lease",
    "server-identifier",
    "offered-address",
    "giaddr-no-relay",
    "giaddr-relay",
    "router-and-mask",
    "lease-t1-t2",
    "release",
    "arp-check",
)


_PORTS_QUOTE = (
    'RFC 2131 §4.1: "DHCP uses UDP as its transport protocol. DHCP messages from a client to a server are '
    "sent to the 'DHCP server' port (67), and DHCP messages from a server to a client are sent to the "
    "'DHCP client' port (68).\""
)

QUESTIONS: tuple[Question, ...] = (
    # ---------------------------------------------------------------- lesson 01
    _choice(
        id="01-transport",
        prompt="Which transport protocol carries a DHCP message?",
        options=("TCP", "UDP", "none: DHCP sits directly on IP", "ICMP"),
        answer=1,
        why=_PORTS_QUOTE,
        covers=("transport",),
    ),
    Number(
        id="01-client-to-server-port",
        prompt="To which UDP port does a client send its DHCPDISCOVER?",
        answer=67,
        why=_PORTS_QUOTE + " So the client sends to 67 and listens on 68.",
        covers=("ports",),
    ),
    _choice(
        id="01-giaddr-no-relay",
        prompt="A client on the same link as the server builds a DHCPDISCOVER. What is in `giaddr`?",
        options=(
            "0.0.0.0",
            "the server's address",
            "the router's address",
            "255.255.255.255",
        ),
        answer=0,
        why=(
            'RFC 2131 §2, table 1: giaddr is the "Relay agent IP address, used in booting via a relay agent." '
            "With no relay nobody fills it in, so it stays 0 (and RFC 2131 §4.1 then has the server answer on "
            "the client's own link, not to a relay)."
        ),
        covers=("giaddr-no-relay",),
    ),
    _choice(
        id="01-discover-or-request",
        prompt=(
            "A DHCPDISCOVER and a DHCPREQUEST from the same client can both have `op` 1, the same `xid`, "
            "and go from 0.0.0.0:68 to 255.255.255.255:67. What in the bytes tells them apart?"
        ),
        options=(
            "the `op` field",
            "the value of option 53, DHCP message type (1 = DISCOVER, 3 = REQUEST)",
            "the `flags` field",
            "the UDP destination port",
        ),
        answer=1,
        why=(
            'RFC 2132 §9.6: "This option is used to convey the type of the DHCP message. The code for this '
            'option is 53, and its length is 1." Its legal values include 1 DHCPDISCOVER and 3 DHCPREQUEST; '
            "`op` is only BOOTREQUEST or BOOTREPLY (RFC 2131 §2, table 1)."
        ),
        covers=("discover-vs-request",),
    ),
    _choice(
        id="01-router-and-mask",
        prompt="A DISCOVER's option 55 asks for options 1 and 3. What do they carry?",
        options=(
            "1: the client's subnet mask; 3: the routers (default gateways) on the client's subnet",
            "1: the lease time; 3: the DNS servers",
            "1: the server identifier; 3: the requested address",
            "1: the router; 3: the subnet mask",
        ),
        answer=0,
        why=(
            'RFC 2132 §3.3: "The subnet mask option specifies the client\'s subnet mask as per RFC 950 [5]." '
            "RFC 2132 §3.5: \"The router option specifies a list of IP addresses for routers on the client's "
            'subnet. Routers SHOULD be listed in order of preference."'
        ),
        covers=("router-and-mask",),
    ),
    Number(
        id="01-server-id-option",
        prompt="Which option number carries the DHCP server's address, the server identifier?",
        answer=54,
        why=(
            'RFC 2132 §9.7: "The identifier is the IP address of the selected server. The code for this '
            'option is 54, and its length is 4."'
        ),
        covers=("server-identifier",),
    ),
    _choice(
        id="01-offered-address-field",
        prompt="In a DHCPOFFER, which field holds the address offered to the client?",
        options=("`ciaddr`", "`yiaddr`", "`siaddr`", "`giaddr`"),
        answer=1,
        why=(
            "RFC 2131 §2, table 1: yiaddr is \"'your' (client) IP address.\" ciaddr is the client's own "
            'address, "only filled in if client is in BOUND, RENEW or REBINDING state", and siaddr is the '
            '"IP address of next server to use in bootstrap".'
        ),
        covers=("offered-address",),
    ),
    # ---------------------------------------------------------------- lesson 02
    _choice(
        id="02-addresses-before-lease",
        prompt="The client has no address yet. Which IP source and destination does its DHCPDISCOVER carry?",
        options=(
            "0.0.0.0 -> 255.255.255.255",
            "169.254.0.1 -> 255.255.255.255",
            "0.0.0.0 -> the server's address",
            "its old address -> 192.0.2.255",
        ),
        answer=0,
        why=(
            'RFC 2131 §4.1: "DHCP messages broadcast by a client prior to that client obtaining its IP '
            'address must have the source address field in the IP header set to 0." RFC 2131 §4.4.1: the '
            'client "broadcasts the DHCPDISCOVER on the local hardware broadcast address to the 0xffffffff IP '
            "broadcast address and 'DHCP server' UDP port.\""
        ),
        covers=("addresses-before-lease",),
    ),
    _choice(
        id="02-xid-four-messages",
        prompt="DISCOVER, OFFER, REQUEST, ACK: how do their `xid` fields compare?",
        options=(
            "all four carry the same xid",
            "each message has a new xid",
            "the client's two share one xid, the server's two another",
            "only OFFER and ACK carry an xid",
        ),
        answer=0,
        why=(
            "RFC 2131 §4.4.1: \"The DHCPREQUEST message contains the same 'xid' as the DHCPOFFER message.\" "
            "RFC 2131 §4.3.1, table 3: the OFFER carries \"'xid' from client DHCPDISCOVER message\" and the "
            "ACK \"'xid' from client DHCPREQUEST message\"."
        ),
        covers=("xid-four-messages",),
    ),
    _choice(
        id="02-arp-check",
        prompt="After the DHCPACK and before using the address, what does the client put on the wire?",
        options=(
            "nothing: the ACK is the end",
            "an ARP request for the offered address, with sender IP 0.0.0.0",
            "an ARP request for the server's address",
            "a ping to the router",
        ),
        answer=1,
        why=(
            'RFC 2131 §4.4.1: "The client SHOULD perform a check on the suggested address to ensure that the '
            "address is not already in use. For example, if the client is on a network that supports ARP, the "
            'client may issue an ARP request for the suggested request." (sic: the suggested address) "When '
            "broadcasting an ARP request for the suggested address, the client must fill in its own hardware "
            "address as the sender's hardware address, and 0 as the sender's IP address\"."
        ),
        covers=("arp-check",),
    ),
    _choice(
        id="02-server-identifier",
        prompt="The client never knew the server. How does it learn the server's address?",
        options=(
            "from option 54, server identifier, in the DHCPOFFER",
            "from `siaddr`",
            "from option 3, router",
            "it never does: it always broadcasts",
        ),
        answer=0,
        why=(
            'RFC 2132 §9.7: "DHCP servers include this option in the DHCPOFFER in order to allow the client to '
            "distinguish between lease offers. DHCP clients use the contents of the 'server identifier' field "
            'as the destination address for any DHCP messages unicast to the DHCP server." siaddr is the next '
            "boot server (RFC 2131 §2, table 1), not necessarily the DHCP server."
        ),
        covers=("server-identifier",),
    ),
    Number(
        id="02-t1-default",
        prompt=(
            "A server grants a lease of 3600 s and sends no option 58. How many seconds after the lease "
            "starts does the client try to renew (T1)?"
        ),
        answer=1800,
        unit="s",
        why=(
            'RFC 2131 §4.4.5: "T1 defaults to (0.5 * duration_of_lease). T2 defaults to (0.875 * '
            'duration_of_lease)." Options 58 and 59 (RFC 2132 §9.11, §9.12) override the defaults.'
        ),
        covers=("lease-t1-t2",),
    ),
    # ---------------------------------------------------------------- lesson 03
    _choice(
        id="03-t1-t2-options",
        prompt="Which options carry the lease time, T1 and T2?",
        options=("51, 58 and 59", "50, 51 and 52", "1, 3 and 6", "54, 55 and 56"),
        answer=0,
        why=(
            'RFC 2132 §9.2: the lease time "code for this option is 51"; §9.11 ("Renewal (T1) Time Value"): '
            '"The code for this option is 58"; §9.12 ("Rebinding (T2) Time Value"): "The code for this '
            'option is 59". Without 58 and 59, RFC 2131 §4.4.5: "T1 defaults to (0.5 * duration_of_lease). '
            'T2 defaults to (0.875 * duration_of_lease)."'
        ),
        covers=("lease-t1-t2",),
    ),
    Number(
        id="03-t2-default",
        prompt="A lease of 600 s comes without option 59. After how many seconds does the client start REBINDING?",
        answer=525,
        unit="s",
        why='RFC 2131 §4.4.5: "T2 defaults to (0.875 * duration_of_lease)." 0.875 x 600 = 525.',
        covers=("lease-t1-t2",),
    ),
    _choice(
        id="03-renew-xid",
        prompt=(
            "Later the bound client extends its lease: it sends a DHCPREQUEST with `ciaddr` filled in and a "
            "server answers with a DHCPACK. How do the xids of that pair compare with each other and with the "
            "first DISCOVER's?"
        ),
        options=(
            "all three are the same",
            "the REQUEST and its ACK share an xid; it is a new one, not the DISCOVER's",
            "the ACK carries the DISCOVER's xid",
            "a renewal carries no xid",
        ),
        answer=1,
        why=(
            "The pair must match: RFC 2131 §4.4.5: \"Any DHCPACK messages that arrive with an 'xid' that does not "
            "match the 'xid' of the client's DHCPREQUEST message are silently discarded.\" That it differs from "
            "the first exchange's is how clients number exchanges, not a MUST: RFC 2131 §4.1's example is that "
            "\"a client may choose a different, random initial 'xid' each time the client is rebooted, and "
            "subsequently use sequential 'xid's until the next reboot.\" This course's client draws a fresh "
            "random xid for each new exchange (our policy)."
        ),
        covers=("xid-renew",),
    ),
    _choice(
        id="03-retransmission-xid",
        prompt=(
            "Nobody answers and the client sends its DISCOVER (or REQUEST) again. What does RFC 2131 say about its xid?"
        ),
        options=(
            "it MUST be the same xid",
            "it MUST be a new xid",
            "either: the client may keep the xid or choose a new one",
            "the xid is set to 0 on a retransmission",
        ),
        answer=2,
        why=(
            "RFC 2131 §4.1: \"Selecting a new 'xid' for each retransmission is an implementation decision. A "
            "client may choose to reuse the same 'xid' or select a new 'xid' for each retransmitted message.\" "
            "This course's client keeps it (run the next cell and compare the retransmissions)."
        ),
        covers=("xid-retransmission",),
    ),
    _choice(
        id="03-release-answer",
        prompt="The client sends a DHCPRELEASE. What does the server send back?",
        options=("a DHCPACK", "a DHCPNAK", "nothing", "a DHCPOFFER for a new address"),
        answer=2,
        why=(
            'RFC 2131 §4.3.4: "Upon receipt of a DHCPRELEASE message, the server marks the network address as '
            "not allocated.\" No reply is defined: RFC 2131 table 3 (§4.3.1) lists a server's only messages, "
            "DHCPOFFER, DHCPACK and DHCPNAK, as answers to DISCOVER, REQUEST and INFORM."
        ),
        covers=("release",),
    ),
    _choice(
        id="03-release-why",
        prompt="Why would a client send DHCPRELEASE at all?",
        options=(
            "it must, when its lease expires",
            "to give its address back early when it no longer needs it, e.g. when shut down gracefully",
            "to ask for a longer lease",
            "to tell other clients the address is taken",
        ),
        answer=1,
        why=(
            'RFC 2131 §4.4.6: "If the client no longer requires use of its assigned network address (e.g., the '
            "client is gracefully shut down), the client sends a DHCPRELEASE message to the server. Note that "
            'the correct operation of DHCP does not depend on the transmission of DHCPRELEASE messages." At '
            "expiry it just stops using the address (§4.4.5)."
        ),
        covers=("release",),
    ),
    # ---------------------------------------------------------------- lesson 04
    _choice(
        id="04-giaddr-relay",
        prompt="A relay agent forwards a client's DHCPDISCOVER to the server. What does it write into `giaddr`?",
        options=(
            "nothing: giaddr stays 0.0.0.0",
            "its own address on the client's segment",
            "the server's address",
            "the client's MAC address",
        ),
        answer=1,
        why=(
            'RFC 2131 §2, table 1: giaddr is the "Relay agent IP address, used in booting via a relay agent." '
            "RFC 1542 §4.1.1: the relay fills it with its address on the interface the request came in on, if "
            'it was 0; RFC 2131 §4.3.1: "the address is selected based on ... the address of the relay agent '
            "that forwarded the message ('giaddr' when not 0)\"."
        ),
        covers=("giaddr-relay",),
    ),
    Number(
        id="04-hops",
        prompt="The client sent `hops` 0. What is `hops` when the DISCOVER reaches the server through one relay?",
        answer=1,
        why=(
            'RFC 2131 §2, table 1: hops: "Client sets to zero, optionally used by relay agents when booting via '
            'a relay agent." RFC 1542 §4.1.1: each relay adds one, and discards a request whose hops exceeds '
            "its threshold."
        ),
        covers=("giaddr-relay",),
    ),
    Number(
        id="04-reply-port-relay",
        prompt="`giaddr` is not 0. To which UDP port does the server send its DHCPOFFER?",
        answer=67,
        why=(
            "RFC 2131 §4.1: \"If the 'giaddr' field in a DHCP message from a client is non-zero, the server sends "
            "any return messages to the 'DHCP server' port on the BOOTP relay agent whose address appears in "
            "'giaddr'.\" The 'DHCP server' port is 67; the relay then delivers to the client's port 68."
        ),
        covers=("giaddr-relay", "ports"),
    ),
    _choice(
        id="04-renew-through-relay",
        prompt="Later the client renews at T1. Does its DHCPREQUEST go through the relay agent?",
        options=(
            "yes, every DHCP message must",
            "no: it is unicast to the server identifier, routed like any packet",
            "no: it is broadcast on the server's segment",
            "yes, and the relay sets giaddr again",
        ),
        answer=1,
        why=(
            'RFC 2131 §4.4.5: "At time T1 the client moves to RENEWING state and sends (via unicast) a '
            'DHCPREQUEST message to the server to extend its lease." RFC 2131 §4.1: "DHCP clients MUST use the '
            "IP address provided in the 'server identifier' option for any unicast requests to the DHCP "
            'server." The client has an address now, so ordinary routing reaches the server.'
        ),
        covers=("server-identifier", "lease-t1-t2"),
    ),
    _choice(
        id="04-which-offer",
        prompt="Two servers make offers. How do they learn which one the client took?",
        options=(
            "the client unicasts a REQUEST to the chosen server only",
            "the broadcast DHCPREQUEST carries the chosen server's identifier (option 54)",
            "the first server to answer wins; the other never learns",
            "the client sends DHCPDECLINE to the other",
        ),
        answer=1,
        why=(
            'RFC 2132 §9.7: "DHCP clients also indicate which of several lease offers is being accepted by '
            'including this option in a DHCPREQUEST message." RFC 2131 §4.4.1: the client "sends that address '
            "in the 'server identifier' field of a DHCPREQUEST broadcast message\", so every server hears it."
        ),
        covers=("server-identifier",),
    ),
    # ---------------------------------------------------------------- lesson 05
    _choice(
        id="05-transport",
        prompt="Which transport carries FTP's control connection?",
        options=("UDP", "TCP", "either, chosen per session", "none: FTP sits on IP"),
        answer=1,
        why=(
            'RFC 959 §8: "The FTP control connection is established via TCP between the user process port U '
            'and the server process port L." (TFTP, lesson 07, is the one on UDP.)'
        ),
        covers=("ftp-transport",),
    ),
    Number(
        id="05-control-port",
        prompt="To which TCP port does the client open the control connection?",
        answer=21,
        why='RFC 959 §8: "This protocol is assigned the service port 21 (25 octal), that is L=21."',
        covers=("ftp-ports",),
    ),
    _choice(
        id="05-password-clear",
        prompt="Someone captures the control connection. What do they see of `PASS`?",
        options=(
            "the password, in clear text",
            "a hash of the password",
            "nothing: PASS is encrypted",
            "only the password's length",
        ),
        answer=0,
        why=(
            "RFC 959 §4.1.1, PASSWORD (PASS): \"The argument field is a Telnet string specifying the user's "
            'password." and "It appears that the server has no foolproof way to achieve this." (to mask it). '
            "Plain FTP has no encryption; FTPS (RFC 4217) adds TLS."
        ),
        covers=("ftp-cleartext",),
    ),
    Number(
        id="05-user-reply",
        prompt="The client sends `USER alice`. Which reply code asks it for the password?",
        answer=331,
        why=(
            'RFC 959 §4.2.1 lists "331 User name okay, need password." RFC 959 §4.2, 3yz Positive '
            'Intermediate reply: "The command has been accepted, but the requested action is being held in '
            'abeyance, pending receipt of further information." The further information is PASS.'
        ),
        covers=("ftp-replies",),
    ),
    _choice(
        id="05-first-digit-5",
        prompt="A reply starts with the digit 5 (say 530 or 550). What does the first digit say?",
        options=(
            "success",
            "more information needed",
            "try again later (transient)",
            "permanent failure: do not repeat the same command",
        ),
        answer=3,
        why=(
            'RFC 959 §4.2, 5yz Permanent Negative Completion reply: "The command was not accepted and the '
            "requested action did not take place. The User-process is discouraged from repeating the exact "
            'request (in the same sequence)." A 4yz is the transient one.'
        ),
        covers=("ftp-replies",),
    ),
    Short(
        id="05-multiline-end",
        prompt=(
            "A multi-line reply starts with the line `211-Features:`. Its last line begins with `211` and then "
            "which character?"
        ),
        answers=("a space", "space", "sp", "<sp>", "blank", "a blank"),
        why=(
            'RFC 959 §4.2: "The last line will begin with the same code, followed immediately by Space <SP>, '
            'optionally some text, and the Telnet end-of-line code." The first line has a hyphen instead.'
        ),
        covers=("ftp-replies",),
    ),
    # ---------------------------------------------------------------- lesson 06
    Number(
        id="06-active-data-port",
        prompt="Active mode (PORT): from which port does the server open the data connection?",
        answer=20,
        why=(
            'RFC 959 §3.2: "The server-process default data port is the port adjacent to the control '
            'connection port (i.e., L-1)." With L = 21 (RFC 959 §8) that is 20.'
        ),
        covers=("ftp-ports",),
    ),
    _choice(
        id="06-passive-who-connects",
        prompt="Passive mode (PASV): who opens the data connection?",
        options=(
            "the server, from port 20",
            "the client, to the port the 227 reply names",
            "a third host",
            "nobody: the control connection carries the data",
        ),
        answer=1,
        why=(
            'RFC 959 §4.1.2, PASSIVE (PASV): "This command requests the server-DTP to "listen" on a data port '
            "(which is not its default data port) and to wait for a connection rather than initiate one upon "
            'receipt of a transfer command."'
        ),
        covers=("ftp-modes",),
    ),
    Number(
        id="06-pasv-port",
        prompt=(
            "The server answers `227 Entering Passive Mode (192,0,2,1,117,97)`. To which port does the client connect?"
        ),
        answer=117 * 256 + 97,
        why=(
            'RFC 959 §4.1.2: the address is "the concatenation of a 32-bit internet host address and a 16-bit '
            'TCP port address. This address information is broken into 8-bit fields". So the port is p1 x 256 + '
            "p2 = 117 x 256 + 97 = 30049."
        ),
        covers=("pasv-port",),
    ),
    _choice(
        id="06-227-format",
        prompt="How should a client read the six numbers out of a 227 reply?",
        options=(
            "take the text between the parentheses",
            "scan the reply for the first digit, then read six comma-separated numbers",
            "read fixed columns 27 to 50",
            "the numbers are in binary after the text",
        ),
        answer=1,
        why=(
            'RFC 1123 §4.1.2.6: "an FTP client cannot assume that the parentheses shown on page 40 of RFC-959 '
            "will be present (and in fact, Figure 3 on page 43 omits them). Therefore, a User-FTP program that "
            'interprets the PASV reply must scan the reply for the first digit of the host and port numbers."'
        ),
        covers=("227-format",),
    ),
    _choice(
        id="06-nat-active",
        prompt=(
            "The client sits behind a NAT, uses active mode and announces the NAT's public address in PORT. "
            "What happens to the data connection?"
        ),
        options=(
            "the control connection cannot even be opened",
            "the server's SYN from port 20 is dropped by the NAT, and the transfer fails with 425",
            "it works: the NAT forwards every inbound connection to the client",
            "the server refuses the PORT command with 530",
        ),
        answer=1,
        why=(
            "In active mode the server opens the data connection (RFC 959 §3.2: the server's default data port "
            'is "the port adjacent to the control connection port (i.e., L-1)") to the port PORT named. A NAT '
            "lets an inbound packet pass only when it answers a mapping an inside host opened, and the client "
            "only listens on that port, so the SYN is dropped. The server then answers \"425 Can't open data "
            'connection." (RFC 959 §4.2.1).'
        ),
        covers=("ftp-nat",),
    ),
    # ---------------------------------------------------------------- lesson 07
    Number(
        id="07-request-port",
        prompt="To which UDP port does a TFTP client send its read request (RRQ)?",
        answer=69,
        why=(
            'RFC 1350 §4: "A requesting host chooses its source TID as described above, and sends its initial '
            'request to the known TID 69 decimal (105 octal) on the serving host."'
        ),
        covers=("tftp-port",),
    ),
    _choice(
        id="07-reply-port",
        prompt="From which port does the server send DATA block 1?",
        options=("69", "a new port (TID) the server chose for this transfer", "the client's port", "20"),
        answer=1,
        why=(
            'RFC 1350 §4: "The response to the request, under normal operation, uses a TID chosen by the server '
            "as its source TID and the TID chosen for the previous message by the requestor as its destination "
            'TID."'
        ),
        covers=("tftp-tid",),
    ),
    Number(
        id="07-data-opcode",
        prompt="What opcode does a DATA packet carry in its first two bytes?",
        answer=3,
        why=(
            'RFC 1350 §5: opcode "1 Read request (RRQ) 2 Write request (WRQ) 3 Data (DATA) 4 Acknowledgment '
            '(ACK) 5 Error (ERROR)".'
        ),
        covers=("tftp-opcodes",),
    ),
    Number(
        id="07-first-block",
        prompt="What is the block number of the first DATA packet of a read?",
        answer=1,
        why=(
            'RFC 1350 §5: "The block numbers on data packets begin with one and increase by one for each new '
            'block of data."'
        ),
        covers=("tftp-blocks",),
    ),
    Number(
        id="07-exact-1024",
        prompt="A file of exactly 1024 bytes is read with 512-byte blocks. How many DATA packets cross the wire?",
        answer=3,
        why=(
            'RFC 1350 §5: "If it is 512 bytes long, the block is not the last block of data; if it is from zero '
            'to 511 bytes long, it signals the end of the transfer." Two full blocks, then an empty DATA 3.'
        ),
        covers=("tftp-blocks",),
    ),
    Number(
        id="07-wrq-ack",
        prompt="A client sends a write request (WRQ). What block number is in the server's first ACK?",
        answer=0,
        why='RFC 1350 §5: "A WRQ is acknowledged with an ACK packet having a block number of zero."',
        covers=("tftp-blocks",),
    ),
    _choice(
        id="07-duplicate-ack",
        prompt="A sender has sent DATA 3 and receives a second ACK 2 (a duplicate). What must it do?",
        options=(
            "send DATA 3 again",
            "nothing: ignore the duplicate ACK",
            "send DATA 2 again",
            "abort with an ERROR",
        ),
        answer=1,
        why=(
            'RFC 1123 §4.2.3.1: "The sender (i.e., the side originating the DATA packets) must never resend the '
            "current DATA packet on receipt of a duplicate ACK.\" Resending on a duplicate ACK is the Sorcerer's "
            "Apprentice bug: every block then travels twice."
        ),
        covers=("sorcerers-apprentice",),
    ),
    Number(
        id="07-window-acks",
        prompt=(
            "A 20,000-byte file is read in 512-byte blocks (40 DATA) with windowsize 4 and nothing is lost. "
            "How many ACKs does the client send, ACK 0 after the OACK included?"
        ),
        answer=11,
        why=(
            'RFC 7440 §4 (DRCV is the data receiver, DSND the data sender): "The DRCV MUST send to the DSND the ACK '
            'of the last data block of the window in order to confirm a successful data block window reception." '
            "ACK 0 confirms the OACK, then one ACK per window: blocks 4, 8, ... 40, ten windows."
        ),
        covers=("tftp-windowsize",),
    ),
    _choice(
        id="07-window-loss",
        prompt=(
            "Windowsize 4: the server sends DATA 5-8 and DATA 6 is lost. DATA 7 reaches the client. What happens next?"
        ),
        options=(
            "the client sends ACK 5 at once, and the server's next window starts at DATA 6",
            "the client waits for the end of the window and sends ACK 8",
            "nothing until the server's timer runs out, then it sends DATA 5-8 again",
            "the client sends an ERROR and the transfer starts over",
        ),
        answer=0,
        why=(
            'RFC 7440 §4 (DRCV is the data receiver, DSND the data sender): "In the case of a data block sequence '
            "error, the DRCV SHOULD notify the DSND by sending an ACK corresponding to the last data block correctly "
            'received." And: "The notified DSND SHOULD send a new data block window whose beginning MUST be set based '
            'on the ACK received out of sequence." No timeout is needed: the gap itself tells the client a block is '
            "missing."
        ),
        covers=("tftp-windowsize",),
    ),
)
QUESTIONS += host_options.QUESTIONS  # lesson 09's, kept in a module of their own
QUESTIONS += security.QUESTIONS  # lesson 10's, kept in a module of their own
QUESTIONS += dns_tour.QUESTIONS + app_tour.QUESTIONS  # lesson 08's: DNS and DDNS; HTTP, Telnet, SSH, RDP
QUESTIONS += ftp_today.QUESTIONS  # lesson 11's, kept in a module of their own

BY_ID: dict[str, Question] = {q.id: q for q in QUESTIONS}


def get(question_id: str) -> Question:
    """The question with this id (a KeyError names the id)."""
    try:
        return BY_ID[question_id]
    except KeyError:
        raise KeyError(f"no question {question_id!r}; known: {', '.join(sorted(BY_ID))}") from None


def for_lesson(number: str) -> list[Question]:
    """The questions of lesson ``"02"``, in the order of the bank."""
    return [q for q in QUESTIONS if q.id.startswith(f"{number}-")]
