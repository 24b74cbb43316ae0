"""The reaper's and periodic enqueuer's periods take Go's jitter: a whole number of seconds
drawn from 0..29 (gocraft/work v0.5.1: ``rand.Intn(30)`` seconds in dead_pool_reaper.go and
periodic_enqueuer.go). No timing is measured: the periods are only computed."""

from __future__ import annotations

from typing import Any

from gowork_compat.pool.background import PeriodicLoop, ReaperLoop


def _periods(loop: Any, n: int = 3000) -> set[float]:
    return {loop.period() for _ in range(n)}


def test_reaper_period_is_ten_minutes_plus_whole_seconds_0_to_29() -> None:
    seen = _periods(ReaperLoop(None, None, 600.0, 10.0))  # type: ignore[arg-type]
    assert seen == {600.0 + k for k in range(30)}


def test_shorter_reap_period_gets_proportionally_less_jitter() -> None:
    seen = _periods(ReaperLoop(None, None, 60.0, 10.0))  # type: ignore[arg-type]
    assert seen == {60.0 + k / 10 for k in range(30)}


def test_periodic_period_is_two_minutes_plus_whole_seconds_0_to_29() -> None:
    seen = _periods(PeriodicLoop(None, None))  # type: ignore[arg-type]
    assert seen == {120.0 + k for k in range(30)}
