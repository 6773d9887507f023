"""The FTP cores on the simulated network: both connections, their ports, and the stories."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl.ftp import scenarios
from refimpl.ftp.datachannel import parse_227, parse_229, parse_eprt, parse_host_port
from refimpl.ftp.describe import CONTROL_FLOW, DATA_FLOW, describe_control, describe_data

HANDSHAKE = ["SYN", "SYN-ACK", "ACK"]


def connections(trace, flow):
    """Group a flow's events by connection (the client-side/server-side 4-tuple, either direction)."""
    groups: dict[frozenset, list] = {}
    for e in trace.where(flow=flow):
        key = frozenset([(e.src_ip, e.src_port), (e.dst_ip, e.dst_port)])
        groups.setdefault(key, []).append(e)
    return list(groups.values())


def first(trace, kind):
    return next(e for e in trace if e.kind == kind)


# -- active and passive on one LAN -------------------------------------------------
def test_control_connection_is_ephemeral_to_21_with_handshake_and_teardown():
    run = scenarios.login_list("passive")
    (control,) = connections(run.trace, CONTROL_FLOW)
    assert [e.kind for e in control[:3]] == HANDSHAKE
    syn = control[0]
    assert (syn.src, syn.dst, syn.dst_port) == ("client", "server", 21)
    assert syn.src_port >= 49152  # RFC 6335: an ephemeral port
    kinds = [e.kind for e in control]
    assert kinds.count("FIN") == 2 and kinds[-1] == "ACK"  # four-segment close (RFC 793 §3.5)
    assert kinds[3] == "220"


def test_active_mode_server_connects_from_port_20_to_the_port_command():
    run = scenarios.login_list("active")
    port_cmd = first(run.trace, "PORT")
    ip, port = parse_host_port(port_cmd.summary)
    assert ip == "192.0.2.10"
    (data,) = connections(run.trace, DATA_FLOW)
    assert [e.kind for e in data[:3]] == HANDSHAKE
    syn = data[0]
    assert (syn.src, syn.src_port, syn.dst_ip, syn.dst_port) == ("server", 20, ip, port)
    assert syn.time > port_cmd.time
    # the listing flows from server to client on that connection
    payload = b"".join(e.raw for e in data if e.kind == "DATA")
    assert b"hello.txt" in payload and all(e.src == "server" for e in data if e.kind == "DATA")
    assert "LIST     ok      226" in run.summary()


def test_passive_mode_client_connects_to_the_227_port():
    run = scenarios.login_list("passive")
    reply = first(run.trace, "227")
    ip, port = parse_227(reply.summary)
    assert ip == "192.0.2.1" and 30000 <= port <= 30100
    (data,) = connections(run.trace, DATA_FLOW)
    syn = data[0]
    assert syn.kind == "SYN" and syn.src == "client" and (syn.dst_ip, syn.dst_port) == (ip, port)
    assert syn.src_port >= 49152 and syn.time > reply.time
    assert "PORT" not in run.trace.kinds()


@pytest.mark.parametrize("mode, command, reply", [("eprt", "EPRT", "200"), ("epsv", "EPSV", "229")])
def test_extended_modes(mode, command, reply):
    run = scenarios.login_list(mode)
    (data,) = connections(run.trace, DATA_FLOW)
    syn = data[0]
    if mode == "eprt":
        proto, ip, port = parse_eprt(first(run.trace, "EPRT").summary)
        assert (proto, syn.src_port, syn.dst_ip, syn.dst_port) == (1, 20, ip, port)
    else:
        port = parse_229(first(run.trace, "229").summary)
        assert syn.src == "client" and syn.dst_port == port and syn.dst_ip == "192.0.2.1"  # RFC 2428 §3
    assert reply in run.trace.kinds() and "LIST     ok" in run.summary()


