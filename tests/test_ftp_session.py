"""The sans-I/O FTP server session: every command, both modes, the jail, RFC 2577."""

from __future__ import annotations

import hashlib
import inspect
import os

import pytest
from ftp_harness import CLIENT, SERVER, Wire, make_config, make_tree

from refimpl.ftp import CloseData, DataConnect, Reply, ServerConfig, ServerSession, UserDB, session
from refimpl.ftp.commands import COMMANDS, DATA_COMMANDS, NOT_IMPLEMENTED
from refimpl.ftp.datachannel import parse_227, parse_229
from refimpl.ftp.guard import Guard


@pytest.fixture
def root(tmp_path):
    make_tree(tmp_path)
    return tmp_path


@pytest.fixture
def w(root):
    return Wire(root)


@pytest.fixture
def anon(w):
    w.login()
    return w


@pytest.fixture
def alice(w):
    w.login("alice", "secret")
    return w


# -- greeting, login, logout ---------------------------------------------------


def test_greeting_is_220(w):
    assert [r.code for r in w.greeting] == [220]


def test_anonymous_login(w):
    assert w.code("USER anonymous") == 331
    assert w.code("PASS someone@example.org") == 230
    assert w.session.account.kind == "anonymous"


def test_real_user_login_and_wrong_password(w):
    assert w.code("USER alice") == 331
    assert w.code("PASS wrong") == 530
    assert w.session.account is None
    assert w.code("USER alice") == 331
    assert w.code("PASS secret") == 230
    assert w.cmd("PWD")[0].text == '"/" is the current directory.'
    # alice's root is her home: she sees notes.txt at /
    assert w.code("SIZE /notes.txt") == 550  # TYPE A still
    assert w.code("TYPE I") == 200
    assert w.cmd("SIZE /notes.txt")[0].text == str(len(b"alice's notes\n"))


def test_unknown_user_gets_the_same_331(w):
    assert w.cmd("USER nobody")[0].text == "Password required for nobody."
    assert w.code("PASS x") == 530


def test_pass_without_user_is_503(w):
    assert w.code("PASS x") == 503


def test_pass_when_logged_in_is_503(anon):
    assert anon.code("PASS again") == 503


def test_guest_is_mapped_onto_its_account(w):
    w.login("visitor", "visit")
    assert w.session.account.kind == "guest"
    assert w.session.account.perms == "elr"
    replies, data = w.retr("RETR welcome.txt")
    assert data == b"welcome, guest\r\n"
    assert w.code("MKD x") == 550  # ftpguest has no "m"


def test_anonymous_disabled(root):
    config = make_config()
    config.users.anonymous = False
    w = Wire(root, config)
    assert w.code("USER anonymous") == 331
    assert w.code("PASS a@b") == 530


def test_quit(anon):
    replies = anon.cmd("QUIT")
    assert [r.code for r in replies] == [221]
    assert anon.closed
    assert anon.session.receive(b"NOOP\r\n", now=9) == []  # a closed session ignores input


def test_three_failed_logins_close_the_connection(w):
    for _ in range(2):
        w.cmd("USER alice")
        assert w.code("PASS bad") == 530
        assert not w.closed
    w.cmd("USER alice")
    assert w.code("PASS bad") == 530
    assert w.closed


def test_failed_login_is_answered_after_a_delay(root):
    w = Wire(root, make_config(failed_login_delay=1.5))
    w.cmd("USER alice")
    effects = w.session.receive_line("PASS wrong", now=1.0)
    kinds = [type(e).__name__ for e in effects]
    assert kinds[:2] == ["Wait", "Reply"] and effects[0].seconds == 1.5
    w.cmd("USER alice")
    assert [type(e).__name__ for e in w.session.receive_line("PASS secret", now=2.0)][0] == "Reply"


def test_throttle_blocks_an_address_across_connections(root):
    config = make_config(guard=Guard(max_failures=4, window=60, block_time=30), max_login_attempts=2)
    for _ in range(2):
        w = Wire(root, config)
        for _ in range(2):
            w.cmd("USER alice")
            w.cmd("PASS bad")
        assert w.closed
        w.feed(w.session.connection_lost(now=w.now))
    blocked = Wire(root, config)
    assert [r.code for r in blocked.greeting] == [421] and blocked.closed
    # another address is not affected
    other = Wire(root, config, client=("192.0.2.11", 50000))
    assert [r.code for r in other.greeting] == [220]
    # after block_time the address may try again
    later = ServerSession(config, other.session.root_fs, CLIENT, SERVER, now=100.0)
    assert later.start(now=100.0)[0].code == 220


