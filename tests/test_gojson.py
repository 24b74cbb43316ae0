"""gojson: Go-exact encoding vectors (expected bytes taken from Go 1.26's encoding/json
through the harness), fast path == pure path, check_args, loads."""

from __future__ import annotations

import gc
import json
import math
import re
from collections import OrderedDict
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gowork_compat import gojson
from gowork_compat.gojson import GoJSONError, InvalidArgsError, check_args, dumps, loads

FFFD = b"\xef\xbf\xbd"

# (python float, json.Marshal of that float64)
FLOATS: list[tuple[float, bytes]] = [
    (1.0, b"1"),
    (-0.0, b"-0"),
    (0.0, b"0"),
    (1.5, b"1.5"),
    (-123456.0, b"-123456"),
    (0.1 + 0.2, b"0.30000000000000004"),
    (123456789.125, b"123456789.125"),
    (1e16, b"10000000000000000"),
    (9999999999999998.0, b"9999999999999998"),
    (1e20, b"100000000000000000000"),
    (math.nextafter(1e21, 0), b"999999999999999900000"),
    (1e21, b"1e+21"),
    (1.5e300, b"1.5e+300"),
    (1e100, b"1e+100"),
    (1.7976931348623157e308, b"1.7976931348623157e+308"),
    (2.0**60, b"1152921504606847000"),
    (1e-6, b"0.000001"),
    (math.nextafter(1e-6, 0), b"9.999999999999997e-7"),
    (1.5e-5, b"0.000015"),
    (2.5e-4, b"0.00025"),
    (math.nextafter(1e-4, 0), b"0.00009999999999999999"),
    (math.nextafter(1e-4, 1), b"0.00010000000000000002"),
    (1e-7, b"1e-7"),
    (-1e-7, b"-1e-7"),
    (9.99e-7, b"9.99e-7"),
    (1e-10, b"1e-10"),
    (1.23e-18, b"1.23e-18"),
    (1e-100, b"1e-100"),
    (2.2250738585072014e-308, b"2.2250738585072014e-308"),
    (5e-324, b"5e-324"),
]


@pytest.mark.parametrize(("value", "expected"), FLOATS, ids=[repr(f) for f, _ in FLOATS])
def test_float_vectors(value: float, expected: bytes) -> None:
    assert dumps(value) == expected
    assert gojson.go_format_float(value) == expected.decode()
    # the same inside containers (fast path or not)
    assert dumps({"x": value}) == b'{"x":' + expected + b"}"
    assert dumps([value, "a"]) == b"[" + expected + b',"a"]'


STRINGS: list[tuple[str, bytes]] = [
    ("", b'""'),
    ("plain ascii 123", b'"plain ascii 123"'),
    ('"', b'"\\""'),
    ("\\", b'"\\\\"'),
    ("/", b'"/"'),
    ("\x00", b'"\\u0000"'),
    ("\x01", b'"\\u0001"'),
    ("\x08", b'"\\b"'),  # Go >= 1.22; Go 1.21 and older wrote \u0008
    ("\t", b'"\\t"'),
    ("\n", b'"\\n"'),
    ("\x0b", b'"\\u000b"'),
    ("\x0c", b'"\\f"'),  # Go >= 1.22; older: \u000c
    ("\r", b'"\\r"'),
    ("\x1a", b'"\\u001a"'),
    ("\x1f", b'"\\u001f"'),
    ("\x7f", b'"\x7f"'),
    ("\x80\xff", b'"\xc2\x80\xc3\xbf"'),
    ("<", b'"\\u003c"'),
    (">", b'"\\u003e"'),
    ("&", b'"\\u0026"'),
    ("a<b>&c@example.com", b'"a\\u003cb\\u003e\\u0026c@example.com"'),
    ("\u2028", b'"\\u2028"'),
    ("\u2029", b'"\\u2029"'),
    ("\u2027\u202a", b'"\xe2\x80\xa7\xe2\x80\xaa"'),
    ("é", b'"\xc3\xa9"'),
    ("😀", b'"\xf0\x9f\x98\x80"'),
    ("\ufffd", b'"' + FFFD + b'"'),
    ("\uffff", b'"\xef\xbf\xbf"'),
    # lone surrogates: Go sees the three invalid surrogatepass bytes, one U+FFFD each
    ("\ud800", b'"' + FFFD * 3 + b'"'),
    ("a\udfffb", b'"a' + FFFD * 3 + b'b"'),
    ("\ud83d\ude00", b'"' + FFFD * 6 + b'"'),  # two separate code points, not a pair
]


