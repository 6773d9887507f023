"""The vsftpd lab: its log parsing, its accounts cleaned up even after an error, and one real run."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from refimpl.lab import ftp_daemons as lab


def test_xferlog_fields_without_the_clock():
    line = "Thu Dec  3 20:41:07 2026 1 192.0.2.10 24 /upload/local.txt b _ i r labreal ftp 0 * c"
    assert lab.parse_xferlog(line + "\nshort line\n") == [
        {
            "host": "192.0.2.10",
            "bytes": "24",
            "file": "/upload/local.txt",
            "type": "b",
            "action": "_",
            "direction": "i",
            "access": "r",
            "user": "labreal",
            "service": "ftp",
            "auth": "0",
            "uid": "*",
            "status": "c",
        }
    ]


def test_the_configuration_jails_every_local_user_and_logs_transfers():
    conf = dict(line.split("=", 1) for line in lab.vsftpd_conf(Path("/x")).splitlines() if "=" in line)
    assert conf["chroot_local_user"] == "YES" and conf["anon_upload_enable"] == "NO"
    assert conf["xferlog_std_format"] == "YES" and conf["connect_from_port_20"] == "YES"
    assert (int(conf["pasv_min_port"]), int(conf["pasv_max_port"])) == lab.PASSIVE_PORTS
    assert "guest_enable=YES" in lab.GUEST_CONF


def test_the_accounts_are_removed_even_when_the_run_fails(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root: the lab makes user accounts")
    (tmp_path / "home").mkdir()
    with pytest.raises(RuntimeError, match="a lab that broke"):
        with lab.accounts(tmp_path):
            assert pwd.getpwnam("labreal").pw_dir == str(tmp_path / "home" / "labreal")
            raise RuntimeError("a lab that broke")
    for name, _ in lab.USERS.values():
        with pytest.raises(KeyError):
            pwd.getpwnam(name)


def test_a_real_run_jails_logs_and_refuses_as_the_notebook_says(tmp_path):
    missing = lab.missing_tools()
    if missing:
        pytest.skip("the vsftpd lab needs " + ", ".join(missing))
    import tempfile

    from refimpl.capture.ftp import read_ftp_trace

    with pytest.raises(RuntimeError, match="closed to other users"):
        lab.run_lab(tmp_path / "closed" / "ftp")  # pytest's own tmp_path sits below a 0700 directory
    with tempfile.TemporaryDirectory(prefix="test-ftp-lab-") as name:
        os.chmod(name, 0o755)
        run = lab.run_lab(Path(name) / "ftp")
        served = Path(name) / "ftp" / "home" / "labreal" / "upload" / "local.txt"
        assert served.read_bytes() == b"uploaded by a real user\n"
        results = run.results
        assert results["anonymous, passive"] == (0, "hello from vsftpd") == results["anonymous, active"]
        assert results["real: her root"] == (0, "notes.txt\nupload")
        assert results["real: /etc/passwd"][0] != 0, "the jail lets no one out"
        assert results["guest: upload"][1].endswith("550") and results["anonymous: upload"][1].endswith("550")
        assert results["wrong password"][1].endswith("530")
        assert [(e["access"], e["direction"]) for e in run.xferlog] == [("a", "o"), ("a", "o"), ("r", "i"), ("g", "o")]
        active = read_ftp_trace(run.pcap("active"), control_port=21)
        syn = next(e for e in active if e.flow == "ftp-data" and e.kind == "SYN")
        assert (syn.src, syn.src_port) == ("server", 20)
    for name, _ in lab.USERS.values():
        with pytest.raises(KeyError):
            pwd.getpwnam(name)
