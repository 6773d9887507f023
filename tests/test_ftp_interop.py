"""Our FTP server against real clients on 127.0.0.1: Python's ftplib and curl."""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
from ftp_harness import make_config, make_tree
from ftp_live import LiveServer

from refimpl.ftp.datachannel import parse_229

BIG = bytes(range(251)) * 8000  # 2,008,000 bytes: many chunks, not a multiple of anything


@pytest.fixture
def root(tmp_path):
    make_tree(tmp_path)
    (tmp_path / "pub" / "big.bin").write_bytes(BIG)
    return tmp_path


@pytest.fixture(params=[False, True], ids=["chunks", "sendfile"])
def server(request, root):
    config = make_config(chunk_size=64 * 1024, sendfile=request.param, passive_ports=(0, 0))
    with LiveServer(config, root) as srv:
        yield srv


def connect(srv, user="anonymous", password="guest@example.org", passive=True) -> ftplib.FTP:
    ftp = ftplib.FTP(timeout=10)
    ftp.connect("127.0.0.1", srv.port)
    ftp.login(user, password)
    ftp.set_pasv(passive)
    return ftp


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_ftplib_login_list_download(server, passive):
    ftp = connect(server, passive=passive)
    assert ftp.getwelcome().startswith("220")
    assert ftp.pwd() == "/"
    assert sorted(ftp.nlst("/pub")) == ["big.bin", "data.bin", "hello.txt", "sub"]
    lines = []
    ftp.retrlines("LIST /pub", lines.append)
    assert len(lines) == 4 and lines[2].endswith("hello.txt")
    text = []
    ftp.retrlines("RETR /pub/hello.txt", text.append)  # TYPE A
    assert text == ["hello", "world"]
    got = bytearray()
    ftp.retrbinary("RETR /pub/big.bin", got.extend)
    assert bytes(got) == BIG
    assert ftp.size("/pub/big.bin") == len(BIG)
    ftp.quit()
    assert " /pub/big.bin b _ o a guest@example.org ftp 0 * c" in server.xferlog.getvalue()


def test_ftplib_mlsd_and_directories(server, root):
    ftp = connect(server, "alice", "secret")
    ftp.mkd("docs")
    ftp.cwd("docs")
    assert ftp.pwd() == "/docs"
    ftp.cwd("..")
    facts = dict(ftp.mlsd("/"))
    assert facts["docs"]["type"] == "dir" and facts["notes.txt"]["size"] == "14"
    ftp.rename("notes.txt", "docs/moved.txt")
    assert (root / "alice" / "docs" / "moved.txt").exists()
    ftp.delete("docs/moved.txt")
    ftp.rmd("docs")
    with pytest.raises(ftplib.error_perm, match="^550"):
        ftp.cwd("/etc")
    ftp.quit()


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_ftplib_upload_append_resume(server, root, passive):
    ftp = connect(server, "alice", "secret", passive=passive)
    ftp.storbinary("STOR up.bin", _reader(BIG))
    assert (root / "alice" / "up.bin").read_bytes() == BIG
    ftp.storbinary("APPE up.bin", _reader(b"tail"))
    assert (root / "alice" / "up.bin").read_bytes() == BIG + b"tail"
    # resume an upload that broke after 1000 bytes
    (root / "alice" / "half.bin").write_bytes(BIG[:1000])
    ftp.storbinary("STOR half.bin", _reader(BIG[1000:]), rest=1000)
    assert (root / "alice" / "half.bin").read_bytes() == BIG
    # resume a download
    got = bytearray()
    ftp.retrbinary("RETR up.bin", got.extend, rest=len(BIG) - 10)
    assert bytes(got) == BIG[-10:] + b"tail"
    # TYPE A upload: CRLF on the wire becomes LF on disk
    ftp.storlines("STOR lines.txt", _reader(b"a\nb\n"))
    assert (root / "alice" / "lines.txt").read_bytes() == b"a\nb\n"
    ftp.quit()
    log = server.xferlog.getvalue().splitlines()
    assert sum(" i r alice ftp 0 * c" in l for l in log) == 4


def _reader(data: bytes):
    import io

    return io.BytesIO(data)


