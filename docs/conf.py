"""Sphinx configuration of the documentation site: guides plus an API reference generated
from the docstrings. Built by scripts/docs.sh with warnings as errors and nitpicky
references: a reference that names nothing fails the build (one to an existing object
without a page here is shown as code), a member without a docstring does not (it is listed
with its signature)."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import gowork_compat  # noqa: E402

project = "gowork-compat"
author = "The gowork-compat authors"
copyright = "2026, the gowork-compat authors"
release = gowork_compat.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # Google/NumPy sections ("Args:") as well as plain reST
]
exclude_patterns = ["_build"]
root_doc = "index"
html_theme = "alabaster"
html_static_path: list[str] = []
html_extra_path: list[str] = []

autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True}
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = True

# Every reference must resolve, except to modules whose documentation is not part of this site
# (the standard library, redis-py, Starlette: no intersphinx inventory can be fetched here).
nitpicky = True
_STDLIB = "|".join(sorted(re.escape(m) for m in sys.stdlib_module_names if not m.startswith("_")))
nitpick_ignore_regex = [
    (r"py:.*", rf"({_STDLIB}|redis|starlette|uvicorn|typing_extensions|docker)(\..*)?"),
    # private modules and names (implementation details shown in signatures and bases), and
    # one-letter type variables
    (r"py:.*", r"(.*\.)?_[A-Za-z].*"),
    (r"py:.*", r"(.*\.)?[A-Z]"),
    # aliases in signatures, and names of the stdlib Sphinx writes unqualified
    (r"py:.*", r"(Dialect|RedisLike|Call|Plan|ASGIApp|Middleware|Handler|Awaitable|Callable|Iterable|"
               r"Iterator|Mapping|Sequence|Coroutine|AsyncIterator|Path|timedelta|datetime|ModuleType|"
               r"TracebackType|Self|Literal|Any|Starlette)"),
]


def _exists(dotted: str) -> bool:
    """True when ``dotted`` names a module or an attribute path of one that can be imported."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return False
        return True
    return False


def _not_on_the_site(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """A reference to one of our objects that exists but has no page here (an internal module,
    a helper) is shown as code without a link; one that names nothing stays a warning, which
    fails the build."""
    if node.get("refdomain") != "py":
        return None
    target = str(node.get("reftarget", "")).lstrip("~.")
    if not target:
        return None
    module = node.get("py:module") or ""
    cls = node.get("py:class") or ""
    scopes = [""]
    parts = module.split(".") if module else []
    scopes += [".".join(parts[:i]) + "." for i in range(len(parts), 0, -1)]
    if module and cls:
        scopes.insert(1, f"{module}.{cls}.")
    # last, as written from any of our modules (a docstring moved with its function by a
    # re-export names things as seen from the module it was written in)
    scopes += sorted(f"{name}." for name in list(sys.modules) if name.startswith("gowork_compat"))
    if any(_exists(scope + target) for scope in scopes):
        return contnode
    return None


_documented_under_package: set[str] = set(getattr(gowork_compat, "__all__", []))


def _skip_reexported(app: Any, what: str, name: str, obj: Any, skip: bool, options: Any) -> bool | None:
    """A name the package exports is documented once, as ``gowork_compat.NAME`` (the
    ``imported-members`` page); its module's page leaves it out."""
    if what == "module" and not getattr(options, "imported_members", None) and name in _documented_under_package \
            and getattr(gowork_compat, name, None) is obj:
        return True
    return None


def setup(app: Any) -> None:
    app.connect("autodoc-skip-member", _skip_reexported)
    app.connect("missing-reference", _not_on_the_site)