def test_connection_limit_per_address(root):
    config = make_config(guard=Guard(max_per_address=2))
    a, _b = Wire(root, config), Wire(root, config)
    c = Wire(root, config)
    assert [r.code for r in c.greeting] == [421] and c.closed
    a.feed(a.session.connection_lost(now=5))
    d = Wire(root, config)
    assert [r.code for r in d.greeting] == [220]


# -- the command table --------------------------------------------------------

LOGIN_NEEDED = sorted(v for v, spec in COMMANDS.items() if spec.auth)


@pytest.mark.parametrize("verb", LOGIN_NEEDED)
def test_530_before_login(w, verb):
    spec = COMMANDS[verb]
    line = verb + (" x" if spec.arg == "required" else "")
    assert w.code(line) == 530


@pytest.mark.parametrize("verb", NOT_IMPLEMENTED)
def test_502_for_left_out_commands(anon, verb):
    assert anon.code(verb + " x") == 502


def test_500_for_unknown_commands(anon):
    assert anon.code("XYZZY") == 500
    assert anon.code("RETRIEVE file") == 500


@pytest.mark.parametrize("verb", sorted(v for v, s in COMMANDS.items() if s.arg == "required"))
def test_501_missing_argument(anon, verb):
    assert anon.code(verb) == 501


@pytest.mark.parametrize("verb", sorted(v for v, s in COMMANDS.items() if s.arg == "none"))
def test_501_unexpected_argument(anon, verb):
    assert anon.code(verb + " extra") == 501


def test_commands_are_case_insensitive(anon):
    assert anon.code("noop") == 200
    assert anon.code("pWd") == 257


def test_blank_lines_are_ignored(anon):
    assert anon.feed(anon.session.receive(b"\r\n", now=1)) == []


def test_line_too_long(anon):
    replies = anon.feed(anon.session.receive(b"NOOP " + b"x" * 5000, now=1))
    assert [r.code for r in replies] == [500]
    # the tail of the long line is dropped, not run as a command of its own
    assert [r.code for r in anon.feed(anon.session.receive(b"xxDELE x\r\nPWD\r\n", now=1))] == [257]
    assert anon.code("NOOP") == 200  # the server keeps serving


def test_lines_split_across_packets(anon):
    s = anon.session
    assert anon.feed(s.receive(b"NO", now=1)) == []
    assert [r.code for r in anon.feed(s.receive(b"OP\r\nPWD\r\n", now=1))] == [200, 257]


# -- permissions: the table's perm column, checked before the handler ------------------------

PERM_VERBS = sorted(v for v, spec in COMMANDS.items() if spec.perm)
DENIED = Reply(550, "Permission denied.")


def _user_line(name: str, perms: str) -> str:
    """A users-file line with a one-round pbkdf2 hash (password "pw"): fast to make, fast to check."""
    salt = name.encode().ljust(16, b"-")
    digest = hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1)
    return f"{name}:real:pbkdf2_sha256$1${salt.hex()}${digest.hex()}::{perms}"


def _spied_session(root, monkeypatch, verb: str, perms: str):
    """A user with exactly ``perms`` logged in; ``calls`` records every run of ``verb``'s handler."""
    users = UserDB.parse(_user_line("u", perms))
    w = Wire(root, ServerConfig(users=users, failed_login_delay=0))
    w.login("u", "pw")
    calls = []
    real = session.HANDLERS[verb]

    def spy(self, *args, **kw):
        calls.append(args)
        return real(self, *args, **kw)

    monkeypatch.setitem(session.HANDLERS, verb, spy)
    if verb in DATA_COMMANDS:
        assert w.code("PASV") == 227  # so that with the letter, nothing but the handler stands in the way
    return w, calls


def _line(verb: str) -> str:
    return verb if COMMANDS[verb].arg == "none" else f"{verb} pub/hello.txt"


@pytest.mark.parametrize("verb", PERM_VERBS)
def test_without_the_letter_the_table_refuses_before_the_handler(root, monkeypatch, verb):
    letter = COMMANDS[verb].perm
    w, calls = _spied_session(root, monkeypatch, verb, "elradfmw".replace(letter, ""))
    assert w.cmd(_line(verb)) == [DENIED]  # the same reply for every verb
    assert calls == []  # the handler never ran


