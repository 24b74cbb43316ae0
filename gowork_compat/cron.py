"""Cron specs exactly as gocraft/work reads them (pure, no I/O besides zone files).

Two dialects:

``"v0.5.1"``
    gocraft/work v0.5.1 calls ``cron.Parse`` of github.com/robfig/cron v1.2.0: the *first
    field is seconds*, then minute, hour, day of month, month and an optional day of week
    (``"0 30 * * * *"`` = every hour at :30:00; a 5-field spec has no day-of-week field,
    so ``"*/5 * * * *"`` means every five *seconds*). Descriptors ``@yearly``
    ``@annually`` ``@monthly`` ``@weekly`` ``@daily`` ``@midnight`` ``@hourly`` and
    ``@every <Go duration>`` are accepted.

``"master"``
    gocraft/work master uses github.com/robfig/cron/v3 with
    ``SecondOptional | Minute | Hour | Dom | Month | Dow | Descriptor``: 5 fields are a
    standard minute-first crontab line, 6 fields start with seconds. A ``TZ=<zone> `` or
    ``CRON_TZ=<zone> `` prefix evaluates the spec in that zone.

:func:`parse` returns a :class:`Schedule` whose :meth:`Schedule.next` reproduces
robfig's ``Next`` step by step, with Go's ``time`` semantics emulated on integer Unix
seconds (``time.Date`` normalisation in DST gaps and overlaps, ``AddDate``, ``Add``,
``Truncate``), so the fire times agree with a Go process to the second.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from functools import lru_cache
from typing import Final, Literal, cast
from zoneinfo import TZPATH, ZoneInfo

__all__ = [
    "LOCAL",
    "ConstantDelaySchedule",
    "CronSpecError",
    "Dialect",
    "Schedule",
    "SpecSchedule",
    "go_local_zone",
    "load_location",
    "next_after_epoch",
    "parse",
    "parse_go_duration",
]

Dialect = Literal["v0.5.1", "master"]

_STAR_BIT: Final = 1 << 63
_NS_PER_S: Final = 1_000_000_000
_MAX_INT64: Final = (1 << 63) - 1
#: a safety net: a day search of robfig's five years takes a few thousand steps; should
#: some zone ever make Go's loop run away, raise instead of hanging with it.
_ITERATION_GUARD: Final = 20_000_000

_V1_HINT: Final = (
    "gocraft/work v0.5.1 specs start with a seconds field: "
    "'sec min hour day-of-month month [day-of-week]', e.g. '0 */5 * * * *' = every 5 minutes"
)
_V3_HINT: Final = (
    "gocraft/work master specs are 'min hour day-of-month month day-of-week' "
    "or 'sec min hour day-of-month month day-of-week'"
)


class CronSpecError(ValueError):
    """A spec robfig/cron rejects. ``go_message`` is robfig's own error text."""

    def __init__(self, message: str, go_message: str | None = None) -> None:
        super().__init__(message)
        self.go_message = go_message if go_message is not None else message


# ----------------------------------------------------------------------------------------
# Go string helpers
# ----------------------------------------------------------------------------------------

# unicode.IsSpace: the Latin-1 spaces plus the White_Space property above Latin-1
_GO_SPACE: Final = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _go_fields(s: str) -> list[str]:
    """strings.Fields: split around runs of Go white space (not Python's wider set)."""
    out: list[str] = []
    cur: list[str] = []
    for ch in s:
        if ch in _GO_SPACE:
            if cur:
                out.append("".join(cur))
                cur = []
        else:
            cur.append(ch)
    if cur:
        out.append("".join(cur))
    return out


def _go_trim_space(s: str) -> str:
    start, end = 0, len(s)
    while start < end and s[start] in _GO_SPACE:
        start += 1
    while end > start and s[end - 1] in _GO_SPACE:
        end -= 1
    return s[start:end]


def _go_lower(s: str) -> str:
    """strings.ToLower, as far as it can turn a string into an ASCII name."""
    return "".join(
        "i" if ch == "\u0130" else "k" if ch == "\u212a" else ch.lower() if ch.isascii() else ch for ch in s
    )


_ESCAPES: Final = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _strconv_quote(s: str) -> str:
    """strconv.Quote (printable runes kept, others escaped)."""
    out = ['"']
    for ch in s:
        o = ord(ch)
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif 0xD800 <= o < 0xE000:  # not valid UTF-8: Go sees bytes
            out.append("\\ufffd")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _time_quote(s: str | bytes) -> str:
    """The time package's quote: control and non-ASCII bytes as \\x escapes."""
    raw = s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass")
    out = ['"']
    for b in raw:
        if b >= 0x80 or b < 0x20:
            out.append(f"\\x{b:02x}")
        else:
            if b in (0x22, 0x5C):
                out.append("\\")
            out.append(chr(b))
    out.append('"')
    return "".join(out)


