"""The documentation build (scripts/docs.sh, run by scripts/test.sh on docs/): a member
without a docstring is listed and does not fail it; a reference that does not resolve does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx", reason="the docs extra (scripts/setup.sh installs it into .venv)")

ROOT = Path(__file__).resolve().parent.parent

MODULE = '''"""A module for the docs build test."""


def documented() -> None:
    """Calls {ref}."""


def undocumented(x: int) -> int:
    return x
'''

# the site's own configuration, over one small page (the full site is built by scripts/test.sh)
PAGE = """Extra
=====

.. automodule:: docsfixture_mod
"""


def build(tmp_path: Path, ref: str) -> subprocess.CompletedProcess[str]:
    src = tmp_path / "docs"
    src.mkdir()
    shutil.copy(ROOT / "docs" / "conf.py", src)
    (src / "docsfixture_mod.py").write_text(MODULE.format(ref=ref))
    (src / "index.rst").write_text(PAGE)
    env = {**os.environ, "GOWORK_DOCS_SRC": str(src), "GOWORK_DOCS_OUT": str(tmp_path / "out"),
           "VIRTUAL_ENV": sys.prefix, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "PYTHONPATH": os.pathsep.join([str(src), str(ROOT)])}
    return subprocess.run(["bash", str(ROOT / "scripts" / "docs.sh")], capture_output=True, text=True, env=env,
                          timeout=300)


def test_missing_docstrings_are_listed_not_fatal(tmp_path: Path) -> None:
    p = build(tmp_path, ":func:`docsfixture_mod.undocumented`")
    assert p.returncode == 0, p.stderr
    html = (tmp_path / "out" / "html" / "index.html").read_text()
    assert 'id="docsfixture_mod.undocumented"' in html  # listed, with its signature
    assert 'href="#docsfixture_mod.undocumented"' in html  # and the reference to it resolved


def test_a_broken_reference_fails_the_build(tmp_path: Path) -> None:
    p = build(tmp_path, ":class:`gowork_compat.NoSuchThing`")
    assert p.returncode != 0
    assert "py:class reference target not found: gowork_compat.NoSuchThing" in p.stderr
