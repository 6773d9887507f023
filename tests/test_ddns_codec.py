"""Option 81, the client FQDN (RFC 4702 §2), and the DHCID record (RFC 4701 §3), rule by rule.

The DHCID digests are checked against the three examples printed in RFC 4701
§3.6, so our SHA-256 over "identifier | FQDN in canonical wire form" is the
RFC's and not merely self-consistent.
"""

from __future__ import annotations

import base64

import pytest

from refimpl.dhcp.message import Message
from refimpl.dhcp.options import ClientFqdn, decode_option, describe, encode_option, option_spec
from refimpl.dns import Class, Record, Type, decode
from refimpl.dns.message import Message as DnsMessage
from refimpl.dns.records import DhcidIdentifier, canonical_wire, dhcid_for_dhcpv4, dhcid_rdata, parse_dhcid


# -- option 81 -------------------------------------------------------------------------
def test_option_81_is_in_the_registry():
    spec = option_spec(81)
    assert (spec.name, spec.kind, spec.rfc) == ("client_fqdn", "fqdn", "RFC 4702 §2")
    assert option_spec("fqdn") is spec


def test_flags_are_the_low_four_bits_N_E_O_S():
    # RFC 4702 §2.1: "| MBZ |N|E|O|S|" - S is the least significant bit.
    assert (ClientFqdn.S, ClientFqdn.O, ClientFqdn.E, ClientFqdn.N) == (1, 2, 4, 8)
    value = decode_option(81, bytes((0b1101, 0, 0)))
    assert (value.n, value.e, value.o, value.s) == (True, True, False, True)


def test_wire_format_name_with_root_label_is_fully_qualified():
    # RFC 4702 §2.3: a fully qualified name ends with the zero-length root label.
    raw = bytes((0x05, 0, 0)) + b"\x05host7\x07example\x03com\x00"
    value = decode_option(81, raw)
    assert value == ClientFqdn(0x05, "host7.example.com.", 0, 0)
    assert value.fully_qualified and encode_option(81, value) == raw


def test_wire_format_name_without_root_label_is_partial():
    # RFC 4702 §2.3: "To send a partial name, the Domain Name field is set to the
    # DNS-encoded domain name without the terminating zero-length label."
    value = decode_option(81, bytes((0x05, 0, 0)) + b"\x05host7")
    assert value.name == "host7" and not value.fully_qualified


def test_ascii_form_when_e_is_clear():
    # RFC 4702 §2.3.1: the deprecated ASCII encoding, used when E is 0.
    value = decode_option(81, bytes((0x01, 0, 0)) + b"host7.example.com")
    assert value == ClientFqdn(0x01, "host7.example.com", 0, 0)
    assert not value.e


def test_empty_name_is_allowed():
    # A client may leave the name to the server: flags and RCODEs only.
    assert decode_option(81, bytes((0x04, 0, 0))).name == ""


def test_rcode_fields_survive_a_round_trip():
    # RFC 4702 §2.2: deprecated; a server sends 255 (our replies do, tests/test_ddns.py).
    value = ClientFqdn(0x05, "a.example.", 255, 255)
    assert decode_option(81, encode_option(81, value)) == value


@pytest.mark.parametrize(
    "raw, why",
    [
        (b"\x05\x00", "at least 3 bytes"),
        (bytes((0x05, 0, 0, 64)) + b"a" * 64, "over 63"),  # RFC 1035 §2.3.4: labels 63 octets or less
        (bytes((0x05, 0, 0)) + b"\xc0\x0c", "compression pointer"),  # RFC 4702 §2.3: no compression
        (bytes((0x05, 0, 0)) + b"\x05ab", "runs past"),
        (bytes((0x05, 0, 0)) + b"\x01a\x00\x01b", "after the root label"),
        (
            bytes((0x05, 0, 0)) + b"\x3f" + b"a" * 63 + b"\x3f" + b"b" * 63 + b"\x3f" + b"c" * 63 + b"\x3f" + b"d" * 63,
            "255",
        ),
    ],
)
def test_bad_option_81_raises_value_error(raw, why):
    with pytest.raises(ValueError, match=why):
        decode_option(81, raw)


def test_encoder_refuses_a_label_over_63_octets():
    with pytest.raises(ValueError, match="over 63"):
        encode_option(81, ClientFqdn(0x05, "a" * 64 + ".example.com."))


