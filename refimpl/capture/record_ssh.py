"""Make the course's own SSH capture: OpenSSH's ssh against OpenSSH's sshd, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_ssh refimpl/data/captures/ssh_session.pcap

The shipped file ``refimpl/data/captures/ssh_session.pcap`` was made this
way (nothing downloaded). ``sshd -D -e -f CONFIG`` listens on 127.0.0.1 at a
free port P with its own configuration and a host key made for the run (not
the machine's sshd, not port 22), and ``tcpdump -i lo`` records TCP to and
from that port. A key pair is made on the fly; the client logs in with it
(``BatchMode``: no password can be asked or sent) and runs one command that
prints :data:`MARKER`. Two sessions (:data:`SESSION`):

1. ``ssh -o Compression=no``: the client lists ``none`` first;
2. ``ssh -o Compression=yes``: the client lists ``zlib@openssh.com`` first.

The server offers ``none,zlib@openssh.com`` both times, so the first session
runs uncompressed and the second compressed (RFC 4253 §7.1: the client's
first choice that the server also lists). Read it back with
:func:`refimpl.capture.app.read_ssh_trace` (version lines, KEXINIT name-lists,
NEWKEYS, then the encrypted bytes; :mod:`refimpl.ssh_wire` underneath).

Needs root (tcpdump; sshd runs its privilege-separated child as ``sshd``),
``tcpdump``, ``sshd`` (openssh-server), ``ssh`` and ``ssh-keygen`` (openssh-client).
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
from refimpl.capture.recorder import recorder_main, recording, require

SESSION = ["ssh -o Compression=no ... echo MARKER", "ssh -o Compression=yes ... echo MARKER"]
MARKER = "lesson-08-secret-words"
SHIPPED_PORT = 42022
TOOLS = ("tcpdump", "sshd", "ssh", "ssh-keygen")
SSHD = "/usr/sbin/sshd"  # sshd must be started by its absolute path (it re-executes itself)


def sshd_config(tmp: Path, port: int) -> str:
    """Our own server: loopback only, key login only, files in ``tmp``."""
    return "\n".join(
        [
            f"Port {port}",
            "ListenAddress 127.0.0.1",
            f"HostKey {tmp / 'host_ed25519'}",
            f"PidFile {tmp / 'sshd.pid'}",
            f"AuthorizedKeysFile {tmp / 'authorized_keys'}",
            "StrictModes no",  # the temporary directory is not in a home directory
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "Compression yes",  # OpenSSH's default, written down: the server offers none,zlib@openssh.com
            "LogLevel VERBOSE",
            "",
        ]
    )


def keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lesson-08", "-f", str(path)],
        check=True,
        timeout=30,
        stdout=subprocess.DEVNULL,
    )


def start_sshd(rec, tmp: Path, port: int, extra_config: str = "") -> None:
    """Keys made for the run, the user's key authorized, our ``sshd_config`` (plus ``extra_config``
    lines), then ``sshd`` under the recorder until it says it listens."""
    keygen(tmp / "host_ed25519")
    keygen(tmp / "user_ed25519")
    (tmp / "authorized_keys").write_text((tmp / "user_ed25519.pub").read_text())
    (tmp / "sshd_config").write_text(sshd_config(tmp, port) + extra_config)
    rec.start("sshd", [SSHD, "-D", "-e", "-f", str(tmp / "sshd_config")], ready="Server listening")


def client_options(tmp: Path) -> list[str]:
    """What ssh and sftp are both given: no user config, the run's key, no prompt, no known host."""
    return [
        "-F",
        "/dev/null",
        "-i",
        str(tmp / "user_ed25519"),
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        f"UserKnownHostsFile={tmp / 'known_hosts'}",
    ]


def run_client(port: int, tmp: Path, compression: bool) -> str:
    argv = [
        "ssh",
        *client_options(tmp),
        "-o",
        f"Compression={'yes' if compression else 'no'}",
        "-p",
        str(port),
        f"{getpass.getuser()}@127.0.0.1",
        f"echo {MARKER}",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"ssh failed: {done.stderr.strip()}")
    return done.stdout


def record_ssh_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the two sessions of :data:`SESSION` into ``pcap``; return (path, server port)."""
    require(*TOOLS, debian="tcpdump openssh-server openssh-client")
    port = port or free_tcp_port(random.Random(seed))
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    with tempfile.TemporaryDirectory() as tmp_name, recording(pcap, "lo", f"tcp port {port}", logs=tmp_name) as rec:
        tmp = Path(tmp_name)
        start_sshd(rec, tmp, port)
        outputs = [run_client(port, tmp, compression) for compression in (False, True)]
        if outputs != [MARKER + "\n"] * 2:
            raise RuntimeError(f"the command did not run as expected: {outputs}")
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.app import read_ssh_trace

    return recorder_main(__doc__, argv, record_ssh_session, read_ssh_trace, port_label="server port")


if __name__ == "__main__":
    sys.exit(main())
