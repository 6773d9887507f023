"""The bench's FTP clients: one fast transfer client, one crowd of login clients.

Every server is measured with the *same* client, so differences are the
server's. The transfer client is deliberately thin - a blocking socket,
``recv_into`` a reused 1 MiB buffer for RETR, ``socket.sendfile`` for STOR -
so it costs less than any server: :func:`loopback_copy` measures the same
socket calls with no FTP server at all, the ceiling every figure sits under.

The crowd (:func:`crowd`) is asyncio: N clients connect at once, log in as
anonymous, LIST ``/pub`` over EPSV, QUIT. Every step is bounded by a timeout.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

HOST = "127.0.0.1"
BUFFER = 1 << 20
_EPSV = re.compile(rb"\(\|\|\|(\d+)\|\)")


class FTPBenchError(Exception):
    pass


class Control:
    """A blocking control connection: ``cmd("TYPE I") -> (200, "...")``."""

    def __init__(self, port: int, timeout: float = 30.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.expect(self.reply(), 220)

    def reply(self) -> tuple[int, bytes]:
        """One reply; RFC 959 §4.2: ``123-`` opens a multi-line reply that ``123 `` closes."""
        line = self.file.readline(8192)
        if len(line) < 4:
            raise FTPBenchError(f"connection closed or short reply: {line!r}")
        code, text = line[:3], line
        if line[3:4] == b"-":
            for _ in range(1000):
                more = self.file.readline(8192)
                if not more:
                    raise FTPBenchError("connection closed inside a multi-line reply")
                text += more
                if more[:3] == code and more[3:4] == b" ":
                    break
        return int(code), text

    def cmd(self, line: str) -> tuple[int, bytes]:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    @staticmethod
    def expect(reply: tuple[int, bytes], *codes: int) -> tuple[int, bytes]:
        if reply[0] not in codes:
            raise FTPBenchError(f"expected {codes}, got {reply[1][:200]!r}")
        return reply

    def login(self) -> None:
        code, _ = self.expect(self.cmd("USER anonymous"), 230, 331)
        if code == 331:
            self.expect(self.cmd("PASS bench@example.org"), 230)
        self.expect(self.cmd("TYPE I"), 200)

    def epsv(self) -> socket.socket:
        """RFC 2428 §3: passive mode, IPv4 or 6 alike; connect the data socket."""
        _, text = self.expect(self.cmd("EPSV"), 229)
        match = _EPSV.search(text)
        if not match:
            raise FTPBenchError(f"cannot parse {text!r}")
        return socket.create_connection((HOST, int(match.group(1))), timeout=self.sock.gettimeout())

    def close(self) -> None:
        try:
            self.cmd("QUIT")
        except (OSError, FTPBenchError):
            pass
        self.file.close()
        self.sock.close()


def retr(port: int, path: str, sink=None) -> tuple[int, float]:
    """Download ``path``; return (bytes, seconds from RETR to the 226). ``sink.write`` gets the data if given."""
    ctl = Control(port)
    try:
        ctl.login()
        data = ctl.epsv()
        buf = bytearray(BUFFER)
        view = memoryview(buf)
        total = 0
        start = time.perf_counter()
        ctl.sock.sendall(f"RETR {path}\r\n".encode())
        ctl.expect(ctl.reply(), 150, 125)
        with data:
            while True:
                n = data.recv_into(buf)
                if not n:
                    break
                total += n
                if sink is not None:
                    sink.write(view[:n])
        ctl.expect(ctl.reply(), 226, 250)
        return total, time.perf_counter() - start
    finally:
        ctl.close()


def stor(port: int, path: str, source: str) -> tuple[int, float]:
    """Upload the local file ``source`` as ``path``; return (bytes, seconds from STOR to the 226)."""
    ctl = Control(port)
    try:
        ctl.login()
        data = ctl.epsv()
        with open(source, "rb") as f:
            start = time.perf_counter()
            ctl.sock.sendall(f"STOR {path}\r\n".encode())
            ctl.expect(ctl.reply(), 150, 125)
            with data:
                sent = data.sendfile(f)
                data.shutdown(socket.SHUT_WR)  # RFC 959 §3.4: EOF ends the file in stream mode
                data.recv(1)  # wait for the server's close, so no RST can cut the tail
        ctl.expect(ctl.reply(), 226, 250)
        return sent, time.perf_counter() - start
    finally:
        ctl.close()


_SENDER = """
import socket, sys
with socket.socket() as listener:
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    print(listener.getsockname()[1], flush=True)
    listener.settimeout(30)
    conn, _ = listener.accept()
    with conn, open(sys.argv[1], "rb") as f:
        conn.sendfile(f)
