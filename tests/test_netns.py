"""The namespace lab: the network rule is enforced, and labs clean up after themselves."""

from __future__ import annotations

import subprocess

import pytest

from refimpl.lab.netns import Lab, LabError, check_documentation_address, two_hosts


@pytest.mark.parametrize("address", ["192.0.2.1/24", "198.51.100.7/24", "203.0.113.254/24"])
def test_documentation_addresses_are_accepted(address):
    assert str(check_documentation_address(address)) == address


@pytest.mark.parametrize("address", ["10.0.0.1/8", "192.168.1.1/24", "8.8.8.8/32", "127.0.0.1/8", "192.0.3.1/24"])
def test_other_addresses_are_refused(address):
    with pytest.raises(LabError, match="192.0.2.0/24"):
        check_documentation_address(address)


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def namespaces_before_the_lab() -> set[str]:
    """Skip unless labs can run here; the namespaces there are now (a test checks they are all that is left)."""
    ok, why = Lab.available()
    if not ok:
        pytest.skip(why)
    return _namespaces()


def test_two_hosts_talk_over_a_veth_pair_and_vanish_afterwards():
    before = namespaces_before_the_lab()
    with Lab() as lab:
        a, b = lab.host("a"), lab.host("b")
        lab.link(a, "192.0.2.1/24", b, "192.0.2.2/24")
        # A UDP datagram from a to b proves the link works, using only Python.
        receiver = b.run(
            [
                "python3",
                "-c",
                "import socket;s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);"
                "s.bind(('192.0.2.2',9999));s.settimeout(5);print(s.recvfrom(100)[0].decode())",
            ],
            background=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        out = ""
        for _ in range(20):  # bounded: the receiver needs a moment to bind
            a.run(
                [
                    "python3",
                    "-c",
                    "import socket;socket.socket(socket.AF_INET,socket.SOCK_DGRAM).sendto(b'hello',('192.0.2.2',9999))",
                ]
            )
            try:
                out, _ = receiver.communicate(timeout=0.25)
                break
            except subprocess.TimeoutExpired:
                continue
        assert out.strip() == "hello"
        assert {h.name for h in lab.hosts.values()} <= _namespaces()
    assert _namespaces() == before


def test_a_lab_refuses_a_non_documentation_address_and_still_cleans_up():
    before = namespaces_before_the_lab()
    with pytest.raises(LabError):
        with Lab() as lab:
            a, b = lab.host("a"), lab.host("b")
            lab.link(a, "10.1.2.3/24", b, None)
    assert _namespaces() == before


def test_two_hosts_is_a_lab_of_one_link_that_grows_and_vanishes():
    before = namespaces_before_the_lab()
    with two_hosts("pair", b_address="192.0.2.2/24") as (server, client, s_if, c_if):
        assert (server.label, client.label) == ("server", "client") and server.lab is client.lab
        assert "192.0.2.1/24" in server.ip("-4", "addr", "show", "dev", s_if).stdout
        assert "192.0.2.2/24" in client.ip("-4", "addr", "show", "dev", c_if).stdout
        third = server.lab.host("third")
        server.lab.link(server, "198.51.100.1/24", third, None)
        assert len(_namespaces() - before) == 3 and len(server.interfaces) == 2
    assert _namespaces() == before
