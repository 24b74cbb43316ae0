"""gowork_compat.cron against the real robfig/cron parsers (go-harness/cronref).

Random specs of both dialects (mostly valid, some invalid), random start times (many of
them next to DST transitions) and zones; Python's n successive Next results must equal
Go's, and both sides must agree on which specs are invalid.

GOWORK_HYPOTHESIS_EXAMPLES sets the examples per property (default 500).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gowork_compat.cron import CronSpecError, Dialect, next_after_epoch, parse

pytestmark = pytest.mark.interop

HARNESS_DIR = Path(__file__).resolve().parents[2] / "go-harness"
EXAMPLES = int(os.environ.get("GOWORK_HYPOTHESIS_EXAMPLES", "500"))
ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
PROPERTY_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class CronRef:
    """A long-running cronref process: one JSON line in, one JSON line out."""

    def __init__(self, exe: Path) -> None:
        self.proc = subprocess.Popen(
            [str(exe)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )

    def ask(self, cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """All cases in one write, then their answers in order."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("".join(json.dumps(c, ensure_ascii=True) + "\n" for c in cases))
        self.proc.stdin.flush()
        return [json.loads(self.proc.stdout.readline()) for _ in cases]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture(scope="session")
def cronref(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CronRef]:
    go = shutil.which("go")
    if go is None:
        pytest.skip("the Go toolchain is not installed")
    exe = tmp_path_factory.mktemp("cronref") / "cronref"
    subprocess.run([go, "build", "-o", str(exe), "./cronref"], cwd=HARNESS_DIR, check=True, timeout=300)
    ref = CronRef(exe)
    yield ref
    ref.close()


def python_answer(case: dict[str, Any]) -> dict[str, Any]:
    dialect: Dialect = case["dialect"]
    try:
        sched = parse(case["spec"], dialect)
    except CronSpecError as exc:
        return {"error": exc.go_message}
    out: list[int] = []
    t: int | None = case["from"]
    for _ in range(case["count"]):
        assert t is not None
        t = next_after_epoch(sched, t, case["tz"])
        if t is None:
            break
        out.append(t)
    return {"next": out}


def same_error(go: str, py: str) -> bool:
    """robfig's wording, except where Go's zone-file lookup or a Go panic speaks."""
    if "provided bad location" in go or go.startswith("panic:"):
        return True
    return go == py


def compare(cronref: CronRef, cases: list[dict[str, Any]]) -> None:
    for case, go in zip(cases, cronref.ask(cases), strict=True):
        py = python_answer(case)
        if "error" in go or "error" in py:
            assert ("error" in go) == ("error" in py), (case, go, py)
            assert same_error(go["error"], py["error"]), (case, go, py)
        else:
            assert py == go, case


# -- start times ---------------------------------------------------------------------------


def _transitions(zone: str) -> list[int]:
    """Offset changes of ``zone`` in 2016-2030 (found day by day, then bisected)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)

    def off(u: int) -> Any:
        return datetime.fromtimestamp(u, tz).utcoffset()

    out: list[int] = []
    day = 86400
    u = 1451606400  # 2016-01-01
    while u < 1893456000:  # 2030-01-01
        if off(u) != off(u + day):
            lo, hi = u, u + day
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if off(mid) == off(lo):
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
        u += day
    return out


TRANSITIONS = sorted({t for z in ZONES for t in _transitions(z)})

starts = st.one_of(
    st.integers(min_value=0, max_value=4_102_444_800),  # 1970 .. 2100
    st.builds(
        lambda t, d: t + d,
        st.sampled_from(TRANSITIONS),
        st.integers(min_value=-3 * 86400, max_value=3 * 86400),
    ),
    st.builds(
        lambda t, d: t + d,
        st.sampled_from(TRANSITIONS),
        st.integers(min_value=-7200, max_value=7200),
    ),
)

# -- specs ---------------------------------------------------------------------------------

MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()

# (lo, hi, names); hours are biased towards the DST-relevant early morning
BOUNDS: list[tuple[int, int, list[str] | None]] = [
    (0, 59, None),
    (0, 59, None),
    (0, 23, None),
    (1, 31, None),
    (1, 12, MONTHS),
    (0, 6, DAYS),
]


def rarely(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in ``one_in`` draws."""
    return draw(st.integers(0, 999)) < 1000 // one_in


def _case_mix(draw: st.DrawFn, word: str) -> str:
    return "".join(c.upper() if draw(st.booleans()) else c for c in word)


@st.composite
def value(draw: st.DrawFn, lo: int, hi: int, names: list[str] | None) -> str:
    n = draw(st.integers(lo, hi))
    if names is not None and draw(st.booleans()):
        return _case_mix(draw, names[n - lo])
    if rarely(draw, 15):  # Atoi accepts a sign and leading zeros
        return draw(st.sampled_from(["0", "+", "00", "+0"])) + str(n)
    return str(n)