def test_ftplib_abort(server):
    ftp = connect(server)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("RETR /pub/big.bin")
    assert conn.recv(1024)
    resp = ftp.abort()
    conn.close()
    replies = [resp]
    # If the transfer ended before ABOR arrived (the kernel may have buffered all of it),
    # its "226 Transfer complete" comes first and ABOR gets "225 No transfer to abort".
    # Otherwise RFC 959: 426 for the transfer, then 226 for ABOR itself.
    if resp.startswith(("426", "226 Transfer complete")):
        replies.append(ftp.getresp())
    codes = [r[:3] for r in replies]
    assert codes in (["426", "226"], ["226", "225"], ["225"]), replies
    assert ftp.voidcmd("NOOP").startswith("200")  # the session goes on
    ftp.quit()


def test_ftplib_epsv(server):
    ftp = connect(server)
    port = parse_229(ftp.sendcmd("EPSV"))
    data = socket.create_connection(("127.0.0.1", port), timeout=10)
    ftp.sendcmd("TYPE I")
    assert ftp.sendcmd("RETR /pub/hello.txt")[:3] in ("125", "150")
    got = b""
    while chunk := data.recv(4096):
        got += chunk
    data.close()
    assert ftp.voidresp().startswith("226") and got == b"hello\nworld\n"
    ftp.quit()


def test_bounce_is_refused_on_real_sockets(server):
    ftp = connect(server)
    with pytest.raises(ftplib.error_perm, match="^504"):
        ftp.sendcmd("PORT 127,0,0,1,0,25")
    with pytest.raises(ftplib.error_perm, match="^500"):
        ftp.sendcmd("PORT 192,0,2,1,156,64")
    ftp.quit()


def test_wrong_password_and_jail(server):
    ftp = ftplib.FTP(timeout=10)
    ftp.connect("127.0.0.1", server.port)
    with pytest.raises(ftplib.error_perm, match="^530"):
        ftp.login("alice", "nope")
    ftp.close()
    ftp = connect(server)
    with pytest.raises(ftplib.error_perm, match="^550"):
        ftp.retrbinary("RETR ../../../../etc/passwd", lambda b: None)
    with pytest.raises(ftplib.error_perm, match="^550"):
        ftp.storbinary("STOR /pub/x", _reader(b"x"))
    ftp.quit()


def test_wrong_password_is_answered_late_but_others_are_not_blocked(root):
    config = make_config(passive_ports=(0, 0), failed_login_delay=0.5)
    with LiveServer(config, root) as srv:
        slow = ftplib.FTP(timeout=10)
        slow.connect("127.0.0.1", srv.port)
        slow.sendcmd("USER alice")
        start = time.monotonic()
        slow.putcmd("PASS wrong")
        other = connect(srv)  # another session is served meanwhile
        assert other.pwd() == "/"
        with pytest.raises(ftplib.error_perm, match="^530"):
            slow.getresp()
        assert time.monotonic() - start >= 0.45
        other.quit()
        slow.close()


def test_many_sessions_then_clean_shutdown(root):
    config = make_config(passive_ports=(0, 0))
    with LiveServer(config, root) as srv:
        ftps = [connect(srv) for _ in range(4)]
        for ftp in ftps:
            assert ftp.nlst("/pub")
        for ftp in ftps:
            ftp.quit()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=2).recv(1)


# -- curl ----------------------------------------------------------------------

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="needs the curl program (Debian package curl)")


def curl(*args, timeout=30) -> subprocess.CompletedProcess:
    return subprocess.run([CURL, "-sS", "--max-time", "20", *args], capture_output=True, timeout=timeout)


@needs_curl
@pytest.mark.parametrize(
    "mode",
    [[], ["--disable-epsv"], ["-P", "127.0.0.1"], ["-P", "127.0.0.1", "--disable-eprt"]],
    ids=["epsv", "pasv", "eprt", "port"],
)
def test_curl_download_and_list(server, mode):
    base = f"ftp://127.0.0.1:{server.port}"
    r = curl(*mode, f"{base}/pub/big.bin")
    assert r.returncode == 0, r.stderr
    assert r.stdout == BIG
    r = curl(*mode, "--list-only", f"{base}/pub/")
    assert r.returncode == 0 and r.stdout.split() == [b"big.bin", b"data.bin", b"hello.txt", b"sub"]
    r = curl(*mode, f"{base}/pub/")
    assert r.returncode == 0 and r.stdout.count(b"\n") == 4