@pytest.mark.parametrize(("value", "expected"), STRINGS, ids=[ascii(s) for s, _ in STRINGS])
def test_string_vectors(value: str, expected: bytes) -> None:
    assert dumps(value) == expected
    assert dumps({"k": value}) == b'{"k":' + expected + b"}"
    assert dumps({value: 1}) == b"{" + expected + b":1}"


def test_key_order_is_utf8_bytewise() -> None:
    d = {"b": 1, "a": 2, "B": 3, "é": 4, "\uffff": 5, "\U00010000": 6, "": 7, "aa": 8, "a\x00": 9}
    assert dumps(d) == (
        b'{"":7,"B":3,"a":2,"a\\u0000":9,"aa":8,"b":1,"\xc3\xa9":4,"\xef\xbf\xbf":5,"\xf0\x90\x80\x80":6}'
    )


def test_surrogate_keys_sort_and_collide_like_go() -> None:
    # "\ud800" and "\ud801" both become U+FFFD x3 for Go; the one sorting last wins
    d = {chr(0xD801): 1, chr(0xD800): 2, "\uffff": 3, "z": 4}
    assert dumps(d) == b'{"z":4,"' + FFFD * 3 + b'":1,"\xef\xbf\xbf":3}'


@pytest.mark.parametrize(("value", "expected"), [
    (None, b"null"),
    (True, b"true"),
    (False, b"false"),
    (0, b"0"),
    (-1, b"-1"),
    (2**53 + 1, b"9007199254740993"),
    (2**64, b"18446744073709551616"),  # beyond orjson's range: the pure path
    (-(2**70), b"-1180591620717411303424"),
    ({}, b"{}"),
    ([], b"[]"),
    ((), b"[]"),
    ({"a": True, "b": 1, "c": 1.0}, b'{"a":true,"b":1,"c":1}'),
    ({"t": (1, [2, {"x": None}]), "e": {}, "l": []}, b'{"e":{},"l":[],"t":[1,[2,{"x":null}]]}'),
    (OrderedDict([("b", 1), ("a", 2)]), b'{"a":2,"b":1}'),
])
def test_other_vectors(value: Any, expected: bytes) -> None:
    assert dumps(value) == expected
    assert dumps(value, newline=True) == expected + b"\n"


def test_typical_args() -> None:
    args = {"user_id": 123, "email": "a@b.c", "n": 1.5}
    assert dumps(args) == b'{"email":"a@b.c","n":1.5,"user_id":123}'


def test_subclasses_encode_as_their_base() -> None:
    class S(str):
        pass

    class I(int):  # noqa: E742
        def __repr__(self) -> str:
            return "nope"

    class F(float):
        def __repr__(self) -> str:
            return "nope"

    assert dumps({S("k"): [S("<"), I(5), F(2.0)]}) == b'{"k":["\\u003c",5,2]}'


@pytest.mark.parametrize(("value", "message"), [
    (float("nan"), "value: json: unsupported value: NaN"),
    ({"a": [1, 2, float("inf")]}, 'value["a"][2]: json: unsupported value: +Inf'),
    ({"a": {"b": -math.inf}}, 'value["a"]["b"]: json: unsupported value: -Inf'),
    ({"a": [1, 2, {3: 4}]}, 'value["a"][2]: key 3 is a int'),
    ({1: "x"}, "value: key 1 is a int"),
    ({"a": {1, 2}}, 'value["a"]: unsupported type set'),
    ({"a": b"bytes"}, 'value["a"]: unsupported type bytes'),
    ({"a": MappingProxyType({})}, 'value["a"]: unsupported type mappingproxy'),
    (object(), "value: unsupported type object"),
])
def test_errors_name_the_path(value: Any, message: str) -> None:
    with pytest.raises(GoJSONError, match="^" + re.escape(message)) as ei:
        dumps(value)
    assert str(ei.value).startswith(message)
    assert isinstance(ei.value, ValueError)


