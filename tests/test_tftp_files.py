"""The files a TFTP server serves (refimpl.tftp.files): one directory and nothing outside it.

RFC 1350 §1: TFTP has no login, so whoever reaches port 69 may ask for any
name; RFC 1350 §4 and the appendix give the codes of a refusal (1 not found,
2 access violation, 6 file exists). Each test builds its directory in tmp_path.
"""

from __future__ import annotations

import os
import threading

import pytest
from tftp_loop import CLIENT, accept, run_get, run_put

from refimpl.tftp import Data, DiskFiles, ErrorCode, MemoryFiles, Opcode, Request, TftpServer


@pytest.fixture
def root(tmp_path):
    """A served directory with a file, a subdirectory, and a secret next to (outside) it."""
    (tmp_path / "secret.txt").write_bytes(b"outside")
    served = tmp_path / "srv"
    (served / "pub").mkdir(parents=True)
    (served / "hello.txt").write_bytes(b"hello")
    (served / "pub" / "boot.img").write_bytes(b"\x7fELF")
    return served


def refusal(files, name: str, opcode=Opcode.RRQ) -> int:
    """The ERROR code the server answers a request for ``name`` with."""
    transfer, effects = accept(TftpServer(files), Request(opcode, name).encode(), CLIENT)
    assert transfer is None, f"{name!r} was served"
    return effects[0].packet.code


# -- reading --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["hello.txt", "/hello.txt", "./hello.txt", "pub/../hello.txt", "pub//../hello.txt"])
def test_names_inside_the_root_are_read_with_their_size(root, name):
    """RFC 1350 §1: a name is a path below the served directory; absolute names start at the root too."""
    file, size = DiskFiles(root).open_read(name)
    with file:
        assert file.read() == b"hello" and size == 5


@pytest.mark.parametrize(
    "name",
    ["../secret.txt", "../../secret.txt", "pub/../../secret.txt", "/../secret.txt", "/" + "../" * 20 + "secret.txt"],
)
def test_dot_dot_never_climbs_out_of_the_root(root, name):
    """RFC 1350 §1 (no authentication): ``..`` stops at the root, as in a chroot: the secret next to the root
    is never read; the name means root/secret.txt, which does not exist (ERROR 1)."""
    with pytest.raises(FileNotFoundError):
        DiskFiles(root).open_read(name)
    assert refusal(DiskFiles(root), name) == ErrorCode.FILE_NOT_FOUND
    (root / "secret.txt").write_bytes(b"the root's own")  # now the name has a meaning inside
    file, _ = DiskFiles(root).open_read(name)
    with file:
        assert file.read() == b"the root's own"


def test_an_absolute_path_of_the_host_is_a_path_below_the_root(root, tmp_path):
    """RFC 1350 §1: "/etc/passwd" or the real path of the secret name files below the root, never the host's."""
    for name in ("/etc/passwd", str(tmp_path / "secret.txt")):
        with pytest.raises(FileNotFoundError):
            DiskFiles(root).open_read(name)


def test_a_symbolic_link_out_of_the_root_is_an_access_violation(root, tmp_path):
    """RFC 1350 appendix ERROR 2: a link inside the root pointing outside is refused, also for a directory."""
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    os.symlink(tmp_path, root / "up")
    for name in ("link.txt", "up/secret.txt"):
        with pytest.raises(PermissionError):
            DiskFiles(root).open_read(name)
        assert refusal(DiskFiles(root), name) == ErrorCode.ACCESS_VIOLATION
    with pytest.raises(PermissionError):
        DiskFiles(root, writable=True).open_write("up/new.txt")
    assert not (tmp_path / "new.txt").exists()


def test_a_symbolic_link_inside_the_root_is_followed(root):
    """A link that stays inside the root is an ordinary name (a PXE tree often links its boot files)."""
    os.symlink("pub/boot.img", root / "boot")
    file, size = DiskFiles(root).open_read("boot")
    with file:
        assert file.read() == b"\x7fELF" and size == 4


def test_a_nul_byte_in_a_name_is_an_access_violation(root):
    """RFC 1350 §5: a NUL ends a string, so it never reaches a name from the wire; the files refuse it anyway."""
    for files in (DiskFiles(root, writable=True), MemoryFiles({"hello.txt": b"x"}, writable=True)):
        with pytest.raises(PermissionError):
            files.open_read("hello.txt\x00.png")
        with pytest.raises(PermissionError):
            files.open_write("new\x00.txt")


@pytest.mark.parametrize("name", ["pub", "/", ".", "pub/.."])
def test_directories_are_refused(root, name):
    """RFC 1350 §1: TFTP moves files and cannot list directories: reading one is an access violation."""
    with pytest.raises(IsADirectoryError):
        DiskFiles(root).open_read(name)
    assert refusal(DiskFiles(root), name) == ErrorCode.ACCESS_VIOLATION
    assert refusal(DiskFiles(root, writable=True, overwrite=True), name, Opcode.WRQ) == ErrorCode.ACCESS_VIOLATION


def test_a_fifo_is_refused_without_blocking_the_server(root):
    """RFC 1350 appendix ERROR 2: only regular files are served; open() of a FIFO would hang the server."""
    os.mkfifo(root / "pipe")
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(refusal(DiskFiles(root), "pipe")), daemon=True)
    worker.start()
    worker.join(5)
    if worker.is_alive():  # unblock the thread before failing
        with open(root / "pipe", "wb"):
            pass
        pytest.fail("open_read of a FIFO blocked")
    assert outcome == [ErrorCode.ACCESS_VIOLATION]


def test_a_missing_file_is_error_1(root):
    """RFC 1350 appendix: ERROR 1 "File not found"."""
    assert refusal(DiskFiles(root), "nope.txt") == ErrorCode.FILE_NOT_FOUND
    assert refusal(DiskFiles(root), "nodir/nope.txt") == ErrorCode.FILE_NOT_FOUND


