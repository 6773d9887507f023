"""The browser tests are collected after every other test (see the root conftest.py).

Why it matters: pytest-playwright's session-scoped sync API leaves an asyncio loop
marked as running in the main thread until the session ends, and every
``asyncio.run()`` after it fails. CI once lost 31 tests that way. Here pytest is asked
for a browser test *first* on its command line, and must still put it last.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_browser_test_named_first_is_collected_last():
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            "tests/browser/test_browser_processes.py",
            "tests/test_sim.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    ids = [line for line in out.stdout.splitlines() if "::" in line]
    browser = [i for i, name in enumerate(ids) if name.startswith("tests/browser/")]
    others = [i for i, name in enumerate(ids) if not name.startswith("tests/browser/")]
    assert browser and others, ids
    assert max(others) < min(browser), ids


def test_playwright_leaves_a_running_loop_until_it_stops():
    """The failure itself, shown in a child process: after sync_playwright() starts, asyncio.run refuses."""
    code = (
        "import asyncio\n"
        "from playwright.sync_api import sync_playwright\n"
        "pw = sync_playwright().start()\n"
        "try:\n"
        "    asyncio.run(asyncio.sleep(0))\n"
        "    print('ran')\n"
        "except RuntimeError as err:\n"
        "    print('refused:', err)\n"
        "finally:\n"
        "    pw.stop()\n"
        "asyncio.run(asyncio.sleep(0))\n"
        "print('ran after stop')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "refused: asyncio.run() cannot be called from a running event loop" in out.stdout
    assert out.stdout.rstrip().endswith("ran after stop")
