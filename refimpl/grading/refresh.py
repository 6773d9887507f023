"""``python -m refimpl refresh PATH...``: re-run a lesson after editing it, and store it tidy.

nbval compares a notebook's stored outputs with a fresh run, so after changing
a lesson (or code a lesson prints, such as a function shown with ``inspect``)
its outputs must be stored again. This does it the same way every time:

1. run every cell in a fresh kernel, in the notebook's own folder
   (``nbclient``, as ``jupyter nbconvert --execute`` does; widget state is
   kept so a saved notebook still shows its widgets);
2. drop what changes on every run and means nothing to a reader: the
   ``execution`` timestamps Jupyter puts in each cell's metadata;
3. store pictures compactly (:mod:`refimpl.viz.compact`): palette PNGs,
   widget state without its ``null`` layout properties, and a question's Check
   control as its plain-text stand-in (it needs a kernel anyway), so a lesson
   file stays small (nbval compares none of what this changes);
4. write it back the way Jupyter does (1-space indent), so a diff shows only
   what really changed.

``--tidy`` does only steps 2 to 4, without running anything. A notebook whose
run fails is left exactly as it was, and the failing cell is named.
After refreshing a notebook in ``solutions/``, run ``python -m refimpl release
solutions exercises`` so its exercise follows.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from refimpl.grading import notebook


class RefreshError(Exception):
    """A cell failed while refreshing; the notebook file was not touched."""


#: Cell metadata that is different on every run and says nothing to a reader.
RUN_SPECIFIC = ("execution",)


def tidy(nb) -> int:
    """Remove run-specific cell metadata; return how many cells had some."""
    touched = 0
    for cell in nb.cells:
        found = [key for key in RUN_SPECIFIC if key in cell.get("metadata", {})]
        for key in found:
            del cell.metadata[key]
        touched += bool(found)
    return touched


def execute(nb, folder: Path, timeout: float = 600.0) -> None:
    """Run every cell in a fresh kernel started in ``folder``; raises on the first failing cell."""
    from nbclient import NotebookClient  # only when running: importing it costs ~0.3 s

    NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,
    ).execute()


def refresh(path: Path, run: bool = True) -> str:
    """Refresh one notebook in place; return a line saying what was done."""
    nb = notebook.read(path)
    if run:
        try:
            execute(nb, path.parent.resolve())
        except Exception as exc:  # nbclient's CellExecutionError, a dead kernel, a timeout
            raise RefreshError(_what_failed(nb, exc)) from None
    cleaned = tidy(nb)
    from refimpl.viz.compact import compact_outputs, compact_widget_state, drop_kernel_only_widgets

    compact_outputs(nb)
    drop_kernel_only_widgets(nb)
    compact_widget_state(nb)
    notebook.write(nb, path)
    return f"{path}: {'ran every cell, ' if run else ''}{cleaned} cell(s) tidied"


def _what_failed(nb, exc: Exception) -> str:
    """``cell 7 failed: ZeroDivisionError: division by zero`` (cells counted from 1, as Jupyter shows)."""
    for number, cell in enumerate(nb.cells, 1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"cell {number} failed: {out.get('ename')}: {out.get('evalue')}"
    lines = str(exc).strip().splitlines()
    return f"the run failed: {lines[-1] if lines else type(exc).__name__}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m refimpl refresh", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks to refresh")
    parser.add_argument("--tidy", action="store_true", help="only drop run-specific metadata; run nothing")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.paths:
        try:
            print(refresh(path, run=not args.tidy))
        except notebook.NotebookError as exc:
            print(f"{path}: {exc}", file=sys.stderr)
            failed += 1
        except RefreshError as exc:
            print(f"{path}: not refreshed, left as it was: {exc}", file=sys.stderr)
            failed += 1
    if any("solutions" in p.parts for p in args.paths):
        print("now run: python -m refimpl release solutions exercises", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
