"""Smoke test of the windowsize rows of ``bench tftp`` (refimpl.bench.tftp_windows): small files, not timed."""

from __future__ import annotations

import os
import re

import pytest

from refimpl.bench import ftp, tftp, tftp_windows


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    os.chmod(tmp_path, 0o755)
    os.chmod(root, 0o755)
    sha = ftp.write_random_file(str(root / "file.bin"), 200_000)
    os.chmod(root / "file.bin", 0o644)  # tftpd-hpa serves world-readable files only
    return str(root), sha


def test_the_thin_client_gets_windows_from_our_server(served):
    """RFC 7440 §3: the OACK grants what was asked (up to our 64); the bytes are checked."""
    root, sha = served
    with tftp.start_ours(root) as ours:
        for windowsize in (1, 8, 16, 100):
            seconds, granted = tftp_windows.download(ours.port, "file.bin", 512, windowsize, sha)
            assert seconds > 0 and granted == min(windowsize, 64)
        seconds, granted = tftp_windows.download(ours.port, "file.bin", 1428, None, sha)
        assert granted == 1  # no windowsize asked: lock-step
        with pytest.raises(tftp_windows.WindowBenchError, match="SHA-256"):
            tftp_windows.download(ours.port, "file.bin", 512, 8, "0" * 64)
        with pytest.raises(tftp_windows.WindowBenchError, match="ERROR 1"):
            tftp_windows.download(ours.port, "no-such-file", 512, 8, sha)


@pytest.mark.needs_tool
def test_rows_put_each_windowsize_beside_tftpd_hpa(served):
    """One line per server and windowsize at each block size, then ours/tftpd-hpa for each windowsize."""
    why = tftp.missing("in.tftpd")
    if why:
        pytest.skip(f"TFTP bench {why}")
    if os.geteuid() != 0:
        pytest.skip("TFTP bench: tftpd-hpa needs root (each transfer's child switches to --user)")
    root, sha = served
    with tftp.start_ours(root) as ours, tftp.start_tftpd_hpa(root) as hpa:
        servers = {"ours": ours.port, "tftpd-hpa": hpa.port}
        lines = tftp_windows.rows(servers, "file.bin", 200_000, sha, (512, 1428), rounds=2)
    row = re.compile(r"^  (w512|w1428)\s+(ours w1|ours w8|ours w16|tftpd-hpa)\s+best\s+([\d.]+) MB/s\s+median")
    rows = {m.group(1, 2) for m in map(row.match, lines) if m}
    assert rows == {(b, n) for b in ("w512", "w1428") for n in ("ours w1", "ours w8", "ours w16", "tftpd-hpa")}
    ratios = [line for line in lines if re.search(r"ratio ours w\d+/tftpd-hpa: [\d.]+ best, [\d.]+ median$", line)]
    assert len(ratios) == 6 and not any("skipped" in line for line in lines), lines
