"""JSON exactly as Go's ``encoding/json`` writes it, and Go-like JSON reading.

Pure functions, no I/O.

:func:`dumps` returns the bytes ``json.Marshal`` produces for the Go value a Python value
becomes as ``interface{}`` (``newline=True``: the bytes of ``json.NewEncoder(w).Encode``).
The reference is Go 1.26's encoding/json (v1, the default without GOEXPERIMENT=jsonv2):

* objects: keys sorted byte-wise on their UTF-8 form (= code-point order);
* strings: ``"`` and ``\\`` backslash-escaped; ``\\b \\f \\n \\r \\t`` short escapes (Go >= 1.22;
  older Go wrote ``\\u0008``/``\\u000c``); other bytes < 0x20 as ``\\u00XX`` with lower-case hex;
  ``< > &`` as ``\\u003c \\u003e \\u0026``; U+2028/U+2029 as ``\\u2028``/``\\u2029``; everything
  else (DEL included) as raw UTF-8;
* lone surrogates in a ``str``: each one stands for the three invalid UTF-8 bytes that the
  ``surrogatepass`` codec produces; Go's decoder turns every invalid byte into U+FFFD, so a
  lone surrogate is written as three raw U+FFFD characters. That is what a Go worker sees
  after decoding and what it re-marshals (e.g. when it recomputes a unique-job key);
  should two object keys become equal that way, the value of the key that sorts last wins,
  as when Go decodes the sorted text;
* float64 in ES6 style: shortest round-trip digits, positional unless
  ``abs < 1e-6 or abs >= 1e21`` (then ``1e-7``, ``1.5e+21``); ``1.0`` -> ``1``,
  ``-0.0`` -> ``-0``; NaN and infinities are errors;
* int: plain digits, any size (what Marshal does for int64/uint64). Note that a Go worker
  decodes every JSON number into float64: :func:`check_args` guards enqueue args.

Speed: values made of dicts, lists, strings, ints, bools, None and "ordinary" floats
(non-integral, 1e-4 <= abs < 1e16, whose ``repr`` is already Go's text) are encoded by
orjson (or the C encoder of the stdlib ``json`` when orjson is missing) and fixed up for
``< > &`` and U+2028/9; anything else goes through a pure-Python encoder.

:func:`loads` decodes like Go where Go is stricter or different (invalid UTF-8 byte ->
U+FFFD, lone ``\\uD800`` escape -> U+FFFD, NaN/Infinity and numbers beyond float64's range
rejected, the integer ``-0`` read as the float -0.0 that Go writes back as ``-0``) but keeps
other integers as exact Python ints. For anything Go's Marshal writes,
``dumps(loads(go_bytes)) == go_bytes``.

:func:`marshal_indent` writes ``json.MarshalIndent(v, "", "\\t")`` of a Go struct given as a
dict in field order (the web UI's JSON API answers with it).

The encoders are checked against the pure one at import time (:func:`_self_test`); an
engine whose output differs (say, another orjson release) is simply not used.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INT",
    "GoJSONError",
    "InvalidArgsError",
    "NegZeroLiteral",
    "OutOfRange",
    "check_args",
    "dumps",
    "find_out_of_range",
    "go_format_float",
    "go_sprint",
    "loads",
    "loads_members",
    "marshal_indent",
]

try:  # pragma: no cover - depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None  # type: ignore[assignment]

#: Largest magnitude of an int that survives Go's float64 decoding of JSON numbers exactly
#: (together with all smaller ones).
MAX_SAFE_INT: Final = 2**53
#: Go's decoder refuses JSON text nested deeper than this (arrays and objects); our decoder
#: refuses it too, and the encoder writes anything up to it (a job payload counts as a whole).
MAX_DEPTH: Final = 10000


class GoJSONError(ValueError):
    """A value Go's encoding/json cannot encode, or JSON text it cannot decode."""


class InvalidArgsError(GoJSONError):
    """Job args that cannot be handed to Go workers unchanged."""


class _Unsupported(Exception):
    """Internal: the pure encoder met something it cannot encode (located afterwards)."""


# --------------------------------------------------------------------------- strings

# Characters that may be copied into a Go JSON string as they are.
_plain_str: Final = re.compile(r'[^\x00-\x1f"\\<>&\u2028\u2029\ud800-\udfff]*').fullmatch
_surrogate: Final = re.compile(r"[\ud800-\udfff]")
_THREE_FFFD: Final = "\ufffd" * 3
_basestring: Callable[[str], str] = json.encoder.encode_basestring


def _sanitize(s: str) -> str:
    """Lone surrogates -> three U+FFFD each (Go's view of the surrogatepass bytes)."""
    return _surrogate.sub(_THREE_FFFD, s)


def _quote_slow(s: str) -> str:
    if _surrogate.search(s) is not None:
        s = _sanitize(s)
    # The stdlib escaper writes " \ \b \f \n \r \t and \u00xx (lower-case) for other
    # control characters, as Go does; it leaves < > & U+2028 U+2029 alone.
    r = _basestring(s)
    if "<" in r:
        r = r.replace("<", "\\u003c")
    if ">" in r:
        r = r.replace(">", "\\u003e")
    if "&" in r:
        r = r.replace("&", "\\u0026")
    if "\u2028" in r:
        r = r.replace("\u2028", "\\u2028")
    if "\u2029" in r:
        r = r.replace("\u2029", "\\u2029")
    return r


