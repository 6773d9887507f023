"""Option negotiation: RFC 2347 (the mechanism), RFC 2348 (blksize), RFC 2349 (timeout, tsize), RFC 7440 (windowsize).

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
    windowsize  1..65535 blocks per ACK   server may answer smaller      7440

RFC 7440 §3: "The valid values range MUST be between 1 and 65535 blocks,
inclusive." and "The specified value MUST be less than or equal to the value
specified by the client." Without the option the window is 1: the lock-step of
RFC 1350, which the lessons teach ("Traffic with windowsize = 1 MUST be
equivalent to traffic specified by [RFC1350]", RFC 7440 §4). What a window
changes in the transfer itself is in :mod:`refimpl.tftp.transfer`.

Our policy (not the RFC's): a server grants at most ``max_windowsize`` blocks,
and no more than ``max_window_bytes`` (64 KiB) in one window. A window arrives
as one burst, and what does not fit in the receiver's socket buffer (about
200 kB of kernel memory by default on Linux, more than the payload per
datagram) is lost at the tail of the window, where no later block shows the gap:
only a timeout finds it. On loopback, windows of 64 blocks of 8192 bytes ran at
well under 1 MB/s that way, windows of 8 at over 100 MB/s. The sender also keeps
each window in memory until it is acknowledged. So blocks of 65464 bytes (each
one 45 IP fragments) get a window of 1. ``max_windowsize=None`` plays a server
that does not know the option: it leaves it out of the OACK (RFC 2347), and the
transfer runs in lock-step.
"""

from __future__ import annotations

from dataclasses import dataclass

from .packets import DEFAULT_BLOCK_SIZE, quote

MIN_BLKSIZE, MAX_BLKSIZE = 8, 65464  # RFC 2348
MIN_TIMEOUT, MAX_TIMEOUT = 1, 255  # RFC 2349
MIN_WINDOWSIZE, MAX_WINDOWSIZE = 1, 65535  # RFC 7440 §3
MAX_WINDOW_BYTES = 1 << 16  # our policy: at most 64 KiB of blocks in one window (see above)


class OptionRefused(ValueError):
    """The client cannot accept what the server's OACK says (answer: ERROR 8)."""


@dataclass(frozen=True)
class Settings:
    """What one transfer runs with, after negotiation."""

    blksize: int = DEFAULT_BLOCK_SIZE
    timeout: float = 1.0  # seconds before the last packet is sent again
    tsize: int | None = None  # the file's size, when someone said it
    windowsize: int = 1  # blocks sent before waiting for an ACK (RFC 7440); 1 is RFC 1350's lock-step

    def __repr__(self) -> str:
        """As a dataclass says it; windowsize only when it is not lock-step's 1 (the lessons print this)."""
        window = f", windowsize={self.windowsize}" if self.windowsize != 1 else ""
        return f"Settings(blksize={self.blksize!r}, timeout={self.timeout!r}, tsize={self.tsize!r}{window})"


def _number(value: str, low: int, high: int) -> int | None:
    """An integer in [low, high], or None (decimal digits only: no sign, no spaces)."""
    if not value.isascii() or not value.isdigit():
        return None
    # Leading zeros count for nothing ("0512" is 512), so drop them before int(): int() of a
    # string of more than 4300 digits raises ValueError (Python's guard against slow conversions),
    # even when nearly all of them are zeros. What is left is short, or out of range anyway.
    digits = value.lstrip("0") or "0"
    if len(digits) > len(str(high)):
        return None
    number = int(digits)
    return number if low <= number <= high else None


def server_accepts(
    requested: dict[str, str],
    *,
    reading: bool,
    netascii: bool,
    file_size: int | None,
    default_timeout: float,
    max_blksize: int = MAX_BLKSIZE,
    max_tsize: int | None = None,
    max_windowsize: int | None = None,
    max_window_bytes: int = MAX_WINDOW_BYTES,
) -> tuple[dict[str, str], Settings]:
    """The server's side: which options go into the OACK, and the settings they give.

    ``reading`` is True for an RRQ. ``file_size`` is the size of the file an RRQ
    reads. ``max_tsize`` is the largest upload a WRQ may announce.
    ``max_windowsize``: the largest window granted; None: windowsize is not known here.
    """
    accepted: dict[str, str] = {}
    blksize, timeout, tsize, windowsize = DEFAULT_BLOCK_SIZE, default_timeout, None, 1
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
    if "windowsize" in requested and max_windowsize is not None:
        asked = _number(requested["windowsize"], MIN_WINDOWSIZE, MAX_WINDOWSIZE)
        if asked is not None:  # RFC 7440 §3: the server may answer a smaller value, never a larger
            windowsize = max(1, min(asked, max_windowsize, max_window_bytes // blksize))
            accepted["windowsize"] = str(windowsize)
    return accepted, Settings(blksize, timeout, tsize, windowsize)


def client_accepts(
    requested: dict[str, str], oack: dict[str, str], *, reading: bool, default_timeout: float
) -> Settings:
    """The client's side: check an OACK against the request; raise :class:`OptionRefused`."""
    blksize, timeout, tsize, windowsize = DEFAULT_BLOCK_SIZE, default_timeout, None, 1
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
        elif name == "windowsize":
            # RFC 7440 §3: "The client MUST then either use the size specified in the OACK or send
            # an ERROR packet, with error code 8": a value above what we asked for is refused.
            number = _number(value, MIN_WINDOWSIZE, MAX_WINDOWSIZE)
            asked = _number(requested[name], MIN_WINDOWSIZE, MAX_WINDOWSIZE)
            if number is None or asked is None or number > asked:
                raise OptionRefused(f"windowsize {quote(value)} (asked for {requested[name]})")
            windowsize = number
        else:
            raise OptionRefused(f"unknown option {quote(name)}")
    return Settings(blksize, timeout, tsize, windowsize)