@pytest.mark.parametrize("verb", PERM_VERBS)
def test_with_the_letter_the_handler_runs_on_the_path_checked(root, monkeypatch, verb):
    w, calls = _spied_session(root, monkeypatch, verb, COMMANDS[verb].perm)
    assert DENIED not in w.cmd(_line(verb))
    (args,) = calls
    expected = "/" if verb == "CDUP" else "/pub/hello.txt"
    assert args[-1] == expected  # the handler gets the path, resolved once before it


def test_permissions_follow_the_path_not_the_verb(root):
    # anonymous may upload into /incoming only: the letter "w" is granted on that directory
    w = Wire(root)
    w.login()
    assert w.code("PASV") == 227 and w.cmd("STOR /pub/x.txt") == [DENIED]
    assert w.code("STOR /incoming/x.txt") == 150
    w.cmd("ABOR")
    assert w.code("CWD /pub") == 250 and w.cmd("STOR ../incoming/y.txt")[0].code == 425  # checked on /incoming


def test_stat_alone_needs_no_letter_nor_login(root, monkeypatch):
    w, _ = _spied_session(root, monkeypatch, "STAT", "")
    assert w.cmd("STAT")[0].code == 211  # the server's status (RFC 959 §4.1.3)
    assert w.cmd("STAT /pub") == [DENIED]  # a listing on the control connection


def test_no_handler_restates_a_permission_letter():
    assert inspect.getsource(ServerSession).count("has_perm(") == 1  # only _dispatch checks the table


def test_telnet_commands_before_abor_are_ignored(anon):
    assert anon.code(b"\xff\xf4\xff\xf2ABOR") == 225


# -- informational ---------------------------------------------------------------


def test_syst_noop(w):
    assert w.cmd("SYST")[0].text == "UNIX Type: L8"
    assert w.code("NOOP") == 200


def test_feat_is_multi_line(w):
    reply = w.cmd("FEAT")[0]
    raw = reply.encode()
    assert raw.startswith(b"211-Features:\r\n") and raw.endswith(b"211 End\r\n")
    assert " EPSV" in reply.lines and " SIZE" in reply.lines and " REST STREAM" in reply.lines


def test_opts(w):
    assert w.code("OPTS UTF8 ON") == 200
    assert w.code("OPTS MLST type;size;") == 200
    assert w.code("OPTS BOGUS") == 501


def test_help(w):
    reply = w.cmd("HELP")[0]
    assert reply.code == 214 and len(reply.lines) > 2 and "RETR" in " ".join(reply.lines)
    assert w.cmd("HELP retr")[0].text.startswith("Syntax: RETR")
    assert w.code("HELP BOGUS") == 501


def test_stat(w):
    assert "Not logged in" in w.cmd("STAT")[0].text
    assert w.code("STAT /pub") == 530
    w.login()
    reply = w.cmd("STAT")[0]
    assert reply.code == 211 and "Logged in as anonymous" in reply.text
    listing = w.cmd("STAT /pub")[0]
    assert listing.code == 213 and "hello.txt" in listing.text and len(listing.lines) == 5


# -- transfer parameters --------------------------------------------------------------


@pytest.mark.parametrize(
    "arg,code", [("A", 200), ("a n", 200), ("I", 200), ("L 8", 200), ("E", 504), ("A T", 504), ("Z", 501)]
)
def test_type(anon, arg, code):
    assert anon.code("TYPE " + arg) == code


@pytest.mark.parametrize("verb,ok,other", [("MODE", "S", "B"), ("STRU", "F", "R")])
def test_mode_and_stru(anon, verb, ok, other):
    assert anon.code(f"{verb} {ok}") == 200
    assert anon.code(f"{verb} {other}") == 504
    assert anon.code(f"{verb} Q") == 501


# -- directories ----------------------------------------------------------------------


def test_pwd_cwd_cdup(anon):
    assert anon.code("CWD pub") == 250
    assert anon.cmd("PWD")[0].text == '"/pub" is the current directory.'
    assert anon.code("CWD sub") == 250
    assert anon.code("CDUP") == 200
    assert anon.cmd("PWD")[0].text.startswith('"/pub"')
    assert anon.code("CWD /nonexistent") == 550
    assert anon.code("CWD hello.txt") == 550


def test_pwd_doubles_quotes(alice, root):
    os.mkdir(os.path.join(root, "alice", 'say "hi"'))
    assert alice.code('CWD say "hi"') == 250
    assert alice.cmd("PWD")[0].text == '"/say ""hi""" is the current directory.'


