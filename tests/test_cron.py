"""Hand-written vectors for gowork_compat.cron (robfig/cron v1.2.0 and v3 semantics)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from gowork_compat.cron import (
    ConstantDelaySchedule,
    CronSpecError,
    Dialect,
    Schedule,
    SpecSchedule,
    go_local_zone,
    next_after_epoch,
    parse,
    parse_go_duration,
)

UTC = timezone.utc
NY = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC)


def run(spec: str, start: datetime, n: int, dialect: Dialect = "v0.5.1") -> list[datetime]:
    sched = parse(spec, dialect)
    out: list[datetime] = []
    t: datetime | None = start
    for _ in range(n):
        assert t is not None
        t = sched.next(t)
        if t is None:
            break
        out.append(t)
    return out


# -- v0.5.1: seconds first ------------------------------------------------------------------


def test_seconds_field_comes_first() -> None:
    assert run("0 30 * * * *", utc(2023, 11, 14, 22, 13, 20), 2) == [
        utc(2023, 11, 14, 22, 30),
        utc(2023, 11, 14, 23, 30),
    ]
    assert run("*/15 * * * * *", utc(2024, 1, 1, 12, 0, 7), 3) == [
        utc(2024, 1, 1, 12, 0, 15),
        utc(2024, 1, 1, 12, 0, 30),
        utc(2024, 1, 1, 12, 0, 45),
    ]


def test_five_fields_differ_between_dialects() -> None:
    start = utc(2024, 1, 1, 12, 0, 1)
    # v0.5.1: sec min hour dom month (no day of week) -> every 5 seconds
    assert run("*/5 * * * *", start, 2) == [utc(2024, 1, 1, 12, 0, 5), utc(2024, 1, 1, 12, 0, 10)]
    # master: a standard crontab line -> every 5 minutes
    assert run("*/5 * * * *", start, 2, "master") == [utc(2024, 1, 1, 12, 5), utc(2024, 1, 1, 12, 10)]
    # "0 9 * * 1-5": weekdays at 09:00 in master, but :09:00 of every hour Jan-May in v0.5.1
    assert run("0 9 * * 1-5", utc(2024, 6, 1), 2, "master") == [utc(2024, 6, 3, 9), utc(2024, 6, 4, 9)]
    assert run("0 9 * * 1-5", utc(2024, 6, 1), 2) == [utc(2025, 1, 1, 0, 9), utc(2025, 1, 1, 1, 9)]
    # six fields mean the same in both
    assert run("0 0 9 * * 1-5", utc(2024, 6, 1), 1) == run("0 0 9 * * 1-5", utc(2024, 6, 1), 1, "master")


def test_ranges_steps_and_lists() -> None:
    # Saturday 2024-06-01
    assert run("0 0 9-17/4 * * MON-FRI", utc(2024, 6, 1, 10), 4) == [
        utc(2024, 6, 3, 9),
        utc(2024, 6, 3, 13),
        utc(2024, 6, 3, 17),
        utc(2024, 6, 4, 9),
    ]
    # "N/step" means N-max/step
    assert run("50/4 * * * * *", utc(2024, 1, 1), 4) == [
        utc(2024, 1, 1, 0, 0, 50),
        utc(2024, 1, 1, 0, 0, 54),
        utc(2024, 1, 1, 0, 0, 58),
        utc(2024, 1, 1, 0, 1, 50),
    ]
    assert run("1,2,,5-6 0 0 1 1 *", utc(2024, 6, 1), 5) == [
        utc(2025, 1, 1, 0, 0, 1),
        utc(2025, 1, 1, 0, 0, 2),
        utc(2025, 1, 1, 0, 0, 5),
        utc(2025, 1, 1, 0, 0, 6),
        utc(2026, 1, 1, 0, 0, 1),
    ]
    # a sign and leading zeros are fine for strconv.Atoi
    assert run("+0 007 * * * *", utc(2024, 1, 1), 1) == [utc(2024, 1, 1, 0, 7)]


def test_names_are_case_insensitive() -> None:
    assert run("0 0 12 1 JAN,jul *", utc(2024, 2, 1), 2) == [utc(2024, 7, 1, 12), utc(2025, 1, 1, 12)]
    assert run("0 0 0 * * sun", utc(2024, 5, 1), 1) == [utc(2024, 5, 5)]
    assert run("0 0 0 * Feb-Mar Sat", utc(2024, 3, 25), 2) == [utc(2024, 3, 30), utc(2025, 2, 1)]
    assert run("0 0 0 ? * ?", utc(2024, 3, 25, 5), 1) == [utc(2024, 3, 26)]


def test_descriptors() -> None:
    start = utc(2024, 3, 10, 12, 34, 56)  # a Sunday
    assert run("@yearly", start, 1) == [utc(2025, 1, 1)]
    assert run("@annually", start, 1) == [utc(2025, 1, 1)]
    assert run("@monthly", start, 1) == [utc(2024, 4, 1)]
    assert run("@weekly", start, 2) == [utc(2024, 3, 17), utc(2024, 3, 24)]
    assert run("@daily", start, 1) == [utc(2024, 3, 11)]
    assert run("@midnight", start, 1) == [utc(2024, 3, 11)]
    assert run("@hourly", start, 2) == [utc(2024, 3, 10, 13), utc(2024, 3, 10, 14)]
    for dialect in ("v0.5.1", "master"):
        assert run("@daily", start, 1, dialect) == [utc(2024, 3, 11)]


def test_every() -> None:
    start = utc(2024, 1, 1, 12, 0, 0) + timedelta(microseconds=500_000)
    assert run("@every 1m30s", start, 2) == [utc(2024, 1, 1, 12, 1, 30), utc(2024, 1, 1, 12, 3)]
    assert parse("@every 1.9s") == ConstantDelaySchedule(1)  # truncated to seconds
    assert parse("@every 500ms") == ConstantDelaySchedule(1)  # at least a second
    assert parse("@every -5m") == ConstantDelaySchedule(1)
    assert parse("@every 0") == ConstantDelaySchedule(1)
    assert parse("@every 1h", "master") == ConstantDelaySchedule(3600)
    assert next_after_epoch(parse("@every 90s"), 1_700_000_000, "UTC") == 1_700_000_090


def test_go_durations() -> None:
    s = 1_000_000_000
    assert parse_go_duration("1h30m") == 5400 * s
    assert parse_go_duration("1.5h") == 5400 * s
    assert parse_go_duration("-1m") == -60 * s
    assert parse_go_duration("+2s300ms") == 2300 * s // 1000
    assert parse_go_duration("1µs") == parse_go_duration("1μs") == parse_go_duration("1us") == 1000
    assert parse_go_duration(".5s") == parse_go_duration("0.5s") == s // 2
    assert parse_go_duration("1.s") == s
    assert parse_go_duration("0") == parse_go_duration("-0") == 0
    for bad in ("", "1", "s", ".s", "1x", "1h 2m", "1 h", "9999999999h", "1e3s"):
        with pytest.raises(ValueError, match=r'^time: (invalid|missing unit in|unknown unit "[^"]*" in) duration "'):
            parse_go_duration(bad)


def test_dom_dow_star_rule() -> None:
    # neither field starred: day of month OR day of week
    start = utc(2024, 9, 1)  # a Sunday
    assert run("0 0 0 13 * FRI", start, 7) == [
        utc(2024, 9, 6),
        utc(2024, 9, 13),
        utc(2024, 9, 20),
        utc(2024, 9, 27),
        utc(2024, 10, 4),
        utc(2024, 10, 11),
        utc(2024, 10, 13),
    ]
    # one field starred: both must match
    assert run("0 0 0 * * FRI", start, 2) == [utc(2024, 9, 6), utc(2024, 9, 13)]
    assert run("0 0 0 13 * ?", start, 2) == [utc(2024, 9, 13), utc(2024, 10, 13)]
    # "*/2" keeps the star bit in v1.2.0 (AND: odd days that are Fridays) but not in v3 (OR)
    assert run("0 0 0 */2 * FRI", start, 2) == [utc(2024, 9, 13), utc(2024, 9, 27)]
    assert run("0 0 0 */2 * FRI", start, 3, "master") == [utc(2024, 9, 3), utc(2024, 9, 5), utc(2024, 9, 6)]
    # "*/1" keeps it in both
    assert run("0 0 0 */1 * FRI", start, 1, "master") == [utc(2024, 9, 6)]


def test_feb_29_and_the_five_year_limit() -> None:
    assert run("0 0 0 29 2 *", utc(2023, 11, 14), 3) == [utc(2024, 2, 29), utc(2028, 2, 29), utc(2032, 2, 29)]
    assert run("0 0 0 29 2 *", utc(2024, 3, 1), 1) == [utc(2028, 2, 29)]
    # 2100 is no leap year: the next Feb 29 (2104) is beyond robfig's five years
    assert run("0 0 0 29 2 *", utc(2097, 3, 1), 1) == []
    assert run("0 0 0 30 2 *", utc(2023, 1, 1), 1) == []
    assert run("0 0 0 31 4,6,9,11 *", utc(2023, 1, 1), 1) == []


def test_fields_without_values_never_fire() -> None:
    start = utc(2024, 1, 1)
    for spec in (", * * * * *", "0 , * * * *", "0 0 , * * *", "0 0 0 * , *", "0 0 0 , * *", "0 0 0 * * ,,"):
        assert run(spec, start, 1) == [], spec
    # an empty day of month with a real, unstarred day of week: the OR rule still fires
    assert run("0 0 0 , * MON", start, 2) == [utc(2024, 1, 8), utc(2024, 1, 15)]


def test_next_is_strictly_after_and_drops_sub_seconds() -> None:
    sched = parse("* * * * * *")
    t = utc(2024, 1, 1, 0, 0, 0)
    assert sched.next(t) == utc(2024, 1, 1, 0, 0, 1)
    assert sched.next(t + timedelta(microseconds=999_999)) == utc(2024, 1, 1, 0, 0, 1)
    assert sched.next(t - timedelta(microseconds=1)) == t


# -- time zones -----------------------------------------------------------------------------


def test_result_keeps_the_zone_of_the_argument() -> None:
    start = datetime(2024, 6, 1, 8, tzinfo=NY)
    (nxt,) = run("0 0 9 * * *", start, 1)
    assert nxt.tzinfo is NY
    assert nxt == datetime(2024, 6, 1, 9, tzinfo=NY)
    # the same instant in UTC (12:00) has 09:00 behind it: Next works in the argument's zone
    assert run("0 0 9 * * *", start.astimezone(UTC), 1) == [utc(2024, 6, 2, 9)]
    fixed = timezone(timedelta(hours=5, minutes=45))
    assert run("0 0 0 * * *", datetime(2024, 6, 1, 12, tzinfo=fixed), 1) == [
        datetime(2024, 6, 2, tzinfo=fixed)
    ]


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^cron: pass an aware datetime"):
        parse("@daily").next(datetime(2024, 1, 1))


def test_dst_spring_forward_skips_the_missing_hour() -> None:
    # 2024-03-10 02:00 EST -> 03:00 EDT: 02:30 does not exist that day and is skipped
    got = run("0 30 2 * * *", datetime(2024, 3, 9, 0, tzinfo=NY), 3)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2024, 3, 9, 7, 30),  # 02:30 EST
        utc(2024, 3, 11, 6, 30),  # 02:30 EDT
        utc(2024, 3, 12, 6, 30),
    ]
    # hourly keeps ticking on absolute hours across the gap
    got = run("0 0 * * * *", datetime(2024, 3, 10, 0, 30, tzinfo=NY), 3)
    assert [g.astimezone(UTC) for g in got] == [utc(2024, 3, 10, 6), utc(2024, 3, 10, 7), utc(2024, 3, 10, 8)]


def test_dst_fall_back_fires_twice_in_the_repeated_hour() -> None:
    # 2024-11-03 02:00 EDT -> 01:00 EST: robfig fires at both 01:30s
    got = run("0 30 1 * * *", datetime(2024, 11, 2, 18, tzinfo=NY), 4)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2024, 11, 3, 5, 30),  # 01:30 EDT
        utc(2024, 11, 3, 6, 30),  # 01:30 EST
        utc(2024, 11, 4, 6, 30),
        utc(2024, 11, 5, 6, 30),
    ]
    assert [g.fold for g in got[:2]] == [0, 1]


def test_missing_midnight_sao_paulo_2018() -> None:
    # 2018-11-04 00:00 -03 -> 01:00 -02: that day has no midnight
    sp = ZoneInfo("America/Sao_Paulo")
    for dialect in ("v0.5.1", "master"):
        got = run("0 0 0 * * *", datetime(2018, 11, 2, 20, tzinfo=sp), 3, dialect)
        assert [g.astimezone(UTC) for g in got] == [
            utc(2018, 11, 3, 3),  # 11-03 00:00 -03
            utc(2018, 11, 5, 2),  # 11-05 00:00 -02 (11-04 skipped)
            utc(2018, 11, 6, 2),
        ]


def test_lord_howe_half_hour_shift() -> None:
    # 2023-10-01 02:00 +10:30 -> 02:30 +11: 02:15 does not exist that day and is skipped
    got = run("0 15 2 * * *", datetime(2023, 9, 30, 12, tzinfo=LORD_HOWE), 3)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2023, 10, 1, 15, 15),  # 10-02 02:15 +11
        utc(2023, 10, 2, 15, 15),
        utc(2023, 10, 3, 15, 15),
    ]
    # 2024-04-07 02:00 +11 -> 01:30 +10:30: 01:45 happens twice and fires twice
    got = run("0 45 1 * * *", datetime(2024, 4, 6, 12, tzinfo=LORD_HOWE), 3)
    assert [g.astimezone(UTC) for g in got] == [
        utc(2024, 4, 6, 14, 45),  # 04-07 01:45 +11
        utc(2024, 4, 6, 15, 15),  # 04-07 01:45 +10:30
        utc(2024, 4, 7, 15, 15),
    ]


def test_master_time_zone_prefix() -> None:
    start = utc(2023, 11, 14, 22, 13, 20)
    for prefix in ("TZ=Asia/Kolkata ", "CRON_TZ=Asia/Kolkata   "):
        got = run(prefix + "0 9 * * *", start, 2, "master")
        assert got == [utc(2023, 11, 15, 3, 30), utc(2023, 11, 16, 3, 30)]
        assert got[0].tzinfo is UTC  # converted back to the argument's zone
    assert run("TZ= 0 9 * * *", datetime(2024, 1, 1, tzinfo=NY), 1, "master") == [utc(2024, 1, 1, 9)]
    # "Local" means the argument's zone
    assert run("TZ=Local 0 9 * * *", datetime(2024, 1, 1, tzinfo=NY), 1, "master") == [
        datetime(2024, 1, 1, 9, tzinfo=NY)
    ]
    assert run("CRON_TZ=Asia/Kolkata @daily", start, 1, "master") == [utc(2023, 11, 15, 18, 30)]
    sched = parse("TZ=Asia/Kolkata 0 9 * * *", "master")
    assert isinstance(sched, SpecSchedule) and sched.location is ZoneInfo("Asia/Kolkata")
    # v0.5.1 knows no prefix: "TZ=..." is read as the seconds field
    with pytest.raises(CronSpecError, match=r'^Failed to parse int from TZ=Asia: strconv\.Atoi: parsing "TZ=Asia"'):
        parse("TZ=Asia/Kolkata 0 9 * * *")


def test_next_after_epoch() -> None:
    sched = parse("0 0 9 * * *")
    epoch = 1_700_000_000  # 2023-11-14 22:13:20 UTC
    assert next_after_epoch(sched, epoch, "UTC") == 1_700_038_800
    assert next_after_epoch(sched, epoch, NY) == 1_700_056_800  # 09:00 EST
    assert next_after_epoch(parse("0 0 0 30 2 *"), epoch, UTC) is None


# -- invalid specs --------------------------------------------------------------------------

INVALID_BOTH = [
    "",
    "* * * *",
    "* * * * * * *",
    "60 * * * * *",
    "* * 24 * * *",
    "0 0 0 0 * *",
    "0 0 0 32 * *",
    "0 0 0 * 13 *",
    "0 0 0 * 0 *",
    "0 0 0 * * 7",
    "*/0 * * * * *",
    "1-2-3 * * * * *",
    "1/2/3 * * * * *",
    "5-1 * * * * *",
    "-1 * * * * *",
    "1- * * * * *",
    "a * * * * *",
    "*/-1 * * * * *",
    "1.5 * * * * *",
    "0 0 0 L * *",
    "0 0 0 * * MON#2",
    "0 0 0 * JANUARY *",
    "0 0 0 jan * *",
    "99999999999999999999 * * * * *",
    "@reboot",
    "@Daily",
    "@daily ",
    "@every",
    "@every ",
    "@every 1x",
    "@every 1",
    " @daily",
]


@pytest.mark.parametrize("dialect", ["v0.5.1", "master"])
@pytest.mark.parametrize("spec", INVALID_BOTH)
def test_invalid_specs(spec: str, dialect: Dialect) -> None:
    with pytest.raises(CronSpecError, match=r"\S"):  # any message: the exact texts are compared with robfig/cron
        parse(spec, dialect)


@pytest.mark.parametrize(
    "spec",
    [
        "TZ=No/Where * * * * *",
        "TZ=../etc/passwd * * * * *",
        "TZ=UTC",  # robfig v3 panics on a prefix without a space
        "CRON_TZ=UTC\t* * * * *",
        "TZ=UTC * * *",
    ],
)
def test_invalid_master_only(spec: str) -> None:
    with pytest.raises(CronSpecError, match=r"\S"):  # any message: the exact texts are compared with robfig/cron
        parse(spec, "master")


def test_error_messages() -> None:
    with pytest.raises(CronSpecError, match=r"^End of range \(60\) above maximum \(59\): 60") as v1:
        parse("60 * * * * *")
    assert v1.value.go_message == "End of range (60) above maximum (59): 60"
    assert "seconds" in str(v1.value)
    assert isinstance(v1.value, ValueError)
    with pytest.raises(CronSpecError, match=r"^expected 5 to 6 fields, found 4") as v3:
        parse("* * * *", "master")
    assert v3.value.go_message == "expected 5 to 6 fields, found 4: [* * * *]"
    with pytest.raises(CronSpecError, match=r"^Expected 5 to 6 fields, found 4") as v1count:
        parse("* * * *")
    assert v1count.value.go_message == "Expected 5 to 6 fields, found 4: * * * *"
    with pytest.raises(CronSpecError, match=r"^Failed to parse duration @every 1x") as dur:
        parse("@every 1x")
    assert dur.value.go_message == (
        'Failed to parse duration @every 1x: time: unknown unit "x" in duration "1x"'
    )
    with pytest.raises(CronSpecError, match=r"^Failed to parse int from x") as atoi:
        parse("x * * * * *")
    assert atoi.value.go_message == 'Failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'
    with pytest.raises(ValueError, match=r"^unknown cron dialect 'v2'"):
        parse("* * * * *", "v2")  # type: ignore[arg-type]


def test_schedule_types() -> None:
    assert isinstance(parse("@every 1m"), ConstantDelaySchedule)
    s = parse("0 0 0 * * *")
    assert isinstance(s, SpecSchedule) and isinstance(s, Schedule)
    assert s.second == 1 and s.hour == 1 and s.dom >> 63 == 1


def test_go_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "America/New_York")
    assert go_local_zone() is NY
    monkeypatch.setenv("TZ", ":America/New_York")
    assert go_local_zone() is NY
    monkeypatch.setenv("TZ", "")
    assert go_local_zone() is UTC
    monkeypatch.setenv("TZ", "No/Where")
    assert go_local_zone() is UTC
    monkeypatch.setenv("TZ", "/usr/share/zoneinfo/Asia/Kolkata")
    zone = go_local_zone()
    assert datetime(2024, 1, 1, tzinfo=zone).utcoffset() == timedelta(hours=5, minutes=30)
    monkeypatch.delenv("TZ")
    assert datetime(2024, 1, 1, tzinfo=go_local_zone()).utcoffset() is not None