def _quote(s: str) -> str:
    """``s`` as a Go JSON string literal (escapeHTML on, as json.Marshal)."""
    if (s.isalnum() and s.isascii()) or _plain_str(s) is not None:
        return '"' + s + '"'
    return _quote_slow(s)


# --------------------------------------------------------------------------- floats

_float_repr: Final = float.__repr__
_int_repr: Final = int.__repr__


def _decompose(f: float) -> tuple[bool, str, int]:
    """(negative, shortest digits without leading/trailing zeros, dp) with
    abs(f) == 0.<digits> * 10**dp; zero gives ("", 0)."""
    r = _float_repr(f)
    neg = r[0] == "-"
    if neg:
        r = r[1:]
    mant, _, e = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    dp = len(ip) + (int(e) if e else 0)
    stripped = digits.lstrip("0")
    dp -= len(digits) - len(stripped)
    digits = stripped.rstrip("0")
    if not digits:
        dp = 0
    return neg, digits, dp


def _fmt_e(neg: bool, digits: str, dp: int, min_exp_digits: int = 2) -> str:
    """strconv 'e' format with shortest digits: d[.ddd]e±XX."""
    if not digits:
        digits, dp = "0", 1
    exp = dp - 1
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    sign = "-" if exp < 0 else "+"
    es = str(abs(exp)).rjust(min_exp_digits, "0")
    return ("-" if neg else "") + m + "e" + sign + es


def _fmt_f(neg: bool, digits: str, dp: int) -> str:
    """strconv 'f' format with shortest digits (precision -1)."""
    if not digits:
        s = "0"
    elif dp <= 0:
        s = "0." + "0" * (-dp) + digits
    elif dp >= len(digits):
        s = digits + "0" * (dp - len(digits))
    else:
        s = digits[:dp] + "." + digits[dp:]
    return ("-" if neg else "") + s


def go_format_float(f: float) -> str:
    """A float64 as Go's json.Marshal writes it. Raises GoJSONError for NaN/Inf."""
    r = _float_repr(f)
    if "e" not in r:
        if r[-1] == "n" or r[-1] == "f":  # nan, inf, -inf
            raise GoJSONError(f"json: unsupported value: {_go_nonfinite(f)}")
        # repr is positional for 1e-4 <= abs < 1e16: Go's 'f' form but for a trailing ".0"
        if r[-2:] == ".0":
            return r[:-2]
        return r
    a = abs(f)
    neg, digits, dp = _decompose(f)
    if a < 1e-6 or a >= 1e21:
        # Go: strconv 'e' (at least two exponent digits), then "e-0X" cleaned to "e-X"
        return _fmt_e(neg, digits, dp, 2 if dp - 1 >= 0 else 1)
    return _fmt_f(neg, digits, dp)


def _go_nonfinite(f: float) -> str:
    if f != f:
        return "NaN"
    return "+Inf" if f > 0 else "-Inf"


def _go_fmt_v_float(f: float) -> str:
    """fmt's %v of a float64: strconv 'g' with shortest digits, i.e. exponent form
    (two-digit minimum exponent) when the decimal exponent is < -4 or >= 6."""
    if f != f or f in (float("inf"), float("-inf")):
        return _go_nonfinite(f)
    neg, digits, dp = _decompose(f)
    if not digits:
        return "-0" if neg else "0"
    exp = dp - 1
    if exp < -4 or exp >= 6:
        return _fmt_e(neg, digits, dp, 2)
    return _fmt_f(neg, digits, dp)