@pytest.mark.parametrize("mode", ["active", "passive"])
def test_transfer_moves_the_right_bytes_both_ways(mode):
    run = scenarios.transfer(mode)
    retr = [r for r in run.client.results if r.name == "RETR"][0]
    assert retr.data == scenarios.NOTES
    assert run.files["home/alice/report.txt"] == b"all good\r\n"
    upload = [e for e in run.data() if e.kind == "DATA" and e.src == "client"]
    assert b"".join(e.raw for e in upload) == b"all good\r\n"
    xfer = run.xferlog().splitlines()
    assert [line.split()[8] for line in xfer] == ["/notes.txt", "/report.txt"]
    assert [line.split()[11] for line in xfer] == ["o", "i"]  # direction: outgoing, incoming


def test_each_transfer_gets_its_own_data_connection():
    run = scenarios.transfer("active")
    data = connections(run.trace, DATA_FLOW)
    assert len(data) == 2
    assert all(c[0].kind == "SYN" and c[0].src_port == 20 for c in data)
    assert len({c[0].dst_port for c in data}) == 2  # a fresh client port per PORT


def test_scenarios_leave_no_temporary_tree_behind():
    run = scenarios.jail_escape()
    assert run.site is None and "home/alice/notes.txt" in run.files
    assert "secret.txt" not in "".join(run.files)  # outside the server root: never part of it


def test_runs_are_deterministic():
    a, b = scenarios.transfer("passive"), scenarios.transfer("passive")
    assert a.trace.table() == b.trace.table()
    assert a.command_log() == b.command_log()


def test_password_crosses_the_wire_in_clear_but_is_not_logged():
    run = scenarios.transfer("passive")
    assert first(run.trace, "PASS").raw == b"PASS wonderland\r\n"
    assert "wonderland" not in run.command_log() and '"PASS ****" 230' in run.command_log()


# -- NAT and firewalls -------------------------------------------------------------------
def test_active_through_nat_fails_passive_works():
    active, passive = scenarios.through_nat("active"), scenarios.through_nat("passive")
    syns = [e for e in active.data() if e.kind == "SYN"]
    assert syns and all(e.lost and "blocked by nat" in e.summary for e in syns)
    assert all(e.src_port == 20 and e.dst_ip == "198.51.100.1" for e in syns)
    assert len(syns) >= 2  # retransmitted before giving up (RFC 6298 §5.5)
    assert "LIST     FAILED  425" in active.summary()
    assert "LIST     ok      226" in passive.summary()
    assert not any(e.lost for e in passive.trace)
    # the server only ever saw the NAT's address
    assert {e.src_ip for e in passive.trace if e.dst == "server"} == {"198.51.100.1"}


def test_active_through_nat_announcing_the_private_address_is_refused():
    run = scenarios.through_nat("active", announce="private")
    port_cmd = first(run.trace, "PORT")
    assert parse_host_port(port_cmd.summary)[0] == "192.0.2.10"
    assert "500" in run.trace.kinds() and not list(run.data())  # no data connection attempted


def test_client_firewall_blocks_the_inbound_data_connection():
    active, passive = scenarios.client_firewall("active"), scenarios.client_firewall("passive")
    assert any(e.kind == "SYN" and e.lost and "firewall" in e.summary for e in active.data())
    assert "LIST     FAILED  425" in active.summary()
    assert "LIST     ok      226" in passive.summary()


def test_server_firewall_allowing_only_21_breaks_passive():
    passive = scenarios.server_firewall("passive")
    active = scenarios.server_firewall("active")
    fixed = scenarios.server_firewall("passive", open_passive=True)
    lost = [e for e in passive.data() if e.lost]
    assert lost and all(e.kind == "SYN" and e.src == "client" for e in lost)
    # the client gives up on its SYNs first and aborts: 426 for LIST, 226 for ABOR (RFC 959 §4.1.3)
    assert "LIST     FAILED  426 connection timed out" in passive.summary()
    kinds = [e.kind for e in passive.control()]
    i = kinds.index("ABOR")  # each message twice: into the firewall and out of it
    assert kinds[i : i + 6] == ["ABOR", "ABOR", "426", "226", "426", "226"]
    assert not any(e.kind == "data timeout:" for e in passive.trace)  # ABOR came before it
    assert "LIST     ok      226" in active.summary()
    assert "LIST     ok      226" in fixed.summary()


