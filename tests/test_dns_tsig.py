"""TSIG (RFC 8945, HMAC-SHA256) in the sans-I/O cores: signing, verifying, and the attacks kept as tests.

The server core is driven with explicit ``now`` values, so the fudge window is
tested without waiting. Each attack asserts both the answer (RCODE NOTAUTH and
the TSIG error of RFC 8945 §5.2) and that the zone did not change.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from pathlib import Path

import pytest

from refimpl.dns import Class, Message, Opcode, Question, Rcode, Type, decode
from refimpl.dns.server import AuthoritativeServer, Send
from refimpl.dns.tsig import Key, TsigError, find, parse_key, sign, unsigned_form, verify
from refimpl.dns.updater import UpdateFailed, UpdateRequest, add, delete_rrset, name_not_in_use
from refimpl.dns.zone import read_zone

ZONE_FILE = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "example.zone"
SECRET = bytes(range(32))
KEY = Key("ddns-key.example.com", SECRET)
NOW = 1_800_000_000  # a fixed Unix time for the core tests


@pytest.fixture
def server():
    return AuthoritativeServer(read_zone(ZONE_FILE), keys=[KEY])


def request(name="host7.example.com", address="192.0.2.7", key=KEY, ident=100) -> UpdateRequest:
    return UpdateRequest("example.com", key, ident=ident).change(add(name, Type.A, address, 300))


def send(server, data: bytes, now=NOW) -> bytes:
    effects = [e for e in server.receive(data, ("192.0.2.1", 5300), now=now) if isinstance(e, Send)]
    assert len(effects) == 1
    return effects[0].data


def has(server, name) -> bool:
    return bool(server.zone.lookup(name))


# -- the format and the MAC ---------------------------------------------------------------
def test_parse_key_like_nsupdate_y():
    secret = base64.b64encode(SECRET).decode()
    assert parse_key(f"hmac-sha256:DDNS-key.example.com:{secret}") == KEY
    assert parse_key(f"ddns-key.example.com.:{secret}") == KEY
    for bad in ["nocolon", f"hmac-md5:k:{secret}", "k:not*base64", "k:"]:
        with pytest.raises(ValueError):
            parse_key(bad)


def test_the_tsig_record_is_the_last_additional_with_class_any_ttl_0():
    data, mac = sign(Message(id=9, questions=[Question("example.com", Type.SOA)]).encode(), KEY, now=NOW)
    msg = decode(data)
    tsig_rr = msg.additional[-1]
    assert (tsig_rr.type, tsig_rr.cls, tsig_rr.ttl, tsig_rr.name) == (Type.TSIG, Class.ANY, 0, KEY.name)
    t = find(data)
    assert (t.algorithm, t.time_signed, t.fudge, t.original_id, t.error, t.mac) == ("hmac-sha256", NOW, 300, 9, 0, mac)
    assert len(mac) == 32


def test_mac_covers_exactly_the_digest_components_of_section_4_3():
    """§4.3.2 the message without TSIG (ARCOUNT back, original ID) + §4.3.3 the variables, built here by hand."""
    plain = Message(id=0x1234, opcode=Opcode.UPDATE, questions=[Question("example.com", Type.SOA)]).encode()
    data, mac = sign(plain, KEY, now=NOW, fudge=300)
    assert unsigned_form(data, find(data)) == plain

    def wire(name):
        return b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"

    variables = (
        wire("ddns-key.example.com")  # NAME, canonical: lower case, uncompressed
        + b"\x00\xff"  # CLASS ANY
        + b"\x00\x00\x00\x00"  # TTL 0
        + wire("hmac-sha256")  # Algorithm Name
        + NOW.to_bytes(6, "big")  # Time Signed, 48 bits
        + (300).to_bytes(2, "big")  # Fudge
        + b"\x00\x00"  # Error
        + b"\x00\x00"  # Other Len (no Other Data)
    )
    assert mac == hmac.new(SECRET, plain + variables, hashlib.sha256).digest()


def test_a_response_mac_includes_the_request_mac():
    """§4.3.1: the request's MAC, with its 2-octet length, comes first in a response's digest."""
    req, req_mac = sign(Message(id=5).encode(), KEY, now=NOW)
    resp, _ = sign(Message(id=5, qr=True).encode(), KEY, now=NOW, request_mac=req_mac)
    assert verify(resp, {KEY.name: KEY}, now=NOW, request_mac=req_mac).error == TsigError.NOERROR
    assert verify(resp, {KEY.name: KEY}, now=NOW, request_mac=b"\0" * 32).error == TsigError.BADSIG
    assert verify(resp, {KEY.name: KEY}, now=NOW).error == TsigError.BADSIG  # as if it were a request


def test_original_id_survives_a_changed_message_id():
    """§4.2 Original ID: a forwarder may change the ID; the MAC is over the original one."""
    data, _ = sign(Message(id=77).encode(), KEY, now=NOW)
    rewritten = (4242).to_bytes(2, "big") + data[2:]
    assert verify(rewritten, {KEY.name: KEY}, now=NOW).error == TsigError.NOERROR


def test_fudge_window_edges():
    """§5.2.3: accepted while |now - Time Signed| <= Fudge, BADTIME beyond, in both directions."""
    data, _ = sign(Message(id=1).encode(), KEY, now=NOW, fudge=300)
    keys = {KEY.name: KEY}
    assert [verify(data, keys, now=NOW + d).error for d in (-300, 0, 300)] == [TsigError.NOERROR] * 3
    assert [verify(data, keys, now=NOW + d).error for d in (-301, 301)] == [TsigError.BADTIME] * 2


# -- the server's policy ------------------------------------------------------------------
def test_a_signed_update_is_applied_and_the_answer_is_signed(server):
    req = request()
    answer = req.check_answer(send(server, req.encode(now=NOW)), now=NOW)
    assert answer.rcode == Rcode.NOERROR and answer.questions == [Question("example.com", Type.SOA)]
    assert [r.value for r in server.zone.lookup("host7.example.com")] == ["192.0.2.7"]


def test_unsigned_update_is_refused(server):
    """Policy (RFC 2136 §3.3 "REFUSED"): only updates signed with our key."""
    answer = decode(send(server, request(key=None).encode(now=NOW)))
    assert answer.rcode == Rcode.REFUSED and not has(server, "host7.example.com")


def test_a_server_without_keys_refuses_every_update():
    bare = AuthoritativeServer(read_zone(ZONE_FILE))
    reply = send(bare, request().encode(now=NOW))
    assert decode(reply).rcode == Rcode.NOTAUTH  # it does not know the key: BADKEY
    assert find(reply).error == TsigError.BADKEY and not bare.zone.lookup("host7.example.com")
    assert decode(send(bare, request(key=None).encode(now=NOW))).rcode == Rcode.REFUSED


def test_a_signed_query_gets_a_signed_answer(server):
    data, mac = sign(Message(id=3, questions=[Question("www.example.com", Type.A)]).encode(), KEY, now=NOW)
    reply = send(server, data)
    assert decode(reply).answer[0].value == "192.0.2.80"
    assert verify(reply, {KEY.name: KEY}, now=NOW, request_mac=mac).error == TsigError.NOERROR


# -- attacks ------------------------------------------------------------------------------
def assert_rejected(server, reply: bytes, error: TsigError, signed: bool):
    answer = decode(reply)
    assert answer.rcode == Rcode.NOTAUTH
    t = find(reply)
    assert t.error == error and (len(t.mac) == 32) == signed
    assert not has(server, "host7.example.com")


def test_attack_replay_out_of_the_fudge_window(server):
    """An update captured and sent again 301 s later: BADTIME, signed, with our clock in Other Data."""
    req = request()
    data = req.encode(now=NOW)
    reply = send(server, data, now=NOW + 301)
    assert_rejected(server, reply, TsigError.BADTIME, signed=True)
    t = find(reply)
    assert int.from_bytes(t.other, "big") == NOW + 301 and t.time_signed == NOW
    with pytest.raises(UpdateFailed, match="BADTIME"):
        req.check_answer(reply, now=NOW + 301)


def test_attack_replay_of_an_older_update_inside_the_window(server):
    """§5.2.3's advice: after a newer signed message, an earlier Time Signed is BADTIME."""
    old = request(name="host7.example.com").encode(now=NOW - 10)
    send(server, request(name="other.example.com", ident=101).encode(now=NOW))
    assert_rejected(server, send(server, old), TsigError.BADTIME, signed=True)