@needs_curl
def test_curl_upload_and_resume(server, root, tmp_path):
    base = f"ftp://alice:secret@127.0.0.1:{server.port}"
    src = tmp_path / "src.bin"
    src.write_bytes(BIG)
    r = curl("-T", str(src), f"{base}/up.bin")
    assert r.returncode == 0, r.stderr
    assert (root / "alice" / "up.bin").read_bytes() == BIG
    # resume a download: we already have the first 12345 bytes
    part = tmp_path / "part.bin"
    part.write_bytes(BIG[:12345])
    r = curl("-C", "-", "-o", str(part), f"{base}/up.bin")
    assert r.returncode == 0, r.stderr
    assert part.read_bytes() == BIG
    # resume an upload: the server has half of it
    (root / "alice" / "half.bin").write_bytes(BIG[:5000])
    r = curl("-C", "-", "-T", str(src), f"{base}/half.bin")
    assert r.returncode == 0, r.stderr
    assert (root / "alice" / "half.bin").read_bytes() == BIG
    # anonymous may not upload outside /incoming
    r = curl("-T", str(src), f"ftp://127.0.0.1:{server.port}/pub/x.bin")
    assert r.returncode != 0


# -- the command line --------------------------------------------------------------


def test_cli_serves_and_stops(root, tmp_path):
    xferlog = tmp_path / "xferlog"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refimpl",
            "ftp-server",
            "--root",
            str(root),
            "--anonymous",
            "--port",
            "0",
            "--passive-ports",
            "40000-40100",
            "--xferlog",
            str(xferlog),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        assert "listening on 127.0.0.1:" in line, line
        port = int(line.split("127.0.0.1:")[1].split(",")[0])
        ftp = ftplib.FTP(timeout=10)
        ftp.connect("127.0.0.1", port)
        ftp.login()
        got = bytearray()
        ftp.retrbinary("RETR /pub/data.bin", got.extend)
        assert len(got) == 10240
        ftp.quit()
    finally:
        proc.terminate()
        proc.wait(10)
    deadline = time.time() + 5
    while time.time() < deadline and "data.bin" not in xferlog.read_text():
        time.sleep(0.05)
    assert "/pub/data.bin b _ o a anonymous@ ftp 0 * c" in xferlog.read_text()