# -- users, jail, bounce -------------------------------------------------------------
def test_three_kinds_of_user():
    anon, real, guest = (scenarios.login_as(k) for k in ("anonymous", "real", "guest"))
    assert [r.name for r in anon.client.results if r.name == "STOR"] == ["STOR", "STOR"]
    stor = [r for r in anon.client.results if r.name == "STOR"]
    assert stor[0].reply.code == 550 and stor[1].reply.code == 226  # only /incoming is writable
    assert [r.reply.code for r in real.client.results if r.name == "STOR"] == [226]
    assert [r.reply.code for r in guest.client.results if r.name == "STOR"] == [550]
    listing = [r for r in guest.client.results if r.name == "LIST"][0].data
    assert b"welcome.txt" in listing  # the guest lands in the shared account's home
    # xferlog access mode: a anonymous, r real (RFC-less wu-ftpd format, xferlog(5))
    assert anon.xferlog().split()[12] == "a" and real.xferlog().split()[12] == "r"
    assert anon.xferlog().split()[13] == "guest@example.org"  # anonymous: the password given


def test_jail_keeps_alice_inside():
    run = scenarios.jail_escape()
    codes = [(r.name, r.reply.code) for r in run.client.results]
    assert ("RETR", 550) in codes and codes.count(("RETR", 550)) == 2
    pwd = [r for r in run.client.results if r.name == "PWD"][0]
    assert pwd.reply.text.startswith('"/"')
    assert not any(scenarios.SECRET in e.raw for e in run.trace)


@pytest.mark.parametrize("permit", [False, True])
def test_bounce(permit):
    run = scenarios.bounce(permit=permit)
    to_victim = run.trace.where(dst="victim")
    if not permit:
        assert "500" in run.trace.kinds() and not list(to_victim)
        assert run.victim_received == b""
    else:
        syn = first(to_victim, "SYN")
        assert (syn.src, syn.src_port, syn.dst_port) == ("server", 20, 2525)
        assert bytes(run.victim_received) == scenarios.HELLO


# -- labels --------------------------------------------------------------------------------
def test_describe_control_reads_commands_and_multiline_replies():
    assert describe_control(b"PORT 192,0,2,10,195,80\r\n")[:2] == ("PORT", "192,0,2,10,195,80")
    kind, summary, message = describe_control(b"211-Features:\r\n EPSV\r\n MDTM\r\n211 End\r\n")
    assert kind == "211" and summary == "Features: (+3 lines)"
    assert message.reply.lines == ("Features:", " EPSV", " MDTM", "End")
    assert "positive completion" in message.show() and "RFC 959" in message.show()
    assert "RFC 959 §4.1" in describe_control(b"PORT 1,2,3,4,5,6\r\n")[2].show()
    assert "500" in describe_control(b"XYZZY\r\n")[2].show()
    assert describe_data(b"x" * 30)[1].startswith('30 bytes "xxxx') and describe_data(b"x" * 30)[1].endswith('..."')


def test_bad_mode_is_a_clear_error():
    with pytest.raises(ValueError, match="mode"):
        scenarios.login_list("sideways")


def test_connection_table_names_who_opened_each_connection():
    from refimpl.ftp.sim_glue import connection_table

    active = connection_table(scenarios.login_list("active").trace).splitlines()
    passive = connection_table(scenarios.login_list("passive").trace).splitlines()
    assert len(active) == len(passive) == 3  # header, control, data
    assert active[2].split()[:3] == ["ftp-data", "server->client", "192.0.2.1:20"]
    assert passive[2].split()[:2] == ["ftp-data", "client->server"] and "closed" in passive[2]
    blocked = connection_table(scenarios.through_nat("active").trace)
    assert "never established: 4 SYNs" in blocked


def test_nat_ftp_helper_rewrites_port_and_lets_the_data_connection_in():
    run = scenarios.through_nat("active", helper=True)
    ports = [e for e in run.trace if e.kind == "PORT"]
    inside, outside = [parse_host_port(e.summary) for e in ports]
    assert inside[0] == "192.0.2.10" and outside[0] == "198.51.100.1"  # rewritten on the way out
    syns = [e for e in run.data() if e.kind == "SYN"]
    assert [(e.src, e.dst, e.lost) for e in syns] == [("server", "nat", False), ("nat", "client", False)]
    assert syns[0].dst_port == outside[1] and syns[1].dst_port == inside[1] and syns[0].src_port == 20
    assert "LIST     ok      226" in run.summary()