def test_mkd_rmd_dele_rename(alice, root):
    assert alice.cmd("MKD new")[0].text == '"/new" directory created.'
    assert os.path.isdir(os.path.join(root, "alice", "new"))
    assert alice.code("MKD new") == 550  # exists
    assert alice.code("RMD new") == 250
    assert alice.code("RMD new") == 550
    assert alice.code("RNFR notes.txt") == 350
    assert alice.code("RNTO renamed.txt") == 250
    assert os.path.exists(os.path.join(root, "alice", "renamed.txt"))
    assert alice.code("DELE renamed.txt") == 250
    assert alice.code("DELE renamed.txt") == 550
    assert alice.code("RNFR missing") == 550


def test_rnto_without_rnfr_is_503(alice):
    assert alice.code("RNTO x") == 503
    assert alice.code("RNFR notes.txt") == 350
    assert alice.code("NOOP") == 200
    assert alice.code("RNTO x") == 503  # RNTO must follow RNFR at once


def test_anonymous_is_read_only(anon, root):
    assert anon.code("MKD /pub/x") == 550
    assert anon.code("DELE /pub/hello.txt") == 550
    assert anon.code("RNFR /pub/hello.txt") == 550
    assert anon.code("RMD /pub/sub") == 550
    assert anon.code("PASV") == 227
    assert anon.code("STOR /pub/new.txt") == 550
    assert not os.path.exists(os.path.join(root, "pub", "new.txt"))


def test_anonymous_upload_directory(anon, root):
    replies = anon.stor("STOR /incoming/up.txt", [b"uploaded\r\n"])
    assert [r.code for r in replies] == [150, 226]
    assert open(os.path.join(root, "incoming", "up.txt"), "rb").read() == b"uploaded\n"
    assert anon.code("PASV") == 227
    assert anon.code("STOR /incoming/up.txt") == 553  # no overwriting
    assert anon.code("DELE /incoming/up.txt") == 550


def test_size_and_mdtm(anon, root):
    assert anon.code("SIZE /pub/hello.txt") == 550  # TYPE A
    anon.cmd("TYPE I")
    assert anon.cmd("SIZE /pub/data.bin")[0].text == "10240"
    assert anon.code("SIZE /pub") == 550
    os.utime(os.path.join(root, "pub", "hello.txt"), (0, 1_000_000_000))
    assert anon.cmd("MDTM /pub/hello.txt")[0].text == "20010909014640"
    assert anon.code("MDTM /pub/missing") == 550


# -- transfers ---------------------------------------------------------------------------


def test_data_command_without_port_or_pasv_is_425(anon):
    assert anon.code("RETR /pub/hello.txt") == 425
    assert anon.code("LIST") == 425


def test_pasv_reply_and_listen(anon):
    reply = anon.cmd("PASV")[0]
    assert reply.code == 227
    assert parse_227(reply.text) == (SERVER[0], anon.listen.port)
    lo, hi = anon.config.passive_ports
    assert lo <= anon.listen.port <= hi


def test_pasv_announces_configured_address(root):
    w = Wire(root, make_config(passive_address="203.0.113.5"))
    w.login()
    assert parse_227(w.cmd("PASV")[0].text)[0] == "203.0.113.5"


def test_epsv(anon):
    reply = anon.cmd("EPSV")[0]
    assert reply.code == 229 and parse_229(reply.text) == anon.listen.port
    assert anon.code("EPSV 1") == 229
    assert anon.code("EPSV 2") == 522  # IPv6 on an IPv4 connection
    assert anon.code("EPSV 7") == 501


def test_epsv_all_forbids_other_setups(anon):
    assert anon.code("EPSV ALL") == 200
    assert anon.code("PORT 192,0,2,10,156,64") == 503
    assert anon.code("PASV") == 503
    assert anon.code("EPRT |1|192.0.2.10|40000|") == 503
    assert anon.code("EPSV") == 229


def test_retr_passive_type_a_converts_to_crlf(anon):
    replies, data = anon.retr("RETR /pub/hello.txt")
    assert [r.code for r in replies] == [150, 226]
    assert data == b"hello\r\nworld\r\n"


def test_retr_type_i_is_untouched_and_chunked(anon, root):
    anon.cmd("TYPE I")
    replies, data = anon.retr("RETR /pub/data.bin")
    assert data == open(os.path.join(root, "pub", "data.bin"), "rb").read()
    assert replies[-1].text == "Transfer complete (10240 bytes)."


