"""The job record of gocraft/work and its wire form. Pure, no I/O.

:meth:`Job.encode` writes exactly the bytes Go's ``json.Marshal`` writes for upstream's
``work.Job`` struct; :meth:`Job.decode` reads a payload with ``json.Unmarshal``'s rules
for that struct (see the method docs for the details that matter to a worker).
The ``arg_*`` accessors follow ``job.go`` of gocraft/work v0.5.1, error texts included.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from . import gojson
from .gojson import GoJSONError, NegZeroLiteral, OutOfRange, find_out_of_range, go_sprint

__all__ = ["MAX_ARG_INT", "Job", "JobArgError", "JobDecodeError", "new_id", "new_ids"]

#: ArgInt64 accepts integral float64 values within ±this bound (gocraft/work's constant).
MAX_ARG_INT: Final = 9007199254740892

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


class JobDecodeError(ValueError):
    """A payload Go's json.Unmarshal would refuse for a work.Job. ``str(exc)`` is a
    reason fit for the dead job's ``err``."""


class JobArgError(ValueError):
    """Set by the ``arg_*`` accessors (worded as gocraft/work's errors)."""


def new_id() -> str:
    """A job / pool / worker id as gocraft/work makes them: 12 random bytes in lower-case hex."""
    return os.urandom(12).hex()


def new_ids(n: int) -> list[str]:
    """``n`` ids from one read of the random source."""
    h = os.urandom(12 * n).hex()
    return [h[i:i + 24] for i in range(0, 24 * n, 24)]


def _go_type(v: Any) -> str:
    """reflect.TypeOf of the Go value a decoded JSON value is."""
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (int, float)):
        return "float64"  # Go decodes every JSON number into float64
    if isinstance(v, dict):
        return "map[string]interface {}"
    if isinstance(v, (list, tuple)):
        return "[]interface {}"
    return type(v).__name__


def _missing(go_type: str, key: str) -> JobArgError:
    return JobArgError(f"looking for a {go_type} in job.Arg[{key}] but key wasn't found")


def _typecast(go_type: str, key: str, v: Any) -> JobArgError:
    return JobArgError(f"looking for a {go_type} in job.Arg[{key}] but value wasn't right type: "
                       f"{_go_type(v)}({go_sprint(v)})")


_quote: Final = gojson._quote
_plain_numbers: Final = gojson._plain_numbers
_loads_bytes: Final = gojson._loads_bytes
_encode_value: Final = gojson._encode_value
_int_repr: Final = int.__repr__
# '{"name":<quoted name>,"id":' by job name (names repeat; the cache is bounded)
_HEADS: dict[str, str] = {}


