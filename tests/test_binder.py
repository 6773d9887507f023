"""The repository launches on Binder: repo2docker (the tool BinderHub builds with) reads environment.yml as meant.

``repo2docker --no-build --debug`` prints the Dockerfile it would build, with no Docker needed. From it:
the conda build pack is chosen for Python 3.11, the repository is copied in *before* the environment is
installed (environment.yml's ``pip: [-e .]`` installs refimpl from it, which only works that way), and
the environment holds JupyterLab. The README carries the launch badge a teacher's fork fills in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOL_VENV = Path("/opt/repo2docker/bin/repo2docker")  # where .ci/run installs it, apart from the course's venv


def _repo2docker() -> str:
    found = shutil.which("repo2docker") or (str(TOOL_VENV) if os.access(TOOL_VENV, os.X_OK) else None)
    if not found:
        pytest.skip(
            "needs repo2docker (python3 -m venv /opt/repo2docker && /opt/repo2docker/bin/pip install "
            "jupyter-repo2docker); .ci/run installs it"
        )
    return found


@pytest.fixture(scope="module")
def dockerfile(tmp_path_factory) -> str:
    clean = tmp_path_factory.mktemp("clone") / "course"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clean)], check=True, timeout=120)
    for name in ("environment.yml", "README.md", "pyproject.toml"):  # the working tree's, committed or not
        shutil.copy2(ROOT / name, clean / name)
    done = subprocess.run(
        [_repo2docker(), "--no-build", "--debug", str(clean)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout + done.stderr


def test_conda_build_pack_for_python_311(dockerfile):
    assert "Building conda environment for python=3.11" in dockerfile


def test_repository_is_copied_before_the_environment_installs_it(dockerfile):
    copy = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    update = dockerfile.index('env update -p ${NB_PYTHON_PREFIX} --file "environment.yml"')
    assert copy < update, "environment.yml's '-e .' needs the repository in the image first"


def test_environment_has_jupyterlab_for_the_lab_interface():
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert re.search(r"^  - jupyterlab\b", text, re.M)
    assert re.search(r"^  - pip:\n      - -e \.$", text, re.M)


def test_readme_has_the_binder_badge_pattern_for_a_fork():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pattern = (
        r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
        r"\(https://mybinder\.org/v2/gh/OWNER/REPOSITORY/HEAD\?urlpath=lab/tree/notebooks/00_start_here\.ipynb\)"
    )
    assert re.search(pattern, readme), "the README shows the badge with OWNER/REPOSITORY for a fork to fill in"
