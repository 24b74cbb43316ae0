"""Go-backed proofs of three claims spec/PROOFS.md listed without one: the typed accessors
(``arg_int`` ... and ``arg_error``) against Go's ``ArgInt64`` ... and ``ArgError`` on the same
job bytes (the harness's ``json`` op ``args``), job ids in the format of the ids Go's
enqueuer writes, and known_jobs written by both enqueuers on a name's first enqueue and not
rewritten within the 300 s window (the harness's enqueue method ``Do`` runs SREM and
SISMEMBER between Go's calls). Each test takes a few seconds."""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from typing import Any

import hypothesis.strategies as st
import redis
from hypothesis import HealthCheck, given, settings

from gowork_compat.enqueuer import Enqueuer
from gowork_compat.job import Job, JobDecodeError
from gowork_compat.keys import Keys
from tests.interop.harness import Harness
from tests.interop.test_go_proofs import other_ns

# -- typed accessors ------------------------------------------------------------------------

ACCESSORS = ("int", "float", "string", "bool")

#: args objects as JSON text, literals spelled as a Go service or a hand-written payload may
#: spell them (1e3, -0, 1.0, beyond 2**53, beyond int64, "true" next to true, nesting)
TRICKY_ARGS = [
    '{"a":1e3,"b":-0,"c":1.0,"d":1E+2,"e":-0.0,"f":1.5,"g":0.1,"h":-7}',
    '{"a":9007199254740892,"b":-9007199254740892,"c":9007199254740893,"d":9007199254740993,'
    '"e":12345678901234567890,"f":-9223372036854775809,"g":1e21,"h":1.7976931348623157e308}',
    '{"a":5e-324,"b":1e-7,"c":123456789.125,"d":4.35,"e":-1e300,"f":2e15,"g":100000000000000000000000}',
    '{"a":true,"b":"true","c":false,"d":"false","e":1,"f":"1","g":"","h":null}',
    '{"a":{"x":[1,2.5,"s",null,true]},"b":[],"c":{},"d":[{"y":{}}],"e":{"b":1,"a":{"c":-0}}}',
    '{"a":"<&>\\u2028 é \\ud83d\\ude00","a b":"x","":"empty key","é":3,"A":2,"a":"last wins"}',
    '{"a":"\\u0000\\n","b":["\\"q\\""],"c":{"k":"v","j":[null]}}',
]
#: payloads around the args: null args, no args, a repeated args object (Go merges), a bad one
TRICKY_PAYLOADS = [
    *(b'{"name":"n","id":"i","t":1,"args":' + a.encode() + b'}' for a in TRICKY_ARGS),
    b'{"name":"n","id":"i","t":1,"args":null}',
    b'{"name":"n","id":"i","t":1}',
    b'{"name":"n","id":"i","t":1,"args":{"a":1,"b":"x"},"args":{"b":true,"c":2}}',
    b'{"name":"n","id":"i","t":1,"args":{"a":1e400}}',
    b'{"name":"n","id":"i","t":1,"args":[1]}',
]
TRICKY_KEYS = ["a", "b", "c", "d", "e", "f", "g", "h", "a b", "", "é", "A", "zz"]


def _bits(f: float) -> int:
    return int(struct.unpack("<Q", struct.pack("<d", f))[0])


def _typed(v: Any) -> tuple[str, Any]:
    return (type(v).__name__, v)  # so 0 and False (equal in Python) are told apart


def ours(raw: bytes, calls: list[tuple[str, str]]) -> list[dict[str, Any]] | None:
    """Our accessors in order on one job decoded from ``raw``; None when it does not decode."""
    try:
        job = Job.decode(raw)
    except JobDecodeError:
        return None
    out = []
    for acc, key in calls:
        v = getattr(job, "arg_" + acc)(key)
        err = job.arg_error()
        out.append({"value": _typed(_bits(v) if acc == "float" else v), "error": None if err is None else str(err)})
    return out


def gos(harness: Harness, jobs: list[tuple[bytes, list[tuple[str, str]]]]) -> list[list[dict[str, Any]] | None]:
    """Go's accessors, one harness process for all ``jobs``; None when Go refuses the payload."""
    replies = harness.json([{"op": "args", "input": raw, "calls": calls} for raw, calls in jobs])
    res: list[list[dict[str, Any]] | None] = []
    for rep in replies:
        if "out" not in rep:
            res.append(None)
            continue
        calls = json.loads(rep["out"])
        assert all("unknown" not in c for c in calls), calls
        res.append([{"value": _typed(c["value"]), "error": c["error"]} for c in calls])
    return res


def _compare(harness: Harness, jobs: list[tuple[bytes, list[tuple[str, str]]]]) -> None:
    for (raw, calls), go in zip(jobs, gos(harness, jobs), strict=True):
        assert ours(raw, calls) == go, raw


