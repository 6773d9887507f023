"""FTP (RFC 959) as a sans-I/O core: the server session, the client, and their parts.

    replies      reply codes and the multi-line reply format
    commands     the command table (verb, handler, argument rule, permission, login)
    datachannel  PORT/PASV/EPRT/EPSV arguments and replies; the RFC 2577 bounce check
    ascii        TYPE A line-end conversion
    jail         the chroot-like filesystem every path goes through
    users        real, guest and anonymous users; salted password hashes
    guard        connection and failed-login limits per address
    xferlog      the command log and the xferlog transfer log
    listing      LIST (ls -l) and MLSD/MLST (RFC 3659) lines
    events       the effects a session returns to its driver
    session      the server state machine
    client       the client state machine and the reply parser
"""

import importlib

# Where each public name lives. The submodules load on first use (PEP 562), so
# ``from refimpl.ftp.jail import JailedFS`` (the TFTP server's jail) does not
# pay for the whole FTP session machinery.
_HOME = {
    "FTPClient": "client", "ReplyParser": "client",
    "Close": "events", "CloseData": "events", "DataConnect": "events", "DataListen": "events", "Log": "events",
    "Reply": "events", "SendData": "events", "SendFile": "events", "Wait": "events",
    "JailedFS": "jail", "JailError": "jail",
    "ServerConfig": "session", "ServerSession": "session",
    "Account": "users", "User": "users", "UserDB": "users", "hash_password": "users", "user_line": "users",
    "verify_password": "users",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