@st.composite
def valid_range(draw: st.DrawFn, index: int) -> str:
    lo, hi, names = BOUNDS[index]
    kind = draw(st.integers(0, 9))
    if index == 2 and kind < 3:
        return str(draw(st.integers(0, 3)))
    if kind == 0:
        return draw(st.sampled_from(["*", "?"]))
    if kind == 1:
        return f"{draw(st.sampled_from(['*', '?']))}/{draw(st.integers(1, hi + 2))}"
    if kind in (2, 3, 4):
        return draw(value(lo, hi, names))
    a = draw(st.integers(lo, hi))
    b = draw(st.integers(a, hi))
    a_text = _case_mix(draw, names[a - lo]) if names and draw(st.booleans()) else str(a)
    b_text = _case_mix(draw, names[b - lo]) if names and draw(st.booleans()) else str(b)
    if kind == 5:
        return f"{a_text}/{draw(st.integers(1, hi + 2))}"
    if kind in (6, 7):
        return f"{a_text}-{b_text}"
    return f"{a_text}-{b_text}/{draw(st.integers(1, hi + 2))}"


INVALID_RANGES = [
    "60",
    "-1",
    "1-",
    "-",
    "x",
    "1-2-3",
    "1/2/3",
    "*/0",
    "5-1",
    "*/-1",
    "/5",
    "1.5",
    "L",
    "99999999999999999999",
    "3/x",
    "jan-3",
    "mon",
    "Janu",
    "7",
    "0",
    "32",
    "13",
    "24",
]


@st.composite
def field_text(draw: st.DrawFn, index: int, allow_empty: bool) -> str:
    parts = draw(st.lists(valid_range(index), min_size=1, max_size=3))
    if allow_empty and rarely(draw, 40):
        return draw(st.sampled_from([",", ",,"]))
    if rarely(draw, 25):
        parts.insert(draw(st.integers(0, len(parts))), "")  # empty piece: "1,,2"
    return ",".join(parts)


@st.composite
def field_spec(draw: st.DrawFn, dialect: Dialect) -> str:
    n = draw(st.sampled_from([5, 6, 6] if dialect == "v0.5.1" else [5, 5, 6]))
    # positions of the fields within (sec, min, hour, dom, month, dow)
    first = 1 if (dialect == "master" and n == 5) else 0
    indices = list(range(first, first + n))
    fields = [
        # an empty seconds (minutes) field makes Go walk five years second (minute) by
        # second: seconds (a tenth of a second) of CPU; fixed vectors cover those
        draw(field_text(i, allow_empty=i >= 2))
        for i in indices
    ]
    if rarely(draw, 30):  # a sprinkle of invalid fields
        k = draw(st.integers(0, n - 1))
        fields[k] = draw(st.sampled_from(INVALID_RANGES))
    if rarely(draw, 200):  # wrong field count
        fields = fields[:4] if draw(st.booleans()) else [*fields, "*", "*"][:7]
    seps = [draw(st.sampled_from([" ", " ", " ", "  ", "\t"])) for _ in fields]
    spec = "".join(f + s for f, s in zip(fields, seps, strict=True)).rstrip(" \t")
    if dialect == "master" and rarely(draw, 5):
        prefix = draw(st.sampled_from(["TZ=", "CRON_TZ="]))
        zone = draw(st.sampled_from([*ZONES, "Local", "", "Europe/Berlin", "No/Where", "../etc"]))
        spec = f"{prefix}{zone} {spec}"
    return spec


durations = st.one_of(
    st.builds(
        lambda parts: "".join(parts),
        st.lists(
            st.builds(
                lambda n, frac, unit: f"{n}{frac}{unit}",
                st.integers(0, 200),
                st.sampled_from(["", "", ".5", ".25", ".", ".999"]),
                st.sampled_from(["h", "m", "s", "ms", "us", "µs", "ns"]),
            ),
            min_size=1,
            max_size=3,
        ),
    ),
    st.sampled_from(["0", "-1m", "+90s", "1", "1x", "", "m", ".s", "1.5.5s", "9999999999h", "1h 2m"]),
)

