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


# -- labs with real daemons: what a lab notebook needs (tests/lab_needs.py) ------------------------
from tests.lab_needs import lab_missing  # noqa: E402  (imported by name: two conftest modules exist)


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
        missing = lab_missing(path)
        if missing:
            item.add_marker(pytest.mark.skip(reason=f"lab {path.name} needs {', '.join(missing)}"))
