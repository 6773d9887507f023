"""Make the course's own SFTP capture: OpenSSH's sftp against OpenSSH's sshd, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_sftp refimpl/data/captures/sftp_session.pcap

The shipped file ``refimpl/data/captures/sftp_session.pcap`` was made this
way (nothing downloaded). It is lesson 08's SSH recorder
(:mod:`refimpl.capture.record_ssh`: its own ``sshd`` on 127.0.0.1 at a free
port, a host key and a user key made for the run, ``BatchMode``) with one
line more in ``sshd_config``, ``Subsystem sftp internal-sftp``, and ``sftp -b``
as the client. The batch (:data:`BATCH`) uploads a file holding
:data:`MARKER`, lists the directory and downloads the file again.

On the wire this is one SSH connection: the client opens a session channel
and asks for the ``"subsystem"`` ``sftp`` (RFC 4254 §6.5), and the SFTP
packets run inside that channel. All of that comes after NEWKEYS, so none of
it is readable - not even the word ``sftp``. Read it back with
:func:`refimpl.capture.app.read_ssh_trace`. sshd's own log lines about the
channel (``Starting session: subsystem 'sftp' ...``) are kept beside the pcap
as ``<pcap stem>_sshd.md`` (:func:`server_log_path`).

Needs root (tcpdump; sshd's privilege separation), ``tcpdump``, ``sshd``
(openssh-server), ``sftp``, ``ssh`` and ``ssh-keygen`` (openssh-client).
"""

from __future__ import annotations

import getpass
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from refimpl.capture.record_http import free_tcp_port
from refimpl.capture.record_ssh import SSHD as SSHD  # the server this records, as its tests look for it
from refimpl.capture.record_ssh import client_options, start_sshd
from refimpl.capture.recorder import recorder_main, recording, require

MARKER = "lesson-11-words-sent-by-sftp"
BATCH = [
    "put {tmp}/upload.txt {tmp}/remote/upload.txt",
    "ls -l {tmp}/remote",
    "get {tmp}/remote/upload.txt {tmp}/back.txt",
]
SHIPPED_PORT = 42122
TOOLS = ("tcpdump", "sshd", "sftp", "ssh", "ssh-keygen")
SSHD_SAYS = ("Starting session:", "Received disconnect")  # the log lines kept beside the capture


def run_sftp(port: int, tmp: Path) -> str:
    """The batch of :data:`BATCH` with ``sftp -b``; returns what came back (the downloaded file)."""
    (tmp / "batch").write_text("\n".join(line.format(tmp=tmp) for line in BATCH) + "\n")
    argv = [
        "sftp",
        *client_options(tmp),
        "-b",
        str(tmp / "batch"),
        "-P",
        str(port),
        f"{getpass.getuser()}@127.0.0.1",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"sftp failed: {done.stderr.strip()}")
    return (tmp / "back.txt").read_text()


def record_sftp_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the batch of :data:`BATCH` into ``pcap``; return (path, server port)."""
    require(*TOOLS, debian="tcpdump openssh-server openssh-client")
    port = port or free_tcp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    with tempfile.TemporaryDirectory() as tmp_name, recording(pcap, "lo", f"tcp port {port}", logs=tmp_name) as rec:
        tmp = Path(tmp_name)
        (tmp / "remote").mkdir()
        (tmp / "upload.txt").write_text(MARKER + "\n")
        # RFC 4254 §6.5: the "subsystem" request names a program; this line says which one "sftp" is
        start_sshd(rec, tmp, port, "Subsystem sftp internal-sftp\n")
        back = run_sftp(port, tmp)
        if back != MARKER + "\n":
            raise RuntimeError(f"the file did not come back as sent: {back!r}")
        said = [line for line in rec.log("sshd").splitlines() if line.startswith(SSHD_SAYS)]
    server_log_path(pcap).write_text(
        "# What sshd said about the session\n\n"
        f"The lines of `sshd -e` (LogLevel VERBOSE) about the channel in `{pcap.name}`: the server knows it ran the\n"
        "subsystem, the capture does not show it (it is after NEWKEYS).\n\n```\n" + "\n".join(said) + "\n```\n"
    )
    return pcap, port


def server_log_path(pcap: str | Path) -> Path:
    """Where sshd's lines about a capture go: ``sftp_session.pcap`` -> ``sftp_session_sshd.md``."""
    pcap = Path(pcap)
    return pcap.with_name(pcap.stem + "_sshd.md")


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.app import read_ssh_trace

    return recorder_main(__doc__, argv, record_sftp_session, read_ssh_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