def test_retr_with_sendfile(root):
    w = Wire(root, make_config(sendfile=True))
    w.login()
    w.cmd("TYPE I")
    replies, data = w.retr("RETR /pub/data.bin", rest=10000)
    assert data == (bytes(range(256)) * 40)[10000:]
    assert replies[-1].code == 226


def test_retr_active_connects_from_port_20(anon):
    assert anon.code("PORT 192,0,2,10,156,64") == 200
    replies = anon.cmd("RETR /pub/hello.txt")
    assert replies[0].code == 150
    assert anon.connects[-1] == DataConnect("192.0.2.10", 40000, 20)
    replies = anon.connect_data()
    assert replies[-1].code == 226 and anon.data == b"hello\r\nworld\r\n"


def test_eprt_active(anon):
    assert anon.code("EPRT |1|192.0.2.10|40001|") == 200
    anon.cmd("RETR /pub/hello.txt")
    assert anon.connects[-1] == DataConnect("192.0.2.10", 40001, 20)
    assert [r.code for r in anon.cmd("ABOR")] == [426, 226]
    assert anon.code("EPRT |2|2001:db8::1|40001|") == 522
    assert anon.code("EPRT |1|not-an-ip|40001|") == 501


def test_active_connect_failure_is_425(anon):
    anon.cmd("PORT 192,0,2,10,156,64")
    anon.cmd("RETR /pub/hello.txt")
    replies = anon.feed(anon.session.data_failed("refused", now=anon.now))
    assert [r.code for r in replies] == [425]
    assert anon.code("NOOP") == 200


def test_pasv_data_connection_before_command_gives_125(anon):
    anon.cmd("PASV")
    anon.connect_data()
    replies = anon.cmd("NLST /pub")
    assert [r.code for r in replies] == [125, 226]
    assert anon.data == b"data.bin\r\nhello.txt\r\nsub\r\n"


def test_list_nlst_mlsd_mlst(anon):
    replies, data = anon.retr("LIST -la /pub")
    lines = data.decode().split("\r\n")
    assert [r.code for r in replies] == [150, 226]
    assert lines[-1] == "" and len(lines) == 4
    assert lines[1].startswith("-rw") and lines[1].endswith(" hello.txt") and " 12 " in lines[1]
    assert lines[2].startswith("d") and lines[2].endswith(" sub")
    replies, data = anon.retr("LIST /pub/hello.txt")
    assert data.decode().count("\r\n") == 1
    _, data = anon.retr("MLSD /pub")
    facts = data.decode().split("\r\n")
    assert facts[1].startswith("type=file;size=12;modify=") and facts[1].endswith("; hello.txt")
    assert facts[2].startswith("type=dir;")
    assert anon.code("PASV") == 227
    assert anon.code("MLSD /pub/hello.txt") == 501
    mlst = anon.cmd("MLST /pub/hello.txt")[0]
    assert mlst.code == 250 and mlst.lines[1].startswith(" type=file;size=12;")
    assert anon.code("MLST /nope") == 550
    assert anon.code("LIST /nope") == 550


def test_stor_type_a_converts_crlf_split_across_chunks(alice, root):
    replies = alice.stor("STOR up.txt", [b"one\r", b"\ntwo\r\nthree\r"])
    assert [r.code for r in replies] == [150, 226]
    assert open(os.path.join(root, "alice", "up.txt"), "rb").read() == b"one\ntwo\nthree\r"


def test_stor_type_i_and_appe(alice, root):
    alice.cmd("TYPE I")
    alice.stor("STOR bin", [b"\r\n\x00\xff", b"abc"])
    assert open(os.path.join(root, "alice", "bin"), "rb").read() == b"\r\n\x00\xffabc"
    replies = alice.stor("APPE bin", [b"++"])
    assert replies[-1].code == 226
    assert open(os.path.join(root, "alice", "bin"), "rb").read() == b"\r\n\x00\xffabc++"


def test_rest_survives_pasv_and_is_used_once(anon):
    anon.cmd("TYPE I")
    assert anon.code("REST 10200") == 350
    _, data = anon.retr("RETR /pub/data.bin")  # PASV in between, as clients do
    assert len(data) == 40
    _, data = anon.retr("RETR /pub/data.bin")
    assert len(data) == 10240


def test_rest_resumes_retr(anon):
    anon.cmd("TYPE I")
    _, data = anon.retr("RETR /pub/data.bin", rest=10000)
    assert data == (bytes(range(256)) * 40)[10000:]
    # REST applies to one transfer only
    _, data = anon.retr("RETR /pub/data.bin")
    assert len(data) == 10240


