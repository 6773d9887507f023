"""Does address allocation cost grow with the pool? 1,000 vs 1,000,000 addresses.

One allocation = what a DISCOVER + REQUEST costs the lease store:
``offer()`` then ``commit()``, in memory (no lease file), for 800 new clients
in a fresh store. If the store listed or scanned the pool, the million-address
pool would be ~1000 times slower; with the cursor and heaps of
:mod:`refimpl.dhcp.leases` the ratio should stay near 1.

A second line shows what durability costs: ``commit()`` with the lease file
and ``fsync`` on (written to a temporary directory), the price of "no ACK
before the lease is on disk". Each figure is the minimum over ROUNDS runs.
"""

from __future__ import annotations

import os
import tempfile
import time

from refimpl.dhcp.ipv4 import int_to_ip, ip_to_int
from refimpl.dhcp.leases import LeaseStore

ROUNDS = 5
CLIENTS = 800


def _pool(size: int) -> tuple[str, str]:
    first = ip_to_int("10.0.0.0")
    return int_to_ip(first), int_to_ip(first + size - 1)


def allocation_time(size: int, clients: int = CLIENTS) -> float:
    """Seconds per offer+commit in a fresh in-memory store of ``size`` addresses (one run)."""
    first, last = _pool(size)
    macs = [f"02:00:00:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}" for i in range(clients)]
    keys = ["hw:" + m for m in macs]
    store = LeaseStore(first, last)
    start = time.perf_counter()
    for key, mac in zip(keys, macs):
        held = store.offer(key, mac, 0.0)
        store.commit(key, mac, held.address, 0.0, 3600)
    return (time.perf_counter() - start) / clients


def allocation_times(sizes: tuple[int, ...] = (1_000, 1_000_000)) -> dict[int, float]:
    """The minimum over ROUNDS, the sizes interleaved so machine noise hits both alike."""
    best = {size: float("inf") for size in sizes}
    for _ in range(ROUNDS):
        for size in sizes:
            best[size] = min(best[size], allocation_time(size))
    return best


def durable_commit_time(commits: int = 30) -> float:
    """Seconds per commit with the lease file fsynced (the disk decides this one)."""
    best = float("inf")
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            store = LeaseStore("10.0.0.0", "10.0.3.231", path=os.path.join(tmp, "leases.csv"))
            start = time.perf_counter()
            for i in range(commits):
                key, mac = f"hw:{i}", f"02:00:00:00:{i >> 8:02x}:{i & 255:02x}"
                held = store.offer(key, mac, 0.0)
                store.commit(key, mac, held.address, 0.0, 3600)
            best = min(best, (time.perf_counter() - start) / commits)
            store.close()
    return best


def run() -> list[str]:
    times = allocation_times()
    small, large = times[1_000], times[1_000_000]
    disk = durable_commit_time()
    return [
        f"allocation (offer+commit, in memory), pool of     1,000: {small * 1e6:8.2f} us",
        f"allocation (offer+commit, in memory), pool of 1,000,000: {large * 1e6:8.2f} us",
        f"ratio 1,000,000 / 1,000: {large / small:.2f} (1.00 = cost independent of pool size)",
        f"commit with lease file + fsync: {disk * 1e3:.3f} ms per ACK",
    ]


if __name__ == "__main__":  # pragma: no cover
    print("\n".join(run()))
