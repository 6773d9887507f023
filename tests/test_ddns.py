"""DDNS from the DHCP server (refimpl.dhcp.ddns, refimpl.dhcp.ddns_exchange), rule by rule.

A real DHCP core leases addresses; the UPDATEs go, signed, to our own
authoritative DNS core for example.com and 2.0.192.in-addr.arpa, in process
(tests/ddns_helpers.py). The interop tests with real clients and BIND are in
tests/test_ddns_interop.py.
"""

from __future__ import annotations

import pytest

from refimpl.dhcp.ddns import DnsUpdate, check_name, default_reverse_zone, reply_fqdn
from refimpl.dhcp.ddns_exchange import ADD, REMOVE, Exchange, reverse_name, run
from refimpl.dhcp.delivery import Outgoing
from refimpl.dhcp.options import ClientFqdn
from refimpl.dns import Class, Rcode, Type
from refimpl.dns.records import dhcid_for_dhcpv4
from refimpl.dns.updater import UpdateRequest, add
from tests.ddns_helpers import KEY, NOW, Dns, apply, ddns_server, lease, release

MAC7, MAC8 = "02:00:00:00:00:07", "02:00:00:00:00:08"
S, O, E, N = ClientFqdn.S, ClientFqdn.O, ClientFqdn.E, ClientFqdn.N


def records(dns: Dns, name: str) -> dict:
    return {t: dns.values(name, t) for t in (Type.A, Type.PTR, Type.DHCID) if dns.values(name, t)}


# -- adding: RFC 4703 §5.3 and §5.4 ------------------------------------------------
def test_ack_with_hostname_adds_a_ptr_and_dhcid():
    ddns, dns = ddns_server(), Dns()
    ack, updates, _ = lease(ddns, MAC7, hostname="host7")
    assert apply(dns, updates) == ["added"]
    dhcid = dhcid_for_dhcpv4("host7.example.com", chaddr=bytes.fromhex("020000000007"))
    assert records(dns, "host7.example.com") == {Type.A: [ack.yiaddr], Type.DHCID: [dhcid]}
    assert records(dns, reverse_name(ack.yiaddr)) == {Type.PTR: ["host7.example.com"], Type.DHCID: [dhcid]}


def test_first_update_requires_the_name_not_in_use():
    # RFC 4703 §5.3.1: the first UPDATE's prerequisite is that the name does not exist
    # (RFC 2136 §2.4.5: CLASS NONE, TYPE ANY), and it adds the A and the DHCID.
    ddns = ddns_server()
    _, updates, _ = lease(ddns, MAC7, hostname="host7")
    request = updates[0].exchange.start()
    (pre,) = request.prerequisites
    assert (pre.name, pre.type, pre.cls) == ("host7.example.com", Type.ANY, Class.NONE)
    assert [(r.type, r.cls) for r in request.updates] == [(Type.A, Class.IN), (Type.DHCID, Class.IN)]
    assert request.key == KEY  # signed with TSIG


def test_updates_come_after_the_ack():
    # Policy: the driver sends the reply first; DNS never delays the DHCPACK.
    _, _, effects = lease(ddns_server(), MAC7, hostname="host7")
    kinds = [type(e) for e in effects if isinstance(e, (Outgoing, DnsUpdate))]
    assert kinds == [Outgoing, DnsUpdate]


def test_same_client_again_yxdomain_then_dhcid_matches():
    # RFC 4703 §5.3.2: the name exists (YXDOMAIN); the second UPDATE requires our DHCID.
    dns = Dns()
    first = ddns_server()
    _, updates, _ = lease(first, MAC7, hostname="host7")
    apply(dns, updates)
    second = ddns_server()  # a server that lost its memory (restarted): the DNS remembers
    ack, updates, _ = lease(second, MAC7, hostname="host7")
    assert apply(dns, updates) == ["added"]
    assert updates[0].exchange.steps == ["add-new: YXDOMAIN", "add-ours: NOERROR", "reverse: NOERROR"]
    assert dns.values("host7.example.com", Type.A) == [ack.yiaddr]


