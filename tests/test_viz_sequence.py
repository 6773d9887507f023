"""Sequence diagrams, animation, text version and the widget player (Agg backend, no frontend)."""

from __future__ import annotations

import gc

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from refimpl.sim.network import BROADCAST_IP, Network  # noqa: E402
from refimpl.trace import Event, Trace  # noqa: E402
from refimpl.viz.sequence import (  # noqa: E402
    animate_sequence,
    layout,
    sequence_diagram,
    sequence_text,
    side_by_side,
    to_html_player,
)

# animations made only to inspect their frames are never rendered; matplotlib warns when they are collected
pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted")


def dhcp_like_trace() -> Trace:
    """client broadcasts, server answers (first answer lost), a note, a unicast, a third host listens."""
    net = Network(seed=1)
    lan = net.segment("lan", "192.0.2.0/24")
    server = net.host("server", lan, ip="192.0.2.1")
    client = net.host("client", lan)
    net.host("printer", lan, ip="192.0.2.7")
    net.describe(67, lambda raw: (raw.split()[0].decode(), raw.partition(b" ")[2].decode(), None), flow="dhcp")
    net.impair(kind="OFFER", drop_nth={1})

    def on_server(pkt):
        kind = pkt.payload.split()[0]
        answer = {b"DISCOVER": b"OFFER yiaddr=192.0.2.10", b"REQUEST": b"ACK yiaddr=192.0.2.10"}[kind]
        server.send_udp(67, BROADCAST_IP, 68, answer)

    def on_client(pkt):
        if pkt.payload.startswith(b"OFFER"):
            client.send_udp(68, BROADCAST_IP, 67, b"REQUEST ip=192.0.2.10")
        elif client.ip == "0.0.0.0":
            client.configure("192.0.2.10/24")
            net.note(client, "BOUND")
            client.send_udp(68, "192.0.2.1", 67, b"REQUEST renew")
        else:
            net.note(client, "BOUND")

    server.udp(67, on_server)
    client.udp(68, on_client)
    client.send_udp(68, BROADCAST_IP, 67, b"DISCOVER xid=1")
    client.call_at(4.0, client.send_udp, 68, BROADCAST_IP, 67, b"DISCOVER xid=2")
    net.run(until=10)
    return net.trace


@pytest.fixture(scope="module")
def trace():
    return dhcp_like_trace()


def gids(fig, prefix):
    ax = fig.axes[0]
    found = [a for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]
    return found


def test_trace_fixture_has_what_the_pictures_must_show(trace):
    kinds = [(e.kind, e.dst, e.lost) for e in trace]
    assert kinds[:2] == [("DISCOVER", "*", False), ("OFFER", "*", True)]
    assert sum(e.is_note for e in trace) == 2  # BOUND twice: first exchange, then the renewal ACK
    assert any(e.dst == "server" for e in trace)  # a unicast renewal


def test_lifelines_arrows_broadcasts_losses_and_notes_are_drawn(trace):
    fig = sequence_diagram(trace, title="DHCP")
    ax = fig.axes[0]
    hosts = ["client", "server", "printer"]  # order of appearance
    assert [a.get_gid() for a in ax.lines if (a.get_gid() or "").startswith("lifeline:")] == [
        f"lifeline:{h}" for h in hosts
    ]
    headers = {a.get_gid(): a.get_text() for a in gids(fig, "header:")}
    assert headers["header:client"] == "client\n0.0.0.0 \u2192 192.0.2.10"
    assert headers["header:server"] == "server\n192.0.2.1"

    unicast = [e for e in trace if not e.is_note and not e.is_broadcast and not e.lost]
    broadcasts = [e for e in trace if e.dst == "*" and not e.lost]
    lost = [e for e in trace if e.lost]
    assert len({a.get_gid() for a in gids(fig, "arrow:")}) == len(unicast)
    # a broadcast gets one arrow head per lifeline it reached (the two others)
    assert len(gids(fig, "bcast:")) == 2 * len(broadcasts)
    assert len(gids(fig, "bmark:")) == len(broadcasts) + sum(e.dst == "*" for e in lost)
    assert len({a.get_gid() for a in gids(fig, "lostmark:")}) == len(lost)
    notes = gids(fig, "note:")
    assert [n.get_text() for n in notes] == ["BOUND"] * 2
    labels = [a.get_text() for a in gids(fig, "label:")]
    assert labels[0] == "DISCOVER xid=1" and labels[1].startswith("OFFER")
    assert "[no listener" not in labels[1]  # a lost broadcast on the link is just lost
    assert [t.get_text() for t in ax.get_yticklabels()][:2] == ["0.001", "0.002"]
    fig.canvas.draw()  # renders without error


