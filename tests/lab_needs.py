"""What a lab notebook needs, and what of it this machine lacks.

A lab notebook (notebooks/labs/) says what it needs in its metadata:
``{"course": {"lab": {"needs": [...]}}}`` with "root", program names, and paths
that must exist (a kernel module under /sys/module). Where something is
missing, the root conftest skips each of the lab's cells with the list (a
failure under COURSE_STRICT=1) instead of failing nbval with outputs a laptop
cannot produce.

A module of its own, not a function of conftest.py: the browser tests have a
conftest too, and ``import conftest`` from a test gets whichever one pytest
loaded under that name first.
"""

from __future__ import annotations

import json
import os
import shutil

_NEEDS: dict[str, list[str]] = {}


def needs(path) -> list[str]:
    """The notebook's declared needs ([] for a lesson, or a file that is not a notebook)."""
    key = str(path)
    if key not in _NEEDS:
        try:
            meta = json.loads(open(path, encoding="utf-8").read()).get("metadata", {})
        except (OSError, ValueError):
            meta = {}
        _NEEDS[key] = list((meta.get("course") or {}).get("lab", {}).get("needs", []))
    return _NEEDS[key]


def lab_missing(path) -> list[str]:
    """The needs of the notebook at ``path`` that this machine does not meet."""
    missing = []
    for need in needs(path):
        if need == "root":
            if os.geteuid() != 0:
                missing.append("root (the lab makes network namespaces)")
        elif need.startswith("/"):
            if not os.path.exists(need):
                missing.append(need)
        elif shutil.which(need) is None:
            missing.append(need)
    return missing
