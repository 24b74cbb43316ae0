"""Property tests: Python's JSON and job bytes against the real Go code (the harness's
``json`` subcommand: Go 1.26 encoding/json and gocraft/work v0.5.1).

Each hypothesis example is a batch of values sent to one harness call. The number of
values compared per property is GOWORK_HYPOTHESIS_EXAMPLES (default 2000, what CI runs;
set GOWORK_HYPOTHESIS_EXAMPLES=50000 locally for the big run).

How "the same value" reaches Go: Python's stdlib ``json.dumps`` text (Go parses repr()
floats to the very same float64), encoded with ``surrogatepass`` so that lone surrogates
arrive as the invalid UTF-8 bytes :mod:`gowork_compat.gojson` assumes.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gowork_compat import gojson
from gowork_compat.job import Job, JobDecodeError
from gowork_compat.keys import Keys

pytestmark = pytest.mark.interop

TOTAL = int(os.environ.get("GOWORK_HYPOTHESIS_EXAMPLES", "2000"))
BATCH = 25
EXAMPLES = max(1, -(-TOTAL // BATCH))

SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                           HealthCheck.data_too_large],
    derandomize=False,
)

INT53 = 2**53
INT64 = 2**63

# --------------------------------------------------------------------------- strategies

_special_chars = st.sampled_from([
    "<", ">", "&", "\u2028", "\u2029", "\x7f", "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\n",
    "\r", "\t", '"', "\\", "/", "é", "\ufffd", "\uffff", "😀", "\U0010ffff", "\ud800", "\udbff",
    "\udc00", "\udfff", "\u0080", "\u00ff",
])
_chars = st.characters(exclude_categories=()) | _special_chars  # surrogates included
_text = st.text(_chars, max_size=12)
_key = st.text(_chars, max_size=6) | st.sampled_from(["a", "b", "A", "é", "\ud800", ""])

_boundary_floats = st.sampled_from([
    0.0, -0.0, 1.0, -1.0, 0.5, 1e21, -1e21, math.nextafter(1e21, 0), math.nextafter(1e21, math.inf),
    1e-6, -1e-6, math.nextafter(1e-6, 0), math.nextafter(1e-6, 1), 1e-7, 1e-4, math.nextafter(1e-4, 0),
    1e16, math.nextafter(1e16, 0), 1e15 + 0.5, 5e-324, -5e-324, 2.2250738585072014e-308,
    2.225073858507201e-308, 1.7976931348623157e308, -1.7976931348623157e308, 9007199254740993.0,
    0.1, 0.30000000000000004, 123456789.125, 1e100, 1e-100,
])
_floats = (
    st.floats(allow_nan=False, allow_infinity=False)
    | _boundary_floats
    | st.floats(min_value=-1e-300, max_value=1e-300, allow_subnormal=True)
    | st.integers(min_value=-(2**60), max_value=2**60).map(float)
    | st.floats(min_value=1e-7, max_value=1e-3)
    | st.floats(min_value=1e15, max_value=1e22)
)
_ints = st.integers(min_value=-INT53, max_value=INT53) | st.sampled_from([0, -1, INT53, -INT53, INT53 - 1])
_scalar = st.none() | st.booleans() | _ints | _floats | _text
_value = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_key, inner, max_size=4),
    max_leaves=8,
)
_args = st.dictionaries(_key, _value, max_size=4)


def _go_text(value: Any) -> bytes:
    """The JSON text that makes Go hold the same value."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8", "surrogatepass")


#: values compared with Go, per property (checked when the module's tests are done)
COMPARED: dict[str, int] = {}


@pytest.fixture(scope="module", autouse=True)
def _every_property_compared_enough_values() -> Iterator[None]:
    """After the module: every property that ran compared at least TOTAL values with Go
    (a check of the tests themselves, so not a test of its own)."""
    yield
    assert EXAMPLES * BATCH >= TOTAL >= 1
    for prop, n in COMPARED.items():
        assert n >= TOTAL, (prop, n)


def _ask(harness: Any, requests: list[dict[str, Any]], prop: str) -> list[dict[str, Any]]:
    answers: list[dict[str, Any]] = harness.json(requests)
    assert len(answers) == len(requests)
    COMPARED[prop] = COMPARED.get(prop, 0) + BATCH
    return answers


# --------------------------------------------------------------------------- marshal / encode

@SETTINGS
@given(st.lists(_value | _args, min_size=BATCH, max_size=BATCH))
def test_marshal_matches_go(harness: Any, values: list[Any]) -> None:
    answers = _ask(harness, [{"op": "marshal", "input": _go_text(v)} for v in values], "marshal_matches_go")
    for v, a in zip(values, answers, strict=True):
        assert "error" not in a, (v, a)
        assert gojson.dumps(v) == a["out"], v


@SETTINGS
@given(st.lists(_args | _value, min_size=BATCH, max_size=BATCH))
def test_encoder_matches_go(harness: Any, values: list[Any]) -> None:
    answers = _ask(harness, [{"op": "encode", "input": _go_text(v)} for v in values], "encoder_matches_go")
    for v, a in zip(values, answers, strict=True):
        assert "error" not in a, (v, a)
        assert gojson.dumps(v, newline=True) == a["out"], v


@SETTINGS
@given(st.lists(_args, min_size=BATCH, max_size=BATCH))
def test_go_output_decodes_to_the_same_bytes(harness: Any, values: list[dict[str, Any]]) -> None:
    """Go's bytes, read by gojson.loads and written again by gojson.dumps, are unchanged
    (what a Python worker re-encoding a Go job relies on)."""
    answers = _ask(harness, [{"op": "marshal", "input": _go_text(v)} for v in values],
                   "go_output_decodes_to_the_same_bytes")
    for a in answers:
        out = a["out"]
        assert gojson.dumps(gojson.loads(out)) == out


