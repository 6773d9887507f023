"""Send an :class:`~refimpl.dns.updater.UpdateRequest` on real sockets (blocking; for tests and scripts).

UDP by default, as nsupdate does (TCP with nsupdate -v), over a
connected socket so only the server's datagrams arrive; TCP with the 2-octet
length prefix of RFC 1035 §4.2.2 on request, or when the answer comes back
truncated. A UDP try that gets no answer is repeated with the same bytes (the
same Time Signed: a server that remembers the latest Time Signed per key
accepts an equal one), at most ``tries`` times.
"""

from __future__ import annotations

import socket
import time

from refimpl.dns.message import Message
from refimpl.dns.updater import UpdateFailed, UpdateRejected, UpdateRequest
from refimpl.sockets.dns_client import _tcp_exchange


def send_update(
    request: UpdateRequest, server: tuple[str, int], *, tcp: bool = False, timeout: float = 2.0, tries: int = 3
) -> Message:
    """The checked answer (its RCODE says what the server did); raises UpdateFailed or OSError."""
    data = request.encode(now=time.time())
    if tcp:
        return request.check_answer(_tcp_exchange(server, data, timeout), now=time.time())
    family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as udp:
        udp.connect(server)
        udp.settimeout(timeout)
        for _ in range(tries):
            udp.send(data)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:  # bounded: one recv per datagram, until the deadline
                try:
                    reply = udp.recv(65535)
                except (TimeoutError, ConnectionRefusedError):
                    break
                try:
                    answer = request.check_answer(reply, now=time.time())
                except UpdateRejected:
                    raise  # the server's verdict on our TSIG
                except UpdateFailed:
                    continue  # not ours, or not authentic: keep waiting
                if answer.tc:
                    return request.check_answer(_tcp_exchange(server, data, timeout), now=time.time())
                return answer
    raise UpdateFailed(f"no answer from {server[0]}#{server[1]} after {tries} tries")
