"""Who may log in, where they land and what they may do.

Tutorials name three kinds of FTP user, as vsftpd has them. That is server
policy, not protocol: RFC 959 §4.1.1 knows only USER, PASS and ACCT, and
anonymous FTP is a convention (RFC 1635).

* **real** users: an account with a password. We keep a *salted hash* of it
  (``hashlib.scrypt``), never the password itself, so a stolen users file does
  not give the passwords away, and two users with the same password get
  different hashes.
* **guest** users: they log in with their own name and password but are then
  *mapped onto one shared account* (its home and permissions), like vsftpd's
  ``guest_enable`` / ``guest_username``.
* **anonymous**: user ``anonymous`` (or ``ftp``), any password (by custom an
  e-mail address, which goes to the transfer log). Read-only by default; an
  optional upload directory allows STOR there, but never overwriting.

Permissions are letters in pyftpdlib's manner:

    e change directory (CWD, CDUP)      l list (LIST, NLST, MLSD, MLST, SIZE, MDTM, STAT)
    r retrieve (RETR)                   a append (APPE)
    d delete (DELE, RMD)                f rename (RNFR, RNTO)
    m make directory (MKD)              w store (STOR)

The command table (:mod:`refimpl.ftp.commands`) names the letter each command
needs; the session checks it on the command's path before the handler runs.

Users file: one user a line, ``#`` starts a comment::

    name:kind:password-hash:home:perms[:maps_to]
    alice:real:scrypt$16384$8$1$<salt hex>$<hash hex>:/srv/ftp/alice:elradfmw
    visitor:guest:scrypt$...:::ftpguest

A relative ``home`` is a directory below the server root; an empty one is the
root itself. Make a line with :func:`user_line`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

ALL_PERMS = "elradfmw"
READ_PERMS = "elr"
ANONYMOUS_NAMES = ("anonymous", "ftp")

# scrypt cost: N=2**14, r=8, p=1 (the parameters suggested by the scrypt paper
# for interactive logins; 16 MiB of memory per attempt).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 16384, 8, 1


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh 16-byte random salt."""
    salt = os.urandom(16) if salt is None else salt
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Recompute the hash with the stored salt and compare in constant time.

    Also reads ``pbkdf2_sha256$iterations$salt$hash``.
    """
    try:
        scheme, *params = stored.split("$")
        if scheme == "scrypt":
            n, r, p, salt, digest = params
            got = hashlib.scrypt(
                password.encode("utf-8"),
                salt=bytes.fromhex(salt),
                n=int(n),
                r=int(r),
                p=int(p),
                dklen=len(bytes.fromhex(digest)),
            )
        elif scheme == "pbkdf2_sha256":
            iterations, salt, digest = params
            got = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
        else:
            return False
        return hmac.compare_digest(got, bytes.fromhex(digest))
    except (ValueError, TypeError):
        return False  # a malformed hash matches no password


@dataclass
class User:
    """One line of the users file."""

    name: str
    kind: str  # "real", "guest" or "anonymous"
    password_hash: str = ""
    home: str = ""  # "" = the server root; relative = below it; absolute = that directory
    perms: str = READ_PERMS
    maps_to: str = ""  # guest: the account whose home and permissions it uses


@dataclass
class Account:
    """A logged-in identity: what the session needs after PASS succeeds."""

    name: str  # the name typed at USER
    kind: str  # "real", "guest", "anonymous"
    home: str
    perms: str
    dir_perms: dict[str, str] = field(default_factory=dict)  # virtual dir -> perms
    may_overwrite: bool = True
    ident: str = ""  # anonymous: the password given (for the xferlog)

    def has_perm(self, perm: str, vpath: str) -> bool:
        """Is ``perm`` granted at ``vpath``? The deepest ``dir_perms`` entry
        that contains the path wins, else the account's own ``perms``."""
        best, best_len = self.perms, -1
        for directory, perms in self.dir_perms.items():
            d = directory.rstrip("/") or "/"
            inside = vpath == d or vpath.startswith(d.rstrip("/") + "/")
            if inside and len(d) > best_len:
                best, best_len = perms, len(d)
        return perm in best

    @property
    def xferlog_mode(self) -> str:
        """xferlog access mode: a (anonymous), g (guest), r (real)."""
        return {"anonymous": "a", "guest": "g"}.get(self.kind, "r")


class UserDB:
    """The users file plus the anonymous settings."""

    def __init__(
        self,
        users: list[User] | None = None,
        anonymous: bool = False,
        anonymous_home: str = "",
        anonymous_upload_dir: str | None = None,
    ):
        self.users = {u.name: u for u in users or []}
        self.anonymous = anonymous
        self.anonymous_home = anonymous_home
        self.anonymous_upload_dir = anonymous_upload_dir

    # -- loading ----------------------------------------------------------
    @classmethod
    def parse(cls, text: str, **anonymous_settings) -> UserDB:
        users = []
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(":")
            if len(parts) not in (5, 6):
                raise ValueError(f"users file line {number}: expected 5 or 6 ':'-fields")
            name, kind, pw_hash, home, perms = parts[:5]
            maps_to = parts[5] if len(parts) == 6 else ""
            if kind not in ("real", "guest"):
                raise ValueError(f"users file line {number}: kind must be real or guest")
            if kind == "guest" and not maps_to:
                raise ValueError(f"users file line {number}: a guest needs maps_to")
            bad = set(perms) - set(ALL_PERMS)
            if bad:
                raise ValueError(f"users file line {number}: unknown permissions {''.join(sorted(bad))}")
            if not pw_hash.startswith(("scrypt$", "pbkdf2_sha256$")):
                raise ValueError(f"users file line {number}: password must be a scrypt or pbkdf2 hash")
            users.append(User(name, kind, pw_hash, home, perms, maps_to))
        return cls(users, **anonymous_settings)

    @classmethod
    def load(cls, path: str | os.PathLike, **anonymous_settings) -> UserDB:
        with open(path, encoding="utf-8") as f:
            return cls.parse(f.read(), **anonymous_settings)

    # -- login ------------------------------------------------------------
    def is_anonymous(self, name: str) -> bool:
        return self.anonymous and name.lower() in ANONYMOUS_NAMES

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account for a USER/PASS pair, or ``None``."""
        if self.is_anonymous(name):
            dir_perms = {}
            if self.anonymous_upload_dir:
                dir_perms[self.anonymous_upload_dir] = READ_PERMS + "w"
            return Account(
                name, "anonymous", self.anonymous_home, READ_PERMS, dir_perms, may_overwrite=False, ident=password
            )
        user = self.users.get(name)
        if user is None:
            # Spend the same time as for a real user, so the answer's delay does
            # not tell a guesser which names exist.
            verify_password(password, _dummy_hash())
            return None
        if not verify_password(password, user.password_hash):
            return None
        if user.kind == "guest":
            target = self.users.get(user.maps_to)
            home, perms = (target.home, target.perms) if target else (user.home, READ_PERMS)
            return Account(name, "guest", home, perms)
        return Account(name, "real", user.home, user.perms)


_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password("no such user", salt=b"\0" * 16))
    return _DUMMY[0]


def user_line(
    name: str,
    password: str,
    home: str = "",
    perms: str = ALL_PERMS,
    kind: str = "real",
    maps_to: str = "",
    salt: bytes | None = None,
) -> str:
    """One line for the users file, with the password hashed."""
    fields_ = [name, kind, hash_password(password, salt), home, perms]
    if maps_to:
        fields_.append(maps_to)
    return ":".join(fields_)
