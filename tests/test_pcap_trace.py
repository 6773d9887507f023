"""pcap -> Trace: the shipped capture, a synthetic relay capture, and regenerating the capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from refimpl.dhcp import Message
from refimpl.net.dhcp_capture import CLIENT_MAC, EXPECTED, SERVER_MAC
from refimpl.net.pcap import host_names, read_datagrams, read_trace, summary

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "dhcp_udhcpc.pcap"


def test_shipped_capture_reads_as_a_trace():
    trace = read_trace(SHIPPED)
    assert trace.kinds() == EXPECTED
    assert trace.hosts() == ["client", "server"]
    discover, offer, request, ack, renew, renew_ack, release = trace
    assert (discover.src, discover.dst, discover.src_ip, discover.dst_ip) == ("client", "*", "0.0.0.0", "255.255.255.255")
    assert (discover.src_port, discover.dst_port) == (68, 67)
    assert discover.message.mac == CLIENT_MAC and isinstance(offer.message, Message)
    # Our server unicast the OFFER to yiaddr at chaddr (RFC 2131 §4.1): not a broadcast.
    assert (offer.src, offer.dst, offer.dst_ip) == ("server", "client", "192.0.2.10")
    assert offer.summary == f"xid={discover.message.xid:#010x} yiaddr=192.0.2.10 server=192.0.2.1"
    assert request.message.get("requested_ip") == "192.0.2.10" and request.message.get("server_id") == "192.0.2.1"
    assert ack.message.get("lease_time") == 600 and ack.message.get("router") == ["192.0.2.1"]
    assert (renew.src, renew.dst, renew.message.ciaddr) == ("client", "server", "192.0.2.10")  # RENEWING: unicast
    assert renew_ack.dst_ip == "192.0.2.10" and release.message.ciaddr == "192.0.2.10"
    assert all(e.raw == e.message.encode() for e in trace)  # our codec rebuilds each datagram exactly
    assert [e.time for e in trace] == sorted(e.time for e in trace) and trace[0].time == 0.0
    macs = {d.src_mac for d in read_datagrams(SHIPPED)}
    assert macs == {CLIENT_MAC, SERVER_MAC}


def test_shipped_capture_draws_like_the_simulation():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from refimpl.viz.sequence import sequence_diagram, sequence_text

    trace = read_trace(SHIPPED)
    figure = sequence_diagram(trace, title="udhcpc and refimpl dhcp-server")
    texts = " ".join(t.get_text() for t in figure.findobj(matplotlib.text.Text))
    for kind in ("DHCPDISCOVER", "DHCPOFFER", "DHCPACK", "DHCPRELEASE"):
        assert kind in texts
    plt.close(figure)
    ascii_art = sequence_text(trace)
    assert "DHCPOFFER" in ascii_art and "client" in ascii_art and "server" in ascii_art


def _frame(message: Message, src_mac, dst_mac, src, dst, sport, dport, t):
    from scapy.layers.inet import IP, UDP
    from scapy.layers.l2 import Ether
    from scapy.packet import Raw

    packet = Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst) / UDP(sport=sport, dport=dport)
    packet = packet / Raw(message if isinstance(message, bytes) else message.encode())
    packet.time = t
    return packet


def test_a_relayed_exchange_names_client_relay_and_server(tmp_path):
    from scapy.utils import wrpcap

    client, relay_c, relay_s, server = "02:00:00:00:00:01", "02:00:00:00:00:a1", "02:00:00:00:00:a2", "02:00:00:00:00:fe"
    discover = Message.discover(mac=client, xid=0x1234)
    relayed = discover.copy()
    relayed.giaddr, relayed.hops = "192.0.2.1", 1
    offer = Message.offer(relayed, yiaddr="192.0.2.10", server_id="198.51.100.2", lease_time=60)
    frames = [
        _frame(discover, client, "ff:ff:ff:ff:ff:ff", "0.0.0.0", "255.255.255.255", 68, 67, 100.0),
        _frame(relayed, relay_s, server, "192.0.2.1", "198.51.100.2", 67, 67, 100.001),
        _frame(offer, server, relay_s, "198.51.100.2", "192.0.2.1", 67, 67, 100.002),
        _frame(offer, relay_c, client, "192.0.2.1", "192.0.2.10", 67, 68, 100.003),
        _frame(b"\x01garbage", client, relay_c, "192.0.2.10", "192.0.2.1", 68, 67, 100.5),
    ]
    path = tmp_path / "relay.pcap"
    wrpcap(str(path), frames)
    trace = read_trace(path)
    assert [(e.src, e.dst) for e in trace][:4] == [("client", "*"), ("relay", "server"), ("server", "relay"),
                                                   ("relay", "client")]  # fmt: skip
    assert trace.kinds() == ["DHCPDISCOVER", "DHCPDISCOVER", "DHCPOFFER", "DHCPOFFER", "undecodable"]
    assert trace[1].summary == "xid=0x00001234 giaddr=192.0.2.1"
    assert trace[4].message is None and trace[4].summary  # the reason our codec refused it
    assert trace[3].time == pytest.approx(0.003)
    names = host_names(read_datagrams(path), names={client: "laptop"})
    assert names[client] == "laptop" and names["198.51.100.2"] == "server"
    assert read_trace(path, names={client: "laptop"})[0].src == "laptop"
    assert summary(offer) == "xid=0x00001234 yiaddr=192.0.2.10 giaddr=192.0.2.1 server=198.51.100.2"


@pytest.mark.needs_root
@pytest.mark.needs_tool
@pytest.mark.slow
def test_the_capture_can_be_made_again(tmp_path):
    from dhcp_real_harness import need_lab

    from refimpl.net.dhcp_capture import make_udhcpc_capture

    need_lab("udhcpc", "tcpdump")
    path = make_udhcpc_capture(tmp_path / "again.pcap", attempts=1)
    kinds = read_trace(path).kinds()
    # The plain story, or udhcpc's race (see refimpl.net.dhcp_capture): RENEW missed, REBIND broadcast.
    raced = EXPECTED[:6] + ["DHCPREQUEST", "DHCPACK", "DHCPRELEASE"]
    assert kinds in (EXPECTED, raced), kinds
    assert read_trace(path).hosts() == ["client", "server"]
    assert {d.src_mac for d in read_datagrams(path)} == {CLIENT_MAC, SERVER_MAC}


def test_importing_the_real_network_modules_loads_no_heavy_library():
    import subprocess
    import sys

    code = ("import sys, refimpl.net.pcap, refimpl.net.dhcp_sockets, refimpl.net.dhcp_cli, refimpl.net.rawlink, "
            "refimpl.net.dhcp_capture, refimpl.bench.dhcp_load; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scapy', 'matplotlib', 'ipywidgets')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
