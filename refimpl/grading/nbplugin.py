"""A small pytest plugin loaded into the grading subprocess (``-p refimpl.grading.nbplugin``).

nbval turns each code cell into a pytest item named "Cell N"; this plugin
writes one JSON line per cell (outcome, message, outputs) so the grader can map
results back to cells by the ids it stored in the cell metadata, even when the
run is killed half-way (the file is appended to and flushed cell by cell).

It also deletes the graded notebook as soon as pytest has read it: the kernel
starts after collection, so student code never gets to read the expected
outputs (and their receipts) from disk.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

RESULTS_ENV = "COURSE_GRADING_RESULTS"
MAX_TEXT = 20_000  # characters kept per output / message: a huge output must not flood the grader


def _clip(text) -> str:
    text = text if isinstance(text, str) else "".join(text) if isinstance(text, list) else str(text)
    if len(text) > MAX_TEXT:
        return text[:MAX_TEXT] + f"\n... [{len(text) - MAX_TEXT} more characters cut by the grader]\n"
    return text


def _outputs(item) -> list[dict]:
    kept = []
    for out in getattr(item, "test_outputs", None) or []:
        kind = out.get("output_type")
        entry = {"output_type": kind}
        if kind == "stream":
            entry.update(name=out.get("name"), text=_clip(out.get("text", "")))
        elif kind == "error":
            entry.update(ename=out.get("ename"), evalue=_clip(out.get("evalue", "")))
        elif kind in ("execute_result", "display_data"):
            text = out.get("data", {}).get("text/plain")
            entry["data"] = {"text/plain": _clip(text)} if text is not None else {}
        kept.append(entry)
    return kept


_STOPPED_BY_NBVAL: list[bool] = []  # one entry per nbval kernel.stop(): was it still alive?


def _watch_kernel_stop() -> None:
    """Tell a crashed kernel from one nbval stopped: was it alive when nbval called stop()?"""
    from nbval.kernel import RunningKernel

    original = RunningKernel.stop

    def stop(self, *args, **kwargs):
        try:
            _STOPPED_BY_NBVAL.append(bool(self.is_alive()))
        except Exception:
            _STOPPED_BY_NBVAL.append(False)
        return original(self, *args, **kwargs)

    RunningKernel.stop = stop


_watch_kernel_stop()


def _write(record: dict) -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()


def pytest_collection_finish(session):
    for item in session.items:
        path = Path(str(getattr(item, "fspath", "")))
        if path.suffix == ".ipynb" and path.exists():
            path.unlink()
    _write({"event": "collected", "cells": len(session.items)})


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Keep going after a cell timed out, as long as the interrupt left the kernel alive.

    nbval's own rule skips every later cell after a timeout; a student whose
    helper cell loops forever would then lose checks that do not need it.
    """
    _STOPPED_BY_NBVAL.clear()
    parent = getattr(item, "parent", None)
    kernel = getattr(parent, "kernel", None)
    if getattr(parent, "timed_out", False) and kernel is not None and kernel.is_alive():
        parent.timed_out = False


def _kernel_alive(item) -> bool:
    kernel = getattr(getattr(item, "parent", None), "kernel", None)
    try:
        return bool(kernel is not None and kernel.is_alive())
    except Exception:
        return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    cell = getattr(item, "cell", None)
    if cell is None:
        return
    # One record per cell: the call phase, or the setup phase when it did not pass
    # (nbval marks cells after a timeout as xfail in setup).
    if report.when == "call" or (report.when == "setup" and not report.passed):
        message = ""
        if report.failed and report.longrepr is not None:
            message = str(report.longrepr)
        elif hasattr(report, "wasxfail"):
            message = str(report.wasxfail)
        _write({
            "event": "cell",
            "cell_num": getattr(item, "cell_num", None),
            "course": dict(cell.get("metadata", {}).get("course_graded", {})),
            "outcome": "xfailed" if hasattr(report, "wasxfail") else report.outcome,
            "message": _clip(message),
            "outputs": _outputs(item),
            "kernel_alive": _kernel_alive(item),
            "stopped_by_grader": bool(_STOPPED_BY_NBVAL and _STOPPED_BY_NBVAL[-1]),
        })