def test_rest_beyond_end_and_bad_rest(anon):
    assert anon.code("REST abc") == 501
    assert anon.code("REST -5") == 501
    anon.cmd("TYPE I")
    anon.cmd("PASV")
    anon.cmd("REST 999999")
    assert anon.code("RETR /pub/data.bin") == 554


def test_rest_resumes_stor(alice, root):
    alice.cmd("TYPE I")
    path = os.path.join(root, "alice", "big")
    with open(path, "wb") as f:
        f.write(b"0123456789XXXX")  # the first 10 bytes arrived before a break
    replies = alice.stor("STOR big", [b"abcdef"], rest=10)
    assert replies[-1].code == 226
    assert open(path, "rb").read() == b"0123456789abcdef"
    assert alice.code("PASV") == 227
    alice.cmd("REST 5")
    assert alice.code("APPE big") == 550


def test_abor_during_transfer(anon):
    anon.cmd("TYPE I")
    anon.cmd("PASV")
    anon.cmd("RETR /pub/data.bin")
    # deliver the first chunk by hand, then abort before asking for more
    first = anon.session.data_connected((CLIENT[0], 40000), now=anon.now)
    assert first[0].data[:4] == b"\x00\x01\x02\x03"
    replies = anon.cmd("ABOR")
    assert [r.code for r in replies] == [426, 226]
    assert anon.data_closed >= 1
    assert anon.session.data_sent(now=anon.now) == []  # nothing more is sent
    xfer = [l.line for l in anon.logs if l.channel == "xferlog"]
    assert xfer and xfer[-1].endswith(" i")  # incomplete
    assert anon.code("NOOP") == 200


def test_abor_without_transfer(anon):
    assert anon.cmd("ABOR")[0].code == 225
    anon.cmd("PASV")
    replies = anon.cmd("ABOR")
    assert [r.code for r in replies] == [225] and anon.data_closed == 1


def test_client_closing_data_early_is_426(anon):
    anon.cmd("TYPE I")
    anon.cmd("PASV")
    anon.cmd("RETR /pub/data.bin")
    anon.session.data_connected((CLIENT[0], 40000), now=anon.now)
    replies = anon.feed(anon.session.data_closed(now=anon.now))
    assert [r.code for r in replies] == [426]


def test_commands_during_a_transfer(anon):
    anon.cmd("PASV")
    anon.cmd("RETR /pub/hello.txt")
    assert anon.code("NOOP") == 200
    assert anon.code("PASV") == 425
    assert anon.code("RETR /pub/hello.txt") == 425


# -- RFC 2577: no bounce --------------------------------------------------------------


def test_port_to_a_third_party_is_refused(anon):
    reply = anon.cmd("PORT 198,51,100,7,156,64")[0]
    # issue 14: refusing another host is our policy; RFC 2577 §3 asks only about ports below 1024
    assert reply.code == 500 and "policy" in reply.text and "RFC 2577" not in reply.text
    assert anon.code("EPRT |1|198.51.100.7|40000|") == 500
    assert anon.code("RETR /pub/hello.txt") == 425  # no data target was set
    assert anon.connects == []


def test_port_to_a_privileged_port_is_refused(anon):
    reply = anon.cmd("PORT 192,0,2,10,0,25")[0]
    assert reply.code == 504 and "RFC 2577 §3" in reply.text  # the rule and the reply §3 suggests
    assert anon.code("EPRT |1|192.0.2.10|25|") == 504
    assert anon.code("PORT 192,0,2,10,3,255") == 504  # 1023
    assert anon.code("PORT 192,0,2,10,4,0") == 200  # 1024


def test_bounce_checks_can_be_relaxed(root):
    w = Wire(root, make_config(permit_foreign_addresses=True, permit_privileged_ports=True))
    w.login()
    assert w.code("PORT 198,51,100,7,0,25") == 200


def test_port_syntax_errors(anon):
    for arg in ("1,2,3", "192,0,2,10,300,1", "a,b,c,d,e,f", "192,0,2,10,156"):
        assert anon.code("PORT " + arg) == 501
    assert anon.code("EPRT garbage") == 501
    assert anon.code("EPRT |3|x|1|") == 522


def test_passive_connection_from_a_foreign_address_is_refused(anon):
    anon.cmd("PASV")
    anon.cmd("RETR /pub/hello.txt")
    effects = anon.session.data_connected(("203.0.113.66", 40000), now=anon.now)
    assert isinstance(effects[0], CloseData)
    assert [e.code for e in effects if isinstance(e, Reply)] == [425]
    assert anon.data == b""


