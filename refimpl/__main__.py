"""``python -m refimpl COMMAND ...``: one entry point for every tool of the course.

Each command lives in its own module that exposes ``main(argv) -> int``; this
table only names them, so importing the entry point stays fast and a command's
heavy imports happen only when that command runs.
"""

from __future__ import annotations

import importlib
import sys

#: command name -> (module, one-line description)
COMMANDS: dict[str, tuple[str, str]] = {
    "release": ("refimpl.grading.release", "generate exercises/ from solutions/"),
    "grade": ("refimpl.grading.grade", "grade student notebooks against an assignment (sandboxed)"),
    "check": ("refimpl.grading.check", "self-check a saved exercise notebook against its public checks"),
    "student-release": ("refimpl.grading.student_release", "write the course as students get it (no solutions)"),
    "site": ("refimpl.site.build", "write the course as a static web site (no solutions), default site/"),
    "refresh": ("refimpl.grading.refresh", "re-run edited notebooks and store them tidy (for nbval)"),
    "bench": ("refimpl.bench", "run the benchmarks and print ratios against the peers"),
    "dhcp-server": ("refimpl.cli.dhcp", "run the DHCP server on a real interface"),
    "dhcp-client": ("refimpl.cli.dhcp", "run the DHCP client on a real interface"),
    "dhcp-relay": ("refimpl.cli.dhcp", "run the DHCP relay agent on a real interface"),
    "ftp-server": ("refimpl.cli.ftp", "run the FTP server"),
    "tftp-server": ("refimpl.cli.tftp", "run the TFTP server"),
    "tftp-get": ("refimpl.cli.tftp", "download a file from a TFTP server"),
    "tftp-put": ("refimpl.cli.tftp", "upload a file to a TFTP server"),
    "dns-server": ("refimpl.cli.dns", "run an authoritative DNS server for one zone file"),
    "dns-query": ("refimpl.cli.dns", "ask a DNS server one question (stub resolver)"),
    "diagram": (
        "refimpl.cli.diagram",
        "export a scenario's or a capture's sequence diagram (Mermaid, PlantUML, mscgen, SVG, PDF)",
    ),
    "dhcp-capture": ("refimpl.capture.record_dhcp", "record a real DHCP exchange in namespaces (root)"),
    "ftp-capture": ("refimpl.capture.record_ftp", "record a real FTP session on loopback (root, tcpdump)"),
    "tftp-capture": ("refimpl.capture.record_tftp", "record real TFTP programs on loopback (root, tcpdump)"),
}


def usage() -> str:
    lines = ["usage: python -m refimpl COMMAND [ARGS...]", "", "commands:"]
    width = max(len(name) for name in COMMANDS)
    for name, (_, text) in COMMANDS.items():
        lines.append(f"  {name:<{width}}  {text}")
    lines.append("")
    lines.append("Run 'python -m refimpl COMMAND --help' for a command's options.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"refimpl: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module_name, _ = COMMANDS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            print(f"refimpl: command {name!r} is not available in this version", file=sys.stderr)
            return 2
        raise
    # Commands sharing a module (dhcp-server/-client/-relay) receive their own name first.
    if getattr(module, "SUBCOMMANDS", None):
        return int(module.main([name, *rest]) or 0)
    return int(module.main(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
