"""Where a TFTP server's files live: a directory on disk, or a dict for lessons.

TFTP has no login (RFC 1350 §1: "it cannot list directories, and currently
has no provisions for user authentication"), so anyone who can reach UDP 69
can read whatever the server offers. A server must therefore serve one
directory and nothing outside it; :class:`DiskFiles` sends every name through
the FTP course's jail (:mod:`refimpl.jail`), so ``../../etc/passwd``,
absolute paths, symbolic links out of the root and NUL bytes all stay out.

An upload is written to a hidden temporary file and renamed into place only
once its last block arrived, so a transfer that fails half-way leaves no half
file behind and a reader never sees one.
"""

from __future__ import annotations

import io
import os
import tempfile
from typing import BinaryIO

from refimpl.jail import JailedFS


class Upload:
    """A file being received: ``write``, then ``close`` (keep it) or ``discard`` (drop it)."""

    def __init__(self, fd: int, temp: str, final: str):
        self.file = os.fdopen(fd, "wb")
        self.temp, self.final = temp, final

    def write(self, chunk: bytes) -> int:
        return self.file.write(chunk)

    def close(self) -> None:
        """The last block arrived: make the file appear under its name, whole."""
        if self.file.closed:
            return
        try:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()
            os.replace(self.temp, self.final)
        except OSError:
            self.discard()
            raise

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        try:
            os.unlink(self.temp)
        except FileNotFoundError:
            pass


class DiskFiles:
    """The files below ``root``. ``writable``: uploads may create files (tftpd-hpa's ``-c``)."""

    def __init__(self, root: str | os.PathLike, writable: bool = False, overwrite: bool = False):
        self.jail = JailedFS(root)
        self.writable, self.overwrite = writable, overwrite

    def open_read(self, name: str) -> tuple[BinaryIO, int]:
        """``(file, size)``; raises FileNotFoundError, PermissionError or IsADirectoryError."""
        real = self.jail.real(name)  # JailError is a PermissionError
        if os.path.isdir(real):
            raise IsADirectoryError(f"{name} is a directory")
        if os.path.exists(real) and not os.path.isfile(real):
            # A FIFO or a device: open() of a FIFO would block the whole server until
            # someone writes to it, and a device is not a file to serve.
            raise PermissionError(f"{name} is not a regular file")
        file = open(real, "rb")
        return file, os.fstat(file.fileno()).st_size

    def open_write(self, name: str) -> Upload:
        if not self.writable:
            raise PermissionError("this server does not accept uploads")
        real = self.jail.real(name)
        if os.path.isdir(real):
            raise IsADirectoryError(f"{name} is a directory")
        if os.path.lexists(real) and not self.overwrite:
            raise FileExistsError(f"{name} exists")
        folder = os.path.dirname(real)
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"no directory for {name}")
        fd, temp = tempfile.mkstemp(prefix=".tftp-", suffix=".part", dir=folder)
        os.fchmod(fd, 0o644)  # mkstemp makes it private (0600); an uploaded file is meant to be served
        return Upload(fd, temp, real)


class _MemoryUpload(io.BytesIO):
    def __init__(self, store: dict[str, bytes], name: str):
        super().__init__()
        self.store, self.name = store, name

    def close(self) -> None:
        if not self.closed:
            self.store[self.name] = self.getvalue()
        super().close()

    def discard(self) -> None:
        super().close()


class MemoryFiles:
    """Files in a dict, for the simulated network: ``MemoryFiles({"boot/pxelinux.0": b"..."})``."""

    def __init__(self, files: dict[str, bytes] | None = None, writable: bool = False, overwrite: bool = False):
        self.files = {JailedFS.resolve("/", name): data for name, data in (files or {}).items()}
        self.writable, self.overwrite = writable, overwrite

    def open_read(self, name: str) -> tuple[BinaryIO, int]:
        path = JailedFS.resolve("/", name)
        if path not in self.files:
            raise FileNotFoundError(name)
        return io.BytesIO(self.files[path]), len(self.files[path])

    def open_write(self, name: str) -> BinaryIO:
        if not self.writable:
            raise PermissionError("this server does not accept uploads")
        path = JailedFS.resolve("/", name)
        if path in self.files and not self.overwrite:
            raise FileExistsError(name)
        return _MemoryUpload(self.files, path)

    def __getitem__(self, name: str) -> bytes:
        return self.files[JailedFS.resolve("/", name)]
