"""Make the course's own FTPS capture: curl against vsftpd with TLS, on loopback.

    sudo .venv/bin/python -m refimpl.capture.record_ftps refimpl/data/captures/ftps_session.pcap

The shipped file ``refimpl/data/captures/ftps_session.pcap`` was made this way
(nothing downloaded). Two vsftpd servers run on 127.0.0.1 with a throw-away
self-signed certificate made for the run (``openssl req -x509`` in a
temporary directory), and one test user made for the run (:data:`USER`,
:data:`PASSWORD`, removed afterwards). ``tcpdump -i lo`` records their ports
only. The sessions (:data:`SESSION`):

1. **explicit FTPS** (RFC 4217) on control port P: ``lftp`` with
   ``ftp:ssl-force`` connects in clear, reads the 220, asks FEAT, sends
   ``AUTH TLS`` (§4), gets 234, and from then on the control connection is TLS:
   USER, PASS, ``PBSZ 0``, ``PROT P`` (§8-§9), PASV and RETR of ``hello.txt``
   over a TLS data connection. lftp's own transcript of the commands it sent
   (``lftp -d``, the password masked) is kept beside the pcap as
   ``<pcap stem>_lftp.md`` (:func:`transcript_path`): inside TLS the pcap cannot show them;
2. **implicit FTPS** on port P+1 (vsftpd's ``implicit_ssl=YES``; the
   convention of port 990, which RFC 4217 does not define): ``curl ftps://``
   starts TLS at once, before any FTP byte.

Read it back with :func:`refimpl.capture.ftps.read_ftps_trace` (the clear
lines, then one event per TLS record with its content type).

Needs root (tcpdump; useradd, chpasswd, userdel; vsftpd drops privileges),
``tcpdump``, ``vsftpd``, ``lftp``, ``curl`` and ``openssl``.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from refimpl.capture.record_ftp import pick_ports
from refimpl.capture.recorder import recorder_main, recording, require

SESSION = [
    "lftp ftp:ssl-force ftp://P get hello.txt (AUTH TLS, PBSZ 0, PROT P)",
    "curl ftps://P+1/hello.txt (implicit)",
]
USER = "lesson11"
PASSWORD = "ftps-secret-11"
FILE_TEXT = b"Hello over FTPS.\r\n"
FILE_TIME = 1795424400  # 2026-11-23 09:00:00 UTC, the simulated lessons' t=0
SHIPPED_PORT = 42990
TOOLS = ("tcpdump", "vsftpd", "lftp", "curl", "openssl", "useradd", "userdel", "chpasswd")


def vsftpd_config(tmp: Path, port: int, implicit: bool) -> str:
    """One vsftpd: loopback only, local users only, TLS required for login and data."""
    passive = port + 3 if implicit else port + 2  # P+2, P+3 (explicit, port P) and P+4, P+5 (implicit, port P+1)
    return "\n".join(
        [
            "listen=YES",
            "listen_ipv6=NO",
            "listen_address=127.0.0.1",
            f"listen_port={port}",
            "background=NO",
            "anonymous_enable=NO",
            "local_enable=YES",
            f"local_root={tmp / 'root'}",
            "chroot_local_user=YES",  # PWD says "/", not the temporary directory's random name
            "pam_service_name=vsftpd",
            "seccomp_sandbox=NO",  # containers often forbid the system calls of vsftpd's sandbox
            "ssl_enable=YES",
            f"implicit_ssl={'YES' if implicit else 'NO'}",
            f"rsa_cert_file={tmp / 'cert.pem'}",
            f"rsa_private_key_file={tmp / 'key.pem'}",
            "force_local_logins_ssl=YES",  # no USER/PASS before AUTH TLS
            "force_local_data_ssl=YES",  # PROT P required
            "require_ssl_reuse=NO",  # curl does not resume the control connection's TLS session on the data one
            "pasv_enable=YES",
            f"pasv_min_port={passive}",
            f"pasv_max_port={passive + 1}",
            "connect_from_port_20=NO",
            f"vsftpd_log_file={tmp / ('vsftpd-implicit.log' if implicit else 'vsftpd.log')}",
            "",
        ]
    )


def make_certificate(tmp: Path) -> None:
    """A self-signed certificate for 127.0.0.1, valid one day, made for this run only."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp / "key.pem"),
            "-out",
            str(tmp / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )


def add_user(home: Path) -> None:
    """Create :data:`USER`; refuse if the name is taken (it is not ours to remove then)."""
    if subprocess.run(["id", USER], capture_output=True, timeout=10).returncode == 0:
        raise RuntimeError(f"a user {USER!r} exists already; the recorder makes and removes its own")
    subprocess.run(["useradd", "--home-dir", str(home), "--shell", "/bin/sh", USER], check=True, timeout=30)
    try:
        subprocess.run(["chpasswd"], input=f"{USER}:{PASSWORD}\n", text=True, check=True, timeout=30)
    except BaseException:
        remove_user()
        raise


