"""The command table: every FTP verb the server knows, in one place.

Like pyftpdlib's ``proto_cmds``, each row says

* ``verb``: the command (RFC 959 §4.1, RFC 2389, RFC 2428, RFC 3659);
* ``handler``: the name of the :class:`~refimpl.ftp.session.ServerSession`
  method that carries it out;
* ``arg``: ``"none"`` (must have no argument), ``"required"`` or
  ``"optional"`` - checked *before* the handler runs, so a missing argument
  always gives ``501`` the same way;
* ``perm``: the permission letter needed (see :mod:`refimpl.ftp.users`), or
  ``""`` - checked before the handler runs too, on the path the argument
  names (``550`` without it); the handler gets that path, resolved once;
* ``auth``: whether the user must be logged in (else ``530``);
* ``help``: the syntax shown by ``HELP verb``.

Verbs of RFC 959 that this server leaves out are listed in
:data:`NOT_IMPLEMENTED` and get ``502``; anything else gets ``500``.
"""

from __future__ import annotations

from typing import NamedTuple


class CommandSpec(NamedTuple):
    verb: str
    handler: str
    arg: str  # "none" | "required" | "optional"
    perm: str
    auth: bool
    help: str
    rfc: str


def _c(verb, arg, perm, auth, help, rfc="RFC 959 §4.1"):
    return CommandSpec(verb, "ftp_" + verb, arg, perm, auth, help, rfc)


COMMANDS: dict[str, CommandSpec] = {
    spec.verb: spec
    for spec in [
        # access control (RFC 959 §4.1.1)
        _c("USER", "required", "", False, "USER <name> (set user name)"),
        _c("PASS", "optional", "", False, "PASS [<password>] (set password)"),
        _c("QUIT", "none", "", False, "QUIT (close the connection)"),
        _c("CWD", "required", "e", True, "CWD <path> (change directory)"),
        _c("CDUP", "none", "e", True, "CDUP (go to the parent directory)"),
        # transfer parameters (RFC 959 §4.1.2, RFC 2428)
        _c("PORT", "required", "", True, "PORT <h1,h2,h3,h4,p1,p2> (active mode, IPv4)"),
        _c("PASV", "none", "", True, "PASV (passive mode, IPv4)"),
        _c("EPRT", "required", "", True, "EPRT |<proto>|<address>|<port>| (active mode)", "RFC 2428 §2"),
        _c("EPSV", "optional", "", True, "EPSV [<proto> | ALL] (extended passive mode)", "RFC 2428 §3"),
        _c("TYPE", "required", "", True, "TYPE <A | I> (ASCII or binary)"),
        _c("STRU", "required", "", True, "STRU F (file structure)"),
        _c("MODE", "required", "", True, "MODE S (stream mode)"),
        # service commands (RFC 959 §4.1.3)
        _c("RETR", "required", "r", True, "RETR <file> (download)"),
        _c("STOR", "required", "w", True, "STOR <file> (upload)"),
        _c("APPE", "required", "a", True, "APPE <file> (append to a file)"),
        _c("REST", "required", "", True, "REST <offset> (restart a transfer)", "RFC 3659 §5"),
        _c("RNFR", "required", "f", True, "RNFR <path> (rename from)"),
        _c("RNTO", "required", "f", True, "RNTO <path> (rename to)"),
        _c("ABOR", "none", "", True, "ABOR (abort the transfer)"),
        _c("DELE", "required", "d", True, "DELE <file> (delete a file)"),
        _c("RMD", "required", "d", True, "RMD <dir> (remove a directory)"),
        _c("MKD", "required", "m", True, "MKD <dir> (make a directory)"),
        _c("PWD", "none", "", True, "PWD (print the current directory)"),
        _c("LIST", "optional", "l", True, "LIST [<path>] (long listing on the data connection)"),
        _c("NLST", "optional", "l", True, "NLST [<path>] (names only on the data connection)"),
        _c("SYST", "none", "", False, "SYST (system type)"),
        _c("STAT", "optional", "l", False, "STAT [<path>] (status, or a listing on the control connection)"),
        _c("HELP", "optional", "", False, "HELP [<command>]"),
        _c("NOOP", "none", "", False, "NOOP (do nothing)"),
        # extensions
        _c("FEAT", "none", "", False, "FEAT (list extensions)", "RFC 2389 §3"),
        _c("OPTS", "required", "", False, "OPTS <command> [<options>]", "RFC 2389 §4"),
        _c("SIZE", "required", "l", True, "SIZE <file> (size in bytes)", "RFC 3659 §4"),
        _c("MDTM", "required", "l", True, "MDTM <file> (modification time)", "RFC 3659 §3"),
        _c("MLSD", "optional", "l", True, "MLSD [<dir>] (machine listing on the data connection)", "RFC 3659 §7"),
        _c("MLST", "optional", "l", True, "MLST [<path>] (machine facts of one path)", "RFC 3659 §7"),
    ]
}

#: RFC 959 verbs deliberately left out: they get 502 (command not implemented).
NOT_IMPLEMENTED = ("ACCT", "SMNT", "REIN", "STOU", "ALLO", "SITE")

#: The security commands of RFC 2228 that FTPS uses (RFC 4217): 502 as well. Our policy: a teaching
#: server whose clear-text control connection is the point of lessons 05-06 (lesson 11 shows FTPS).
NO_TLS = ("AUTH", "PBSZ", "PROT", "CCC")

#: Commands that need a data connection (RFC 959 §3.2).
DATA_COMMANDS = ("RETR", "STOR", "APPE", "LIST", "NLST", "MLSD")

#: Commands that set the data connection up (RFC 959 §4.1.2, RFC 2428).
DATA_SETUP = ("PORT", "PASV", "EPRT", "EPSV")

#: Commands whose argument may start with ``ls`` options (``LIST -la /pub``), dropped before the path.
LISTINGS = ("LIST", "NLST", "STAT")

#: Sent back by FEAT (RFC 2389 §3.2), one extension a line.
FEATURES = ("EPRT", "EPSV", "MDTM", "MLST type*;size*;modify*;perm*;", "REST STREAM", "SIZE", "TVFS", "UTF8")
