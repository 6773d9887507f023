"""No notebook finds the package's files by a path relative to where the notebook sits.

A student release, the static site's build, the browser tests' copy of the lessons and a student who moves a
notebook all run it somewhere else; ``../refimpl/data/...`` then names nothing. Files the course ships are
found from the package (``refimpl.capture.shipped``, or ``Path(refimpl.__file__).parent``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from refimpl.capture import SHIPPED, shipped

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted(p for folder in ("notebooks", "solutions", "exercises") for p in (ROOT / folder).rglob("*.ipynb"))
RELATIVE = re.compile(r"""["'](\.\./)+refimpl/""")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_code_cells_do_not_reach_the_package_by_a_relative_path(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = [
        line.strip()
        for cell in cells
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if RELATIVE.search(line)
    ]
    assert found == [], f"{path.name}: use refimpl.capture.shipped(name): {found}"


def test_shipped_finds_a_capture_and_names_the_folder_when_it_cannot():
    assert shipped("ftp_session.pcap") == SHIPPED / "ftp_session.pcap"
    with pytest.raises(FileNotFoundError, match="the course ships: .*ftp_session.pcap"):
        shipped("no_such.pcap")
