"""``python -m refimpl diagram``: a sequence diagram for a slide, from a scenario or a capture.

    python -m refimpl diagram dhcp.one_client --format mermaid
    python -m refimpl diagram ftp.login_list --format plantuml -o login.puml
    python -m refimpl diagram --pcap refimpl/data/captures/dhcp_udhcpc.pcap --format svg -o lease.svg
    python -m refimpl diagram --pcap ftp.pcap --protocol ftp --port 42021 --format mscgen

A scenario is ``PROTOCOL.NAME`` of a function in ``refimpl.PROTOCOL.scenarios``
(dhcp, ftp, tftp), run with its defaults. Text formats (mermaid, plantuml,
mscgen; :mod:`refimpl.viz.export`) go to standard output unless ``-o`` is
given; pictures (svg, pdf, png) need ``-o``. Exit 0 when written, 1 when the
scenario or capture cannot be read, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
from pathlib import Path

from refimpl.cli.args import port

PROTOCOLS = ("dhcp", "ftp", "tftp")
TEXT = ("mermaid", "plantuml", "mscgen")
PICTURES = ("svg", "pdf", "png")
RUNS = ("Scenario", "FtpRun")  # the return annotations of a scenario function


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m refimpl diagram", description="Export a sequence diagram.")
    p.add_argument("scenario", nargs="?", help="PROTOCOL.NAME, e.g. dhcp.one_client (or give --pcap)")
    p.add_argument("--pcap", type=Path, help="read a capture instead of running a scenario")
    p.add_argument("--protocol", choices=PROTOCOLS, default="dhcp", help="the capture's protocol (default dhcp)")
    p.add_argument("--port", type=port, help="FTP control port or TFTP server port of the capture (21 / 69)")
    p.add_argument("--format", choices=TEXT + PICTURES, default="mermaid", help="default mermaid")
    p.add_argument("--times", action="store_true", help="put each message's time in its label")
    p.add_argument("-o", "--output", type=Path, help="file to write (required for svg, pdf, png)")
    return p


class DiagramError(Exception):
    """What the user asked for cannot be drawn: said in one line, no traceback."""


def stories(module) -> dict:
    """The module's scenarios: its public functions that return a run (``-> Scenario`` / ``-> FtpRun``)."""
    return {
        name: f
        for name, f in vars(module).items()
        if isinstance(f, types.FunctionType)
        and not name.startswith("_")
        and f.__module__ == module.__name__
        and f.__annotations__.get("return") in RUNS
    }


def scenario_trace(spec: str):
    protocol, _, name = spec.partition(".")
    if protocol not in PROTOCOLS or not name:
        raise DiagramError(f"{spec!r}: give PROTOCOL.NAME with PROTOCOL one of {', '.join(PROTOCOLS)}")
    module = importlib.import_module(f"refimpl.{protocol}.scenarios")
    known = stories(module)
    if name not in known:
        raise DiagramError(
            f"no scenario {name!r} in refimpl.{protocol}.scenarios; try one of: {', '.join(sorted(known))}"
        )
    try:
        return known[name]().trace
    except TypeError as exc:  # a scenario that needs arguments (ftp.conversation takes the lines)
        raise DiagramError(f"{spec} cannot run with its defaults: {exc}") from None


def capture_trace(path: Path, protocol: str, server_port: int | None):
    if not path.is_file():
        raise DiagramError(f"{path}: no such file")
    try:
        if protocol == "dhcp":
            from refimpl.capture.dhcp import read_trace

            return read_trace(path)
        if protocol == "ftp":
            from refimpl.capture.ftp import read_ftp_trace

            return read_ftp_trace(path, control_port=server_port or 21)
        from refimpl.capture.tftp import read_tftp_trace

        return read_tftp_trace(path, server_port=server_port or 69)
    except (ValueError, OSError, EOFError) as exc:  # scapy says Scapy_Exception (a subclass of Exception)
        raise DiagramError(f"{path}: not a readable {protocol} capture ({exc})") from None


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if (args.scenario is None) == (args.pcap is None):
        p.error("give a scenario (e.g. dhcp.one_client) or --pcap FILE, not both")
    if args.format in PICTURES and args.output is None:
        p.error(f"--format {args.format} writes a picture: give -o FILE.{args.format}")
    try:
        trace = scenario_trace(args.scenario) if args.scenario else capture_trace(args.pcap, args.protocol, args.port)
    except DiagramError as exc:
        print(f"diagram: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - scapy's own errors on a file that is no pcap
        print(f"diagram: {args.pcap}: cannot be read ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 1
    if not len(trace):
        print("diagram: the trace is empty: nothing to draw", file=sys.stderr)
        return 1
    if args.format in TEXT:
        from refimpl.viz.export import export_text

        text = export_text(trace, args.format, times=args.times)
        if args.output is None:
            sys.stdout.write(text)
        else:
            args.output.write_text(text, encoding="utf-8")
        return 0
    if args.output.suffix.lower() != f".{args.format}":
        p.error(f"-o {args.output}: the file name must end in .{args.format}")
    from refimpl.viz.export import save_figure
    from refimpl.viz.sequence import sequence_diagram

    save_figure(sequence_diagram(trace), args.output)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