def go_sprint(value: Any) -> str:
    """``fmt.Sprintf("%v", v)`` for the Go value a decoded JSON value is (numbers as
    float64, objects as map[string]interface{}, arrays as []interface{})."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        try:
            return _go_fmt_v_float(float(value))
        except OverflowError:
            return "+Inf" if value > 0 else "-Inf"
    if isinstance(value, float):
        return _go_fmt_v_float(value)
    if isinstance(value, Mapping):
        items = sorted((str(k), v) for k, v in value.items())
        return "map[" + " ".join(k + ":" + go_sprint(v) for k, v in items) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_sprint(v) for v in value) + "]"
    return str(value)


# --------------------------------------------------------------------------- pure encoder

def _enc(v: Any) -> str:
    t = type(v)
    if t is str:
        return _quote(v)
    if t is int:
        return _int_repr(v)
    if t is float:
        return go_format_float(v)
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if t is dict:
        return _enc_dict(v)
    if t is list or t is tuple:
        return _enc_list(v)
    # subclasses
    if isinstance(v, bool):  # pragma: no cover - bool cannot be subclassed
        return "true" if v else "false"
    if isinstance(v, str):
        return _quote(v)
    if isinstance(v, int):
        return _int_repr(v)
    if isinstance(v, float):
        return go_format_float(v)
    if isinstance(v, dict):
        return _enc_dict(v)
    if isinstance(v, (list, tuple)):
        return _enc_list(v)
    raise _Unsupported


def _enc_list(v: list[Any] | tuple[Any, ...]) -> str:
    if not v:
        return "[]"
    return "[" + ",".join([_enc(x) for x in v]) + "]"


def _enc_dict(d: dict[Any, Any]) -> str:
    if not d:
        return "{}"
    try:
        keys = sorted(d)
    except TypeError:
        raise _Unsupported from None
    out: list[str] = []
    for k in keys:
        if not isinstance(k, str):
            raise _Unsupported
        if _plain_str(k) is not None:
            qk = '"' + k + '"'
        else:
            if _surrogate.search(k) is not None:
                return _enc_dict_sanitized(d, keys)
            qk = _quote_slow(k)
        out.append(qk + ":" + _enc(d[k]))
    return "{" + ",".join(out) + "}"


def _enc_dict_sanitized(d: dict[Any, Any], keys: list[str]) -> str:
    clean: dict[str, Any] = {}
    for k in keys:  # ascending original order: the last of colliding keys wins
        clean[_sanitize(k)] = d[k]
    return _enc_dict(clean)


def _fmt_key(k: Any) -> str:
    if isinstance(k, str):
        return "[" + json.dumps(k, ensure_ascii=False) + "]"
    return "[" + repr(k) + "]"


def _locate(v: Any, path: str, depth: int = 0) -> str | None:
    """Why ``v`` cannot be encoded, prefixed by its path; None when it can."""
    if depth > 10000:
        return f"{path}: nested too deeply (or cyclic)"
    if v is None or isinstance(v, (str, bool, int)):
        return None
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return f"{path}: json: unsupported value: {_go_nonfinite(v)}"
        return None
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                return f"{path}: key {k!r} is a {type(k).__name__}, JSON object keys must be str"
            bad = _locate(x, path + _fmt_key(k), depth + 1)
            if bad is not None:
                return bad
        return None
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            bad = _locate(x, f"{path}[{i}]", depth + 1)
            if bad is not None:
                return bad
        return None
    return f"{path}: unsupported type {type(v).__module__}.{type(v).__qualname__}" \
        if type(v).__module__ != "builtins" else f"{path}: unsupported type {type(v).__name__}"


def _enc_deep(value: Any, base: int) -> str:
    """The pure encoder without recursion, for values nested too deeply for :func:`_enc`
    (up to :data:`MAX_DEPTH` levels counting ``base`` enclosing ones; cycles end there)."""
    out: list[str] = []
    stack: list[Any] = [(value, base + 1)]  # (value, depth) to encode, or str to copy
    append, push = out.append, stack.append
    while stack:
        item = stack.pop()
        if type(item) is str:
            append(item)
            continue
        v, depth = item
        if isinstance(v, dict):
            if depth > MAX_DEPTH:
                raise GoJSONError(f"nested too deeply (or cyclic): more than {MAX_DEPTH} levels")
            if not v:
                append("{}")
                continue
            try:
                keys = sorted(v)
            except TypeError:
                raise _Unsupported from None
            if not all(isinstance(k, str) for k in keys):
                raise _Unsupported
            if any(_surrogate.search(k) is not None for k in keys):
                clean: dict[str, Any] = {}
                for k in keys:  # as _enc_dict_sanitized: the last of colliding keys wins
                    clean[_sanitize(k)] = v[k]
                v, keys = clean, sorted(clean)
            append("{")
            push("}")
            for i in range(len(keys) - 1, -1, -1):
                k = keys[i]
                push((v[k], depth + 1))
                push(("," if i else "") + ('"' + k + '"' if _plain_str(k) is not None else _quote_slow(k)) + ":")
        elif isinstance(v, (list, tuple)):
            if depth > MAX_DEPTH:
                raise GoJSONError(f"nested too deeply (or cyclic): more than {MAX_DEPTH} levels")
            if not v:
                append("[]")
                continue
            append("[")
            push("]")
            for i in range(len(v) - 1, -1, -1):
                push((v[i], depth + 1))
                if i:
                    push(",")
        else:
            append(_enc(v))
    return "".join(out)


def _pure(value: Any, root: str, base: int = 0) -> str:
    try:
        try:
            return _enc(value)
        except RecursionError:
            return _enc_deep(value, base)
    except (_Unsupported, GoJSONError, RecursionError, ValueError) as exc:
        try:
            where = _locate(value, root)
        except RecursionError:
            where = f"{root}: {exc}" if str(exc) else f"{root}: cannot be encoded (deeply nested)"
        if where is None:  # e.g. an int too large for str(), or nested too deeply
            where = f"{root}: {exc}"
        raise GoJSONError(where) from None


# --------------------------------------------------------------------------- fast path

def _fast_ok(v: Any) -> bool:
    """True when ``v`` (dict or list) holds only exact dict/list/str/int/bool/None and
    floats whose repr is Go's text; the C encoders then write Go's bytes but for the
    HTML / U+2028 escapes fixed afterwards."""
    if type(v) is dict:
        for k in v:
            if type(k) is not str:
                return False
        v = v.values()
    for x in v:
        tx = type(x)
        if tx is str or tx is int or tx is bool or x is None:
            continue
        if tx is float:
            if (1e-4 <= x < 1e16 or -1e16 < x <= -1e-4) and not x.is_integer():
                continue
            return False
        if (tx is dict or tx is list) and _fast_ok(x):
            continue
        return False
    return True


def _fix_html_b(out: bytes) -> bytes:
    """Go's escapes for < > & U+2028 U+2029 in C-encoder output. Outside strings a JSON
    text has none of these bytes, so replacing them anywhere is safe."""
    if len(out.translate(None, b"<>&")) != len(out):
        out = out.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    if not out.isascii() and b"\xe2\x80" in out:
        out = out.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")
    return out


_std_encode: Final = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), sort_keys=True, allow_nan=False, check_circular=False,
).encode


def _engine_std(value: Any) -> bytes | None:
    try:
        s = _std_encode(value)
    except (TypeError, ValueError, RecursionError):
        return None
    try:
        out = s.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return None
    return _fix_html_b(out)


_ORJSON_OPTS: Final = 0 if _orjson is None else _orjson.OPT_SORT_KEYS


def _engine_orjson(value: Any) -> bytes | None:
    try:
        out: bytes = _orjson.dumps(value, option=_ORJSON_OPTS)
    except (TypeError, ValueError):  # int beyond 64 bits, surrogates, recursion, ...
        return None
    return _fix_html_b(out)


def _self_test(engine: Callable[[Any], bytes | None]) -> bool:
    """Check an engine against the pure encoder on the things the fast path relies on."""
    samples: list[Any] = [
        {"b": 1, "a": [True, False, None], "\uffff": "\U00010000", "é": "", "B": {}},
        {"s": "\x00\x01\x08\x09\x0a\x0b\x0c\x0d\x1a\x1f\x7f\"\\/<>&\u2028\u2029é😀"},
        [0.5, -0.25, 1.5e-4, 0.0001234, 123456.789, 1e15 + 0.5, -9007199254740.993, 0.1, 2.5e-4],
        [-(2**63), 2**64 - 1, 0, -1, []],
    ]
    try:
        for s in samples:
            if engine(s) != _pure(s, "value").encode("utf-8"):
                return False
    except Exception:  # pragma: no cover - a broken engine is simply not used
        return False
    return True


_engine: Callable[[Any], bytes | None] | None = None
if _orjson is not None and _self_test(_engine_orjson):
    _engine = _engine_orjson
elif _self_test(_engine_std):  # pragma: no cover - orjson present here
    _engine = _engine_std


_use_orjson: Final = _engine is _engine_orjson
_orjson_dumps: Final = None if _orjson is None else _orjson.dumps


def _fast_ok_safe(value: Any) -> bool:
    try:
        return _fast_ok(value)
    except RecursionError:  # cyclic or very deep: the pure encoder words the error
        return False


def _encode_value(value: Any, root: str, base: int = 0) -> bytes:
    t = type(value)
    if (t is dict or t is list) and _engine is not None and _fast_ok_safe(value):
        if _use_orjson:
            try:
                out: bytes = _orjson_dumps(value, option=_ORJSON_OPTS)
            except (TypeError, ValueError):  # int beyond 64 bits, surrogates, ...
                pass
            else:
                if len(out.translate(None, b"<>&")) == len(out) and (out.isascii() or b"\xe2\x80" not in out):
                    return out
                return _fix_html_b(out)
        else:
            res = _engine(value)
            if res is not None:
                return res
    return _pure(value, root, base).encode("utf-8")


def dumps(value: Any, *, newline: bool = False) -> bytes:
    """Go's ``json.Marshal`` bytes of ``value`` (``newline``: ``json.Encoder.Encode``'s).

    Raises :class:`GoJSONError` naming the path of the first value Go cannot encode
    (NaN/Inf, types other than dict/list/tuple/str/int/float/bool/None, non-str keys).
    """
    out = _encode_value(value, "value")
    return out + b"\n" if newline else out


# --------------------------------------------------------------------------- check_args

_BIG_INT_HINT: Final = (
    "a Go worker decodes JSON numbers into float64 and would see {seen}; pass it as a string "
    "(or allow_big_ints=True to write it anyway)"
)


def _check_value(value: Any, root: str, allow_big_ints: bool, depth: int) -> None:
    """Raise InvalidArgsError for the first value (depth first) a Go worker cannot get
    unchanged; ``depth`` is the nesting level of ``value`` in the job payload."""
    stack: list[tuple[Any, str, int]] = [(value, root, depth)]
    while stack:
        v, path, depth = stack.pop()
        if v is None or isinstance(v, (str, bool)):
            continue
        if isinstance(v, int):
            if not allow_big_ints and not -MAX_SAFE_INT <= v <= MAX_SAFE_INT:
                try:
                    seen = go_format_float(float(v))
                except OverflowError:
                    seen = "a decoding error (out of float64 range)"
                raise InvalidArgsError(
                    f"{path}: int {v} is outside ±2**53; " + _BIG_INT_HINT.format(seen=seen))
            continue
        if isinstance(v, float):
            if v != v or v in (float("inf"), float("-inf")):
                raise InvalidArgsError(f"{path}: {_go_nonfinite(v)} cannot be written as JSON "
                                       "(Go: json: unsupported value)")
            continue
        if isinstance(v, (dict, list, tuple)) and depth > MAX_DEPTH:
            raise InvalidArgsError(f"{root}: nested too deeply (or cyclic): Go reads at most {MAX_DEPTH} "
                                   "levels of arrays and objects in a job payload")
        if isinstance(v, dict):
            items = list(v.items())
            for k, _ in items:
                if not isinstance(k, str):
                    raise InvalidArgsError(
                        f"{path}: key {k!r} is a {type(k).__name__}, JSON object keys must be str")
            stack.extend((x, path + _fmt_key(k), depth + 1) for k, x in reversed(items))
            continue
        if isinstance(v, (list, tuple)):
            stack.extend((v[i], f"{path}[{i}]", depth + 1) for i in range(len(v) - 1, -1, -1))
            continue
        raise InvalidArgsError(f"{path}: unsupported type {type(v).__name__} (JSON-able values are dict, "
                               "list, tuple, str, int, float, bool and None)")


def check_args(args: Mapping[str, Any] | None, *, allow_big_ints: bool = False) -> None:
    """Validate enqueue args before anything is written.

    ``args`` must be None or a mapping with str keys whose values are JSON-able by
    :func:`dumps` (nested objects must be dicts); floats must be finite; ints must be
    within ±2**53 unless ``allow_big_ints`` (a Go worker would silently see a different
    number). ``bool`` is not an int here. Raises :class:`InvalidArgsError`.
    """
    if args is None:
        return
    if not isinstance(args, Mapping):
        raise InvalidArgsError(f"args must be a dict with str keys (or None), not {type(args).__name__}")
    lo = -MAX_SAFE_INT
    hi = MAX_SAFE_INT
    try:
        for k, v in args.items():
            if type(k) is not str and not isinstance(k, str):
                raise InvalidArgsError(
                    f"args: key {k!r} is a {type(k).__name__}, JSON object keys must be str")
            t = type(v)
            if t is str or t is bool or v is None:
                continue
            if t is int:
                if allow_big_ints or lo <= v <= hi:
                    continue
            elif t is float:
                if v - v == 0.0:  # finite
                    continue
            _check_value(v, "args" + _fmt_key(k), allow_big_ints, 3)  # payload > args > v
    except RecursionError:
        raise InvalidArgsError("args: nested too deeply (or cyclic)") from None


# --------------------------------------------------------------------------- loads

def _per_byte_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover
        raise exc
    return "\ufffd" * (exc.end - exc.start), exc.end


_ERRORS: Final = "gowork_compat.gojson.per_byte_replace"
codecs.register_error(_ERRORS, _per_byte_replace)

# For _plain_numbers: digits -> "0", fraction/exponent marks -> ".", the bytes that can
# precede a value -> ":", "-" stays, everything else -> "x"; JSON whitespace is deleted.
_NUM_TABLE: Final = bytes(
    0x30 if 0x30 <= i <= 0x39 else 0x2E if i in b".eE" else 0x3A if i in b":,[" else 0x2D if i == 0x2D
    else 0x78 for i in range(256))
_NINETEEN_DIGITS: Final = b"0" * 19


def _plain_numbers(data: bytes) -> bool:
    """False when ``data`` may hold an integer literal of 19+ digits (beyond int64 for the
    C decoder) or the integer literal ``-0`` (which Go reads as float64 -0). Cheap; false
    alarms (e.g. inside strings) only cost the slower exact path."""
    m = data.translate(_NUM_TABLE, b" \t\r\n")
    if _NINETEEN_DIGITS in m:
        return False
    if m[:2] == b"-0" and m[2:3] not in (b"0", b"."):
        return False
    i = m.find(b":-0")
    while i >= 0:
        if m[i + 3:i + 4] not in (b"0", b"."):
            return False
        i = m.find(b":-0", i + 3)
    return True

_surrogate_escape: Final = re.compile(rb"\\u[dD][89a-fA-F]").search


def _reject_constant(name: str) -> Any:
    raise GoJSONError(f"invalid character {name[0]!r} looking for beginning of value")


def _parse_float(text: str) -> float:
    f = float(text)
    if f in (float("inf"), float("-inf")):
        raise GoJSONError(f"number {text} is out of float64 range")
    return f


def _rebuild(v: Any, leaf: Callable[[Any], Any], key: Callable[[str], str]) -> Any:
    """A copy of a decoded value (dicts, lists and :class:`_Pairs` member lists, which
    become dicts: the last of repeated names wins) with ``leaf`` applied to every scalar
    and ``key`` to every object key; without recursion (decoded values nest up to
    :data:`MAX_DEPTH` levels)."""
    def container(x: Any) -> Any:
        t = type(x)
        return {} if t is dict or t is _Pairs else [] if t is list else None

    top = container(v)
    if top is None:
        return leaf(v)
    stack: list[tuple[Any, Any]] = [(v, top)]
    while stack:
        src, dst = stack.pop()
        t = type(src)
        if t is list:
            for x in src:
                c = container(x)
                if c is None:
                    dst.append(leaf(x))
                else:
                    dst.append(c)
                    stack.append((x, c))
            continue
        for k, x in (src.items() if t is dict else src):
            c = container(x)
            if c is None:
                dst[key(k)] = leaf(x)
            else:
                dst[key(k)] = c
                stack.append((x, c))
    return top


def _no_surrogates(v: Any) -> Any:
    return _surrogate.sub("\ufffd", v) if type(v) is str else v


def _unsurrogate(v: Any) -> Any:
    """Lone surrogates from \\uD800-style escapes -> one U+FFFD each (Go's decoder)."""
    return _rebuild(v, _no_surrogates, _no_surrogates)


def _parse_int(text: str) -> int | float:
    if text == "-0":
        return -0.0
    n = int(text)
    if len(text) > 308 and _beyond_float64(n):
        raise GoJSONError(f"number {text} is out of float64 range")
    return n


def _beyond_float64(n: int) -> bool:
    """Go decodes every number of an interface{} as float64 and refuses this one."""
    try:
        float(n)
    except OverflowError:
        return True
    return False


_std_decoder: Final = json.JSONDecoder(parse_float=_parse_float, parse_int=_parse_int,
                                          parse_constant=_reject_constant)


_string_literal: Final = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)
_NOT_BRACKETS: Final = bytes(i for i in range(256) if i not in b"[]{}")


