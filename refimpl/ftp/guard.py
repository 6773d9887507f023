"""Limits shared by all sessions of one server: connections and failed logins.

A password guesser opens many connections and tries many passwords. Two
counters per client address slow that down (vsftpd has ``max_per_ip`` and a
delay on failure; pyftpdlib has ``max_cons_per_ip`` and ``max_login_attempts``):

* at most ``max_per_address`` control connections at once from one address;
* after ``max_failures`` failed logins within ``window`` seconds, the address
  is refused (421) until ``block_time`` seconds after the last failure.

Time comes in as ``now``, so a test or a simulation can run it without waiting.
"""

from __future__ import annotations

from collections import defaultdict, deque


class Guard:
    def __init__(self, max_per_address: int = 8, max_failures: int = 5,
                 window: float = 60.0, block_time: float = 60.0):
        self.max_per_address = max_per_address
        self.max_failures = max_failures
        self.window = window
        self.block_time = block_time
        self.connections: dict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def connection_opened(self, ip: str) -> bool:
        """Count a new connection; ``False`` means refuse it (and do not count it)."""
        if self.connections[ip] >= self.max_per_address:
            return False
        self.connections[ip] += 1
        return True

    def connection_closed(self, ip: str) -> None:
        if self.connections.get(ip, 0) > 0:
            self.connections[ip] -= 1
            if not self.connections[ip]:
                del self.connections[ip]

    def login_failed(self, ip: str, now: float) -> None:
        times = self.failures[ip]
        times.append(now)
        while now - times[0] > self.window:  # only failures within the window count
            times.popleft()

    def login_succeeded(self, ip: str) -> None:
        self.failures.pop(ip, None)

    def is_blocked(self, ip: str, now: float) -> bool:
        times = self.failures.get(ip)
        if not times:
            return False
        if len(times) >= self.max_failures and now - times[-1] < self.block_time:
            return True
        if now - times[-1] > max(self.window, self.block_time):
            del self.failures[ip]  # old news: forget the address
        return False