def test_ports_at_arrow_ends(trace):
    fig = sequence_diagram(trace)
    ports = [a.get_text() for a in gids(fig, "port:")]
    assert ":67" in ports and ":68" in ports
    no_ports = sequence_diagram(trace, show_ports=False)
    assert gids(no_ports, "port:") == []


def test_labels_do_not_overlap_on_a_rendered_figure(trace):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = sequence_diagram(trace)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [a.get_window_extent(renderer) for a in gids(fig, "label:") + gids(fig, "note:")]
    for k, one in enumerate(boxes):
        for other in boxes[k + 1 :]:
            assert not one.overlaps(other)


def test_upto_keeps_layout_and_hides_the_future(trace):
    full = sequence_diagram(trace)
    part = sequence_diagram(trace, upto=3)
    assert full.axes[0].get_ylim() == part.axes[0].get_ylim()
    assert len(gids(part, "label:")) == 3
    ticks = [t.get_text() for t in part.axes[0].get_yticklabels()]
    assert ticks[:3] != ["", "", ""] and set(ticks[3:]) == {""}
    assert len(gids(part, "highlight")) == 1


def test_hosts_argument_picks_and_orders_lifelines(trace):
    fig = sequence_diagram(trace, hosts={"client": "the client", "server": None})
    headers = [a.get_text() for a in gids(fig, "header:")]
    assert headers == ["the client", "server\n192.0.2.1"]
    # the printer is gone; broadcasts now point at the server only
    assert all(a.get_gid() != "header:printer" for a in fig.axes[0].texts)


def test_animation_has_one_frame_per_row_and_reveals_them(trace):
    anim = animate_sequence(trace, title="step by step")
    rows = len(layout(trace).rows)
    assert anim._course_rows == rows
    assert len(list(anim.new_frame_seq())) == rows
    anim._init_func()
    labels = gids(anim._fig, "label:")
    assert not any(a.get_visible() for a in labels)
    anim._func(2)
    assert sum(a.get_visible() for a in labels) == 3
    small = animate_sequence(trace[:3])
    assert to_html_player(small, every_frame=True).count("data:image/png;base64") == 3
    html = to_html_player(small)  # one picture, revealed row by row
    assert "<script" in html and html.count("data:image/png;base64") == 1 and "1/3" not in html and "3/3" in html
    del anim, small
    gc.collect()  # (an inspected, never rendered animation warns when collected: let it do so here)


def test_side_by_side_has_two_diagrams(trace):
    fig = side_by_side(trace[:4], trace, titles=("before", "after"))
    assert [ax.get_title() for ax in fig.axes] == ["before", "after"]
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()


def test_sequence_text_is_deterministic_and_shows_everything(trace):
    text = sequence_text(trace)
    assert text == sequence_text(dhcp_like_trace())
    lines = text.splitlines()
    assert len(lines) == len(trace) + 2
    assert lines[0].split() == ["time", "client", "server", "printer"]
    discover = lines[2]
    assert "DISCOVER" in discover and ">" in discover and "broadcast" in discover and ":68->:67" in discover
    offer_lost = lines[3]
    assert "X" in offer_lost and "(lost)" in offer_lost
    assert any("[BOUND]" in line for line in lines)
    unicast = next(line for line in lines if "renew" in line)
    assert "-REQUEST" in unicast and "broadcast" not in unicast