def _too_deep(data: bytes) -> bool:
    """True when ``data`` nests arrays and objects more than :data:`MAX_DEPTH` deep."""
    if data.count(b"[") + data.count(b"{") <= MAX_DEPTH:
        return False
    depth = 0
    for c in _string_literal.sub(b'""', data).translate(None, _NOT_BRACKETS):
        if c == 0x5B or c == 0x7B:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        else:
            depth -= 1
    return False


_DEPTH_ERROR: Final = f"invalid JSON: exceeded max depth (Go reads at most {MAX_DEPTH} nested arrays and objects)"


# The non-recursive decoder, for text nested deeper than the C decoder's recursion allows.
# It reads exactly what ``json.JSONDecoder`` (strict, with the hooks below) reads and builds
# the same values; errors are the stdlib's ValueErrors (json.JSONDecodeError) or GoJSONError.
_ws: Final = re.compile(r"[ \t\n\r]*").match


def _skip_ws(s: str, idx: int) -> int:
    m = _ws(s, idx)
    return idx if m is None else m.end()


_number: Final = re.compile(r"(-?(?:0|[1-9][0-9]*))(\.[0-9]+)?([eE][-+]?[0-9]+)?").match
_chunk: Final = re.compile(r'([^"\\\x00-\x1f]*)(["\\\x00-\x1f])').match
_hex4: Final = re.compile(r"[0-9a-fA-F]{4}").fullmatch
_ESCAPES: Final = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_CONSTANTS: Final = (("NaN", "NaN"), ("Infinity", "Infinity"), ("-Infinity", "-Infinity"))