class _AtoiError(Exception):
    pass


def _go_atoi(s: str) -> int:
    """strconv.Atoi: optional sign, ASCII digits only, int64 range."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not body or not all("0" <= c <= "9" for c in body):
        raise _AtoiError(f"strconv.Atoi: parsing {_strconv_quote(s)}: invalid syntax")
    digits = body.lstrip("0")
    if len(digits) > 19:  # also keeps int() clear of its digit limit
        raise _AtoiError(f"strconv.Atoi: parsing {_strconv_quote(s)}: value out of range")
    n = int(digits or "0")
    if s[:1] == "-":
        n = -n
    if n > _MAX_INT64 or n < -_MAX_INT64 - 1:
        raise _AtoiError(f"strconv.Atoi: parsing {_strconv_quote(s)}: value out of range")
    return n


class _DurationError(Exception):
    pass


_UNITS: Final = {
    b"ns": 1,
    b"us": 1_000,
    "µs".encode(): 1_000,  # U+00B5 micro sign
    "μs".encode(): 1_000,  # U+03BC Greek mu
    b"ms": 1_000_000,
    b"s": _NS_PER_S,
    b"m": 60 * _NS_PER_S,
    b"h": 3600 * _NS_PER_S,
}


def parse_go_duration(text: str) -> int:
    """time.ParseDuration (Go 1.2x): the duration in nanoseconds; ValueError if Go rejects it."""
    try:
        return _parse_duration(text.encode("utf-8", "surrogatepass"), text)
    except _DurationError as exc:
        raise ValueError(str(exc)) from None


def _parse_duration(s: bytes, orig: str) -> int:
    def fail(what: str = "invalid duration") -> _DurationError:
        return _DurationError(f"time: {what} {_time_quote(orig)}")

    neg = False
    if s[:1] in (b"-", b"+"):
        neg = s[:1] == b"-"
        s = s[1:]
    if s == b"0":
        return 0
    if not s:
        raise fail()
    total = 0
    limit = 1 << 63
    while s:
        if not (s[0] == 0x2E or 0x30 <= s[0] <= 0x39):
            raise fail()
        # leading integer
        i, v = 0, 0
        while i < len(s) and 0x30 <= s[i] <= 0x39:
            if v > limit // 10:
                raise fail()
            v = v * 10 + s[i] - 0x30
            if v > limit:
                raise fail()
            i += 1
        pre = i > 0
        s = s[i:]
        # fraction
        f, scale, post = 0, 1.0, False
        if s[:1] == b".":
            s = s[1:]
            i, overflow = 0, False
            while i < len(s) and 0x30 <= s[i] <= 0x39:
                if not overflow:
                    if f > _MAX_INT64 // 10:
                        overflow = True
                    else:
                        y = f * 10 + s[i] - 0x30
                        if y > limit:
                            overflow = True
                        else:
                            f = y
                            scale *= 10
                i += 1
            post = i > 0
            s = s[i:]
        if not pre and not post:
            raise fail()
        # unit
        i = 0
        while i < len(s) and not (s[i] == 0x2E or 0x30 <= s[i] <= 0x39):
            i += 1
        if i == 0:
            raise fail("missing unit in duration")
        unit_bytes, s = s[:i], s[i:]
        unit = _UNITS.get(unit_bytes)
        if unit is None:
            raise fail(f"unknown unit {_time_quote(unit_bytes)} in duration")
        if v > limit // unit:
            raise fail()
        v *= unit
        if f > 0:
            v += int(float(f) * (float(unit) / scale))
            if v > limit:
                raise fail()
        total += v
        if total > limit:
            raise fail()
    if neg:
        return -total
    if total > _MAX_INT64:
        raise fail()
    return total


# ----------------------------------------------------------------------------------------
# time zones
# ----------------------------------------------------------------------------------------

_GO_ZONE_SOURCES: Final = (
    "/usr/share/zoneinfo/",
    "/usr/share/lib/zoneinfo/",
    "/usr/lib/locale/TZ/",
    "/etc/zoneinfo",
)


class _LocalSentinel:
    """robfig v3's time.Local: evaluate in the zone of the time passed to Next."""

    def __repr__(self) -> str:
        return "Local"


