"""Option negotiation: RFC 2347 (the mechanism), RFC 2348 (blksize), RFC 2349 (timeout, tsize).

A client adds ``name NUL value NUL`` pairs to its RRQ or WRQ. A server that
knows options answers with OACK, listing only the ones it accepts, with the
value it will use; an option it does not know or accept is simply left out
(RFC 2347). A server that knows no options at all answers as in RFC 1350
(DATA 1 or ACK 0), and the client goes on with the defaults. A client that
does not like the OACK answers ERROR 8 and the transfer ends.

    option    values                      who may change it              RFC
    blksize   8..65464 bytes per DATA     server may answer smaller      2348
    timeout   1..255 s before resending   server takes it or leaves it   2349
    tsize     file size in bytes          RRQ: client sends 0, server    2349
                                          answers the size; WRQ: client
                                          tells the size

Windows of several blocks per ACK (RFC 7440, "windowsize") are left out: the
course teaches the lock-step of RFC 1350.
"""

from __future__ import annotations

from dataclasses import dataclass

from .packets import DEFAULT_BLOCK_SIZE, quote

MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464  # RFC 2348
MIN_TIMEOUT, MAX_TIMEOUT = 1, 255  # RFC 2349


class OptionRefused(ValueError):
    """The client cannot accept what the server's OACK says (answer: ERROR 8)."""


@dataclass(frozen=True)
class Settings:
    """What one transfer runs with, after negotiation."""

    blksize: int = DEFAULT_BLOCK_SIZE
    timeout: float = 1.0  # seconds before the last packet is sent again
    tsize: int | None = None  # the file's size, when someone said it


def _number(value: str, low: int, high: int) -> int | None:
    """An integer in [low, high], or None (decimal digits only: no sign, no spaces)."""
    if not value.isascii() or not value.isdigit():
        return None
    if len(value.lstrip("0")) > len(str(high)):  # out of range anyway; and int() of a 5000-digit
        return None  # string raises ValueError (Python's guard against slow conversions)
    number = int(value)
    return number if low <= number <= high else None


def server_accepts(requested: dict[str, str], *, reading: bool, netascii: bool, file_size: int | None,
                   default_timeout: float, max_blksize: int = MAX_BLKSIZE,
                   max_tsize: int | None = None) -> tuple[dict[str, str], Settings]:
    """The server's side: which options go into the OACK, and the settings they give.

    ``reading`` is True for an RRQ. ``file_size`` is the size of the file an RRQ
    reads. ``max_tsize`` is the largest upload a WRQ may announce.
    """
    accepted: dict[str, str] = {}
    blksize, timeout, tsize = DEFAULT_BLOCK_SIZE, default_timeout, None
    if "blksize" in requested:
        asked = _number(requested["blksize"], MIN_BLKSIZE, MAX_BLKSIZE)
        if asked is not None:
            blksize = min(asked, max_blksize)  # RFC 2348: the server may answer smaller
            accepted["blksize"] = str(blksize)
    if "timeout" in requested:
        asked = _number(requested["timeout"], MIN_TIMEOUT, MAX_TIMEOUT)
        if asked is not None:  # RFC 2349: exactly this value, or the option is left out
            timeout = float(asked)
            accepted["timeout"] = str(asked)
    if "tsize" in requested:
        asked = _number(requested["tsize"], 0, 2**63)
        # RFC 2349: in an RRQ the client sends 0 and the server answers the size. In
        # netascii the size on the wire is not the file's size, so (as tftpd-hpa) say nothing.
        if reading and asked is not None and file_size is not None and not netascii:
            tsize = file_size
            accepted["tsize"] = str(file_size)
        elif not reading and asked is not None:
            if max_tsize is not None and asked > max_tsize:
                raise OverflowError(f"tsize {asked} is more than {max_tsize} bytes")
            tsize = asked
            accepted["tsize"] = str(asked)
    return accepted, Settings(blksize, timeout, tsize)


def client_accepts(requested: dict[str, str], oack: dict[str, str], *, reading: bool,
                   default_timeout: float) -> Settings:
    """The client's side: check an OACK against the request; raise :class:`OptionRefused`."""
    blksize, timeout, tsize = DEFAULT_BLOCK_SIZE, default_timeout, None
    for name, value in oack.items():
        if name not in requested:  # RFC 2347: a server may only acknowledge what was asked
            raise OptionRefused(f"the server acknowledged {quote(name)}, which was not requested")
        if name == "blksize":
            number = _number(value, MIN_BLKSIZE, MAX_BLKSIZE)
            if number is None or number > int(requested[name]):  # RFC 2348: never larger
                raise OptionRefused(f"blksize {quote(value)} (asked for {requested[name]})")
            blksize = number
        elif name == "timeout":
            # RFC 2349: the server takes it as it is. Compared as numbers: "05" asked, "5" echoed.
            number = _number(value, MIN_TIMEOUT, MAX_TIMEOUT)
            if number is None or number != _number(requested[name], MIN_TIMEOUT, MAX_TIMEOUT):
                raise OptionRefused(f"timeout {quote(value)} (asked for {requested[name]})")
            timeout = float(number)
        elif name == "tsize":
            number = _number(value, 0, 2**63)  # RFC 2349: an RRQ learns the size, a WRQ's is echoed
            if number is None or (not reading and number != _number(requested[name], 0, 2**63)):
                raise OptionRefused(f"tsize {quote(value)}")
            tsize = number
        else:
            raise OptionRefused(f"unknown option {quote(name)}")
    return Settings(blksize, timeout, tsize)