def test_typed_accessors_and_arg_error_match_go_on_tricky_args(harness: Harness) -> None:
    """Every accessor on every key (missing ones too) in one sequence per job, so arg_error's
    "the last failure stays until another failure" is compared as well as values and texts."""
    calls = [(acc, key) for key in TRICKY_KEYS for acc in ACCESSORS]
    jobs = [(raw, calls) for raw in TRICKY_PAYLOADS]
    go = gos(harness, jobs)
    # the oracle answers what we claim (spec/README.md, "Typed accessors"), not something vacuous
    first = go[0]
    assert first is not None
    by_call = dict(zip(calls, first, strict=True))
    assert by_call[("int", "a")] == {"value": ("int", 1000), "error": None}  # 1e3
    assert by_call[("int", "f")]["error"] == \
        "looking for a int64 in job.Arg[f] but value wasn't right type: float64(1.5)"
    assert by_call[("float", "b")]["value"] == ("int", _bits(-0.0))
    assert by_call[("bool", "zz")]["error"] == "looking for a bool in job.Arg[zz] but key wasn't found"
    assert go[-2] is None and go[-1] is None  # 1e400 and array args: Go refuses the payload
    for (raw, c), g in zip(jobs, go, strict=True):
        assert ours(raw, c) == g, raw


_NUMBER = st.from_regex(r"-?(0|[1-9][0-9]{0,20})(\.[0-9]{1,17})?([eE][+-]?[0-9]{1,2})?", fullmatch=True)
_KEYS = st.sampled_from(["a", "b", "c", "A", "", "a b", "é"])
_LEAF = st.one_of(
    _NUMBER,
    st.sampled_from(["true", "false", "null", '"true"', '"1"', '""', "-0", "1e3", "9007199254740893"]),
    st.text(max_size=5).map(json.dumps),
)


def _container(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=3).map(lambda xs: "[" + ",".join(xs) + "]")
    objects = st.lists(st.tuples(_KEYS, children), max_size=3).map(
        lambda kvs: "{" + ",".join(json.dumps(k) + ":" + v for k, v in kvs) + "}")
    return st.one_of(arrays, objects)


_VALUE = st.recursive(_LEAF, _container, max_leaves=6)
_ARGS = st.lists(st.tuples(_KEYS, _VALUE), max_size=5).map(
    lambda kvs: "{" + ",".join(json.dumps(k) + ":" + v for k, v in kvs) + "}")
_CALLS = st.lists(st.tuples(st.sampled_from(ACCESSORS), st.sampled_from(["a", "b", "c", "A", "", "zz"])),
                  min_size=1, max_size=8)
_JOBS = st.lists(st.tuples(_ARGS.map(lambda a: b'{"id":"x","t":1,"args":' + a.encode() + b"}"), _CALLS),
                 min_size=1, max_size=10)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(jobs=_JOBS)
def test_typed_accessors_match_go_property(harness: Harness, jobs: list[tuple[bytes, list[tuple[str, str]]]]) -> None:
    """Random args text (number literals of every spelling, nesting, repeated keys) and random
    accessor sequences: values, arg_error texts and refusals equal Go's (up to 500 jobs)."""
    _compare(harness, jobs)


# -- ids ------------------------------------------------------------------------------------


def _shape(ids: list[str]) -> tuple[set[int], set[str]]:
    return {len(i) for i in ids}, set("".join(ids))


def _all_ids(r: redis.Redis, ns: str, names: list[str]) -> list[str]:
    k = Keys(ns)
    raws = [m for n in names for m in r.lrange(k.jobs(n), 0, -1)] + r.zrange(k.scheduled, 0, -1)
    return [json.loads(m)["id"] for m in raws]


