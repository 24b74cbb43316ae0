"""The ``pytest11`` entry point of gowork-compat: registers the fixtures of
:mod:`gowork_compat.testing.plugin` only when the ``testing`` extra's requirements are all
installed (``pip install 'gowork-compat[testing]'``), so a plain install adds nothing to a
user's pytest. ``pytest -p gowork_compat.testing.plugin`` enables the plugin regardless;
``-p no:gowork_compat`` turns this entry point off."""

from __future__ import annotations

import importlib.metadata
import re

EXTRA = "testing"


def extra_installed(dist: str = "gowork-compat", extra: str = EXTRA) -> bool:
    """Whether every requirement of ``dist[extra]`` is installed."""
    try:
        requires = importlib.metadata.requires(dist) or []
    except importlib.metadata.PackageNotFoundError:
        return False
    wanted = [r for r in requires if re.search(rf"""extra\s*==\s*['"]{re.escape(extra)}['"]""", r)]
    if not wanted:
        return False
    for req in wanted:
        name = re.split(r"[\s\[<>=!~;(]", req, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return False
    return True


ACTIVE = extra_installed()

if ACTIVE:
    from .plugin import (  # noqa: F401  (pytest reads fixtures from this module's names)
        go_enqueuer,
        go_worker,
        gowork,
        gowork_namespace,
        gowork_redis,
    )
