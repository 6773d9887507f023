"""The questions of lesson 08 (HTTP, Telnet, SSH, RDP), joined into :mod:`refimpl.quiz.bank`.

A module of their own, like lessons 09 and 10's; the bank adds them to
``QUESTIONS`` and every bank test checks them (right answer right, wrong
answers wrong, an RFC section quoted as worded). The quotes are transcribed
from RFC 854, 959, 1123, 4253, 9110 and 9112 and from [MS-RDPBCGR];
tests/test_app_tour.py checks that the lesson's cells quote the same words.
"""

from __future__ import annotations

from refimpl.quiz.question import Number, Question
from refimpl.quiz.question import turned_choice as _choice

RFC9110_METHODS = "All general-purpose servers MUST support the methods GET and HEAD. All other methods are OPTIONAL."
RFC9110_HEAD = "The HEAD method is identical to GET except that the server MUST NOT send content in the response."
RFC9110_CLASS = (
    "The first digit of the status code defines the class of response. The last two digits do not have any "
    "categorization role."
)
RFC9112_PERSISTENT = (
    'HTTP/1.1 defaults to the use of "persistent connections", allowing multiple requests and responses to be '
    "carried over a single connection."
)
RFC854_ONLY_AFTER_IAC = (
    "Note that these codes and code sequences have the indicated meaning only when immediately preceded by an IAC."
)
RFC1123_REFUSE = "A host MUST refuse (i.e, reply WONT/DONT to a DO/WILL) an unsupported option."
RFC959_TELNET = (
    "The File Transfer Protocol follows the specifications of the Telnet protocol for all communications over "
    "the control connection."
)
RFC4253_COMPRESSION_CHOICE = (
    "The chosen compression algorithm MUST be the first algorithm on the client's name-list that is also on the "
    "server's name-list."
)
RFC4253_NEWKEYS = (
    "Key exchange ends by each side sending an SSH_MSG_NEWKEYS message. This message is sent with the old keys "
    "and algorithms. All messages sent after this message MUST use the new keys and algorithms."
)
RDPBCGR_X224 = (
    "x224Crq (7 bytes): An X.224 Class 0 Connection Request transport protocol data unit (TPDU), as specified in "
    "[X224] section 13.3."
)

QUOTES = (
    RFC9110_METHODS,
    RFC9110_HEAD,
    RFC9110_CLASS,
    RFC9112_PERSISTENT,
    RFC854_ONLY_AFTER_IAC,
    RFC1123_REFUSE,
    RFC959_TELNET,
    RFC4253_COMPRESSION_CHOICE,
    RFC4253_NEWKEYS,
    RDPBCGR_X224,
)
"""Every RFC sentence the questions quote; the lesson quotes the same words."""

