"""The part of the grader that runs *inside* the student's kernel.

Why it exists: nbval runs the student's cells and the check cells in one
kernel, so student code runs before every check and could change what a check
prints: redefine ``print``, swap ``sys.stdout``, monkeypatch a library function
the check calls, rebind a name the check uses, install an IPython input
transformer that rewrites the check cell, or simply print the expected text.

What it does:

1. ``install(config)`` runs as the very first cell, before any student code.
   It reads (and deletes) a one-time config file written by the grader: a
   random key, the source of every check cell and the library names the
   assignment imports. It compiles the checks right away, imports the library
   modules and takes a snapshot of their functions and classes, of
   ``builtins`` and of the kernel's output streams.
2. Each graded check cell only calls ``run_check(name)``. That function puts
   the snapshot back (undoing monkeypatches), rebinds the assignment's imported
   names, runs the *precompiled* check code with its output captured, then
   prints the captured text followed by a receipt line:
   ``HMAC(key, name + text)``. The grader stored the receipt of the *expected*
   text as part of the expected output, so nbval passes the cell only when the
   real check code, run by this function, printed exactly the expected text.
   A student cell that prints the expected text, or a rewritten check cell,
   cannot produce a valid receipt without the key.

What remains possible is written down in the teacher's guide: code that digs
the key out of this module's closures (``gc``, ``__closure__``), rewrites the
code objects of this module, or hardcodes answers in its own functions. The
grader scans student code for the tools such tricks need and flags them.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import linecache
import os
import sys
import threading
import types

RECEIPT_PREFIX = "[grader receipt "
_MISSING = object()
_SKIP_ATTRS = {"__dict__", "__weakref__", "__doc__"}


def receipt(key: bytes, name: str, text: str) -> str:
    """HMAC-SHA256 (RFC 2104) written out with the C-level sha256 only.

    Written by hand on purpose: ``hashlib.sha256`` is a builtin whose code a
    student cannot replace, while the ``hmac`` module is Python code that
    student code could monkeypatch before a check runs.
    """
    return _receipt_with(hashlib.sha256, key, name, text)


def _receipt_with(sha256, key: bytes, name: str, text: str) -> str:
    block = 64
    if len(key) > block:
        key = sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = sha256(bytes(b ^ 0x36 for b in key) + name.encode() + b"\0" + text.encode("utf-8", "replace")).digest()
    return sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()[:32]


def receipt_line(digest: str) -> str:
    return f"{RECEIPT_PREFIX}{digest}]\n"


# --------------------------------------------------------------------------- snapshot


def _functions_in(obj):
    """Plain Python functions reachable from a class attribute."""
    if isinstance(obj, (staticmethod, classmethod)):
        obj = obj.__func__
    if isinstance(obj, property):
        return [f for f in (obj.fget, obj.fset, obj.fdel) if isinstance(f, types.FunctionType)]
    return [obj] if isinstance(obj, types.FunctionType) else []


def _snapshot(module_names):
    """Record what the modules, their classes and their functions look like now."""
    modules, classes, functions = {}, {}, {}
    for name in module_names:
        mod = sys.modules.get(name)
        if mod is None:
            continue
        modules[name] = (mod, dict(vars(mod)))
        for value in list(vars(mod).values()):
            if isinstance(value, type) and getattr(value, "__module__", None) == name:
                classes[value] = dict(value.__dict__)
                for attr in value.__dict__.values():
                    for func in _functions_in(attr):
                        functions[func] = (func.__code__, func.__defaults__, func.__kwdefaults__)
            for func in _functions_in(value):
                functions[func] = (func.__code__, func.__defaults__, func.__kwdefaults__)
    return modules, classes, functions


def _restore_dict(target, saved, setter, deleter, keep_extra=lambda key, value: False):
    current = target.__dict__
    for key, value in saved.items():
        if key in _SKIP_ATTRS:
            continue
        if current.get(key, _MISSING) is not value:
            try:
                setter(key, value)
            except (AttributeError, TypeError):
                pass
    for key in [k for k in list(current) if k not in saved]:
        if key in _SKIP_ATTRS or keep_extra(key, current[key]):
            continue
        try:
            deleter(key)
        except (AttributeError, TypeError):
            pass


def _restore(snapshot, builtins_saved):
    modules, classes, functions = snapshot
    _restore_dict(builtins, builtins_saved, lambda k, v: setattr(builtins, k, v), lambda k: None)
    for name, (mod, saved) in modules.items():
        sys.modules[name] = mod
        _restore_dict(
            mod, saved,
            lambda k, v, m=mod: setattr(m, k, v),
            lambda k, m=mod: delattr(m, k),
            keep_extra=lambda k, v: isinstance(v, types.ModuleType),  # submodules imported later
        )
    for cls, saved in classes.items():
        _restore_dict(cls, saved, lambda k, v, c=cls: setattr(c, k, v), lambda k, c=cls: delattr(c, k))
    for func, (code, defaults, kwdefaults) in functions.items():
        try:
            if func.__code__ is not code:
                func.__code__ = code
            func.__defaults__, func.__kwdefaults__ = defaults, kwdefaults
        except (AttributeError, TypeError, ValueError):
            pass


# --------------------------------------------------------------------------- network


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    return host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")


def _socket_guard():
    """Refuse connections that leave the machine (used when no network namespace).

    Best effort: student code can undo a Python-level patch. Where the grader
    runs as root, the kernel runs in an empty network namespace instead, which
    student code cannot undo.
    """
    import socket

    original_connect, original_sendto = socket.socket.connect, socket.socket.sendto

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise OSError(101, "network is disabled while grading")
        return original_connect(self, address)

    def sendto(self, data, *args):
        address = args[-1]
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            raise OSError(101, "network is disabled while grading")
        return original_sendto(self, data, *args)

    socket.socket.connect = connect
    socket.socket.sendto = sendto


# --------------------------------------------------------------------------- install


def install(config_path: str) -> None:
    """Read the grader's one-time config and prepare ``run_check``. Runs once, first."""
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    os.unlink(config_path)
    if config.get("socket_guard"):
        _socket_guard()

    import importlib

    from IPython import get_ipython
    from IPython.lib import pretty as pretty_module

    for name in config["modules"]:
        try:
            importlib.import_module(name)
        except Exception:  # the check itself will report a missing module
            pass
    protected = [*config["modules"], "IPython.lib.pretty", __name__]
    snapshot = _snapshot(protected)
    builtins_saved = dict(vars(builtins))
    shell = get_ipython()
    user_ns = shell.user_ns if shell is not None else sys.modules["__main__"].__dict__
    streams = (sys.stdout, sys.stderr, sys.displayhook)
    stream_classes = _snapshot_classes({type(s) for s in streams})
    transformers = _transformer_lists(shell)
    saved_transformers = [(lst, list(lst)) for lst in transformers]
    names = config["names"]
    key = bytes.fromhex(config["key"])
    sha256, string_io, pretty, run_code = hashlib.sha256, io.StringIO, pretty_module.pretty, exec
    compiled = {name: _compile(name, source) for name, source in config["checks"].items()}
    builtins_dict, guard_dict = vars(builtins), globals()
    guard_saved = dict(guard_dict)
    restore, restore_dict = _restore, _restore_dict
    del config

    def run_check(name: str) -> None:
        # dict.update is C code: these two lines work even if student code
        # rebound builtins (setattr, print...) or this module's globals.
        builtins_dict.update(builtins_saved)
        guard_dict.update(guard_saved)
        sys.settrace(None)
        sys.setprofile(None)
        threading.settrace(None)
        threading.setprofile(None)
        restore(snapshot, builtins_saved)
        for cls, saved in stream_classes.items():
            restore_dict(cls, saved, lambda k, v, c=cls: setattr(c, k, v), lambda k, c=cls: delattr(c, k))
        sys.stdout, sys.stderr, sys.displayhook = streams
        for lst, saved in saved_transformers:
            lst[:] = saved
        user_ns["__builtins__"] = builtins
        for local, (module, attr) in names.items():
            mod = sys.modules.get(module)
            if mod is not None:
                user_ns[local] = getattr(mod, attr, None) if attr else mod
        body, last = compiled[name]
        buffer, errors = string_io(), string_io()
        real_stdout = streams[0]
        sys.stdout, sys.stderr = buffer, errors
        try:
            run_code(body, user_ns)
            if last is not None:
                value = eval(last, user_ns)
                if value is not None:
                    buffer.write(pretty(value) + "\n")
        finally:
            sys.stdout, sys.stderr = streams[0], streams[1]
            text = buffer.getvalue()
            real_stdout.write(text)
            real_stdout.flush()
        real_stdout.write(receipt_line(_receipt_with(sha256, key, name, text)))
        real_stdout.flush()

    guard_dict["run_check"] = guard_saved["run_check"] = run_check
    snapshot[0][__name__][1]["run_check"] = run_check


