"""The argument types the command-line tools share, each with an error that says what it wanted.

argparse calls a ``type=`` function on the text of one argument and stores
what it returns; when it raises :class:`argparse.ArgumentTypeError`, argparse
stops with a usage error (exit status 2) that quotes the message::

    dhcp-server: error: argument --pool: empty pool: 192.0.2.20 is after 192.0.2.10

So a mistake on the command line is caught before any socket opens, and
said in the words of the option. ``dhcp``, ``ftp`` and ``tftp`` all take
their types from here, so a port or an address is checked the same way
everywhere.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable

Wrong = argparse.ArgumentTypeError


# -- numbers -----------------------------------------------------------------------------
def _number(text: str, kind: type, fits: Callable[[float], bool], wanted: str):
    try:
        value = kind(text)
    except ValueError:
        raise Wrong(f"expected {wanted}, got {text!r}") from None
    if not fits(value):
        raise Wrong(f"expected {wanted}, got {text!r}")
    return value


def positive(kind: type = int, unit: str = "") -> Callable[[str], int | float]:
    """``type=positive(float, "seconds")``: a number above zero (a timeout, a count, a size)."""
    wanted = f"a positive number of {unit}" if unit else "a positive number"
    return lambda text: _number(text, kind, lambda value: value > 0, wanted)


def not_negative(kind: type = float, unit: str = "") -> Callable[[str], int | float]:
    """``type=not_negative(float, "seconds")``: zero or more (a delay that may be switched off)."""
    wanted = f"zero or more {unit}" if unit else "zero or more"
    return lambda text: _number(text, kind, lambda value: value >= 0, wanted)


# -- ports ---------------------------------------------------------------------------------
def port(text: str) -> int:
    """A UDP or TCP port to listen on, 0..65535 (0: let the system pick a free one)."""
    return _number(text, int, lambda value: 0 <= value <= 65535, "a port 0..65535")


def port_range(lowest: int = 1) -> Callable[[str], tuple[int, int]]:
    """``LOW-HIGH`` (tftpd-hpa writes ``LOW:HIGH``; one port alone is a range of one), ports from ``lowest``."""

    def parse(text: str) -> tuple[int, int]:
        low, sep, high = text.replace(":", "-").partition("-")
        try:
            lo, hi = int(low), int(high if sep else low)
        except ValueError:
            raise Wrong(f"expected LOW-HIGH, got {text!r}") from None
        if not lowest <= lo <= hi <= 65535:
            raise Wrong(f"need {lowest} <= LOW <= HIGH <= 65535, got {text!r}")
        return lo, hi

    return parse


def host_and_port(default_port: int) -> Callable[[str], tuple[str, int]]:
    """``HOST``, ``HOST:PORT``, ``[v6]:PORT`` or a bare IPv6 address; ``default_port`` when none is given."""

    def parse(text: str) -> tuple[str, int]:
        host, number = text, str(default_port)
        if text.startswith("["):
            host, _, rest = text[1:].partition("]")
            if rest.startswith(":"):
                number = rest[1:]
        elif text.count(":") == 1:  # more than one colon: an IPv6 address without a port
            host, number = text.split(":")
        try:
            value = int(number)
        except ValueError:
            raise Wrong(f"bad port in {text!r}") from None
        if not host or not 1 <= value <= 65535:
            raise Wrong(f"expected HOST[:PORT], got {text!r}")
        return host, value

    return parse


# -- IPv4 addresses ------------------------------------------------------------------------
def ipv4_address(text: str) -> str:
    """A dotted-quad IPv4 address, written back the usual way (``192.0.2.1``)."""
    try:
        return str(ipaddress.IPv4Address(text.strip()))
    except ValueError:
        raise Wrong(f"not an IPv4 address: {text!r}") from None


def ipv4_network(text: str) -> str:
    """A network in CIDR form (``192.0.2.0/24``); host bits are cleared (``192.0.2.1/24`` is that network too)."""
    try:
        return str(ipaddress.IPv4Network(text.strip(), strict=False))
    except ValueError:
        raise Wrong(f"not an IPv4 network (expected ADDRESS/LENGTH): {text!r}") from None


def address_pool(text: str) -> tuple[str, str]:
    """``FIRST-LAST``: the addresses a DHCP server may lease, both ends included."""
    first, sep, last = text.partition("-")
    if not sep:
        raise Wrong(f"expected FIRST-LAST, got {text!r}")
    a, b = ipv4_address(first), ipv4_address(last)
    if ipaddress.IPv4Address(a) > ipaddress.IPv4Address(b):
        raise Wrong(f"empty pool: {a} is after {b}")
    return a, b


# -- things on this machine ----------------------------------------------------------------
def network_interface(text: str) -> str:
    """The name of an interface this machine (or this network namespace) has, e.g. ``eth0``."""
    if not text or "/" in text or not os.path.exists(f"/sys/class/net/{text}"):
        raise Wrong(f"no interface {text!r}")
    return text


def existing_directory(text: str) -> str:
    """A directory that is there (the root a server serves)."""
    if not os.path.isdir(text):
        raise Wrong(f"not an existing directory: {text!r}")
    return text


def file_to_write(text: str) -> str:
    """A file we may create or append to: its directory must exist already."""
    folder = os.path.dirname(os.path.abspath(text))
    if not os.path.isdir(folder):
        raise Wrong(f"no directory {folder!r} to hold {text!r}")
    return text


def log_file(text: str) -> str:
    """Where a log goes: a file (as :func:`file_to_write`), or ``-`` for standard error."""
    return text if text == "-" else file_to_write(text)


# -- commands with subcommands -------------------------------------------------------------
def run_subcommand(commands: dict[str, Callable[[list[str]], int]], argv: list[str]) -> int:
    """``argv[0]`` names the command (``refimpl.__main__`` passes it on); run it with the rest."""
    if not argv or argv[0] not in commands:
        print(f"usage: python -m refimpl {{{'|'.join(commands)}}} ...", file=sys.stderr)
        return 2
    return commands[argv[0]](argv[1:])