@dataclass(slots=True)
class Job:
    """One job. JSON names: name, id, t, args, unique, unique_key, fails, err, failed_at."""

    name: str
    id: str
    enqueued_at: int
    args: dict[str, Any] | None
    unique: bool = False
    #: upstream master's ``unique_key`` (omitted when empty; v0.5.1 has no such field)
    unique_key: str = ""
    fails: int = 0
    last_err: str = ""
    failed_at: int = 0
    #: the exact bytes read from Redis (what LREM must name)
    raw: bytes | None = field(default=None, repr=False, compare=False)
    dequeued_from: str = field(default="", repr=False, compare=False)
    in_progress_queue: str = field(default="", repr=False, compare=False)
    _arg_error: Exception | None = field(default=None, init=False, repr=False, compare=False)
    _checkin: Callable[[str], None] | None = field(default=None, init=False, repr=False, compare=False)

    # -- wire form ------------------------------------------------------------------
    def encode(self) -> bytes:
        """Go's json.Marshal of work.Job: fields in struct order; name, unique,
        unique_key, fails, err and failed_at omitted when zero; args ``null`` when None."""
        name = self.name
        head = _HEADS.get(name)
        if head is None:
            head = ('{"name":' + _quote(name) + ',"id":') if name else '{"id":'
            if len(_HEADS) < 10000:
                _HEADS[name] = head
        jid = self.id
        head += ('"' + jid + '"' if jid.isalnum() and jid.isascii() else _quote(jid)) \
            + ',"t":' + _int_repr(self.enqueued_at) + ',"args":'
        args = self.args
        body = b"null" if args is None else _encode_value(args, "args")
        tail = ""
        if self.unique:
            tail = ',"unique":true'
        if self.unique_key:
            tail += ',"unique_key":' + _quote(self.unique_key)
        if self.fails:
            tail += ',"fails":' + _int_repr(self.fails)
        if self.last_err:
            tail += ',"err":' + _quote(self.last_err)
        if self.failed_at:
            tail += ',"failed_at":' + _int_repr(self.failed_at)
        return head.encode("utf-8") + body + (tail + "}").encode("utf-8")

    @classmethod
    def decode(cls, raw: bytes) -> Job:
        """Read a payload as Go's ``json.Unmarshal`` into work.Job would.

        * the text must be valid JSON (invalid UTF-8 inside strings becomes U+FFFD) and an
          object (Go would also take a bare ``null`` as an empty job; that is refused here);
        * member names match fields exactly or else case-insensitively (Go's folding, so
          ``"NAME"`` and ``"fails"`` with U+017F are fields too); unknown members are ignored;
        * ``null`` leaves a field as it is, but sets args to None;
        * numbers beyond float64 are errors, except in unknown members (Go skips those);
        * name, id, err, unique_key: strings; t, fails, failed_at: integer literals within
          int64 (``1.5``, ``1e3`` or ``"3"`` are errors); unique: a bool; args: an object;
        * members are applied in text order: a repeated field takes its last non-null value,
          any wrongly typed occurrence is an error, and a repeated ``args`` object is merged
          into the previous one (as Go does); not detected: a repeat spelled with escapes
          (``"n\\u0061me"``) that hides an earlier wrongly typed value;
        * the integer ``-0`` is 0 for t/fails/failed_at and the float -0.0 inside args.

        ``raw`` is kept on the job. Raises :class:`JobDecodeError`.
        """
        raw = bytes(raw)
        job = cls("", "", 0, None)
        job.raw = raw
        # Fast: one dict from the C decoder. Repeated members (which Go applies one by one,
        # merging repeated args objects, failing on any bad one) and "-0" literals need the
        # member-wise reading.
        if _plain_numbers(raw):
            try:
                obj = _loads_bytes(raw, True)
            except GoJSONError:
                pass  # the member-wise reading decides (Go skips bad numbers of unknown members)
            else:
                if type(obj) is not dict:
                    raise JobDecodeError(f"malformed job payload: not a JSON object (got {_json_kind(obj)})")
                if _apply(job, obj.items(), merge=False, raw=raw):
                    return job
                job = cls("", "", 0, None)
                job.raw = raw
        try:
            members = gojson.loads_members(raw)
        except GoJSONError as exc:
            raise JobDecodeError(f"malformed job payload: {exc}") from None
        # an object comes back as its list of members; an array is a list too (of its values)
        if type(members) is not list or raw.lstrip(b" \t\r\n")[:1] != b"{":
            raise JobDecodeError(f"malformed job payload: not a JSON object (got {_json_kind(members)})")
        _apply(job, members, merge=True)
        return job

    # -- typed args (gocraft/work's rules) ---------------------------------------------
    def arg_string(self, key: str) -> str:
        """args[key] if it is a string; else "" and an arg error."""
        args = self.args
        if args is not None and key in args:
            v = args[key]
            if isinstance(v, str):
                return v
            self._arg_error = _typecast("string", key, v)
        else:
            self._arg_error = _missing("string", key)
        return ""

    def arg_int(self, key: str) -> int:
        """args[key] as Go's ArgInt64: an integral number within ±9007199254740892;
        else 0 and an arg error. (Python ints stay exact; floats like 3.0 are accepted.)"""
        args = self.args
        if args is not None and key in args:
            v = args[key]
            if isinstance(v, int) and not isinstance(v, bool):
                if -MAX_ARG_INT <= v <= MAX_ARG_INT:
                    return int(v)
            elif isinstance(v, float):
                if v.is_integer() and -MAX_ARG_INT <= v <= MAX_ARG_INT:
                    return int(v)
            self._arg_error = _typecast("int64", key, v)
        else:
            self._arg_error = _missing("int64", key)
        return 0

    def arg_float(self, key: str) -> float:
        """args[key] as a float (ints converted); else 0.0 and an arg error."""
        args = self.args
        if args is not None and key in args:
            v = args[key]
            if isinstance(v, float):
                return v
            if isinstance(v, int) and not isinstance(v, bool):
                try:
                    return float(v)
                except OverflowError:
                    pass
            self._arg_error = _typecast("float64", key, v)
        else:
            self._arg_error = _missing("float64", key)
        return 0.0

    def arg_bool(self, key: str) -> bool:
        """args[key] if it is a bool; else False and an arg error."""
        args = self.args
        if args is not None and key in args:
            v = args[key]
            if isinstance(v, bool):
                return v
            self._arg_error = _typecast("bool", key, v)
        else:
            self._arg_error = _missing("bool", key)
        return False

    def arg_error(self) -> Exception | None:
        """The error of the LAST failed ``arg_*`` call (as Go's ArgError: each failure
        overwrites the previous one, successes clear nothing); None if none failed."""
        return self._arg_error

    # -- running ------------------------------------------------------------------------
    def checkin(self, message: str) -> None:
        """Report progress of a running job (shown by clients and web UIs)."""
        cb = self._checkin
        if cb is not None:
            cb(message)

    def failed(self, err_message: str, now: int) -> None:
        """Record a failed run, as Go's job.failed."""
        self.fails += 1
        self.last_err = err_message
        self.failed_at = now


