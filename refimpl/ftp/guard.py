"""Limits shared by all sessions of one server: connections and failed logins.

A password guesser opens many connections and tries many passwords. Counters
slow that down (vsftpd has ``max_per_ip`` and a delay on failure; pyftpdlib has
``max_cons_per_ip`` and ``max_login_attempts``):

* at most ``max_per_address`` control connections at once from one address,
  and at most ``max_connections`` in all (many addresses, each under its own
  limit, must not take every file descriptor the server has: a client over the
  cap gets 421, RFC 959 §4.2, and is closed; ``None``: the socket driver picks
  what its file-descriptor limit can hold);
* after ``max_failures`` failed logins within ``window`` seconds, the address
  is refused (421) until ``block_time`` seconds after the last failure;
* the same count is kept per *account*: ``max_failures`` wrong passwords for
  ``alice`` from any addresses lock ``alice`` (a guesser with many addresses),
  while other accounts and anonymous FTP still work.

A successful login does *not* wipe an address's record: a guesser would log in
anonymously (or to an account of their own) between two guesses and never be
blocked. The record ages out with the window instead. Only the account that
logged in has its own record cleared (its owner typed the password).

RFC 2577 §5 ("Protecting Passwords") asks for exactly this: limit the attempts,
delay after a failure, and log.

Time comes in as ``now``, so a test or a simulation can run it without waiting.
"""

from __future__ import annotations

from collections import defaultdict, deque


class Guard:
    def __init__(
        self,
        max_per_address: int = 8,
        max_failures: int = 5,
        window: float = 60.0,
        block_time: float = 60.0,
        max_connections: int | None = None,
    ):
        self.max_per_address = max_per_address
        self.max_connections = max_connections
        self.total = 0  # control connections counted, from all addresses
        self.max_failures = max_failures
        self.window = window
        self.block_time = block_time
        self.connections: dict[str, int] = defaultdict(int)
        self.failures: dict[str, deque[float]] = defaultdict(deque)  # address -> times of its failures
        self.account_failures: dict[str, deque[float]] = defaultdict(deque)  # account name -> the same

    def server_full(self) -> bool:
        """Are ``max_connections`` connections open already (from all addresses together)?"""
        return self.max_connections is not None and self.total >= self.max_connections

    def connection_opened(self, ip: str) -> bool:
        """Count a new connection; ``False`` means refuse it (and do not count it)."""
        if self.connections.get(ip, 0) >= self.max_per_address or self.server_full():
            return False
        self.connections[ip] += 1
        self.total += 1
        return True

    def connection_closed(self, ip: str) -> None:
        if self.connections.get(ip, 0) > 0:
            self.total -= 1
            self.connections[ip] -= 1
            if not self.connections[ip]:
                del self.connections[ip]

    def login_failed(self, ip: str, now: float, account: str | None = None) -> None:
        """A wrong password from ``ip``, for ``account`` (the name given at USER)."""
        self._record(self.failures, ip, now)
        if account:
            self._record(self.account_failures, account, now)

    def login_succeeded(self, account: str) -> None:
        """``account`` logged in: its own record goes. The address's stays (see the module docstring)."""
        self.account_failures.pop(account, None)

    def is_blocked(self, ip: str, now: float) -> bool:
        return self._blocked(self.failures, ip, now)

    def account_blocked(self, account: str, now: float) -> bool:
        return self._blocked(self.account_failures, account, now)

    # -- one rule for both tables ---------------------------------------------------
    def _record(self, table: dict[str, deque[float]], key: str, now: float) -> None:
        times = table[key]
        times.append(now)
        while now - times[0] > self.window:  # only failures within the window count
            times.popleft()

    def _blocked(self, table: dict[str, deque[float]], key: str, now: float) -> bool:
        times = table.get(key)
        if not times:
            return False
        if len(times) >= self.max_failures and now - times[-1] < self.block_time:
            return True
        if now - times[-1] > max(self.window, self.block_time):
            del table[key]  # old news: forget it
        return False
