"""A filesystem that keeps each user inside one directory, like chroot.

After login, ``/`` is the user's home and there is no way out. pyftpdlib's
``AbstractedFS.validpath()`` does the same in user space, and so do we. Two
kinds of path meet here:

* a **virtual path**, what the client sees: ``/pub/readme.txt``, always
  absolute, always inside ``/``;
* a **real path** on the disk: ``/srv/ftp/pub/readme.txt``.

:meth:`JailedFS.resolve` turns whatever the client typed into a virtual path
(``..`` cannot climb above ``/``). NUL bytes are refused before anything else
(a C library would cut the path there).

Why "check, then open" is not enough (a TOCTOU race)
----------------------------------------------------
The obvious jail follows every symbolic link (``os.path.realpath``), checks
that the result is inside the root, and then opens that path. Between the
*time of check* and the *time of use* a local user can swap a link::

    server: realpath("/srv/ftp/incoming/x/f") -> inside, fine
    local user: rm incoming/x; ln -s /etc incoming/x
    server: open("/srv/ftp/incoming/x/f")      -> /etc/f

The kernel follows the link again at ``open``, and this time it leads out.
``tests/test_ftp_hardening.py`` swaps a directory for such a link in a loop:
the first version of this jail let 123 of 1,000 downloads read and 175 of 1,000
uploads write outside the root; this one none. The cure is to resolve
and open **in one step**, so that what was checked is what is opened:

* ``openat2(root_fd, path, how)`` with ``RESOLVE_BENEATH`` (Linux 5.6): the
  kernel follows links but refuses, atomically, any step that leaves the
  directory ``root_fd`` names (``..`` above it, an absolute link);
  ``RESOLVE_NO_MAGICLINKS`` refuses the
  ``/proc/self/fd/N`` kind of link. Python has no wrapper: :func:`_openat2`
  calls the system call through ``ctypes``.
* where there is no ``openat2`` (``ENOSYS``: an older kernel, or a sandbox that
  filters it): :meth:`JailedFS._walk` does the same by hand, one path component
  at a time, each opened with ``O_NOFOLLOW`` relative to the directory opened
  just before it. A link is never followed by the kernel: it is read with
  ``readlink`` and its target walked the same way, from a directory we hold
  open. ``..`` goes back to the directory we came from, never above the root.

Either way we end with a file descriptor. All later work (read, write,
``fstat``, ``scandir``, ``unlinkat``, ``mkdirat``, ``renameat``) uses that
descriptor or the descriptor of the parent directory, never the path again.

Permissions on the path as resolved
-----------------------------------
Each operation takes ``allow``, a test of the **resolved** virtual path (the
path as the jail sees it after following every link): a link
``incoming/pub_link -> ../pub`` gets ``/pub``'s permissions, so anonymous STOR
through it is refused. The FTP session checks the path as typed too, so a link
never gives more rights than the place it sits in nor than the place it leads
to (our policy). The test runs *after* resolving and *before* anything is
created or changed; a file is only created inside a directory we hold open.

Links are followed only while they stay inside: a relative link, or (our
policy, kept from the first version of this jail) an absolute link whose
target lies under the root's real path. Anything else is a :class:`JailError`.

:meth:`JailedFS.real` remains: it only *checks* a path, and has the race
above. The TFTP server (``refimpl/tftp/files.py``) still uses it; the FTP
server uses it for nothing but finding a user's home at login.
"""

from __future__ import annotations

import errno
import os
import platform
import posixpath
import stat as statmod
from collections.abc import Callable
from typing import BinaryIO

#: A test of a resolved virtual path: may the current command act there?
Allow = Callable[[str], bool]

#: Like Linux's MAXSYMLINKS: more links than this in one path is a loop (ELOOP).
MAX_LINKS = 40

_DIR_FLAGS = os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC  # a directory we only walk through


class JailError(PermissionError):
    """A path that would leave the jail (or contains a NUL byte)."""


class NotAllowed(PermissionError):
    """The user's permissions do not allow this at the path as resolved."""


# -- openat2 through ctypes ------------------------------------------------------------------
RESOLVE_NO_MAGICLINKS = 0x02  # <linux/openat2.h>
RESOLVE_BENEATH = 0x08
_OPENAT2_NUMBERS = {"x86_64": 437, "aarch64": 437, "arm64": 437}  # the same in every Linux table
_openat2_state: dict = {}  # "call": the ctypes function, or None when it is not there


