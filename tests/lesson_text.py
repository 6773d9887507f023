"""What a lesson's tests read: its prose and its printed outputs, as plain text.

``prose`` joins the markdown cells, drops Markdown's ``*`` emphasis and folds
whitespace, so a quoted RFC sentence matches however the cell wraps or
emphasises it. ``outputs`` joins the printed text of every code cell.
"""

from __future__ import annotations

import re


def flat(text: str) -> str:
    """Whitespace folded to single spaces."""
    return re.sub(r"\s+", " ", text)


def prose(nb) -> str:
    return flat("\n".join(c.source for c in nb.cells if c.cell_type == "markdown").replace("*", ""))


def outputs(nb) -> str:
    return "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
