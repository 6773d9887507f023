"""``bench dns``: dnsperf against our dns-server and BIND 9, one short round each (not a measurement)."""

from __future__ import annotations

import re
import shutil

import pytest

from refimpl.bench import dns


def need(tool: str, package: str) -> None:
    if not (shutil.which(tool) or shutil.which(f"/usr/sbin/{tool}")):
        pytest.skip(f"bench dns needs {tool} (Debian package {package})")


@pytest.mark.needs_tool
@pytest.mark.slow
def test_both_servers_answer_the_same_codes_and_the_ratio_is_printed():
    need("dnsperf", "dnsperf")
    need("named", "bind9")
    lines = dns.run(seconds=1.0, rounds=1)
    text = "\n".join(lines)
    ours = next(line for line in lines if line.strip().startswith("ours"))
    bind = next(line for line in lines if line.strip().startswith("BIND 9 (named"))
    for line in (ours, bind):
        assert float(re.search(r"(\d+) queries/s", line).group(1)) > 0
        assert "NOERROR 88%, NXDOMAIN 12%" in line, text  # 7 of the 8 names exist (QUERIES), both servers agree
        assert "lost 0.0%" in line, text
    assert re.search(r"ratio BIND 9 / ours: \d+\.\dx", text), text


@pytest.mark.needs_tool
def test_servers_stop_after_the_bench():
    need("dnsperf", "dnsperf")
    with dns.ours() as port:
        assert dns.answers(port)
    assert not dns.answers(port)
