"""The network-boot lab: DHCP options 66/67 from our server, siaddr from dnsmasq, and the file fetched whole."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from refimpl.lab import netboot


def test_the_boot_file_takes_five_full_blocks_and_a_short_one():
    image = netboot.boot_image()
    assert len(image) == 3000 and divmod(len(image), 512) == (5, 440)
    assert image == netboot.boot_image(), "the same bytes every run"


def test_our_dhcp_server_is_told_options_66_and_67():
    dhcp, tftp = netboot.refimpl_commands(Path("/srv"))
    assert dhcp[dhcp.index("--tftp-server") + 1] == netboot.SERVER_ADDRESS
    assert dhcp[dhcp.index("--boot-file") + 1] == netboot.BOOT_FILE
    assert tftp[tftp.index("--port") + 1] == "69"


def test_only_the_two_servers_are_known():
    with pytest.raises(ValueError, match="'refimpl' or 'dnsmasq'"):
        netboot.netboot("kea", "/tmp/never-made")


@pytest.mark.parametrize("server", ["refimpl", "dnsmasq"])
def test_a_real_boot_fetches_the_file_named_by_dhcp(server, tmp_path):
    missing = netboot.missing_tools(server)
    if missing:
        pytest.skip("the network-boot lab needs " + ", ".join(missing))
    from refimpl.capture.dhcp import read_datagrams
    from refimpl.capture.tftp import read_tftp_trace

    run = netboot.netboot(server, tmp_path)
    assert hashlib.sha256(run.fetched).hexdigest() == hashlib.sha256(netboot.boot_image()).hexdigest()
    ack = next(d.message for d in read_datagrams(run.pcap) if d.message and d.message.message_type.name == "ACK")
    if server == "refimpl":  # options 66 and 67, the header left empty
        assert (ack.options.get(66), ack.options.get(67), ack.siaddr) == ("192.0.2.1", "boot.img", "0.0.0.0")
    else:  # dnsmasq: the next server in siaddr, the name in option 67 (this client asked for it), NUL-ended:
        # RFC 2132 §2, "the receiver of such options MUST be prepared to delete trailing nulls if they exist"
        assert (ack.options.get(66), ack.options.get(67), ack.siaddr) == (None, "boot.img\0", "192.0.2.1")
    data = [e for e in read_tftp_trace(run.pcap) if e.kind == "DATA"]
    assert [e.summary for e in data][-1] == "block=6 440 bytes" and len(data) == 6
