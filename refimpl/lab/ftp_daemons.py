"""vsftpd in a lab: real, guest and anonymous users, the chroot jail, xferlog, passive and active mode.

Lesson 05 builds these ideas into the course's own server; this lab shows
them in the FTP server most Linux distributions ship, vsftpd, driven by
curl from a second namespace (``client`` 192.0.2.10, ``server`` 192.0.2.1):

* **anonymous**: user ``anonymous`` (or ``ftp``), any password, jailed in
  ``anon_root``, read-only here;
* **real** (vsftpd: *local*): an account of the server machine with its own
  password, jailed in its home directory (``chroot_local_user``), may upload;
* **guest**: another account whose login is mapped to the unprivileged
  ``ftp`` user (``guest_enable``, set for that user alone in
  ``user_config_dir``), jailed in its own directory, read-only.

The two accounts are made for the run (``useradd``) and removed again at
its end, even after an error: a lab, like a test, cleans up what it starts.
Every password and address is fixed and printed listings hold names only,
so a run prints the same each time. Needs root, iproute2, tcpdump, vsftpd,
curl and tshark.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from refimpl.capture.recorder import recording
from refimpl.lab.netns import Host, Lab
from refimpl.lab.procwait import log_text, stop, wait_for

SERVER_ADDRESS = "192.0.2.1"
CLIENT_ADDRESS = "192.0.2.10"
PASSIVE_PORTS = (30000, 30009)
USERS = {"real": ("labreal", "real-secret-1"), "guest": ("labguest", "guest-secret-1")}
HELLO = b"hello from vsftpd\n"
TOOLS = {"ip": "iproute2", "tcpdump": "tcpdump", "vsftpd": "vsftpd", "curl": "curl", "tshark": "tshark"}


def missing_tools() -> list[str]:
    missing = [] if os.geteuid() == 0 else ["root (the lab makes namespaces and two user accounts)"]
    missing += [f"{tool} ({package})" for tool, package in TOOLS.items() if shutil.which(tool) is None]
    try:
        pwd.getpwnam("ftp")
    except KeyError:
        missing.append("the 'ftp' user (made by the vsftpd package)")
    return missing


def vsftpd_conf(workdir: Path) -> str:
    """vsftpd.conf(5) for the lab; each line is one decision a server administrator makes."""
    lines = [
        "listen=YES",
        f"listen_address={SERVER_ADDRESS}",
        "background=NO",
        "# who may log in",
        "anonymous_enable=YES",
        f"anon_root={workdir / 'anon'}",
        "no_anon_password=YES",
        "local_enable=YES",
        f"user_config_dir={workdir / 'per-user'}",
        "# the jail: every local (real or guest) user is shut in a root of their own",
        "chroot_local_user=YES",
        "# uploads: real users only (anonymous and guests stay read-only here)",
        "write_enable=YES",
        "anon_upload_enable=NO",
        "# data connections: passive in a fixed range (for the firewall), active from port 20",
        "pasv_enable=YES",
        f"pasv_min_port={PASSIVE_PORTS[0]}",
        f"pasv_max_port={PASSIVE_PORTS[1]}",
        "port_enable=YES",
        "connect_from_port_20=YES",
        "# the transfer log, in the wu-ftpd format that lesson 05 reads",
        "xferlog_enable=YES",
        "xferlog_std_format=YES",
        f"xferlog_file={workdir / 'xferlog'}",
        "# (vsftpd's own sandbox needs a directory nobody can write)",
        f"secure_chroot_dir={workdir / 'empty'}",
        "seccomp_sandbox=NO",
        "ftp_username=ftp",
    ]
    return "\n".join(lines) + "\n"


GUEST_CONF = "guest_enable=YES\nguest_username=ftp\nlocal_root={root}\n"


@dataclass
class FtpLab:
    """What one lab run did: the commands typed, what curl got, the log and the capture."""

    workdir: Path
    commands: list[str] = field(default_factory=list)
    results: dict[str, tuple[int, str]] = field(default_factory=dict)  # label -> (curl's exit code, output)

    def pcap(self, mode: str) -> Path:
        """The capture of the anonymous download in ``mode``, "passive" or "active"."""
        return self.workdir / f"{mode}.pcap"

    @property
    def xferlog(self) -> list[dict[str, str]]:
        return parse_xferlog(log_text(self.workdir / "xferlog"))


def parse_xferlog(text: str) -> list[dict[str, str]]:
    """The fields of xferlog(5) that do not change from run to run (the date and duration do)."""
    names = ["host", "bytes", "file", "type", "action", "direction", "access", "user", "service", "auth", "uid"]
    entries = []
    for line in text.splitlines():
        words = line.split()
        if len(words) >= 18:  # five words of date, the time the transfer took, then the fields
            entry = dict(zip(names, words[6:17]))
            entry["status"] = words[17]
            entries.append(entry)
    return entries


def _prepare(workdir: Path) -> None:
    ftp = pwd.getpwnam("ftp")
    os.chmod(workdir, 0o755)
    for name in ("anon", "anon/pub", "home", "guest", "guest/docs", "per-user"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    (workdir / "empty").mkdir(mode=0o555, exist_ok=True)
    (workdir / "anon" / "pub" / "hello.txt").write_bytes(HELLO)
    (workdir / "guest" / "docs" / "welcome.txt").write_bytes(b"for guests\n")
    for path in ("anon", "guest"):
        os.chmod(workdir / path, 0o555)  # vsftpd refuses to chroot into a directory the user can write
    os.chown(workdir / "guest" / "docs", ftp.pw_uid, ftp.pw_gid)
    (workdir / "vsftpd.conf").write_text(vsftpd_conf(workdir))
    (workdir / "per-user" / USERS["guest"][0]).write_text(GUEST_CONF.format(root=workdir / "guest"))


@contextmanager
def accounts(workdir: Path) -> Iterator[None]:
    """The real and the guest account, for the duration of the block (removed afterwards, even after errors)."""
    made = []
    try:
        for kind, (name, password) in USERS.items():
            subprocess.run(["userdel", name], capture_output=True)  # a run that died before its clean-up
            home = workdir / "home" / name if kind == "real" else workdir / "guest"
            subprocess.run(["useradd", "-M", "-d", str(home), "-s", "/bin/sh", name], check=True, capture_output=True)
            made.append(name)
            subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
            if kind == "real":
                user = pwd.getpwnam(name)
                home.mkdir(parents=True, exist_ok=True)
                os.chmod(home, 0o555)  # the jail's root stays read-only; uploads go below it
                (home / "upload").mkdir(exist_ok=True)
                os.chown(home / "upload", user.pw_uid, user.pw_gid)
                (home / "notes.txt").write_bytes(b"my own file\n")
        yield
    finally:
        for name in made:
            subprocess.run(["userdel", name], capture_output=True)


def _curl(run: FtpLab, client: Host, label: str, *args: str) -> None:
    argv = ["curl", "--silent", "--show-error", "--max-time", "20", *args]
    shown = " ".join(a.replace(str(run.workdir) + "/", "") for a in argv)
    run.commands.append(f"client# {shown}")
    result = client.run(argv, timeout=40)
    run.results[label] = (result.returncode, (result.stdout + result.stderr).strip())


def run_lab(workdir: str | Path) -> FtpLab:
    """Start vsftpd, run each kind of login and both modes with curl, record the cable; stop everything."""
    if missing_tools():
        raise RuntimeError("this lab needs " + ", ".join(missing_tools()))
    run = FtpLab(Path(workdir).resolve())
    run.workdir.mkdir(parents=True, exist_ok=True)
    closed = [p for p in run.workdir.parents if not os.stat(p).st_mode & 0o001]
    if closed:  # vsftpd takes the user's own rights before it enters the jail
        raise RuntimeError(
            f"{closed[0]} is closed to other users, so labreal could not reach its home: use a "
            "directory every user may pass through (chmod 755), or a new one in /tmp: the lab opens its own"
        )
    _prepare(run.workdir)
    (run.workdir / "local.txt").write_bytes(b"uploaded by a real user\n")
    real, guest = USERS["real"], USERS["guest"]
    url = f"ftp://{SERVER_ADDRESS}"
    with accounts(run.workdir), Lab("ftp") as lab:
        server, client = lab.host("server"), lab.host("client")
        s_if, c_if = lab.link(server, f"{SERVER_ADDRESS}/24", client, f"{CLIENT_ADDRESS}/24")
        server.rename_interface(s_if)
        ifname = client.rename_interface(c_if)  # eth0, as on a real machine
        log = run.workdir / "vsftpd.out"
        with open(log, "w") as out:
            run.commands.append(f"server# vsftpd {'vsftpd.conf'} &")
            daemon = server.run(["vsftpd", str(run.workdir / "vsftpd.conf")], background=True, stdout=out)
        probe = ["bash", "-c", f"exec 3<>/dev/tcp/{SERVER_ADDRESS}/21"]  # bash's own TCP connect: listening yet?
        wait_for(lambda: daemon.poll() is not None or client.run(probe).returncode == 0, 15, "vsftpd to listen")
        if daemon.poll() is not None:
            raise RuntimeError(f"vsftpd did not start:\n{log_text(log)}")
        try:
            modes = {"passive": ["--disable-epsv"], "active": ["--ftp-port", "-", "--disable-eprt"]}
            for mode, options in modes.items():  # one capture each: a reader follows one control connection
                run.commands.append(f"client# tcpdump -i {ifname} -w {mode}.pcap tcp &")
                with recording(run.pcap(mode), ifname, "tcp", logs=run.workdir, within=client):
                    _curl(run, client, f"anonymous, {mode}", *options, f"{url}/pub/hello.txt")
            auth_real, auth_guest = f"{real[0]}:{real[1]}", f"{guest[0]}:{guest[1]}"
            _curl(run, client, "real: her root", "--list-only", "-u", auth_real, f"{url}/")
            _curl(run, client, "real: /etc/passwd", "-u", auth_real, f"{url}/%2Fetc/passwd")
            _curl(run, client, "real: upload", "-u", auth_real, "-T", str(run.workdir / "local.txt"), f"{url}/upload/")
            _curl(run, client, "guest: its root", "--list-only", "-u", auth_guest, f"{url}/")
            _curl(run, client, "guest: a file", "-u", auth_guest, f"{url}/docs/welcome.txt")
            _curl(run, client, "guest: upload", "-u", auth_guest, "-T", str(run.workdir / "local.txt"), f"{url}/docs/")
            _curl(run, client, "anonymous: upload", "-T", str(run.workdir / "local.txt"), f"{url}/pub/")
            _curl(run, client, "wrong password", "-u", f"{real[0]}:wrong", f"{url}/")
        finally:
            stop(daemon)
    return run