def _scan_string(s: str, end: int) -> tuple[str, int]:
    """The string whose opening quote is at ``end - 1``, and the index after its closing one
    (``json.decoder.scanstring`` with strict=True)."""
    begin = end - 1
    parts: list[str] = []
    append = parts.append
    while True:
        m = _chunk(s, end)
        if m is None:
            raise json.JSONDecodeError("Unterminated string starting at", s, begin)
        end = m.end()
        content, term = m.groups()
        if content:
            append(content)
        if term == '"':
            return "".join(parts), end
        if term != "\\":
            raise json.JSONDecodeError(f"Invalid control character {term!r} at", s, end - 1)
        esc = s[end:end + 1]
        if not esc:
            raise json.JSONDecodeError("Unterminated string starting at", s, begin)
        if esc != "u":
            char = _ESCAPES.get(esc)
            if char is None:
                raise json.JSONDecodeError(f"Invalid \\escape: {esc!r}", s, end)
            append(char)
            end += 1
            continue
        hex1 = s[end + 1:end + 5]
        if _hex4(hex1) is None:
            raise json.JSONDecodeError("Invalid \\uXXXX escape", s, end - 1)
        uni = int(hex1, 16)
        end += 5
        if 0xD800 <= uni <= 0xDBFF and s[end:end + 2] == "\\u":
            hex2 = s[end + 2:end + 6]
            if _hex4(hex2) is None:
                raise json.JSONDecodeError("Invalid \\uXXXX escape", s, end + 1)
            uni2 = int(hex2, 16)
            if 0xDC00 <= uni2 <= 0xDFFF:  # a pair: one character
                uni = 0x10000 + (((uni - 0xD800) << 10) | (uni2 - 0xDC00))
                end += 6
        append(chr(uni))