# field name (json) -> attribute
_ATTR: Final = {
    "name": "name", "id": "id", "t": "enqueued_at", "args": "args", "unique": "unique",
    "unique_key": "unique_key", "fails": "fails", "err": "last_err", "failed_at": "failed_at",
}
_FIELDS: Final = {k: k for k in _ATTR}
_FOLDED: Final = {k.upper(): k for k in _ATTR}
_BIT: Final = {k: 1 << i for i, k in enumerate(_ATTR)}
_QUOTED: Final = {k: ('"' + k + '"').encode() for k in _ATTR}
_STR_FIELDS: Final = frozenset({"name", "id", "err", "unique_key"})
_INT_FIELDS: Final = frozenset({"t", "fails", "failed_at"})
# Non-ASCII runes whose Unicode simple-fold orbit holds an ASCII letter (Go folds to the
# smallest rune of the orbit): LATIN SMALL LETTER LONG S and KELVIN SIGN.
_FOLD_TABLE: Final = {0x17F: "S", 0x212A: "K"}


def _apply(job: Job, members: Iterable[tuple[str, Any]], merge: bool, raw: bytes = b"") -> bool:
    """Set the fields of ``job`` from JSON members in text order, as json.Unmarshal.

    Without ``merge`` (the members of a dict, where a repeated name kept only its last
    value), returns False as soon as a field may have been named twice (case variants,
    or the quoted name occurs twice in ``raw``) or is set to null, so that the caller
    re-reads the text member-wise."""
    seen = 0
    for key, value in members:
        f = _FIELDS.get(key)
        if f is None:
            f = _FOLDED.get(_fold(key))
            if f is None:
                continue
        if not merge:
            bit = _BIT[f]
            if seen & bit:
                return False
            seen |= bit
            quoted = _QUOTED.get(key)
            if quoted is None:
                quoted = ('"' + key + '"').encode("utf-8", "surrogatepass")
            if raw.count(quoted) > 1:
                return False
        if value is None:
            if f == "args":
                job.args = None
                continue
            if not merge:
                return False  # may hide an earlier value of the same name: re-read member-wise
            continue  # Go leaves other fields as they are
        if f in _STR_FIELDS:
            if type(value) is not str:
                raise _wrong(f, "a string", value)
            setattr(job, _ATTR[f], value)
        elif f in _INT_FIELDS:
            if type(value) is not int:
                if type(value) is NegZeroLiteral:
                    value = 0
                elif type(value) is OutOfRange:
                    raise JobDecodeError(f"malformed job payload: {f}: number {value.text} overflows int64")
                elif type(value) is float:
                    raise JobDecodeError(
                        f"malformed job payload: {f}: number {value!r} is not an integer")
                else:
                    raise _wrong(f, "an integer", value)
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise JobDecodeError(f"malformed job payload: {f}: number {value} overflows int64")
            setattr(job, _ATTR[f], value)
        elif f == "args":
            if type(value) is not dict:
                raise _wrong(f, "an object", value)
            if merge:
                bad = find_out_of_range(value)
                if bad is not None:
                    raise JobDecodeError(f"malformed job payload: args: number {bad.text} is out of float64 range")
            if merge and job.args is not None:
                job.args.update(value)  # Go decodes into the map it already has
            else:
                job.args = value
        else:  # unique
            if type(value) is not bool:
                raise _wrong(f, "a bool", value)
            job.unique = value
    return True


def _fold(key: str) -> str:
    if not key.isascii():
        key = key.translate(_FOLD_TABLE)
        if not key.isascii():
            return ""  # cannot equal an (ASCII) field name
    return key.upper()


def _json_kind(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float, OutOfRange)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _wrong(field_name: str, expected: str, value: Any) -> JobDecodeError:
    return JobDecodeError(
        f"malformed job payload: {field_name}: expected {expected}, got {_json_kind(value)}")
