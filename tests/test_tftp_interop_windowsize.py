"""RFC 7440 windowsize on real sockets: atftp (a real client with windowsize) against our server, and our
client against our server, on 127.0.0.1; files of many windows, SHA-256 compared.

Which Debian peers speak windowsize (bookworm, checked with ``strings`` and ``--help``): atftp 0.8 (the
client, ``--option "windowsize N"``) and atftpd 0.8 (a server). tftp-hpa, tftpd-hpa, curl 7.88, busybox
and dnsmasq do not. atftpd cannot be installed beside tftpd-hpa (both ship /usr/sbin/in.tftpd), which the
other tests and the bench need, so the real peer here is the atftp client.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import re

import pytest
from test_tftp_interop import LOOPBACK, PY, LiveServer, Relay, done_line, need, private_logger, run

pytestmark = [pytest.mark.needs_tool]

BIG = random.Random(8).randbytes(300_000)  # 586 blocks of 512, 211 of 1428: dozens of windows


@pytest.fixture
def root(tmp_path):
    """The served directory."""
    served = tmp_path / "root"
    served.mkdir()
    return served


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atftp(port: int, *args: str, options: dict[str, str]) -> None:
    argv = ["atftp"]
    for name, value in options.items():
        argv += ["--option", f"{name} {value}"]
    result = run([*argv, *args, LOOPBACK, str(port)])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("blksize", ["512", "1428"])
def test_atftp_gets_with_windowsize(root, tmp_path, blksize):
    """RFC 7440 §3-4 against a real client: the OACK grants windowsize 8, the file arrives whole."""
    need("atftp")
    (root / "big.bin").write_bytes(BIG)
    with LiveServer(root) as srv:
        atftp(
            srv.port,
            "-g",
            "-r",
            "big.bin",
            "-l",
            str(tmp_path / "got"),
            options={"windowsize": "8", "blksize": blksize},
        )
        done = done_line(srv, "big.bin")
    assert sha((tmp_path / "got").read_bytes()) == sha(BIG)
    assert re.search(r"OACK (blksize=\d+ )?windowsize=8|OACK windowsize=8", srv.log.text()), srv.log.text()
    assert int(done[2]) == len(BIG) and done[4] == blksize


def test_atftp_puts_with_windowsize(root, tmp_path):
    """RFC 7440 the other way: atftp sends windows of 8 to our server's receiver."""
    need("atftp")
    (tmp_path / "up.bin").write_bytes(BIG)
    with LiveServer(root, writable=True, timeout=0.3) as srv:
        atftp(srv.port, "-p", "-l", str(tmp_path / "up.bin"), "-r", "up.bin", options={"windowsize": "8"})
        done_line(srv, "up.bin")
    assert "OACK windowsize=8" in srv.log.text()
    assert sha((root / "up.bin").read_bytes()) == sha(BIG)


def test_atftp_asking_more_than_our_limit_gets_our_limit(root, tmp_path):
    """RFC 7440 §3: the server answers a value no larger than asked; ours grants at most max_windowsize."""
    need("atftp")
    (root / "big.bin").write_bytes(BIG)
    with LiveServer(root, max_windowsize=16) as srv:
        atftp(srv.port, "-g", "-r", "big.bin", "-l", str(tmp_path / "got"), options={"windowsize": "100"})
        done_line(srv, "big.bin")
    assert "OACK windowsize=16" in srv.log.text()
    assert sha((tmp_path / "got").read_bytes()) == sha(BIG)


@pytest.mark.parametrize("windowsize", [1, 16])
def test_our_client_and_server_with_windowsize(root, windowsize):
    """Our client against our server on real sockets: get and put of many windows, both ways."""
    from refimpl.sockets.tftp_client import get, put

    (root / "big.bin").write_bytes(BIG)
    into = io.BytesIO()
    with LiveServer(root, writable=True, timeout=0.3) as srv:
        got = asyncio.run(get(LOOPBACK, "big.bin", into, port=srv.port, windowsize=windowsize, retry_timeout=0.3))
        sent = asyncio.run(put(LOOPBACK, "up.bin", io.BytesIO(BIG), port=srv.port, windowsize=windowsize))
        done_line(srv, "up.bin")
    assert got.settings.windowsize == sent.settings.windowsize == windowsize
    assert sha(into.getvalue()) == sha(BIG) == sha((root / "up.bin").read_bytes())


def test_a_lossy_link_with_windows_loses_nothing(root):
    """10 % of the datagrams lost each way (seeded): windows of 8 still bring the whole file, by the gap's
    ACK and by timeouts (RFC 7440 §4)."""
    from refimpl.sockets.tftp_client import get

    (root / "big.bin").write_bytes(BIG[:60_000])
    rng = random.Random(9)
    logger, log = private_logger("client")

    async def go(server_port: int) -> Relay:
        with Relay(server_port, lambda direction, datagram: rng.random() < 0.1) as relay:
            await asyncio.wait_for(
                get(
                    LOOPBACK,
                    "big.bin",
                    into,
                    port=relay.port,
                    windowsize=8,
                    retry_timeout=0.2,
                    max_retries=50,
                    logger=logger,
                ),
                120,
            )
        return relay

    into = io.BytesIO()
    with LiveServer(root, timeout=0.1, max_retries=50) as srv:
        relay = asyncio.run(go(srv.port))
        done_line(srv, "big.bin")
    assert sha(into.getvalue()) == sha(BIG[:60_000])
    assert relay.dropped["to client"] and relay.dropped["to server"], relay.dropped
    assert "RFC 7440 §4" in log.text() + srv.log.text()  # a gap was seen and answered


def test_cli_windowsize_options(root, tmp_path):
    """The CLI: tftp-get --windowsize asks for it; 0 and 65536 are usage errors (RFC 7440 §3: 1-65535);
    tftp-server --max-windowsize 0 plays a server without the option: lock-step."""
    (root / "big.bin").write_bytes(BIG)
    for bad in ("0", "65536", "x"):
        result = run([PY, "-m", "refimpl", "tftp-get", f"{LOOPBACK}:9", "big.bin", "--windowsize", bad])
        assert result.returncode == 2 and "windowsize" in result.stderr, result.stderr
    with LiveServer(root) as srv:
        got = tmp_path / "got.bin"
        argv = [PY, "-m", "refimpl", "tftp-get", f"{LOOPBACK}:{srv.port}", "big.bin", str(got), "--windowsize", "8"]
        result = run([*argv, "--timeout", "0.3"])
        assert result.returncode == 0, result.stderr
        assert "windowsize 8" in result.stderr and sha(got.read_bytes()) == sha(BIG)
    with LiveServer(root, max_windowsize=None) as srv:
        argv = [PY, "-m", "refimpl", "tftp-get", f"{LOOPBACK}:{srv.port}", "big.bin", str(got), "--windowsize", "8"]
        result = run([*argv, "--timeout", "0.3"])
        assert result.returncode == 0 and "windowsize 8" not in result.stderr, result.stderr
        assert "OACK" not in srv.log.text()  # RFC 2347: nothing it knows was asked, so no OACK: DATA 1
    result = run([PY, "-m", "refimpl", "tftp-server", "--root", str(root), "--max-windowsize", "70000"])
    assert result.returncode == 2 and "max-windowsize" in result.stderr
