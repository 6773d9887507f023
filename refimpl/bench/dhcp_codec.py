"""How fast is the table-driven codec? Decode + encode, beside scapy, same run.

Two messages: a DISCOVER and an ACK with ten options. For each we time
``Message.decode(raw).encode()`` against scapy's ``bytes(BOOTP(raw))`` (dissect,
then build the same bytes again), and decoding alone against ``BOOTP(raw)``.
scapy keeps the bytes it dissected and hands them back when an unchanged
packet is built, so a third row clears that cache to make scapy build too.
Both sides do the full work: every option is decoded to Python values, and
nothing is cached between calls except our bounded caches of addresses
(4 bytes <-> dotted text; refimpl.dhcp.options).
Each figure is the minimum over several alternating rounds of the mean time
per message (``time.perf_counter``), which filters out noise from other
processes on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from refimpl.dhcp import Message

ROUNDS = 5


def sample_messages() -> dict[str, bytes]:
    """The bytes both codecs work on."""
    discover = Message.discover(mac="02:00:00:00:00:01", xid=0x3903F326, params=[1, 3, 6, 15, 51, 54], hostname="pc1")
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


def _loop_seconds(func: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        func()
    return time.perf_counter() - start


def _calibrate(func: Callable[[], object], seconds: float) -> int:
    """How many calls take about ``seconds``."""
    count = 1
    while (elapsed := _loop_seconds(func, count)) < seconds / 4:
        count *= 4
    return max(1, int(count * seconds / elapsed))


def race(ours: Callable[[], object], theirs: Callable[[], object] | None, seconds: float = 0.1):
    """Seconds per call of each, as the minimum over ROUNDS rounds.

    The rounds alternate (ours, theirs, ours, ...) so that both feel the same
    load from other processes; the minimum is the least disturbed round.
    """
    counts = (_calibrate(ours, seconds), _calibrate(theirs, seconds) if theirs else 0)
    best = [float("inf"), float("inf")]
    for _ in range(ROUNDS):
        for i, func in enumerate((ours, theirs)):
            if func is not None:
                best[i] = min(best[i], _loop_seconds(func, counts[i]) / counts[i])
    return best[0], (best[1] if theirs else None)


def _scapy_rebuild(BOOTP, raw: bytes) -> bytes:
    """Dissect, then really build: scapy otherwise returns the bytes it kept from dissecting."""
    packet = BOOTP(raw)
    packet.clear_cache()
    return bytes(packet)


def measure() -> list[tuple[str, float, float | None]]:
    """(what, our µs, scapy µs or None when scapy is missing)."""
    try:
        from scapy.layers.dhcp import BOOTP  # also registers the DHCP layer
    except ImportError:  # pragma: no cover - scapy is a course dependency
        BOOTP = None
    results = []
    for name, raw in sample_messages().items():
        assert Message.decode(raw).encode() == raw
        if BOOTP is not None:
            assert bytes(BOOTP(raw)) == raw, "scapy must rebuild the same bytes for a fair race"
        ours, theirs = race(lambda: Message.decode(raw).encode(), BOOTP and (lambda: bytes(BOOTP(raw))))
        results.append((f"{name} decode+encode", ours * 1e6, theirs and theirs * 1e6))
        ours, theirs = race(lambda: Message.decode(raw), BOOTP and (lambda: BOOTP(raw)))
        results.append((f"{name} decode only", ours * 1e6, theirs and theirs * 1e6))
        ours, theirs = race(lambda: Message.decode(raw).encode(), BOOTP and (lambda: _scapy_rebuild(BOOTP, raw)))
        results.append((f"{name} decode+encode, scapy uncached", ours * 1e6, theirs and theirs * 1e6))
    return results


def run() -> list[str]:
    lines = [f"{'per message':<44} {'refimpl':>10} {'scapy':>10} {'ratio':>8}"]
    for name, ours, theirs in measure():
        if theirs is None:
            lines.append(f"{name:<44} {ours:>8.1f}us {'(no scapy)':>10}")
        else:
            lines.append(f"{name:<44} {ours:>8.1f}us {theirs:>8.1f}us {theirs / ours:>7.1f}x")
    return lines