class _Object:
    """An object being read: its members so far and the name of the one being read."""

    __slots__ = ("members", "name")

    def __init__(self, name: str) -> None:
        self.members: list[tuple[str, Any]] = []
        self.name = name


def _member_name(s: str, idx: int) -> tuple[str, int]:
    """The name at ``idx`` (whitespace skipped) and the index after its ``:`` and whitespace."""
    idx = _skip_ws(s, idx)
    if s[idx:idx + 1] != '"':
        raise json.JSONDecodeError("Expecting property name enclosed in double quotes", s, idx)
    name, idx = _scan_string(s, idx + 1)
    idx = _skip_ws(s, idx)
    if s[idx:idx + 1] != ":":
        raise json.JSONDecodeError("Expecting ':' delimiter", s, idx)
    return name, _skip_ws(s, idx + 1)


def _decode_deep(s: str, parse_int: Callable[[str], Any], parse_float: Callable[[str], Any],
                 pairs: bool) -> Any:
    """``s`` decoded as :data:`_std_decoder` (``pairs``: :data:`_pairs_decoder`) does, with
    an explicit stack instead of recursion; refuses more than :data:`MAX_DEPTH` levels."""
    stack: list[list[Any] | _Object] = []
    idx = _skip_ws(s, 0)
    value: Any
    while True:
        # one value at idx (whitespace skipped): a scalar, an empty or a new container
        c = s[idx:idx + 1]
        if c == "{" or c == "[":
            if len(stack) >= MAX_DEPTH:
                raise GoJSONError(_DEPTH_ERROR)
            idx = _skip_ws(s, idx + 1)
            if c == "[":
                if s[idx:idx + 1] == "]":
                    value, idx = [], idx + 1
                else:
                    stack.append([])
                    continue
            elif s[idx:idx + 1] == "}":
                value, idx = (_Pairs() if pairs else {}), idx + 1
            else:
                name, idx = _member_name(s, idx)
                stack.append(_Object(name))
                continue
        elif c == '"':
            value, idx = _scan_string(s, idx + 1)
        elif c == "n" and s.startswith("null", idx):
            value, idx = None, idx + 4
        elif c == "t" and s.startswith("true", idx):
            value, idx = True, idx + 4
        elif c == "f" and s.startswith("false", idx):
            value, idx = False, idx + 5
        else:
            m = _number(s, idx)
            if m is None:
                for literal, name in _CONSTANTS:
                    if s.startswith(literal, idx):
                        _reject_constant(name)
                raise json.JSONDecodeError("Expecting value", s, idx)
            integer, frac, exp = m.groups()
            value = parse_float(integer + (frac or "") + (exp or "")) if frac or exp else parse_int(integer)
            idx = m.end()
        # the value is complete: add it to its container, closing those that end here
        while True:
            idx = _skip_ws(s, idx)
            if not stack:
                if idx != len(s):
                    raise json.JSONDecodeError("Extra data", s, idx)
                return value
            top = stack[-1]
            c = s[idx:idx + 1]
            if type(top) is list:
                top.append(value)
                if c == ",":
                    idx = _skip_ws(s, idx + 1)
                    break
                if c != "]":
                    raise json.JSONDecodeError("Expecting ',' delimiter", s, idx)
                value = stack.pop()
                idx += 1
                continue
            assert type(top) is _Object
            top.members.append((top.name, value))
            if c == ",":
                top.name, idx = _member_name(s, idx + 1)
                break
            if c != "}":
                raise json.JSONDecodeError("Expecting ',' delimiter", s, idx)
            stack.pop()
            value = _Pairs(top.members) if pairs else dict(top.members)
            idx += 1


