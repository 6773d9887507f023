"""A zone read from an RFC 1035 §5 master file.

What the parser takes (RFC 1035 §5.1, with RFC 2308 §4 for ``$TTL``):

* ``$ORIGIN name`` and ``$TTL ttl``; ``$INCLUDE`` is refused (a classroom zone
  is one file, policy);
* ``@`` for the current origin; names without a final dot are relative to it;
* a line that starts with blank space reuses the previous owner;
* TTL and class in either order, each optional (the last TTL given, else
  ``$TTL``, else the SOA minimum: RFC 1035 §5.1 / RFC 2308 §4);
* ``( ... )`` spanning lines, ``;`` comments, ``"quoted strings"`` and the
  backslash escapes ``\\X`` and ``\\DDD``;
* TTLs in seconds or with the BIND units ``1h30m`` (w d h m s);
* the types of :mod:`refimpl.dns.records`, and RFC 3597's ``TYPE99 \\# 2 abcd``.

A :class:`ZoneError` names the file's line. The zone must hold exactly one SOA,
at its origin (RFC 1035 §5.2).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from .errors import MessageError
from .message import Record
from .names import key, labels_of
from .records import RECORD_TYPES, Class, Type, decode_rdata, type_code


class ZoneError(ValueError):
    def __init__(self, line: int, reason: str):
        self.line = line
        super().__init__(f"line {line}: {reason}")


@dataclass
class Zone:
    origin: str
    records: dict[str, list[Record]] = field(default_factory=dict)  # key(owner) -> records
    names: set[str] = field(default_factory=set)  # every owner and every name above one (empty non-terminals)

    @property
    def soa(self) -> Record:
        return next(r for r in self.records[key(self.origin)] if r.type == Type.SOA)

    def add(self, record: Record) -> None:
        owner = key(record.name)
        self.records.setdefault(owner, []).append(record)
        labels = owner.split(".") if owner else []
        for i in range(len(labels) + 1):
            self.names.add(".".join(labels[i:]))

    def commit(self, changed: dict[str, list[Record]]) -> None:
        """Put the new record lists of the owners an UPDATE touched in place, all at once (RFC 2136 §3.7).

        An empty list removes the owner; the empty non-terminals are recomputed
        then (a removed name may have been the only one below another).
        """
        removed = False
        for owner, rrs in changed.items():
            if rrs:
                self.records[owner] = rrs
                labels = owner.split(".") if owner else []
                self.names.update(".".join(labels[i:]) for i in range(len(labels) + 1))
            elif self.records.pop(owner, None) is not None:
                removed = True
        if removed:
            self.names = set()
            for owner in self.records:
                labels = owner.split(".") if owner else []
                self.names.update(".".join(labels[i:]) for i in range(len(labels) + 1))

    def contains(self, name: str) -> bool:
        """Is ``name`` at or below the origin?"""
        name, origin = key(name), key(self.origin)
        return not origin or name == origin or name.endswith("." + origin)

    def lookup(self, name: str) -> list[Record]:
        return self.records.get(key(name), [])


# -- the tokenizer ------------------------------------------------------------------------
def _tokens(text: str):
    """Yield (line number, starts with blank, [tokens]) per logical line; quoted tokens keep their quotes."""
    depth, tokens, line_no, blank_start, start_line = 0, [], 0, False, 1
    for line_no, line in enumerate(text.splitlines(), 1):
        if depth == 0:
            tokens, blank_start, start_line = [], line[:1] in (" ", "\t"), line_no
        i = 0
        while i < len(line):
            char = line[i]
            if char in " \t":
                i += 1
            elif char == ";":
                break
            elif char == "(":
                depth += 1
                i += 1
            elif char == ")":
                depth -= 1
                if depth < 0:
                    raise ZoneError(line_no, "a ')' without its '('")
                i += 1
            elif char == '"':
                j = i + 1
                while j < len(line) and line[j] != '"':
                    j += 2 if line[j] == "\\" else 1
                if j >= len(line):
                    raise ZoneError(line_no, "a quoted string is not closed")
                tokens.append(line[i : j + 1])
                i = j + 1
            else:
                j = i
                while j < len(line) and line[j] not in ' \t;()"':
                    j += 2 if line[j] == "\\" else 1
                tokens.append(line[i:j])
                i = j
        if depth == 0 and tokens:
            yield start_line, blank_start, tokens
    if depth:
        raise ZoneError(line_no, "a '(' is never closed")


def ttl_value(text: str) -> int:
    """``3600`` or ``1h`` or ``1w2d`` -> seconds. Raises ValueError."""
    if text.isdigit():
        value = int(text)
    else:
        units, value, number = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}, 0, ""
        for char in text.lower():
            if char.isdigit():
                number += char
            elif char in units and number:
                value, number = value + int(number) * units[char], ""
            else:
                raise ValueError(f"bad TTL {text!r}")
        if number:
            raise ValueError(f"bad TTL {text!r}")
    if value >= 1 << 31:  # RFC 2181 §8: TTLs are 0..2^31-1
        raise ValueError(f"TTL {text} is over 2^31 - 1 (RFC 2181 §8)")
    return value


def _unquote(token: str) -> bytes:
    body = token[1:-1] if token.startswith('"') else token
    out, i = bytearray(), 0
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            digits = body[i + 1 : i + 4]
            if len(digits) == 3 and digits.isdigit():
                out.append(int(digits))
                i += 4
                continue
            out += body[i + 1].encode()
            i += 2
        else:
            out += body[i].encode()
            i += 1
    return bytes(out)


# -- the parser ---------------------------------------------------------------------------
def parse_zone(text: str, origin: str = "") -> Zone:
    """A :class:`Zone` from master-file text; ``origin`` until a ``$ORIGIN`` says otherwise."""
    origin = key(origin)
    default_ttl = last_ttl = None
    owner = None
    found: list[tuple[int, Record]] = []
    zone_origin = None

    def absolute(name: str, line: int) -> str:
        if name == "@":
            return origin
        try:
            labels_of(name)
        except MessageError as exc:
            raise ZoneError(line, f"bad name {name!r}: {exc.reason}") from None
        if name.endswith(".") and not name.endswith("\\."):
            return name[:-1]
        if origin is None:
            raise ZoneError(line, f"relative name {name!r} and no $ORIGIN")
        full = f"{name}.{origin}" if origin else name
        try:
            labels_of(full)
        except MessageError as exc:
            raise ZoneError(line, f"bad name {full!r}: {exc.reason}") from None
        return full

    for line, blank, tokens in _tokens(text):
        head = tokens[0].upper()
        if head == "$ORIGIN":
            if len(tokens) != 2:
                raise ZoneError(line, "$ORIGIN takes one name")
            origin = absolute(tokens[1], line)
            continue
        if head == "$TTL":
            try:
                default_ttl = ttl_value(tokens[1])
            except (IndexError, ValueError) as exc:
                raise ZoneError(line, f"$TTL: {exc}") from None
            continue
        if head.startswith("$"):
            raise ZoneError(line, f"{tokens[0]} is not supported (only $ORIGIN and $TTL)")
        if not blank:
            owner = absolute(tokens.pop(0), line)
        elif owner is None:
            raise ZoneError(line, "the first record has no owner")
        ttl, cls = None, Class.IN
        while tokens and (tokens[0][:1].isdigit() or tokens[0].upper() in ("IN", "CH")):
            token = tokens.pop(0)
            if token.upper() in ("IN", "CH"):
                cls = Class[token.upper()]
            else:
                try:
                    ttl = ttl_value(token)
                except ValueError as exc:
                    raise ZoneError(line, str(exc)) from None
        if not tokens:
            raise ZoneError(line, "no record type")
        try:
            rtype = type_code(tokens.pop(0))
        except ValueError as exc:
            raise ZoneError(line, str(exc)) from None
        value = _rdata(rtype, tokens, line, absolute)
        if rtype == Type.SOA and zone_origin is None:
            zone_origin = owner
        if ttl is None:
            ttl = last_ttl if default_ttl is None and last_ttl is not None else default_ttl
        if ttl is None and rtype == Type.SOA:
            ttl = value[6]  # RFC 1035 §5.1 as BIND reads it: the SOA's minimum
        if ttl is None:
            raise ZoneError(line, "no TTL and no $TTL before it")
        last_ttl = ttl
        found.append((line, Record(owner, rtype, value, ttl, cls)))
    soas = [(line, r) for line, r in found if r.type == Type.SOA]
    if len(soas) != 1:
        raise ZoneError(soas[1][0] if soas else 1, f"a zone needs exactly one SOA, found {len(soas)}")
    zone = Zone(zone_origin)
    for line, record in found:
        if not zone.contains(record.name):
            raise ZoneError(line, f"{record.name} is outside the zone {zone_origin}")
        zone.add(record)
    return zone


def _rdata(rtype: int, tokens: list[str], line: int, absolute):
    if tokens[:1] == ["\\#"]:  # RFC 3597 §5: \# length hex
        try:
            raw = bytes.fromhex("".join(tokens[2:]))
        except ValueError:
            raise ZoneError(line, "bad hex after \\#") from None
        if len(tokens) < 2 or not tokens[1].isdigit() or int(tokens[1]) != len(raw):
            raise ZoneError(line, "\\# length does not match the hex")
        if rtype in RECORD_TYPES:
            try:
                return decode_rdata(rtype, raw, 0, len(raw), "rdata")
            except MessageError as exc:
                raise ZoneError(line, str(exc)) from None
        return raw
    row = RECORD_TYPES.get(rtype)
    if row is None or rtype == Type.OPT:
        raise ZoneError(line, f"type {rtype} needs the \\# form (RFC 3597 §5)")
    values = []
    for part, kind in row.parts:
        if kind == "strings":
            if not tokens:
                raise ZoneError(line, "TXT needs at least one string")
            strings = tuple(_unquote(t) for t in tokens)
            if any(len(s) > 255 for s in strings):
                raise ZoneError(line, "a string over 255 octets (RFC 1035 §3.3)")
            values.append(strings)
            tokens = []
            continue
        if not tokens:
            raise ZoneError(line, f"{part} is missing")
        token = tokens.pop(0)
        try:
            if kind == "u16" or kind == "u32":
                number = ttl_value(token) if kind == "u32" else int(token)
                if not 0 <= number < (1 << (16 if kind == "u16" else 32)):
                    raise ValueError(f"{number} out of range")
                values.append(number)
            elif kind in ("name", "cname"):
                values.append(absolute(token, line))
            else:
                address = ipaddress.ip_address(token)
                if (address.version == 4) != (kind == "ipv4"):
                    raise ValueError(f"not an IPv{4 if kind == 'ipv4' else 6} address")
                values.append(str(address))
        except ValueError as exc:
            raise ZoneError(line, f"{part} {token!r}: {exc}") from None
    if tokens:
        raise ZoneError(line, f"unexpected {' '.join(tokens)!r} after the RDATA")
    return values[0] if len(values) == 1 else tuple(values)


def read_zone(path, origin: str = "") -> Zone:
    with open(path, encoding="utf-8") as f:
        return parse_zone(f.read(), origin)
