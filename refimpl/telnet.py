"""Telnet's byte stream: NVT text with commands after IAC (RFC 854) and option negotiation (RFC 855).

A Telnet connection carries one stream of bytes in each direction. Most of it
is text for the Network Virtual Terminal (NVT); a byte 255, IAC ("Interpret
As Command"), says the next byte is a command, not text (RFC 854, "THE
TELNET COMMAND STRUCTURE": "All TELNET commands consist of at least a two
byte sequence: the "Interpret as Command" (IAC) escape character followed by
the code for the command."). So the stream splits into three kinds of piece:

    bytes on the wire              piece                               RFC
    any bytes but 255              Text(b"login: ")                    854
    IAC IAC                        Text(b"\\xff")  (one data byte 255)  854
    IAC WILL/WONT/DO/DONT option   Command("DO", 1)                    854, 855
    IAC NOP ... IAC GA             Command("GA", None)                 854
    IAC SB option ... IAC SE       Subnegotiation(24, b"\\x01")         855

A byte with the high bit set is text like any other unless IAC comes before
it (RFC 854: "Note that these codes and code sequences have the indicated
meaning only when immediately preceded by an IAC."), and only 255 escapes
("With the current set-up, only the IAC need be doubled to be sent as data,
and the other 255 codes may be passed transparently."). Inside a
subnegotiation a data byte 255 is doubled the same way.

Theory of operation. :data:`COMMANDS` maps each command code to its name and
:data:`OPTIONS` each option code to ``(name, RFC)``; :func:`split` walks the
bytes once and looks codes up in those tables, :func:`encode` writes a piece
back, and :func:`describe` names a piece for a trace (``"IAC DO ECHO (RFC
857)"``). Nothing else in the module knows a code.

Incomplete input. TCP may cut a stream anywhere, even between IAC and its
command. :func:`split` takes a whole stream (a capture's direction) and
raises :class:`TelnetError` with the offset where the unfinished sequence
starts; :class:`Splitter` takes a stream piece by piece (a live client) and
keeps the unfinished tail in ``rest`` until more bytes come. Bytes that can
never be Telnet (IAC then a code RFC 854 does not define, IAC SE with no SB)
raise :class:`TelnetError` in both. Nothing else is raised, whatever the
bytes. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass

IAC = 255  # RFC 854: Interpret As Command
DONT = 254
DO = 253
WONT = 252
WILL = 251
SB = 250  # RFC 855: start of subnegotiation
GA = 249  # Go Ahead
EL = 248  # Erase Line
EC = 247  # Erase Character
AYT = 246  # Are You There
AO = 245  # Abort Output
IP = 244  # Interrupt Process
BRK = 243  # Break
DM = 242  # Data Mark (the data part of a Synch)
NOP = 241  # No Operation
SE = 240  # RFC 855: end of subnegotiation

COMMANDS: dict[int, str] = {
    SE: "SE",
    NOP: "NOP",
    DM: "DM",
    BRK: "BRK",
    IP: "IP",
    AO: "AO",
    AYT: "AYT",
    EC: "EC",
    EL: "EL",
    GA: "GA",
    SB: "SB",
    WILL: "WILL",
    WONT: "WONT",
    DO: "DO",
    DONT: "DONT",
    IAC: "IAC",
}
"""RFC 854's command codes, 240 to 255, by code."""

CODES: dict[str, int] = {name: code for code, name in COMMANDS.items()}
NEGOTIATION = ("WILL", "WONT", "DO", "DONT")
"""The four verbs that take an option byte (RFC 854, RFC 855)."""

OPTIONS: dict[int, tuple[str, int]] = {
    0: ("BINARY", 856),
    1: ("ECHO", 857),
    3: ("SUPPRESS-GO-AHEAD", 858),
    5: ("STATUS", 859),
    6: ("TIMING-MARK", 860),
    24: ("TERMINAL-TYPE", 1091),
    31: ("NAWS", 1073),
    32: ("TERMINAL-SPEED", 1079),
    33: ("TOGGLE-FLOW-CONTROL", 1372),
    34: ("LINEMODE", 1184),
    35: ("X-DISPLAY-LOCATION", 1096),
    36: ("ENVIRON", 1408),
    37: ("AUTHENTICATION", 2941),
    38: ("ENCRYPT", 2946),
    39: ("NEW-ENVIRON", 1572),
    255: ("EXTENDED-OPTIONS-LIST", 861),
}
"""Option code -> (name, the RFC that defines it). Codes not here are still split; they describe as a number."""


