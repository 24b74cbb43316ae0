"""Packaging and install: declared dependency bounds equal what the minimum-versions
environment installs, one source for the version, the license, README links that PyPI can
render, what ``gowork demo`` says outside a checkout, mypy seeing the editable install, and the
package data of the built wheel (the schemas and the harness source, links in the source tree)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

import gowork_compat
from gowork_compat.demo import missing_requirements

ROOT = Path(__file__).resolve().parent.parent
LOWEST = ROOT / "scripts" / "constraints-lowest.txt"

def pyproject() -> dict[str, Any]:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is Python 3.11+ (the project's .venv has it)")
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data


def lowest_pins() -> dict[str, str]:
    pins = {}
    for line in LOWEST.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints-lowest.txt: {line!r} is not NAME==VERSION"
            pins[name.strip().lower()] = version.strip()
    return pins


def lower_bounds(requirements: list[str]) -> dict[str, str]:
    bounds = {}
    for text in requirements:
        req = Requirement(text)
        if req.name == "gowork-compat":  # an extra naming another extra
            continue
        lows = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lows) == 1, f"{text!r} needs exactly one lower bound (>=)"
        bounds[req.name.lower()] = lows[0]
    return bounds


def test_lowest_constraints_are_the_declared_lower_bounds() -> None:
    project = pyproject()["project"]
    extras = project["optional-dependencies"]
    declared = lower_bounds(project["dependencies"] + extras["web"] + extras["test"])
    pins = lowest_pins()
    # redis[hiredis] brings hiredis with redis-py's own floor (redis 5.3.0: hiredis>=3.0.0)
    assert pins.pop("hiredis") == "3.0.0"
    assert pins == declared
    assert declared["redis"] == "5.3.0"  # 5.0.0 to 5.2.x fail at the first enqueue


def test_dev_extra_is_test_plus_tools() -> None:
    extras = pyproject()["project"]["optional-dependencies"]
    assert extras["test"][0] == "gowork-compat[web]"
    assert extras["dev"][0] == "gowork-compat[test,docker,metrics,otel]"
    tools = {"opentelemetry-sdk", "mypy", "ruff", "mutmut", "pytest-xdist"}
    assert {Requirement(r).name for r in extras["dev"][1:]} == tools


def test_version_has_one_source() -> None:
    data = pyproject()
    assert "version" not in data["project"]
    assert "version" in data["project"]["dynamic"]
    assert data["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gowork_compat.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.dev\d+)?", gowork_compat.__version__)


def test_license_file_matches_the_metadata() -> None:
    project = pyproject()["project"]
    assert project["license"] == "MIT"
    assert project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    # PEP 639: a license expression and a License :: classifier must not both be given
    assert not [c for c in project["classifiers"] if c.startswith("License ::")]
    assert project["keywords"] and project["urls"]


def test_classifiers_name_the_tested_pythons() -> None:
    project = pyproject()["project"]
    versions = {c.rsplit(":: ", 1)[1] for c in project["classifiers"]
                if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert project["requires-python"] == ">=3.10"
    assert versions == {"3.10", "3.11", "3.12", "3.13"}  # compat-envs.sh runs the two ends


def test_readme_links_render_on_pypi() -> None:
    """PyPI shows README.md as the project description but resolves no relative link or
    image (they would point into pypi.org): every link is absolute, the rest is plain text."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"!?\[[^\]]*\]\(([^)\s]+)", text) + re.findall(r"^\[[^\]]+\]:\s*(\S+)", text, re.M)
    assert targets, "the README links to gocraft/work at least"
    relative = [t for t in targets if not t.startswith("https://")]
    assert relative == []


def _demo(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "GOWORK_HARNESS"}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "gowork_compat", "demo", *args], capture_output=True, text=True,
                          cwd=cwd, env={**base, **(env or {})}, timeout=60)