def test_attack_another_client_asks_for_a_taken_name_first_owner_keeps_it():
    # RFC 4703 §5.3.2: the DHCID prerequisite fails (NXRRSET): the name is another client's.
    ddns, dns = ddns_server(), Dns()
    ack7, updates, _ = lease(ddns, MAC7, hostname="host7")
    apply(dns, updates)
    ack8, updates, _ = lease(ddns, MAC8, hostname="host7")
    assert apply(dns, updates) == ["conflict"]
    assert updates[0].exchange.steps == ["add-new: YXDOMAIN", "add-ours: NXRRSET"]
    assert dns.values("host7.example.com", Type.A) == [ack7.yiaddr]
    assert dns.values(reverse_name(ack8.yiaddr), Type.PTR) == []  # no PTR for the loser (policy)


def test_attack_a_static_name_is_never_taken():
    # www.example.com is in the zone file with no DHCID: the second step fails too.
    ddns, dns = ddns_server(), Dns()
    _, updates, _ = lease(ddns, MAC7, hostname="www")
    assert apply(dns, updates) == ["conflict"]
    assert dns.values("www.example.com", Type.A) == ["192.0.2.80"]


def test_attack_conflict_loser_release_leaves_the_owner_alone():
    ddns, dns = ddns_server(), Dns()
    ack7, updates, _ = lease(ddns, MAC7, hostname="host7")
    apply(dns, updates)
    ack8, updates, _ = lease(ddns, MAC8, hostname="host7")
    apply(dns, updates)
    assert apply(dns, release(ddns, MAC8, ack8.yiaddr)) == ["removed"]
    assert dns.values("host7.example.com", Type.A) == [ack7.yiaddr]
    assert dns.values(reverse_name(ack7.yiaddr), Type.PTR) == ["host7.example.com"]


# -- removing: RFC 4703 §5.5 -------------------------------------------------------
def test_release_removes_a_ptr_and_dhcid():
    ddns, dns = ddns_server(), Dns()
    ack, updates, _ = lease(ddns, MAC7, hostname="host7")
    apply(dns, updates)
    removal = release(ddns, MAC7, ack.yiaddr)
    assert apply(dns, removal) == ["removed"]
    assert removal[0].exchange.steps == ["remove-a: NOERROR", "remove-dhcid: NOERROR", "reverse: NOERROR"]
    assert records(dns, "host7.example.com") == {} and records(dns, reverse_name(ack.yiaddr)) == {}


def test_removal_requires_our_dhcid():
    ddns = ddns_server()
    ack, updates, _ = lease(ddns, MAC7, hostname="host7")
    (pre,) = release(ddns, MAC7, ack.yiaddr)[0].exchange.start().prerequisites
    assert (pre.type, pre.cls, pre.value) == (Type.DHCID, Class.IN, updates[0].exchange.dhcid)


def test_release_of_a_lease_we_did_not_name_does_nothing():
    ddns = ddns_server()
    ack, _, _ = lease(ddns, MAC7)  # no name: no update
    assert release(ddns, MAC7, ack.yiaddr) == []


def test_a_forged_release_for_another_address_removes_nothing():
    ddns = ddns_server()
    ack, _, _ = lease(ddns, MAC7, hostname="host7")
    assert release(ddns, MAC7, "192.0.2.150") == []
    assert release(ddns, MAC8, ack.yiaddr) == []  # another client's MAC: the core keeps the lease


def test_expiry_removes_the_records():
    ddns, dns = ddns_server(), Dns()
    ack, updates, _ = lease(ddns, MAC7, hostname="host7")
    apply(dns, updates)
    lease_time = ack.get("lease_time")
    assert ddns.get_timer() == NOW + lease_time
    assert ddns.handle_timer(now=NOW + lease_time - 1) == []
    effects = ddns.handle_timer(now=NOW + lease_time)
    assert apply(dns, [e for e in effects if isinstance(e, DnsUpdate)]) == ["removed"]
    assert records(dns, "host7.example.com") == {} and ddns.get_timer() is None


def test_renewal_sends_no_update_and_moves_the_expiry():
    ddns = ddns_server()
    ack, _, _ = lease(ddns, MAC7, hostname="host7")
    again, updates, _ = lease(ddns, MAC7, hostname="host7", now=NOW + 100)
    assert updates == [] and again.yiaddr == ack.yiaddr
    assert ddns.get_timer() == NOW + 100 + ack.get("lease_time")