def test_a_whole_get_from_disk(root):
    """RFC 1350 §2: the bytes on disk arrive, through the server's own transfer port."""
    (root / "pub" / "big.bin").write_bytes(bytes(range(256)) * 9)
    loop, client, into = run_get(TftpServer(DiskFiles(root)), "/pub/big.bin")
    assert client.ok and into.getvalue() == bytes(range(256)) * 9
    assert loop.server_transfers[0].file_closed


# -- writing --------------------------------------------------------------------------------------------------
def test_uploads_are_refused_unless_writable(root):
    """RFC 1350 appendix ERROR 2: a server that does not take uploads (tftpd-hpa without -c) says so."""
    with pytest.raises(PermissionError):
        DiskFiles(root).open_write("new.txt")
    assert refusal(DiskFiles(root), "new.txt", Opcode.WRQ) == ErrorCode.ACCESS_VIOLATION
    assert not (root / "new.txt").exists()


def test_an_upload_appears_under_its_name_only_when_complete(root):
    """An upload goes to a hidden temporary in the same directory and is renamed at the end: while it runs,
    the final name does not exist, so nobody reads half a file."""
    upload = DiskFiles(root, writable=True).open_write("pub/new.bin")
    upload.write(b"first half ")
    assert not (root / "pub" / "new.bin").exists()
    [temp] = [name for name in os.listdir(root / "pub") if name != "boot.img"]
    assert temp.startswith(".") and temp.endswith(".part")
    upload.write(b"second half")
    upload.close()
    assert (root / "pub" / "new.bin").read_bytes() == b"first half second half"
    assert sorted(os.listdir(root / "pub")) == ["boot.img", "new.bin"]
    upload.close()  # closing twice is harmless


def test_a_discarded_upload_leaves_no_file_at_all(root):
    """A failed transfer discards its upload: neither the name nor the temporary remains."""
    before = sorted(os.listdir(root))
    upload = DiskFiles(root, writable=True).open_write("new.bin")
    upload.write(b"partial")
    upload.discard()
    assert sorted(os.listdir(root)) == before
    upload.discard()  # twice is harmless


def test_an_upload_the_client_abandons_leaves_no_file(root):
    """RFC 1350 §2: the client stops answering mid-upload; when the server gives up, nothing is left."""
    files = DiskFiles(root, writable=True)
    transfer, _ = accept(TftpServer(files), Request(Opcode.WRQ, "new.bin").encode(), CLIENT)
    transfer.start(now=0.0)
    transfer.receive(Data(1, b"x" * 512).encode(), CLIENT, now=0.1)
    while not transfer.finished:
        transfer.handle_timer(now=transfer.get_timer())
    assert not transfer.ok and sorted(os.listdir(root)) == ["hello.txt", "pub"]


def test_overwrite_rules(root):
    """RFC 1350 appendix ERROR 6 "File already exists": unless the server allows overwriting; then the old
    file stays readable until the new one is whole."""
    assert refusal(DiskFiles(root, writable=True), "hello.txt", Opcode.WRQ) == ErrorCode.FILE_EXISTS
    with pytest.raises(FileExistsError):
        DiskFiles(root, writable=True).open_write("/pub/../hello.txt")
    upload = DiskFiles(root, writable=True, overwrite=True).open_write("hello.txt")
    upload.write(b"replaced")
    assert (root / "hello.txt").read_bytes() == b"hello"
    upload.close()
    assert (root / "hello.txt").read_bytes() == b"replaced"


def test_an_upload_into_a_missing_directory_is_refused(root):
    """RFC 1350 appendix ERROR 1: TFTP cannot make directories; the server does not either."""
    with pytest.raises(FileNotFoundError):
        DiskFiles(root, writable=True).open_write("nodir/new.txt")
    assert not (root / "nodir").exists()


def test_a_whole_put_to_disk(root):
    """RFC 1350 §2: the uploaded bytes end up in the file, and no temporary stays behind."""
    data = bytes(range(256)) * 7
    loop, client, _ = run_put(TftpServer(DiskFiles(root, writable=True)), "pub/up.bin", data)
    assert client.ok and (root / "pub" / "up.bin").read_bytes() == data
    assert sorted(os.listdir(root / "pub")) == ["boot.img", "up.bin"]


# -- in memory --------------------------------------------------------------------------------------------------
def test_memory_files_normalise_names_like_the_disk():
    """The same jail rules in memory: "/boot/x", "boot/x" and "boot/../boot/x" are one file."""
    files = MemoryFiles({"boot/pxelinux.0": b"PXE"})
    for name in ("boot/pxelinux.0", "/boot/pxelinux.0", "boot/../boot/pxelinux.0", "../boot/pxelinux.0"):
        file, size = files.open_read(name)
        assert file.read() == b"PXE" and size == 3
    with pytest.raises(FileNotFoundError):
        files.open_read("pxelinux.0")


def test_memory_uploads_are_stored_on_close_and_dropped_on_discard():
    """As on disk: an upload becomes visible only when whole; a discarded one never."""
    files = MemoryFiles({"old": b"1"}, writable=True, overwrite=True)
    upload = files.open_write("new")
    upload.write(b"abc")
    with pytest.raises(FileNotFoundError):
        files.open_read("new")
    upload.close()
    assert files["new"] == b"abc"
    dropped = files.open_write("old")
    dropped.write(b"2")
    dropped.discard()
    assert files["old"] == b"1"
    with pytest.raises(PermissionError):
        MemoryFiles({}).open_write("x")
    with pytest.raises(FileExistsError):
        MemoryFiles({"x": b""}, writable=True).open_write("/x")
