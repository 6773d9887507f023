"""TFTP on real sockets, against real peers, on 127.0.0.1 (and one namespace lab).

* Real clients against our server (:mod:`refimpl.sockets.tftp_server`): tftp-hpa
  (binary and ascii), atftp with options, curl (get and upload).
* Our client (:mod:`refimpl.sockets.tftp_client` and the ``tftp-get``/``tftp-put``
  commands) against tftpd-hpa, started and stopped by the test.
* What only a real network shows: netascii through a real client, the empty
  last DATA, block numbers that wrap after 65535, refusals from a fresh port,
  paths out of the root, junk datagrams, repeated requests, a full server, a
  clean shutdown, and a lossy link (a small relay that drops 20 % of the
  datagrams each way; this kernel has no sch_netem for ``tc ... netem``).

Ports are ephemeral (never 69). tftp-hpa's client exits 0 even when the
server refused, so every download is checked by its bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dhcp_real_harness import wait_until
from server_thread import ServerThread

from refimpl.lab.netns import Lab
from refimpl.lab.procwait import stop
from refimpl.tftp import DiskFiles, ServerConfig, TftpServer
from refimpl.tftp.netascii import to_netascii
from refimpl.tftp.packets import Ack, Data, Error, Opcode, Request, decode

pytestmark = [pytest.mark.needs_tool]

PY = sys.executable
LOOPBACK = "127.0.0.1"
PACKAGES = {"tftp": "tftp-hpa", "atftp": "atftp", "curl": "curl", "in.tftpd": "tftpd-hpa"}

SMALL = random.Random(1).randbytes(1000)  # two blocks: 512 + 488
EXACT = random.Random(2).randbytes(512 * 8)  # a multiple of 512: ends with an empty DATA 9
MEDIUM = random.Random(3).randbytes(100_000)
# Text with LF line ends, bare CRs (one at the very end) and a CR LF pair, long enough
# that CR LF and CR NUL pairs are cut by block boundaries on the wire.
TEXT = b"".join(b"line %d\n" % i + (b"bare\rcr\n" if i % 7 == 0 else b"") for i in range(500)) + b"dos\r\nend\r"


def need(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        packages = " ".join(sorted({PACKAGES.get(tool, tool) for tool in missing}))
        pytest.skip(f"needs {', '.join(missing)} (Debian packages: {packages})")


def run(argv: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def udp_client(timeout: float = 10):
    """A plain UDP socket on an ephemeral loopback port, for hand-made packets."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((LOOPBACK, 0))
        sock.settimeout(timeout)
        yield sock
    finally:
        sock.close()


def ask(port: int, packet: bytes, timeout: float = 10):
    """Send one packet to the server's port; return (decoded answer, the port it came from)."""
    with udp_client(timeout) as sock:
        sock.sendto(packet, (LOOPBACK, port))
        data, address = sock.recvfrom(65536)
    return decode(data), address[1]


def next_error(sock: socket.socket) -> Error:
    """The next ERROR that reaches ``sock``, past DATA the server may have sent again meanwhile."""
    for _ in range(20):  # bounded
        packet = decode(sock.recvfrom(65536)[0])
        if isinstance(packet, Error):
            return packet
    raise AssertionError("no ERROR among 20 packets")


def rrq(name: str, mode: str = "octet", **options: str) -> bytes:
    return Request(Opcode.RRQ, name, mode, options).encode()


def wrq(name: str, mode: str = "octet", **options: str) -> bytes:
    return Request(Opcode.WRQ, name, mode, options).encode()


class ListLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def text(self) -> str:
        return "\n".join(list(self.lines))


