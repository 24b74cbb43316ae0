"""Hypothesis strategies for values and jobs that Go's gocraft/work handles unchanged.

``pip install 'gowork-compat[testing]'``. Every value drawn here survives Go's
``encoding/json`` decode into ``interface{}`` and encode again (what a Go worker does to
args) with the same value, and :mod:`gowork_compat.gojson` writes it as Go does:

- numbers: integers within ±2**53 (Go decodes every JSON number into a float64, so larger
  integers come back rounded) and finite floats (NaN and infinities are not JSON) outside
  [2**53, 1e21) in magnitude (Go writes those as integer literals: a Python reader gets an
  int of another value);
- strings and keys: valid Unicode (no lone surrogates: Go replaces them with U+FFFD);
- nesting: at most ``max_depth`` levels (Go refuses more than 10,000; small by default to
  keep examples small).
"""

from __future__ import annotations

import importlib
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from hypothesis import strategies as st

from ..job import Job

__all__ = ["INT_LIMIT", "args_from_schema", "go_args", "go_json", "go_text", "jobs"]

#: the largest magnitude of an integer that a float64 holds exactly
INT_LIMIT = 2**53

_SPECIAL = ["<", ">", "&", "\u2028", "\u2029", "\x00", "\x1f", "\x7f", "\n", '"', "\\", "/", "é", "\ufffd",
            "\U0001f600", "\U0010ffff"]


def go_text(min_size: int = 0, max_size: int = 16) -> st.SearchStrategy[str]:
    """Valid Unicode text (no lone surrogates), with the characters JSON encoders disagree on."""
    chars = st.characters(codec="utf-8") | st.sampled_from(_SPECIAL)
    return st.text(chars, min_size=min_size, max_size=max_size)


def _ints(lo: int = -INT_LIMIT, hi: int = INT_LIMIT) -> st.SearchStrategy[int]:
    return st.integers(min_value=lo, max_value=hi)


def _float_ok(x: float) -> bool:
    """Finite, and not in [2**53, 1e21): Go writes those floats as integer literals, which a
    Python reader takes for an int of another value (6.057034950958909e16 comes back as
    60570349509589090)."""
    return math.isfinite(x) and (abs(x) < INT_LIMIT or abs(x) >= 1e21)


def _floats() -> st.SearchStrategy[float]:
    return (st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
        [0.0, -0.0, 0.5, 1e21, 1e-7, 1e-6, 9007199254740991.0, 5e-324, 1.7976931348623157e308, 0.1])
    ).filter(_float_ok)


def go_json(max_depth: int = 4) -> st.SearchStrategy[Any]:
    """Any JSON value that survives Go's decode/encode unchanged (see the module docstring),
    nested at most ``max_depth`` levels."""
    scalar = st.none() | st.booleans() | _ints() | _floats() | go_text()
    if max_depth <= 0:
        return scalar
    inner = go_json(max_depth - 1)
    return scalar | st.lists(inner, max_size=3) | st.dictionaries(go_text(max_size=8), inner, max_size=3)