def test_conversation_types_lines_and_waits_for_final_replies():
    run = scenarios.conversation(["USER anonymous", "PASS x@example.org", "FEAT", "NOPE", "QUIT"])
    codes = [r.code for r in run.client.replies]
    assert codes == [220, 331, 230, 211, 500, 221]
    assert len(run.client.replies[3].lines) > 2  # FEAT: one multi-line reply, parsed whole


def test_type_a_converts_line_ends_on_the_wire_type_i_does_not():
    ascii_run, binary_run = scenarios.transfer("passive", binary=False), scenarios.transfer("passive")
    got = {
        name: next(r for r in run.client.results if r.name == "RETR").data
        for name, run in (("A", ascii_run), ("I", binary_run))
    }
    assert got["I"] == scenarios.NOTES and got["A"] == scenarios.NOTES.replace(b"\n", b"\r\n")  # RFC 959 §3.1.1.1
    assert ascii_run.files["home/alice/report.txt"] == b"all good\n"
    assert [line.split()[9] for line in ascii_run.xferlog().splitlines()] == ["a", "a"]


# -- the glue with bigger files: many TCP segments, several session chunks ----------------


def _one_transfer(tmp_path, mode: str, data: bytes, upload: bool):
    from refimpl.ftp import JailedFS, ServerConfig, UserDB
    from refimpl.ftp.sim_glue import FtpClientHost, FtpServerHost
    from refimpl.sim.network import Network

    (tmp_path / "f.bin").write_bytes(b"" if upload else data)
    net = Network(seed=3)
    lan = net.segment("lan", "192.0.2.0/24")
    config = ServerConfig(users=UserDB(anonymous=True, anonymous_upload_dir="/"), chunk_size=4096)
    server = FtpServerHost(net.host("server", lan, ip="192.0.2.1/24"), config, JailedFS(tmp_path))
    client = FtpClientHost(net.host("client", lan, ip="192.0.2.10/24"), "192.0.2.1", mode=mode).connect()
    client.login()
    if upload:
        client.stor("/up.bin", data)
    else:
        client.retr("/f.bin")
    client.quit()
    net.run(until=60, max_events=50_000)
    return net, server, client


@settings(max_examples=12, deadline=None)
@given(
    mode=st.sampled_from(["active", "passive", "eprt", "epsv"]),
    size=st.integers(0, 20_000),
    upload=st.booleans(),
    seed=st.integers(0, 255),
)
def test_any_file_crosses_intact_in_any_mode(tmp_path_factory, mode, size, upload, seed):
    tmp_path = tmp_path_factory.mktemp("site")
    data = bytes((seed + i * 7) % 256 for i in range(size))
    net, server, client = _one_transfer(tmp_path, mode, data, upload)
    names = [(r.name, r.reply.code if r.reply else None) for r in client.results]
    op = "STOR" if upload else "RETR"
    assert (op, 226) in names, names
    if upload:
        assert (tmp_path / "up.bin").read_bytes() == data
    else:
        assert next(r for r in client.results if r.name == "RETR").data == data
    segments = [e for e in net.trace if e.kind == "DATA"]
    assert all(len(e.raw) <= net.mss for e in segments)  # cut into segments of at most one MSS
    assert sum(len(e.raw) for e in segments) == size
    assert server.xferlog()[0].split()[7] == str(size)


def test_sim_glue_drives_the_client_through_its_public_api_only():
    # the glue used to peek at client.waiting/current/data_done; data_failed and the
    # "4yz ends the wait for data" rule of the core replace that
    import inspect
    import re

    from refimpl.ftp import sim_glue

    source = inspect.getsource(sim_glue)
    peeks = re.findall(r"self\.client\.(waiting|current|data_done|replies|ops)\b", source)
    assert peeks == []
    assert "self.client.data_failed(" in source
