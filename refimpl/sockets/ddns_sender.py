"""Send the DHCP server's DNS updates on real sockets, beside the server and never in its way.

:class:`~refimpl.dhcp.ddns.DdnsServer` returns a
:class:`~refimpl.dhcp.ddns.DnsUpdate` after each DHCPACK that names a client.
The DHCP driver hands it to :meth:`DdnsSender.submit` *after* the ACK has
left, and goes back to serving: a worker thread runs the exchanges one after
the other (in order: a removal queued before an addition for the same client
runs first), each request through
:func:`refimpl.sockets.dns_update.send_update` - signed with TSIG, UDP,
``tries`` sends of ``timeout`` seconds each, TCP when truncated.

Bounded everywhere (policy): at most ``QUEUE`` exchanges wait (more are
dropped, with a log line); an exchange sends at most six requests; each
request waits at most ``tries * timeout`` seconds. Every failure - a refused
TSIG, no answer, an unexpected RCODE, a conflict - is a log line; nothing
here raises into the DHCP server.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from refimpl.dhcp.ddns import DnsUpdate
from refimpl.dhcp.ddns_exchange import run
from refimpl.sockets.dns_update import send_update

QUEUE = 1000


class DdnsSender:
    """One worker thread that runs :class:`DnsUpdate` exchanges against the DNS servers.

    ``forward`` is the ``(address, port)`` of the server for the forward zone,
    ``reverse`` that for the reverse zone (default: the same server).
    ``log(text, problem)`` is called from the worker thread; ``done`` (for
    tests) is called with each finished exchange.
    """

    def __init__(
        self,
        forward: tuple[str, int],
        reverse: tuple[str, int] | None = None,
        *,
        log: Callable[..., None],
        timeout: float = 2.0,
        tries: int = 3,
        done: Callable | None = None,
    ):
        self.forward, self.reverse = forward, reverse or forward
        self.log, self.timeout, self.tries, self.done = log, timeout, tries, done
        self.queue: queue.Queue = queue.Queue(maxsize=QUEUE)
        self.stats = {"added": 0, "removed": 0, "conflict": 0, "failed": 0, "dropped": 0}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="ddns-sender", daemon=True)
        self._thread.start()

    def submit(self, update: DnsUpdate) -> None:
        """Queue one exchange; never blocks (a full queue drops it, with a log line)."""
        try:
            self.queue.put_nowait(update)
        except queue.Full:
            self.stats["dropped"] += 1
            self._say(f"DDNS queue full ({QUEUE}): dropped {update}", problem=True)

    def close(self, timeout: float = 5.0) -> None:
        """Finish what is queued (within ``timeout`` seconds), then stop the worker."""
        try:
            self.queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _say(self, text: str, problem: bool = False) -> None:
        with self._lock:
            try:
                self.log(text, problem=problem)
            except Exception:  # noqa: BLE001 - logging must not kill the worker
                pass

    def _send(self, request, reverse: bool) -> int:
        server = self.reverse if reverse else self.forward
        return send_update(request, server, timeout=self.timeout, tries=self.tries).rcode

    def _work(self) -> None:
        while True:
            update = self.queue.get()
            if update is None:
                return
            exchange = update.exchange
            try:
                outcome = run(exchange, self._send)
            except Exception as exc:  # noqa: BLE001 - a bug in one exchange must not stop the others
                outcome = f"failed: internal error {exc!r}"
                exchange.outcome = outcome
            kind = outcome.split(":")[0]
            self.stats[kind if kind in self.stats else "failed"] += 1
            steps = "; ".join(exchange.steps)
            self._say(
                f"DDNS {exchange.action} {exchange.fqdn} {exchange.address}: {outcome} ({steps})",
                problem=kind not in ("added", "removed"),
            )
            if self.done is not None:
                self.done(exchange)