def test_cycle_is_an_error() -> None:
    # The encoder finds a cycle by its depth. A garbage collection at that depth would run
    # finalizers of other tests' leftovers there (seen once: redis.Redis.__del__ hitting the
    # recursion limit, an unraisable exception that fails the test), so there is none.
    gc.collect()
    gc.disable()
    try:
        d: dict[str, Any] = {"a": 1}
        d["self"] = d
        with pytest.raises(GoJSONError, match="nested too deeply"):
            dumps(d)
        lst: list[Any] = []
        lst.append(lst)
        with pytest.raises(GoJSONError, match=r"^value: nested too deeply \(or cyclic\)"):
            dumps({"l": lst})
    finally:
        gc.enable()


# --------------------------------------------------------------------------- fast == pure

_scalars = (
    st.none() | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=12)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet=st.characters(exclude_categories=()), max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _values, max_size=6))
def test_fast_paths_equal_pure_encoder(value: dict[str, Any]) -> None:
    pure = gojson._pure(value, "value").encode("utf-8")
    assert dumps(value) == pure
    if gojson._fast_ok(value):  # what the engines are used for
        std = gojson._engine_std(value)
        assert std is None or std == pure
        if gojson._orjson is not None:
            fast = gojson._engine_orjson(value)
            assert fast is None or fast == pure