# -- the jail ----------------------------------------------------------------------------


def test_cdup_at_root_stays_at_root(anon):
    anon.cmd("CWD ..")
    anon.cmd("CWD ../../..")
    assert anon.cmd("PWD")[0].text.startswith('"/"')


@pytest.mark.parametrize(
    "path", ["../../../../etc/passwd", "/etc/passwd", "/../../etc/passwd", "pub/../../alice/../../etc/hostname"]
)
def test_dotdot_and_absolute_paths_stay_inside(alice, path):
    alice.cmd("PASV")
    assert alice.code("RETR " + path) == 550


def test_alice_cannot_reach_other_homes(alice):
    assert alice.code("CWD ../guest") == 550
    assert alice.code("CWD /pub") == 550


def test_symlink_out_of_root_is_refused(alice, root, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "secret.txt").write_bytes(b"top secret\n")
    os.symlink(outside, os.path.join(root, "alice", "escape"))
    os.symlink(outside / "secret.txt", os.path.join(root, "alice", "secret-link"))
    alice.cmd("TYPE I")
    assert alice.code("CWD escape") == 550
    assert alice.code("SIZE secret-link") == 550
    alice.cmd("PASV")
    assert alice.code("RETR escape/secret.txt") == 550
    assert alice.code("RETR secret-link") == 550
    assert alice.code("STOR escape/planted.txt") == 550
    assert not (outside / "planted.txt").exists()
    # DELE and RNFR act on the link itself, never on its target outside
    assert alice.code("RNFR secret-link") == 350
    assert alice.code("RNTO /renamed-link") == 250
    assert alice.code("DELE renamed-link") == 250
    assert (outside / "secret.txt").read_bytes() == b"top secret\n"
    assert not os.path.lexists(os.path.join(root, "alice", "renamed-link"))
    assert alice.code("RNFR notes.txt") == 350
    assert alice.code("RNTO escape/stolen.txt") == 550  # the parent is outside
    assert not (outside / "stolen.txt").exists()


def test_symlink_inside_root_is_followed(alice, root):
    os.symlink(os.path.join(root, "alice", "notes.txt"), os.path.join(root, "alice", "link"))
    alice.cmd("TYPE I")
    assert alice.cmd("SIZE link")[0].text == str(len(b"alice's notes\n"))
    assert alice.code("DELE link") == 250  # removes the link ...
    assert os.path.exists(os.path.join(root, "alice", "notes.txt"))  # ... not the file


def test_cannot_remove_or_rename_the_root(alice):
    assert alice.code("RMD /") == 550
    assert alice.code("RNFR /") == 550
    assert alice.code("DELE /") == 550


def test_nul_byte_in_path_is_refused(alice, root):
    assert alice.code(b"CWD pub\x00/../..") == 550
    assert alice.code(b"MKD evil\x00name") == 550
    assert not any("evil" in n for n in os.listdir(os.path.join(root, "alice")))


# -- logs -------------------------------------------------------------------------------------


def test_command_log_hides_passwords(w):
    w.login("alice", "secret")
    lines = [l.line for l in w.logs if l.channel == "command"]
    assert any('"PASS ****" 230' in l for l in lines)
    assert not any("secret" in l for l in lines)
    assert lines[0].endswith('192.0.2.10 alice "USER alice" 331')
    w.cmd("EPSV")
    w.cmd("PASV")
    lines = [l.line for l in w.logs if l.channel == "command"]
    assert lines[-2].endswith('"EPSV" 229') and lines[-1].endswith('"PASV" 227')


def _command_lines(w):
    return [l.line.split('"', 1)[1] for l in w.logs if l.channel == "command"]


def test_command_log_records_the_final_reply_of_a_transfer(anon):
    # RFC 959 §4.2: 150 is only preliminary; the log line waits for 226
    replies = anon.cmd("PASV") + anon.cmd("RETR /pub/hello.txt")
    assert replies[-1].code == 150 and not any("RETR" in l for l in _command_lines(anon))
    anon.connect_data()
    assert _command_lines(anon)[-1] == 'RETR /pub/hello.txt" 226'
    assert _command_lines(anon).count('RETR /pub/hello.txt" 226') == 1