def test_demo_help_lists_only_the_options_it_uses(tmp_path: Path) -> None:
    p = _demo("--help", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    options = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", p.stdout.split("options:", 1)[1].split("examples:")[0]))
    assert options == {"-h", "--help", "--harness"}
    p = _demo("--redis", "redis://127.0.0.1:1/0", cwd=tmp_path)
    assert p.returncode == 2 and "unrecognized arguments: --redis" in p.stderr


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="checks the harness message alone")
def test_demo_outside_a_checkout_says_what_it_needs(tmp_path: Path) -> None:
    p = _demo(cwd=tmp_path)  # as after a plain pip install: no go-harness/ here, no $GOWORK_HARNESS
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    for needle in ("no Go harness at go-harness/gowork-harness", "not in the pip package",
                   "bash scripts/demo.sh", "go build -o gowork-harness", "--harness PATH", "GOWORK_HARNESS"):
        assert needle in p.stderr, needle
    assert "redis-server" not in p.stderr  # only what is missing


def test_demo_lists_every_missing_requirement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server
    harness = tmp_path / "gowork-harness"
    problems = missing_requirements(str(harness))
    assert len(problems) == 2
    assert problems[0].startswith("redis-server is not installed")
    assert problems[1].startswith(f"no Go harness at {harness}")
    harness.write_text("#!/bin/sh\n")
    harness.chmod(0o755)
    assert len(missing_requirements(str(harness))) == 1


@pytest.mark.skipif(Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
                    reason="checks the editable install scripts/setup.sh makes in .venv")
def test_mypy_finds_the_package_from_the_editable_install(tmp_path: Path) -> None:
    """A user's code type-checks against the package installed by setup (setuptools' default
    editable mode hides it from mypy behind an import hook)."""
    (tmp_path / "user.py").write_text(
        "from gowork_compat import Job, WorkerPool\n"
        "pool = WorkerPool('redis://127.0.0.1:6379/0', 'ns')\n"
        "reveal_type(pool.concurrency)\n"
        "def handler(job: Job) -> int:\n"
        "    return job.arg_string('x')\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MYPYPATH")}
    p = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "user.py"], cwd=tmp_path,
                       capture_output=True, text=True, env=env, timeout=300)
    assert re.search(r'user.py:3: note: Revealed type is "(builtins\.)?int"', p.stdout), p.stdout
    assert 'user.py:5: error: Incompatible return value type (got "str", expected "int")' in p.stdout, p.stdout
    assert "import-not-found" not in p.stdout and "import-untyped" not in p.stdout


def test_wheel_holds_the_schemas_and_the_harness_source(tmp_path: Path) -> None:
    """gowork_compat/spec/*.json and gowork_compat/testing/go_harness are links to spec/ and
    go-harness/ (one source); the wheel built from the tracked files holds their contents."""
    assert (ROOT / "gowork_compat/testing/go_harness").resolve() == (ROOT / "go-harness").resolve()
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    src = tmp_path / "src"
    for name in tracked.decode().split("\0"):
        if not name or (not (ROOT / name).exists() and not (ROOT / name).is_symlink()):
            continue
        dst = src / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_symlink():
            dst.symlink_to(os.readlink(ROOT / name))
        else:
            shutil.copy2(ROOT / name, dst)
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check",
                        "-w", str(tmp_path / "dist"), str(src)], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    (wheel,) = (tmp_path / "dist").glob("gowork_compat-*.whl")
    with zipfile.ZipFile(wheel) as z:
        files = {n: z.read(n) for n in z.namelist()}
    harness = {n.rsplit("/", 1)[1]: b for n, b in files.items() if n.startswith("gowork_compat/testing/go_harness/")}
    want = {f.name: f.read_bytes() for f in (ROOT / "go-harness").iterdir()
            if f.is_file() and f.suffix in (".go", ".mod", ".sum")}
    assert harness == want
    schemas = {n.rsplit("/", 1)[1]: b for n, b in files.items() if n.startswith("gowork_compat/spec/")}
    assert schemas == {f.name: f.read_bytes() for f in (ROOT / "spec").glob("*.schema.json")}
    assert len(schemas) == 4
