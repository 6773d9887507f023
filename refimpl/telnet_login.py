"""A scripted Telnet login, segment by segment: what anyone on the path of one can read.

Telnet sends what the user types as it is typed, in clear (RFC 854 defines no
encryption). So a capture of a login holds the password, one byte per segment
when the client sends each character as it is typed. Exercise 08 hands each
student such a session, drawn from their own ``random.Random``, and asks for the
user name and the password in it. The session is what a real server and client
exchange, with three things a reader must see through:

* the opening option negotiation (RFC 855): the server asks for the terminal
  type and the window size and offers to echo (RFC 857 ECHO) and to suppress
  go-ahead; the client agrees and answers the subnegotiations;
* echo: while the user name is typed, the server sends each character back (it
  agreed to echo); while the password is typed it sends nothing back, so the
  password is only in the client's segments;
* a typing mistake: the user types a wrong character and erases it. This client
  sends RFC 854's Erase Character command for that, ``IAC EC`` (a real client
  often sends the byte DEL instead and leaves the erasing to the server's
  terminal driver; the command is RFC 854's own way, our choice here). The
  wrong character is on the wire all the same.

Lines end with CR LF (RFC 854: 'the sequence "CR LF" must be treated as a
single "new line" character'). :func:`login_session` returns
``[(direction, bytes), ...]`` with direction ``"client->server"`` or
``"server->client"``. Standard library only.
"""

from __future__ import annotations

import random

from refimpl.telnet import DO, EC, IAC, SB, SE, WILL, Subnegotiation, encode

C2S = "client->server"
S2C = "server->client"
ECHO, SGA, TTYPE, NAWS = 1, 3, 24, 31  # RFC 857, 858, 1091, 1073
IS, SEND = 0, 1  # RFC 1091

_USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "oscar")
_HOSTS = ("lab1", "router", "printer", "nas", "build", "gateway")
_ALPHABET = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"  # no look-alikes (l 1 I O 0 o 2 Z 5 S 8 B)


def _draw(rng: random.Random) -> tuple[str, str, str, list[int]]:
    """(host, user, password, positions of the mistakes): the session's secrets, drawn in a fixed order."""
    host = rng.choice(_HOSTS)
    user = rng.choice(_USERS) + str(rng.randint(1, 99))
    password = "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(8, 12)))
    mistakes = sorted(rng.sample(range(1, len(password)), rng.randint(1, 2)))
    return host, user, password, mistakes


def login_session(rng: random.Random) -> list[tuple[str, bytes]]:
    """One login drawn from ``rng``: the segments in the order they were sent."""
    host, user, password, mistakes = _draw(rng)
    width, height = rng.choice(((80, 24), (132, 43), (100, 30), (255, 50)))
    out: list[tuple[str, bytes]] = [
        (S2C, bytes((IAC, DO, TTYPE, IAC, DO, NAWS, IAC, WILL, ECHO, IAC, WILL, SGA))),
        (C2S, bytes((IAC, WILL, TTYPE, IAC, WILL, NAWS, IAC, DO, ECHO, IAC, DO, SGA))),
        # RFC 1073: width and height as 16-bit numbers; encode doubles a byte 255 among them, as in all data
        (C2S, encode(Subnegotiation(NAWS, width.to_bytes(2, "big") + height.to_bytes(2, "big")))),
        (S2C, bytes((IAC, SB, TTYPE, SEND, IAC, SE))),
        (C2S, bytes((IAC, SB, TTYPE, IS)) + b"XTERM" + bytes((IAC, SE))),
        (S2C, b"\r\nDebian GNU/Linux 12\r\n\r\n" + f"{host} login: ".encode()),
    ]
    for char in user.encode():  # the server echoes each character of the user name
        out += [(C2S, bytes((char,))), (S2C, bytes((char,)))]
    out += [(C2S, b"\r\n"), (S2C, b"\r\n"), (S2C, b"Password: ")]
    for i, char in enumerate(password):  # nothing comes back: the server does not echo a password
        if i in mistakes:
            wrong = _ALPHABET[(_ALPHABET.index(char) + 1 + rng.randrange(len(_ALPHABET) - 1)) % len(_ALPHABET)]
            out += [(C2S, wrong.encode()), (C2S, bytes((IAC, EC)))]
        out.append((C2S, char.encode()))
    out += [
        (C2S, b"\r\n"),
        (S2C, b"\r\nLast login: Sun Dec  6 09:12:44 2026 from 192.0.2.10\r\n" + f"{user}@{host}:~$ ".encode()),
    ]
    for char in b"exit":
        out += [(C2S, bytes((char,))), (S2C, bytes((char,)))]
    out += [(C2S, b"\r\n"), (S2C, b"\r\nlogout\r\n")]
    return out