def test_new_name_removes_the_old_one_first():
    ddns, dns = ddns_server(), Dns()
    _, updates, _ = lease(ddns, MAC7, hostname="host7")
    apply(dns, updates)
    _, updates, _ = lease(ddns, MAC7, hostname="laptop7", now=NOW + 10)
    assert [u.exchange.action for u in updates] == [REMOVE, ADD]
    assert apply(dns, updates) == ["removed", "added"]
    assert records(dns, "host7.example.com") == {} and dns.values("laptop7.example.com", Type.A)


# -- option 81 in and out: RFC 4702 §2.1, §4 ---------------------------------------
def test_client_asks_s_server_answers_s_with_rcodes_255():
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(E | S, "host7.example.com."))
    assert ack.get("client_fqdn") == ClientFqdn(E | S, "host7.example.com.", 255, 255)  # RFC 4702 §2.2
    assert len(updates) == 1


def test_client_clears_s_server_overrides_with_o():
    # Policy (the module docstring): we always do the A update unless N; O says we overrode.
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(E, "host7"))
    assert ack.get("client_fqdn").flags == E | S | O
    assert ack.get("client_fqdn").name == "host7.example.com."  # partial name completed, fully qualified
    assert updates[0].exchange.forward


def test_client_sets_n_no_update_and_n_in_the_reply():
    # RFC 4702 §2.1: "A server sets the "N" bit to indicate whether the server SHALL (0) or
    # SHALL NOT (1) perform DNS updates." We honour the client's N (policy).
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(E | N, "host7.example.com."))
    reply = ack.get("client_fqdn")
    assert updates == [] and (reply.n, reply.s, reply.o) == (True, False, False)


def test_the_offer_carries_option_81_too_but_only_the_ack_updates():
    from refimpl.dhcp.message import Message

    ddns = ddns_server()
    discover = Message.discover(MAC7, 1)
    discover.set("client_fqdn", ClientFqdn(E | S, "host7"))
    effects = ddns.receive(discover, now=NOW)
    offer = next(e.message for e in effects if isinstance(e, Outgoing))
    assert offer.get("client_fqdn").s and not any(isinstance(e, DnsUpdate) for e in effects)


def test_no_option_81_in_the_reply_when_the_client_sent_none():
    ack, _, _ = lease(ddns_server(), MAC7, hostname="host7")
    assert ack.get("client_fqdn") is None


def test_ascii_encoded_name_e_0_gets_an_e_0_answer():
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(S, "host7.example.com."))
    assert ack.get("client_fqdn").flags == S and updates


def test_option_81_wins_over_option_12():
    _, updates, _ = lease(ddns_server(), MAC7, hostname="other", fqdn=ClientFqdn(E | S, "host7"))
    assert updates[0].exchange.fqdn == "host7.example.com"


def test_reply_fqdn_flags():
    # RFC 4702 §2.1: "A server MUST set this bit [O] to 1 if the "S" bit in its reply to the
    # client does not match the "S" bit received from the client." and "If the "N" bit is 1,
    # the "S" bit MUST be 0."
    assert reply_fqdn(ClientFqdn(E | S, "a"), "a.example.com", updated=True).flags == E | S
    assert reply_fqdn(ClientFqdn(0, "a"), "a.example.com", updated=True).flags == S | O
    assert reply_fqdn(ClientFqdn(E, "a"), "a.example.com", updated=False).flags == E | N
    assert reply_fqdn(ClientFqdn(E | S, "a"), "", updated=False).flags == E | N | O  # we said no to S=1


def test_refused_name_with_s_set_answers_n_and_o():
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(E | S, "evil.example.org."))
    reply = ack.get("client_fqdn")
    assert updates == [] and (reply.n, reply.s, reply.o) == (True, False, True)


