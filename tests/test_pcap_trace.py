"""pcap -> Trace: the shipped capture, a synthetic relay capture, and regenerating the capture."""

from __future__ import annotations

from pathlib import Path

import pytest

from refimpl.capture.dhcp import host_names, read_datagrams, read_trace
from refimpl.capture.record_dhcp import CLIENT_MAC, EXPECTED, SERVER_MAC
from refimpl.dhcp import Message
from refimpl.dhcp.describe import summary

SHIPPED = Path(__file__).resolve().parent.parent / "refimpl" / "data" / "captures" / "dhcp_udhcpc.pcap"


def test_shipped_capture_reads_as_a_trace():
    trace = read_trace(SHIPPED)
    assert trace.kinds() == EXPECTED
    assert trace.hosts() == ["client", "server"]
    discover, offer, request, ack, renew, renew_ack, release = trace
    assert (discover.src, discover.dst, discover.src_ip, discover.dst_ip) == (
        "client",
        "*",
        "0.0.0.0",
        "255.255.255.255",
    )
    assert (discover.src_port, discover.dst_port) == (68, 67)
    assert discover.message.mac == CLIENT_MAC and isinstance(offer.message, Message)
    # Our server unicast the OFFER to yiaddr at chaddr (RFC 2131 §4.1): not a broadcast.
    assert (offer.src, offer.dst, offer.dst_ip) == ("server", "client", "192.0.2.10")
    assert offer.summary == f"xid={discover.message.xid:#010x} yiaddr=192.0.2.10 sid=192.0.2.1 lease=600"
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

    client, relay_c, relay_s, server = (
        "02:00:00:00:00:01",
        "02:00:00:00:00:a1",
        "02:00:00:00:00:a2",
        "02:00:00:00:00:fe",
    )
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
    assert [(e.src, e.dst) for e in trace][:4] == [
        ("client", "*"),
        ("relay", "server"),
        ("server", "relay"),
        ("relay", "client"),
    ]
    assert trace.kinds() == ["DHCPDISCOVER", "DHCPDISCOVER", "DHCPOFFER", "DHCPOFFER", "undecodable"]
    assert trace[1].summary == "xid=0x00001234 giaddr=192.0.2.1 hops=1"
    assert trace[4].message is None and trace[4].summary  # the reason our codec refused it
    assert trace[3].time == pytest.approx(0.003)
    names = host_names(read_datagrams(path), names={client: "laptop"})
    assert names[client] == "laptop" and names["198.51.100.2"] == "server"
    assert read_trace(path, names={client: "laptop"})[0].src == "laptop"
    assert summary(offer) == "xid=0x00001234 yiaddr=192.0.2.10 giaddr=192.0.2.1 sid=198.51.100.2 lease=60"


@pytest.mark.parametrize("story", ["one_client", "relay", "init_reboot"])
def test_a_simulated_run_and_its_capture_print_and_label_alike(tmp_path, story):
    """The datagrams of a simulated run, written to a pcap with scapy and read back by the capture
    reader, get the same kinds, the same summaries, the same lifelines and the same sequence text."""
    from scapy.utils import wrpcap

    from refimpl.capture.scapy_dhcp import to_scapy
    from refimpl.dhcp import scenarios
    from refimpl.trace import Trace
    from refimpl.viz.sequence import sequence_text

    run = getattr(scenarios, story)()
    mac = {host.name: host.mac for host in run.net.hosts.values()}
    simulated = [e for e in run.trace if e.flow == "dhcp" and not e.lost]
    if story == "relay":  # a capture sees one segment: the client's, where the relay talks to the client
        simulated = [e for e in simulated if "client" in (e.src, e.dst) or e.is_broadcast]
    frames = []
    for e in simulated:
        frame = to_scapy(
            Message.decode(e.raw),
            src_ip=e.src_ip,
            dst_ip=e.dst_ip,
            src_port=e.src_port,
            dst_port=e.dst_port,
            src_mac=mac[e.src],
            dst_mac=mac.get(e.dst, "ff:ff:ff:ff:ff:ff"),
        )
        frame.time = 1_000_000 + e.time
        frames.append(frame)
    wrpcap(str(tmp_path / "run.pcap"), frames)
    captured = read_trace(tmp_path / "run.pcap", names={address: name for name, address in mac.items()})
    assert [(e.kind, e.summary) for e in captured] == [(e.kind, e.summary) for e in simulated]
    assert [e.summary for e in captured if e.kind == "DHCPOFFER"][0].startswith("xid=0x")  # not empty by accident
    if story != "relay":  # behind a relay, the capture names the far server from its server id
        assert [(e.src, e.dst) for e in captured] == [(e.src, e.dst) for e in simulated]
        start = simulated[0].time
        assert sequence_text(captured) == sequence_text(Trace(simulated).shifted(-start))


@pytest.mark.needs_root
@pytest.mark.needs_tool
@pytest.mark.slow
def test_the_capture_can_be_made_again(tmp_path):
    from dhcp_real_harness import need_lab

    from refimpl.capture.record_dhcp import make_udhcpc_capture

    need_lab("udhcpc", "tcpdump")
    path = make_udhcpc_capture(tmp_path / "again.pcap", attempts=1)
    kinds = read_trace(path).kinds()
    # The plain story, or udhcpc's race (see refimpl.capture.record_dhcp): RENEW missed, REBIND broadcast.
    raced = EXPECTED[:6] + ["DHCPREQUEST", "DHCPACK", "DHCPRELEASE"]
    assert kinds in (EXPECTED, raced), kinds
    assert read_trace(path).hosts() == ["client", "server"]
    assert {d.src_mac for d in read_datagrams(path)} == {CLIENT_MAC, SERVER_MAC}


def test_importing_the_real_network_modules_loads_no_heavy_library():
    import subprocess
    import sys

    code = (
        "import sys, refimpl.capture.dhcp, refimpl.sockets.dhcp, refimpl.cli.dhcp, refimpl.sockets.rawlink, "
        "refimpl.capture.record_dhcp, refimpl.bench.dhcp_load; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scapy', 'matplotlib', 'ipywidgets')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"