DESCRIPTORS = ["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]


@st.composite
def descriptor_spec(draw: st.DrawFn, dialect: Dialect) -> str:
    if draw(st.booleans()):
        spec = "@every " + draw(durations)
    else:
        spec = draw(st.sampled_from([*DESCRIPTORS, "@Daily", "@daily ", "@", "@reboot", "@every"]))
    if dialect == "master" and rarely(draw, 3):
        spec = f"CRON_TZ={draw(st.sampled_from(ZONES))}  {spec}"
    return spec


@st.composite
def cron_case(draw: st.DrawFn, spec_strategy: Any) -> dict[str, Any]:
    dialect: Dialect = draw(st.sampled_from(["v0.5.1", "master"]))
    return {
        "spec": draw(spec_strategy(dialect)),
        "dialect": dialect,
        "from": draw(starts),
        "tz": draw(st.sampled_from(ZONES)),
        "count": draw(st.integers(1, 6)),
    }


# -- properties ------------------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(cases=st.lists(cron_case(field_spec), min_size=1, max_size=8))
def test_field_specs_match_robfig(cronref: CronRef, cases: list[dict[str, Any]]) -> None:
    compare(cronref, cases)


@PROPERTY_SETTINGS
@given(cases=st.lists(cron_case(descriptor_spec), min_size=1, max_size=8))
def test_descriptors_match_robfig(cronref: CronRef, cases: list[dict[str, Any]]) -> None:
    compare(cronref, cases)


garbage = st.text(alphabet="0123456789*?/-,@ \tjanMONfriSUNdec=TZCRO_Lx.+\u00a0\u2003\x1cİµhms", max_size=30)


@PROPERTY_SETTINGS
@given(specs=st.lists(st.tuples(garbage, st.sampled_from(["v0.5.1", "master"])), min_size=1, max_size=8))
def test_validity_of_arbitrary_text_agrees(cronref: CronRef, specs: list[tuple[str, Dialect]]) -> None:
    # count 0: only the parsers run (an empty seconds field would make Go search for seconds)
    cases = [{"spec": s, "dialect": d, "from": 0, "tz": "UTC", "count": 0} for s, d in specs]
    for case, go in zip(cases, cronref.ask(cases), strict=True):
        py = python_answer(case)
        assert ("error" in go) == ("error" in py), (case, go, py)
        if "error" in go:
            assert same_error(go["error"], py["error"]), (case, go, py)


def test_error_messages_match_robfig(cronref: CronRef) -> None:
    specs: list[tuple[str, Dialect]] = [
        ("", "v0.5.1"),
        ("", "master"),
        ("* * * *", "v0.5.1"),
        ("* * * *", "master"),
        ("60 * * * * *", "v0.5.1"),
        ("0 0 0 0 * *", "master"),
        ("5-1 * * * *", "master"),
        ("*/0 * * * * *", "v0.5.1"),
        ("1-2-3 * * * * *", "v0.5.1"),
        ("1/2/3 * * * *", "master"),
        ("x * * * * *", "v0.5.1"),
        ("*/-1 * * * * *", "v0.5.1"),
        ("@reboot", "master"),
        ("@every 1x", "v0.5.1"),
        ("@every ", "master"),
        ("TZ=No/Where * * * * *", "master"),
        ("* * * * * * *", "master"),
        ("0 0 0 * 13 *", "v0.5.1"),
    ]
    cases: list[dict[str, Any]] = [
        {"spec": s, "dialect": d, "from": 0, "tz": "UTC", "count": 0} for s, d in specs
    ]
    for case, go in zip(cases, cronref.ask(cases), strict=True):
        assert "error" in go, case
        if str(case["spec"]).startswith("TZ="):
            continue  # Go's file-lookup wording is not reproduced
        assert python_answer(case) == go, case


def test_fixed_vectors_match_robfig(cronref: CronRef) -> None:
    """Hand-picked corners: DST days, midnight gaps (Sao Paulo 2018), never-matching specs."""
    vectors = [
        ("0 30 2 * * *", "v0.5.1", 1710000000, "America/New_York"),
        ("0 30 1 * * *", "v0.5.1", 1730500000, "America/New_York"),
        ("0 0 0 * * *", "v0.5.1", 1541200000, "America/Sao_Paulo"),
        ("0 0 * * *", "master", 1541200000, "America/Sao_Paulo"),
        ("0 0 0 * * SUN", "master", 1540000000, "America/Sao_Paulo"),
        ("0 0 0 * * SUN", "v0.5.1", 1540000000, "America/Sao_Paulo"),
        ("0 0 0 30 2 *", "v0.5.1", 1700000000, "UTC"),
        ("0 , * * * *", "v0.5.1", 1700000000, "UTC"),
        ("0 0 , * * *", "master", 1700000000, "UTC"),
        ("0 0 0 , * MON", "v0.5.1", 1700000000, "UTC"),
        ("0 0 0 , * *", "v0.5.1", 1700000000, "UTC"),
        ("0 15,45 2 * * *", "v0.5.1", 1696000000, "Australia/Lord_Howe"),
        ("0 15,45 2 * * *", "v0.5.1", 1711800000, "Australia/Lord_Howe"),
        ("@daily", "master", 1711800000, "Australia/Lord_Howe"),
    ]
    cases = [{"spec": s, "dialect": d, "from": f, "tz": z, "count": 6} for s, d, f, z in vectors]
    compare(cronref, cases)