LOCAL: Final = _LocalSentinel()


@lru_cache(maxsize=256)
def _load_zone_file(path: str, name: str) -> tzinfo:
    with open(path, "rb") as fh:
        return ZoneInfo.from_file(fh, key=name)


def load_location(name: str) -> tzinfo | _LocalSentinel:
    """time.LoadLocation: "" and "UTC" are UTC, "Local" is :data:`LOCAL`, otherwise the
    zone file is searched where Go searches ($ZONEINFO, then the system directories).
    Raises ValueError with Go's message when Go fails."""
    if name in ("", "UTC"):
        return timezone.utc
    if name == "Local":
        return LOCAL
    if ".." in name or name[0] in "/\\":
        raise ValueError("time: invalid location name")
    dirs: list[str] = []
    env = os.environ.get("ZONEINFO", "")
    if env:
        dirs.append(env)
    dirs.extend(_GO_ZONE_SOURCES)
    zone = _find_zone(name, dirs)
    if zone is None:
        raise ValueError(f"unknown time zone {name}")
    return zone


def _find_zone(name: str, dirs: list[str]) -> tzinfo | None:
    for d in dirs:
        path = d + "/" + name
        if os.path.isfile(path):
            if TZPATH and os.path.normpath(d) == os.path.normpath(TZPATH[0]):
                try:
                    return ZoneInfo(name)  # the same file, and ZoneInfo's shared instance
                except (OSError, ValueError, KeyError):
                    pass
            try:
                return _load_zone_file(path, name)
            except (OSError, ValueError):
                continue
    if "\x00" not in name:
        try:  # Go's last resort is $GOROOT/lib/time/zoneinfo.zip; ours is the tzdata package
            return ZoneInfo(name)
        except (ValueError, OSError, KeyError):
            pass
    return None


def go_local_zone() -> tzinfo:
    """The zone Go's ``time.Local`` is (what ``time.Unix(now, 0)`` carries in gocraft/work):
    $TZ unset: /etc/localtime; $TZ empty or "UTC": UTC; ":" stripped; an absolute path is
    read as a zone file; otherwise a zone name; UTC whenever loading fails."""
    tz = os.environ.get("TZ")
    if tz is None:
        try:
            return _load_zone_file("/etc/localtime", "Local")
        except (OSError, ValueError):
            return timezone.utc
    if tz.startswith(":"):
        tz = tz[1:]
    if tz.startswith("/"):
        try:
            return _load_zone_file(tz, tz)
        except (OSError, ValueError):
            return timezone.utc
    if tz and tz != "UTC":
        return _find_zone(tz, list(_GO_ZONE_SOURCES)) or timezone.utc
    return timezone.utc


def _offset_function(tz: tzinfo) -> Callable[[int], int]:
    """The zone's UTC offset in whole seconds at a Unix instant (Go's Location.lookup)."""
    if tz is timezone.utc:
        return lambda _unix: 0
    if isinstance(tz, timezone):
        fixed = tz.utcoffset(None)
        secs = fixed.days * 86400 + fixed.seconds
        return lambda _unix: secs

    def offset(unix: int) -> int:
        off = datetime.fromtimestamp(unix, tz).utcoffset()
        return 0 if off is None else off.days * 86400 + off.seconds

    return offset


# ----------------------------------------------------------------------------------------
# proleptic Gregorian calendar on day numbers (days since 1970-01-01)
# ----------------------------------------------------------------------------------------


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


class _GoClock:
    """Go time.Time operations for instants (whole Unix seconds) in one Location."""

    __slots__ = ("offset",)

    def __init__(self, tz: tzinfo) -> None:
        self.offset = _offset_function(tz)

    def fields(self, unix: int) -> tuple[int, int, int, int, int, int, int]:
        """(year, month, day, hour, minute, second, weekday Sunday=0) of the instant."""
        local = unix + self.offset(unix)
        days, secs = divmod(local, 86400)
        y, m, d = _civil_from_days(days)
        hour, rem = divmod(secs, 3600)
        minute, second = divmod(rem, 60)
        return y, m, d, hour, minute, second, (days + 4) % 7

    def date(self, y: int, m: int, d: int, hour: int, minute: int, sec: int) -> int:
        """time.Date: normalise, then resolve the wall clock the way Go does (the offset at
        the wall clock read as UTC, then the offset at that guess)."""
        y += (m - 1) // 12
        m = (m - 1) % 12 + 1
        wall = (_days_from_civil(y, m, 1) + d - 1) * 86400 + hour * 3600 + minute * 60 + sec
        return wall - self.offset(wall - self.offset(wall))

    def add_date(self, unix: int, years: int, months: int, days: int) -> int:
        y, m, d, hour, minute, sec, _ = self.fields(unix)
        return self.date(y + years, m + months, d + days, hour, minute, sec)