def go_args(max_depth: int = 3, max_size: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """A job's args: a dict of :func:`go_json` values."""
    return st.dictionaries(go_text(max_size=10), go_json(max_depth=max_depth - 1), max_size=max_size)


_STATES = ("queued", "scheduled", "retry", "dead", "unique")


def jobs(names: st.SearchStrategy[str] | None = None, states: tuple[str, ...] = _STATES
         ) -> st.SearchStrategy[Job]:
    """Whole job records as Go writes them (``Job.encode()`` is the bytes), in one of ``states``:
    queued (as Enqueue writes), scheduled (EnqueueIn: the same record), retry and dead (a failed
    job: fails >= 1, its error, failed_at), unique (EnqueueUnique: ``unique`` true)."""
    unknown = set(states) - set(_STATES)
    if unknown:
        raise ValueError(f"unknown job states {sorted(unknown)}; expected some of {_STATES}")
    name_st = names if names is not None else go_text(min_size=1, max_size=12)
    hexid = st.text("0123456789abcdef", min_size=24, max_size=24)
    t = st.integers(min_value=1_500_000_000, max_value=4_000_000_000)

    @st.composite
    def build(draw: st.DrawFn) -> Job:
        state = draw(st.sampled_from(states))
        job = Job(name=draw(name_st), id=draw(hexid), enqueued_at=draw(t), args=draw(st.none() | go_args()),
                  unique=state == "unique")
        if state in ("retry", "dead"):
            job.fails = draw(st.integers(min_value=1, max_value=30))
            job.last_err = draw(go_text(min_size=1, max_size=40))
            job.failed_at = job.enqueued_at + draw(st.integers(min_value=0, max_value=10**6))
        return job

    return build()


# --------------------------------------------------------------------------- JSON Schema

class _Unsupported(ValueError):
    pass


def args_from_schema(schema: Mapping[str, Any], *, max_depth: int = 4) -> st.SearchStrategy[dict[str, Any]]:
    """Args that satisfy the JSON Schema ``schema`` and survive Go unchanged.

    Supported: ``type`` (one or a list), ``enum``, ``const``, ``properties``, ``required``,
    ``additionalProperties`` (bool or schema), ``min/maxProperties``, ``items``,
    ``min/maxItems``, ``uniqueItems``, ``minimum``/``maximum`` and their exclusive forms,
    ``multipleOf`` (integers), ``min/maxLength``, ``pattern``, ``anyOf``/``oneOf``/``allOf``/``not``
    (by filtering), local ``$ref`` (``#/$defs/...``, ``#/definitions/...``); ``format`` and other
    annotations are ignored. Every drawn value is checked against the schema with ``jsonschema``.
    Strings for a ``pattern`` match it in full: Python's ``$`` also matches before a final
    newline, ECMA 262's (and Go's) does not, so "INV-000001\n" would pass ``^INV-[0-9]{6}$``
    here and fail the same check in Go.

    Excluded on purpose, as Go would not hand them back unchanged: integers beyond ±2**53,
    NaN and infinities, floats of magnitude in [2**53, 1e21), lone surrogates in strings,
    nesting deeper than ``max_depth``. A schema whose values all lie there
    (``{"minimum": 2**60}``) cannot be generated."""
    root = dict(schema)
    js = importlib.import_module("jsonschema")
    validator = js.validators.validator_for(root, default=js.Draft202012Validator)(root)
    strategy = _from(root, root, max_depth, top=True)
    return strategy.filter(validator.is_valid)


def _resolve(node: Mapping[str, Any], root: Mapping[str, Any]) -> Mapping[str, Any]:
    seen = 0
    while "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise _Unsupported(f"only local $ref are supported, not {ref!r}")
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
        if seen > 50:
            raise _Unsupported("$ref cycle")
    return node


def _go_safe(v: Any) -> bool:
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, int):
        return -INT_LIMIT <= v <= INT_LIMIT
    if isinstance(v, float):
        return _float_ok(v)
    if isinstance(v, str):
        return not any(0xD800 <= ord(c) <= 0xDFFF for c in v)
    if isinstance(v, list):
        return all(_go_safe(x) for x in v)
    if isinstance(v, dict):
        return all(_go_safe(k) and _go_safe(x) for k, x in v.items())
    return False


def _from(node: Any, root: Mapping[str, Any], depth: int, top: bool = False) -> st.SearchStrategy[Any]:
    if node is True or node == {}:
        return go_args(max_depth=depth) if top else go_json(max_depth=depth)
    if node is False:
        return st.nothing()
    node = _resolve(node, root)
    if "const" in node:
        return st.just(node["const"]).filter(_go_safe)
    if "enum" in node:
        return st.sampled_from([v for v in node["enum"] if _go_safe(v)] or [None]).filter(_go_safe)
    subs = []
    for key in ("anyOf", "oneOf"):
        if key in node:
            rest = {k: v for k, v in node.items() if k != key}
            subs = [_from({**rest, **_resolve(s, root)} if isinstance(s, dict) else s, root, depth, top)
                    for s in node[key]]
            return st.one_of(subs)
    if "allOf" in node:
        merged = {k: v for k, v in node.items() if k != "allOf"}
        for s in node["allOf"]:
            s = _resolve(s, root)
            for k, v in s.items():
                if k == "properties":
                    merged["properties"] = {**merged.get("properties", {}), **v}
                elif k == "required":
                    merged["required"] = [*merged.get("required", []), *v]
                else:
                    merged.setdefault(k, v)
        return _from(merged, root, depth, top)
    types = node.get("type")
    if types is None:
        types = ["object"] if top or "properties" in node else \
            ["null", "boolean", "integer", "number", "string", "array", "object"]
    if isinstance(types, str):
        types = [types]
    if top:
        types = [t for t in types if t == "object"] or ["object"]
    return st.one_of([_typed(t, node, root, depth) for t in types])


