"""Kill our server with SIGKILL under load, start it again: no acknowledged lease is lost,
and no address is ever given to two clients. Five rounds, each killed at a random moment."""

from __future__ import annotations

import json
import random
import signal
import time

import pytest
from dhcp_real_harness import LOADGEN, PY, need_lab, start_server, wait_until

from refimpl.dhcp.leasefile import LeaseFile
from refimpl.lab.netns import two_hosts

pytestmark = [pytest.mark.needs_root, pytest.mark.slow]

ROUNDS = 5


def acks(path) -> list[tuple[str, str, float]]:
    lines = path.read_text().splitlines() if path.exists() else []
    return [tuple(json.loads(line)) for line in lines if line.endswith("]")]


def test_sigkill_under_load_loses_no_acknowledged_lease(tmp_path):
    need_lab()
    leases = tmp_path / "leases.csv"
    ack_log = tmp_path / "acks.jsonl"
    script = tmp_path / "loadgen.py"
    script.write_text(LOADGEN)
    rng = random.Random(2026)
    with two_hosts("crash", b="load", b_address="192.0.2.2/24") as (server, load, s_if, _):
        args = [
            "--interface",
            s_if,
            "--server-ip",
            "192.0.2.1",
            "--pool",
            "192.0.2.10-192.0.2.250",
            "--lease-file",
            str(leases),
            "--quiet",
        ]
        generator = load.run([PY, str(script), "192.0.2.1", "192.0.2.2", "60", "120", str(ack_log)], background=True)
        seen_before = 0
        for round_number in range(ROUNDS):
            srv, log = start_server(server, tmp_path, *args, name=f"server{round_number}")
            # Load flows for a random while (at least a few new ACKs), then SIGKILL: no goodbye, no flush.
            enough = seen_before + 20
            wait_until(lambda enough=enough: len(acks(ack_log)) >= enough, 20, f"ACKs in round {round_number}")
            time.sleep(rng.uniform(0.0, 0.8))
            srv.send_signal(signal.SIGKILL)
            srv.wait(timeout=10)
            time.sleep(0.3)  # datagrams already in flight reach the generator's log
            got = [a for a in acks(ack_log) if a[1] != "NAK"]
            assert len(got) > seen_before
            seen_before = len(got)
            # Every ACK the clients received is in the lease file, bound to that client.
            on_disk = {r.address: r for r in LeaseFile(leases).replay()}
            for mac, address, _ in got:
                record = on_disk.get(address)
                assert record is not None, f"round {round_number}: ACKed {address} to {mac} is not in the lease file"
                assert record.hwaddr == mac and record.state == "bound", (round_number, mac, record)
        generator.terminate()
        generator.wait(timeout=10)
    got = [a for a in acks(ack_log) if a[1] != "NAK"]
    holder: dict[str, str] = {}
    for mac, address, _ in got:
        # One address per client, and never one address for two clients (leases last an hour).
        assert holder.setdefault(address, mac) == mac, f"{address} given to {holder[address]} and to {mac}"
    by_mac: dict[str, set[str]] = {}
    for mac, address, _ in got:
        by_mac.setdefault(mac, set()).add(address)
    assert all(len(addresses) == 1 for addresses in by_mac.values()), by_mac
    assert len(got) >= ROUNDS * 20
