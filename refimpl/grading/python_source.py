"""Parse Python source safely from the grader's threads.

``grade --jobs N`` grades N submissions at once, one thread each, and each
thread parses student code (to list its imports, to read a ``b'...'`` literal
in its output). CPython 3.11 keeps ``ast.parse``'s recursion depth per
interpreter, not per thread, so two parses at once can fail with "SystemError:
AST constructor recursion depth mismatch" when a garbage collection switches
threads in the middle of one (CPython gh-106905). That error once turned an
honest submission into "kernel died". Every parse in the grader goes through
here, under one lock; a parse takes microseconds, so the threads barely wait.
"""

from __future__ import annotations

import ast
import threading

_LOCK = threading.Lock()


def parse(source: str, mode: str = "exec") -> ast.AST | None:
    """The syntax tree of ``source``, or None when it is not valid Python."""
    with _LOCK:
        try:
            return ast.parse(source, mode=mode)
        except (SyntaxError, ValueError, MemoryError, RecursionError):
            return None


def literal(source: str) -> object | None:
    """The value of a Python literal such as ``b'\\x01'``, or None when it is not one."""
    tree = parse(source, mode="eval")
    if tree is None:
        return None
    try:
        return ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
