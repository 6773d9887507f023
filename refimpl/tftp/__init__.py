"""TFTP (RFC 1350) as a sans-I/O core: files over UDP, one block at a time.

    packets   RRQ, WRQ, DATA, ACK, ERROR and OACK: one layout table drives encode and decode
    describe  the one label of a packet, for traces and logs
    netascii  the netascii mode's line ends (CR LF, CR NUL)
    options   option negotiation: blksize, timeout, tsize (RFC 2347-2349), windowsize (RFC 7440)
    transfer  the lock-step of one transfer (or its windows, RFC 7440): timers, retransmission, dallying, TIDs
    server    requests on port 69 become transfers on ports of their own
    client    get and put
    files     the directory a server serves (on disk, or in memory for lessons)

Standard library only: importing this package never imports scapy, matplotlib
or ipywidgets.
"""

from .client import get, put
from .files import DiskFiles, MemoryFiles
from .options import OptionRefused, Settings
from .packets import (
    LAYOUTS,
    TFTP_PORT,
    Ack,
    Data,
    Error,
    ErrorCode,
    Field,
    Opcode,
    OptionAck,
    PacketError,
    Request,
    decode,
    encode,
    kind,
)
from .server import NewTransfer, ServerConfig, TftpServer
from .transfer import Note, Receiver, Send, Sender, Transfer

__all__ = [
    "LAYOUTS",
    "TFTP_PORT",
    "Ack",
    "Data",
    "DiskFiles",
    "Error",
    "ErrorCode",
    "Field",
    "MemoryFiles",
    "NewTransfer",
    "Note",
    "Opcode",
    "OptionAck",
    "OptionRefused",
    "PacketError",
    "Receiver",
    "Request",
    "Send",
    "Sender",
    "ServerConfig",
    "Settings",
    "TftpServer",
    "Transfer",
    "decode",
    "encode",
    "get",
    "kind",
    "put",
]
