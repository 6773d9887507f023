"""The small FTP modules: replies, data-channel arguments, TYPE A, jail, users, guard, logs."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ftp import ascii as ascii_
from refimpl.ftp.commands import COMMANDS, NOT_IMPLEMENTED
from refimpl.ftp.datachannel import (
    DataChannelError,
    format_227,
    format_229,
    format_eprt,
    format_host_port,
    format_port_command,
    is_bounce,
    parse_227,
    parse_229,
    parse_eprt,
    parse_host_port,
)
from refimpl.ftp.guard import Guard
from refimpl.ftp.replies import REPLIES, Reply, format_reply
from refimpl.ftp.users import UserDB, hash_password, user_line, verify_password
from refimpl.ftp.xferlog import command_line, ctime_utc, xferlog_line
from refimpl.jail import JailedFS, JailError

# -- replies -------------------------------------------------------------------


def test_single_and_multi_line_replies():
    assert format_reply(200, "OK") == b"200 OK\r\n"
    assert format_reply(211, ["Features:", " SIZE", "End"]) == b"211-Features:\r\n SIZE\r\n211 End\r\n"
    # a middle line that looks like the end line is indented so it cannot end the reply early
    assert format_reply(214, ["Help", "214 not the end", "End"]) == b"214-Help\r\n 214 not the end\r\n214 End\r\n"
    assert Reply(550, "x").kind == "permanent negative"
    assert str(Reply(331, "pw")) == "331 pw"


def test_reply_table_covers_the_codes_used():
    for code in (
        150,
        200,
        211,
        213,
        214,
        215,
        220,
        221,
        225,
        226,
        227,
        229,
        230,
        250,
        257,
        331,
        350,
        421,
        425,
        426,
        451,
        500,
        501,
        502,
        503,
        504,
        522,
        530,
        550,
        553,
        554,
    ):
        assert code in REPLIES and REPLIES[code].rfc.startswith("RFC")


def test_command_table_is_consistent():
    from refimpl.ftp.session import ServerSession

    for verb, spec in COMMANDS.items():
        assert spec.verb == verb and hasattr(ServerSession, spec.handler)
        assert spec.arg in ("none", "required", "optional")
        assert set(spec.perm) <= set("elradfmw")
    assert not set(NOT_IMPLEMENTED) & set(COMMANDS)
    required = {
        "USER",
        "PASS",
        "QUIT",
        "NOOP",
        "SYST",
        "FEAT",
        "OPTS",
        "HELP",
        "STAT",
        "TYPE",
        "MODE",
        "STRU",
        "PWD",
        "CWD",
        "CDUP",
        "MKD",
        "RMD",
        "DELE",
        "RNFR",
        "RNTO",
        "LIST",
        "NLST",
        "MLSD",
        "MLST",
        "SIZE",
        "MDTM",
        "RETR",
        "STOR",
        "APPE",
        "REST",
        "ABOR",
        "PORT",
        "PASV",
        "EPRT",
        "EPSV",
    }
    assert required == set(COMMANDS)


# -- data channel arguments --------------------------------------------------------


def test_port_argument_examples():
    assert format_host_port("192.0.2.10", 50000) == "192,0,2,10,195,80"
    assert parse_host_port("192,0,2,10,195,80") == ("192.0.2.10", 50000)
    assert format_port_command("192.0.2.10", 1024) == "PORT 192,0,2,10,4,0"
    for bad in ("192,0,2,10,195", "192,0,2,10,195,80,1", "192,0,2,10,256,0", "a,b,c,d,e,f", ""):
        with pytest.raises(DataChannelError):
            parse_host_port(bad)


@pytest.mark.parametrize(
    "text",
    [
        "227 Entering Passive Mode (192,0,2,1,117,48).",
        "227 Entering Passive Mode 192,0,2,1,117,48",
        "227 =192,0,2,1,117,48",
        "Entering Passive Mode (192, 0, 2, 1, 117, 48)",
    ],
)
def test_parse_227_variants(text):
    assert parse_227(text) == ("192.0.2.1", 30000)


def test_parse_227_rejects_garbage():
    with pytest.raises(DataChannelError):
        parse_227("227 Entering Passive Mode")


def test_eprt_and_229():
    assert format_eprt("192.0.2.10", 50000) == "|1|192.0.2.10|50000|"
    assert format_eprt("2001:db8::1", 50000) == "|2|2001:db8::1|50000|"
    assert parse_eprt("|2|2001:DB8::1|50000|") == (2, "2001:db8::1", 50000)
    assert parse_eprt("!1!192.0.2.10!50000!") == (1, "192.0.2.10", 50000)  # any delimiter
    assert parse_eprt("|3|whatever|50000|")[0] == 3  # the server answers 522
    for bad in ("|1|192.0.2.10|", "|1|2001:db8::1|5|", "|1|192.0.2.10|0|", "x1x192.0.2.10x5x", "|1|192.0.2.10|99999|"):
        with pytest.raises(DataChannelError):
            parse_eprt(bad)
    assert format_229(30000) == "Entering Extended Passive Mode (|||30000|)"
    assert parse_229("229 Entering Extended Passive Mode (|||30000|)") == 30000
    with pytest.raises(DataChannelError):
        parse_229("229 Entering Extended Passive Mode (|1|30000|)")


@settings(max_examples=150)
@given(st.ip_addresses(v=4), st.integers(0, 65535))
def test_port_and_227_roundtrip(ip, port):
    assert parse_host_port(format_host_port(str(ip), port)) == (str(ip), port)
    assert parse_227("227 " + format_227(str(ip), port)) == (str(ip), port)


@settings(max_examples=150)
@given(st.ip_addresses(), st.integers(1, 65535))
def test_eprt_roundtrip(ip, port):
    proto, host, got = parse_eprt(format_eprt(str(ip), port))
    assert (host, got) == (str(ip), port) and proto == (1 if ip.version == 4 else 2)
    assert parse_229(format_229(port)) == port


def test_is_bounce():
    assert is_bounce("192.0.2.10", 40000, "192.0.2.10") is None
    assert is_bounce("198.51.100.1", 40000, "192.0.2.10") == "foreign address"
    assert is_bounce("192.0.2.10", 25, "192.0.2.10") == "privileged port"


# -- TYPE A -------------------------------------------------------------------------------


def test_ascii_examples():
    assert ascii_.to_network(b"a\nb\n") == b"a\r\nb\r\n"
    assert ascii_.to_network(b"a\r\nb") == b"a\r\nb"  # already CRLF: untouched
    assert ascii_.from_network(b"a\r\nb\r\n") == b"a\nb\n"
    assert ascii_.from_network(b"a\rb\r") == b"a\rb\r"  # lone CR kept


def _split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    pieces, last = [], 0
    for p in points + [len(data)]:
        pieces.append(data[last:p])
        last = p
    return pieces


text_bytes = st.lists(st.sampled_from([b"a", b"\r", b"\n", b"\r\n", b"xyz"]), max_size=30).map(b"".join)


@settings(max_examples=200)
@given(text_bytes, st.lists(st.integers(0, 200), max_size=6))
def test_ascii_chunking_does_not_matter(data, cuts):
    to_net, from_net = ascii_.ToNetwork(), ascii_.FromNetwork()
    pieces = _split(data, cuts)
    assert b"".join(to_net.convert(p) for p in pieces) == ascii_.to_network(data)
    assert b"".join(from_net.convert(p) for p in pieces) + from_net.flush() == ascii_.from_network(data)


@settings(max_examples=200)
@given(st.binary(max_size=200).map(lambda b: b.replace(b"\r", b"")))
def test_ascii_roundtrip_of_unix_text(data):
    assert ascii_.from_network(ascii_.to_network(data)) == data


# -- jail ----------------------------------------------------------------------------------


def test_resolve_never_climbs_above_root():
    r = JailedFS.resolve
    assert r("/", "..") == "/"
    assert r("/pub", "../../../etc") == "/etc"
    assert r("/pub", "/x/./y/../z") == "/x/z"
    assert r("/", "//double") == "/double"
    with pytest.raises(JailError):
        r("/", "a\x00b")


@settings(max_examples=150)
@given(st.lists(st.sampled_from(["..", ".", "a", "b", "/", "//", "../..", "c/../.."]), max_size=10))
def test_resolve_is_always_absolute_and_normal(parts):
    path = JailedFS.resolve("/a", "/".join(parts))
    assert path.startswith("/") and "/.." not in path and "//" not in path


def test_real_paths_stay_inside(tmp_path):
    (tmp_path / "root" / "d").mkdir(parents=True)
    (tmp_path / "secret").write_text("s")
    os.symlink(tmp_path / "secret", tmp_path / "root" / "out")
    os.symlink(tmp_path / "root" / "d", tmp_path / "root" / "in")
    fs = JailedFS(tmp_path / "root")
    assert fs.real("/../secret") == str(tmp_path / "root" / "secret")  # .. stops at the root
    with pytest.raises(JailError):
        fs.real("/out")
    assert fs.real("/in") == str(tmp_path / "root" / "d")
    assert fs.virtual(fs.real("/in")) == "/d"
    with pytest.raises(JailError):
        fs.rmdir("/")
    with pytest.raises(NotADirectoryError):
        JailedFS(tmp_path / "secret")


# -- users ---------------------------------------------------------------------------------


def test_password_hashes_are_salted_and_verifiable():
    a, b = hash_password("pw"), hash_password("pw")
    assert a != b and "pw" not in a
    assert verify_password("pw", a) and verify_password("pw", b)
    assert not verify_password("pW", a)
    assert not verify_password("pw", "plain-text")
    assert not verify_password("pw", "scrypt$bad")
    import hashlib

    salt = b"0123456789abcdef"
    pb = f"pbkdf2_sha256$1000${salt.hex()}${hashlib.pbkdf2_hmac('sha256', b'pw', salt, 1000).hex()}"
    assert verify_password("pw", pb) and not verify_password("px", pb)


def test_users_file_parsing_and_errors():
    text = user_line("bob", "pw", home="/srv/bob", perms="elr") + "\n# comment\n\n"
    db = UserDB.parse(text)
    assert db.users["bob"].home == "/srv/bob"
    assert db.authenticate("bob", "pw").perms == "elr"
    assert db.authenticate("bob", "no") is None
    assert db.authenticate("anonymous", "x") is None  # anonymous is off by default
    for bad, msg in [
        ("bob:real:plaintext::elr", "hash"),
        ("bob:admin:scrypt$1::elr", "kind"),
        ("bob:real:scrypt$1::elrZ", "permissions"),
        ("bob:guest:scrypt$1::elr", "maps_to"),
        ("too:few", "fields"),
    ]:
        with pytest.raises(ValueError, match=msg):
            UserDB.parse(bad)


def test_anonymous_permissions_and_upload_dir():
    db = UserDB(anonymous=True, anonymous_upload_dir="/incoming")
    acc = db.authenticate("FTP", "me@example.org")
    assert acc.kind == "anonymous" and acc.ident == "me@example.org" and not acc.may_overwrite
    assert acc.has_perm("r", "/pub/x") and not acc.has_perm("w", "/pub/x")
    assert acc.has_perm("w", "/incoming/x") and acc.has_perm("w", "/incoming")
    assert not acc.has_perm("w", "/incomingx/y")
    assert not acc.has_perm("d", "/incoming/x")
    assert acc.xferlog_mode == "a"


# -- guard -------------------------------------------------------------------------------------


def test_guard_failures_window_and_block():
    g = Guard(max_failures=3, window=10, block_time=20)
    g.login_failed("192.0.2.10", 0)
    g.login_failed("192.0.2.10", 11)  # the first one has left the window
    g.login_failed("192.0.2.10", 12)
    assert not g.is_blocked("192.0.2.10", 12)
    g.login_failed("192.0.2.10", 13)
    assert g.is_blocked("192.0.2.10", 14) and not g.is_blocked("192.0.2.11", 14)
    g.login_succeeded("alice")  # a login clears the account's record, never the address's
    assert "192.0.2.10" in g.failures
    assert g.is_blocked("192.0.2.10", 32) and not g.is_blocked("192.0.2.10", 34)
    assert "192.0.2.10" not in g.failures  # old news, forgotten


def test_guard_counts_failures_per_account_too():
    g = Guard(max_failures=3, window=10, block_time=20)
    for n, ip in enumerate(("192.0.2.10", "192.0.2.11", "192.0.2.12")):  # one guess from each of three
        g.login_failed(ip, n, account="alice")
    assert g.account_blocked("alice", 3) and not g.account_blocked("bob", 3)
    assert not g.is_blocked("192.0.2.10", 3)
    g.login_succeeded("alice")
    assert not g.account_blocked("alice", 3)


def test_guard_connections():
    g = Guard(max_per_address=2)
    assert g.connection_opened("a") and g.connection_opened("a") and not g.connection_opened("a")
    g.connection_closed("a")
    assert g.connection_opened("a")
    g.connection_closed("zzz")  # closing an unknown address is harmless
    assert "zzz" not in g.connections


# -- logs ------------------------------------------------------------------------------------------


def test_xferlog_format():
    line = xferlog_line(
        now=1_000_000_000,
        seconds=0.2,
        host="192.0.2.10",
        size=5120,
        filename="/pub/a file.txt",
        binary=True,
        direction="o",
        access_mode="a",
        username="guest@example.org",
        complete=True,
    )
    assert line == ("Sun Sep 09 01:46:40 2001 1 192.0.2.10 5120 /pub/a_file.txt b _ o a guest@example.org ftp 0 * c")
    assert len(line.split()) == 18
    assert ctime_utc(0) == "Thu Jan 01 00:00:00 1970"


def test_command_log_masks_pass():
    line = command_line(now=0, host="192.0.2.10", user="bob", command="PASS hunter2", code=230)
    assert "hunter2" not in line and line.endswith('"PASS ****" 230')


def test_unknown_user_costs_as_much_as_a_known_one():
    import time

    db = UserDB.parse(user_line("bob", "pw"))
    db.authenticate("nobody", "x")  # warm up the dummy hash

    def cost(name):
        start = time.perf_counter()
        assert db.authenticate(name, "wrong") is None
        return time.perf_counter() - start

    known = min(cost("bob") for _ in range(3))
    unknown = min(cost("nobody") for _ in range(3))
    assert unknown > known / 3  # both run scrypt; without the dummy it would be ~1000x faster


@settings(max_examples=150)
@given(
    st.integers(100, 599),
    st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30), min_size=1, max_size=6),
)
def test_reply_format_and_parser_roundtrip(code, lines):
    from refimpl.ftp.client import ReplyParser

    (parsed,) = ReplyParser().feed(format_reply(code, lines))
    assert parsed.code == code
    expected = [l if i in (0, len(lines) - 1) or not l[:3].isdigit() else " " + l for i, l in enumerate(lines)]
    assert list(parsed.lines) == expected
