"""Job codec and accessors. Expected bytes and messages are those of gocraft/work v0.5.1
(Go 1.26) as observed through the harness: json.Unmarshal into work.Job, then Marshal."""

from __future__ import annotations

import math
import re
from typing import Any

import pytest

from gowork_compat.gojson import GoJSONError
from gowork_compat.job import MAX_ARG_INT, Job, JobArgError, JobDecodeError, new_id, new_ids

# --------------------------------------------------------------------------- encode


def test_encode_minimal() -> None:
    j = Job(name="send_email", id="5c3f1b0e2a7d4e6f8a9b0c1d", enqueued_at=1700000000,
            args={"user_id": 123, "email": "a@b.c", "n": 1.5})
    assert j.encode() == (b'{"name":"send_email","id":"5c3f1b0e2a7d4e6f8a9b0c1d","t":1700000000,'
                          b'"args":{"email":"a@b.c","n":1.5,"user_id":123}}')


def test_encode_all_fields_in_struct_order() -> None:
    j = Job(name="n", id="i", enqueued_at=5, args={"a": 1}, unique=True, unique_key="ns:unique:n:{}\n",
            fails=2, last_err="boom <b>", failed_at=7)
    assert j.encode() == (b'{"name":"n","id":"i","t":5,"args":{"a":1},"unique":true,'
                          b'"unique_key":"ns:unique:n:{}\\n","fails":2,"err":"boom \\u003cb\\u003e",'
                          b'"failed_at":7}')


@pytest.mark.parametrize(("job", "expected"), [
    (Job("", "", 0, None), b'{"id":"","t":0,"args":null}'),
    (Job("x", "i", 0, {}), b'{"name":"x","id":"i","t":0,"args":{}}'),
    (Job("x", "i", -1, None, fails=-1, failed_at=-5),
     b'{"name":"x","id":"i","t":-1,"args":null,"fails":-1,"failed_at":-5}'),
    (Job("<&>", "\u2028", 0, {}), b'{"name":"\\u003c\\u0026\\u003e","id":"\\u2028","t":0,"args":{}}'),
    (Job("a\ud800", "é", 9223372036854775807, None),
     b'{"name":"a\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd","id":"\xc3\xa9","t":9223372036854775807,"args":null}'),
    (Job("x", "i", 1, {"z": -0.0, "y": 1.0, "x": 10**20, "w": 1e21}),
     b'{"name":"x","id":"i","t":1,"args":{"w":1e+21,"x":100000000000000000000,"y":1,"z":-0}}'),
    (Job("x", "i", 1, None, unique=False, unique_key="", last_err=""),
     b'{"name":"x","id":"i","t":1,"args":null}'),
])
def test_encode_vectors(job: Job, expected: bytes) -> None:
    assert job.encode() == expected


def test_encode_name_cache_does_not_leak_between_names() -> None:
    a = Job("same", "1", 1, None).encode()
    b = Job("other", "1", 1, None).encode()
    c = Job("same", "1", 1, None).encode()
    assert a == c == b'{"name":"same","id":"1","t":1,"args":null}'
    assert b == b'{"name":"other","id":"1","t":1,"args":null}'


def test_encode_bad_args_names_args_path() -> None:
    with pytest.raises(GoJSONError, match=r'^args\["a"\]\[1\]: json: unsupported value: NaN'):
        Job("x", "i", 1, {"a": [1, float("nan")]}).encode()


# --------------------------------------------------------------------------- decode

