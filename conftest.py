"""Project-wide pytest settings.

Strict mode (``COURSE_STRICT=1``, set by ``.ci/run``): a test that skips because
the machine lacks root or a tool counts as a *failure*, so CI never silently
leaves the real-network tests out. On a laptop the same tests skip with a clear
message.
"""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("COURSE_STRICT") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"COURSE_STRICT=1: a skip is a failure in CI ({reason})"


# -- labs with real daemons ---------------------------------------------------------------------
# A lab notebook (notebooks/labs/) says what it needs in its metadata: {"course": {"lab": {"needs": [...]}}}
# with "root" and program names. Where something is missing, each of its cells skips with the list (a
# failure under COURSE_STRICT=1), instead of failing nbval with outputs a laptop cannot produce.
_LAB_NEEDS: dict[str, list[str]] = {}


def _lab_missing(path) -> list[str]:
    import json
    import shutil

    key = str(path)
    if key not in _LAB_NEEDS:
        try:
            meta = json.loads(open(path, encoding="utf-8").read()).get("metadata", {})
        except (OSError, ValueError):
            meta = {}
        _LAB_NEEDS[key] = list((meta.get("course") or {}).get("lab", {}).get("needs", []))
    missing = []
    for need in _LAB_NEEDS[key]:
        if need == "root":
            if os.geteuid() != 0:
                missing.append("root (the lab makes network namespaces)")
        elif need.startswith("/"):  # a path that must exist, e.g. a kernel module under /sys/module
            if not os.path.exists(need):
                missing.append(need)
        elif shutil.which(need) is None:
            missing.append(need)
    return missing


def _uses_playwright(item) -> bool:
    path = getattr(item, "path", None)
    return item.get_closest_marker("browser") is not None or (path is not None and "browser" in path.parts[-2:-1])


def pytest_collection_modifyitems(config, items):
    # Browser tests run last. pytest-playwright's sync API keeps an asyncio loop marked as running in
    # the main thread from its session-scoped `playwright` fixture until the session ends, so every
    # later `asyncio.run()` (the socket drivers, the interop tests) fails with "cannot be called from
    # a running event loop". Sorting is stable: both groups keep their own order.
    items.sort(key=_uses_playwright)
    for item in items:
        path = getattr(item, "path", None)
        if path is None or path.suffix != ".ipynb":
            continue
        missing = _lab_missing(path)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"lab {path.name} needs {', '.join(missing)}"))
