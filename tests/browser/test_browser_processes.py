"""The leak check of the browser fixture sees a Chromium we start, and sees it go."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from browser_processes import CHROMIUM, our_chromium, still_running

pytestmark = pytest.mark.browser


def test_the_leak_check_finds_our_chromium_and_sees_it_end(tmp_path):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    before = our_chromium()
    process = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", f"--user-data-dir={tmp_path}", "--no-first-run", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        found = {}
        while process.pid not in found and time.monotonic() < deadline:
            time.sleep(0.1)
            found = our_chromium()
        assert process.pid in found, f"our_chromium() missed the Chromium started here (pid {process.pid})"
        assert process.pid not in before
        assert process.pid in still_running(found)
    finally:
        process.terminate()
        process.wait(timeout=20)
    deadline = time.monotonic() + 20
    while still_running(found) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert still_running(found) == [], "Chromium's helpers outlived it"


def test_a_process_not_started_by_this_run_is_not_ours():
    assert 1 not in our_chromium()  # init is no descendant of pytest, whatever it runs
    assert still_running({os.getpid(): "not my start time"}) == []  # a reused pid is another process