# (payload, Go's re-marshal of what it decoded)
DECODE_OK: list[tuple[bytes, bytes]] = [
    (b'{"name":"x","id":"i","t":1,"args":null}', b'{"name":"x","id":"i","t":1,"args":null}'),
    (b'{"t":9223372036854775807}', b'{"id":"","t":9223372036854775807,"args":null}'),
    (b'{"t":-9223372036854775808}', b'{"id":"","t":-9223372036854775808,"args":null}'),
    (b'{"NAME":"a","Id":"b","T":5,"ARGS":{"a":1},"UNIQUE":true,"failS":2,"ERR":"e","Failed_At":7}',
     b'{"name":"a","id":"b","t":5,"args":{"a":1},"unique":true,"fails":2,"err":"e","failed_at":7}'),
    (b'{"fail\xc5\xbf":3}', b'{"id":"","t":0,"args":null,"fails":3}'),  # U+017F folds to s
    (b'{"t":null,"name":null,"args":null,"unique":null}', b'{"id":"","t":0,"args":null}'),
    (b'{"name":"a\xffb"}', b'{"name":"a\xef\xbf\xbdb","id":"","t":0,"args":null}'),
    (b'{"name":"\\ud800x"}', b'{"name":"\xef\xbf\xbdx","id":"","t":0,"args":null}'),
    (b' {"t":1} ', b'{"id":"","t":1,"args":null}'),
    (b'{"name":"<&>","id":"\\u2028","t":0,"args":{},"fails":0,"err":"","failed_at":0,"unique":false,'
     b'"unique_key":""}', b'{"name":"\\u003c\\u0026\\u003e","id":"\\u2028","t":0,"args":{}}'),
    (b'{"t":1,"args":{"z":-0,"y":1.0,"x":100000000000000000000}}',
     b'{"id":"","t":1,"args":{"x":100000000000000000000,"y":1,"z":-0}}'),
    (b'{"failed_at":-5,"fails":-1}', b'{"id":"","t":0,"args":null,"fails":-1,"failed_at":-5}'),
    (b'{"t":-0}', b'{"id":"","t":0,"args":null}'),
    (b'{"t":-0, "args":{"a":-0,"b":[-0]}}', b'{"id":"","t":0,"args":{"a":-0,"b":[-0]}}'),
    (b'{"args":{"k":1},"args":{"j":2}}', b'{"id":"","t":0,"args":{"j":2,"k":1}}'),  # Go merges
    (b'{"args":{"k":1},"args":null,"args":{"j":2}}', b'{"id":"","t":0,"args":{"j":2}}'),
    (b'{"t":5,"t":null}', b'{"id":"","t":5,"args":null}'),  # null leaves the field alone
    (b'{"name":"a","NAME":"b","name":"c"}', b'{"name":"c","id":"","t":0,"args":null}'),
    (b'{"name":"a","NAME":"b"}', b'{"name":"b","id":"","t":0,"args":null}'),
    (b'{"t":1,"T":2}', b'{"id":"","t":2,"args":null}'),
    (b'{"args":{"a":1,"a":null}}', b'{"id":"","t":0,"args":{"a":null}}'),
    (b'{"x":1,"args":{"big":12345678901234567890123}}',  # Go would write 1.2345678901234568e+22
     b'{"id":"","t":0,"args":{"big":12345678901234567890123}}'),
    # upstream master's unique_key (v0.5.1 ignores it; we keep it like master does)
    (b'{"name":"n","id":"i","t":1,"args":{},"unique":true,"unique_key":"k"}',
     b'{"name":"n","id":"i","t":1,"args":{},"unique":true,"unique_key":"k"}'),
    (b'{"UNIQUE_\xe2\x84\xaaEY":"k"}', b'{"id":"","t":0,"args":null,"unique_key":"k"}'),  # KELVIN SIGN
    # Go skips the values of unknown members without converting their numbers
    (b'{"x":1e400,"t":2}', b'{"id":"","t":2,"args":null}'),
    (b'{"x":[-1e400]}', b'{"id":"","t":0,"args":null}'),
    (b'{"x":1' + b"0" * 400 + b"}", b'{"id":"","t":0,"args":null}'),
    (b'{"args":{"a":1.7976931348623158e308,"b":[1e-400]}}',
     b'{"id":"","t":0,"args":{"a":1.7976931348623157e+308,"b":[0]}}'),
]


