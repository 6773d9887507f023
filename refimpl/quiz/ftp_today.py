"""The questions of lesson 11 (FTP today, and IPv6), joined into :mod:`refimpl.quiz.bank`.

A module of their own so the lesson's questions sit beside nothing else that
changes; the bank adds them to ``QUESTIONS`` and every bank test checks them
(right answer right, wrong answers wrong, an RFC section quoted as worded).
Where the answer is our server's policy (502 to AUTH, 500 to a foreign PORT),
the explanation says so and quotes the RFC text nearest to it.
"""

from __future__ import annotations

from refimpl.quiz.question import Number, Question
from refimpl.quiz.question import turned_choice as _choice

QUESTIONS: tuple[Question, ...] = (
    Number(
        id="11-rest-offset",
        prompt=(
            "alice's client died after it had written 4380 bytes of `big.bin` (10 000 bytes) to its disk. It "
            "connects again to resume. Which number does it send with `REST`?"
        ),
        answer=4380,
        why=(
            'RFC 3659 §5.3: "The numeric value gives the number of octets of the immediately following transfer to '
            'not actually send, effectively causing the transmission to be restarted at a later point." The client '
            "has bytes 0 to 4379, so the server must skip 4380 of them; the RETR that follows sends the other 5620."
        ),
        covers=("rest",),
    ),
    _choice(
        id="11-auth-reply",
        prompt="A client sends `AUTH TLS` to `refimpl`'s FTP server. What does the server answer?",
        options=(
            "502: the command is not implemented (our policy: a teaching server without TLS)",
            "234, and the TLS handshake starts",
            "500: AUTH is not an FTP command at all",
            "530: the client must log in first",
        ),
        answer=0,
        why=(
            'RFC 959 §4.2.2 lists "502 Command not implemented." RFC 2228 added AUTH, and RFC 4217 uses it for TLS; '
            "a server that does not offer them says 502, as to any command it knows of and does not carry out. "
            "Leaving TLS out is our choice: lessons 05 and 06 read the control connection in clear."
        ),
        covers=("ftps",),
    ),
    _choice(
        id="11-ftps-readable",
        prompt=(
            "A sniffer records an explicit FTPS session (lftp and vsftpd, `AUTH TLS`, then `PBSZ 0` and `PROT P`). "
            "What can it read in clear?"
        ),
        options=(
            "the 220 greeting, FEAT and its reply, AUTH TLS and the 234: nothing after them",
            "everything but the password: only PASS is encrypted",
            "the commands, but not the files: only the data connection is encrypted",
            "nothing at all: the TLS handshake comes before the 220",
        ),
        answer=0,
        why=(
            'RFC 4217 §8: "For FTP-TLS, which appears to the FTP application as a streaming protection mechanism, '
            "this is not required. Thus, the PBSZ command MUST still be issued, but must have a parameter of '0' "
            'to indicate that no buffering is taking place and the data connection should not be encapsulated." '
            "By then the control connection is TLS already: explicit FTPS starts in clear and turns to TLS at the "
            "234 (USER and PASS come after it); PROT P protects the data connection too. Implicit FTPS (port 990) "
            "has TLS from the first byte."
        ),
        covers=("ftps",),
    ),
    _choice(
        id="11-sftp-is-ssh",
        prompt="`sftp alice@server` copies a file. Which protocol carries it?",
        options=(
            'SSH: a session channel with the "subsystem" request sftp, on the SSH connection (port 22)',
            "FTP over TLS, on port 990",
            "FTP with its control connection tunnelled through SSH, data on port 20",
            "TFTP inside an SSH tunnel",
        ),
        answer=0,
        why=(
            'RFC 4254 §6.5: "Once the session has been set up, a program is started at the remote end. The '
            "program can be a shell, an application program, or a subsystem with a host-independent name. Only one "
            'of these requests can succeed per channel." SFTP is such a subsystem; it shares nothing with FTP but '
            "the job. Its own protocol was only ever written down in Internet-Drafts (draft-ietf-secsh-filexfer), "
            "which never became an RFC."
        ),
        covers=("sftp",),
    ),
    _choice(
        id="11-fxp-port",
        prompt=(
            "An FXP client wants server A (192.0.2.1) to send a file straight to server B (192.0.2.2). A answered "
            "its PASV with `227 Entering Passive Mode (192,0,2,1,117,97)`. What does the client send to B?"
        ),
        options=(
            "PORT 192,0,2,1,117,97: A's address and port, so that B connects to A",
            "PORT with its own address, as in any active transfer",
            "PASV, so that both servers listen",
            "RETR, so that B fetches the file from A by itself",
        ),
        answer=0,
        why=(
            'RFC 2577 §1: "The File Transfer Protocol specification (FTP) [PR85] provides a mechanism that allows a '
            "client to establish an FTP control connection and transfer a file between two FTP servers. This "
            '"proxy FTP" mechanism can be used to decrease the amount of traffic on the network". The PORT names a '
            "host that is not the client: exactly what the bounce attack sends, for a purpose the servers agree to."
        ),
        covers=("fxp",),
    ),
    _choice(
        id="11-fxp-refused",
        prompt=(
            "The same FXP attempt against two `refimpl` servers with their default settings. What does B answer "
            "to `PORT 192,0,2,1,117,97` from the client 192.0.2.10?"
        ),
        options=(
            "500: the address is not the client's (our policy against the bounce attack)",
            "504: port 30049 is below 1024",
            "200: any address is fine, B connects to A",
            "425: B cannot open a data connection to another server",
        ),
        answer=0,
        why=(
            'RFC 2577 §3 suggests refusing only low ports: "To avoid such bounce attacks, it is suggested that '
            'servers not open data connections to TCP ports less than 1024." Port 30049 is above it. The 500 is our '
            "policy, the common practice (vsftpd port_promiscuous=NO, pyftpdlib permit_foreign_addresses=False): a "
            "PORT must name the client's own address, which also stops FXP unless the administrator allows it."
        ),
        covers=("fxp",),
    ),
    _choice(
        id="11-epsv-nat",
        prompt="Why does EPSV work through a NAT in front of the server where PASV may not?",
        options=(
            "the 229 reply carries only a port: the client connects to the address it already uses",
            "EPSV uses UDP, which NATs pass",
            "EPSV asks the NAT to open a port",
            "EPSV is sent in TLS, so the NAT cannot alter it",
        ),
        answer=0,
        why=(
            'RFC 2428 §3: "The EPSV command requests that a server listen on a data port and wait for a connection. '
            "The EPSV command takes an optional argument. The response to this command includes only the TCP port "
            'number of the listening connection." A PASV reply carries the address the server believes it has, '
            "which behind a NAT is a private one."
        ),
        covers=("ipv6",),
    ),
    Number(
        id="11-dhcpv6-client-port",
        prompt="DHCPv4 clients listen on UDP port 68. On which UDP port does a DHCPv6 client listen?",
        answer=546,
        why=(
            'RFC 8415 §7.2: "Clients listen for DHCP messages on UDP port 546. Servers and relay agents listen for '
            'DHCP messages on UDP port 547." A client sends to the multicast address ff02::1:2 '
            "(All_DHCP_Relay_Agents_and_Servers, RFC 8415 §7.1): IPv6 has no broadcast."
        ),
        covers=("ipv6",),
    ),
)