def private_logger(name: str) -> tuple[logging.Logger, ListLog]:
    logger = logging.getLogger(f"tests.tftp.{name}.{id(object())}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    handler = ListLog()
    logger.addHandler(handler)
    return logger, handler


class LiveServer(ServerThread):
    """Our server in a background thread with its own event loop: ``with LiveServer(root) as srv: srv.port``."""

    def __init__(
        self,
        root: Path,
        *,
        writable: bool = False,
        overwrite: bool = False,
        host: str = LOOPBACK,
        port_range=None,
        max_transfers: int = 256,
        **config,
    ):
        from refimpl.sockets.tftp_server import TftpServerDriver

        self.logger, self.log = private_logger("server")
        server = TftpServer(DiskFiles(root, writable=writable, overwrite=overwrite), ServerConfig(**config))
        self.driver = TftpServerDriver(
            server, host, 0, port_range=port_range, max_transfers=max_transfers, logger=self.logger
        )
        super().__init__(self.driver.start, self.driver.close, "TFTP server")

    def wait_log(self, pattern: str, timeout: float = 30) -> re.Match:
        return wait_until(lambda: re.search(pattern, self.log.text()), timeout, f"server log line {pattern!r}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The served directory, beside a secret that must never leak out of it."""
    served = tmp_path / "root"
    (served / "pub").mkdir(parents=True)
    (served / "small.bin").write_bytes(SMALL)
    (served / "exact.bin").write_bytes(EXACT)
    (served / "medium.bin").write_bytes(MEDIUM)
    (served / "text.txt").write_bytes(TEXT)
    (served / "pub" / "hello.txt").write_bytes(b"hello\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"TOP SECRET\n")
    (served / "link.txt").symlink_to(outside / "secret.txt")
    (served / "linkdir").symlink_to(outside)
    return served


def tftp_hpa(port: int, mode: str, command: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return run(["tftp", "-m", mode, LOOPBACK, str(port), "-c", command, *args], timeout=timeout)


def done_line(srv: LiveServer, name: str) -> re.Match:
    return srv.wait_log(rf"(RRQ|WRQ) from \S+ file {re.escape(name)} done (\d+) bytes \((\d+) blocks of (\d+)")


# -- real clients against our server --------------------------------------------------------
@pytest.mark.parametrize("name, data", [("small.bin", SMALL), ("exact.bin", EXACT)], ids=["short-last", "exact-512s"])
def test_tftp_hpa_gets_binary(root, tmp_path, name, data):
    need("tftp")
    with LiveServer(root) as srv:
        result = tftp_hpa(srv.port, "binary", "get", name, str(tmp_path / "got"))
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "got").read_bytes() == data
        done = done_line(srv, name)
    # 4096 bytes are 8 full blocks and an empty ninth: the only way to say "the end" (RFC 1350 §6).
    assert int(done[2]) == len(data) and int(done[3]) == len(data) // 512 + 1


def test_tftp_hpa_puts_binary(root, tmp_path):
    need("tftp")
    (tmp_path / "up.bin").write_bytes(MEDIUM)
    with LiveServer(root, writable=True, timeout=0.3) as srv:  # a short dally after the last ACK
        result = tftp_hpa(srv.port, "binary", "put", str(tmp_path / "up.bin"), "pub/up.bin")
        assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
        assert (root / "pub" / "up.bin").read_bytes() == MEDIUM
        done_line(srv, "pub/up.bin")
    assert not list(root.rglob(".tftp-*")), "a temporary upload file was left behind"


def test_tftp_hpa_gets_netascii(root, tmp_path):
    need("tftp")
    with LiveServer(root) as srv:
        result = tftp_hpa(srv.port, "ascii", "get", "text.txt", str(tmp_path / "got.txt"))
        assert result.returncode == 0, result.stderr
        done = done_line(srv, "text.txt")
    assert (tmp_path / "got.txt").read_bytes() == TEXT  # tftp-hpa turned CR LF / CR NUL back
    assert int(done[2]) == len(to_netascii(TEXT)) > len(TEXT)  # the wire carried CR LF and CR NUL


def test_tftp_hpa_puts_netascii(root, tmp_path):
    need("tftp")
    (tmp_path / "up.txt").write_bytes(TEXT)
    with LiveServer(root, writable=True, timeout=0.3) as srv:
        result = tftp_hpa(srv.port, "ascii", "put", str(tmp_path / "up.txt"), "up.txt")
        assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout + result.stderr
        done = done_line(srv, "up.txt")
    assert (root / "up.txt").read_bytes() == TEXT  # LF and the bare CRs came back as they were
    assert int(done[2]) == len(to_netascii(TEXT))


def test_atftp_negotiates_blksize_and_tsize(root, tmp_path):
    need("atftp")
    with LiveServer(root) as srv:
        result = run(
            [
                "atftp",
                "--option",
                "blksize 1428",
                "--option",
                "tsize 0",
                "-g",
                "-r",
                "medium.bin",
                "-l",
                str(tmp_path / "got"),
                LOOPBACK,
                str(srv.port),
            ]
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert (tmp_path / "got").read_bytes() == MEDIUM
        done = done_line(srv, "medium.bin")
    assert f"OACK blksize=1428 tsize={len(MEDIUM)}" in srv.log.text()  # RFC 2348, 2349
    assert int(done[4]) == 1428 and int(done[3]) == len(MEDIUM) // 1428 + 1


def test_curl_gets_with_blksize(root, tmp_path):
    need("curl")
    with LiveServer(root) as srv:
        result = run(
            [
                "curl",
                "-sS",
                "--tftp-blksize",
                "1024",
                "-o",
                str(tmp_path / "got"),
                f"tftp://{LOOPBACK}:{srv.port}/pub/hello.txt",
            ]
        )
        assert result.returncode == 0, result.stderr
        assert (tmp_path / "got").read_bytes() == b"hello\n"
        done = done_line(srv, "pub/hello.txt")
    assert "blksize=1024" in srv.log.text() and int(done[4]) == 1024


def test_curl_uploads(root, tmp_path):
    need("curl")
    (tmp_path / "up.bin").write_bytes(EXACT)
    with LiveServer(root, writable=True) as srv:
        result = run(["curl", "-sS", "-T", str(tmp_path / "up.bin"), f"tftp://{LOOPBACK}:{srv.port}/curl.bin"])
        assert result.returncode == 0, result.stderr
        assert (root / "curl.bin").read_bytes() == EXACT
    assert f"WRQ from {LOOPBACK}:" in srv.log.text() and f"tsize={len(EXACT)}" in srv.log.text()


@pytest.mark.slow
def test_block_numbers_wrap_after_65535(root, tmp_path):
    """65537 blocks of 512: block 65535 is followed by block 0 (as tftpd-hpa, curl and tftp-hpa count)."""
    need("tftp")
    size = 65536 * 512 + 300
    big = random.Random(4).randbytes(size)
    (root / "big.bin").write_bytes(big)
    with LiveServer(root) as srv:
        result = tftp_hpa(srv.port, "binary", "get", "big.bin", str(tmp_path / "big.bin"), timeout=240)
        assert result.returncode == 0, result.stderr
        done = done_line(srv, "big.bin")
    got = (tmp_path / "big.bin").read_bytes()
    assert len(got) == size and hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
    assert int(done[3]) == 65537


# -- refusals and bad input -----------------------------------------------------------------
def test_missing_file_is_error_1_from_a_fresh_port(root, tmp_path):
    need("tftp")
    with LiveServer(root) as srv:
        answer, source = ask(srv.port, rrq("no-such-file"))
        assert isinstance(answer, Error) and answer.code == 1
        assert source != srv.port  # RFC 1350 §4: even an ERROR comes from a new TID
        result = tftp_hpa(srv.port, "binary", "get", "no-such-file", str(tmp_path / "got"))
    assert "Error code 1" in result.stdout + result.stderr
    assert not (tmp_path / "got").exists() or (tmp_path / "got").read_bytes() == b""
    assert "file no-such-file octet refused: ERROR 1" in srv.log.text()


@pytest.mark.parametrize(
    "name",
    [
        "../outside/secret.txt",
        "../../../../../etc/passwd",
        "pub/../../outside/secret.txt",
        "/etc/passwd",
        "OUTSIDE_ABSOLUTE",
        "link.txt",
        "linkdir/secret.txt",
    ],
)
def test_paths_out_of_the_root_are_refused(root, tmp_path, name):
    need("tftp")
    name = str(tmp_path / "outside" / "secret.txt") if name == "OUTSIDE_ABSOLUTE" else name
    with LiveServer(root) as srv:
        answer, _ = ask(srv.port, rrq(name))
        result = tftp_hpa(srv.port, "binary", "get", name, str(tmp_path / "got"))
    assert isinstance(answer, Error), f"{name!r} was served: {answer}"
    # A symbolic link out of the root is an access violation. A path with ".." stays
    # inside, as in a chroot: "/../etc/passwd" is "<root>/etc/passwd", which is not there.
    assert answer.code == (2 if "link" in name else 1), answer
    got = (tmp_path / "got").read_bytes() if (tmp_path / "got").exists() else b""
    assert b"SECRET" not in got and b"root:" not in got and got == b""
    assert "Error code" in result.stdout + result.stderr


def test_upload_refused_when_not_writable(root, tmp_path):
    need("tftp")
    (tmp_path / "up.bin").write_bytes(SMALL)
    with LiveServer(root) as srv:
        answer, _ = ask(srv.port, wrq("new.bin"))
        result = tftp_hpa(srv.port, "binary", "put", str(tmp_path / "up.bin"), "new.bin")
    assert isinstance(answer, Error) and answer.code == 2, answer
    assert "Error code 2" in result.stdout + result.stderr
    assert not (root / "new.bin").exists() and not list(root.rglob(".tftp-*"))


def test_upload_onto_an_existing_file_is_error_6_unless_overwrite(root, tmp_path):
    need("tftp")
    (tmp_path / "up.bin").write_bytes(SMALL)
    with LiveServer(root, writable=True) as srv:
        answer, _ = ask(srv.port, wrq("medium.bin"))
    assert isinstance(answer, Error) and answer.code == 6
    with LiveServer(root, writable=True, overwrite=True) as srv:
        result = tftp_hpa(srv.port, "binary", "put", str(tmp_path / "up.bin"), "medium.bin")
        assert result.returncode == 0 and "Error" not in result.stdout + result.stderr, result.stdout
    assert (root / "medium.bin").read_bytes() == SMALL


def test_max_upload_stops_a_big_upload_with_or_without_tsize(root, tmp_path):
    need("tftp", "curl")
    (tmp_path / "big.bin").write_bytes(MEDIUM)
    with LiveServer(root, writable=True, max_upload=50_000) as srv:
        # curl announces the size (tsize): refused at once, RFC 2349.
        result = run(["curl", "-sS", "-T", str(tmp_path / "big.bin"), f"tftp://{LOOPBACK}:{srv.port}/curl.bin"])
        assert result.returncode != 0
        # tftp-hpa announces nothing: stopped when the 50,001st byte arrives.
        result = tftp_hpa(srv.port, "binary", "put", str(tmp_path / "big.bin"), "hpa.bin")
        assert "Error code 3" in result.stdout + result.stderr
        srv.wait_log(r"WRQ from \S+ file hpa.bin failed")
    assert "file curl.bin octet" in srv.log.text() and "refused: ERROR 3" in srv.log.text()
    assert not (root / "curl.bin").exists() and not (root / "hpa.bin").exists()
    assert not list(root.glob(".tftp-*")), "the stopped upload left its temporary file"


JUNK = [
    b"",  # nothing at all
    b"\x00",  # half an opcode
    b"\x00\x09hello\x00octet\x00",  # unknown opcode 9
    bytes(random.Random(5).randbytes(300)),
    Data(1, b"x" * 512).encode(),  # not a request: DATA to the request port
    Ack(0).encode(),
    b"\x00\x01no-nul-at-the-end",
    rrq("small.bin", "mail"),  # RFC 1350 §1: mode "mail" is not served
    rrq("small.bin", blksize="1024", BLKSIZE="2048"),  # an option twice
    b"\x00\x01" + b"a" * 60000,  # a huge request, never NUL-terminated
]


def test_junk_datagrams_then_a_normal_download(root, tmp_path):
    need("tftp")
    with LiveServer(root) as srv:
        answers = []
        with udp_client() as sock:
            for junk in JUNK:
                sock.sendto(junk, (LOOPBACK, srv.port))
            for _ in JUNK:  # bounded: one ERROR back for each
                data, (_, source) = sock.recvfrom(65536)
                answers.append((decode(data), source))
            # An ERROR is never answered (RFC 1350 §7), not even at the request port.
            sock.sendto(Error(0, "hi").encode(), (LOOPBACK, srv.port))
            sock.settimeout(0.5)
            with pytest.raises(socket.timeout):
                sock.recvfrom(65536)
        result = tftp_hpa(srv.port, "binary", "get", "small.bin", str(tmp_path / "got"))
        assert result.returncode == 0 and (tmp_path / "got").read_bytes() == SMALL
        done_line(srv, "small.bin")
        assert not srv.driver.transfers
    assert all(isinstance(a, Error) and a.code == 4 for a, _ in answers), answers  # illegal operation
    assert all(source != srv.port for _, source in answers)


def test_a_repeated_request_does_not_start_a_second_transfer(root):
    with LiveServer(root) as srv, udp_client() as sock:
        for _ in range(3):  # a client that resent its RRQ before the first DATA arrived
            sock.sendto(rrq("small.bin"), (LOOPBACK, srv.port))
        blocks, tids = {}, set()
        for _ in range(20):  # bounded; the server may send DATA 1 again meanwhile
            data, (_, tid) = sock.recvfrom(65536)
            packet = decode(data)
            tids.add(tid)
            blocks[packet.block] = packet.data
            sock.sendto(Ack(packet.block).encode(), (LOOPBACK, tid))
            if packet.block == 2:
                break
        done_line(srv, "small.bin")
        starts = re.findall(r"RRQ from \S+ file small.bin octet \(port", srv.log.text())
    assert blocks[1] + blocks[2] == SMALL
    assert len(tids) == 1 and len(starts) == 1, srv.log.text()
    assert srv.driver.stats["ignored"] == 2


def test_port_range_gives_the_transfer_ports(root):
    low = next(
        base for base in range(random.randrange(40000, 50000), 60000, 16) if all(_free(base + i) for i in range(8))
    )
    with LiveServer(root, port_range=(low, low + 7)) as srv:
        for _ in range(3):
            with udp_client() as sock:
                sock.sendto(rrq("pub/hello.txt"), (LOOPBACK, srv.port))
                data, (_, tid) = sock.recvfrom(65536)
                assert decode(data) == Data(1, b"hello\n")
                assert low <= tid <= low + 7
                sock.sendto(Ack(1).encode(), (LOOPBACK, tid))
        wait_until(lambda: srv.driver.stats["done"] == 3, 30, "three transfers to end")


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
    return True


def test_server_busy_then_a_clean_shutdown(root):
    """Two transfers fill the server; the third request gets ERROR 0. Closing ends both:
    each client gets an ERROR, the half upload is dropped, every transfer socket is closed."""
    srv = LiveServer(root, writable=True, max_transfers=2, timeout=30)  # no retransmission during the test
    with contextlib.ExitStack() as stack:
        stack.enter_context(srv)
        reader, writer, third = (stack.enter_context(udp_client()) for _ in range(3))
        reader.sendto(rrq("medium.bin"), (LOOPBACK, srv.port))
        first, (_, read_tid) = reader.recvfrom(65536)
        assert decode(first) == Data(1, MEDIUM[:512])
        writer.sendto(wrq("half.bin"), (LOOPBACK, srv.port))
        ack, (_, write_tid) = writer.recvfrom(65536)
        assert decode(ack) == Ack(0)
        writer.sendto(Data(1, b"x" * 512).encode(), (LOOPBACK, write_tid))
        assert decode(writer.recvfrom(65536)[0]) == Ack(1)
        assert len(list(root.glob(".tftp-*.part"))) == 1  # the upload so far, under a temporary name

        third.sendto(rrq("small.bin"), (LOOPBACK, srv.port))
        busy = decode(third.recvfrom(65536)[0])
        assert isinstance(busy, Error) and busy.code == 0 and "busy" in busy.message

        srv.__exit__(None, None, None)  # the shutdown under test (ExitStack's second call is harmless)
        for sock in (reader, writer):
            assert "shutting down" in next_error(sock).message
    assert not srv.driver.transfers and srv.driver.sock is None
    assert _free(read_tid) and _free(write_tid) and _free(srv.port)  # every socket really closed
    assert not (root / "half.bin").exists() and not list(root.glob(".tftp-*"))
    assert "WRQ from 127.0.0.1:" in srv.log.text() and "failed: server shutting down" in srv.log.text()


# -- our client against tftpd-hpa ----------------------------------------------------------------
@pytest.fixture
def hpa(tmp_path):
    """tftpd-hpa on a free loopback port, serving (and accepting new files into) its own directory."""
    need("in.tftpd")
    served = tmp_path / "hpa"
    served.mkdir()
    (served / "medium.bin").write_bytes(MEDIUM)
    (served / "text.txt").write_bytes(TEXT)
    process = None
    try:
        for _ in range(5):  # bounded: another program may take the free port first
            port = free_udp_port()
            with open(tmp_path / "in.tftpd.log", "w") as log:
                process = subprocess.Popen(
                    [
                        "in.tftpd",
                        "--foreground",
                        "--address",
                        f"{LOOPBACK}:{port}",
                        "--secure",
                        "--create",
                        "--user",
                        "root",
                        str(served),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if _answers(port, process):
                break
            process.kill()
            process.wait(5)
            process = None
        assert process is not None, f"tftpd-hpa did not start: {(tmp_path / 'in.tftpd.log').read_text()}"
        yield served, port
    finally:
        if process is not None:
            stop(process)


def _answers(port: int, process: subprocess.Popen) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and process.poll() is None:
        try:
            answer, _ = ask(port, rrq("probe-no-such-file"), timeout=0.2)
            return isinstance(answer, Error)
        except OSError:  # timeout: not listening yet
            continue
    return False


@pytest.mark.parametrize("blksize", [None, 1428])
def test_our_client_gets_from_tftpd_hpa(hpa, blksize):
    from refimpl.sockets.tftp_client import get

    served, port = hpa
    into = io.BytesIO()
    transfer = asyncio.run(
        get(LOOPBACK, "medium.bin", into, port=port, blksize=blksize, ask_size=True, retry_timeout=0.3)
    )
    assert into.getvalue() == MEDIUM
    assert transfer.ok and transfer.settings.blksize == (blksize or 512)
    assert transfer.settings.tsize == len(MEDIUM)  # RFC 2349: tftpd-hpa told the size


def test_our_client_puts_to_tftpd_hpa(hpa):
    from refimpl.sockets.tftp_client import put

    served, port = hpa
    transfer = asyncio.run(
        put(LOOPBACK, "up.bin", io.BytesIO(MEDIUM), port=port, blksize=1000, size=len(MEDIUM), retry_timeout=0.3)
    )
    assert transfer.ok and transfer.settings.blksize == 1000
    wait_until(
        lambda: (served / "up.bin").exists() and (served / "up.bin").read_bytes() == MEDIUM,
        10,
        "the upload in tftpd-hpa's directory",
    )


def test_our_client_netascii_with_tftpd_hpa(hpa):
    from refimpl.sockets.tftp_client import get, put

    served, port = hpa
    into = io.BytesIO()
    transfer = asyncio.run(get(LOOPBACK, "text.txt", into, port=port, mode="netascii", retry_timeout=0.3))
    assert into.getvalue() == TEXT and transfer.bytes == len(to_netascii(TEXT))
    asyncio.run(put(LOOPBACK, "back.txt", io.BytesIO(TEXT), port=port, mode="netascii", retry_timeout=0.3))
    wait_until(
        lambda: (served / "back.txt").exists() and (served / "back.txt").read_bytes() == TEXT, 10, "the netascii upload"
    )


def test_our_client_is_refused_by_tftpd_hpa(hpa):
    from refimpl.sockets.tftp_client import TftpError, get

    _, port = hpa
    with pytest.raises(TftpError, match=r"ERROR 1\b") as caught:
        asyncio.run(get(LOOPBACK, "no-such-file", io.BytesIO(), port=port, retry_timeout=0.3))
    assert caught.value.transfer is not None and not caught.value.transfer.ok


def test_cli_get_and_put_with_tftpd_hpa(hpa, tmp_path):
    served, port = hpa
    fast = ["--timeout", "0.3"]
    got = tmp_path / "got.bin"
    result = run(
        [
            PY,
            "-m",
            "refimpl",
            "tftp-get",
            f"{LOOPBACK}:{port}",
            "medium.bin",
            str(got),
            "--blksize",
            "1428",
            "--tsize",
            *fast,
        ]
    )
    assert result.returncode == 0, result.stderr
    assert got.read_bytes() == MEDIUM and "blksize 1428" in result.stderr

    text = tmp_path / "text.txt"
    text.write_bytes(TEXT)
    result = run(
        [PY, "-m", "refimpl", "tftp-put", f"{LOOPBACK}:{port}", str(text), "cli.txt", "--mode", "netascii", *fast]
    )
    assert result.returncode == 0, result.stderr
    wait_until(lambda: (served / "cli.txt").exists() and (served / "cli.txt").read_bytes() == TEXT, 10, "cli.txt")

    missing = tmp_path / "missing.bin"
    result = run([PY, "-m", "refimpl", "tftp-get", f"{LOOPBACK}:{port}", "no-such-file", str(missing), *fast])
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1 and "File not found" in result.stderr
    assert not missing.exists() and not list(tmp_path.glob(".tftp-*"))  # a failed download leaves nothing


def test_cli_get_gives_up_when_nobody_answers(tmp_path):
    with udp_client() as silent:  # a port that swallows the request: no ICMP error, no answer
        port = silent.getsockname()[1]
        result = run(
            [
                PY,
                "-m",
                "refimpl",
                "tftp-get",
                f"{LOOPBACK}:{port}",
                "x.bin",
                str(tmp_path / "x.bin"),
                "--timeout",
                "0.2",
                "--retries",
                "2",
            ]
        )
    assert result.returncode == 1
    assert "no answer after 2 retransmissions" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.bin").exists()


# -- the command-line server --------------------------------------------------------------------
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_server_serves_and_stops_on_a_signal(root, tmp_path, signum):
    need("tftp")
    log = tmp_path / "server.log"
    with open(log, "w") as handle:
        process = subprocess.Popen(
            [
                PY,
                "-m",
                "refimpl",
                "tftp-server",
                "--root",
                str(root),
                "--port",
                "0",
                "--writable",
                "--max-blksize",
                "1468",
                "-v",
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        port = int(
            wait_until(
                lambda: re.search(r"listening on 127\.0\.0\.1:(\d+)", log.read_text()) or process.poll() is not None,
                20,
                "tftp-server to listen",
            )[1]
        )
        result = tftp_hpa(port, "binary", "get", "medium.bin", str(tmp_path / "got"))
        assert result.returncode == 0 and (tmp_path / "got").read_bytes() == MEDIUM
        answer, _ = ask(port, rrq("medium.bin", blksize="9000"))
        assert answer.options == {"blksize": "1468"}  # --max-blksize: the server answers smaller (RFC 2348)
        with udp_client() as sock:  # a transfer still running when the signal comes
            sock.sendto(rrq("medium.bin"), (LOOPBACK, port))
            sock.recvfrom(65536)
            process.send_signal(signum)
            assert process.wait(20) == 0
            bye = next_error(sock)
        assert "shutting down" in bye.message
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    text = log.read_text()
    assert "RRQ from 127.0.0.1:" in text and "done 100000 bytes" in text and "stopped:" in text
    assert "Traceback" not in text
    assert _free(port)


def test_cli_server_refuses_a_missing_root(tmp_path):
    result = run([PY, "-m", "refimpl", "tftp-server", "--root", str(tmp_path / "nope"), "--port", "0"])
    assert result.returncode == 2 and "--root" in result.stderr


# -- a lossy link -----------------------------------------------------------------------------
class Relay:
    """A UDP relay between our client and our server that drops what ``drop(direction, datagram)`` says.

    The client talks to the relay's port as if it were the server; the relay
    sends requests on to the server's well-known port and everything else to
    the server's transfer port (its TID), learnt from the server's first answer.
    Each forwarded datagram waits ``delay`` seconds, like a slow link.
    """

    def __init__(self, server_port: int, drop, delay: float = 0.005):
        self.server_port = server_port
        self.drop = drop
        self.delay = delay
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for sock in (self.front, self.back):
            sock.bind((LOOPBACK, 0))
            sock.setblocking(False)
        self.port = self.front.getsockname()[1]
        self.client = None
        self.server_tid = None
        self.dropped = {"to server": 0, "to client": 0}
        self.forwarded = {"to server": 0, "to client": 0}

    def __enter__(self) -> Relay:
        self.loop = asyncio.get_running_loop()
        self.loop.add_reader(self.front.fileno(), self._from_client)
        self.loop.add_reader(self.back.fileno(), self._from_server)
        return self

    def __exit__(self, *exc) -> None:
        for sock in (self.front, self.back):
            self.loop.remove_reader(sock.fileno())
            sock.close()

    def _from_client(self) -> None:
        data, self.client = self.front.recvfrom(65536)
        request = data[:2] in (b"\x00\x01", b"\x00\x02")
        to = (LOOPBACK, self.server_port) if request or self.server_tid is None else self.server_tid
        self._forward("to server", self.back, data, to)

    def _from_server(self) -> None:
        data, self.server_tid = self.back.recvfrom(65536)
        self._forward("to client", self.front, data, self.client)

    def _forward(self, direction: str, sock: socket.socket, data: bytes, to) -> None:
        if self.drop(direction, data):
            self.dropped[direction] += 1
            return
        self.forwarded[direction] += 1
        self.loop.call_later(self.delay, self._send, sock, data, to)

    @staticmethod
    def _send(sock: socket.socket, data: bytes, to) -> None:
        if sock.fileno() != -1:
            sock.sendto(data, to)


@pytest.mark.slow
def test_a_lossy_link_loses_nothing(root):
    """20 % of the datagrams lost each way (seeded): a get and a put still arrive whole, by retransmission.

    After its last ACK the receiver dallies (RFC 1350 §6) for a time counted in its
    own timeouts, in case that ACK is lost and the last DATA comes again. With 20 %
    loss the dally must cover several of the sender's timeouts, or a lost last ACK
    plus a lost resend leaves the sender retrying into a closed port. So the sender
    here resends after 0.05 s and the receiver's timeout is 1 s (its own resends are
    rarely needed: the sender's timeout already brings a lost packet back).
    """
    from refimpl.sockets.tftp_client import get, put

    data = random.Random(6).randbytes(24 * 512 + 100)
    (root / "lossy.bin").write_bytes(data)
    rng = random.Random(7)
    client_logger, client_log = private_logger("client")

    def lossy(direction: str, datagram: bytes) -> bool:
        return rng.random() < 0.2

    async def through_relay(server_port: int, transfer, *args, **kw) -> Relay:
        with Relay(server_port, lossy) as relay:
            await asyncio.wait_for(
                transfer(LOOPBACK, *args, port=relay.port, max_retries=100, logger=client_logger, **kw), 120
            )
        return relay

    into = io.BytesIO()
    with LiveServer(root, timeout=0.05, max_retries=100) as sender:  # get: the server sends
        got = asyncio.run(through_relay(sender.port, get, "lossy.bin", into, retry_timeout=1.0))
        done_line(sender, "lossy.bin")
    assert into.getvalue() == data
    with LiveServer(root, writable=True, timeout=1.0, max_retries=100) as receiver:  # put: the client sends
        put_ = asyncio.run(through_relay(receiver.port, put, "lossy-up.bin", io.BytesIO(data), retry_timeout=0.05))
        done_line(receiver, "lossy-up.bin")
    assert (root / "lossy-up.bin").read_bytes() == data
    for relay in (got, put_):
        assert relay.dropped["to server"] and relay.dropped["to client"], relay.dropped
    logs = sender.log.text() + receiver.log.text() + client_log.text()
    assert logs.count("timeout: sending") > 0 and re.search(r"done \d+ bytes .*, [1-9]\d* timeouts\)", logs)


@pytest.mark.parametrize("lost", ["ACK 0 of a get", "DATA 1 of a put"])
def test_a_lost_answer_to_an_oack_is_recovered(root, lost):
    """The server's OACK is sent again when the client's answer to it (ACK 0 or DATA 1) is lost."""
    from refimpl.sockets.tftp_client import get, put

    first = {"ACK 0 of a get": Ack(0).encode(), "DATA 1 of a put": Data(1, SMALL[:512]).encode()}[lost]
    lost_once = []

    def drop(direction: str, datagram: bytes) -> bool:
        if direction == "to server" and datagram == first and not lost_once:
            lost_once.append(datagram)
            return True
        return False

    async def go(server_port: int):
        with Relay(server_port, drop) as relay:
            fast = dict(port=relay.port, blksize=512, retry_timeout=0.5, max_retries=10)
            if lost.startswith("ACK"):
                into = io.BytesIO()
                await get(LOOPBACK, "small.bin", into, **fast)
                assert into.getvalue() == SMALL
            else:
                await put(LOOPBACK, "oack.bin", io.BytesIO(SMALL), **fast)

    with LiveServer(root, writable=True, timeout=0.1) as srv:  # the server's timer fires first
        asyncio.run(asyncio.wait_for(go(srv.port), 60))
    assert lost_once


# -- a server on 0.0.0.0 answers from the address it was asked on ----------------------------------
@pytest.mark.needs_root
def test_wildcard_server_answers_from_the_address_the_client_used(root, tmp_path):
    """IP_PKTINFO: asked on its second address, the server answers from it, not from its first."""
    ok, why = Lab.available()
    if not ok:
        pytest.skip(why)
    with Lab("tftp") as lab:
        server, client = lab.host("srv"), lab.host("cli")
        server_if, _ = lab.link(server, "192.0.2.1/24", client, "192.0.2.2/24")
        server.ip("addr", "add", "192.0.2.9/24", "dev", server_if)  # a secondary address
        log = tmp_path / "server.log"
        with open(log, "w") as handle:
            server.run(
                [PY, "-m", "refimpl", "tftp-server", "--root", str(root), "--host", "0.0.0.0", "--port", "6969"],
                background=True,
                stdout=handle,
                stderr=subprocess.STDOUT,
            )
        wait_until(lambda: "listening on" in log.read_text(), 20, "tftp-server in the namespace")
        probe = (
            "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10); "
            "s.sendto(b'\\x00\\x01nope\\x00octet\\x00', ('192.0.2.9', 6969)); print(s.recvfrom(100)[1][0])"
        )
        assert client.run([PY, "-c", probe], timeout=30).stdout.strip() == "192.0.2.9"
        got = tmp_path / "got.bin"
        result = client.run(
            [PY, "-m", "refimpl", "tftp-get", "192.0.2.9:6969", "medium.bin", str(got), "--timeout", "0.3"], timeout=60
        )
        assert result.returncode == 0, result.stderr + log.read_text()
        assert got.read_bytes() == MEDIUM