@pytest.mark.parametrize(("raw", "expected"), DECODE_OK, ids=[str(i) for i in range(len(DECODE_OK))])
def test_decode_then_encode_like_go(raw: bytes, expected: bytes) -> None:
    job = Job.decode(raw)
    assert job.raw == raw
    assert job.encode() == expected


DECODE_BAD: list[tuple[bytes, str]] = [
    (b'{"t":1.5}', "t: number 1.5 is not an integer"),
    (b'{"t":1e3}', "t: number 1000.0 is not an integer"),
    (b'{"t":-0.0}', "t: number -0.0 is not an integer"),
    (b'{"fails":2.0}', "fails: number 2.0 is not an integer"),
    (b'{"t":"3"}', "t: expected an integer, got string"),
    (b'{"failed_at":true}', "failed_at: expected an integer, got bool"),
    (b'{"t":9223372036854775808}', "t: number 9223372036854775808 overflows int64"),
    (b'{"t":-9223372036854775809}', "t: number -9223372036854775809 overflows int64"),
    (b'[]', "not a JSON object (got array)"),
    (b'"x"', "not a JSON object (got string)"),
    (b'null', "not a JSON object (got null)"),  # Go would decode an empty job
    (b'{"args":[]}', "args: expected an object, got array"),
    (b'{"args":"x"}', "args: expected an object, got string"),
    (b'{"args":-0}', "args: expected an object, got number"),
    (b'{"unique":1}', "unique: expected a bool, got number"),
    (b'{"unique":"true"}', "unique: expected a bool, got string"),
    (b'{"name":5}', "name: expected a string, got number"),
    (b'{"id":true}', "id: expected a string, got bool"),
    (b'{"err":{}}', "err: expected a string, got object"),
    (b'{"unique_key":[]}', "unique_key: expected a string, got array"),
    (b'{"x":1,"args":{"a":1e400}}', "args: number 1e400 is out of float64 range"),
    (b'{"args":{"a":[1.7976931348623159e308]}}', "args: number 1.7976931348623159e308 is out of float64 range"),
    (b'{"args":{"a":{"b":-1' + b"0" * 400 + b"}}}", "args: number -1000"),
    (b'{"args":{"a":1e400},"args":null}', "args: number 1e400 is out of float64 range"),
    (b'{"t":1e400}', "t: number 1e400 overflows int64"),
    (b'{"name":1e400}', "name: expected a string, got number"),
    (b'{"args":{"a":NaN}}', "invalid character 'N'"),
    (b'{"t":1} x', "invalid JSON"),
    (b'{"t":01}', "invalid JSON"),
    (b'\xef\xbb\xbf{}', "invalid JSON"),
    (b'{"t":1}\x00', "invalid JSON"),
    (b'', "invalid JSON"),
]


@pytest.mark.parametrize(("raw", "reason"), DECODE_BAD, ids=[str(i) for i in range(len(DECODE_BAD))])
def test_decode_errors(raw: bytes, reason: str) -> None:
    with pytest.raises(JobDecodeError, match=r"^malformed job payload: ") as ei:
        Job.decode(raw)
    msg = str(ei.value)
    assert msg.startswith("malformed job payload: ")
    assert reason in msg
    assert isinstance(ei.value, ValueError)


def test_decode_keeps_ints_exact_and_negative_zero() -> None:
    j = Job.decode(b'{"name":"n","id":"i","t":1,"args":{"a":9007199254740993,"b":-0,"c":[1.0]}}')
    assert j.args is not None
    assert j.args["a"] == 9007199254740993 and type(j.args["a"]) is int
    assert math.copysign(1, j.args["b"]) == -1
    assert j.args["c"] == [1.0] and type(j.args["c"][0]) is float


def test_decode_accepts_memoryview_and_runtime_fields_default() -> None:
    j = Job.decode(memoryview(b'{"name":"n","id":"i","t":3,"args":{}}'))  # type: ignore[arg-type]
    assert j.raw == b'{"name":"n","id":"i","t":3,"args":{}}'
    assert (j.dequeued_from, j.in_progress_queue, j.arg_error()) == ("", "", None)
    assert j == Job("n", "i", 3, {})