def test_text_for_hand_made_trace():
    t = Trace(
        [
            Event(0.0, "a", "b", "tcp", "SYN", "192.0.2.1", 49152, "192.0.2.2", 21),
            Event(0.5, "b", "a", "tcp", "RST", "192.0.2.2", 21, "192.0.2.1", 49152),
            Event(1.0, "a", "a", "note", "gave up"),
        ]
    )
    assert sequence_text(t).splitlines()[2:] == [
        "  0.000          |-SYN---------->|         :49152->:21",
        "  0.500          |<-RST----------|         :21->:49152",
        "  1.000          | [gave up]     |",
    ]
    assert sequence_text(Trace()) == "(empty trace)"


def test_player_builds_and_steps_without_a_frontend(trace):
    pytest.importorskip("ipywidgets")
    from refimpl.viz.player import SequencePlayer, hexdump

    calls = []

    def extra(index, event):
        calls.append((index, event.kind))
        return f"state after {event.kind}"

    p = SequencePlayer(trace, extra_view=extra)
    assert p.slider.max == len(trace) - 1 and p.index == 0
    assert p.diagram.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "DISCOVER" in p.details.value and "0.0.0.0:68 -&gt; 255.255.255.255:67" in p.details.value
    p.step(+1)
    assert p.index == 1 and p.slider.value == 1 and "LOST" in p.details_text(1)
    assert calls[-1] == (1, "OFFER") and "state after OFFER" in p.extra_text.value
    p.step(-5)
    assert p.index == 0
    p.show(10**6)
    assert p.index == len(trace) - 1
    assert hexdump(b"AB\x00") == "0000  41 42 00" + " " * 39 + "  AB."


def test_player_shows_message_show_and_figures():
    pytest.importorskip("ipywidgets")
    from matplotlib.figure import Figure

    from refimpl.viz.player import SequencePlayer

    class Msg:
        def show(self):
            return "op=1 xid=0x1"

    t = Trace([Event(0.0, "a", "b", "udp", "X", "192.0.2.1", 68, "192.0.2.2", 67, message=Msg(), raw=b"\x01")])
    p = SequencePlayer(t, extra_view=lambda i, e: Figure(figsize=(2, 2)))
    assert "op=1 xid=0x1" in p.details.value
    assert p.extra.value[:4] == b"\x89PNG" and p.extra.layout.display == ""


def long_trace(n=50) -> Trace:
    net = Network()
    lan = net.segment("lan", "192.0.2.0/24")
    a, b = net.host("a", lan, ip="192.0.2.1"), net.host("b", lan, ip="192.0.2.2")
    b.udp(9)
    for k in range(n):
        a.call_at(k, a.send_udp, 1, b.ip, 9, b"%d\r\n" % k)
    net.run()
    return net.trace


def test_long_traces_are_clipped_with_a_mention():
    trace = long_trace(50)
    fig = sequence_diagram(trace, max_rows=20)
    assert len(gids(fig, "label:")) == 20
    assert "30 more events" in fig.axes[0].get_xlabel()
    assert len(gids(sequence_diagram(trace, max_rows=None), "label:")) == 50
    assert animate_sequence(trace, max_rows=10)._course_rows == 10


def test_player_slides_a_window_along_a_long_trace():
    pytest.importorskip("ipywidgets")
    from refimpl.viz.player import SequencePlayer

    trace = long_trace(50)
    p = SequencePlayer(trace, window=10)
    part, upto = p._window(0)
    assert (len(part), upto) == (10, 1)
    p.show(34)
    part, upto = p._window(34)
    assert [e.raw for e in part][upto - 1] == b"34\r\n" and len(part) == 10
    assert p.details_text(34).startswith("#35/50")
    part, upto = p._window(49)
    assert (len(part), upto) == (10, 10)
