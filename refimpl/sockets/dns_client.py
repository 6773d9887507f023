"""Drive :class:`~refimpl.dns.resolver.StubResolver` on real sockets (blocking, for the CLI and tests).

UDP: a connected socket, so the kernel drops datagrams from any other address
than the server's (RFC 5452 §9.1: the answer must come from where we asked).
TCP: one connection per query, the 2-byte length prefix of RFC 1035 §4.2.2.
"""

from __future__ import annotations

import socket
import time

from refimpl.dns.message import Message
from refimpl.dns.resolver import Done, Failed, SendTcp, SendUdp, StubResolver


class QueryFailed(OSError):
    pass


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    return data


def _tcp_exchange(server: tuple[str, int], data: bytes, timeout: float) -> bytes:
    with socket.create_connection(server, timeout=timeout) as sock:
        sock.sendall(len(data).to_bytes(2, "big") + data)
        length = int.from_bytes(_read_exactly(sock, 2), "big")
        return _read_exactly(sock, length)


def resolve(resolver: StubResolver, server: tuple[str, int]) -> tuple[Message, bool]:
    """Run ``resolver`` against ``server``: ``(answer, came over TCP)``; raises QueryFailed."""
    clock = time.monotonic
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as udp:
        udp.connect(server)
        effects = resolver.start(now=clock())
        for _ in range(100):  # every step either sends, waits for a deadline, or ends: bounded
            pending = []
            for effect in effects:
                if isinstance(effect, Done):
                    return effect.message, effect.over_tcp
                if isinstance(effect, Failed):
                    raise QueryFailed(effect.reason)
                if isinstance(effect, SendUdp):
                    udp.send(effect.data)
                elif isinstance(effect, SendTcp):
                    try:
                        answer = _tcp_exchange(server, effect.data, resolver.timeout)
                    except OSError:
                        continue  # no answer over TCP: the timer resends or gives up
                    pending += resolver.receive(answer, now=clock(), tcp=True)
            if pending:
                effects = pending
                continue
            deadline = resolver.get_timer()
            if deadline is None:
                raise QueryFailed("the resolver stopped without an answer")
            wait = deadline - clock()
            if wait > 0 and not resolver.tcp:
                udp.settimeout(wait)
                try:
                    effects = resolver.receive(udp.recv(65535), now=clock())
                    continue
                except (TimeoutError, ConnectionRefusedError):
                    pass
            elif wait > 0:
                time.sleep(wait)
            effects = resolver.handle_timer(now=max(clock(), deadline))
    raise QueryFailed("too many steps")
