"""How fast does our TFTP server send a file? Beside tftpd-hpa, in the same run.

* **Downloads**: one 20 MB file of random bytes over 127.0.0.1, at blksize 512
  (RFC 1350's only size) and 1428 (RFC 2348's example: 1428 + 4 + 8 + 20 =
  1460 bytes, within Ethernet's 1500), from our server and from tftpd-hpa. The client is the same
  for both and is neither of them: curl (``--tftp-blksize N``), one process per
  download; the time is curl's own ``time_total`` (from the request to the
  last block, without curl's start-up). Every download's SHA-256 is checked:
  a wrong file is a failure, not a figure.
* **Windows** (RFC 7440): the same file from tftpd-hpa (lock-step: it has no
  windowsize) and from ours at windowsize 1, 8 and 16, at both block sizes,
  with one thin client of ours for all (curl cannot ask for a window); see
  :mod:`refimpl.bench.tftp_windows`.
* **Crowd**: ``CROWD`` downloads of one 20 kB file at once (40 blocks at
  512, no options), each on its own socket, driven by one thin client of ours
  (:func:`crowd`: a recvfrom, a check and a sendto per block; the bytes are
  checked too). Not curl here: starting 200 curl processes takes some 1.2 s
  on this kind of machine, about as long as the whole crowd, so the figure
  would be curl's; nor our own client, which dallies two timeouts after each
  last ACK (RFC 1350 §6). files/s is the downloads that arrived intact divided
  by the time until the last one ended; failed ones are counted apart.

Both servers are subprocesses - ours through ``python -m refimpl tftp-server``
(one process, one event loop), tftpd-hpa as ``in.tftpd --foreground`` (it
forks a child per transfer) - and both serve the same directory. TFTP is
lock-step (one block in flight), so a download's speed is one block's round
trip: the server's time per block shows directly. The rounds take turns
(ours, tftpd-hpa, then tftpd-hpa, ours, ...), so a burst of load from another
process hurts both alike. We print the best and the median, and the ratios of
both, as the FTP section does.

**Per block**, from the same downloads: the round trip (a download's time over
its blocks: the server's time and the client's, back to back), the server's CPU
per block (its process and its children, :mod:`refimpl.bench.cpu_meter`: our
whole driver, and tftpd-hpa's per-transfer child), and how much of ours the
sans-I/O core alone takes (:func:`core_cost`: the same file sent block by block
in this process, no sockets). What is left of our server's CPU is the driver,
the event loop and the kernel's work for its system calls.

Everything runs on loopback in a temp dir; every process we start is stopped
(its process group too: tftpd-hpa's children) and the dir removed, whatever
happens. A missing tool prints which Debian package to install.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from refimpl.bench import cpu_meter, tftp_windows
from refimpl.bench.ftp import failure_line, sha256_of, write_random_file
from refimpl.lab import procwait

HOST = "127.0.0.1"
SIZE = 20 * 1000 * 1000  # "20 MB"
ROUNDS = 5
BLKSIZES = (512, 1428)
CROWD = 200
CROWD_SIZE = 20 * 1000  # "20 kB": 40 blocks of 512
CROWD_ROUNDS = 5
CROWD_TIMEOUT = 30.0  # seconds for a whole crowd round
RESEND = 1.0  # the crowd client's timeout before it sends a request or an ACK again
RETRIES = 5
CURL_MAX_TIME = 60  # seconds, per curl: a server that stops answering must not hang the bench
PEERS = ("ours", "tftpd-hpa")
#: the programs this section runs, and the Debian package of each
PACKAGES = {"curl": "curl", "in.tftpd": "tftpd-hpa"}


class Skip(Exception):
    """This server or tool cannot run here; the message says why (and what to install)."""


class TftpBenchError(Exception):
    """A download failed or brought the wrong bytes."""


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen


def missing(*tools: str) -> str | None:
    """``None`` if every tool is on PATH, else a line naming the missing ones and their Debian packages."""
    gone = [tool for tool in tools if shutil.which(tool) is None]
    if not gone:
        return None
    packages = " ".join(sorted({PACKAGES.get(tool, tool) for tool in gone}))
    return f"needs {', '.join(gone)}: apt-get install {packages}"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def answers(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> bool:
    """True once a TFTP server on ``port`` refuses an RRQ for a missing file (any ERROR will do)."""
    probe = b"\x00\x01bench-probe-no-such-file\x00octet\x00"
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(0.2)
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                sock.sendto(probe, (HOST, port))
                data, _ = sock.recvfrom(65536)
            except OSError:  # not listening yet (timeout, or ICMP port unreachable)
                continue
            if data[:2] == b"\x00\x05":
                return True
    return False


def stop(proc: subprocess.Popen) -> None:
    """Stop a server we started (by its pid), then anything left in its process group (its children)."""
    procwait.stop(proc)
    # start_new_session made the server a group leader: its pgid is its pid, and only
    # the processes it forked (tftpd-hpa's per-transfer children) can be in that group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    # A killed child stays in the group until its parent (init, by now) reaps it: give that up to 5 s,
    # so that "nothing is left" holds when we return, even on a busy machine.
    deadline = time.monotonic() + 5
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def group_alive(pid: int) -> bool:
    """Is any process left in the process group ``pid`` (the group of a server we started)?"""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def _running(name: str, argv_for_port, tries: int = 5) -> Iterator[Server]:
    """Start ``argv_for_port(port)`` on a free UDP port, wait until it answers; always stop it afterwards.

    A few tries: another program may take the free port between our probe and the server's bind."""
    log = tempfile.TemporaryFile()
    proc = None
    try:
        for _ in range(tries):
            port = free_udp_port()
            proc = subprocess.Popen(
                argv_for_port(port),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            if answers(port, proc):
                break
            stop(proc)
            proc = None
        if proc is None:
            log.seek(0)
            tail = log.read()[-500:].decode(errors="replace").strip()
            raise RuntimeError(f"{name} did not answer on a loopback port ({tries} tries): {tail}")
        yield Server(name, port, proc)
    finally:
        if proc is not None:
            stop(proc)
        log.close()


@contextlib.contextmanager
def start_ours(root: str) -> Iterator[Server]:
    """Our server through its CLI, read-only, in its own process (like the peer).

    The crowd comes from one address (loopback) where a class would come from
    many hosts, so the per-client cap (16 by default, against one host taking
    every slot) is raised to the crowd's size here; tftpd-hpa has none.
    """

    def argv(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "refimpl",
            "tftp-server",
            "--root",
            root,
            "--host",
            HOST,
            "--port",
            str(port),
            "--max-per-client",
            str(CROWD),
        ]

    with _running("ours", argv) as server:
        yield server


@contextlib.contextmanager
def start_tftpd_hpa(root: str) -> Iterator[Server]:
    """tftpd-hpa in the foreground, read-only (``--secure``: paths are relative to ``root``)."""
    why = missing("in.tftpd")
    if why:
        raise Skip(why)
    if os.geteuid() != 0:  # it drops to --user with setgroups/setuid in each child: only root may
        raise Skip("tftpd-hpa needs root (each transfer's child switches to --user)")

    def argv(port: int) -> list[str]:
        return [
            shutil.which("in.tftpd"),
            "--foreground",
            "--address",
            f"{HOST}:{port}",
            "--secure",
            "--user",
            "root",
            root,
        ]

    with _running("tftpd-hpa", argv) as server:
        yield server


STARTERS = {"ours": start_ours, "tftpd-hpa": start_tftpd_hpa}


def curl_argv(port: int, name: str, into: str, blksize: int | None = None) -> list[str]:
    argv = ["curl", "-sS", "--max-time", str(CURL_MAX_TIME), "-o", into, "-w", "%{size_download} %{time_total}"]
    if blksize is not None:
        argv += ["--tftp-blksize", str(blksize)]
    return argv + [f"tftp://{HOST}:{port}/{name}"]


def blocks_of(size: int, blksize: int) -> int:
    """How many DATA blocks carry ``size`` bytes: the last one is short, empty if need be."""
    return size // blksize + 1


def core_cost(blksize: int, size: int = 2_000_000) -> float:
    """Seconds of the core per block: :class:`~refimpl.tftp.transfer.Sender` answering each ACK
    with the next DATA (its bytes made too), on a file in memory; the best of three passes."""
    from refimpl.tftp.files import MemoryFiles
    from refimpl.tftp.server import NewTransfer, TftpServer
    from refimpl.tftp.transfer import Send

    server = TftpServer(MemoryFiles({"f": bytes(size)}))
    client = (HOST, 40000)
    options = b"" if blksize == 512 else b"blksize\x00%d\x00" % blksize
    best = float("inf")
    for _ in range(3):
        [transfer] = [
            effect.transfer
            for effect in server.receive(b"\x00\x01f\x00octet\x00" + options, client, now=0.0)
            if isinstance(effect, NewTransfer)
        ]
        transfer.start(now=0.0)
        acks = [b"\x00\x04" + (n % 65536).to_bytes(2, "big") for n in range(blocks_of(size, blksize) + 1)]
        acks = acks if options else acks[1:]  # ACK 0 answers the OACK; without options DATA 1 went first
        start = time.perf_counter()
        for ack in acks:
            for effect in transfer.receive(ack, client, now=0.5):
                if type(effect) is Send:
                    effect.data  # noqa: B018 - the driver asks for the bytes of each Send
        best = min(best, (time.perf_counter() - start) / len(acks))
        if not transfer.ok:
            raise TftpBenchError(f"the core did not finish the {size}-byte file at blksize {blksize}")
    return best


def per_block_line(label: str, trips: dict[str, list[float]], cpus: dict[str, list[float]], core: float) -> str:
    """``  512     per block (median): round trip ours 80.1 us, tftpd-hpa 63.2 us; server CPU ...``"""

    def each(values: dict[str, list[float]]) -> str:
        return ", ".join(f"{name} {statistics.median(v) * 1e6:.1f} us" for name, v in values.items() if v)

    return (
        f"  {label:<7} per block (median): round trip {each(trips)}; server CPU {each(cpus)}"
        f" (our core alone {core * 1e6:.1f} us)"
    )


def download(port: int, name: str, into: str, blksize: int, size: int, sha: str) -> float:
    """One curl download of ``name`` into ``into``; its seconds (curl's time_total).

    Raises :class:`TftpBenchError` unless exactly the expected bytes arrived; removes ``into``."""
    try:
        result = subprocess.run(
            curl_argv(port, name, into, blksize), capture_output=True, text=True, timeout=CURL_MAX_TIME + 10
        )
        if result.returncode != 0:
            raise TftpBenchError(f"curl exit {result.returncode}: {result.stderr.strip()[-200:]}")
        try:
            got, seconds = result.stdout.split()
        except ValueError:
            raise TftpBenchError(f"curl printed {result.stdout[:100]!r}, not its size and time") from None
        on_disk = os.path.getsize(into) if os.path.exists(into) else 0
        if int(got) != size or on_disk != size:
            raise TftpBenchError(f"got {on_disk} bytes (curl says {got}), expected {size}")
        if sha256_of(into) != sha:
            raise TftpBenchError("the downloaded bytes differ from the file (SHA-256)")
        return float(seconds)
    except subprocess.TimeoutExpired:
        raise TftpBenchError(f"curl did not finish in {CURL_MAX_TIME + 10} s") from None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(into)


@dataclass
class CrowdResult:
    ok: int
    seconds: float  # from the first request until the last download ended (done or given up)
    errors: dict[str, int]  # "ERROR 0 server busy" / "no answer" -> how many
    client_cpu: float = 0.0  # seconds of CPU the client itself used meanwhile: near ``seconds``, it was the limit

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds > 0 else 0.0


class _Download:
    """One lock-step RRQ (RFC 1350, no options: 512-byte blocks) on its own socket, for :func:`crowd`."""

    def __init__(self, sock: socket.socket, server: tuple[str, int], request: bytes, now: float):
        self.sock = sock
        self.tid: tuple[str, int] | None = None  # the server's port for this transfer, from its first DATA
        self.expected = 1
        self.chunks: list[bytes] = []
        self.last, self.dest = request, server  # what to send again on a timeout, and where
        self.sent_at, self.resends = now, 0
        self.error: str | None = None
        self.done = False

    def send(self, packet: bytes, dest: tuple[str, int], now: float) -> None:
        self.last, self.dest, self.sent_at, self.resends = packet, dest, now, 0
        with contextlib.suppress(OSError):  # UDP: a lost ACK is sent again on the timeout
            self.sock.sendto(packet, dest)

    def receive(self, data: bytes, source: tuple[str, int], now: float) -> None:
        if self.tid is None and source[0] == HOST:
            self.tid = source
        if source != self.tid:  # another port: not this transfer (RFC 1350 §4), ignored
            return
        opcode = data[:2]
        if opcode == b"\x00\x05":
            text = data[4:].split(b"\x00")[0].decode(errors="replace")
            self.error = f"ERROR {int.from_bytes(data[2:4], 'big')} {text}"
        elif opcode != b"\x00\x03" or len(data) < 4:
            self.error = f"unexpected packet {data[:4].hex()}"
        else:
            block = int.from_bytes(data[2:4], "big")
            if block == self.expected & 0xFFFF:
                self.chunks.append(data[4:])
                self.expected += 1
                self.send(b"\x00\x04" + data[2:4], source, now)  # ACK this block
                self.done = len(data) - 4 < 512
            elif block == (self.expected - 1) & 0xFFFF:  # our ACK was lost or late: the same ACK again
                with contextlib.suppress(OSError):
                    self.sock.sendto(b"\x00\x04" + data[2:4], source)


def crowd(port: int, name: str, sha: str, clients: int, timeout: float = CROWD_TIMEOUT) -> CrowdResult:
    """``clients`` downloads of ``name`` at once, each on its own socket, driven by one selector loop.

    A thin client (a recvfrom, a check and a sendto per block), so the figure is the server's; a
    request or ACK with no answer for ``RESEND`` s is sent again, ``RETRIES`` times at most, and
    nothing runs past ``timeout``. A download that ends with the wrong bytes raises
    :class:`TftpBenchError`: that is a bug, not a slow server."""
    request = b"\x00\x01" + name.encode() + b"\x00octet\x00"
    selector = selectors.DefaultSelector()
    running: list[_Download] = []
    try:
        cpu = time.process_time()
        start = time.perf_counter()
        for _ in range(clients):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((HOST, 0))
            sock.setblocking(False)
            download = _Download(sock, (HOST, port), request, start)
            selector.register(sock, selectors.EVENT_READ, download)
            running.append(download)
            download.send(request, (HOST, port), time.perf_counter())
        finished: list[_Download] = []
        end = start
        deadline = start + timeout
        while running and time.perf_counter() < deadline:
            events = selector.select(0.05)
            now = time.perf_counter()
            for key, _ in events:
                download = key.data
                for _ in range(16):  # bounded: one fast transfer must not starve the others
                    try:
                        data, source = download.sock.recvfrom(65536)
                    except (BlockingIOError, InterruptedError):
                        break
                    except OSError as exc:  # e.g. ICMP port unreachable
                        download.error = f"{exc.strerror or exc}"
                        break
                    download.receive(data, source[:2], now)
                    if download.done or download.error:
                        break
            for download in running:
                if not (download.done or download.error) and now - download.sent_at > RESEND:
                    if download.resends >= RETRIES:
                        download.error = "no answer"
                    else:
                        download.resends += 1
                        download.sent_at = now
                        with contextlib.suppress(OSError):
                            download.sock.sendto(download.last, download.dest)
                if download.done or download.error:
                    selector.unregister(download.sock)
                    download.sock.close()
                    finished.append(download)
                    end = now
            running = [d for d in running if not (d.done or d.error)]
        if running:
            end = time.perf_counter()
        cpu = time.process_time() - cpu
        ok, errors = 0, {}
        for download in finished + running:
            if download.done and download.error is None:
                if hashlib.sha256(b"".join(download.chunks)).hexdigest() != sha:
                    raise TftpBenchError(
                        f"a download of {name} brought {sum(map(len, download.chunks))} bytes that are not the file"
                    )
                ok += 1
            else:
                why = download.error or f"unfinished after {timeout:.0f} s"
                errors[why] = errors.get(why, 0) + 1
        return CrowdResult(ok, end - start, errors, cpu)
    finally:
        for download in running:
            with contextlib.suppress(KeyError, ValueError):
                selector.unregister(download.sock)
            download.sock.close()
        selector.close()


def row(label: str, name: str, values: list[float], unit: str) -> str:
    """``  512     ours       best     9.1 MB/s  median     8.7 MB/s  (5 runs)`` - one parseable line."""
    return (
        f"  {label:<7} {name:<10} best {max(values):8.1f} {unit}  median {statistics.median(values):8.1f} {unit}"
        f"  ({len(values)} runs)"
    )


def ratio_line(label: str, values: dict[str, list[float]], peer: str = "tftpd-hpa") -> list[str]:
    """``  512     ratio ours/tftpd-hpa: 0.52 best, 0.50 median`` when both ran."""
    if not (values.get("ours") and values.get(peer) and min(values[peer]) > 0):
        return []
    best = max(values["ours"]) / max(values[peer])
    median = statistics.median(values["ours"]) / statistics.median(values[peer])
    return [f"  {label:<7} ratio ours/{peer}: {best:.2f} best, {median:.2f} median"]


def run(
    size: int = SIZE,
    rounds: int = ROUNDS,
    blksizes: tuple[int, ...] = BLKSIZES,
    crowd_clients: int = CROWD,
    crowd_rounds: int = CROWD_ROUNDS,
    peers: tuple[str, ...] = PEERS,
    window_rounds: int | None = None,
) -> list[str]:
    """The section's lines; ``window_rounds`` (default: ``rounds``) for the windowsize rows, 0 leaves them out."""
    why = missing("curl")
    if why:
        return [f"  skipped: the client: {why}"]
    lines: list[str] = []
    work = tempfile.mkdtemp(prefix="bench-tftp-")
    try:
        root = os.path.join(work, "root")
        os.mkdir(root)
        os.chmod(work, 0o755)
        os.chmod(root, 0o755)
        sha = write_random_file(os.path.join(root, "big.bin"), size)
        small_sha = write_random_file(os.path.join(root, "small.bin"), CROWD_SIZE)
        for name in ("big.bin", "small.bin"):
            os.chmod(os.path.join(root, name), 0o644)  # tftpd-hpa serves world-readable files only
        into = os.path.join(work, "download.bin")
        with contextlib.ExitStack() as stack:
            running: dict[str, int] = {}
            pids: dict[str, int] = {}
            for name in peers:
                try:
                    server = stack.enter_context(STARTERS[name](root))
                    running[name], pids[name] = server.port, server.proc.pid
                except Skip as exc:
                    lines.append(f"  {name}: skipped: {exc}")
                except RuntimeError as exc:
                    if name == "ours":
                        raise  # our own server not starting is a bug, not a missing peer
                    lines.append(f"  {name}: skipped: did not start: {exc}")
            speeds = {b: {name: [] for name in running} for b in blksizes}
            trips = {b: {name: [] for name in running} for b in blksizes}  # seconds per block, round trip
            cpus = {b: {name: [] for name in running} for b in blksizes}  # server CPU seconds per block
            for r in range(rounds):
                for blksize in blksizes:
                    order = list(running) if r % 2 == 0 else list(running)[::-1]  # ours first, then peer first
                    for name in order:
                        try:
                            with cpu_meter.CpuMeter(pids[name]) as meter:
                                seconds = download(running[name], "big.bin", into, blksize, size, sha)
                        except TftpBenchError as exc:
                            if name == "ours":
                                raise
                            lines.append(f"  {name}: skipped: download failed: {exc}")
                            del running[name]
                            for b in blksizes:
                                speeds[b].pop(name, None)
                                trips[b].pop(name, None)
                                cpus[b].pop(name, None)
                            continue
                        speeds[blksize][name].append(size / seconds / 1e6)
                        trips[blksize][name].append(seconds / blocks_of(size, blksize))
                        cpus[blksize][name].append(meter.seconds / blocks_of(size, blksize))
            lines.append(f"downloads of {size / 1e6:.0f} MB, octet, same client (curl), one at a time:")
            for blksize in blksizes:
                for name in running:
                    lines.append(row(str(blksize), name, speeds[blksize][name], "MB/s"))
                lines += ratio_line(str(blksize), speeds[blksize])
                if rounds and "ours" in running:
                    lines.append(per_block_line(str(blksize), trips[blksize], cpus[blksize], core_cost(blksize)))

            window_rounds = rounds if window_rounds is None else window_rounds
            if window_rounds:
                lines += tftp_windows.rows(running, "big.bin", size, sha, blksizes, window_rounds)

            if crowd_clients and crowd_rounds:
                rates = {name: [] for name in running}
                lasts = {name: [] for name in running}
                cpus = {name: [] for name in running}
                failures = {name: Counter() for name in running}  # error -> how many downloads, over all rounds
                for r in range(crowd_rounds):
                    for name in list(running) if r % 2 == 0 else list(running)[::-1]:
                        try:
                            result = crowd(running[name], "small.bin", small_sha, crowd_clients)
                        except TftpBenchError as exc:
                            if name == "ours":
                                raise
                            lines.append(f"  {name}: skipped: crowd failed: {exc}")
                            del running[name], rates[name], lasts[name], cpus[name], failures[name]
                            continue
                        rates[name].append(result.per_second)
                        lasts[name].append(result.seconds)
                        cpus[name].append(result.client_cpu)
                        failures[name].update(result.errors)
                lines.append(
                    f"crowd: {crowd_clients} downloads at once of a {CROWD_SIZE / 1e3:.0f} kB file, "
                    "blksize 512, one thin Python client:"
                )
                for name in running:
                    lines.append(
                        row("CROWD", name, rates[name], "files/s")
                        + f"  last done after {min(lasts[name]):.2f} s (shortest round),"
                        f" client CPU {statistics.median(cpus[name]):.2f} s (median)"
                    )
                    if failures[name]:
                        lines.append(failure_line("CROWD", name, failures[name], "downloads", width=7))
                lines += ratio_line("CROWD", rates)
        return lines
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    print("\n".join(run()))