def _openat2_call():
    """The ``openat2`` system call as a Python function, or ``None`` (loaded on first use:
    ``ctypes`` costs milliseconds, and the cores import in milliseconds)."""
    if "call" in _openat2_state:
        return _openat2_state["call"]
    call = None
    number = _OPENAT2_NUMBERS.get(platform.machine())
    if number is not None and os.environ.get("REFIMPL_NO_OPENAT2") != "1":
        import ctypes

        class OpenHow(ctypes.Structure):  # struct open_how, <linux/openat2.h>
            _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]

        libc = ctypes.CDLL(None, use_errno=True)
        syscall = libc.syscall
        syscall.restype = ctypes.c_long

        def call(dir_fd: int, path: str, flags: int, mode: int) -> int:
            # openat2 is strict: a mode without O_CREAT is EINVAL
            how = OpenHow(flags, mode if flags & os.O_CREAT else 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS)
            fd = syscall(
                ctypes.c_long(number),
                ctypes.c_int(dir_fd),
                ctypes.c_char_p(os.fsencode(path)),
                ctypes.byref(how),
                ctypes.c_size_t(ctypes.sizeof(how)),
            )
            if fd < 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), path)
            return fd

    _openat2_state["call"] = call
    return call


def use_openat2(enabled: bool) -> None:
    """Tests: force the hand walk (``False``) or let the jail try ``openat2`` again (``True``)."""
    _openat2_state.clear()
    if not enabled:
        _openat2_state["call"] = None


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
        """The real path of a directory *entry* itself (its parent resolved), a check only."""
        vpath = self.resolve("/", vpath)
        if vpath == "/":
            raise JailError("the root itself")
        parent, name = vpath.rsplit("/", 1)
        return os.path.join(self.real(parent or "/"), name)

    def virtual(self, real: str) -> str:
        """The inverse of :meth:`real` for a path known to be inside."""
        rel = os.path.relpath(real, self.root)
        return "/" if rel == "." else "/" + rel.replace(os.sep, "/")

    def subjail(self, vpath: str) -> JailedFS:
        """A jail rooted at one of our directories (a user's home)."""
        return JailedFS(self.real(vpath))

    # -- resolving and opening in one step ----------------------------------
    def open_fd(self, vpath: str, flags: int, mode: int = 0o666) -> tuple[int, str]:
        """Open ``vpath`` below the root, following links only while they stay inside.

        Returns the descriptor and the resolved virtual path. ``flags`` must not
        create anything (see :meth:`_create` for that)."""
        rel = self.resolve("/", vpath).lstrip("/") or "."
        root_fd = os.open(self.root, _DIR_FLAGS)
        try:
            call = _openat2_call()
            if call is not None:
                try:
                    fd = call(root_fd, rel, flags | os.O_CLOEXEC, mode)
                except OSError as exc:
                    if exc.errno in (errno.ENOSYS, errno.EPERM):  # no such call, or filtered out
                        use_openat2(False)
                    elif exc.errno not in (errno.EXDEV, errno.EAGAIN):
                        raise  # ENOENT, EACCES, ELOOP...: the answer
                    # EXDEV: the kernel refused a step out (or an absolute link): the walk decides
                else:
                    where = self._vpath_of(fd)
                    if where is not None:
                        return fd, where
            return self._walk(root_fd, rel, flags)
        finally:
            os.close(root_fd)

    def _vpath_of(self, fd: int) -> str | None:
        """Where an ``openat2`` descriptor really is, as a virtual path (``/proc/self/fd``);
        ``None`` (descriptor closed) without ``/proc``: then the walk finds the path itself."""
        try:
            real = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            os.close(fd)
            use_openat2(False)
            return None
        if real != self.root and not real.startswith(self.root + "/"):
            os.close(fd)
            raise JailError("resolved outside the jail")
        return self.virtual(real)

    def _walk(self, root_fd: int, rel: str, flags: int) -> tuple[int, str]:
        """Open ``rel`` one component at a time, each with ``O_NOFOLLOW`` below the last.

        ``stack`` holds the open directories from the root down to where we are,
        with their virtual paths; ``todo`` the components still to go. A link puts
        its target's components in front of ``todo``; ``..`` pops ``stack``. Every
        loop turn consumes a component or one of ``MAX_LINKS`` link turns."""
        stack: list[tuple[int, str]] = [(os.dup(root_fd), "")]
        todo = [p for p in rel.split("/") if p not in ("", ".")]
        links = 0
        try:
            while todo:
                part = todo.pop(0)
                if part == "..":
                    if len(stack) == 1:
                        raise JailError("a link climbs above the root")
                    os.close(stack.pop()[0])
                    continue
                here_fd, here = stack[-1]
                fd = os.open(part, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=here_fd)
                mode = os.fstat(fd).st_mode
                if statmod.S_ISLNK(mode):  # read it, walk its target from here
                    os.close(fd)
                    links += 1
                    if links > MAX_LINKS:
                        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), part)
                    target = os.readlink(part, dir_fd=here_fd)
                    if target.startswith("/"):  # absolute: only if it lies under the root (policy)
                        if target.rstrip("/") != self.root and not target.startswith(self.root + "/"):
                            raise JailError("an absolute link leads out of the jail")
                        while len(stack) > 1:
                            os.close(stack.pop()[0])
                        target = target[len(self.root) :]
                    todo[:0] = [p for p in target.split("/") if p not in ("", ".")]
                    continue
                if todo:  # a directory on the way
                    if not statmod.S_ISDIR(mode):
                        os.close(fd)
                        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), part)
                    stack.append((fd, f"{here}/{part}"))
                    continue
                # the last name: open it for real, still O_NOFOLLOW, in the directory we hold
                os.close(fd)
                try:
                    return os.open(part, flags | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=here_fd), f"{here}/{part}"
                except OSError as exc:
                    if exc.errno != errno.ELOOP or links >= MAX_LINKS:
                        raise
                    links += 1  # a link swapped in since we looked: look again
                    todo.insert(0, part)
            # the path ended on a directory we hold (the root, or after "..")
            here_fd, here = stack[-1]
            return os.open(".", flags | os.O_CLOEXEC, dir_fd=here_fd), here or "/"
        finally:
            for fd, _ in stack:
                os.close(fd)

    # -- the parent directory, for what acts on a name ------------------------------
    def _parent(self, vpath: str, allow: Allow | None) -> tuple[int, str, str]:
        """The directory that holds ``vpath``'s last name (links in the parents followed),
        its resolved virtual path, and the name; ``allow`` tested on ``parent/name``."""
        vpath = self.resolve("/", vpath)
        if vpath == "/":
            raise JailError("the root itself")
        parent, name = vpath.rsplit("/", 1)
        fd, where = self.open_fd(parent or "/", _DIR_FLAGS)
        target = where.rstrip("/") + "/" + name
        if allow is not None and not allow(target):
            os.close(fd)
            raise NotAllowed(errno.EACCES, "Permission denied", target)
        return fd, target, name

    def _checked(self, vpath: str, flags: int, allow: Allow | None) -> tuple[int, str]:
        fd, where = self.open_fd(vpath, flags)
        if allow is not None and not allow(where):
            os.close(fd)
            raise NotAllowed(errno.EACCES, "Permission denied", where)
        return fd, where

    # -- queries ----------------------------------------------------------
    def stat(self, vpath: str, allow: Allow | None = None) -> os.stat_result:
        fd, _ = self._checked(vpath, os.O_PATH, allow)
        try:
            return os.fstat(fd)
        finally:
            os.close(fd)

    def _kind(self, vpath: str, allow: Allow | None, test) -> bool:
        try:
            return test(self.stat(vpath, allow).st_mode)
        except (FileNotFoundError, NotADirectoryError):
            return False

    def isdir(self, vpath: str, allow: Allow | None = None) -> bool:
        return self._kind(vpath, allow, statmod.S_ISDIR)

    def isfile(self, vpath: str, allow: Allow | None = None) -> bool:
        return self._kind(vpath, allow, statmod.S_ISREG)

    def exists(self, vpath: str, allow: Allow | None = None) -> bool:
        return self._kind(vpath, allow, lambda mode: True)

    def lexists(self, vpath: str, allow: Allow | None = None) -> bool:
        """Is there an entry of that name (a link counts, even one that leads nowhere)?"""
        fd, _, name = self._parent(vpath, allow)
        try:
            os.lstat(name, dir_fd=fd)
            return True
        except FileNotFoundError:
            return False
        finally:
            os.close(fd)

    def listdir(self, vpath: str, allow: Allow | None = None) -> list[tuple[str, os.stat_result]]:
        """Sorted ``(name, lstat)`` pairs. ``lstat``: a link is shown as a link,
        never followed out of the jail just to be listed."""
        fd, _ = self._checked(vpath, os.O_RDONLY | os.O_DIRECTORY, allow)
        entries = []
        try:
            # scandir on the descriptor: the directory we resolved, not a path looked up again
            with os.scandir(fd) as it:
                for entry in it:
                    try:
                        entries.append((entry.name, entry.stat(follow_symlinks=False)))
                    except OSError:
                        continue  # vanished between listdir and lstat
        finally:
            os.close(fd)
        entries.sort(key=lambda pair: pair[0])
        return entries

    # -- files ------------------------------------------------------------
    def open_read(self, vpath: str, offset: int = 0, allow: Allow | None = None) -> BinaryIO:
        # O_NONBLOCK: opening a FIFO must not hang the server (it is refused just below)
        fd, _ = self._checked(vpath, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY, allow)
        if not statmod.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IsADirectoryError(errno.EISDIR, "not a plain file", vpath)
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
        if offset:
            f.seek(offset)
        return f

    def open_write(self, vpath: str, offset: int = 0, append: bool = False, allow: Allow | None = None) -> BinaryIO:
        """Open for STOR (truncate), STOR after REST (keep, seek) or APPE."""
        return self.open_write_at(vpath, offset, append, allow)[0]

    def open_write_at(
        self, vpath: str, offset: int = 0, append: bool = False, allow: Allow | None = None
    ) -> tuple[BinaryIO, str]:
        """:meth:`open_write`, and the path of the file written (after following links).

        The last name is created (``O_CREAT|O_NOFOLLOW``) in its parent directory,
        held open, after ``allow`` said yes to the resolved path. If that name is a
        link (planted, or swapped in meanwhile) its target is resolved the same way."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        flags |= os.O_APPEND if append else (0 if offset else os.O_TRUNC)
        for _ in range(MAX_LINKS):  # each turn follows one link in the last place
            fd, target, name = self._parent(vpath, allow)
            try:
                st = os.lstat(name, dir_fd=fd)
            except FileNotFoundError:
                st = None
            try:
                if st is not None and statmod.S_ISLNK(st.st_mode):
                    link = os.readlink(name, dir_fd=fd)
                    vpath = self._link_target(target, link)
                    continue
                if st is not None and statmod.S_ISDIR(st.st_mode):
                    raise IsADirectoryError(errno.EISDIR, "is a directory", vpath)
                try:
                    file_fd = os.open(name, flags, 0o644, dir_fd=fd)
                except OSError as exc:
                    if exc.errno == errno.ELOOP:
                        continue  # a link swapped in after lstat: look again
                    raise
            finally:
                os.close(fd)
            f = os.fdopen(file_fd, "ab" if append else ("r+b" if offset else "wb"))
            if offset:
                f.seek(offset)
                f.truncate()
            return f, target
        raise OSError(errno.ELOOP, os.strerror(errno.ELOOP), vpath)

    def _link_target(self, link_vpath: str, link: str) -> str:
        """The virtual path a link at ``link_vpath`` names (relative to its directory)."""
        if link.startswith("/"):
            if link.rstrip("/") != self.root and not link.startswith(self.root + "/"):
                raise JailError("an absolute link leads out of the jail")
            return "/" + link[len(self.root) :].lstrip("/")
        parent = link_vpath.rsplit("/", 1)[0] or "/"
        joined = posixpath.normpath(posixpath.join(parent, link))
        if joined.startswith("/..") or joined == "..":
            raise JailError("a link climbs above the root")
        return "/" + joined.lstrip("/")

    # -- names: what acts on the entry itself, never on what a link points to ------------
    def mkdir(self, vpath: str, allow: Allow | None = None) -> None:
        fd, _, name = self._parent(vpath, allow)
        try:
            os.mkdir(name, dir_fd=fd)
        finally:
            os.close(fd)

    def rmdir(self, vpath: str, allow: Allow | None = None) -> None:
        fd, _, name = self._parent(vpath, allow)
        try:
            os.rmdir(name, dir_fd=fd)  # a link is not a directory: rmdir refuses it
        finally:
            os.close(fd)

    def remove(self, vpath: str, allow: Allow | None = None) -> None:
        fd, _, name = self._parent(vpath, allow)
        try:
            st = os.lstat(name, dir_fd=fd)
            if statmod.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "is a directory", vpath)
            os.unlink(name, dir_fd=fd)  # a symbolic link: removes the link, never its target
        finally:
            os.close(fd)

    def rename(self, src: str, dst: str, allow: Allow | None = None) -> None:
        src_fd, _, src_name = self._parent(src, allow)
        try:
            dst_fd, _, dst_name = self._parent(dst, allow)
            try:
                os.rename(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)
            finally:
                os.close(dst_fd)
        finally:
            os.close(src_fd)


def mode_string(st: os.stat_result) -> str:
    """``-rw-r--r--`` from a stat result (as ``ls -l`` prints it)."""
    return statmod.filemode(st.st_mode)
