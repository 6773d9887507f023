"""environment.yml (conda, Binder) and pyproject.toml (pip) must list the same packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _name(spec: str) -> str:
    return re.split(r"[<>=!~\[; ]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pip_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_name(spec): spec.replace(" ", "") for spec in project["dependencies"]}


def _conda_requirements() -> dict[str, str]:
    specs = {}
    section = ""
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if re.match(r"^\w", line):  # a top-level key: channels, dependencies, ...
            section = line.split(":")[0]
            continue
        match = re.match(r"^  - ([A-Za-z0-9_.\-]+[^:]*)$", line)  # conda packages, not "pip:"
        if section == "dependencies" and match:
            spec = match.group(1).strip()
            if _name(spec) not in ("python", "pip"):
                specs[_name(spec)] = spec.replace(" ", "")
    return specs


def test_same_packages_in_pyproject_and_environment_yml():
    pip, conda = _pip_requirements(), _conda_requirements()
    assert set(pip) == set(conda), (
        f"only in pyproject.toml: {sorted(set(pip) - set(conda))}; "
        f"only in environment.yml: {sorted(set(conda) - set(pip))}"
    )


def test_same_version_bounds():
    pip, conda = _pip_requirements(), _conda_requirements()
    different = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda.get(name)}
    assert not different, f"version bounds differ (pyproject, environment.yml): {different}"


def test_environment_yml_pins_python_311_and_installs_the_course():
    text = (ROOT / "environment.yml").read_text()
    assert "python=3.11" in text
    assert "-e ." in text, "conda users must get refimpl itself too"


def test_every_data_file_of_refimpl_is_shipped_as_package_data():
    """A file under refimpl/ that is not Python reaches a wheel only when package-data names it."""
    import fnmatch

    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["refimpl"]
    package = ROOT / "refimpl"
    files = [
        p.relative_to(package).as_posix() for p in package.rglob("*") if p.is_file() and p.suffix not in (".py", ".pyc")
    ]
    assert "data/captures/dhcp_udhcpc.pcap" in files  # the walk sees the data at all
    missed = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert missed == [], f"add these to [tool.setuptools.package-data] in pyproject.toml: {missed}"
