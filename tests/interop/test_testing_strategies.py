"""gowork_compat.testing.strategies against the real Go code (the harness's ``json``
subcommand), like our own codec properties: every value drawn survives Go's decode into
interface{} and encode unchanged, and gojson writes Go's very bytes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gowork_compat import gojson
from gowork_compat.job import Job
from gowork_compat.testing.strategies import INT_LIMIT, args_from_schema, go_args, go_json, jobs

BATCH = 25
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.data_too_large])
INVOICE = json.loads((Path(__file__).resolve().parents[2] / "examples/invoices/send_invoice.schema.json").read_text())
KITCHEN_SINK = {
    "type": "object",
    "$defs": {"money": {"type": "integer", "minimum": -(2**60), "maximum": 2**60, "multipleOf": 5}},
    "required": ["m", "f"],
    "properties": {
        "m": {"$ref": "#/$defs/money"},
        "f": {"type": "number", "exclusiveMinimum": -1, "exclusiveMaximum": 1},
        "u": {"type": "array", "items": {"type": ["integer", "null"]}, "uniqueItems": True, "maxItems": 3},
        "o": {"anyOf": [{"type": "string", "maxLength": 2}, {"const": [1, {"a": None}]}]},
        "e": {"enum": ["a", 2**60, 1.5, None]},
        "any": True,
    },
    "additionalProperties": {"type": "boolean"},
}


def _go_text(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _roundtrip(harness: Any, values: list[Any]) -> None:
    answers = harness.json([{"op": "marshal", "input": _go_text(v)} for v in values])
    for v, a in zip(values, answers, strict=True):
        assert "error" not in a, (v, a)
        assert gojson.dumps(v) == a["out"], v
        assert gojson.loads(a["out"]) == v


@SETTINGS
@given(st.lists(go_json(), min_size=BATCH, max_size=BATCH))
def test_go_json_survives_go(harness: Any, values: list[Any]) -> None:
    _roundtrip(harness, values)


@SETTINGS
@given(st.lists(go_args(), min_size=BATCH, max_size=BATCH))
def test_go_args_survive_go(harness: Any, values: list[dict[str, Any]]) -> None:
    assert all(isinstance(v, dict) for v in values)
    _roundtrip(harness, values)


@SETTINGS
@given(st.lists(jobs(), min_size=BATCH, max_size=BATCH))
def test_jobs_are_what_go_writes(harness: Any, records: list[Job]) -> None:
    raws = [j.encode() for j in records]
    answers = harness.json([{"op": "job", "input": r} for r in raws])
    for j, raw, a in zip(records, raws, answers, strict=True):
        assert a.get("out") == raw, (j, a)
        assert (j.fails > 0) == bool(j.last_err) == (j.failed_at > 0)


@SETTINGS
@given(st.lists(args_from_schema(INVOICE) | args_from_schema(KITCHEN_SINK), min_size=BATCH, max_size=BATCH))
def test_args_from_schema_survive_go(harness: Any, values: list[dict[str, Any]]) -> None:
    _roundtrip(harness, values)


@settings(max_examples=200, deadline=None)
@given(args_from_schema(KITCHEN_SINK))
def test_args_from_schema_stay_go_safe(args: dict[str, Any]) -> None:
    import jsonschema

    jsonschema.validate(args, KITCHEN_SINK)
    assert abs(args["m"]) <= INT_LIMIT and args["m"] % 5 == 0
    assert args.get("e", None) != 2**60  # excluded: Go would round it
    assert all(isinstance(v, bool) for k, v in args.items() if k not in KITCHEN_SINK["properties"])


def test_args_from_schema_refuses_what_go_cannot_hold() -> None:
    with pytest.raises(ValueError, match=r"no integer in \[1152921504606846976, 9007199254740992\]"):
        args_from_schema({"type": "object", "properties": {"x": {"type": "integer", "minimum": 2**60}}})
    with pytest.raises(ValueError, match=r"only local \$ref are supported"):
        args_from_schema({"type": "object", "properties": {"x": {"$ref": "https://example.com/s.json"}}})


@settings(max_examples=100, deadline=None)
@given(args_from_schema({"type": "object", "required": ["id"],
                         "properties": {"id": {"type": "string", "pattern": "^INV-[0-9]{2}$"}}}))
def test_patterns_match_in_full(args: dict[str, Any]) -> None:
    """Python's $ matches before a final newline; Go's (and ECMA 262's) does not."""
    assert len(args["id"]) == 6 and not args["id"].endswith("\n")
