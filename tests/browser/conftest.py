"""Fixtures for the browser tests: a JupyterLab on loopback and Debian's Chromium.

The lessons are tested as students meet them: in JupyterLab, in a real
browser, after Run All. JupyterLab serves a *temporary copy* of ``notebooks/``
(running a cell in the browser must never rewrite a tracked lesson), with its
own settings, workspaces and runtime folders, so nothing of the machine's
JupyterLab state leaks in and nothing is left behind.

The browser is Debian's ``chromium`` (``/usr/bin/chromium``) driven by
pytest-playwright; nothing here downloads a browser (never ``playwright
install``). Without Chromium or Playwright the tests skip with a message, and
CI (``COURSE_STRICT=1``) turns that skip into a failure.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from browser_processes import CHROMIUM, our_chromium, still_running

ROOT = Path(__file__).resolve().parents[2]
# Failure screenshots land here (a folder under build/, which git ignores); the path is in the failure message.
ARTIFACTS = Path(os.environ.get("COURSE_BROWSER_ARTIFACTS", ROOT / "build" / "browser-artifacts"))

SERVED = ("notebooks", "exercises", "solutions", "tests/fixtures")

# JupyterLab settings for the test: no news or update checks (they would ask the internet).
# The notebook keeps JupyterLab's default windowing ("contentVisibility": every cell in
# the DOM, off-screen ones not laid out), as students meet it: a player that only works
# with windowing off would pass here and fail in class.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false", "checkForUpdates": False},
}


try:  # pytest-playwright provides the browser; without it the tests skip (fail in CI) with a clear message
    import pytest_playwright  # noqa: F401
except ImportError:

    @pytest.fixture(scope="session")
    def browser():
        pytest.skip(
            "the browser tests need pytest-playwright (pip install pytest-playwright; never `playwright install`)"
        )

else:

    @pytest.fixture(scope="session")
    def browser(launch_browser):
        """pytest-playwright's browser, and after it closes, proof that none of its processes is left."""
        chromium = launch_browser()
        started = our_chromium()
        assert started, "playwright launched no Chromium process under this test run"
        try:
            yield chromium
        finally:
            started |= our_chromium()  # renderers started since
            chromium.close()
            left = started
            for _ in range(40):
                left = still_running(started)
                if not left:
                    break
                time.sleep(0.25)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            assert not left, f"Chromium processes outlived browser.close() (killed now): {left}"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium, and keep it on the machine: names other than localhost do not resolve."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",  # Chromium's sandbox refuses to start as root, which CI is
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A running JupyterLab: where it is, and the folder it serves."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    log: Path

    def api(self, method: str, path: str) -> object:
        request = urllib.request.Request(f"{self.url}{path}", method=method)
        request.add_header("Authorization", f"token {self.token}")
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy
        with direct.open(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        """End every session and kernel (the test's, not the server), so each lesson starts alone."""
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention ``text`` (a kernel names its connection file)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)  # JupyterLab shuts its kernels down on SIGTERM
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def lab(browser) -> Lab:
    """JupyterLab on 127.0.0.1 (a free port, a token) serving a temporary copy of the lessons."""
    work = Path(tempfile.mkdtemp(prefix="course-browser-"))
    # the lessons, and what they read next to them (the teachers' guide grades the sample class of
    # tests/fixtures/grading and reads exercises/ and solutions/)
    for part in SERVED:
        shutil.copytree(ROOT / part, work / part)
    settings = work / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    for folder in ("workspaces", "runtime", "config", "ipython", "data"):
        (work / folder).mkdir()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",  # `python` = the venv's
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(work / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTER_CONFIG_DIR": str(work / "config"),
        "IPYTHONDIR": str(work / "ipython"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={work}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: run commands, read the kernel's state
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = work / "jupyterlab.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Lab(f"http://127.0.0.1:{port}", token, work, process, log)
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                server.api("GET", "/api/status")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not start; its log:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        try:
            if process.poll() is None:
                server.shutdown_kernels()
        except OSError:
            pass
        _stop(process)
        leftovers = []
        for _ in range(20):  # kernels may take a moment to exit after the server
            leftovers = _processes_mentioning(str(work))
            if not leftovers:
                break
            time.sleep(0.5)
        for line in leftovers:
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)
        assert not leftovers, f"processes of the test's JupyterLab outlived it (killed now): {leftovers}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@dataclass
class Offline:
    """A browser context that records, and aborts, every request for a host other than loopback."""

    context: object
    page: object
    external: list[str]


@pytest.fixture
def offline(browser):
    """A page at a laptop's window size where a CDN link fails as it would in a classroom without internet.

    Every request of the context is logged (``request`` event; WebSockets, which that event and
    routes do not see, from the page's ``websocket`` event) and a route aborts each one whose host
    is not loopback (DNS maps other names to nothing too, see ``browser_type_launch_args``).
    ``external`` lists the URLs that would have left 127.0.0.1; a test asserts it is empty.
    """
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    external: list[str] = []

    def leaves(url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname not in LOCAL_HOSTS

    def route(route, request):
        if leaves(request.url):
            route.abort()
        else:
            route.continue_()

    def log(request_or_socket):  # the request log: every request of the context, a worker's too
        if leaves(request_or_socket.url) and request_or_socket.url not in external:
            external.append(request_or_socket.url)

    context.route("**/*", route)
    context.on("request", log)
    page = context.new_page()
    page.on("websocket", log)
    try:
        yield Offline(context, page, external)
    finally:
        context.close()