@pytest.mark.parametrize("where", ["header id", "header flags", "zone", "update rdata", "tsig time", "tsig mac"])
def test_attack_a_flipped_byte(server, where):
    """One bit changed anywhere the MAC covers (or in the MAC itself): BADSIG, unsigned (RFC 8945 §5.3)."""
    data = bytearray(request().encode(now=NOW))
    t = find(bytes(data))
    offsets = {
        "header id": 1,
        "header flags": 3,
        "zone": 13,
        "update rdata": t.start - 1,  # the last octet of 192.0.2.7
        "tsig time": len(data) - 2 - 2 - 2 - 2 - 32 - 2 - 2 - 1,
        "tsig mac": len(data) - 6 - 5,
    }
    data[offsets[where]] ^= 0x01
    reply = send(server, bytes(data))
    if where == "header id":  # the ID is not covered (Original ID is): still authentic
        assert decode(reply).rcode == Rcode.NOERROR
        return
    if where == "tsig time":  # the MAC covers Time Signed: the check fails on the MAC, not the clock
        assert find(bytes(data)).time_signed != NOW
    assert_rejected(server, reply, TsigError.BADSIG, signed=False)


def test_attack_a_wrong_key_name(server):
    intruder = Key("other-key.example.com", SECRET)
    assert_rejected(server, send(server, request(key=intruder).encode(now=NOW)), TsigError.BADKEY, signed=False)