def _slow_loads(data: bytes) -> Any:
    text = data.decode("utf-8", _ERRORS)
    try:
        try:
            value = _std_decoder.decode(text)
        except RecursionError:  # nested deeper than the C decoder goes (Go reads MAX_DEPTH levels)
            value = _decode_deep(text, _parse_int, _parse_float, False)
    except GoJSONError:
        raise
    except ValueError as exc:
        raise GoJSONError(f"invalid JSON: {exc}") from None
    if _surrogate_escape(data) is not None:
        value = _unsurrogate(value)
    return value


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """Decode JSON text for the Python side: Go's rules for what is valid and for broken
    text inside strings, exact Python ints for integer literals (but ``-0``, which Go
    reads as the float -0 and writes back as ``-0``, gives ``-0.0``). Raises GoJSONError."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    elif not isinstance(data, bytes):
        data = bytes(data)
    return _loads_bytes(data, _plain_numbers(data))


def _loads_bytes(data: bytes, plain_numbers: bool) -> Any:
    if len(data) > 2 * MAX_DEPTH and _too_deep(data):  # nesting that deep takes that many bytes
        raise GoJSONError(_DEPTH_ERROR)
    if plain_numbers and _orjson is not None:
        try:
            return _orjson.loads(data)
        except _orjson.JSONDecodeError:
            pass  # decide (and word the error) below
    return _slow_loads(data)


# --------------------------------------------------------------------------- member-wise decoding

class _Pairs(list[tuple[str, Any]]):
    """An object's members in text order (repeats kept)."""