"""


def loopback_copy(source: str) -> tuple[int, float]:
    """The same socket calls with no FTP server: ``sendfile`` (another process) into ``recv_into``.

    The sender is a separate process, as a server would be, so the two sides
    do not share one interpreter.
    """
    proc = subprocess.Popen([sys.executable, "-c", _SENDER, source], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        buf = bytearray(BUFFER)
        total = 0
        with socket.create_connection((HOST, port), timeout=30) as s:
            start = time.perf_counter()
            while n := s.recv_into(buf):
                total += n
            seconds = time.perf_counter() - start
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
    return total, seconds


# --------------------------------------------------------------- the crowd
@dataclass
class CrowdResult:
    clients: int
    ok: int
    seconds: float  # until the last client that succeeded was done
    wall: float  # until every client succeeded or timed out
    errors: dict[str, int]

    @property
    def per_second(self) -> float:
        """Logins (with their LIST) completed per second; failed clients do not count."""
        return self.ok / self.seconds if self.seconds else 0.0


async def _reply(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    line = await reader.readline()
    if len(line) < 4:
        raise FTPBenchError("closed")
    text = line
    if line[3:4] == b"-":
        for _ in range(1000):
            more = await reader.readline()
            if not more:
                raise FTPBenchError("closed")
            text += more
            if more[:3] == line[:3] and more[3:4] == b" ":
                break
    return int(line[:3]), text


async def _ask(reader, writer, line: str, *codes: int) -> tuple[int, bytes]:
    writer.write(line.encode() + b"\r\n")
    code, text = await _reply(reader)
    if code not in codes:
        raise FTPBenchError(f"{line.split()[0]} -> {code}")
    return code, text


async def one_client(port: int, directory: str = "/pub", stage: list | None = None) -> int:
    """Connect, log in, LIST, QUIT; return the listing's size in bytes.

    ``stage[0]`` names the step under way, so a timeout can say where it hung.
    """
    stage = stage if stage is not None else [""]
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        stage[0] = "greeting"
        code, _ = await _reply(reader)
        if code != 220:
            raise FTPBenchError(f"greeting {code}")
        stage[0] = "login"
        code, _ = await _ask(reader, writer, "USER anonymous", 230, 331)
        if code == 331:
            await _ask(reader, writer, "PASS bench@example.org", 230)
        stage[0] = "EPSV"
        _, text = await _ask(reader, writer, "EPSV", 229)
        match = _EPSV.search(text)
        if not match:
            raise FTPBenchError("bad EPSV reply")
        stage[0] = "data connect"
        data_reader, data_writer = await asyncio.open_connection(HOST, int(match.group(1)))
        try:
            stage[0] = "LIST"
            await _ask(reader, writer, f"LIST {directory}", 150, 125)
            stage[0] = "listing"
            listing = await data_reader.read()  # until the server's EOF
        finally:
            data_writer.close()
        stage[0] = "226"
        code, _ = await _reply(reader)
        if code != 226:
            raise FTPBenchError(f"LIST end {code}")
        stage[0] = "QUIT"
        await _ask(reader, writer, "QUIT", 221)
        return len(listing)
    finally:
        writer.close()


async def _crowd(port: int, clients: int, timeout: float) -> CrowdResult:
    start = time.perf_counter()

    async def bounded() -> float:
        stage = ["connect"]
        try:
            if not await asyncio.wait_for(one_client(port, stage=stage), timeout):
                raise FTPBenchError("empty listing")
        except TimeoutError:
            raise FTPBenchError(f"timeout during {stage[0]}") from None
        return time.perf_counter() - start

    results = await asyncio.gather(*(bounded() for _ in range(clients)), return_exceptions=True)
    wall = time.perf_counter() - start
    errors: dict[str, int] = {}
    finished = []
    for r in results:
        if isinstance(r, BaseException):
            key = type(r).__name__ + (f": {r}" if str(r) else "")
            errors[key] = errors.get(key, 0) + 1
        else:
            finished.append(r)
    return CrowdResult(clients, len(finished), max(finished, default=0.0), wall, errors)


def crowd(port: int, clients: int = 300, timeout: float = 30.0) -> CrowdResult:
    """``clients`` at once: each logs in and lists; wall time until the last is done."""
    return asyncio.run(_crowd(port, clients, timeout))
