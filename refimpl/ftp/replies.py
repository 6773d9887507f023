"""FTP reply codes: the table, and how a reply is written on the wire.

Every FTP reply is a three-digit code followed by text (RFC 959 §4.2). The
first digit says how the command went, which is all a simple client needs:

    1yz  positive preliminary  - "started; wait for another reply" (150)
    2yz  positive completion   - "done" (200, 226, 230, ...)
    3yz  positive intermediate - "send the next command of the sequence" (331, 350)
    4yz  transient negative    - "failed; try again later" (421, 425, 450)
    5yz  permanent negative    - "failed; do not repeat as is" (500, 530, 550)

A reply that needs several lines uses the *multi-line* form (RFC 959 §4.2):
the first line is ``123-text``, the last line is ``123 text`` (same code, then
a space), and the lines between may hold anything that does not look like the
last line. :func:`format_reply` writes both forms; :func:`ReplyParser`
in :mod:`refimpl.ftp.client` reads them back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class ReplySpec(NamedTuple):
    code: int
    meaning: str
    rfc: str


#: code -> (meaning, where it is defined). Only the codes this server uses.
REPLIES: dict[int, ReplySpec] = {
    spec.code: spec
    for spec in [
        ReplySpec(110, "Restart marker reply", "RFC 959 §4.2.2"),
        ReplySpec(125, "Data connection already open; transfer starting", "RFC 959 §4.2.2"),
        ReplySpec(150, "File status okay; about to open data connection", "RFC 959 §4.2.2"),
        ReplySpec(200, "Command okay", "RFC 959 §4.2.2"),
        ReplySpec(202, "Command not implemented, superfluous at this site", "RFC 959 §4.2.2"),
        ReplySpec(211, "System status, or system help reply (FEAT)", "RFC 959 §4.2.2, RFC 2389 §3.2"),
        ReplySpec(213, "File status (SIZE, MDTM, STAT path)", "RFC 959 §4.2.2, RFC 3659 §3-4"),
        ReplySpec(214, "Help message", "RFC 959 §4.2.2"),
        ReplySpec(215, "NAME system type", "RFC 959 §4.2.2"),
        ReplySpec(220, "Service ready for new user", "RFC 959 §4.2.2"),
        ReplySpec(221, "Service closing control connection", "RFC 959 §4.2.2"),
        ReplySpec(225, "Data connection open; no transfer in progress", "RFC 959 §4.2.2"),
        ReplySpec(226, "Closing data connection; requested file action successful", "RFC 959 §4.2.2"),
        ReplySpec(227, "Entering Passive Mode (h1,h2,h3,h4,p1,p2)", "RFC 959 §4.2.2"),
        ReplySpec(229, "Entering Extended Passive Mode (|||port|)", "RFC 2428 §3"),
        ReplySpec(230, "User logged in, proceed", "RFC 959 §4.2.2"),
        ReplySpec(250, "Requested file action okay, completed", "RFC 959 §4.2.2"),
        ReplySpec(257, '"PATHNAME" created / is the current directory', "RFC 959 §4.2.2"),
        ReplySpec(331, "User name okay, need password", "RFC 959 §4.2.2"),
        ReplySpec(350, "Requested file action pending further information (RNFR, REST)", "RFC 959 §4.2.2"),
        ReplySpec(421, "Service not available, closing control connection", "RFC 959 §4.2.2"),
        ReplySpec(425, "Can't open data connection", "RFC 959 §4.2.2"),
        ReplySpec(426, "Connection closed; transfer aborted", "RFC 959 §4.2.2"),
        ReplySpec(450, "Requested file action not taken (file unavailable)", "RFC 959 §4.2.2"),
        ReplySpec(451, "Requested action aborted: local error in processing", "RFC 959 §4.2.2"),
        ReplySpec(500, "Syntax error, command unrecognized", "RFC 959 §4.2.2"),
        ReplySpec(501, "Syntax error in parameters or arguments", "RFC 959 §4.2.2"),
        ReplySpec(502, "Command not implemented", "RFC 959 §4.2.2"),
        ReplySpec(503, "Bad sequence of commands", "RFC 959 §4.2.2"),
        ReplySpec(504, "Command not implemented for that parameter", "RFC 959 §4.2.2"),
        ReplySpec(522, "Network protocol not supported, use (1,2)", "RFC 2428 §2"),
        ReplySpec(530, "Not logged in", "RFC 959 §4.2.2"),
        ReplySpec(550, "Requested action not taken (no such file, no access)", "RFC 959 §4.2.2"),
        ReplySpec(551, "Requested action aborted: page type unknown", "RFC 959 §4.2.2"),
        ReplySpec(552, "Requested file action aborted: exceeded storage allocation", "RFC 959 §4.2.2"),
        ReplySpec(553, "Requested action not taken: file name not allowed", "RFC 959 §4.2.2"),
        ReplySpec(554, "Requested action not taken: invalid REST parameter", "RFC 3659 §5.4"),
    ]
}

FIRST_DIGIT = {
    1: "positive preliminary",
    2: "positive completion",
    3: "positive intermediate",
    4: "transient negative",
    5: "permanent negative",
}


@dataclass(frozen=True)
class Reply:
    """One reply of the server: a code and one or more lines of text.

    ``Reply(211, ["Features:", " EPSV", "End"])`` is sent as the multi-line
    reply ``211-Features:`` / `` EPSV`` / ``211 End``.
    """

    code: int
    lines: tuple[str, ...]

    def __init__(self, code: int, text: str | list[str] | tuple[str, ...]):
        lines = (text,) if isinstance(text, str) else tuple(text)
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "lines", lines or ("",))

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def kind(self) -> str:
        return FIRST_DIGIT.get(self.code // 100, "unknown")

    def encode(self) -> bytes:
        return format_reply(self.code, self.lines)

    def __str__(self) -> str:
        return self.encode().decode("utf-8", "replace").rstrip("\r\n")


def format_reply(code: int, lines: str | list[str] | tuple[str, ...]) -> bytes:
    """Write a reply as CRLF-terminated lines (RFC 959 §4.2).

    One line: ``"200 Type set to I\\r\\n"``. Several lines: ``code-`` on the
    first, ``code `` on the last. A middle line that happens to start with
    ``code `` would end the reply early, so it is indented by one space - the
    padding RFC 959 §4.2 requires ("the Server must pad the front").
    """
    if isinstance(lines, str):
        lines = [lines]
    lines = [line.replace("\r", " ").replace("\n", " ") for line in lines] or [""]
    if len(lines) == 1:
        return f"{code} {lines[0]}\r\n".encode("utf-8", "surrogateescape")
    out = [f"{code}-{lines[0]}"]
    for line in lines[1:-1]:
        out.append(" " + line if line[:3].isdigit() else line)
    out.append(f"{code} {lines[-1]}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8", "surrogateescape")
