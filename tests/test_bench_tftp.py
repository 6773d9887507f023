"""Smoke test of the TFTP bench's helpers against our server and tftpd-hpa (small files, not timed)."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest

from refimpl.bench import ftp, tftp


def need_tools() -> None:
    """Skip, saying what to install, unless curl and tftpd-hpa can run here (CI installs both, as root)."""
    why = tftp.missing("in.tftpd", "curl")
    if why:
        pytest.skip(f"TFTP bench {why}")
    if os.geteuid() != 0:
        pytest.skip("TFTP bench: tftpd-hpa needs root (each transfer's child switches to --user)")


@pytest.fixture
def root(tmp_path):
    served = tmp_path / "root"
    served.mkdir()
    sha = ftp.write_random_file(str(served / "file.bin"), 100_000)  # 196 blocks of 512, the last one short
    return str(served), sha


@pytest.mark.needs_tool
def test_both_servers_serve_the_same_bytes_and_stop(root, tmp_path):
    need_tools()
    served, sha = root
    procs = []
    with tftp.start_ours(served) as ours, tftp.start_tftpd_hpa(served) as hpa:
        for server in (ours, hpa):
            assert server.proc.poll() is None
            procs.append(server.proc)
            for blksize in (512, 1428):
                seconds = tftp.download(server.port, "file.bin", str(tmp_path / "got.bin"), blksize, 100_000, sha)
                assert seconds > 0
                assert not (tmp_path / "got.bin").exists()  # download() removes what it checked
            result = tftp.crowd(server.port, "file.bin", sha, clients=10, timeout=20)
            assert (result.ok, result.errors) == (10, {}), server.name
            assert result.per_second > 0 and result.client_cpu >= 0
    for proc in procs:  # stopped, and nothing left in their process groups (tftpd-hpa's children)
        assert proc.poll() is not None
        assert not tftp.group_alive(proc.pid)


@pytest.mark.needs_tool
def test_a_wrong_or_missing_file_is_an_error_not_a_figure(root, tmp_path):
    need_tools()
    served, sha = root
    with tftp.start_ours(served) as ours:
        with pytest.raises(tftp.TftpBenchError, match="SHA-256"):
            tftp.download(ours.port, "file.bin", str(tmp_path / "got.bin"), 512, 100_000, "0" * 64)
        with pytest.raises(tftp.TftpBenchError, match="curl exit"):
            tftp.download(ours.port, "no-such-file.bin", str(tmp_path / "got.bin"), 512, 100_000, sha)
        with pytest.raises(tftp.TftpBenchError, match="not the file"):
            tftp.crowd(ours.port, "file.bin", "0" * 64, clients=3, timeout=20)
        result = tftp.crowd(ours.port, "no-such-file.bin", sha, clients=3, timeout=20)
        assert result.ok == 0 and result.errors == {"ERROR 1 File not found": 3}, result.errors  # our server's words
    assert not list(tmp_path.glob("got.bin"))


@pytest.mark.needs_tool
def test_run_output_lines_parse_and_nothing_is_left(tmp_path, monkeypatch):
    """The section's lines with tiny sizes: a row per server and block size, the ratios; temp dir gone."""
    need_tools()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    # 2 MB: long enough (a quarter of a second) for tftpd-hpa's child to show in clock ticks
    lines = tftp.run(size=2_000_000, rounds=2, crowd_clients=5, crowd_rounds=1)
    row = re.compile(
        r"^  (512|1428|CROWD)\s+(ours|tftpd-hpa)\s+best\s+([\d.]+) (MB/s|files/s)\s+"
        r"median\s+([\d.]+) \4\s+\((\d+) runs\)"
    )
    rows = [m.groups() for m in map(row.match, lines) if m]
    assert {(label, name) for label, name, *_ in rows} == {
        (label, name) for label in ("512", "1428", "CROWD") for name in ("ours", "tftpd-hpa")
    }, lines
    for label, _, best, _, median, runs in rows:
        assert float(best) >= float(median) > 0
        assert int(runs) == (1 if label == "CROWD" else 2)
    ratios = [line for line in lines if "ratio ours/tftpd-hpa:" in line]
    assert len(ratios) == 3 and all(re.search(r": [\d.]+ best, [\d.]+ median$", line) for line in ratios)
    per_block = re.compile(
        r"^  (512|1428)\s+per block \(median\): round trip ours ([\d.]+) us, tftpd-hpa ([\d.]+) us; "
        r"server CPU ours ([\d.]+) us, tftpd-hpa ([\d.]+) us \(our core alone ([\d.]+) us\)$"
    )
    costs = [m.groups() for m in map(per_block.match, lines) if m]
    assert [label for label, *_ in costs] == ["512", "1428"], lines
    for _, *figures in costs:
        trip_ours, trip_hpa, cpu_ours, cpu_hpa, core = map(float, figures)
        assert trip_ours > 0 and trip_hpa > 0 and core > 0
        assert cpu_ours > core  # the core is a part of our server's CPU, never all of it
        assert cpu_hpa > 0  # tftpd-hpa's CPU is in its per-transfer child: counted, not zero
    assert not any("skipped" in line or "failed" in line for line in lines), lines
    assert os.listdir(tmp_path) == []


def test_core_cost_is_per_block_and_checks_the_transfer_ended():
    small, big = tftp.core_cost(512, size=100_000), tftp.core_cost(1428, size=100_000)
    assert 0 < small < 1e-3 and 0 < big < 1e-3  # microseconds a block, not milliseconds
    assert tftp.blocks_of(100_000, 512) == 196 and tftp.blocks_of(1024, 512) == 3  # an empty last block


def test_per_block_line():
    line = tftp.per_block_line("512", {"ours": [80e-6, 90e-6, 70e-6], "tftpd-hpa": [60e-6]}, {"ours": [4e-5]}, 4.2e-6)
    assert line == (
        "  512     per block (median): round trip ours 80.0 us, tftpd-hpa 60.0 us;"
        " server CPU ours 40.0 us (our core alone 4.2 us)"
    )


def test_ratio_line():
    assert tftp.ratio_line("512", {"ours": [5.0, 4.0, 3.0], "tftpd-hpa": [10.0, 8.0, 2.0]}) == [
        "  512     ratio ours/tftpd-hpa: 0.50 best, 0.50 median"
    ]
    assert tftp.ratio_line("512", {"ours": [5.0]}) == []


def test_missing_tools_say_which_package(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    assert tftp.missing("in.tftpd", "curl") == "needs in.tftpd, curl: apt-get install curl tftpd-hpa"
    assert tftp.run() == ["  skipped: the client: needs curl: apt-get install curl"]
    with pytest.raises(tftp.Skip, match="apt-get install tftpd-hpa"):
        with tftp.start_tftpd_hpa("/nonexistent"):
            pass