# --------------------------------------------------------------------------- accessors

_ARGS_PAYLOAD = (
    b'{"name":"x","id":"i","t":1,"args":{"s":"str","i":123,"big":1000000,"f":1.5,"fi":3.0,"b":true,'
    b'"n":null,"m":{"z":1,"a":[1,"x",null,{"q":1e21}]},"l":[1,2.5,"a b"],"huge":9007199254740893,'
    b'"edge":9007199254740892,"neg":-9007199254740892,"tiny":0.00001,"e":1e-7,"h":1e300}}'
)
_M = "map[string]interface {}(map[a:[1 x <nil> map[q:1e+21]] z:1])"
_L = "[]interface {}([1 2.5 a b])"

# (key, accessor, Go's result, Go's ArgError text); from gocraft/work v0.5.1
ACCESSORS: list[tuple[str, str, Any, str]] = [
    ("s", "string", "str", ""),
    ("s", "int", 0, "looking for a int64 in job.Arg[s] but value wasn't right type: string(str)"),
    ("s", "float", 0.0, "looking for a float64 in job.Arg[s] but value wasn't right type: string(str)"),
    ("s", "bool", False, "looking for a bool in job.Arg[s] but value wasn't right type: string(str)"),
    ("i", "string", "", "looking for a string in job.Arg[i] but value wasn't right type: float64(123)"),
    ("i", "int", 123, ""),
    ("i", "float", 123.0, ""),
    ("i", "bool", False, "looking for a bool in job.Arg[i] but value wasn't right type: float64(123)"),
    ("big", "string", "", "looking for a string in job.Arg[big] but value wasn't right type: float64(1e+06)"),
    ("big", "int", 1000000, ""),
    ("big", "float", 1e6, ""),
    ("f", "int", 0, "looking for a int64 in job.Arg[f] but value wasn't right type: float64(1.5)"),
    ("f", "float", 1.5, ""),
    ("f", "bool", False, "looking for a bool in job.Arg[f] but value wasn't right type: float64(1.5)"),
    ("fi", "string", "", "looking for a string in job.Arg[fi] but value wasn't right type: float64(3)"),
    ("fi", "int", 3, ""),
    ("fi", "float", 3.0, ""),
    ("b", "string", "", "looking for a string in job.Arg[b] but value wasn't right type: bool(true)"),
    ("b", "int", 0, "looking for a int64 in job.Arg[b] but value wasn't right type: bool(true)"),
    ("b", "float", 0.0, "looking for a float64 in job.Arg[b] but value wasn't right type: bool(true)"),
    ("b", "bool", True, ""),
    ("n", "string", "", "looking for a string in job.Arg[n] but value wasn't right type: <nil>(<nil>)"),
    ("n", "int", 0, "looking for a int64 in job.Arg[n] but value wasn't right type: <nil>(<nil>)"),
    ("n", "bool", False, "looking for a bool in job.Arg[n] but value wasn't right type: <nil>(<nil>)"),
    ("m", "string", "", "looking for a string in job.Arg[m] but value wasn't right type: " + _M),
    ("m", "float", 0.0, "looking for a float64 in job.Arg[m] but value wasn't right type: " + _M),
    ("l", "int", 0, "looking for a int64 in job.Arg[l] but value wasn't right type: " + _L),
    ("l", "bool", False, "looking for a bool in job.Arg[l] but value wasn't right type: " + _L),
    ("huge", "int", 0,
     "looking for a int64 in job.Arg[huge] but value wasn't right type: float64(9.007199254740893e+15)"),
    ("huge", "float", 9007199254740893.0, ""),
    ("edge", "int", 9007199254740892, ""),
    ("edge", "string", "",
     "looking for a string in job.Arg[edge] but value wasn't right type: float64(9.007199254740892e+15)"),
    ("neg", "int", -9007199254740892, ""),
    ("tiny", "int", 0, "looking for a int64 in job.Arg[tiny] but value wasn't right type: float64(1e-05)"),
    ("tiny", "float", 1e-5, ""),
    ("e", "string", "", "looking for a string in job.Arg[e] but value wasn't right type: float64(1e-07)"),
    ("h", "int", 0, "looking for a int64 in job.Arg[h] but value wasn't right type: float64(1e+300)"),
    ("h", "float", 1e300, ""),
    ("missing", "string", "", "looking for a string in job.Arg[missing] but key wasn't found"),
    ("missing", "int", 0, "looking for a int64 in job.Arg[missing] but key wasn't found"),
    ("missing", "float", 0.0, "looking for a float64 in job.Arg[missing] but key wasn't found"),
    ("missing", "bool", False, "looking for a bool in job.Arg[missing] but key wasn't found"),
]


