"""The argument types every command shares (refimpl.cli.args): what each takes, and what it says when it refuses."""

from __future__ import annotations

import argparse
import re

import pytest

from refimpl.cli import args


@pytest.mark.parametrize(
    "parse, text, value",
    [
        (args.positive(int), "3", 3),
        (args.positive(float, "seconds"), "0.5", 0.5),
        (args.not_negative(float), "0", 0.0),
        (args.port, "0", 0),
        (args.port, "65535", 65535),
        (args.port_range(), "30000-30100", (30000, 30100)),
        (args.port_range(), "30000:30100", (30000, 30100)),  # tftpd-hpa's way
        (args.port_range(), "7000", (7000, 7000)),
        (args.host_and_port(69), "192.0.2.1", ("192.0.2.1", 69)),
        (args.host_and_port(69), "192.0.2.1:6969", ("192.0.2.1", 6969)),
        (args.host_and_port(69), "[2001:db8::1]:6969", ("2001:db8::1", 6969)),
        (args.host_and_port(69), "2001:db8::1", ("2001:db8::1", 69)),
        (args.ipv4_address, " 192.0.2.1", "192.0.2.1"),
        (args.ipv4_network, "192.0.2.1/24", "192.0.2.0/24"),
        (args.address_pool, "192.0.2.10 - 192.0.2.20", ("192.0.2.10", "192.0.2.20")),
        (args.network_interface, "lo", "lo"),
        (args.log_file, "-", "-"),
    ],
)
def test_accepts(parse, text, value):
    assert parse(text) == value


@pytest.mark.parametrize(
    "parse, text, message",
    [
        (args.positive(int, "seconds"), "0", "expected a positive number of seconds, got '0'"),
        (args.positive(int), "ten", "expected a positive number, got 'ten'"),
        (args.not_negative(float, "seconds"), "-1", "expected zero or more seconds, got '-1'"),
        (args.port, "65536", "expected a port 0..65535, got '65536'"),
        (args.port_range(lowest=1024), "80-90", "need 1024 <= LOW <= HIGH <= 65535, got '80-90'"),
        (args.port_range(), "9-8", "need 1 <= LOW <= HIGH <= 65535, got '9-8'"),
        (args.port_range(), "a-b", "expected LOW-HIGH, got 'a-b'"),
        (args.host_and_port(69), "host:port", "bad port in 'host:port'"),
        (args.host_and_port(69), ":69", "expected HOST[:PORT], got ':69'"),
        (args.ipv4_address, "192.0.2.300", "not an IPv4 address: '192.0.2.300'"),
        (args.ipv4_network, "192.0.2.0/33", "not an IPv4 network"),
        (args.address_pool, "192.0.2.10", "expected FIRST-LAST, got '192.0.2.10'"),
        (args.address_pool, "192.0.2.20-192.0.2.10", "empty pool: 192.0.2.20 is after 192.0.2.10"),
        (args.network_interface, "nosuch0", "no interface 'nosuch0'"),
        (args.network_interface, "../lo", "no interface '../lo'"),
        (args.existing_directory, "/nonexistent/dir", "not an existing directory: '/nonexistent/dir'"),
        (args.file_to_write, "/nonexistent/dir/leases.csv", "no directory '/nonexistent/dir'"),
        (args.log_file, "/nonexistent/dir/x.log", "no directory '/nonexistent/dir'"),
    ],
)
def test_refuses_with_a_clear_message(parse, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match="^" + re.escape(message)):
        parse(text)


def test_directories_and_files_that_are_there(tmp_path):
    assert args.existing_directory(str(tmp_path)) == str(tmp_path)
    assert args.file_to_write(str(tmp_path / "new.csv")) == str(tmp_path / "new.csv")


def test_an_argparse_error_quotes_the_option_and_the_message(capsys):
    parser = argparse.ArgumentParser(prog="demo")
    parser.add_argument("--pool", type=args.address_pool)
    with pytest.raises(SystemExit) as stop:
        parser.parse_args(["--pool", "192.0.2.20-192.0.2.10"])
    assert stop.value.code == 2
    assert "demo: error: argument --pool: empty pool: 192.0.2.20 is after 192.0.2.10" in capsys.readouterr().err


def test_run_subcommand_routes_by_the_first_word(capsys):
    seen = []
    commands = {"a-thing": lambda argv: seen.append(argv) or 0}
    assert args.run_subcommand(commands, ["a-thing", "--x"]) == 0 and seen == [["--x"]]
    assert args.run_subcommand(commands, ["other"]) == 2
    assert args.run_subcommand(commands, []) == 2
    assert "usage: python -m refimpl {a-thing} ..." in capsys.readouterr().err