def _typed(t: str, node: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if t == "null":
        return st.none()
    if t == "boolean":
        return st.booleans()
    if t in ("integer", "number"):
        return _number(t, node)
    if t == "string":
        lo, hi = int(node.get("minLength", 0)), node.get("maxLength")
        if "pattern" in node:
            rx = re.compile(node["pattern"])
            return st.from_regex(rx, fullmatch=True).filter(
                lambda s: _go_safe(s) and len(s) >= lo and (hi is None or len(s) <= hi))
        return go_text(min_size=lo, max_size=hi if hi is not None else max(lo, 0) + 16)
    if depth <= 0:
        return st.nothing()
    if t == "array":
        items = node.get("items", True)
        inner = _from(items, root, depth - 1) if not isinstance(items, list) else st.nothing()
        if isinstance(items, list):  # draft 4-7 tuple form
            return st.tuples(*[_from(s, root, depth - 1) for s in items]).map(list)
        lo = int(node.get("minItems", 0))
        hi = int(node.get("maxItems", lo + 4))
        if node.get("uniqueItems"):
            return st.lists(inner, min_size=lo, max_size=hi, unique_by=lambda v: json.dumps(v, sort_keys=True))
        return st.lists(inner, min_size=lo, max_size=hi)
    if t == "object":
        return _object(node, root, depth)
    raise _Unsupported(f"unknown JSON Schema type {t!r}")


def _number(t: str, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    lo, hi = node.get("minimum"), node.get("maximum")
    xlo, xhi = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if isinstance(xlo, bool) or isinstance(xhi, bool):  # draft 4 booleans
        xlo, xhi = (lo if xlo else None), (hi if xhi else None)
    if t == "integer":
        a = -INT_LIMIT if lo is None else math.ceil(lo)
        b = INT_LIMIT if hi is None else math.floor(hi)
        if xlo is not None:
            a = max(a, math.floor(xlo) + 1)
        if xhi is not None:
            b = min(b, math.ceil(xhi) - 1)
        a, b = max(a, -INT_LIMIT), min(b, INT_LIMIT)
        if a > b:
            raise _Unsupported(f"no integer in [{a}, {b}] that Go holds exactly")
        ints = st.integers(min_value=a, max_value=b)
        m = node.get("multipleOf")
        if isinstance(m, int) and m > 0:
            first = -(-a // m)
            ints = st.integers(min_value=first, max_value=b // m).map(lambda k: k * m)
        return ints
    fmin, fmax, xmin, xmax = lo, hi, False, False
    if xlo is not None and (fmin is None or xlo >= fmin):
        fmin, xmin = xlo, True
    if xhi is not None and (fmax is None or xhi <= fmax):
        fmax, xmax = xhi, True
    floats = st.floats(min_value=None if fmin is None else float(fmin), max_value=None if fmax is None else float(fmax),
                       exclude_min=xmin, exclude_max=xmax, allow_nan=False, allow_infinity=False)
    return floats.filter(_float_ok) | _number("integer", node)


def _object(node: Mapping[str, Any], root: Mapping[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props: Mapping[str, Any] = node.get("properties", {})
    required = [k for k in node.get("required", []) if _go_safe(k)]
    extra = node.get("additionalProperties", True)
    hi = node.get("maxProperties")
    fixed = {k: _from(props.get(k, True), root, depth - 1) for k in required}
    optional = {k: _from(v, root, depth - 1) for k, v in props.items() if k not in fixed and _go_safe(k)}
    base = st.fixed_dictionaries(fixed, optional=optional)
    if extra is False or (hi is not None and hi <= len(fixed)):
        return base
    extra_values = _from(extra, root, depth - 1)
    more = st.dictionaries(go_text(max_size=8).filter(lambda k: k not in props), extra_values, max_size=3)
    return st.tuples(base, more).map(lambda p: {**p[1], **p[0]})