# --------------------------------------------------------------------------- job

_int64 = st.integers(min_value=-INT64, max_value=INT64 - 1) | st.sampled_from([0, 1, -1, INT64 - 1, -INT64])
_jobs = st.builds(
    Job,
    name=_text | st.sampled_from(["send_email", ""]),
    id=_text | st.text("0123456789abcdef", min_size=24, max_size=24),
    enqueued_at=_int64,
    args=st.none() | _args,
    unique=st.booleans(),
    fails=_int64 | st.just(0),
    last_err=_text | st.just(""),
    failed_at=_int64 | st.just(0),
)


@SETTINGS
@given(st.lists(_jobs, min_size=BATCH, max_size=BATCH))
def test_job_encode_matches_go(harness: Any, jobs: list[Job]) -> None:
    """Our bytes are a fixed point of Go's Unmarshal+Marshal of work.Job, and we read
    them back to the same bytes."""
    raws = [j.encode() for j in jobs]
    answers = _ask(harness, [{"op": "job", "input": r} for r in raws], "job_encode_matches_go")
    for j, raw, a in zip(jobs, raws, answers, strict=True):
        assert a.get("out") == raw, (j, a)
        assert Job.decode(raw).encode() == raw


@SETTINGS
@given(st.lists(st.tuples(_jobs, _text.filter(bool)), min_size=BATCH, max_size=BATCH))
def test_job_with_unique_key(harness: Any, pairs: list[tuple[Job, str]]) -> None:
    """unique_key (upstream master) sits right after unique, written as Go writes strings;
    v0.5.1 (the harness) ignores it, so the rest must be what it writes."""
    requests: list[dict[str, Any]] = []
    for job, key in pairs:
        job.unique_key = key
        requests.append({"op": "job", "input": job.encode()})
        requests.append({"op": "marshal", "input": _go_text(key)})
    answers = _ask(harness, requests, "job_with_unique_key")
    for i, (job, _) in enumerate(pairs):
        without, quoted = answers[2 * i]["out"], answers[2 * i + 1]["out"]
        ours = job.encode()
        member = b',"unique_key":' + quoted
        # ours == without with the member inserted where fails/err/failed_at (or "}") start
        assert any(
            ours == without[:k] + member + without[k:]
            and without[k:].startswith((b',"fails":', b',"err":', b',"failed_at":', b"}"))
            for k in range(len(without))
        ), (job, ours, without)
        assert Job.decode(ours).unique_key == gojson.loads(quoted)


# Payloads that did not come from an encoder: case variants, repeats, nulls, wrong types.
_member_names = st.sampled_from([
    "name", "NAME", "Name", "id", "ID", "t", "T", "args", "Args", "unique", "UNIQUE", "fails", "Fails",
    "err", "ERR", "failed_at", "FAILED_AT", "fail\u017f", "x", "",
])


class _Literal(str):
    """JSON text used as it is."""


_literals = st.sampled_from([
    "-0", "-0.0", "1.0", "1e3", "1E+2", "1e400", "-1e400", "1" + "0" * 400, "9223372036854775808",
    "-9223372036854775809", "1.7976931348623159e308", "5e-400", '"3"', "[1e400]", '{"a":1e400}',
    '{"a":-0,"b":[-0]}', '"\\ud800"', '"\\ud83d\\ude00"', "[]", "{}",
]).map(_Literal)
_member_values = (
    st.none() | st.booleans() | _int64 | st.integers(min_value=-(2**70), max_value=2**70) | _floats
    | _text | st.lists(_scalar, max_size=3) | _args | _literals
)


def _object_text(members: list[tuple[str, Any]]) -> bytes:
    """An object with these members in this order, repeats included."""
    def dump(v: Any) -> str:
        if isinstance(v, _Literal):
            return str(v)
        return json.dumps(v, ensure_ascii=False)
    text = "{" + ",".join(dump(k) + ":" + dump(v) for k, v in members) + "}"
    return text.encode("utf-8", "surrogatepass")


_payloads = st.lists(st.tuples(_member_names, _member_values), max_size=8).map(_object_text)


@SETTINGS
@given(st.lists(_payloads, min_size=BATCH, max_size=BATCH))
def test_job_decode_agrees_with_go(harness: Any, payloads: list[bytes]) -> None:
    answers = _ask(harness, [{"op": "job", "input": p} for p in payloads], "job_decode_agrees_with_go")
    for p, a in zip(payloads, answers, strict=True):
        try:
            ours = Job.decode(p).encode()
        except JobDecodeError as exc:
            assert "error" in a, (p, str(exc), a)
            continue
        assert "error" not in a, (p, ours, a)
        assert ours == a["out"], p


# --------------------------------------------------------------------------- unique key

# ns and name travel to Go as JSON strings of the request line, which cannot carry the
# invalid bytes a lone surrogate stands for: no surrogates there.
_name = (st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=12)
         | st.sampled_from(["send_email", "a:b", "é<&>"]))


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(["", "ns", "ns:", "gowork-é"]), _name, st.none() | _args),
                min_size=BATCH, max_size=BATCH))
def test_unique_key_matches_go(harness: Any, cases: list[tuple[str, str, dict[str, Any] | None]]) -> None:
    answers = _ask(harness, [{"op": "unique_key", "input": _go_text(args), "ns": ns, "name": name}
                             for ns, name, args in cases], "unique_key_matches_go")
    for (ns, name, args), a in zip(cases, answers, strict=True):
        assert "error" not in a, a
        ours = Keys(ns).unique(name, args).encode("utf-8", "surrogatepass")
        assert ours == a["out"], (ns, name, args)