def test_cli_with_users_file_and_anonymous_upload(root, tmp_path):
    make = subprocess.run(
        [sys.executable, "-m", "refimpl", "ftp-server", "--make-user", "carol", "--home", "alice", "--perms", "elrw"],
        input="pa55word\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert make.returncode == 0, make.stderr
    line = make.stdout.strip()
    assert line.startswith("carol:real:scrypt$") and "pa55word" not in line
    users = tmp_path / "users.txt"
    users.write_text(line + "\n")
    cmdlog = tmp_path / "commands.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "refimpl",
            "ftp-server",
            "--root",
            str(root),
            "--anonymous",
            "--anonymous-upload",
            "/incoming",
            "--users",
            str(users),
            "--port",
            "0",
            "--passive-ports",
            "40200-40300",
            "--command-log",
            str(cmdlog),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stderr.readline()
        port = int(line.split("127.0.0.1:")[1].split(",")[0])
        ftp = ftplib.FTP(timeout=10)
        ftp.connect("127.0.0.1", port)
        ftp.login("carol", "pa55word")
        assert "notes.txt" in ftp.nlst()
        ftp.storbinary("STOR c.txt", _reader(b"carol was here"))
        with pytest.raises(ftplib.error_perm, match="^550"):
            ftp.delete("c.txt")  # no "d" permission
        ftp.quit()
        anon = ftplib.FTP(timeout=10)
        anon.connect("127.0.0.1", port)
        anon.login()
        anon.storbinary("STOR /incoming/a.txt", _reader(b"anon"))
        with pytest.raises(ftplib.error_perm, match="^55"):
            anon.storbinary("STOR /incoming/a.txt", _reader(b"overwrite"))
        anon.quit()
    finally:
        proc.terminate()
        proc.wait(10)
    assert (root / "alice" / "c.txt").read_bytes() == b"carol was here"
    assert (root / "incoming" / "a.txt").read_bytes() == b"anon"
    log = cmdlog.read_text()
    assert '"PASS ****" 230' in log and "pa55word" not in log


def test_cli_rejects_bad_arguments(tmp_path, capsys):
    from refimpl.cli.ftp import main

    assert main(["--root", str(tmp_path / "missing"), "--anonymous"]) == 2
    assert main(["--root", str(tmp_path)]) == 2
    assert "nobody could log in" in capsys.readouterr().err


# -- our asyncio client against our server --------------------------------------------


def test_our_client_aborts_when_the_data_connection_is_refused(root):
    # 227 announces 127.0.0.2, where nobody listens: the connect is refused at once
    import asyncio

    from refimpl.sockets.ftp_client import AsyncFTP, FTPError

    config = make_config(passive_ports=(0, 0), passive_address="127.0.0.2")
    with LiveServer(config, root) as srv:

        async def session():
            async with AsyncFTP("127.0.0.1", srv.port, mode="passive", timeout=5) as ftp:
                await ftp.login("alice", "secret")
                with pytest.raises(FTPError) as info:
                    await ftp.retr("notes.txt")
                assert info.value.reply.code == 426 and info.value.failed.reason  # RETR's, after ABOR
                assert (await ftp.command("PWD")).reply.code == 257  # still in step
                await ftp.quit()
                return [str(e) for e in ftp.events if type(e).__name__ == "SendCommand"]

        sent = asyncio.run(asyncio.wait_for(session(), 20))
    assert sent[-3:] == ["ABOR", "PWD", "QUIT"]
    assert '"RETR notes.txt" 426' in srv.command_log.getvalue()


@pytest.mark.parametrize("mode", ["passive", "epsv", "active", "eprt"])
def test_our_client_against_our_server(server, root, mode):
    import asyncio

    from refimpl.sockets.ftp_client import AsyncFTP, FTPError

    async def session():
        async with AsyncFTP("127.0.0.1", server.port, mode=mode) as ftp:
            await ftp.login("alice", "secret")
            await ftp.stor("big.bin", BIG)
            assert await ftp.retr("big.bin") == BIG
            assert await ftp.retr("big.bin", rest=len(BIG) - 3) == BIG[-3:]
            assert await ftp.nlst() == ["big.bin", "notes.txt"]
            assert b"notes.txt" in await ftp.list()
            with pytest.raises(FTPError) as info:
                await ftp.retr("missing")
            assert info.value.reply.code == 550
            assert (await ftp.command("PWD")).reply.code == 257
            await ftp.quit()
            return ftp.events

    events = asyncio.run(asyncio.wait_for(session(), 60))
    assert (root / "alice" / "big.bin").read_bytes() == BIG
    assert any(type(e).__name__ == ("DataListen" if mode in ("active", "eprt") else "DataConnect") for e in events)


# -- lftp ----------------------------------------------------------------------------------

LFTP = shutil.which("lftp")


@pytest.mark.skipif(LFTP is None, reason="needs the lftp program (Debian package lftp)")
@pytest.mark.parametrize("passive", ["on", "off"])
def test_lftp_against_our_server(server, root, tmp_path, passive):
    (tmp_path / "local.bin").write_bytes(BIG[:100000])
    script = "; ".join(
        [
            "set ftp:ssl-allow no",
            "set net:max-retries 1",
            "set net:timeout 10",
            f"set ftp:passive-mode {passive}",
            "set ftp:prefer-epsv no",
            f"open -u alice,secret -p {server.port} 127.0.0.1",
            "cls -1",
            f"get notes.txt -o {tmp_path}/notes.txt",
            f"put {tmp_path}/local.bin -o up.bin",
            "mkdir d",
            "mv up.bin d/up.bin",
            "cls -1 d",
        ]
    )
    r = subprocess.run([LFTP, "-c", script], capture_output=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [b"notes.txt", b"d/up.bin"] or r.stdout.split() == [b"notes.txt", b"up.bin"]
    assert (tmp_path / "notes.txt").read_bytes() == b"alice's notes\n"
    assert (root / "alice" / "d" / "up.bin").read_bytes() == BIG[:100000]


# -- our client against vsftpd ----------------------------------------------------------------

VSFTPD = shutil.which("vsftpd") or ("/usr/sbin/vsftpd" if os.path.exists("/usr/sbin/vsftpd") else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def vsftpd(tmp_path):
    if VSFTPD is None:
        pytest.skip("needs vsftpd (Debian package vsftpd)")
    if os.geteuid() != 0:
        pytest.skip("needs root: vsftpd runs as root and changes to its 'ftp' user")
    import pwd

    try:
        ftp_user = pwd.getpwnam("ftp")
    except KeyError:
        pytest.skip("needs the 'ftp' system user (created by the vsftpd package)")
    root = tmp_path / "anon"
    (root / "pub").mkdir(parents=True)
    (root / "pub" / "hello.txt").write_bytes(b"hello from vsftpd\n")
    (root / "pub" / "big.bin").write_bytes(BIG)
    (root / "incoming").mkdir()
    os.chown(root / "incoming", ftp_user.pw_uid, ftp_user.pw_gid)
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o555)  # vsftpd refuses a writable chroot
    empty = tmp_path / "empty"
    empty.mkdir(mode=0o555)
    port = _free_port()
    conf = tmp_path / "vsftpd.conf"
    conf.write_text(
        "\n".join(
            [
                "listen=YES",
                "listen_ipv6=NO",
                "listen_address=127.0.0.1",
                f"listen_port={port}",
                "background=NO",
                "anonymous_enable=YES",
                f"anon_root={root}",
                "no_anon_password=YES",
                "local_enable=NO",
                "write_enable=YES",
                "anon_upload_enable=YES",
                "pasv_enable=YES",
                "pasv_min_port=41000",
                "pasv_max_port=41100",
                "port_enable=YES",
                "connect_from_port_20=NO",
                "seccomp_sandbox=NO",
                f"secure_chroot_dir={empty}",
                "xferlog_enable=YES",
                "xferlog_std_format=YES",
                f"xferlog_file={tmp_path}/xferlog",
                "ftp_username=ftp",
                "",
            ]
        )
    )
    proc = subprocess.Popen([VSFTPD, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"vsftpd exited: {proc.stderr.read().decode(errors='replace')}")
                time.sleep(0.1)
        yield port, root, tmp_path / "xferlog"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.mark.parametrize("mode", ["passive", "epsv", "active", "eprt"])
def test_our_client_against_vsftpd(vsftpd, mode):
    import asyncio

    from refimpl.sockets.ftp_client import AsyncFTP, FTPError

    port, root, xferlog = vsftpd

    async def session():
        async with AsyncFTP("127.0.0.1", port, mode=mode) as ftp:
            await ftp.login("anonymous", "")
            assert await ftp.retr("/pub/hello.txt") == b"hello from vsftpd\n"
            assert await ftp.retr("/pub/big.bin") == BIG
            assert await ftp.retr("/pub/big.bin", rest=len(BIG) - 5) == BIG[-5:]
            assert sorted(await ftp.nlst("/pub")) == ["/pub/big.bin", "/pub/hello.txt"] or sorted(
                await ftp.nlst("/pub")
            ) == ["big.bin", "hello.txt"]
            await ftp.stor(f"/incoming/{mode}.bin", b"from our client")
            with pytest.raises(FTPError) as info:
                await ftp.retr("/pub/missing")
            assert info.value.reply.code == 550
            await ftp.quit()

    asyncio.run(asyncio.wait_for(session(), 60))
    assert (root / "incoming" / f"{mode}.bin").read_bytes() == b"from our client"


# -- IPv6 and time limits ------------------------------------------------------------------------


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="needs IPv6 loopback (::1)")
@pytest.mark.parametrize("passive", [True, False], ids=["epsv", "eprt"])
def test_ftplib_over_ipv6_uses_epsv_and_eprt(root, passive):
    config = make_config(passive_ports=(0, 0))
    with LiveServer(config, root, host="::1") as srv:
        ftp = ftplib.FTP(timeout=10)
        ftp.connect("::1", srv.port)
        ftp.login()
        ftp.set_pasv(passive)  # over IPv6 ftplib sends EPSV / EPRT (RFC 2428)
        got = bytearray()
        ftp.retrbinary("RETR /pub/data.bin", got.extend)
        assert len(got) == 10240
        with pytest.raises(ftplib.error_perm, match="^522"):
            ftp.sendcmd("PASV")  # PASV cannot carry an IPv6 address
        ftp.quit()
    log = srv.command_log.getvalue()
    assert ('"EPSV" 229' in log) if passive else ('"EPRT |2|::1|' in log)


def test_idle_control_connection_is_closed(root):
    config = make_config(passive_ports=(0, 0))
    with LiveServer(config, root) as srv:
        srv.server.idle_timeout = 0.5
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        assert data.startswith(b"220 ") and b"421 Idle timeout" in data


def test_a_long_transfer_is_not_idleness(root):
    """The idle timeout is for a silent control connection, not one whose download takes long."""
    size = 24 * 1024 * 1024
    (root / "pub" / "long.bin").write_bytes(os.urandom(1024) * (size // 1024))
    config = make_config(passive_ports=(0, 0))
    with LiveServer(config, root) as srv:
        srv.server.idle_timeout = 0.5
        ftp = connect(srv)
        ftp.voidcmd("TYPE I")
        port = parse_229(ftp.sendcmd("EPSV"))
        data = socket.socket()
        data.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # so the kernel cannot hold it all
        data.settimeout(10)
        data.connect(("127.0.0.1", port))
        ftp.putcmd("RETR /pub/long.bin")
        assert ftp.getresp()[:3] in ("125", "150")
        got, started = 0, time.monotonic()
        while chunk := data.recv(256 * 1024):  # slowly: several idle timeouts long
            got += len(chunk)
            time.sleep(0.01)
        data.close()
        assert time.monotonic() - started > 1.0  # the test is only worth something if it was slow
        assert got == size
        assert ftp.getresp().startswith("226")
        # The idle check may fire just after the transfer ended, long after the last command
        # (RETR). Make it fire now, so the test does not depend on the timer's luck.
        conn = next(iter(srv.server.connections))

        async def check_idleness_now() -> bool:
            conn.idle_check()
            return conn.closed

        assert not asyncio.run_coroutine_threadsafe(check_idleness_now(), srv.loop).result(5)
        assert ftp.sendcmd("NOOP").startswith("200")
        ftp.quit()


def test_a_client_that_does_not_read_its_replies_is_held_back(root, monkeypatch):
    """A client that sends commands but never reads the replies: once a bounded amount of replies
    waits to be sent, the server stops reading its commands (they wait in the kernel, not in the
    server's memory); others are served meanwhile; every reply comes once the client reads."""
    from refimpl.sockets.ftp_server import ControlConnection

    made = ControlConnection.connection_made

    def small_buffers(self, transport):  # small kernel buffers, so they fill up in a short test
        transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        made(self, transport)

    monkeypatch.setattr(ControlConnection, "connection_made", small_buffers)
    config = make_config(passive_ports=(0, 0))
    count = 50_000  # ~1 MB of replies
    with LiveServer(config, root) as srv:
        flooder = socket.socket()
        flooder.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        flooder.settimeout(10)
        flooder.connect(("127.0.0.1", srv.port))
        assert flooder.recv(1024).startswith(b"220")
        flooder.setblocking(False)
        commands = memoryview(b"NOOP\r\n" * count)
        held = None
        for _ in range(5000):  # bounded: about 5 s
            with contextlib.suppress(BlockingIOError):
                commands = commands[flooder.send(commands) :]
            conn = next(iter(srv.server.connections))
            if not conn.transport.is_reading():
                held = conn.transport.get_write_buffer_size()
                break
            time.sleep(0.001)
        assert held is not None, "the server kept reading commands it could not answer"
        assert held < 2_000_000  # replies waiting in memory: bounded by what one read brought
        other = connect(srv)  # meanwhile, others are served
        assert other.voidcmd("NOOP").startswith("200")
        other.quit()
        replies, deadline = bytearray(), time.monotonic() + 30
        while replies.count(b"\r\n") < count and time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                commands = commands[flooder.send(commands) :] if commands else commands
            with contextlib.suppress(BlockingIOError):
                replies += flooder.recv(1 << 16)
            time.sleep(0.0002)
        flooder.close()
        assert not commands
        assert replies.count(b"\r\n") == count and replies.count(b"200 ") == count


def test_passive_port_nobody_connects_to_gives_425(root):
    config = make_config(passive_ports=(0, 0))
    with LiveServer(config, root) as srv:
        srv.server.data_timeout = 0.5
        ftp = connect(srv)
        ftp.sendcmd("PASV")
        ftp.putcmd("RETR /pub/hello.txt")
        assert ftp.getresp().startswith("150")
        with pytest.raises(ftplib.error_temp, match="^425"):
            ftp.getresp()
        assert ftp.voidcmd("NOOP").startswith("200")
        ftp.quit()


def test_garbage_on_a_real_socket_does_not_stop_the_server(server):
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    s.recv(1024)
    s.sendall(b"\xff\xfe\x00\x80garbage\r\n" + b"A" * 10000 + b"\r\nNOOP\r\n")
    data = b""
    while b"200 " not in data:
        chunk = s.recv(4096)
        assert chunk
        data += chunk
    assert b"500 " in data
    s.close()
    ftp = connect(server)  # and other sessions are fine
    assert ftp.pwd() == "/"
    ftp.quit()


# -- RFC 959 port 20 and RFC 2577 on real sockets ----------------------------------------------


def test_active_mode_connects_from_port_20_when_root(server):
    ftp = connect(server)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    try:
        port = listener.getsockname()[1]
        ftp.sendcmd(f"PORT 127,0,0,1,{port >> 8},{port & 255}")
        ftp.sendcmd("TYPE I")
        assert ftp.sendcmd("RETR /pub/hello.txt").startswith("150")
        conn, peer = listener.accept()
        got = b""
        while chunk := conn.recv(4096):
            got += chunk
        conn.close()
        assert ftp.voidresp().startswith("226") and got == b"hello\nworld\n"
        if os.geteuid() == 0:
            assert peer[1] == 20  # RFC 959 §3.2: the server's data port L-1
        else:
            assert peer[1] != 20  # port 20 needs root: any port instead
    finally:
        listener.close()
    ftp.quit()


def test_passive_connection_from_another_address_is_refused(server):
    """RFC 2577 §8: a connection to the passive port from another address is closed, and the
    port keeps listening for the client's own (issue 16, point 8: the thief used to cost the
    client its transfer, 425)."""
    ftp = connect(server)
    ftp.sendcmd("TYPE I")
    host, port = ftplib.parse227(ftp.sendcmd("PASV"))
    # 127.0.0.2 is loopback too, but not the address of our control connection
    thief = socket.create_connection((host, port), timeout=10, source_address=("127.0.0.2", 0))
    assert ftp.sendcmd("RETR /pub/hello.txt").startswith("150")
    stolen = b""
    with contextlib.suppress(OSError):
        while chunk := thief.recv(4096):
            stolen += chunk
    thief.close()
    assert stolen == b""
    data = socket.create_connection((host, port), timeout=10)
    got = b""
    while chunk := data.recv(4096):
        got += chunk
    data.close()
    assert got == b"hello\nworld\n" and ftp.getresp().startswith("226")
    assert ftp.voidcmd("NOOP").startswith("200")
    ftp.quit()


# -- uploads and sends through the driver's DataSocket (refimpl/sockets/ftp_server.py) --------


def test_big_text_upload_converts_crlf_across_reads(server, root):
    """TYPE A upload of several MB: CRLF pairs split between two socket reads still become LF."""
    text = b"".join(b"line %d of the upload\n" % i for i in range(200_000))  # ~4.4 MB, many 512 KiB reads
    ftp = connect(server, "alice", "secret")
    ftp.storlines("STOR big.txt", _reader(text))
    assert (root / "alice" / "big.txt").read_bytes() == text
    ftp.quit()


class _DiskFillsUp:
    """A file whose writes fail with ENOSPC after ``room`` bytes, as a full disk does."""

    def __init__(self, real, room: int):
        self.real, self.room = real, room

    def write(self, data) -> int:
        if len(data) > self.room:
            raise OSError(28, "No space left on device")
        self.room -= len(data)
        return self.real.write(data)

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize("passive", [True, False], ids=["passive", "active"])
def test_failed_write_during_upload_is_452_and_the_server_goes_on(server, root, passive, monkeypatch):
    """A full disk (ENOSPC) during an upload: 452, RFC 959's "Insufficient storage space" (issue 16, point 1)."""
    from refimpl.ftp import JailedFS

    real_open_write = JailedFS.open_write_at  # each user's session has its own JailedFS: patch them all

    def filling(*a, **kw):
        f, path = real_open_write(*a, **kw)
        return _DiskFillsUp(f, 100_000), path

    monkeypatch.setattr(JailedFS, "open_write_at", filling)
    ftp = connect(server, "alice", "secret", passive=passive)
    ftp.voidcmd("TYPE I")
    conn = ftp.transfercmd("STOR full.bin")
    with contextlib.suppress(OSError):  # the server closes the data connection on the failed write
        for start in range(0, len(BIG), 65536):
            conn.sendall(BIG[start : start + 65536])
    conn.close()
    with pytest.raises(ftplib.error_temp, match="^452 .*Insufficient storage space"):
        ftp.getresp()
    assert ftp.voidcmd("NOOP").startswith("200")  # the session goes on
    monkeypatch.setattr(JailedFS, "open_write_at", real_open_write)
    assert not (root / "alice" / "full.bin").exists()  # a failed plain STOR leaves no file (our policy)
    ftp.storbinary("STOR after.bin", _reader(BIG))  # and the next upload works
    assert (root / "alice" / "after.bin").read_bytes() == BIG
    ftp.quit()
    assert " i r alice ftp 0 * i" in server.xferlog.getvalue()  # the failed one is logged incomplete


class _Owner:
    """Stands in for the control connection: records what a DataSocket reports."""

    def __init__(self):
        self.loop = asyncio.get_running_loop()
        self.got, self.sent, self.ends = bytearray(), [], 0
        self.data = None

    def data_arrived(self, data, chunk):
        self.got += chunk  # copied now: the view is reused by the next read

    def data_sent(self, data, count):
        self.sent.append(count)

    def data_ended(self, data):
        self.ends += 1
        data.close()

    def spawn(self, coro):
        return asyncio.ensure_future(coro)  # the real one also closes the connection if the task raises


def test_data_socket_receives_what_came_before_it_started_and_ends_once():
    """Active mode: the client may send (and even close) before the driver starts reading."""
    from refimpl.sockets.ftp_server import DataSocket

    async def scenario():
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.sendall(BIG[:100_000])  # what the socket buffers hold before anyone reads
        theirs.close()
        owner = _Owner()
        data = DataSocket(owner, ours)
        data.start_receiving()
        for _ in range(500):  # bounded
            if owner.ends:
                break
            await asyncio.sleep(0.01)
        return owner

    owner = asyncio.run(scenario())
    assert bytes(owner.got) == BIG[:100_000] and owner.ends == 1


def test_data_socket_sends_what_the_kernel_cannot_take_at_once():
    """A send bigger than the socket buffers finishes from a Task, then reports the whole count."""
    from refimpl.sockets.ftp_server import DataSocket

    async def scenario():
        ours, theirs = socket.socketpair()
        ours.setblocking(False)
        theirs.setblocking(False)
        owner = _Owner()
        data = DataSocket(owner, ours)
        payload = BIG * 4  # 8 MB: far more than a socketpair buffers
        data.send(payload)
        assert owner.sent == []  # not all taken at once: the rest is under way
        received = bytearray()
        for _ in range(2000):  # bounded: read slowly until everything came
            with contextlib.suppress(BlockingIOError):
                received += theirs.recv(1 << 20)
            if len(received) == len(payload):
                break
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.01)
        data.close()
        theirs.close()
        return owner, bytes(received) == payload, len(payload)

    owner, same, size = asyncio.run(scenario())
    assert same and owner.sent == [size]
