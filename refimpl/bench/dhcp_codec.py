"""How fast is the table-driven codec? Decode + encode, beside scapy, same run.

Two messages: a DISCOVER and an ACK with ten options. For each we time
``Message.decode(raw).encode()`` and scapy's ``bytes(BOOTP(raw))`` (dissect,
then build the same bytes again). Each figure is the minimum over several
rounds of the mean time per message (``time.perf_counter``), which filters out
noise from other processes on the machine.
"""

from __future__ import annotations

import time
from typing import Callable

from refimpl.dhcp import Message

ROUNDS = 5


def sample_messages() -> dict[str, bytes]:
    """The bytes both codecs work on."""
    discover = Message.discover(
        mac="02:00:00:00:00:01", xid=0x3903F326, params=[1, 3, 6, 15, 51, 54], hostname="pc1"
    )
    ack = Message.ack(
        Message.request(mac="02:00:00:00:00:01", xid=0x3903F326, requested_ip="192.0.2.10", server_id="192.0.2.1"),
        yiaddr="192.0.2.10",
        server_id="192.0.2.1",
        lease_time=3600,
        options={
            "subnet_mask": "255.255.255.0",
            "router": ["192.0.2.1"],
            "dns_servers": ["192.0.2.53", "198.51.100.53"],
            "domain_name": "example.org",
            "broadcast_address": "192.0.2.255",
            "renewal_time": 1800,
            "rebinding_time": 3150,
        },
    )
    assert len(ack.options) == 10
    return {"DISCOVER": discover.encode(), "ACK (10 options)": ack.encode()}


def per_call(func: Callable[[], object], seconds: float = 0.15) -> float:
    """Seconds per call: calibrate a loop count, then the min over ROUNDS rounds."""
    count = 1
    while True:
        start = time.perf_counter()
        for _ in range(count):
            func()
        elapsed = time.perf_counter() - start
        if elapsed > seconds / 5:
            break
        count *= 4
    count = max(1, int(count * seconds / 5 / elapsed * 5 / ROUNDS))
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        for _ in range(count):
            func()
        best = min(best, (time.perf_counter() - start) / count)
    return best


def measure() -> list[tuple[str, float, float | None]]:
    """(message name, our µs, scapy µs or None when scapy is missing)."""
    try:
        from scapy.layers.dhcp import BOOTP  # noqa: F401 - also registers DHCP
    except ImportError:  # pragma: no cover - scapy is a course dependency
        BOOTP = None
    results = []
    for name, raw in sample_messages().items():
        assert Message.decode(raw).encode() == raw
        ours = per_call(lambda: Message.decode(raw).encode())
        theirs = None
        if BOOTP is not None:
            assert bytes(BOOTP(raw)) == raw, "scapy must rebuild the same bytes for a fair race"
            theirs = per_call(lambda: bytes(BOOTP(raw)))
        results.append((name, ours * 1e6, None if theirs is None else theirs * 1e6))
    return results


def run() -> list[str]:
    lines = [f"{'decode+encode':<18} {'refimpl':>10} {'scapy':>10} {'ratio':>8}"]
    for name, ours, theirs in measure():
        if theirs is None:
            lines.append(f"{name:<18} {ours:>8.1f}us {'(no scapy)':>10}")
        else:
            lines.append(f"{name:<18} {ours:>8.1f}us {theirs:>8.1f}us {theirs / ours:>7.1f}x")
    return lines
