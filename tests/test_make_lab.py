"""`make lab`, the README's first command, really starts JupyterLab on the first notebook."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _terminal_python(url: str, opener) -> str:
    """Open a JupyterLab terminal through the server's API and ask it which `python` it runs."""
    import asyncio
    import json

    from tornado.websocket import websocket_connect

    base, token = url.split("/lab/tree/")[0], url.split("token=")[1]
    request = urllib.request.Request(f"{base}/api/terminals?token={token}", data=b"", method="POST")
    with opener.open(request, timeout=10) as response:
        name = json.loads(response.read())["name"]

    async def ask() -> str:
        ws = await websocket_connect(f"{base.replace('http', 'ws')}/terminals/websocket/{name}?token={token}")
        ws.write_message(json.dumps(["stdin", "echo PY=$(command -v python)=END\r"]))
        seen = ""
        for _ in range(200):  # bounded: a prompt, the echoed command, then the answer
            message = await asyncio.wait_for(ws.read_message(), 10)
            if message is None:
                break
            kind, *data = json.loads(message)
            seen += "".join(str(d) for d in data) if kind == "stdout" else ""
            found = re.search(r"PY=(/\S*)=END", seen)
            if found:
                ws.close()
                return found.group(1)
        raise AssertionError(f"the terminal never said which python it runs: {seen[-300:]!r}")

    return asyncio.run(ask())


def test_make_lab_serves_the_start_notebook():
    if shutil.which("make") is None:
        pytest.skip("needs the make tool (Debian package make)")
    port = _free_port()
    process = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # so the whole group (make + jupyter) can be stopped
        env={**os.environ, "JUPYTER_RUNTIME_DIR": str(ROOT / ".venv" / "test-runtime")},
    )
    url = None
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and url is None:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
            match = re.search(rf"(http://127\.0\.0\.1:{port}/lab/tree/notebooks/00_start_here\.ipynb\?token=\w+)", line)
            url = match.group(1) if match else None
        assert url, "make lab printed no URL (with a token) that opens notebooks/00_start_here.ipynb"
        # The URL opens the start notebook; the API serves it from the course root.
        tree = url.replace("/lab/tree/", "/api/contents/")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        body, status = b"", None
        for _ in range(40):  # bounded: the server may print its URL a moment before it accepts
            try:
                with direct.open(tree, timeout=10) as response:
                    status, body = response.status, response.read()
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200
        assert b'"00_start_here.ipynb"' in body
        # JupyterLab's terminal runs the course's python, so the commands the notebooks print work as printed.
        assert _terminal_python(url, direct).startswith(str(ROOT / ".venv" / "bin"))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
