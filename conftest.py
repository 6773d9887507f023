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