def test_attack_the_right_name_with_a_guessed_secret(server):
    guess = Key(KEY.name, b"\x00" * 32)
    assert_rejected(server, send(server, request(key=guess).encode(now=NOW)), TsigError.BADSIG, signed=False)


def _with_mac(data: bytes, mac: bytes) -> bytes:
    """Rebuild the TSIG record of ``data`` with another MAC (fixing MAC Size and RDLENGTH)."""
    t = find(data)
    head = data[: t.start]
    from refimpl.dns.tsig import _tsig_record

    record = _tsig_record(t.key_name, t.algorithm, t.time_signed, t.fudge, mac, t.original_id, t.error, t.other)
    return head + record


def test_attack_a_truncated_mac(server):
    """RFC 8945 §5.2 truncation rules: 16 of 32 octets our policy refuses (BADTRUNC); under 16: FORMERR."""
    data = request().encode(now=NOW)
    mac = find(data).mac
    assert_rejected(server, send(server, _with_mac(data, mac[:16])), TsigError.BADTRUNC, signed=False)
    short = decode(send(server, _with_mac(data, mac[:8])))
    assert short.rcode == Rcode.FORMERR and not has(server, "host7.example.com")
    empty = decode(send(server, _with_mac(data, b"")))
    assert empty.rcode == Rcode.FORMERR


def test_attack_an_update_for_a_name_outside_the_zone(server):
    """Properly signed, but www.example.net is not in example.com: NOTZONE (RFC 2136 §3.4.1.1), zone unchanged."""
    before = dict(server.zone.records)
    req = UpdateRequest("example.com", KEY, ident=9).change(add("www.example.net", Type.A, "192.0.2.66", 60))
    answer = req.check_answer(send(server, req.encode(now=NOW)), now=NOW)
    assert answer.rcode == Rcode.NOTZONE and server.zone.records == before


def test_attack_an_update_for_another_zone(server):
    req = UpdateRequest("example.net", KEY, ident=9).change(add("www.example.net", Type.A, "192.0.2.66", 60))
    assert req.check_answer(send(server, req.encode(now=NOW)), now=NOW).rcode == Rcode.NOTAUTH


def test_attack_a_tsig_that_is_not_last(server):
    """RFC 8945 §5.2: the TSIG must be the last record; one followed by another record: FORMERR."""
    data = request().encode(now=NOW)
    extra = (
        b"\x00" + Type.A.to_bytes(2, "big") + b"\x00\x01" + b"\x00\x00\x00\x3c" + b"\x00\x04" + bytes([192, 0, 2, 1])
    )
    arcount = int.from_bytes(data[10:12], "big") + 1
    moved = data[:10] + arcount.to_bytes(2, "big") + data[12:] + extra
    assert decode(send(server, moved)).rcode == Rcode.FORMERR and not has(server, "host7.example.com")