class TelnetError(ValueError):
    """Bytes that are not a Telnet stream; ``offset`` is where the bad or unfinished sequence starts."""

    def __init__(self, offset: int, reason: str):
        super().__init__(f"at byte {offset}: {reason}")
        self.offset = offset
        self.reason = reason


@dataclass(frozen=True)
class Text:
    """NVT data, IAC IAC already turned into one byte 255."""

    data: bytes


@dataclass(frozen=True)
class Command:
    """``IAC verb [option]``: ``Command("DO", 1)`` or ``Command("GA", None)``."""

    verb: str
    option: int | None = None


@dataclass(frozen=True)
class Subnegotiation:
    """``IAC SB option payload IAC SE`` (RFC 855), doubled 255s in the payload undone."""

    option: int
    payload: bytes


Piece = Text | Command | Subnegotiation


class _Incomplete(Exception):
    """The stream stops inside a sequence that starts at ``offset``."""

    def __init__(self, offset: int, reason: str):
        self.offset = offset
        self.reason = reason


def _split(data: bytes) -> tuple[list[Piece], int]:
    """Every complete piece, and the offset where the complete part ends (raises _Incomplete with it)."""
    pieces: list[Piece] = []
    text = bytearray()
    i, n = 0, len(data)

    def flush() -> None:
        if text:
            pieces.append(Text(bytes(text)))
            text.clear()

    while i < n:
        j = data.find(IAC, i)
        if j < 0:
            text += data[i:]
            break
        text += data[i:j]
        if j + 1 >= n:
            flush()
            raise _Incomplete(j, "IAC at the end of the stream, its command not yet come")
        code = data[j + 1]
        if code == IAC:  # RFC 854: IAC IAC is the data byte 255
            text.append(IAC)
            i = j + 2
            continue
        name = COMMANDS.get(code)
        if name is None:
            flush()
            raise TelnetError(j, f"IAC then {code}: not a command (RFC 854 defines 240 to 255)")
        if name == "SE":
            flush()
            raise TelnetError(j, "IAC SE without IAC SB before it (RFC 855)")
        flush()
        if name in NEGOTIATION:
            if j + 2 >= n:
                raise _Incomplete(j, f"IAC {name} at the end of the stream, its option not yet come")
            pieces.append(Command(name, data[j + 2]))
            i = j + 3
        elif name == "SB":
            i = _subnegotiation(data, j, pieces)
        else:
            pieces.append(Command(name, None))
            i = j + 2
    flush()
    return pieces, n


def _subnegotiation(data: bytes, start: int, pieces: list[Piece]) -> int:
    """Read ``IAC SB option ... IAC SE`` from ``start``; append it and return the offset after it."""
    n = len(data)
    if start + 2 >= n:
        raise _Incomplete(start, "IAC SB at the end of the stream, its option not yet come")
    option = data[start + 2]
    payload = bytearray()
    i = start + 3
    while True:
        j = data.find(IAC, i)
        if j < 0 or j + 1 >= n:
            raise _Incomplete(start, f"IAC SB {option} without its IAC SE yet")
        payload += data[i:j]
        code = data[j + 1]
        if code == SE:
            pieces.append(Subnegotiation(option, bytes(payload)))
            return j + 2
        if code == IAC:  # a data byte 255 in the parameters, doubled as in text
            payload.append(IAC)
            i = j + 2
            continue
        raise TelnetError(j, f"IAC {COMMANDS.get(code, code)} inside IAC SB {option}: only IAC IAC or IAC SE may come")


def split(data: bytes) -> list[Piece]:
    """A whole stream in pieces; raises :class:`TelnetError` if it ends inside a sequence or is not Telnet."""
    try:
        pieces, _ = _split(data)
    except _Incomplete as exc:
        raise TelnetError(exc.offset, exc.reason) from None
    return pieces


class Splitter:
    """A stream that comes in parts: :meth:`feed` returns the complete pieces, ``rest`` keeps the unfinished tail.

    Text is returned as it comes, so one line may arrive as several Text pieces (one per feed).

    >>> s = Splitter()
    >>> s.feed(b"hi\\xff")
    [Text(data=b'hi')]
    >>> s.rest
    b'\\xff'
    >>> s.feed(b"\\xfd\\x01")
    [Command(verb='DO', option=1)]
    """

    def __init__(self) -> None:
        self.rest = b""
        self._offset = 0  # bytes before ``rest``, so errors name an offset in the whole stream

    def feed(self, data: bytes) -> list[Piece]:
        buffer = self.rest + data
        pieces: list[Piece] = []
        try:
            pieces, used = _split(buffer)
        except _Incomplete as exc:
            # Keep what came before the unfinished sequence; split that part again (it is complete).
            pieces, used = _split(buffer[: exc.offset])
        except TelnetError as exc:
            raise TelnetError(self._offset + exc.offset, exc.reason) from None
        self.rest = buffer[used:]
        self._offset += used
        return pieces