def test_command_log_of_failed_and_aborted_transfers(anon):
    anon.cmd("PORT 192,0,2,10,156,64")
    anon.cmd("RETR /pub/hello.txt")
    anon.feed(anon.session.data_failed("refused", now=anon.now))
    assert _command_lines(anon)[-1] == 'RETR /pub/hello.txt" 425'
    anon.cmd("PASV")
    anon.cmd("LIST /pub")
    assert [r.code for r in anon.cmd("ABOR")] == [426, 226]
    assert _command_lines(anon)[-2:] == ['LIST /pub" 426', 'ABOR" 226']  # each its own final reply
    anon.cmd("PASV")
    anon.cmd("NLST /pub")
    anon.cmd("NOOP")  # a command during the wait is logged with its own reply
    anon.cmd("QUIT")  # the transfer never got a final reply: "-"
    assert _command_lines(anon)[-3:] == ['NOOP" 200', 'NLST /pub" -', 'QUIT" 221']


def test_xferlog_lines(anon, root):
    anon.cmd("TYPE I")
    anon.retr("RETR /pub/data.bin")
    anon.stor("STOR /incoming/x.bin", [b"12345"])
    xfer = [l.line.split() for l in anon.logs if l.channel == "xferlog"]
    assert len(xfer) == 2
    out, inc = xfer
    # time (5 words), seconds, host, size, name, type, action, direction, mode, user, service, auth, id, status
    assert out[6:] == [
        "192.0.2.10",
        "10240",
        "/pub/data.bin",
        "b",
        "_",
        "o",
        "a",
        "guest@example.org",
        "ftp",
        "0",
        "*",
        "c",
    ]
    assert inc[6:10] == ["192.0.2.10", "5", "/incoming/x.bin", "b"] and inc[11] == "i"
    assert "LIST" not in " ".join(" ".join(x) for x in xfer)  # listings are not file transfers


def test_reply_effects_in_order_for_active_retr(anon):
    anon.cmd("PORT 192,0,2,10,156,64")
    effects = anon.session.receive_line("RETR /pub/hello.txt", now=anon.now)
    kinds = [type(e).__name__ for e in effects]
    assert kinds[:2] == ["Reply", "DataConnect"]  # 150 goes out before we connect


def test_nlst_missing_is_550(anon):
    anon.cmd("PASV")
    assert anon.code("NLST /nope") == 550


def test_ipv6_session_uses_epsv_and_eprt(root):
    w = Wire(root, client=("2001:db8::10", 50000), server=("2001:db8::1", 21))
    w.login()
    assert w.code("PASV") == 522  # 227 cannot carry an IPv6 address
    assert w.code("PORT 192,0,2,10,156,64") == 522
    assert w.code("EPSV 1") == 522
    reply = w.cmd("EPSV")[0]
    assert reply.code == 229 and w.listen.ip == "2001:db8::1"
    assert w.code("EPRT |1|192.0.2.10|40000|") == 522
    assert w.code("EPRT |2|2001:db8::99|40000|") == 500  # not the client's address
    assert w.code("EPRT |2|2001:db8::10|40000|") == 200
    w.cmd("RETR /pub/hello.txt")
    assert w.connects[-1] == DataConnect("2001:db8::10", 40000, 20)


def test_ipv4_mapped_client_address_counts_as_ipv4(root):
    w = Wire(root, client=("::ffff:192.0.2.10", 50000), server=("::ffff:192.0.2.1", 21))
    w.login()
    assert w.code("PORT 192,0,2,10,156,64") == 200
    assert parse_227(w.cmd("PASV")[0].text)[0] == "192.0.2.1"


def test_the_address_check_is_labelled_policy_not_rfc_2577_section_3():
    """Issue 14: RFC 2577 §3 suggests refusing ports below 1024 (reply 504); refusing another host's
    address is server practice (vsftpd, pyftpdlib). The code's own words must keep the two apart."""
    from refimpl.ftp import scenarios

    active = " ".join(inspect.getdoc(ServerSession._active).split())
    assert "our policy" in active and "RFC 2577 §3 does not ask for it" in active
    assert "the suggested response is 504" in active
    config_source = inspect.getsource(ServerConfig)
    assert "# RFC 2577 §3: keep False" not in config_source and "our policy" in config_source
    for text in (scenarios.__doc__, scenarios.bounce.__doc__, scenarios.through_nat.__doc__):
        flat = " ".join(text.split())
        assert "refused per RFC 2577 §3" not in flat and "RFC 2577 §3: the address must" not in flat
        assert "(RFC 2577 §3). Passive" not in flat
    assert "policy" in " ".join(scenarios.bounce.__doc__.split())
