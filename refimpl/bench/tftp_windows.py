"""The windowsize rows of ``bench tftp``: our server with RFC 7440 windows beside tftpd-hpa's lock-step.

tftpd-hpa has no windowsize (RFC 7440), and curl, the client of the other rows,
cannot ask for one; so these rows use one thin client of ours for every
download (:func:`download`: a recvfrom, a check and, at the end of each window,
a sendto per block; no dally), the same code for both servers. It asks tftpd-hpa
for ``blksize`` only: lock-step, as tftpd-hpa always runs. It asks our server for
``blksize`` and ``windowsize`` 1, 8 and 16 (our server grants up to 64). A
window of W blocks costs one round trip where lock-step pays W, so on loopback,
where a round trip is mostly the two processes' time per packet, the gain shows
how much of each block's cost was waiting.

Every download's bytes are checked (SHA-256); a wrong file raises
:class:`~refimpl.bench.tftp.TftpBenchError`. The rounds take turns between the
servers, as in the other rows, and the ratios are ours (each window) over
tftpd-hpa at the same block size, best and median.
"""

from __future__ import annotations

import hashlib
import socket
import statistics
import time

HOST = "127.0.0.1"
WINDOWSIZES = (1, 8, 16)
RESEND = 0.5  # seconds without a packet before the client says again where it is
RETRIES = 10
MAX_SECONDS = 120.0  # per download: a server that stops must not hang the bench


class WindowBenchError(Exception):
    """A download failed or brought the wrong bytes."""


def _request(name: str, options: dict[str, str]) -> bytes:
    pairs = b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in options.items())
    return b"\x00\x01" + name.encode() + b"\0octet\0" + pairs


def _oack(data: bytes) -> dict[str, str]:
    fields = data[2:].split(b"\0")[:-1]
    return {fields[i].decode().lower(): fields[i + 1].decode() for i in range(0, len(fields) - 1, 2)}


def download(port: int, name: str, blksize: int, windowsize: int | None, sha: str) -> tuple[float, int]:
    """One RRQ of ``name``; returns (seconds from the request to the last block, the windowsize used).

    The receiver's rules of RFC 7440 §4: ACK the last block of each window and
    the final short block; after a gap, ACK the last block in order, once until
    a block comes in order again; after ``RESEND`` s of silence, say it again."""
    options = {"blksize": str(blksize)}
    if windowsize is not None:
        options["windowsize"] = str(windowsize)
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)  # a window of 16 x 1432 fits anyway
        sock.bind((HOST, 0))
        sock.settimeout(RESEND)
        chunks: list[bytes] = []
        window, size = 1, 512  # until an OACK says otherwise (RFC 2347)
        expected, since, gap_acked, tid = 1, 0, False, None
        last, dest = _request(name, options), (HOST, port)
        start = time.perf_counter()
        sock.sendto(last, dest)
        resends = 0
        while time.perf_counter() - start < MAX_SECONDS:
            try:
                data, source = sock.recvfrom(65536)
            except TimeoutError:
                resends += 1
                if resends > RETRIES:
                    raise WindowBenchError("no answer") from None
                sock.sendto(last, dest)
                continue
            if tid is None:
                tid = dest = source
            if source != tid:
                continue
            resends = 0
            opcode = data[:2]
            if opcode == b"\x00\x06":  # OACK: what the server granted; ACK 0 starts the data
                granted = _oack(data)
                window, size = int(granted.get("windowsize", 1)), int(granted.get("blksize", 512))
                last = b"\x00\x04\x00\x00"
                sock.sendto(last, dest)
                continue
            if opcode == b"\x00\x05":
                raise WindowBenchError(
                    f"ERROR {int.from_bytes(data[2:4], 'big')}: {data[4:-1].decode(errors='replace')}"
                )
            if opcode != b"\x00\x03":
                raise WindowBenchError(f"unexpected packet {data[:4].hex()}")
            block = int.from_bytes(data[2:4], "big")
            if block == expected & 0xFFFF:
                chunks.append(data[4:])
                expected, since, gap_acked = expected + 1, since + 1, False
                final = len(data) - 4 < size
                if final or since >= window:
                    last, since = b"\x00\x04" + data[2:4], 0
                    sock.sendto(last, dest)
                if final:
                    seconds = time.perf_counter() - start
                    break
            elif not gap_acked and 0 < (block - expected) & 0xFFFF < window:  # a block is missing
                last, since, gap_acked = b"\x00\x04" + ((expected - 1) & 0xFFFF).to_bytes(2, "big"), 0, True
                sock.sendto(last, dest)
            elif last[:2] == b"\x00\x04" and data[2:4] == last[2:4]:  # our ACK was lost: again
                sock.sendto(last, dest)
        else:
            raise WindowBenchError(f"unfinished after {MAX_SECONDS:.0f} s")
    finally:
        sock.close()
    if hashlib.sha256(b"".join(chunks)).hexdigest() != sha:
        raise WindowBenchError(f"{sum(map(len, chunks))} bytes that are not the file (SHA-256)")
    return seconds, window


def rows(servers: dict[str, int], name: str, size: int, sha: str, blksizes, rounds: int) -> list[str]:
    """The section's lines: a row per server and windowsize at each block size, then the ratios."""
    from refimpl.bench.tftp import row

    runs = [("tftpd-hpa", None)] if "tftpd-hpa" in servers else []
    runs += [(f"ours w{w}", w) for w in WINDOWSIZES] if "ours" in servers else []
    speeds = {b: {label: [] for label, _ in runs} for b in blksizes}
    lines: list[str] = []
    for r in range(rounds):
        for blksize in blksizes:
            for label, windowsize in runs if r % 2 == 0 else runs[::-1]:
                server = "tftpd-hpa" if windowsize is None else "ours"
                try:
                    seconds, granted = download(servers[server], name, blksize, windowsize, sha)
                except (WindowBenchError, OSError) as exc:
                    if server == "ours":
                        raise
                    lines.append(f"  {label}: skipped: windowed download failed: {exc}")
                    return lines
                if granted != (windowsize or 1):
                    raise WindowBenchError(f"{label} ran with windowsize {granted}")
                speeds[blksize][label].append(size / seconds / 1e6)
    lines.append(
        f"windows (RFC 7440): downloads of {size / 1e6:.0f} MB, one thin client of ours; "
        "tftpd-hpa has no windowsize (lock-step), ours at windowsize 1, 8, 16:"
    )
    for blksize in blksizes:
        label = f"w{blksize}"
        for name_, values in speeds[blksize].items():
            lines.append(row(label, name_, values, "MB/s"))
        peer = speeds[blksize].get("tftpd-hpa")
        for name_, values in speeds[blksize].items():
            if name_ == "tftpd-hpa" or not peer:
                continue
            best = max(values) / max(peer)
            median = statistics.median(values) / statistics.median(peer)
            lines.append(f"  {label:<7} ratio {name_}/tftpd-hpa: {best:.2f} best, {median:.2f} median")
    return lines