def escape(data: bytes) -> bytes:
    """Text as it travels: every data byte 255 doubled (RFC 854)."""
    return data.replace(b"\xff", b"\xff\xff")


def encode(piece: Piece) -> bytes:
    """The bytes of one piece; ``split(encode(p)) == [p]`` for any piece but an empty Text."""
    if isinstance(piece, Text):
        return escape(piece.data)
    if isinstance(piece, Command):
        code = CODES[piece.verb]
        if piece.verb in NEGOTIATION:
            if piece.option is None:
                raise ValueError(f"IAC {piece.verb} needs an option")
            return bytes((IAC, code, piece.option))
        if piece.verb in ("SB", "SE", "IAC"):
            raise ValueError(f"{piece.verb} is not a command on its own: use Subnegotiation or Text")
        return bytes((IAC, code))
    return bytes((IAC, SB, piece.option)) + escape(piece.payload) + bytes((IAC, SE))


def option_name(option: int) -> str:
    """``"ECHO (RFC 857)"``, or ``"option 77 (not in our table)"``."""
    if option in OPTIONS:
        name, rfc = OPTIONS[option]
        return f"{name} (RFC {rfc})"
    return f"option {option} (not in our table)"


# Subnegotiation payloads that start with IS / SEND (RFC 1091 TERMINAL-TYPE, RFC 1079 TERMINAL-SPEED,
# RFC 1096 X-DISPLAY-LOCATION, RFC 1572 NEW-ENVIRON): the first byte is 0 IS, 1 SEND (2 INFO for NEW-ENVIRON).
_IS_SEND = {0: "IS", 1: "SEND", 2: "INFO"}


def _payload_text(option: int, payload: bytes) -> str:
    name = OPTIONS.get(option, ("",))[0]
    if name == "NAWS" and len(payload) == 4:  # RFC 1073: WIDTH[1] WIDTH[0] HEIGHT[1] HEIGHT[0]
        return f"width={int.from_bytes(payload[:2], 'big')} height={int.from_bytes(payload[2:], 'big')}"
    if name in ("TERMINAL-TYPE", "TERMINAL-SPEED", "X-DISPLAY-LOCATION", "NEW-ENVIRON") and payload:
        verb = _IS_SEND.get(payload[0], str(payload[0]))
        rest = payload[1:]
        if name == "NEW-ENVIRON":
            return f"{verb} {rest!r}" if rest else verb
        return f"{verb} {rest.decode('ascii', 'replace')!r}" if rest else verb
    return payload.hex(" ") if payload else "(empty)"


def describe(piece: Piece) -> str:
    """One line for a trace: ``"IAC DO ECHO (RFC 857)"``, ``"IAC GA"``, ``"text b'login: '"``."""
    if isinstance(piece, Text):
        return f"text {piece.data!r}"
    if isinstance(piece, Command):
        if piece.option is None:
            return f"IAC {piece.verb}"
        return f"IAC {piece.verb} {option_name(piece.option)}"
    return f"IAC SB {option_name(piece.option)} {_payload_text(piece.option, piece.payload)} IAC SE"


def answer(piece: Piece, *, will: frozenset[int] = frozenset(), do: frozenset[int] = frozenset()) -> bytes:
    """A minimal peer's answer to a request: agree to the options in ``will``/``do``, refuse the rest.

    RFC 1123 §3.2.1: "A host MUST refuse (i.e, reply WONT/DONT to a DO/WILL) an unsupported
    option." Which options to accept is our policy. WONT and DONT get no answer here: answering
    every answer is how two peers loop (RFC 1123 §3.2.1: "A host MUST carefully follow the rules
    of RFC-854 to avoid option-negotiation loops."). Enough for a scripted client that sends no
    requests of its own; a full peer also remembers each option's state (RFC 1143).
    """
    if not isinstance(piece, Command) or piece.option is None:
        return b""
    if piece.verb == "DO":
        return encode(Command("WILL" if piece.option in will else "WONT", piece.option))
    if piece.verb == "WILL":
        return encode(Command("DO" if piece.option in do else "DONT", piece.option))
    return b""