QUESTIONS: tuple[Question, ...] = (
    Number(
        id="08-http-methods",
        prompt="How many request methods does RFC 9110 §9 define (GET is one of them)?",
        answer=8,
        why=(
            "RFC 9110 §9.1 lists eight: GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS and TRACE (§9.3.1 to "
            f'§9.3.8), and says "{RFC9110_METHODS}" A common tutorial claim: "HTTP has seven methods", one of '
            'them spelt "OPTION". The method is OPTIONS, and there are eight.'
        ),
        covers=("http-methods",),
    ),
    Number(
        id="08-http-persistent",
        prompt=(
            "http.client sends GET /hello.txt, GET /index.html, HEAD /hello.txt and a last GET with "
            "`Connection: close` to `python -m http.server --protocol HTTP/1.1`. How many TCP connections "
            "(SYNs) carry these four requests?"
        ),
        answer=1,
        why=(
            f'RFC 9112 §9.3: "{RFC9112_PERSISTENT}" The client reuses the connection until it asks for the end '
            "with Connection: close (RFC 9112 §9.6); the server answers that last request and closes."
        ),
        covers=("http-persistent",),
    ),
    Number(
        id="08-http-head-body",
        prompt=(
            "The answer to HEAD /hello.txt says `Content-Length: 21`. How many bytes of body follow its header "
            "section on the wire?"
        ),
        answer=0,
        why=(
            f'RFC 9110 §9.3.2: "{RFC9110_HEAD}" The Content-Length is the one a GET would get; the client must '
            "know it asked with HEAD to read the next response correctly (h11 is told the request for that reason)."
        ),
        covers=("http-methods",),
    ),
    _choice(
        id="08-http-status-class",
        prompt="The server answers `404 File not found`. What does the first digit, 4, say?",
        options=(
            "the request has an error on the client's side (4xx Client Error)",
            "the server failed (4xx Server Error)",
            "the request was redirected four times",
            "nothing: only the whole number has a meaning",
        ),
        answer=0,
        why=(
            f'RFC 9110 §15: "{RFC9110_CLASS}" The five classes are 1xx Informational, 2xx Successful, '
            "3xx Redirection, 4xx Client Error and 5xx Server Error."
        ),
        covers=("http-status",),
    ),
    _choice(
        id="08-telnet-high-bit",
        prompt=(
            "In the middle of a Telnet server's text come the bytes 0xFB 0x01, with no 0xFF before them. What are they?"
        ),
        options=(
            "two bytes of data (text), nothing more",
            "WILL ECHO: 0xFB is WILL and 1 is ECHO",
            "an error: bytes above 127 are not allowed in NVT text",
            "the start of a subnegotiation",
        ),
        answer=0,
        why=(
            "RFC 854, under TELNET COMMAND STRUCTURE (RFC 854 has no numbered sections; RFC 1123 §3.2 walks "
            f'through it and keeps the rule): "{RFC854_ONLY_AFTER_IAC}" A common tutorial claim: "bytes with the '
            'high bit set are Telnet commands". Only IAC (255) starts a command; 0xFB alone is data.'
        ),
        covers=("telnet-iac",),
    ),
    _choice(
        id="08-telnet-refuse",
        prompt=(
            "telnetd sends IAC DO NAWS (31, window size). Our scripted client does not report its window size. "
            "What must it answer?"
        ),
        options=(
            "IAC WONT NAWS",
            "IAC DONT NAWS",
            "nothing: silence means no",
            "IAC WILL NAWS, then ignore it",
        ),
        answer=0,
        why=(
            f'RFC 1123 §3.2.1: "{RFC1123_REFUSE}" DO asks the other side to perform an option, so the refusal '
            "is WONT; DONT is the answer to WILL. refimpl.telnet.answer() follows this rule."
        ),
        covers=("telnet-negotiation",),
    ),
    _choice(
        id="08-telnet-ftp-control",
        prompt="What do FTP's control connection and a Telnet session have in common on the wire?",
        options=(
            "both carry NVT text lines ending in CR LF, and FTP may meet Telnet commands after IAC",
            "nothing: FTP has its own binary format",
            "both are encrypted since RFC 959",
            "both use UDP port 21",
        ),
        answer=0,
        why=(
            f'RFC 959 §4.1.3 (the paragraph after NOOP): "{RFC959_TELNET}" So a PASS command, like a Telnet login, '
            "crosses the network as readable text."
        ),
        covers=("telnet-nvt", "clear-text-passwords"),
    ),
    _choice(
        id="08-ssh-compression",
        prompt=(
            "The server's KEXINIT lists compression `none,zlib@openssh.com`; the client (Compression=no) lists "
            "`none,zlib@openssh.com,zlib`. Which compression does the connection use?"
        ),
        options=("none", "zlib@openssh.com", "zlib", "all three, one after another"),
        answer=0,
        why=(
            f'RFC 4253 §7.1: "{RFC4253_COMPRESSION_CHOICE}" The client\'s first is none, and the server lists it. '
            'A common tutorial claim: "SSH always compresses". RFC 4253 §6.2 lists none as REQUIRED and zlib '
            "as OPTIONAL."
        ),
        covers=("ssh-compression",),
    ),
    _choice(
        id="08-ssh-after-newkeys",
        prompt=(
            "The SSH client runs `echo lesson-08-secret-words` after logging in. Where can you read those words "
            "in the capture?"
        ),
        options=(
            "nowhere: every packet after NEWKEYS is encrypted",
            "in the KEXINIT, which carries the first command",
            "in clear, because key login sends no password",
            "in the version line",
        ),
        answer=0,
        why=(
            f'RFC 4253 §7.3: "{RFC4253_NEWKEYS}" The command is sent long after NEWKEYS, so only its length '
            "shows, and even the packet lengths are encrypted (RFC 4253 §6)."
        ),
        covers=("ssh-encryption", "clear-text-passwords"),
    ),
    Number(
        id="08-rdp-first-bytes",
        prompt=(
            "A client opens TCP port 3389 and sends the TPKT header (4 bytes), the X.224 Connection Request "
            "(7 bytes), the cookie `Cookie: mstshash=eltons` with its CR LF, and an RDP Negotiation Request "
            "(8 bytes). How many bytes is that?"
        ),
        answer=44,
        why=(
            f'[MS-RDPBCGR] §2.2.1.1: "{RDPBCGR_X224}" The TPKT header of RFC 1006 §6 counts the whole packet: '
            "4 + 7 + 25 + 8 = 44, the example of [MS-RDPBCGR] §4.1.1."
        ),
        covers=("rdp-first-bytes",),
    ),
)
