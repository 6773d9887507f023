"""Make the course's own Telnet capture: GNU inetutils telnetd and a real login, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_telnet refimpl/data/captures/telnet_session.pcap

The shipped file ``refimpl/data/captures/telnet_session.pcap`` was made this
way (nothing downloaded). inetutils ``telnetd`` expects its connection on
standard input, as ``inetd`` starts it; :func:`serve_once` plays that part
for one connection on 127.0.0.1 at a free port P. telnetd negotiates options
and runs ``/bin/login``, which checks a test user's password (:data:`USER`,
:data:`PASSWORD`, created for the run and removed after it). The client is
our scripted one (:func:`run_client`, Python sockets and
:mod:`refimpl.telnet`): it agrees to SUPPRESS-GO-AHEAD and ECHO and to send
its TERMINAL-TYPE (``VT100``), refuses every other option (RFC 1123
§3.2.1), answers ``login:`` and ``Password:``, runs ``echo`` and ``exit``.
``tcpdump -i lo`` records TCP to and from P: the negotiation and the
password, in clear.

Needs root (tcpdump, useradd, login), ``tcpdump``, ``telnetd``
(inetutils-telnetd), ``login`` and ``useradd``/``userdel`` (passwd).
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from refimpl import telnet
from refimpl.capture.record_http import free_tcp_port
from refimpl.capture.recorder import recorder_main, recording, require

USER = "lesson08"
PASSWORD = "clear-text-42"
COMMAND = "echo telnet-says-hello"
SHIPPED_PORT = 42023
TELNETD = "/usr/sbin/telnetd"
TOOLS = ("tcpdump", "useradd", "userdel", "chpasswd", "login")
WILL = frozenset({24})  # TERMINAL-TYPE: we send "VT100" when asked (RFC 1091)
DO = frozenset({1, 3})  # the server may ECHO and SUPPRESS-GO-AHEAD (RFC 857, 858): the usual pair


def serve_once(listener: socket.socket, log: Path) -> subprocess.Popen:
    """What inetd does for one connection: accept it and run telnetd with it as stdin and stdout."""
    listener.settimeout(20)
    conn, _ = listener.accept()
    with open(log, "a") as out:
        process = subprocess.Popen([TELNETD, "-h"], stdin=conn, stdout=conn, stderr=out)
    conn.close()  # telnetd has its own copy
    return process


class _Client:
    """A line-at-a-time Telnet client that reads until it sees a prompt, bounded in time."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.splitter = telnet.Splitter()
        self.text = bytearray()

    def read_until(self, prompt: bytes, timeout: float = 10, eof_ok: bool = False) -> bytes:
        deadline = time.monotonic() + timeout
        while prompt not in self.text:
            if time.monotonic() > deadline:
                raise RuntimeError(f"telnet: no {prompt!r} in {bytes(self.text)!r}")
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(4096)
            if not data:
                if eof_ok:
                    break
                raise RuntimeError(f"telnet: connection closed before {prompt!r}")
            for piece in self.splitter.feed(data):
                self.on_piece(piece)
        found = bytes(self.text)
        self.text.clear()
        return found

    def on_piece(self, piece: telnet.Piece) -> None:
        if isinstance(piece, telnet.Text):
            self.text += piece.data
        elif isinstance(piece, telnet.Subnegotiation) and piece.option == 24 and piece.payload[:1] == b"\x01":
            self.sock.sendall(telnet.encode(telnet.Subnegotiation(24, b"\x00VT100")))  # IS VT100 (RFC 1091)
        else:
            reply = telnet.answer(piece, will=WILL, do=DO)
            if reply:
                self.sock.sendall(reply)

    def line(self, text: str) -> None:
        self.sock.sendall(telnet.escape(text.encode()) + b"\r\n")  # NVT end of line is CR LF (RFC 854)


def run_client(port: int) -> bytes:
    """Log in, run :data:`COMMAND`, exit; return all the text the server sent after the password."""
    client = _Client(port)
    try:
        client.read_until(b"login: ")
        client.line(USER)
        client.read_until(b"Password: ")
        client.line(PASSWORD)
        client.read_until(b"$ ")
        client.line(COMMAND)
        seen = client.read_until(b"$ ")
        client.line("exit")
        client.read_until(b"\x00never\x00", timeout=5, eof_ok=True)  # read to the server's FIN: no RST
        return seen
    finally:
        client.sock.close()


def add_user() -> None:
    """Create :data:`USER` with :data:`PASSWORD`; refuse if the name is taken (it is not ours to remove then)."""
    if subprocess.run(["id", USER], capture_output=True, timeout=10).returncode == 0:
        raise RuntimeError(f"a user {USER!r} exists already; the recorder makes and removes its own")
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", USER], check=True, timeout=30)
    try:
        subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True, timeout=30)
    except BaseException:
        remove_user()
        raise


def remove_user() -> None:
    subprocess.run(["userdel", "--remove", USER], timeout=30, capture_output=True)


def record_telnet_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record one login over Telnet into ``pcap``; return (path, server port)."""
    require(*TOOLS, debian="tcpdump inetutils-telnetd login passwd")
    if shutil.which(TELNETD) is None:
        raise RuntimeError(f"needs {TELNETD} (Debian: inetutils-telnetd)")
    port = port or free_tcp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    add_user()
    try:
        with tempfile.TemporaryDirectory() as tmp, socket.socket() as listener:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(1)
            with recording(pcap, "lo", f"tcp port {port}", logs=tmp) as rec:
                server: list[subprocess.Popen] = []
                accepting = threading.Thread(
                    target=lambda: server.append(serve_once(listener, Path(tmp) / "telnetd.log"))
                )
                accepting.start()
                try:
                    seen = run_client(port)
                finally:
                    accepting.join(timeout=25)
                    for process in server:
                        try:
                            process.wait(timeout=10)
                        except subprocess.TimeoutExpired:
                            process.kill()
                            process.wait(timeout=5)
                if b"telnet-says-hello" not in seen:
                    raise RuntimeError(f"the command did not run: {seen!r} {rec.log('telnetd')}")
    finally:
        remove_user()
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.app import read_telnet_trace

    return recorder_main(__doc__, argv, record_telnet_session, read_telnet_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
