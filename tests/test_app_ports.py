"""The application-protocol map: the ports the issue and the RFCs name, one table for prose and code."""

import pytest

from refimpl import app_ports


@pytest.mark.parametrize(
    "name, ports",
    [
        ("FTP", (20, 21)),
        ("SSH", (22,)),
        ("Telnet", (23,)),
        ("SMTP", (25,)),
        ("DNS", (53,)),
        ("DHCP", (67, 68)),
        ("TFTP", (69,)),
        ("HTTP", (80,)),
        ("HTTPS", (443,)),
        ("RDP", (3389,)),
    ],
)
def test_well_known_ports(name, ports):
    assert app_ports.port_of(name) == ports


def test_unknown_service_names_the_known_ones():
    with pytest.raises(KeyError, match="known: FTP"):
        app_ports.port_of("Gopher")


def test_service_on_port():
    assert app_ports.service_on(21) == ["FTP"]
    assert app_ports.service_on(7) == []


def test_table_is_in_port_order_and_says_who_connects():
    lines = app_ports.table().splitlines()
    assert lines[0].startswith("service")
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["FTP", "SSH", "Telnet", "SMTP", "DNS", "DHCP", "TFTP", "HTTP", "HTTPS", "RDP"]
    assert "client:68 -> server:67" in app_ports.table()
