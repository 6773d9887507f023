"""Smoke test of the FTP bench's helpers against our server (small files, not timed)."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil

import pytest

from refimpl.bench import ftp, ftp_load, ftp_peers


@pytest.fixture
def tree(tmp_path):
    root = str(tmp_path / "root")
    os.mkdir(root)
    ftp_peers.make_tree(root, listing_files=3)
    big = os.path.join(root, "pub", "big.bin")
    sha = ftp.write_random_file(big, 2_000_000)
    yield root, big, sha
    shutil.rmtree(root, ignore_errors=True)


def test_random_file_hash_matches_its_bytes(tree):
    _, big, sha = tree
    assert os.path.getsize(big) == 2_000_000
    assert ftp.sha256_of(big) == sha


def test_retr_stor_and_crowd_against_our_server(tree):
    root, big, sha = tree
    with ftp_peers.start_ours(root) as peer:
        assert peer.proc.poll() is None
        # RETR: every byte arrives, unchanged
        sink = io.BytesIO()
        got, seconds = ftp_load.retr(peer.port, "/pub/big.bin", sink=sink)
        assert got == 2_000_000 and seconds > 0
        assert hashlib.sha256(sink.getvalue()).hexdigest() == sha
        # STOR through the bench's own measurement: checks size and hash, removes the upload
        retr_mbs, stor_mbs = ftp.measure_transfers(peer.port, "ours", root, big, 2_000_000, 0, check_sha=sha)
        assert len(retr_mbs) == ftp.RETR_PER_ROUND and min(retr_mbs) > 0 and stor_mbs > 0
        assert os.listdir(os.path.join(root, "incoming")) == []
        # a small crowd: all log in and get a non-empty listing
        result = ftp_load.crowd(peer.port, clients=10, timeout=20)
        assert result.ok == 10, result.errors
        assert result.per_second > 0
        proc = peer.proc
    assert proc.poll() is not None  # the context manager stopped the server


def test_stor_of_existing_name_is_reported(tree):
    """Anonymous may not overwrite: the bench must see a refusal, not a silent success."""
    root, big, _ = tree
    with ftp_peers.start_ours(root) as peer:
        ftp_load.stor(peer.port, "/incoming/once.bin", big)
        with pytest.raises(ftp_load.FTPBenchError):
            ftp_load.stor(peer.port, "/incoming/once.bin", big)


def test_loopback_copy_moves_the_whole_file(tree):
    _, big, _ = tree
    total, seconds = ftp_load.loopback_copy(big)
    assert total == 2_000_000 and seconds > 0


def test_run_output_lines_parse(monkeypatch):
    """The section's lines, with only our server (peers may be missing here), parse as rows and ratios."""
    monkeypatch.setattr(ftp, "CROWD_TIMEOUT", 20.0)
    lines = ftp.run(size=1_000_000, rounds=1, crowd=5, peers=("ours",))
    row = re.compile(
        r"^  (RETR|STOR|LOGIN)\s+(\S+)\s+best\s+(\d+) (MB/s|logins/s)\s+median\s+(\d+) \4\s+\((\d+) runs\)"
    )
    rows = [m.groups() for m in map(row.match, lines) if m]
    assert {(kind, name) for kind, name, *_ in rows} == {("RETR", "ours"), ("STOR", "ours"), ("LOGIN", "ours")}
    for kind, _name, best, _unit, median, runs in rows:
        assert int(best) >= int(median) >= 0
        assert int(runs) == (ftp.RETR_PER_ROUND if kind == "RETR" else 1)
    assert not any("failed clients" in line for line in lines)


def test_ratio_lines_and_skips():
    assert ftp.ratio_lines("RETR", {"ours": [200.0, 90.0, 100.0], "vsftpd": [100.0, 80.0, 50.0]}) == [
        "  RETR   ratio ours/vsftpd: 2.00 best, 1.25 median"
    ]
    assert ftp.ratio_lines("RETR", {"ours": [200.0]}) == []


def test_vsftpd_skips_clearly_when_not_root(tree, monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(ftp_peers.Skip, match="root|not installed"):
        with ftp_peers.start_vsftpd(tree[0]):
            pass