def run_check(name: str) -> None:  # replaced by install()
    raise RuntimeError("the grader's guard was not installed")


def _compile(name, source):
    """Compile a check: its body, and its last expression (shown like IPython would)."""
    import ast

    from IPython.core.inputtransformer2 import TransformerManager

    python = TransformerManager().transform_cell(source)  # %magics -> Python, like the kernel
    filename = f"<check {name}>"
    linecache.cache[filename] = (len(python), None, python.splitlines(True), filename)  # source in tracebacks
    tree = ast.parse(python, filename=filename)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), f"<check {name}>", "eval")
    return compile(tree, f"<check {name}>", "exec"), last


def _snapshot_classes(classes):
    saved = {}
    for cls in classes:
        for klass in cls.__mro__:
            if klass.__module__ != "builtins":
                saved[klass] = dict(klass.__dict__)
    return saved


def _transformer_lists(shell):
    if shell is None:
        return []
    lists = [
        getattr(shell, "input_transformers_cleanup", None),
        getattr(shell, "input_transformers_post", None),
        getattr(shell, "ast_transformers", None),
    ]
    manager = getattr(shell, "input_transformer_manager", None)
    if manager is not None:
        lists += [getattr(manager, "cleanup_transforms", None), getattr(manager, "line_transforms", None),
                  getattr(manager, "token_transformers", None)]
    return [lst for lst in lists if isinstance(lst, list)]
