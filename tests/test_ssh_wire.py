"""refimpl.ssh_wire: the version line (RFC 4253 §4.2), binary packets (§6), KEXINIT (§7.1), junk raises SshError."""

from __future__ import annotations

import os
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import ssh_wire
from refimpl.ssh_wire import SshError, negotiate, parse_kexinit, parse_version, read_handshake, read_packet


def packet(payload: bytes, padding: int = 4) -> bytes:
    return struct.pack("!IB", len(payload) + padding + 1, padding) + payload + bytes(padding)


def name_list(names: list[str]) -> bytes:
    raw = ",".join(names).encode()
    return struct.pack("!I", len(raw)) + raw


def kexinit(compression: list[str]) -> bytes:
    lists = [["curve25519-sha256"], ["ssh-ed25519"], ["aes128-ctr"], ["aes128-ctr"], ["hmac-sha2-256"]]
    lists += [["hmac-sha2-256"], compression, compression, [], []]
    return b"\x14" + bytes(range(16)) + b"".join(name_list(n) for n in lists) + b"\x00" + bytes(4)


def test_version_line():
    v = parse_version(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
    assert (v.proto, v.software, v.comments) == ("2.0", "OpenSSH_9.2p1", "Debian-2")
    assert parse_version(b"SSH-2.0-billsSSH_3.6.3q3\r\n").comments == ""


@pytest.mark.parametrize(
    "line, words",
    [
        (b"SSH-2.0-x\n", "CR LF"),
        (b"HTTP/1.1 200\r\n", "starts with"),
        (b"SSH-2.0\r\n", "protoversion"),
        (b"SSH-2.0-" + b"x" * 250 + b"\r\n", "255"),
    ],
)
def test_bad_version_lines(line, words):
    with pytest.raises(SshError, match=words):
        parse_version(line)


def test_packet_fields_and_padding_rule():
    p = read_packet(packet(b"\x15"))
    assert (p.packet_length, p.padding_length, p.payload, p.name, p.size) == (6, 4, b"\x15", "NEWKEYS", 10)
    with pytest.raises(SshError, match="padding_length"):
        read_packet(packet(b"\x15", padding=3))  # RFC 4253 §6: at least four bytes of padding
    with pytest.raises(SshError, match="only"):
        read_packet(packet(b"\x15")[:-1])


def test_kexinit_lists_in_rfc_order():
    k = parse_kexinit(kexinit(["none", "zlib@openssh.com"]))
    assert k.cookie == bytes(range(16)) and not k.first_kex_packet_follows
    assert list(k.lists) == list(ssh_wire.KEXINIT_LISTS) and len(k.lists) == 10
    assert k.lists["compression_algorithms_client_to_server"] == ("none", "zlib@openssh.com")
    assert k.lists["languages_server_to_client"] == ()


def test_negotiate_takes_the_clients_first_that_the_server_has():
    assert negotiate(("none", "zlib@openssh.com", "zlib"), ("none", "zlib@openssh.com")) == "none"
    assert negotiate(("zlib@openssh.com", "zlib", "none"), ("none", "zlib@openssh.com")) == "zlib@openssh.com"
    assert negotiate(("zlib",), ("none",)) is None


def test_handshake_stops_at_newkeys_and_counts_the_rest():
    secret = os.urandom(40)
    stream = b"a banner line\r\nSSH-2.0-Test_1.0\r\n" + packet(kexinit(["none"])) + packet(b"\x15") + secret
    shake = read_handshake(stream)
    assert shake.banner == [b"a banner line\r\n"] and shake.version.software == "Test_1.0"
    assert [p.name for _, p in shake.packets] == ["KEXINIT", "NEWKEYS"]
    assert shake.encrypted_bytes == 40 and stream[shake.encrypted_from :] == secret
    assert shake.kexinit().lists["compression_algorithms_server_to_client"] == ("none",)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes_raise_only_ssh_error(data):
    for stream in (data, b"SSH-2.0-x\r\n" + data):
        try:
            shake = read_handshake(stream)
            shake.kexinit()
        except SshError:
            pass
    try:
        parse_kexinit(b"\x14" + data)
    except SshError:
        pass
