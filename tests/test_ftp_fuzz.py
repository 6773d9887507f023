"""Bad input never breaks the server session: every line gets a reply, nothing raises."""

from __future__ import annotations

import os

import pytest
from ftp_harness import Wire, make_tree
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from refimpl.ftp.commands import COMMANDS
from refimpl.ftp.replies import REPLIES


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    path = tmp_path_factory.mktemp("ftp-fuzz")
    make_tree(path)
    return str(path)


verbs = st.sampled_from(sorted(COMMANDS) + ["XYZ", "SITE", "", "RETR\x00"])
args = st.one_of(
    st.just(""),
    st.sampled_from(
        [
            "/",
            "..",
            "../../etc/passwd",
            "/pub/hello.txt",
            "pub",
            "incoming/x",
            "-la",
            "A",
            "I",
            "S",
            "F",
            "ALL",
            "1",
            "2",
            "192,0,2,10,156,64",
            "|1|192.0.2.10|40000|",
            "|2|::1|1|",
            "999999999999999999999",
            "UTF8 ON",
            "a\x00b",
        ]
    ),
    st.text(max_size=40),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands=st.lists(st.tuples(verbs, args), max_size=15), log_in=st.booleans())
def test_random_command_sequences(root, commands, log_in):
    w = Wire(root)
    if log_in:
        w.login()
    for verb, arg in commands:
        if w.closed:
            break
        replies = w.cmd(f"{verb} {arg}".strip().replace("\r", "").replace("\n", ""))
        if not f"{verb} {arg}".strip():
            continue
        # every command gets a reply with a known code (PASV/EPSV: after the listen)
        assert replies or verb in ("PASV", "EPSV"), (verb, arg)
        for r in replies:
            assert r.code in REPLIES, r
    # whatever happened, the tree is unharmed outside /incoming (anonymous is read-only)
    assert open(os.path.join(root, "pub", "hello.txt"), "rb").read() == b"hello\nworld\n"


@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_random_bytes_on_the_control_connection(root, data):
    w = Wire(root)
    w.feed(w.session.receive(data + b"\r\n", now=1.0))  # end the garbage's last line
    if not w.closed:
        assert w.code("NOOP") == 200  # still serving
