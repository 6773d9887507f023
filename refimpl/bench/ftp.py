"""How fast is our FTP server? Downloads over loopback, beside vsftpd, same run.

* **Core**: commands per second through :class:`ServerSession` alone (no
  sockets): the cost of the command table, the jail and the replies.
* **Download**: one 32 MiB file fetched by ``curl`` from 127.0.0.1 in passive
  mode, from our asyncio server with ``sendfile`` (zero-copy), with 64 KiB
  chunks through the session, and from vsftpd when it is installed and we are
  root. Each figure is the best of three runs (``curl``'s own
  ``speed_download``), which filters out noise from other processes.

Everything runs on loopback and cleans up after itself.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time

from refimpl.ftp import JailedFS, ServerConfig, ServerSession, UserDB

SIZE = 32 * 1024 * 1024
RUNS = 3


def core_commands_per_second(root: str, count: int = 20000) -> float:
    config = ServerConfig(users=UserDB(anonymous=True), failed_login_delay=0)
    session = ServerSession(config, JailedFS(root), ("192.0.2.10", 50000), ("192.0.2.1", 21))
    session.start(0.0)
    session.receive_data(b"USER anonymous\r\nPASS a@b\r\n", 0.0)
    lines = [b"NOOP\r\n", b"PWD\r\n", b"CWD /pub\r\n", b"SIZE big.bin\r\n", b"TYPE I\r\n"]
    start = time.perf_counter()
    for i in range(count):
        session.receive_data(lines[i % len(lines)], float(i))
    return count / (time.perf_counter() - start)


def _curl_speed(port: int, path: str) -> float:
    best = 0.0
    for _ in range(RUNS):
        r = subprocess.run(["curl", "-sS", "--max-time", "60", "-o", os.devnull, "-w", "%{speed_download}",
                            f"ftp://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=90)
        if r.returncode != 0:
            raise RuntimeError(f"curl failed: {r.stderr.strip()}")
        best = max(best, float(r.stdout.replace(",", ".")))
    return best / 1e6


def _our_server_speed(root: str, sendfile: bool) -> float:
    from refimpl.net.ftp_server import FTPServer

    config = ServerConfig(users=UserDB(anonymous=True), sendfile=sendfile, passive_ports=(0, 0))
    server = FTPServer(config, root, "127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()
        loop.run_until_complete(server.close())
        loop.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        return _curl_speed(server.port, "/pub/big.bin")
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def _vsftpd_speed(root: str) -> float | None:
    binary = shutil.which("vsftpd") or "/usr/sbin/vsftpd"
    if not os.path.exists(binary) or os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("ftp")
    except KeyError:
        return None
    work = tempfile.mkdtemp(prefix="bench-vsftpd-")
    empty = os.path.join(work, "empty")
    os.mkdir(empty, 0o555)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(work, "vsftpd.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "listen=YES", "listen_ipv6=NO", "listen_address=127.0.0.1", f"listen_port={port}",
            "background=NO", "anonymous_enable=YES", f"anon_root={root}", "no_anon_password=YES",
            "local_enable=NO", "pasv_min_port=42000", "pasv_max_port=42100", "seccomp_sandbox=NO",
            f"secure_chroot_dir={empty}", "ftp_username=ftp", "",
        ]))
    proc = subprocess.Popen([binary, conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        return _curl_speed(port, "/pub/big.bin")
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def run() -> list[str]:
    root = tempfile.mkdtemp(prefix="bench-ftp-")
    try:
        os.chmod(root, 0o755)
        os.mkdir(os.path.join(root, "pub"))
        with open(os.path.join(root, "pub", "big.bin"), "wb") as f:
            f.write(os.urandom(SIZE))
        lines = [f"core: {core_commands_per_second(root):,.0f} commands/s through ServerSession (no sockets)"]
        if shutil.which("curl") is None:
            return lines + ["download: skipped (needs curl)"]
        ours_sf = _our_server_speed(root, sendfile=True)
        ours_chunks = _our_server_speed(root, sendfile=False)
        lines.append(f"download {SIZE >> 20} MiB, curl, passive, best of {RUNS}:")
        lines.append(f"  ours, sendfile:       {ours_sf:8.0f} MB/s")
        lines.append(f"  ours, 64 KiB chunks:  {ours_chunks:8.0f} MB/s")
        theirs = _vsftpd_speed(root)
        if theirs is None:
            lines.append("  vsftpd:               skipped (needs vsftpd and root)")
        else:
            lines.append(f"  vsftpd:               {theirs:8.0f} MB/s")
            lines.append(f"  ratio ours(sendfile)/vsftpd: {ours_sf / theirs:.2f}")
        return lines
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    print("\n".join(run()))
