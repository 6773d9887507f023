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

from .client import FTPClient, ReplyParser
from .events import Close, CloseData, DataConnect, DataListen, Log, Reply, SendData, SendFile, Wait
from .jail import JailedFS, JailError
from .session import ServerConfig, ServerSession
from .users import Account, User, UserDB, hash_password, user_line, verify_password

__all__ = [
    "Account", "FTPClient", "ReplyParser", "Close", "CloseData", "DataConnect", "DataListen", "JailError", "JailedFS", "Log",
    "Reply", "SendData", "SendFile", "ServerConfig", "ServerSession", "User", "UserDB",
    "hash_password", "user_line", "verify_password", "Wait",
]
