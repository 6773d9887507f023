"""Make the course's own HTTP/1.1 capture: Python's http.client against ``python -m http.server``, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_http refimpl/data/captures/http_session.pcap

The shipped file ``refimpl/data/captures/http_session.pcap`` was made this
way (nothing downloaded). ``python -m http.server --protocol HTTP/1.1`` serves
a directory on 127.0.0.1 at a free port P (its default is HTTP/1.0, which
closes after every answer), and ``tcpdump -i lo`` records TCP to and from
that port. The client (:data:`SESSION`) uses two connections:

1. ``GET /hello.txt``, then ``GET /index.html`` on the same connection (a
   persistent connection, RFC 9112 §9.3), then ``HEAD /hello.txt`` (headers,
   no body: RFC 9110 §9.3.2), then ``GET /hello.txt`` with ``Connection:
   close``: the server answers and closes (RFC 9112 §9.6);
2. ``GET /missing.txt`` on a new connection: ``404 File not found``
   (http.server also closes after an error).

Read it back with :func:`refimpl.capture.app.read_http_trace` and the port.
Needs root (tcpdump) and ``tcpdump``.
"""

from __future__ import annotations

import http.client
import random
import socket
import sys
import tempfile
from pathlib import Path

from refimpl.capture.recorder import recorder_main, recording, require

SESSION = [
    "GET /hello.txt",
    "GET /index.html (same connection)",
    "HEAD /hello.txt (same connection)",
    "GET /hello.txt Connection: close",
    "GET /missing.txt (new connection): 404",
]
HELLO = b"Hello over HTTP/1.1.\n"
INDEX = b"<!doctype html>\n<title>lesson 08</title>\n<p>A page served by python -m http.server.</p>\n"
SHIPPED_PORT = 42080


def free_tcp_port(rng: random.Random, tries: int = 50) -> int:
    """A loopback TCP port nobody listens on (the HTTP, SSH and Telnet recorders share it)."""
    for _ in range(tries):
        port = rng.randrange(20000, 60000)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback TCP port found")


def run_client(port: int) -> list[tuple[int, bytes]]:
    """The requests of :data:`SESSION`; returns (status, body) of each."""
    got = []
    first = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        for method, path, headers in (
            ("GET", "/hello.txt", {}),
            ("GET", "/index.html", {}),
            ("HEAD", "/hello.txt", {}),
            ("GET", "/hello.txt", {"Connection": "close"}),
        ):
            first.request(method, path, headers=headers)
            response = first.getresponse()
            got.append((response.status, response.read()))
    finally:
        first.close()
    second = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        second.request("GET", "/missing.txt")
        response = second.getresponse()
        got.append((response.status, response.read()))
    finally:
        second.close()
    return got


def record_http_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the requests of :data:`SESSION` into ``pcap``; return (path, server port)."""
    require("tcpdump", debian="tcpdump")
    port = port or free_tcp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp_name, recording(pcap, "lo", f"tcp port {port}", logs=tmp_name) as rec:
        root = Path(tmp_name) / "www"
        root.mkdir()
        (root / "hello.txt").write_bytes(HELLO)
        (root / "index.html").write_bytes(INDEX)
        argv = [sys.executable, "-u", "-m", "http.server", "--protocol", "HTTP/1.1"]
        rec.start("http.server", [*argv, "--bind", "127.0.0.1", "--directory", str(root), str(port)], ready="Serving")
        got = run_client(port)
        statuses = [status for status, _ in got]
        if statuses != [200, 200, 200, 200, 404] or got[0][1] != HELLO or got[2][1] != b"":
            raise RuntimeError(f"unexpected answers from http.server: {statuses}")
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.app import read_http_trace

    return recorder_main(__doc__, argv, record_http_session, read_http_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