@settings(max_examples=600, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_format_round_trips_and_matches_es6_rule(f: float) -> None:
    s = gojson.go_format_float(f)
    assert float(s) == f and math.copysign(1, float(s)) == math.copysign(1, f)
    a = abs(f)
    assert ("e" in s) == (a != 0 and (a < 1e-6 or a >= 1e21))
    assert "e-0" not in s and not s.endswith(".0")


def test_engines_pass_self_test() -> None:
    assert gojson._self_test(gojson._engine_std)
    if gojson._orjson is not None:
        assert gojson._engine is gojson._engine_orjson


# --------------------------------------------------------------------------- check_args

@pytest.mark.parametrize("args", [
    None,
    {},
    {"a": 2**53, "b": -(2**53), "c": True, "d": None, "e": "s", "f": 1.5, "g": [1, {"h": 0.0}]},
    MappingProxyType({"a": 1}),  # a top-level Mapping is fine (the enqueuer copies it)
    {"t": (1, 2)},
])
def test_check_args_accepts(args: Any) -> None:
    check_args(args)


@pytest.mark.parametrize(("args", "message"), [
    ({"a": 2**53 + 1}, 'args["a"]: int 9007199254740993 is outside ±2**53'),
    ({"a": [0, 1, 2, -(2**53) - 1]}, 'args["a"][3]: int -9007199254740993 is outside'),
    ({"a": {"b": 2**64}}, 'args["a"]["b"]: int 18446744073709551616'),
    ({"a": float("nan")}, 'args["a"]: NaN cannot be written as JSON'),
    ({"a": [float("inf")]}, 'args["a"][0]: +Inf cannot be written'),
    ({"a": {"b": {2: 1}}}, 'args["a"]["b"]: key 2 is a int'),
    ({3: 1}, "args: key 3 is a int"),
    ({"a": {1}}, 'args["a"]: unsupported type set'),
    ({"a": [MappingProxyType({})]}, 'args["a"][0]: unsupported type mappingproxy'),
    ([1, 2], "args must be a dict"),
    ("x", "args must be a dict"),
])
def test_check_args_rejects(args: Any, message: str) -> None:
    with pytest.raises(InvalidArgsError, match="^" + re.escape(message)) as ei:
        check_args(args)
    assert str(ei.value).startswith(message)
    assert isinstance(ei.value, GoJSONError)


def test_check_args_big_int_message_suggests_string() -> None:
    with pytest.raises(InvalidArgsError, match="would see 1152921504606847000") as ei:
        check_args({"id": 2**60})
    msg = str(ei.value)
    assert "would see 1152921504606847000" in msg and "string" in msg and "allow_big_ints" in msg


def test_check_args_allow_big_ints() -> None:
    check_args({"a": [2**60, {"b": -(2**100)}]}, allow_big_ints=True)
    with pytest.raises(InvalidArgsError, match=r'^args\["a"\]: NaN cannot be written as JSON'):
        check_args({"a": float("nan")}, allow_big_ints=True)


def test_check_args_cycle() -> None:
    d: dict[str, Any] = {}
    d["d"] = d
    with pytest.raises(InvalidArgsError, match="nested too deeply"):
        check_args({"x": d})


# --------------------------------------------------------------------------- loads

# (JSON text, what loads gives)
LOADS_VECTORS: list[tuple[bytes, Any]] = [
    (b'{"a":1,"b":[1.5,"x",null,true]}', {"a": 1, "b": [1.5, "x", None, True]}),
    (b"123456789012345678901234567890", 123456789012345678901234567890),
    (b"[18446744073709551616, -9223372036854775809]", [2**64, -(2**63) - 1]),
    (b'"a\xe2\x82b"', "a\ufffd\ufffdb"),  # per invalid byte, as Go
    (b'"\xed\xa0\x80"', "\ufffd" * 3),
    (b'"\xf0\x9f\x98"', "\ufffd" * 3),
    (b'"\xc0\xaf"', "\ufffd" * 2),
    (b'"\xf4\x90\x80\x80"', "\ufffd" * 4),
    (b'"\\ud800"', "\ufffd"),  # a lone escape is one U+FFFD
    (b'"\\ud83d\\ude00"', "😀"),
    (b'"\\ud83dA"', "\ufffdA"),
    (b'"\\udc00\\ud800"', "\ufffd\ufffd"),
    (b'"\\ud83d\\ud83d\\ude00"', "\ufffd😀"),
    (b'{"\\ud800":1,"\\ud801":2}', {"\ufffd": 2}),
    (b' {"a" : 1}\n', {"a": 1}),
    (b'"2020-01-01 -0"', "2020-01-01 -0"),
    (b"1E2", 100.0),
    (b"1e-400", 0.0),
    (b"1" + b"0" * 300, 10**300),  # exact, within float64's range
]
# JSON text Go refuses to decode into interface{}
LOADS_REJECTS: list[bytes] = [
    b"", b"{", b"[1,]", b"01", b"NaN", b"Infinity", b"-Infinity", b'{"a":NaN}', b"1e400", b"-1e400",
    b'{"a":1} x', b"\xef\xbb\xbf{}", b'"a\x00"', b"{'a':1}", b"1 2", b'{"a":1,}',
    b"[1" + b"0" * 400 + b"]", b"-1" + b"0" * 309,  # beyond float64: Go cannot decode them
]


@pytest.mark.parametrize(("raw", "expected"), LOADS_VECTORS)
def test_loads(raw: bytes, expected: Any) -> None:
    got = loads(raw)
    assert got == expected and type(got) is type(expected)


def test_loads_negative_zero_is_go_float() -> None:
    got = loads(b'{"a":-0,"b":[ -0 ],"c":-0.0,"d":0}')
    assert got == {"a": 0.0, "b": [0.0], "c": 0.0, "d": 0}
    assert math.copysign(1, got["a"]) == -1 and math.copysign(1, got["b"][0]) == -1
    assert type(got["d"]) is int
    assert dumps(got) == b'{"a":-0,"b":[-0],"c":-0,"d":0}'
    assert loads(b"-0") == 0.0 and math.copysign(1, loads(b"-0")) == -1


def test_loads_str_and_buffers() -> None:
    assert loads('{"a":"é"}') == {"a": "é"}
    assert loads('"\ud800"') == "\ufffd" * 3  # a str is read as its surrogatepass bytes
    assert loads(bytearray(b"[1]")) == [1]
    assert loads(memoryview(b"[2]")) == [2]


@pytest.mark.parametrize("raw", LOADS_REJECTS)
def test_loads_rejects(raw: bytes) -> None:
    with pytest.raises(GoJSONError, match=r"^(invalid JSON: |invalid character |number .* is out of float64 range)"):
        loads(raw)


def test_loads_round_trips_dumps() -> None:
    value = {"a": [1, 1.5, "x<y", None, True, {"b": -0.0}], "é": 1e21}
    assert dumps(loads(dumps(value))) == dumps(value)


def test_loads_members_keeps_repeats_in_order() -> None:
    got = gojson.loads_members(b'{"a":1,"A":{"x":-0},"a":null,"t":-0}')
    assert isinstance(got, list)
    assert [k for k, _ in got] == ["a", "A", "a", "t"]
    assert type(got[3][1]) is gojson.NegZeroLiteral
    assert math.copysign(1, got[1][1]["x"]) == -1 and type(got[1][1]["x"]) is float
    assert gojson.loads_members(b"[1]") == [1]
    members = gojson.loads_members(b'{"x":1e400,"a":{"b":[-1' + b"0" * 400 + b"]}}")
    assert isinstance(members, list)
    assert repr(members[0][1]) == "1e400" and type(members[0][1]) is gojson.OutOfRange
    found = gojson.find_out_of_range(members[1][1])
    assert found is not None and found.text == "-1" + "0" * 400
    assert gojson.find_out_of_range({"a": [1, {"b": 2.5}]}) is None


# --------------------------------------------------------------------------- go_sprint

@pytest.mark.parametrize(("value", "expected"), [
    (None, "<nil>"),
    (True, "true"),
    ("a b", "a b"),
    (123, "123"),
    (1000000, "1e+06"),
    (123456, "123456"),
    (1.5, "1.5"),
    (0.0001, "0.0001"),
    (0.00001, "1e-05"),
    (-0.0, "-0"),
    (1e21, "1e+21"),
    (123456789.125, "1.23456789125e+08"),
    ({"z": 1, "a": [1, "x", None, {"q": 1e21}]}, "map[a:[1 x <nil> map[q:1e+21]] z:1]"),
    ([1, 2.5, "a b"], "[1 2.5 a b]"),
    ({}, "map[]"),
    ([], "[]"),
])
def test_go_sprint(value: Any, expected: str) -> None:
    assert gojson.go_sprint(value) == expected


def test_dumps_matches_stdlib_semantics_for_plain_json() -> None:
    """Sanity: same value as stdlib json sees it (bytes differ only in Go's escapes)."""
    value = {"k": [1, "two", None, True, {"x": 0.5}]}
    assert json.loads(dumps(value)) == value


def test_marshal_indent_is_gos_marshal_indent_of_a_struct() -> None:
    view = {"z_first": 1, "args": {"b": [1, {}], "a": "<&>"}, "empty": [], "obj": {}, "s": "tab\tq\"{,}"}
    assert gojson.marshal_indent(view, {"args"}) == (
        b'{\n\t"z_first": 1,\n\t"args": {\n\t\t"a": "\\u003c\\u0026\\u003e",\n\t\t"b": [\n\t\t\t1,\n'
        b'\t\t\t{}\n\t\t]\n\t},\n\t"empty": [],\n\t"obj": {},\n\t"s": "tab\\tq\\"{,}"\n}')
    assert gojson.marshal_indent(None) == b"null" and gojson.marshal_indent([]) == b"[]"


# --------------------------------------------------------------------------- one depth limit (issue 8, point 3)

def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_decode_and_encode_share_gos_depth_limit() -> None:
    """Go's decoder reads up to 10,000 nested arrays/objects and refuses one more; ours
    does the same, and the encoder writes back everything the decoder accepts."""
    assert gojson.MAX_DEPTH == 10_000
    deepest = _nested(10_000)
    assert dumps(loads(deepest)) == deepest
    objects = b'{"a":' * 9_999 + b'{"k":"<&>"}' + b"}" * 9_999
    assert dumps(loads(objects)) == objects.replace(b"<&>", b"\\u003c\\u0026\\u003e")
    with pytest.raises(GoJSONError, match="exceeded max depth"):
        loads(_nested(10_001))
    with pytest.raises(GoJSONError, match="exceeded max depth"):
        gojson.loads_members(b'{"a":' + _nested(10_000) + b"}")
    brackets_in_strings = b'["' + b"[" * 20_000 + b'"]'
    assert loads(brackets_in_strings) == ["[" * 20_000]
    value: list[Any] = []
    for _ in range(10_000):
        value = [value]
    with pytest.raises(GoJSONError, match="nested too deeply"):
        dumps(value)  # 10,001 levels


def test_deep_job_payload_round_trips_and_one_level_more_is_refused() -> None:
    from gowork_compat.job import Job, JobDecodeError

    payload = b'{"name":"deep","id":"i","t":1,"args":{"a":' + _nested(9_998) + b"}}"  # 10,000 levels
    job = Job.decode(payload)
    assert job.encode() == payload
    job.failed("boom", 5)
    assert Job.decode(job.encode()).fails == 1
    with pytest.raises(JobDecodeError, match="exceeded max depth"):
        Job.decode(b'{"name":"deep","id":"i","t":1,"args":{"a":' + _nested(9_999) + b"}}")


def test_check_args_accepts_what_a_go_worker_can_decode() -> None:
    value: list[Any] = []
    for _ in range(9_997):  # + args object + job object = 10,000 levels
        value = [value]
    check_args({"a": value})
    with pytest.raises(InvalidArgsError, match="nested too deeply"):
        check_args({"a": [value]})


# --------------------------------------------------------------------------- the non-recursive decoder

def _same(a: Any, b: Any) -> bool:
    """Equal values of equal types all the way down (dict and member order, the sign of
    zero, OutOfRange texts), without recursion."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if type(x) is not type(y):
            return False
        if isinstance(x, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list):  # lists, _Pairs and their (name, value) tuples
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif isinstance(x, tuple):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif isinstance(x, gojson.OutOfRange):
            if x.text != y.text:
                return False
        elif isinstance(x, float):
            if x != y or math.copysign(1, x) != math.copysign(1, y):
                return False
        elif x != y:
            return False
    return True


def _outcome(decode: Any, text: str) -> tuple[str, Any]:
    try:
        return "ok", decode(text)
    except GoJSONError as exc:  # ours: compared word for word
        return "go", str(exc)
    except ValueError:  # the stdlib's syntax errors (their wording varies between Pythons)
        return "syntax", None


def _agree(text: str) -> None:
    """The explicit-stack decoder reads ``text`` exactly as the stdlib decoders loads and
    loads_members use (both hook sets): same value, or an error of the same kind."""
    cases = [(gojson._std_decoder, gojson._parse_int, gojson._parse_float, False),
             (gojson._pairs_decoder, gojson._parse_int_marked, gojson._parse_float_marked, True)]
    for std, parse_int, parse_float, pairs in cases:
        want = _outcome(std.decode, text)
        got = _outcome(lambda t: gojson._decode_deep(t, parse_int, parse_float, pairs), text)  # noqa: B023
        assert got[0] == want[0], (text, got, want)
        assert _same(got[1], want[1]), (text, got, want)


# mostly valid text; the last two are not JSON whitespace
_ws = st.sampled_from(["", "", "", "", "", "", " ", "\n\t ", "\r", "", "", "", "", "\x0b", "\u00a0"])
_string_text = st.one_of(
    st.text().map(json.dumps),
    st.text().map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.lists(st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(["\\ud800", "\\udc00", "\\ud83d\\ude00", "\\uD83D\\uDE00", "\\ud83d\\u0041", "\\ud83d\\u12",
                         "\\u00e9", "\\n", "\\/", "\\b", "\\x", "\\u12", "\\", "\x00", "\x1f", "\x7f", '\\"'])),
        max_size=8).map(lambda parts: '"' + "".join(parts) + '"'),
    st.just('"unterminated'),
)
_scalar_text = st.one_of(
    st.sampled_from(["null", "true", "false", "-0", "0", "-0.0", "1e400", "-1e400", "1E2", "1e-400", "01", "NaN",
                     "Infinity", "-Infinity", "nul", "tru", "1.", "1e", "1e+", "-", ".5", "+1", "1.5e+3", "0x10"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"-?(0|[1-9][0-9]{0,320})(\.[0-9]{1,5})?([eE][-+]?[0-9]{1,4})?", fullmatch=True),
    _string_text,
)


def _array_text(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(st.lists(st.tuples(_ws, children, _ws), max_size=4), _ws, st.sampled_from([""] * 8 + [","])).map(
        lambda t: "[" + ",".join(a + v + b for a, v, b in t[0]) + t[2] + t[1] + "]")


def _object_text(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    key = st.one_of(_string_text, st.sampled_from(['"a"', '"a"', '"a"', '"A"', '"A"', "a", "'a'"]))
    sep = st.sampled_from([":"] * 8 + ["", "="])
    member = st.tuples(_ws, key, _ws, sep, _ws, children, _ws).map("".join)
    return st.tuples(st.lists(member, max_size=4), _ws, st.sampled_from([""] * 8 + [","])).map(
        lambda t: "{" + ",".join(t[0]) + t[2] + t[1] + "}")


_json_text = st.recursive(_scalar_text, lambda c: st.one_of(_array_text(c), _object_text(c)), max_leaves=20)


@settings(max_examples=600, deadline=None)
@given(st.tuples(_ws, _json_text, _ws, st.sampled_from([""] * 12 + [" x", ",", "]", "}", "1"])).map("".join))
def test_deep_decoder_agrees_with_the_recursive_one_on_random_text(text: str) -> None:
    _agree(text)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=40))
def test_deep_decoder_agrees_with_the_recursive_one_on_random_bytes(data: bytes) -> None:
    _agree(data.decode("utf-8", gojson._ERRORS))


@pytest.mark.parametrize("raw", [raw for raw, _ in LOADS_VECTORS] + LOADS_REJECTS + [
    b'{"a":1,"A":{"x":-0},"a":null,"t":-0}', b'{"x":1e400,"a":{"b":[-1' + b"0" * 400 + b"]}}",
    b'{"\\ud800":1,"\\ud801":2}', b'{ }', b"[ ]", b'[1 , {"a" : [ ] } ]', b"[1,2", b'{"a"', b'{"a":', b"[" * 50,
])
def test_deep_decoder_agrees_with_the_recursive_one_on_the_vectors(raw: bytes) -> None:
    _agree(raw.decode("utf-8", gojson._ERRORS))


# an object (duplicate names, -0, a lone and a paired surrogate escape, invalid UTF-8, a big
# int, an escaped name) nesting 2 levels, to be wrapped in arrays
_INNER = b'{"a":1,"b":[-0,"\\ud800\\ud83d\\ude00\xff",123456789012345678901234567890],"a":{"\\u00e9":"<&>"}}'


@pytest.mark.parametrize("levels", [1_025, 5_000, 10_000])
def test_loads_reads_deep_text_as_it_reads_shallow_text(levels: int) -> None:
    deep = b"[" * (levels - 2) + _INNER + b"]" * (levels - 2)
    got = loads(deep)
    direct = gojson._decode_deep(deep.decode("utf-8", gojson._ERRORS), gojson._parse_int, gojson._parse_float, False)
    for _ in range(levels - 2):
        assert type(got) is list and len(got) == 1 and type(direct) is list and len(direct) == 1
        got, direct = got[0], direct[0]
    want = loads(_INNER)
    assert _same(got, want)
    assert want == {"a": {"é": "<&>"}, "b": [-0.0, "\ufffd😀\ufffd", 123456789012345678901234567890]}
    assert _same(gojson._unsurrogate(direct), want)
    assert dumps(loads(deep)) == b"[" * (levels - 2) + dumps(want) + b"]" * (levels - 2)


@pytest.mark.parametrize("levels", [1_025, 5_000, 10_000])
def test_loads_members_reads_deep_text_as_it_reads_shallow_text(levels: int) -> None:
    head, tail = b'{"x":1e400,"d":', b',"d":2,"t":-0,"d":'
    deep = (head + b"[" * (levels - 3) + _INNER + b"]" * (levels - 3)
            + tail + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}")
    got = gojson.loads_members(deep)
    want = gojson.loads_members(head + b"[" + _INNER + b"]" + tail + b"[[]]}")
    assert isinstance(got, list) and isinstance(want, list)
    assert [k for k, _ in got] == [k for k, _ in want] == ["x", "d", "d", "t", "d"]
    assert type(got[0][1]) is gojson.OutOfRange and got[0][1].text == "1e400"
    assert type(got[3][1]) is gojson.NegZeroLiteral
    inner = got[1][1]
    for _ in range(levels - 3):
        inner = inner[0]
    assert _same(inner, want[1][1][0])
    assert _same(got[2:4], want[2:4])
    assert gojson.dumps(got[4][1]) == b"[" * (levels - 1) + b"]" * (levels - 1)


def test_one_level_more_than_go_reads_is_refused_by_every_decoder() -> None:
    too_deep = b"[" * 10_000 + b'{"a":1}' + b"]" * 10_000  # 10,001 levels
    with pytest.raises(GoJSONError, match="exceeded max depth"):
        loads(too_deep)
    with pytest.raises(GoJSONError, match="exceeded max depth"):
        gojson.loads_members(b'{"a":' + too_deep + b"}")
    for pairs in (False, True):  # the explicit-stack decoder counts levels on its own too
        with pytest.raises(GoJSONError, match="exceeded max depth"):
            gojson._decode_deep(too_deep.decode(), gojson._parse_int, gojson._parse_float, pairs)
        gojson._decode_deep(too_deep[1:-1].decode(), gojson._parse_int, gojson._parse_float, pairs)
