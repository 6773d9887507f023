"""Directory listings: ``ls -l`` lines for LIST, facts for MLSD/MLST.

LIST's format is not standardised (RFC 959 §4.1.3 says only "a list of
files"); every server copies ``ls -l`` and every client parses that. MLSD and
MLST (RFC 3659 §7) fix this with ``fact=value;`` pairs a program can read.
"""

from __future__ import annotations

import functools
import math
import os
import stat as statmod
import time

SIX_MONTHS = 180 * 24 * 3600


def ls_line(name: str, st: os.stat_result, now: float) -> str:
    """``-rw-r--r--   1 ftp      ftp          5120 Nov 23 09:02 a.txt``.

    Owner and group are always ``ftp``: a jailed user need not learn the
    server's account names. Like ``ls``, a date more than six months away
    from ``now`` shows the year instead of the time.
    """
    date = _ls_date(math.floor(st.st_mtime), abs(now - st.st_mtime) > SIX_MONTHS)
    return f"{statmod.filemode(st.st_mode)} {st.st_nlink:>3} ftp      ftp      {st.st_size:>8} {date} {name}"


@functools.lru_cache(maxsize=1024)
def _ls_date(mtime: int, old: bool) -> str:
    """``Nov 23 09:02`` or ``Nov 23  2026``. Speed: cached, as a crowd lists the
    same files again and again and strftime is most of a line's cost."""
    return time.strftime("%b %d  %Y" if old else "%b %d %H:%M", time.gmtime(mtime))


def mlsx_facts(name: str, st: os.stat_result, perms: str, kind: str | None = None) -> str:
    """``type=file;size=5120;modify=20261123090237;perm=r; a.txt`` (RFC 3659 §7.5).

    ``perm`` uses RFC 3659 §7.5.5's letters, derived from the user's
    permissions: r retrieve, w store, a append, d delete, f rename,
    e enter, l list, c create file, m make directory.
    """
    if kind is None:
        kind = "dir" if statmod.S_ISDIR(st.st_mode) else "file"
    modify = time.strftime("%Y%m%d%H%M%S", time.gmtime(st.st_mtime))
    if kind in ("dir", "cdir", "pdir"):
        p = "".join(
            c for c, need in (("e", "e"), ("l", "l"), ("c", "w"), ("m", "m"), ("d", "d"), ("f", "f")) if need in perms
        )
        return f"type={kind};modify={modify};perm={p}; {name}"
    p = "".join(c for c, need in (("r", "r"), ("w", "w"), ("a", "a"), ("d", "d"), ("f", "f")) if need in perms)
    return f"type={kind};size={st.st_size};modify={modify};perm={p}; {name}"


def mdtm(st: os.stat_result) -> str:
    """``YYYYMMDDHHMMSS`` in UTC (RFC 3659 §2.3)."""
    return time.strftime("%Y%m%d%H%M%S", time.gmtime(st.st_mtime))
