"""A filesystem that keeps each user inside one directory, like chroot.

The seed asks for ``chroot``: after login, ``/`` is the user's home and there is
no way out. pyftpdlib's ``AbstractedFS.validpath()`` does the same in user
space, and so do we. Two kinds of path meet here:

* a **virtual path**, what the client sees: ``/pub/readme.txt``, always
  absolute, always inside ``/``;
* a **real path** on the disk: ``/srv/ftp/pub/readme.txt``.

:meth:`JailedFS.resolve` turns whatever the client typed into a virtual path
(``..`` cannot climb above ``/``); :meth:`JailedFS.real` turns a virtual path
into a real one and then *checks the result after following every symbolic
link*, so a link that points outside the root is refused too. NUL bytes are
refused before anything else (a C library would cut the path there).

The check and the later ``open`` are two steps, so a local user who can swap a
link between them could still race us; a real server uses ``openat`` with
``O_NOFOLLOW`` or a real chroot. Good enough for teaching, said out loud here.
"""

from __future__ import annotations

import os
import posixpath
import stat as statmod
from typing import BinaryIO


class JailError(PermissionError):
    """A path that would leave the jail (or contains a NUL byte)."""


class JailedFS:
    """File operations on virtual paths below ``root``."""

    def __init__(self, root: str | os.PathLike):
        self.root = os.path.realpath(os.fspath(root))
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"jail root is not a directory: {self.root}")

    def __repr__(self) -> str:
        return f"JailedFS({self.root!r})"

    # -- paths ------------------------------------------------------------
    @staticmethod
    def resolve(cwd: str, path: str) -> str:
        """The virtual absolute path of ``path`` typed in directory ``cwd``.

        ``resolve("/pub", "../etc")`` is ``"/etc"`` - inside the jail, because
        ``..`` of ``/`` is ``/`` (as in a chroot).
        """
        if "\x00" in path or "\x00" in cwd:
            raise JailError("NUL byte in path")
        joined = posixpath.join(cwd or "/", path)
        normal = posixpath.normpath("/" + joined)
        # normpath keeps a leading "//" (POSIX allows it to be special); we do not.
        return "/" + normal.lstrip("/")

    def real(self, vpath: str) -> str:
        """The real path of a virtual path, refused if it leaves the root.

        ``os.path.realpath`` follows every symbolic link, also through parts
        that exist when the last one does not yet (a file about to be stored).
        """
        if "\x00" in vpath:
            raise JailError("NUL byte in path")
        vpath = self.resolve("/", vpath)
        candidate = os.path.join(self.root, vpath.lstrip("/"))
        resolved = os.path.realpath(candidate)
        if resolved != self.root and not resolved.startswith(self.root + os.sep):
            raise JailError(f"path leaves the jail: {vpath}")
        return resolved

    def real_entry(self, vpath: str) -> str:
        """The real path of a directory *entry* itself, without following it.

        DELE, RMD, RNFR/RNTO and MKD act on the name, not on what a symbolic
        link points to: deleting a link removes the link. Only the parent
        directory is resolved (and must be inside the jail).
        """
        vpath = self.resolve("/", vpath)
        if vpath == "/":
            raise JailError("the root itself")
        parent, name = vpath.rsplit("/", 1)
        return os.path.join(self.real(parent or "/"), name)

    def virtual(self, real: str) -> str:
        """The inverse of :meth:`real` for a path known to be inside."""
        rel = os.path.relpath(real, self.root)
        return "/" if rel == "." else "/" + rel.replace(os.sep, "/")

    def subjail(self, vpath: str) -> "JailedFS":
        """A jail rooted at one of our directories (a user's home)."""
        return JailedFS(self.real(vpath))

    # -- queries ----------------------------------------------------------
    def isdir(self, vpath: str) -> bool:
        return os.path.isdir(self.real(vpath))

    def isfile(self, vpath: str) -> bool:
        return os.path.isfile(self.real(vpath))

    def exists(self, vpath: str) -> bool:
        return os.path.lexists(self.real(vpath))

    def stat(self, vpath: str) -> os.stat_result:
        return os.stat(self.real(vpath))

    def listdir(self, vpath: str) -> list[tuple[str, os.stat_result]]:
        """Sorted ``(name, lstat)`` pairs. ``lstat``: a link is shown as a link,
        never followed out of the jail just to be listed."""
        real = self.real(vpath)
        entries = []
        # Speed: scandir hands out each entry's own path, so no os.path.join per
        # name (a LIST of a big directory spent more time joining than in lstat).
        with os.scandir(real) as it:
            for entry in it:
                try:
                    entries.append((entry.name, entry.stat(follow_symlinks=False)))
                except OSError:
                    continue  # vanished between listdir and lstat
        entries.sort(key=lambda pair: pair[0])
        return entries

    # -- files ------------------------------------------------------------
    def open_read(self, vpath: str, offset: int = 0) -> BinaryIO:
        real = self.real(vpath)
        if not os.path.isfile(real):
            raise IsADirectoryError(f"not a plain file: {vpath}")
        f = open(real, "rb")
        if offset:
            f.seek(offset)
        return f

    def open_write(self, vpath: str, offset: int = 0, append: bool = False) -> BinaryIO:
        """Open for STOR (truncate), STOR after REST (keep, seek) or APPE."""
        real = self.real(vpath)
        if os.path.isdir(real):
            raise IsADirectoryError(f"is a directory: {vpath}")
        if append:
            return open(real, "ab")
        if offset:
            f = open(real, "r+b")
            f.seek(offset)
            f.truncate()
            return f
        return open(real, "wb")

    def mkdir(self, vpath: str) -> None:
        os.mkdir(self.real_entry(vpath))

    def rmdir(self, vpath: str) -> None:
        os.rmdir(self.real_entry(vpath))  # a link is not a directory: rmdir refuses it

    def remove(self, vpath: str) -> None:
        real = self.real_entry(vpath)
        if os.path.isdir(real) and not os.path.islink(real):
            raise IsADirectoryError(f"is a directory: {vpath}")
        os.remove(real)  # a symbolic link: removes the link, never its target

    def rename(self, src: str, dst: str) -> None:
        os.rename(self.real_entry(src), self.real_entry(dst))


def mode_string(st: os.stat_result) -> str:
    """``-rw-r--r--`` from a stat result (as ``ls -l`` prints it)."""
    return statmod.filemode(st.st_mode)