# ----------------------------------------------------------------------------------------
# schedules
# ----------------------------------------------------------------------------------------


def _unix_of(t: datetime) -> tuple[int, int]:
    """(whole Unix seconds rounded down, nanoseconds) of an aware datetime."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("cron: pass an aware datetime (Go evaluates specs in the time's Location)")
    delta = t - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return delta.days * 86400 + delta.seconds, delta.microseconds * 1000


class Schedule(ABC):
    """robfig's ``cron.Schedule``."""

    @abstractmethod
    def next_unix(self, unix: int, tz: tzinfo, nanos: int = 0) -> int | None:
        """Next activation strictly after ``unix`` seconds + ``nanos`` evaluated in ``tz``,
        as Unix seconds; None where robfig returns the zero time (nothing within 5 years)."""

    def next(self, t: datetime) -> datetime | None:
        """robfig's ``Next(t)`` in t's zone; the result is in t's tzinfo, None for Go's zero time."""
        unix, nanos = _unix_of(t)
        tz = cast(tzinfo, t.tzinfo)
        nxt = self.next_unix(unix, tz, nanos)
        return None if nxt is None else datetime.fromtimestamp(nxt, tz)


@dataclass(frozen=True)
class ConstantDelaySchedule(Schedule):
    """``@every <duration>``: the duration truncated to whole seconds, at least 1 s."""

    delay: int  # seconds

    @classmethod
    def every(cls, duration_ns: int) -> ConstantDelaySchedule:
        duration_ns = max(duration_ns, _NS_PER_S)
        return cls(duration_ns // _NS_PER_S)

    def next_unix(self, unix: int, tz: tzinfo, nanos: int = 0) -> int | None:
        # t + delay - t.Nanosecond(): lands on a whole second
        return unix + self.delay


@dataclass(frozen=True)
class SpecSchedule(Schedule):
    """Bit sets per field as robfig stores them (bit 63 = the field had a ``*``/``?``)."""

    second: int
    minute: int
    hour: int
    dom: int
    month: int
    dow: int
    #: v3 (dialect "master") only: a TZ=/CRON_TZ= zone, or LOCAL = the zone of the time given
    location: tzinfo | _LocalSentinel = LOCAL
    #: v3 nudges a day search that left midnight because of DST back to midnight
    midnight_fix: bool = False
    _never: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dom, dow = self.dom & ~_STAR_BIT, self.dow & ~_STAR_BIT
        if (self.dom | self.dow) & _STAR_BIT:
            day_impossible = dom == 0 or dow == 0
        else:
            day_impossible = dom == 0 and dow == 0
        # a field without any value can never match: Go walks five years and returns zero
        never = day_impossible or any(
            (bits & ~_STAR_BIT) == 0 for bits in (self.second, self.minute, self.hour, self.month)
        )
        object.__setattr__(self, "_never", never)

    def _day_matches(self, day: int, weekday: int) -> bool:
        dom_match = (1 << day) & self.dom != 0
        dow_match = (1 << weekday) & self.dow != 0
        if (self.dom | self.dow) & _STAR_BIT:
            return dom_match and dow_match
        return dom_match or dow_match

    def next_unix(self, unix: int, tz: tzinfo, nanos: int = 0) -> int | None:
        if not isinstance(self.location, _LocalSentinel):
            tz = self.location
        if self._never:
            return None
        clock = _GoClock(tz)
        t = unix + 1  # t.Add(1s - t.Nanosecond()): the upcoming whole second
        added = False
        year_limit = clock.fields(t)[0] + 5
        guard = 0

        while True:  # WRAP
            y, mo, d, h, mi, _, wd = clock.fields(t)
            if y > year_limit:
                return None
            wrapped = False

            while not (1 << mo) & self.month:
                if not added:
                    added = True
                    t = clock.date(y, mo, 1, 0, 0, 0)
                t = clock.add_date(t, 0, 1, 0)
                y, mo, d, h, mi, _, wd = clock.fields(t)
                if mo == 1:
                    wrapped = True
                    break
            if wrapped:
                continue

            while not self._day_matches(d, wd):
                guard += 1
                if guard > _ITERATION_GUARD:
                    raise RuntimeError("cron: schedule search does not terminate")
                if not added:
                    added = True
                    t = clock.date(y, mo, d, 0, 0, 0)
                t = clock.add_date(t, 0, 0, 1)
                if self.midnight_fix:
                    h = clock.fields(t)[3]
                    if h != 0:
                        t += (24 - h) * 3600 if h > 12 else -h * 3600
                y, mo, d, h, mi, _, wd = clock.fields(t)
                if d == 1:
                    wrapped = True
                    break
            if wrapped:
                continue

            while not (1 << h) & self.hour:
                if not added:
                    added = True
                    t = clock.date(y, mo, d, h, 0, 0)
                t += 3600
                h = clock.fields(t)[3]
                if h == 0:
                    wrapped = True
                    break
            if wrapped:
                continue

            mi = clock.fields(t)[4]
            while not (1 << mi) & self.minute:
                if not added:
                    added = True
                    t -= t % 60  # Truncate(time.Minute) works on absolute time
                t += 60
                mi = clock.fields(t)[4]
                if mi == 0:
                    wrapped = True
                    break
            if wrapped:
                continue

            sec = clock.fields(t)[5]
            while not (1 << sec) & self.second:
                added = True  # Truncate(time.Second) is a no-op on whole seconds
                t += 1
                sec = clock.fields(t)[5]
                if sec == 0:
                    wrapped = True
                    break
            if wrapped:
                continue

            return t


def next_after_epoch(schedule: Schedule, epoch: int, tz: tzinfo | str) -> int | None:
    """``schedule.Next(time.Unix(epoch, 0).In(tz)).Unix()``; None for the zero time.
    gocraft/work passes ``time.Unix(now, 0)``, i.e. the process's Local zone."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return schedule.next_unix(epoch, zone)


# ----------------------------------------------------------------------------------------
# parsing
# ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bounds:
    lo: int
    hi: int
    names: dict[str, int] | None = None


_SECONDS: Final = _Bounds(0, 59)
_MINUTES: Final = _Bounds(0, 59)
_HOURS: Final = _Bounds(0, 23)
_DOM: Final = _Bounds(1, 31)
_MONTHS: Final = _Bounds(
    1,
    12,
    {n: i + 1 for i, n in enumerate("jan feb mar apr may jun jul aug sep oct nov dec".split())},
)
_DOW: Final = _Bounds(0, 6, {n: i for i, n in enumerate("sun mon tue wed thu fri sat".split())})
_FIELD_BOUNDS: Final = (_SECONDS, _MINUTES, _HOURS, _DOM, _MONTHS, _DOW)


class _RobfigError(Exception):
    """An error with robfig's capitalised (v1) message; v3 lower-cases the first letter."""


def _bits(lo: int, hi: int, step: int) -> int:
    out = 0
    for i in range(lo, hi + 1, step):
        out |= 1 << i
    return out


def _all(b: _Bounds) -> int:
    return _bits(b.lo, b.hi, 1) | _STAR_BIT


def _parse_int(expr: str) -> int:
    try:
        num = _go_atoi(expr)
    except _AtoiError as exc:
        raise _RobfigError(f"Failed to parse int from {expr}: {exc}") from None
    if num < 0:
        raise _RobfigError(f"Negative number ({num}) not allowed: {expr}")
    return num


def _parse_int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names is not None:
        named = names.get(_go_lower(expr))
        if named is not None:
            return named
    return _parse_int(expr)


def _get_range(expr: str, b: _Bounds, v3: bool) -> int:
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    single = len(low_and_high) == 1
    extra = 0
    if low_and_high[0] in ("*", "?"):
        start, end, extra = b.lo, b.hi, _STAR_BIT
    else:
        start = _parse_int_or_name(low_and_high[0], b.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _parse_int_or_name(low_and_high[1], b.names)
        else:
            raise _RobfigError(f"Too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _parse_int(range_and_step[1])
        if single:  # "N/step" means "N-max/step"
            end = b.hi
        if v3 and step > 1:
            extra = 0
    else:
        raise _RobfigError(f"Too many slashes: {expr}")
    if start < b.lo:
        raise _RobfigError(f"Beginning of range ({start}) below minimum ({b.lo}): {expr}")
    if end > b.hi:
        raise _RobfigError(f"End of range ({end}) above maximum ({b.hi}): {expr}")
    if start > end:
        raise _RobfigError(f"Beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise _RobfigError(f"Step of range should be a positive number: {expr}")
    return _bits(start, end, step) | extra


def _get_field(text: str, b: _Bounds, v3: bool) -> int:
    out = 0
    for expr in text.split(","):
        if expr:  # strings.FieldsFunc drops empty pieces
            out |= _get_range(expr, b, v3)
    return out


def _descriptor(spec: str, v3: bool, location: tzinfo | _LocalSentinel) -> Schedule:
    one = 1 << 0
    sched: dict[str, tuple[int, int, int, int, int, int]] = {
        "@yearly": (one, one, one, 1 << 1, 1 << 1, _all(_DOW)),
        "@annually": (one, one, one, 1 << 1, 1 << 1, _all(_DOW)),
        "@monthly": (one, one, one, 1 << 1, _all(_MONTHS), _all(_DOW)),
        "@weekly": (one, one, one, _all(_DOM), _all(_MONTHS), 1 << 0),
        "@daily": (one, one, one, _all(_DOM), _all(_MONTHS), _all(_DOW)),
        "@midnight": (one, one, one, _all(_DOM), _all(_MONTHS), _all(_DOW)),
        "@hourly": (one, one, _all(_HOURS), _all(_DOM), _all(_MONTHS), _all(_DOW)),
    }
    bits = sched.get(spec)
    if bits is not None:
        return SpecSchedule(*bits, location=location, midnight_fix=v3)
    every = "@every "
    if spec.startswith(every):
        try:
            duration = parse_go_duration(spec[len(every) :])
        except ValueError as exc:
            raise _RobfigError(f"Failed to parse duration {spec}: {exc}") from None
        return ConstantDelaySchedule.every(duration)
    raise _RobfigError(f"Unrecognized descriptor: {spec}")


def _build(fields: list[str], v3: bool, location: tzinfo | _LocalSentinel) -> SpecSchedule:
    sec, minute, hour, dom, month, dow = (
        _get_field(f, b, v3) for f, b in zip(fields, _FIELD_BOUNDS, strict=True)
    )
    return SpecSchedule(sec, minute, hour, dom, month, dow, location=location, midnight_fix=v3)


def _parse_v1(spec: str) -> Schedule:
    if not spec:
        raise _RobfigError("Empty spec string")
    if spec[0] == "@":
        return _descriptor(spec, False, LOCAL)
    fields = _go_fields(spec)
    if not 5 <= len(fields) <= 6:
        raise _RobfigError(f"Expected 5 to 6 fields, found {len(fields)}: {spec}")
    if len(fields) == 5:
        fields.append("*")
    return _build(fields, False, LOCAL)


def _parse_v3(spec: str) -> Schedule:
    if not spec:
        raise _RobfigError("Empty spec string")
    location: tzinfo | _LocalSentinel = LOCAL
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space = spec.find(" ")
        eq = spec.find("=")
        if space < 0:
            raise CronSpecError(
                f"a TZ=/CRON_TZ= prefix must be followed by a space and the schedule: {spec!r} "
                "(robfig/cron v3 panics with 'slice bounds out of range' on it)",
                go_message="panic: slice bounds out of range",
            )
        name = spec[eq + 1 : space]
        try:
            location = load_location(name)
        except ValueError as exc:
            raise _RobfigError(f"Provided bad location {name}: {exc}") from None
        spec = _go_trim_space(spec[space:])
    if spec.startswith("@"):
        return _descriptor(spec, True, location)
    fields = _go_fields(spec)
    if not 5 <= len(fields) <= 6:
        raise _RobfigError(f"Expected 5 to 6 fields, found {len(fields)}: [{' '.join(fields)}]")
    if len(fields) == 5:
        fields.insert(0, "0")
    return _build(fields, True, location)


def parse(spec: str, dialect: Dialect = "v0.5.1") -> Schedule:
    """Parse ``spec`` as gocraft/work ``dialect`` does; :class:`CronSpecError` if Go rejects it."""
    if dialect == "v0.5.1":
        parser, hint = _parse_v1, _V1_HINT
    elif dialect == "master":
        parser, hint = _parse_v3, _V3_HINT
    else:
        raise ValueError(f"unknown cron dialect {dialect!r} (expected 'v0.5.1' or 'master')")
    try:
        return parser(spec)
    except _RobfigError as exc:
        go_message = str(exc)
        if dialect == "master":  # v3 words its errors in lower case
            go_message = go_message[:1].lower() + go_message[1:]
        raise CronSpecError(f"{go_message} ({hint})", go_message=go_message) from None