def test_job_ids_have_the_format_of_gos(harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    """Ids of jobs Go's enqueuer wrote (every method), read from Redis, and ids of ours: 24
    characters of lower-case hex, all distinct. (Go's pool running jobs with our ids:
    tests/interop/test_enqueue_interop.py::test_enqueue_runs_on_go_worker.)"""
    reqs: list[dict[str, Any]] = []
    for i in range(40):
        reqs.append({"method": "Enqueue", "name": "ids", "args": {"i": i}})
        reqs.append({"method": "EnqueueIn", "name": "ids", "in": 60, "args": {"i": i}})
        reqs.append({"method": "EnqueueUnique", "name": "ids_u", "args": {"i": i}})
        reqs.append({"method": "EnqueueUniqueIn", "name": "ids_u", "in": 60, "args": {"j": i}})
    assert all("error" not in rep for rep in harness.enqueue(reqs))
    go_ids = _all_ids(r, ns, ["ids", "ids_u"])
    assert len(go_ids) == len(reqs)

    py_ns = f"{ns}-py"
    enq = Enqueuer(redis_url, py_ns)
    for i in range(40):
        enq.enqueue("ids", {"i": i})
        enq.enqueue_in("ids", 60, {"i": i})
        enq.enqueue_unique("ids_u", {"i": i})
        enq.enqueue_unique_in("ids_u", 60, {"j": i})
    enq.enqueue_many([("ids", {"i": i}) for i in range(40)])
    py_ids = _all_ids(r, py_ns, ["ids", "ids_u"])
    assert len(py_ids) == len(reqs) + 40

    assert _shape(go_ids) == ({24}, set("0123456789abcdef"))  # 320 ids use all 16 digits
    assert _shape(py_ids) == _shape(go_ids)
    assert len(set(go_ids)) == len(go_ids) and len(set(py_ids)) == len(py_ids)
    assert all(re.fullmatch("[0-9a-f]{24}", i) for i in go_ids + py_ids)


# -- known_jobs -----------------------------------------------------------------------------

METHODS = ("Enqueue", "EnqueueIn", "EnqueueUnique", "EnqueueUniqueIn")


def _known_jobs_steps(ns: str) -> list[dict[str, Any]]:
    """For each method: the first enqueue of a fresh name, SISMEMBER, SREM, then every method
    on that name again through the same enqueuer, SISMEMBER after each."""
    kj = Keys(ns).known_jobs
    steps: list[dict[str, Any]] = []
    for first in METHODS:
        name = f"kj_{first}"
        steps += [{"method": first, "name": name, "in": 60, "args": {"i": 0}},
                  {"method": "Do", "command": ["SISMEMBER", kj, name]},
                  {"method": "Do", "command": ["SREM", kj, name]}]
        for i, again in enumerate(METHODS, 1):
            steps += [{"method": again, "name": name, "in": 60, "args": {"i": i}},
                      {"method": "Do", "command": ["SISMEMBER", kj, name]}]
    return steps


def _run_python_steps(enq: Enqueuer, r: redis.Redis, steps: list[dict[str, Any]]) -> list[Any]:
    calls: dict[str, Callable[[dict[str, Any]], object]] = {
        "Enqueue": lambda s: enq.enqueue(s["name"], s["args"]),
        "EnqueueIn": lambda s: enq.enqueue_in(s["name"], s["in"], s["args"]),
        "EnqueueUnique": lambda s: enq.enqueue_unique(s["name"], s["args"]),
        "EnqueueUniqueIn": lambda s: enq.enqueue_unique_in(s["name"], s["in"], s["args"]),
    }
    out: list[Any] = []
    for s in steps:
        if s["method"] == "Do":
            out.append(r.execute_command(*s["command"]))
        else:
            assert calls[s["method"]](s) is not None
            out.append("enqueued")
    return out


def test_enqueuers_write_known_jobs_on_first_enqueue_and_not_again_within_300s(
        harness: Harness, redis_url: str, ns: str, r: redis.Redis) -> None:
    """Go's Enqueuer SADDs a name on its first enqueue by any method and caches it for 300 s
    (enqueue.go addToKnownJobs): a member removed after that first enqueue is not re-added by
    any method of the same enqueuer; a fresh enqueuer adds it again. Ours does the same."""
    go_out = [rep.get("reply", "enqueued" if rep.get("job") else rep) for rep in harness.enqueue(_known_jobs_steps(ns))]
    py_ns = f"{ns}-py"
    py_out = _run_python_steps(Enqueuer(redis_url, py_ns), r, _known_jobs_steps(py_ns))
    one_method = ["enqueued", 1, 1] + ["enqueued", 0] * len(METHODS)
    assert go_out == one_method * len(METHODS)  # what enqueue.go says, seen on Go itself
    assert py_out == go_out

    # a fresh enqueuer has an empty cache: its first enqueue of the name writes it again
    go2 = other_ns(harness, "fresh")
    reps = go2.enqueue([{"method": "Enqueue", "name": "kj", "args": None},
                        {"method": "Do", "command": ["SREM", Keys(go2.namespace).known_jobs, "kj"]}])
    assert reps[1]["reply"] == 1
    go2.enqueue([{"method": "Enqueue", "name": "kj", "args": None}])
    py_fresh = f"{ns}-pyfresh"
    Enqueuer(redis_url, py_fresh).enqueue("kj")
    assert r.srem(Keys(py_fresh).known_jobs, "kj") == 1
    Enqueuer(redis_url, py_fresh).enqueue("kj")
    assert r.smembers(Keys(go2.namespace).known_jobs) == r.smembers(Keys(py_fresh).known_jobs) == {b"kj"}
