"""``python -m refimpl bench [FILTER]``: run the benchmark sections and print their lines.

Each section is a module exposing ``run() -> list[str]``. Sections measure our
code beside a peer (scapy, a real server, ...) *in the same run*, so the ratio
means something on whatever machine runs it. Add a section by appending its
module name to :data:`SECTIONS`.
"""

from __future__ import annotations

import importlib
import sys
import time

#: the benchmark modules, in the order they run
SECTIONS: list[str] = [
    "refimpl.bench.dhcp_codec",
    "refimpl.bench.dhcp_leases",
    "refimpl.bench.grading",
    "refimpl.bench.dhcp_load",
    "refimpl.bench.ftp",
    "refimpl.bench.dhcp_sim",
    "refimpl.bench.tftp",
    "refimpl.bench.dns",
]


def main(argv: list[str] | None = None) -> int:
    """Run the section named FILTER, or else every section whose module name contains it (all when none is given)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m refimpl bench [FILTER]\n\nsections:\n  " + "\n  ".join(SECTIONS))
        return 0
    wanted = argv[0] if argv else ""
    # A section's own name picks that section alone ("ftp" is not also "tftp"); else any that contain FILTER.
    chosen = [name for name in SECTIONS if name.rpartition(".")[2] == wanted] or [
        name for name in SECTIONS if wanted in name
    ]
    if not chosen:
        print(f"bench: no section matches {wanted!r}; sections: {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    for name in chosen:
        start = time.perf_counter()
        print(f"== {name}")
        for line in importlib.import_module(name).run():
            print(line)
        print(f"   ({time.perf_counter() - start:.1f} s)")
    return 0
