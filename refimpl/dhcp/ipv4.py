"""IPv4 addresses as text, as 4 bytes and as integers: one home for the conversions.

DHCP carries addresses as 4 bytes in network order (RFC 2131 §2: ciaddr,
yiaddr, siaddr, giaddr; RFC 2132 for options such as 50 and 54); the course
shows them as dotted decimal text; the lease store counts them as integers,
so that a pool is a range and "is this address in my network?" is one mask.

Every conversion is strict dotted decimal - four numbers 0-255, no ``1.2.3``
shorthand, no hex - and raises ``ValueError`` otherwise. The C helpers of the
``_socket`` module do the work (``socket`` itself is slow to import).
"""

from __future__ import annotations

from _socket import AF_INET, inet_pton
from functools import lru_cache


@lru_cache(maxsize=4096)
def ip_to_bytes(text: str) -> bytes:
    """``"192.0.2.1"`` -> ``b"\\xc0\\x00\\x02\\x01"`` (strict: four decimal numbers 0-255).

    Cached: a server encodes the same few addresses over and over.
    """
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and p.isascii() and len(p) <= 3 for p in parts):
        raise ValueError(f"not an IPv4 address: {text!r}")
    return bytes(int(p) for p in parts)  # bytes() rejects numbers over 255


def ip_to_int(address: str) -> int:
    """``"192.0.2.10"`` -> ``3221225994`` (``ValueError`` if malformed or not a string).

    ``inet_pton`` is strict dotted-decimal (no ``1.2.3``, no hex, no leading
    zeros, which some tools read as octal) and, being C, about four times
    faster than splitting the string here: the server calls this for every
    message, and it was the largest cost left in the lease store's profile.
    """
    try:
        return int.from_bytes(inet_pton(AF_INET, address), "big")
    except (OSError, TypeError, ValueError):
        raise ValueError(f"not an IPv4 address: {address!r}") from None


def int_to_ip(value: int) -> str:
    """``3221225994`` -> ``"192.0.2.10"``."""
    return f"{value >> 24 & 255}.{value >> 16 & 255}.{value >> 8 & 255}.{value & 255}"


__all__ = ["int_to_ip", "ip_to_bytes", "ip_to_int"]
