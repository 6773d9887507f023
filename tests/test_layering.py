"""Dependencies point one way: a test reads every module's imports and checks the layers.

The rules (README, "What is where"):

- the cores (``dhcp/``, ``ftp/``, ``tftp/``), ``sim/``, ``trace.py`` and ``jail.py``
  import only the standard library and each other, never ``sockets/``,
  ``capture/``, ``cli/``, ``lab/``, ``viz/``, ``grading/``, ``bench/``, asyncio or a
  third-party package;
- ``sim/`` knows no protocol: it imports no core;
- nothing imports ``viz/`` but ``viz/`` itself and the few modules whose job is a
  picture (notebooks do, and they are not modules): grading feedback, the
  ``diagram`` command, and ``refresh``, which stores a notebook's pictures compactly;
- ``sockets/`` never imports ``capture/``, ``cli/`` or ``lab/``; ``capture/`` never
  imports ``cli/``.

Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REFIMPL = Path(__file__).resolve().parent.parent / "refimpl"
CORES = {"dhcp", "dns", "ftp", "tftp"}
DRIVERS = {"sockets", "capture", "cli", "lab"}
STDLIB = set(sys.stdlib_module_names)


#: Modules outside viz/ whose job is a picture, so they may import it.
VIZ_USERS = {"refimpl.grading.feedback", "refimpl.grading.refresh", "refimpl.cli.diagram"}


def layer(module: str) -> str:
    """``refimpl.dhcp.server`` -> ``dhcp``; ``refimpl.trace`` -> ``trace``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "refimpl"


def module_name(path: Path) -> str:
    rel = path.relative_to(REFIMPL.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved, at any depth in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                found |= {target} | {f"{target}.{a.name}" for a in node.names}
            elif node.module:
                found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return found


MODULES = {module_name(p): p for p in sorted(REFIMPL.rglob("*.py"))}


def _broken_rules(module: str, imported: str) -> list[str]:
    here, top = layer(module), imported.split(".")[0]
    if top != "refimpl":
        if here in CORES | {"sim", "trace", "jail"} and top not in STDLIB and top != "__future__":
            return [f"a core or sim/ imports the third-party package {top}"]
        if here in CORES | {"sim", "trace", "jail"} and top == "asyncio":
            return ["a core or sim/ imports asyncio: time and I/O belong to the drivers"]
        return []
    there = layer(imported)
    broken = []
    if here in CORES | {"sim", "trace", "jail"} and there in DRIVERS | {"viz", "grading", "bench"}:
        broken.append(f"a core or sim/ imports {there}/")
    if here == "sim" and there in CORES:
        broken.append("sim/ imports a protocol core: it must know no protocol")
    if here in {"trace", "jail"} and there in CORES | {"sim"}:
        broken.append(f"{here}.py sits below every core and imports {there}/")
    if there == "viz" and here != "viz" and module not in VIZ_USERS:
        broken.append("only notebooks, grading feedback, refresh and the diagram command import viz/")
    if here == "sockets" and there in {"capture", "cli", "lab"}:
        broken.append(f"a socket driver imports {there}/")
    if here == "capture" and there == "cli":
        broken.append("capture/ imports cli/")
    return broken


def test_every_module_was_read():
    assert {
        "refimpl.sim.network",
        "refimpl.dhcp.server",
        "refimpl.sockets.dhcp",
        "refimpl.capture.dhcp",
        "refimpl.cli.dhcp",
        "refimpl.lab.netns",
        "refimpl.jail",
        "refimpl.trace",
    } <= set(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_dependencies_point_one_way(module):
    broken = [
        f"{module} imports {imported}: {why}"
        for imported in sorted(imports(MODULES[module]))
        for why in _broken_rules(module, imported)
    ]
    assert broken == []


@pytest.mark.parametrize(
    "module, imported, words",
    [
        ("refimpl.dhcp.server", "refimpl.sockets.dhcp", "a core or sim/ imports sockets/"),
        ("refimpl.sim.network", "refimpl.dhcp.message", "must know no protocol"),
        ("refimpl.tftp.transfer", "asyncio", "asyncio"),
        ("refimpl.ftp.session", "scapy.all", "third-party"),
        ("refimpl.sockets.ftp_server", "refimpl.viz.sequence", "only notebooks, grading feedback"),
        ("refimpl.sockets.dhcp", "refimpl.cli.args", "a socket driver imports cli/"),
    ],
)
def test_the_rules_catch_a_wrong_import(module, imported, words):
    assert any(words in why for why in _broken_rules(module, imported))