# -- attacks on the name --------------------------------------------------------------
@pytest.mark.parametrize(
    "name, why",
    [
        ("a" * 64, "over 63"),
        ("evil.example.org.", "outside the forward zone"),
        ("example.com.evil.org.", "outside the forward zone"),
        ("notexample.com.", "outside the forward zone"),
        ("host\udcff7", "not a host name"),  # a non-UTF-8 byte, as option 12 decodes it (surrogate escape)
        ("hôte", "not a host name"),
        ("under_score", "not a host name"),
        ("two words", "not a host name"),
        ("-dash", "hyphen"),
        ("a..b", "empty label"),
        ("", "empty name"),
    ],
)
def test_check_name_refuses(name, why):
    fqdn, reason = check_name(name, "example.com")
    assert fqdn is None and why in reason


def test_check_name_completes_and_lowercases():
    assert check_name("Host7", "example.com") == ("host7.example.com", "")
    assert check_name("a.b.example.com.", "example.com.") == ("a.b.example.com", "")
    assert check_name("host7.example.com", "example.com") == ("host7.example.com", "")  # partial, zone already there


def test_attack_non_utf8_hostname_bytes_grant_the_lease_but_no_update():
    from refimpl.dhcp.message import Message

    ddns = ddns_server()
    discover = Message.discover(MAC7, 3)
    discover.set(12, b"host\xff\xfe")
    offer = next(e.message for e in ddns.receive(Message.decode(discover.encode()), now=NOW) if isinstance(e, Outgoing))
    request = Message.request(MAC7, 3, requested_ip=offer.yiaddr, server_id="192.0.2.1")
    request.set(12, b"host\xff\xfe")
    effects = ddns.receive(Message.decode(request.encode()), now=NOW)
    assert any(isinstance(e, Outgoing) and e.message.yiaddr == offer.yiaddr for e in effects)
    assert not any(isinstance(e, DnsUpdate) for e in effects)
    assert any("not a host name" in getattr(e, "text", "") for e in effects)


def test_attack_label_over_63_in_option_81_gets_n_back_and_no_update():
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(S, "a" * 64 + ".example.com."))  # ASCII form
    assert updates == [] and ack.get("client_fqdn").n and ack.yiaddr != "0.0.0.0"


def test_attack_name_outside_the_zone_no_update():
    ack, updates, _ = lease(ddns_server(), MAC7, fqdn=ClientFqdn(E | S, "www.example.net."))
    assert updates == [] and ack.get("client_fqdn").n


# -- the exchange machine on its own -------------------------------------------------------
def exchange(action=ADD, **kw) -> Exchange:
    return Exchange(action, "h.example.com", "192.0.2.9", b"\0\0\1" + bytes(32), forward_zone="example.com",
                    reverse_zone="2.0.192.in-addr.arpa", ttl=60, key=KEY, **kw)  # fmt: skip


def test_unexpected_rcodes_end_the_exchange_as_failed():
    e = exchange()
    e.start()
    assert e.answered(Rcode.REFUSED) is None and e.outcome == "failed: REFUSED in add-new"


def test_no_answer_fails_the_exchange():
    from refimpl.dns.updater import UpdateFailed

    def silent(request, reverse):
        raise UpdateFailed("no answer after 3 tries")

    e = exchange()
    assert run(e, silent).startswith("failed: no answer")


def test_ptr_only_when_the_client_does_the_a_record():
    e = exchange(forward=False)
    assert e.start() is not None and e.state == "reverse"


def test_no_reverse_zone_means_forward_only():
    e = Exchange(ADD, "h.example.com", "192.0.2.9", b"\0\0\1" + bytes(32), forward_zone="example.com",
                 reverse_zone=None, ttl=60)  # fmt: skip
    e.start()
    assert e.answered(Rcode.NOERROR) is None and e.outcome == "added"


def test_removal_keeps_the_dhcid_while_another_address_remains():
    dns = Dns()
    e = exchange()
    run(e, dns.send)
    dns.send(UpdateRequest("example.com", KEY).change(add("h.example.com", Type.A, "192.0.2.10", 60)), False)
    removal = exchange(REMOVE)
    assert run(removal, dns.send) == "removed"
    assert removal.steps[1] == "remove-dhcid: YXRRSET"
    assert dns.values("h.example.com", Type.A) == ["192.0.2.10"] and dns.values("h.example.com", Type.DHCID)


