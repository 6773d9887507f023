"""An in-memory driver for ServerSession, used by the FTP tests.

It plays the part of the network: it carries out the session's effects
(DataListen -> "bound", SendData -> collect, ...) and lets a test act as the
client on both the control and the data connection.
"""

from __future__ import annotations

import os

from refimpl.ftp import (
    Close,
    CloseData,
    DataConnect,
    DataListen,
    JailedFS,
    Log,
    Reply,
    SendData,
    SendFile,
    ServerConfig,
    ServerSession,
    UserDB,
    Wait,
    user_line,
)

CLIENT = ("192.0.2.10", 50000)
SERVER = ("192.0.2.1", 21)

_USERS_TEXT = None


def users_text() -> str:
    """alice (real, password 'secret'), visitor (guest -> ftpguest); hashed once per run."""
    global _USERS_TEXT
    if _USERS_TEXT is None:
        _USERS_TEXT = "\n".join(
            [
                "# test users",
                user_line("alice", "secret", home="alice", perms="elradfmw"),
                user_line("ftpguest", "unused-guest-password", home="guest", perms="elr"),
                user_line("visitor", "visit", kind="guest", maps_to="ftpguest", perms=""),
            ]
        )
    return _USERS_TEXT


def make_tree(root) -> None:
    """A small server root: /pub, /incoming, /alice, /guest."""
    for d in ("pub", "incoming", "alice", "guest", "pub/sub"):
        os.makedirs(os.path.join(root, d), exist_ok=True)
    with open(os.path.join(root, "pub", "hello.txt"), "wb") as f:
        f.write(b"hello\nworld\n")
    with open(os.path.join(root, "pub", "data.bin"), "wb") as f:
        f.write(bytes(range(256)) * 40)  # 10240 bytes
    with open(os.path.join(root, "alice", "notes.txt"), "wb") as f:
        f.write(b"alice's notes\n")
    with open(os.path.join(root, "guest", "welcome.txt"), "wb") as f:
        f.write(b"welcome, guest\n")


def make_config(**kw) -> ServerConfig:
    users = UserDB.parse(users_text(), anonymous=True, anonymous_upload_dir="/incoming")
    kw.setdefault("chunk_size", 4096)
    kw.setdefault("failed_login_delay", 0.0)
    return ServerConfig(users=users, **kw)


class Wire:
    """A session plus a fake network. ``w.cmd("PWD")`` returns the replies."""

    def __init__(self, root, config: ServerConfig | None = None, client=CLIENT, server=SERVER):
        self.config = config or make_config()
        self.session = ServerSession(self.config, JailedFS(root), client, server, now=0.0)
        self.now = 0.0
        self.replies: list[Reply] = []
        self.logs: list[Log] = []
        self.data = bytearray()  # what the server sent on data connections
        self.connects: list[DataConnect] = []
        self.listen: DataListen | None = None
        self.data_closed = 0
        self.closed = False
        self.waits: list[float] = []
        self.greeting = self.feed(self.session.start(now=self.now))

    def feed(self, effects) -> list[Reply]:
        """Carry out effects; return the replies among them (and those they cause)."""
        out: list[Reply] = []
        queue = list(effects)
        while queue:
            e = queue.pop(0)
            if isinstance(e, Reply):
                self.replies.append(e)
                out.append(e)
            elif isinstance(e, Log):
                self.logs.append(e)
            elif isinstance(e, Wait):
                self.waits.append(e.seconds)  # no real waiting here; the held lines run after this batch
                queue += self.session.handle_timer(now=self.now)
            elif isinstance(e, DataListen):
                self.listen = e
                queue += self.session.data_listening(e.port, now=self.now)
            elif isinstance(e, DataConnect):
                self.connects.append(e)
            elif isinstance(e, SendData):
                self.data += e.data
                queue += self.session.data_sent(now=self.now)
            elif isinstance(e, SendFile):
                e.file.seek(e.offset)
                chunk = e.file.read(e.count)
                self.data += chunk
                queue += self.session.data_sent(len(chunk), now=self.now)
            elif isinstance(e, CloseData):
                self.data_closed += 1
            elif isinstance(e, Close):
                self.closed = True
        return out

    def cmd(self, line: str | bytes) -> list[Reply]:
        self.now += 1
        if isinstance(line, str):
            line = line.encode("utf-8", "surrogateescape")
        return self.feed(self.session.receive(line + b"\r\n", now=self.now))

    def code(self, line) -> int:
        return self.cmd(line)[0].code

    def login(self, user="anonymous", password="guest@example.org") -> None:
        assert self.code(f"USER {user}") == 331
        assert self.code(f"PASS {password}") == 230

    def connect_data(self, peer=None) -> list[Reply]:
        """The client's data connection arrives (passive) or ours succeeds (active)."""
        return self.feed(self.session.data_connected(peer or (CLIENT[0], 40000), now=self.now))

    def upload(self, chunks) -> list[Reply]:
        out = []
        for chunk in chunks:
            out += self.feed(self.session.data_received(chunk, now=self.now))
        out += self.feed(self.session.data_closed(now=self.now))
        return out

    def transfer(self, line: str, mode="PASV", rest=None, upload=None) -> list[Reply]:
        """Set up a data connection (PASV, EPSV or PORT), maybe REST, run ``line``; once the
        server has accepted it (1yz), connect the data connection and send ``upload`` (chunks) if given."""
        assert self.code(mode if mode != "PORT" else "PORT 192,0,2,10,156,64") in (200, 227, 229)
        if rest is not None:
            assert self.code(f"REST {rest}") == 350
        replies = self.cmd(line)
        if replies[0].code in (125, 150):
            replies += self.connect_data()
            if upload is not None:
                replies += self.upload(upload)
        return replies

    def retr(self, line: str, mode="PASV", rest=None) -> tuple[list[Reply], bytes]:
        """Run a download or listing ``line``; return (replies, the data the server sent)."""
        self.data = bytearray()
        replies = self.transfer(line, mode, rest)
        return replies, bytes(self.data)

    def stor(self, line: str, chunks, mode="PASV", rest=None) -> list[Reply]:
        """Run an upload ``line`` with ``chunks`` as the file; return the replies."""
        return self.transfer(line, mode, rest, upload=chunks)
