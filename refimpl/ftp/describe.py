"""How an FTP control line and a data transfer read: one label for every trace and log.

The simulated network (:mod:`refimpl.ftp.sim_glue`), the in-memory pair
(:mod:`refimpl.ftp.pair`) and the capture reader (:mod:`refimpl.capture.ftp`)
all label FTP with these functions, so a diagram of a simulation and a diagram
of a real capture read alike; the server's command log writes a command the
way a trace labels it (:func:`command_label`).

* A **command** (``PORT 192,0,2,10,195,80``): kind = the verb, summary = the
  argument (RFC 959 §4.1: a verb, a space, an argument; CRLF ends the line).
* A **reply** (``227 Entering Passive Mode (...)``): kind = the code, summary =
  the text; a multi-line reply (RFC 959 §4.2) is one message, its first line
  and how many follow.
* A **data transfer**: kind ``DATA``, how many bytes and how they start.

FTP sends passwords in clear text (RFC 2577 §6; a common tutorial claim, and a
true one: "FTP, POP and Telnet send passwords in clear text"): a trace shows
what anyone on the path could read, ``PASS`` and all. Only the server's own
log hides it (:func:`refimpl.ftp.xferlog.command_line`).
"""

from __future__ import annotations

from dataclasses import dataclass

from .commands import COMMANDS
from .replies import FIRST_DIGIT, REPLIES, Reply

CONTROL_FLOW = "ftp-control"
DATA_FLOW = "ftp-data"


# -- reading a command line ----------------------------------------------------------
def strip_telnet(line: bytes) -> bytes:
    """Drop Telnet commands (IAC IP, IAC DM, IAC WILL x, ...) that clients
    send before ABOR (RFC 959 §4.1.3); IAC IAC stands for one 0xFF byte."""
    if b"\xff" not in line:
        return line
    out, i = bytearray(), 0
    while i < len(line):
        b = line[i]
        if b == 0xFF and i + 1 < len(line):
            cmd = line[i + 1]
            if cmd == 0xFF:
                out.append(0xFF)
                i += 2
            elif cmd in (0xFB, 0xFC, 0xFD, 0xFE):  # WILL WONT DO DONT + option
                i += 3
            else:
                i += 2
        else:
            out.append(b)
            i += 1
    return bytes(out)


def split_command(line: str) -> tuple[str, str]:
    """``"retr a.txt"`` -> ``("RETR", "a.txt")``; a blank line -> ``("", "")``.

    RFC 959 §4.1: the verb, then one space and the argument; §5.3: upper and
    lower case are the same in a verb (not in a pathname)."""
    verb, _, arg = line.lstrip().partition(" ")
    return verb.upper(), arg


def command_label(verb: str, arg: str) -> str:
    """``RETR a.txt``: a command as a trace labels it (kind and summary) and the command log writes it."""
    return f"{verb} {arg}".strip()


# -- labels ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ControlMessage:
    """One command or reply as the trace keeps it; ``show()`` is what a stepper prints.

    ``reply`` is the parsed :class:`~refimpl.ftp.replies.Reply` (None for a
    command); ``line`` is the command line (empty for a reply).
    """

    text: str
    reply: Reply | None = None
    line: str = ""

    def show(self) -> str:
        if self.reply is not None:
            code = self.reply.code
            spec = REPLIES.get(code)
            meaning = f"{spec.meaning} ({spec.rfc})" if spec else "not in refimpl's reply table"
            first = FIRST_DIGIT.get(code // 100, "?")
            return f"{self.text}\n\nreply {code}: {first}; {meaning}"
        verb, _ = split_command(self.line)
        spec = COMMANDS.get(verb)
        about = f"{spec.help} - {spec.rfc}" if spec else "not a command this server knows (500)"
        return f"{self.text}\n\ncommand {verb}: {about}"


def describe_control(raw: bytes) -> tuple[str, str, ControlMessage | None]:
    """One command or reply (its bytes, CRLF included) -> ``(kind, summary, message)``.

    A reply (``227 Entering Passive Mode (...)``) gets its code as kind; a
    command (``PORT 192,0,2,10,195,80``) its verb, with the argument as
    summary (so the arrow reads ``PORT 192,0,2,10,195,80``).
    """
    text = raw.decode("utf-8", "replace")
    lines = [line for line in text.split("\r\n") if line]
    if not lines:
        return "?", "empty segment", None
    first = lines[0]
    if first[:3].isdigit() and first[3:4] in ("", " ", "-"):
        # RFC 959 §4.2: "123-" opens a multi-line reply, "123 " ends it
        more = f" (+{len(lines) - 1} lines)" if len(lines) > 1 else ""
        texts = [first[4:]] + [line[4:] if line[:4] == first[:3] + " " else line for line in lines[1:]]
        reply = Reply(int(first[:3]), texts)
        return first[:3], first[4:] + more, ControlMessage(text.rstrip("\r\n"), reply=reply)
    command = strip_telnet(raw).decode("utf-8", "replace").split("\r\n")[0]
    verb, arg = split_command(command)
    return verb, arg, ControlMessage(command, line=command)


def describe_data(raw: bytes, segments: int | None = None) -> tuple[str, str, bytes]:
    """Data -> ``("DATA", '12 bytes "hello\\r\\nworld..."', raw)``.

    ``segments``: the bytes are a whole transfer that came in that many TCP
    segments (a capture reader sees those; the simulation labels each one).
    """
    preview = raw[:24].decode("utf-8", "replace").replace("\r", "\\r").replace("\n", "\\n")
    more = "..." if len(raw) > 24 else ""
    summary = f'{len(raw)} bytes "{preview}{more}"'
    if segments is not None:
        summary += f" in {segments} segment{'s' * (segments != 1)}"
    return "DATA", summary, raw