def test_default_reverse_zone():
    assert default_reverse_zone("192.0.2.0/24") == "2.0.192.in-addr.arpa"
    assert default_reverse_zone("198.51.0.0/16") == "51.198.in-addr.arpa"
    with pytest.raises(ValueError):
        default_reverse_zone("192.0.2.0/25")


def test_removal_when_the_name_is_gone_still_clears_our_ptr():
    # Policy (ddns_exchange docstring): NXRRSET or NXDOMAIN on the A removal leaves the name alone
    # but the PTR of the address we leased is still ours to delete.
    e = exchange(REMOVE)
    e.start()
    request = e.answered(Rcode.NXDOMAIN)
    assert e.state == "reverse" and request.zone == "2.0.192.in-addr.arpa"
    assert e.answered(Rcode.NOERROR) is None and e.outcome == "removed"


def test_attack_malformed_option_81_drops_the_message_like_any_bad_option():
    # The codec's rule for every option (refimpl.dhcp.options): a value that does not decode makes
    # the message undecodable; the core drops it with a note naming the option (Kea drops such
    # packets too). Here a compression pointer, which RFC 4702 §2.1's "without compression" forbids.
    from refimpl.dhcp.message import Message

    raw = bytearray(Message.discover(MAC7, 1).encode())
    end = raw.rindex(255)
    raw[end:end] = bytes([81, 5, E | S, 0, 0, 0xC0, 0x0C])
    effects = ddns_server().receive(bytes(raw), now=NOW)
    assert not any(isinstance(e, (Outgoing, DnsUpdate)) for e in effects)
    assert "option 81" in effects[0].text and "compression pointer" in effects[0].text


def _fqdn_values():
    from hypothesis import strategies as st

    labels = st.lists(st.binary(min_size=1, max_size=70), max_size=4)
    texts = st.text(max_size=80)
    return st.one_of(
        st.builds(lambda f, n: ClientFqdn(f, n), st.integers(0, 15).map(lambda f: f & ~E), texts),
        st.builds(
            lambda f, ls, fully: ClientFqdn(f | E, ".".join(x.decode("latin-1") for x in ls) + ("." if fully else "")),
            st.integers(0, 15),
            labels,
            st.booleans(),
        ),
    )


def test_fuzz_any_name_never_raises_and_updates_only_good_names():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=150, deadline=None)
    @given(fqdn=st.one_of(st.none(), _fqdn_values()), hostname=st.one_of(st.none(), st.text(min_size=1, max_size=70)))
    def check(fqdn, hostname):
        ddns = ddns_server()
        try:
            ack, updates, effects = lease(ddns, MAC7, hostname=hostname, fqdn=fqdn)
        except ValueError:
            return  # a value our own encoder refuses (a label over 63 in E=1 form): nothing was sent
        assert ack.yiaddr == "192.0.2.100"  # the lease is granted whatever the name
        for update in updates:
            name = update.exchange.fqdn
            assert check_name(name + ".", "example.com") == (name, "")
            assert name.endswith(".example.com") or name == "example.com"
        if fqdn is not None:
            reply = ack.get("client_fqdn")
            assert reply.rcode1 == reply.rcode2 == 255
            assert reply.s == bool(updates) and reply.n == (not updates)
            assert reply.o == (reply.s != fqdn.s)  # RFC 4702 §2.1

    check()


def test_restart_restores_hostname_registrations_from_the_lease_store():
    # A server restarted over the same lease store (a lease file) still removes the names on RELEASE.
    from refimpl.dhcp.ddns import DdnsConfig, DdnsServer

    first, dns = ddns_server(), Dns()
    ack, updates, _ = lease(first, MAC7, hostname="host7")
    apply(dns, updates)
    again = DdnsServer(first.server, DdnsConfig("example.com", "2.0.192.in-addr.arpa", key=KEY))
    lease(again, MAC8, hostname="other")  # unrelated traffic first
    assert set(again.registered) == {"hw:02:00:00:00:00:08"}  # host7 unknown: a RELEASE would leave it
    assert again.restore(NOW) == 1  # host7 (other is registered already)
    assert apply(dns, release(again, MAC7, ack.yiaddr)) == ["removed"]
    assert records(dns, "host7.example.com") == {}
