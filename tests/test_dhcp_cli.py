"""The dhcp-server / dhcp-client / dhcp-relay commands: help, argument checking, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from refimpl.cli import dhcp as dhcp_cli


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "refimpl", *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "command, words",
    [
        (
            "dhcp-server",
            ["--interface", "--server-ip", "--pool", "--lease-time", "--router", "--dns", "--lease-file"]
            + ["--offer-hold", "--offer-min-hold", "--offers-per-mac", "--offers-per-relay"],
        ),
        ("dhcp-client", ["--interface", "--once", "--release", "--configure"]),
        ("dhcp-relay", ["--client-interface", "--server"]),
    ],
)
def test_help(command, words):
    result = run(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m refimpl {command}")
    for word in words:
        assert word in result.stdout


def test_subcommands_flag_and_routing():
    assert dhcp_cli.SUBCOMMANDS is True
    assert set(dhcp_cli.COMMANDS) == {"dhcp-server", "dhcp-client", "dhcp-relay"}
    assert dhcp_cli.main(["nonsense"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--interface", "lo", "--server-ip", "192.0.2.1", "--pool", "192.0.2.20-192.0.2.10"], "empty pool"),
        (["--interface", "lo", "--server-ip", "192.0.2.1", "--pool", "192.0.2.10"], "expected FIRST-LAST"),
        (["--interface", "lo", "--server-ip", "192.0.2.300", "--pool", "192.0.2.10-192.0.2.20"], "not an IPv4 address"),
        (
            ["--interface", "lo", "--server-ip", "192.0.2.1", "--pool", "192.0.2.10-192.0.2.20", "--lease-time", "0"],
            "positive number",
        ),
        (["--server-ip", "192.0.2.1", "--pool", "192.0.2.10-192.0.2.20"], "--interface"),
    ],
)
def test_server_rejects_bad_arguments(args, message):
    result = run("dhcp-server", *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_unknown_interface_is_a_clear_error():
    for args in (
        ["dhcp-server", "--interface", "nosuch0", "--server-ip", "192.0.2.1", "--pool", "192.0.2.10-192.0.2.20"],
        ["dhcp-client", "--interface", "nosuch0", "--once"],
        ["dhcp-relay", "--client-interface", "nosuch0", "--server", "192.0.2.1"],
    ):
        result = run(*args)
        assert result.returncode == 2 and "no interface 'nosuch0'" in result.stderr, result.stderr


def test_relay_rejects_a_bad_server_address():
    result = run("dhcp-relay", "--client-interface", "lo", "--server", "not-an-ip")
    assert result.returncode == 2 and "not an IPv4 address" in result.stderr


def test_network_default():
    class Args:
        network = None
        pool = ("192.0.2.10", "192.0.2.20")

    assert dhcp_cli._network_for(Args, ("192.0.2.1", "255.255.255.0")) == "192.0.2.0/24"
    assert dhcp_cli._network_for(Args, ("198.51.100.2", "255.255.255.0")) == "192.0.2.0/24"  # relayed pool
    Args.network = "192.0.2.0/25"
    assert dhcp_cli._network_for(Args, None) == "192.0.2.0/25"