def remove_user() -> None:
    subprocess.run(["userdel", USER], timeout=30, capture_output=True)


def transcript_path(pcap: str | Path) -> Path:
    """Where lftp's transcript of a capture goes: ``ftps_session.pcap`` -> ``ftps_session_lftp.md``."""
    pcap = Path(pcap)
    return pcap.with_name(pcap.stem + "_lftp.md")


def run_lftp(port: int, tmp: Path) -> tuple[str, str]:
    """Explicit FTPS with lftp; returns (the file, lftp's transcript with the password masked)."""
    script = "; ".join(
        [
            f"set ssl:ca-file {tmp / 'cert.pem'}",
            "set ftp:ssl-force true",  # AUTH TLS before USER, or give up
            "set ftp:ssl-protect-data true",  # PBSZ 0 and PROT P: the data connection in TLS too
            "set ftp:passive-mode true",
            "set net:max-retries 1",
            f"get hello.txt -o {tmp / 'got.txt'}",
            "bye",
        ]
    )
    argv = ["lftp", "-d", "-u", f"{USER},{PASSWORD}", "-e", script, f"ftp://127.0.0.1:{port}"]
    done = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    transcript = (done.stdout + done.stderr).decode(errors="replace").replace(PASSWORD, "****")
    if done.returncode != 0 or not (tmp / "got.txt").exists():
        raise RuntimeError(f"lftp failed: {transcript.strip()[-500:]}")
    lines = [line for line in transcript.splitlines() if line.startswith(("--->", "<---"))]
    return (tmp / "got.txt").read_bytes().decode(), "\n".join(lines) + "\n"


def run_curl(url: str, tmp: Path) -> str:
    """Implicit FTPS with curl (``ftps://``): TLS from the first byte."""
    argv = ["curl", "--silent", "--show-error", "--max-time", "20", "--cacert", str(tmp / "cert.pem")]
    argv += ["--user", f"{USER}:{PASSWORD}", url]
    done = subprocess.run(argv, capture_output=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"curl {url} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout.decode()


def record_ftps_session(pcap: str | Path, port: int | None = None, seed: int | None = None) -> tuple[Path, int]:
    """Record the two sessions of :data:`SESSION` into ``pcap``; return (path, explicit control port)."""
    require(*TOOLS, debian="tcpdump vsftpd lftp curl openssl passwd")
    port = port or pick_ports(random.Random(seed)) - 1  # P..P+5 free
    pcap = Path(pcap).resolve()
    pcap.parent.mkdir(parents=True, exist_ok=True)
    ours = f"tcp and host 127.0.0.1 and portrange {port}-{port + 5}"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "root").mkdir()
        (tmp / "root" / "hello.txt").write_bytes(FILE_TEXT)
        os.utime(tmp / "root" / "hello.txt", (FILE_TIME, FILE_TIME))  # MDTM prints the same every run
        tmp.chmod(0o755)  # the user must reach its root inside the temporary directory
        make_certificate(tmp)
        for implicit in (False, True):
            (tmp / f"vsftpd-{int(implicit)}.conf").write_text(vsftpd_config(tmp, port + implicit, implicit))
        add_user(tmp / "root")
        try:
            with recording(pcap, "lo", ours, logs=tmp) as rec:
                for implicit in (False, True):
                    rec.start(
                        f"vsftpd-{int(implicit)}", ["vsftpd", str(tmp / f"vsftpd-{int(implicit)}.conf")], settle=1
                    )
                explicit, transcript = run_lftp(port, tmp)
                got = [explicit, run_curl(f"ftps://127.0.0.1:{port + 1}/hello.txt", tmp)]
        finally:
            remove_user()
        transcript_path(pcap).write_text(
            "# What lftp sent and read inside TLS\n\n"
            f"The commands of the explicit session in `{pcap.name}` as `lftp -d` printed them (the password masked).\n"
            "In the capture, everything after `234` is TLS records.\n\n```\n" + transcript + "```\n"
        )
        if got != [FILE_TEXT.decode()] * 2:
            raise RuntimeError(f"curl did not fetch hello.txt both times: {got}")
    return pcap, port


def main(argv: list[str] | None = None) -> int:
    from refimpl.capture.ftps import read_ftps_trace

    return recorder_main(__doc__, argv, record_ftps_session, read_ftps_trace, port_label="control port")


if __name__ == "__main__":
    sys.exit(main())
