"""The two logs an FTP server keeps: commands, and transfers in ``xferlog`` format.

Tutorials say the server logs "the commands users gave" and "the files they
transferred" through syslog in ``/var/log/``; vsftpd in fact writes
``/var/log/vsftpd.log`` and ``/var/log/xferlog`` itself (or syslog with
``syslog_enable=YES``). Neither log is in an RFC: xferlog is xferlog(5).

``xferlog(5)`` is the transfer log of wu-ftpd, also written by vsftpd
(``xferlog_std_format=YES``) and ProFTPD, and read by many log tools. One
line per transfer, fields separated by single spaces::

    Mon Nov 23 09:02:37 2026 1 192.0.2.10 5120 /pub/a.txt b _ o a guest@ ftp 0 * c
    |------ current-time ----| | |          |    |          | | | | |      |   | | +- completion: c complete, i incomplete
                               | |          |    |          | | | | |      |   | +--- authenticated user id (* = none)
                               | |          |    |          | | | | |      |   +----- authentication method: 0 none, 1 RFC 931
                               | |          |    |          | | | | |      +--------- service name
                               | |          |    |          | | | | +---------------- username (anonymous: the password given)
                               | |          |    |          | | | +------------------ access mode: a anonymous, g guest, r real
                               | |          |    |          | | +-------------------- direction: o outgoing, i incoming, d deleted
                               | |          |    |          | +---------------------- special action: _ none (C compressed, U, T tar)
                               | |          |    |          +------------------------ transfer type: a ascii, b binary
                               | |          |    +----------------------------------- filename
                               | |          +---------------------------------------- file size (bytes transferred)
                               | +--------------------------------------------------- remote host
                               +----------------------------------------------------- transfer time (whole seconds)

The time is formatted from ``now`` in UTC, so a simulation at ``now=0`` logs 1970.
"""

from __future__ import annotations

import functools
import math
import time


def ctime_utc(now: float) -> str:
    """``Mon Nov 23 09:02:37 2026`` (xferlog's current-time field, in UTC)."""
    return time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(now))


def escape(text: str) -> str:
    """``text`` with every byte a log file could choke on written as ``\\xNN``.

    A client may name a file with any bytes (RFC 959 predates UTF-8, RFC 2640
    only recommends it), and the session keeps a byte that is not UTF-8
    as a lone surrogate (``surrogateescape``). Such a name must still be logged
    - a deleted file nobody can trace is what a log is for - so that byte, the
    control characters (a newline would forge a second line) and the backslash
    itself are escaped; the line is then plain printable text.
    """
    if text.isprintable() and "\\" not in text and text.isascii():
        return text  # Speed: the common case, untouched
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch == "\\" or not ch.isprintable():
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)


def _field(text: str) -> str:
    """Fields are space separated; a space inside a name would shift them."""
    return escape(text or "-").replace(" ", "_")


def xferlog_line(
    *,
    now: float,
    seconds: float,
    host: str,
    size: int,
    filename: str,
    binary: bool,
    direction: str,
    access_mode: str,
    username: str,
    complete: bool,
    service: str = "ftp",
) -> str:
    assert direction in ("o", "i", "d") and access_mode in ("a", "g", "r")
    return " ".join(
        [
            ctime_utc(now),
            str(max(1, round(seconds))),  # wu-ftpd rounds up to at least one second
            host,
            str(size),
            _field(filename),
            "b" if binary else "a",
            "_",
            direction,
            access_mode,
            _field(username),
            service,
            "0",
            "*",
            "c" if complete else "i",
        ]
    )


def command_line(*, now: float, host: str, user: str, command: str, code: int) -> str:
    """One line of the command log: time, client, user, command, reply code.

    ``command`` reads as a trace labels it (:func:`refimpl.ftp.describe.command_label`);
    the argument of PASS is never logged."""
    if command.upper().startswith("PASS"):
        command = "PASS ****"
    return f'{_stamp(math.floor(now))} {host} {escape(user) or "-"} "{escape(command)}" {code or "-"}'


@functools.lru_cache(maxsize=64)
def _stamp(second: int) -> str:
    """``2026-11-23 09:02:37``. Speed: cached, as a busy server logs many lines
    in the same second (and formats them even when no log file is open)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(second))