def test_a_signed_prerequisite_failure_is_answered_signed(server):
    """The RFC 2136 rcode travels in a signed answer the client can trust."""
    req = UpdateRequest("example.com", KEY, ident=12).require(name_not_in_use("www.example.com"))
    req.change(delete_rrset("www.example.com", Type.A))
    answer = req.check_answer(send(server, req.encode(now=NOW)), now=NOW)
    assert answer.rcode == Rcode.YXDOMAIN and has(server, "www.example.com")


def test_the_client_rejects_an_unsigned_or_forged_answer(server):
    req = request()
    data = req.encode(now=NOW)
    reply = send(server, data)
    with pytest.raises(UpdateFailed, match="not signed"):
        req.check_answer(reply[: find(reply).start][:10] + b"\x00\x00" + reply[12 : find(reply).start], now=NOW)
    forged = bytearray(reply)
    forged[3] ^= 0x05  # NOERROR -> REFUSED
    with pytest.raises(UpdateFailed, match="TSIG fails"):
        req.check_answer(bytes(forged), now=NOW)
    with pytest.raises(UpdateFailed, match="not an answer"):
        UpdateRequest("example.com", KEY, ident=999).check_answer(reply, now=NOW)


def test_parse_key_file_reads_bind_key_statements():
    """The form tsig-keygen prints (and named.conf includes); comments skipped; other algorithms refused."""
    from refimpl.dns.tsig import parse_key_file

    secret = base64.b64encode(SECRET).decode()
    text = (
        f'# made by tsig-keygen\nkey "DDNS-key.example.com" {{\n\talgorithm hmac-sha256;\n\tsecret "{secret}";\n}};\n'
    )
    assert parse_key_file(text) == [KEY]
    with pytest.raises(ValueError, match="only hmac-sha256"):
        parse_key_file(text.replace("hmac-sha256", "hmac-md5"))
    with pytest.raises(ValueError, match="no 'key"):
        parse_key_file("options { };")


def test_attack_every_single_byte_change_is_caught():
    """Each octet of a signed update changed three ways (xor 0x01, 0x80, 0xFF): the server never raises,
    and the zone changes only when the change is in the 2-octet message ID, which the MAC does not cover
    (the Original ID inside the TSIG is what §4.3.2 puts back)."""
    data = request().encode(now=NOW)
    applied = []
    for position in range(len(data)):
        for flip in (0x01, 0x80, 0xFF):
            mutated = bytearray(data)
            mutated[position] ^= flip
            fresh = AuthoritativeServer(read_zone(ZONE_FILE), keys=[KEY])
            fresh.receive(bytes(mutated), ("192.0.2.1", 5300), now=NOW)
            if has(fresh, "host7.example.com"):
                applied.append(position)
    assert sorted(set(applied)) == [0, 1]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([KEY.name, "other.example.com"]))
def test_random_tsig_rdata_never_crashes_and_never_updates(rdata, owner):
    """An UPDATE whose TSIG RDATA is random bytes: the server answers or drops, never raises, never applies."""
    plain = request(key=None).encode(now=NOW)
    name = b"".join(bytes([len(label)]) + label.encode() for label in owner.split(".")) + b"\0"
    record = name + b"\x00\xfa\x00\xff\x00\x00\x00\x00" + len(rdata).to_bytes(2, "big") + rdata
    data = plain[:10] + (1).to_bytes(2, "big") + plain[12:] + record
    fresh = AuthoritativeServer(read_zone(ZONE_FILE), keys=[KEY])
    for effect in fresh.receive(data, ("192.0.2.1", 5300), now=NOW):
        if isinstance(effect, Send):
            assert decode(effect.data).rcode in (Rcode.FORMERR, Rcode.NOTAUTH)
    assert not has(fresh, "host7.example.com")


def test_a_signed_answer_truncated_for_udp_still_fits_with_its_tsig(server):
    """40 A records do not fit in 512 octets: the answer is cut (TC) so that answer + TSIG <= 512, still signed."""
    data, mac = sign(Message(id=4, questions=[Question("many.example.com", Type.A)]).encode(), KEY, now=NOW)
    reply = send(server, data)
    assert len(reply) <= 512 and decode(reply).tc
    assert verify(reply, {KEY.name: KEY}, now=NOW, request_mac=mac).error == TsigError.NOERROR
    from refimpl.dns.tsig import record_size

    assert len(reply) - find(reply).start == record_size(KEY)
