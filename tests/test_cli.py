"""The entry point: every command in the table answers --help, and unknown commands fail clearly."""

from __future__ import annotations

import subprocess
import sys

import pytest

from refimpl.__main__ import COMMANDS


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "refimpl", *args], capture_output=True, text=True, timeout=60)


def test_help_lists_every_command():
    out = _run("--help").stdout
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_answers_help(name):
    result = _run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip(), f"{name} --help printed nothing"


def test_unknown_command_is_a_usage_error():
    result = _run("dhcp-sever")
    assert result.returncode == 2
    assert "unknown command 'dhcp-sever'" in result.stderr
