"""FTP (RFC 959) as a sans-I/O core: the server session, the client, and their parts.

replies      reply codes and the multi-line reply format
commands     the command table (verb, handler, argument rule, permission, login)
datachannel  PORT/PASV/EPRT/EPSV arguments and replies; the check against the bounce attack
             (RFC 2577 §2): ports below 1024 refused as §3 suggests, foreign addresses by our policy
ascii        TYPE A line-end conversion
users        real, guest and anonymous users; salted password hashes
guard        connection and failed-login limits per address
xferlog      the command log and the xferlog transfer log
listing      LIST (ls -l) and MLSD/MLST (RFC 3659) lines
events       the effects the server and the client return to their drivers
session      the server state machine
client       the client state machine and the reply parser
describe     the label of a control line or a data transfer, for every trace and log
"""

import importlib

# Where each public name lives. The submodules load on first use (PEP 562), so
# ``from refimpl.ftp import Reply`` does not pay for the whole FTP session
# machinery. The jail every path goes through lives in :mod:`refimpl.jail`
# (TFTP shares it); it is named here too because every FTP server needs one.
_HOME = {
    "JailedFS": "refimpl.jail",
    "JailError": "refimpl.jail",
    "FTPClient": "client",
    "ReplyParser": "client",
    "Close": "events",
    "CloseData": "events",
    "DataConnect": "events",
    "DataListen": "events",
    "Log": "events",
    "Reply": "events",
    "SendData": "events",
    "SendFile": "events",
    "Wait": "events",
    "SendCommand": "events",
    "ReplyReceived": "events",
    "Done": "events",
    "Failed": "events",
    "ServerEffect": "events",
    "ClientEffect": "events",
    "Effect": "events",
    "ServerConfig": "session",
    "ServerSession": "session",
    "Account": "users",
    "User": "users",
    "UserDB": "users",
    "hash_password": "users",
    "user_line": "users",
    "verify_password": "users",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = _HOME[name]
    module = importlib.import_module(home if "." in home else f".{home}", __name__)
    value = getattr(module, name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