class NegZeroLiteral(float):
    """The integer literal ``-0`` as a top-level member value of :func:`loads_members`
    (Go reads it as 0 into an int64 field, as float64 -0 into interface{})."""


class OutOfRange:
    """A number literal beyond float64's range, as read by :func:`loads_members`: Go
    skips it in an unknown member but refuses it anywhere else."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class _Found(Exception):
    pass


def _parse_int_marked(text: str) -> Any:
    if text == "-0":
        return NegZeroLiteral(-0.0)
    n = int(text)
    if len(text) > 308 and _beyond_float64(n):
        return OutOfRange(text)
    return n


def _parse_float_marked(text: str) -> Any:
    f = float(text)
    if f in (float("inf"), float("-inf")):
        return OutOfRange(text)
    return f


_pairs_decoder: Final = json.JSONDecoder(parse_float=_parse_float_marked, parse_int=_parse_int_marked,
                                         parse_constant=_reject_constant, object_pairs_hook=_Pairs)


def _plain_leaf(v: Any) -> Any:
    if type(v) is str:
        return _surrogate.sub("\ufffd", v)
    if type(v) is NegZeroLiteral:
        return -0.0
    return v


def _plain(v: Any) -> Any:
    return _rebuild(v, _plain_leaf, _no_surrogates)


def find_out_of_range(v: Any) -> OutOfRange | None:
    """The first :class:`OutOfRange` inside a value from :func:`loads_members`."""
    stack = [v]
    while stack:
        x = stack.pop()
        t = type(x)
        if t is OutOfRange:
            return x  # type: ignore[no-any-return]
        if t is dict:
            stack.extend(reversed(list(x.values())))
        elif t is list:
            stack.extend(reversed(x))
    return None


def loads_members(data: bytes) -> list[tuple[str, Any]] | Any:
    """Like :func:`loads`, but for decoding into a Go struct: a top-level object comes back
    as its list of (name, value) members in text order, repeated names included; a
    top-level member value written ``-0`` is a :class:`NegZeroLiteral`; numbers beyond
    float64 are :class:`OutOfRange` markers instead of errors (Go skips them in unknown
    members). Slower than loads."""
    data = bytes(data)
    if len(data) > 2 * MAX_DEPTH and _too_deep(data):
        raise GoJSONError(_DEPTH_ERROR)
    text = data.decode("utf-8", _ERRORS)
    try:
        try:
            value = _pairs_decoder.decode(text)
        except RecursionError:  # nested deeper than the C decoder goes (Go reads MAX_DEPTH levels)
            value = _decode_deep(text, _parse_int_marked, _parse_float_marked, True)
    except GoJSONError:
        raise
    except ValueError as exc:
        raise GoJSONError(f"invalid JSON: {exc}") from None
    if type(value) is not _Pairs:
        return _plain(value)
    return [(_surrogate.sub("\ufffd", k), x if type(x) is NegZeroLiteral else _plain(x)) for k, x in value]


# -- json.MarshalIndent of structs ---------------------------------------------------------
def _compact_struct(value: Any, map_fields: frozenset[str], as_map: bool = False) -> bytes:
    if isinstance(value, dict) and not as_map:
        parts = [dumps(str(k)) + b":" + _compact_struct(v, map_fields, k in map_fields) for k, v in value.items()]
        return b"{" + b",".join(parts) + b"}"
    if isinstance(value, (list, tuple)) and not as_map:
        return b"[" + b",".join(_compact_struct(v, map_fields) for v in value) + b"]"
    return dumps(value)


def _indent(compact: bytes) -> bytes:
    """Go's ``json.Indent(dst, src, "", "\\t")`` of compact JSON."""
    out = bytearray()
    depth = 0
    need_indent = False
    in_string = False
    escaped = False
    for byte in compact:
        c = bytes((byte,))
        if in_string:
            out += c
            if escaped:
                escaped = False
            elif c == b"\\":
                escaped = True
            elif c == b'"':
                in_string = False
            continue
        if need_indent and c not in (b"]", b"}"):
            need_indent = False
            out += b"\n" + b"\t" * depth
        if c == b'"':
            in_string = True
            out += c
        elif c in (b"{", b"["):
            out += c
            depth += 1
            need_indent = True
        elif c == b",":
            out += b",\n" + b"\t" * depth
        elif c == b":":
            out += b": "
        elif c in (b"}", b"]"):
            depth -= 1
            if need_indent:
                need_indent = False  # empty: "{}" / "[]"
            else:
                out += b"\n" + b"\t" * depth
            out += c
        else:
            out += c
    return bytes(out)


def marshal_indent(value: Any, map_fields: frozenset[str] | set[str] = frozenset()) -> bytes:
    """What Go's ``json.MarshalIndent(v, "", "\\t")`` writes for a struct given as ``value``:
    a dict is a struct whose fields keep their order, except the values of keys in
    ``map_fields``, which are Go maps (keys sorted, as :func:`dumps`); lists are slices."""
    return _indent(_compact_struct(value, frozenset(map_fields)))