def test_non_utf8_bytes_in_a_label_round_trip_as_escapes():
    raw = bytes((0x05, 0, 0)) + b"\x03\xff\x00.\x00"
    value = decode_option(81, raw)
    assert value.name == "\\255\\000\\.."
    assert encode_option(81, value) == raw


def test_a_message_carries_option_81_and_show_names_the_flags():
    msg = Message.discover("02:00:00:00:00:07", xid=7)
    msg.set("client_fqdn", ClientFqdn(ClientFqdn.E | ClientFqdn.S, "host7.example.com."))
    again = Message.decode(msg.encode())
    assert again.get("client_fqdn").name == "host7.example.com."
    assert describe(81, again.get("client_fqdn")) == "flags E S, name 'host7.example.com.'"


# -- DHCID (RFC 4701) ------------------------------------------------------------------
def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def test_dhcid_type_code_is_49():
    assert Type.DHCID == 49  # RFC 4701 §3


def test_rfc_4701_example_htype_and_chaddr():
    # RFC 4701 §3.6.3: htype 1 (Ethernet), chaddr 01:02:03:04:05:06, client.example.com.
    rdata = dhcid_for_dhcpv4("client.example.com", chaddr=bytes.fromhex("010203040506"))
    assert b64(rdata) == "AAABxLmlskllE0MVjd57zHcWmEH3pCQ6VytcKD//7es/deY="


def test_rfc_4701_example_client_identifier():
    # RFC 4701 §3.6.2: client identifier option data 01:07:08:09:0a:0b:0c, chi.example.com.
    rdata = dhcid_for_dhcpv4("chi.example.com", chaddr=b"\0" * 6, client_id=bytes.fromhex("010708090a0b0c"))
    assert b64(rdata) == "AAEBOSD+XR3Os/0LozeXVqcNc7FwCfQdWL3b/NaiUDlW2No="


def test_rfc_4701_example_duid():
    # RFC 4701 §3.6.1: DUID 00:01:00:06:41:2d:f1:66:01:02:03:04:05:06, chi6.example.com.
    duid = bytes.fromhex("00010006412df166010203040506")
    assert b64(dhcid_rdata(DhcidIdentifier.DUID, duid, "chi6.example.com")) == (
        "AAIBY2/AuCccgoJbsaxcQc9TUapptP69lOjxfNuVAA2kjEA="
    )
    # the same DUID inside an RFC 4361 client identifier (type 255, IAID) gives the same DHCID
    client_id = b"\xff" + b"\0\0\0\1" + duid
    assert dhcid_for_dhcpv4("chi6.example.com", chaddr=b"\0" * 6, client_id=client_id) == dhcid_rdata(
        DhcidIdentifier.DUID, duid, "chi6.example.com"
    )


def test_digest_is_over_the_canonical_lowercase_name():
    # RFC 4701 §3.5: the FQDN "in canonical wire format"; RFC 4034 §6.2 lowercases letters.
    assert canonical_wire("Client.EXAMPLE.com.") == b"\x06client\x07example\x03com\x00"
    mac = bytes.fromhex("010203040506")
    assert dhcid_for_dhcpv4("CLIENT.example.COM", chaddr=mac) == dhcid_for_dhcpv4("client.example.com", chaddr=mac)


def test_two_clients_same_name_different_dhcid():
    a = dhcid_for_dhcpv4("host.example.com", chaddr=bytes.fromhex("020000000001"))
    b = dhcid_for_dhcpv4("host.example.com", chaddr=bytes.fromhex("020000000002"))
    assert a != b and parse_dhcid(a)[:2] == (0, 1) and len(parse_dhcid(a)[2]) == 32


def test_parse_dhcid_refuses_short_rdata():
    with pytest.raises(ValueError):
        parse_dhcid(b"\x00\x00\x01")


def test_a_dhcid_record_crosses_the_dns_codec():
    rdata = dhcid_for_dhcpv4("client.example.com", chaddr=bytes.fromhex("010203040506"))
    msg = DnsMessage(id=1, answer=[Record("client.example.com", Type.DHCID, rdata, 300, Class.IN)])
    assert decode(msg.encode()).answer[0].value == rdata