@pytest.mark.parametrize(("key", "kind", "value", "error"), ACCESSORS,
                         ids=[f"{k}-{t}" for k, t, _, _ in ACCESSORS])
def test_accessors_like_go(key: str, kind: str, value: Any, error: str) -> None:
    job = Job.decode(_ARGS_PAYLOAD)
    got = getattr(job, "arg_" + kind)(key)
    assert got == value and type(got) is type(value)
    err = job.arg_error()
    if error:
        assert isinstance(err, JobArgError) and str(err) == error
    else:
        assert err is None


def test_accessors_on_nil_args() -> None:
    job = Job("x", "i", 1, None)
    assert job.arg_int("a") == 0
    assert str(job.arg_error()) == "looking for a int64 in job.Arg[a] but key wasn't found"


def test_arg_int_bounds_for_python_ints() -> None:
    job = Job("x", "i", 1, {"ok": MAX_ARG_INT, "lo": -MAX_ARG_INT, "over": MAX_ARG_INT + 1,
                            "f": float(MAX_ARG_INT + 2)})
    assert job.arg_int("ok") == 9007199254740892 and job.arg_int("lo") == -9007199254740892
    assert job.arg_error() is None
    assert job.arg_int("over") == 0
    assert str(job.arg_error()).endswith("float64(9.007199254740893e+15)")
    assert job.arg_int("f") == 0


def test_arg_float_of_huge_int_is_an_error_not_a_crash() -> None:
    job = Job("x", "i", 1, {"h": 10**400})
    assert job.arg_float("h") == 0.0
    assert str(job.arg_error()) == \
        "looking for a float64 in job.Arg[h] but value wasn't right type: float64(+Inf)"


def test_arg_error_keeps_the_last_failure() -> None:
    job = Job("x", "i", 1, {"s": "str", "n": 1})
    job.arg_int("s")
    job.arg_bool("missing")
    job.arg_string("s")  # a success does not clear it
    job.arg_int("n")
    assert str(job.arg_error()) == "looking for a bool in job.Arg[missing] but key wasn't found"


# --------------------------------------------------------------------------- running


def test_checkin_calls_the_worker_hook() -> None:
    job = Job("x", "i", 1, None)
    job.checkin("nobody listens")  # no hook: no-op
    seen: list[str] = []
    job._checkin = seen.append
    job.checkin("50%")
    assert seen == ["50%"]


def test_failed_records_like_go() -> None:
    job = Job("x", "i", 1, {"a": 1})
    job.failed("boom", 1700000000)
    job.failed("bang", 1700000005)
    assert (job.fails, job.last_err, job.failed_at) == (2, "bang", 1700000005)
    assert job.encode() == \
        b'{"name":"x","id":"i","t":1,"args":{"a":1},"fails":2,"err":"bang","failed_at":1700000005}'


def test_new_ids() -> None:
    ids = [new_id() for _ in range(100)] + new_ids(1000)
    assert all(re.fullmatch(r"[0-9a-f]{24}", i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert new_ids(0) == []
    assert len(new_ids(3)) == 3
