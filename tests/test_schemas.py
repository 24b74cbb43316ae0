"""The schemas in spec/ accept what Go, gowork-compat and Redis cjson write, and reject
malformed documents."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from gowork_compat.job import Job
from tests.schemas import validate

ENQUEUED = {"name": "mail", "id": "0123456789abcdef01234567", "t": 1700000000, "args": {"to": "a@b"}}
RETRIED = {**ENQUEUED, "fails": 2, "err": "boom", "failed_at": 1700000100}
PERIODIC = {"name": "cron", "id": "periodic:cron:0 * * * * *:1700000040", "t": 1700000040, "args": None}
UNIQUE = {**ENQUEUED, "unique": True}
UNIQUE_MASTER = {**UNIQUE, "unique_key": 'ns:unique:mail:{"to":"a@b"}\n'}


@pytest.mark.parametrize("doc", [ENQUEUED, RETRIED, PERIODIC, UNIQUE, UNIQUE_MASTER])
def test_accepts_go_shaped_jobs(doc: dict[str, Any]) -> None:
    validate("job", doc)


def test_definitions() -> None:
    validate("job", ENQUEUED, "enqueued")
    validate("job", RETRIED, "failed")
    validate("job", PERIODIC, "periodic")
    with pytest.raises(AssertionError):
        validate("job", RETRIED, "enqueued")
    with pytest.raises(AssertionError):
        validate("job", ENQUEUED, "failed")
    with pytest.raises(AssertionError):
        validate("job", ENQUEUED, "periodic")


@pytest.mark.parametrize("bad", [
    {**ENQUEUED, "t": "1700000000"},
    {k: v for k, v in ENQUEUED.items() if k != "id"},
    {**ENQUEUED, "args": [1, 2]},
    {**ENQUEUED, "fails": 0},
    {**ENQUEUED, "unique": False},
    {**ENQUEUED, "t": 1.5},
    {**ENQUEUED, "surprise": 1},
    {**ENQUEUED, "unique_key": "k"},
])
def test_rejects_malformed_jobs(bad: dict[str, Any]) -> None:
    with pytest.raises(AssertionError):
        validate("job", bad)


def test_accepts_our_encoder_and_cjson_reencoding(r: redis.Redis) -> None:
    job = Job(name="a/b", id="0123456789abcdef01234567", enqueued_at=1700000000,
              args={"empty": [], "big": 12345678901234567, "f": 0.1, "s": "</>"}, fails=1, last_err="x",
              failed_at=1700000001)
    ours = json.loads(job.encode())
    validate("job", ours, "failed")
    again = r.eval("return cjson.encode(cjson.decode(ARGV[1]))", 0, job.encode())  # type: ignore[no-untyped-call]
    assert b"\\/" in again  # cjson escapes '/', and changes numbers and empty arrays
    redone = json.loads(again)
    assert redone["args"]["empty"] == {} and redone["args"]["big"] != 12345678901234567
    validate("job", redone, "failed")


def test_heartbeat_and_observation_hashes() -> None:
    beat = {"heartbeat_at": "1700000000", "started_at": "1699999990", "job_names": "a,b", "concurrency": "10",
            "worker_ids": "0123456789abcdef01234567,1123456789abcdef01234567", "host": "h", "pid": "42"}
    validate("heartbeat", beat)
    with pytest.raises(AssertionError):
        validate("heartbeat", {**beat, "worker_ids": "x,y"})
    with pytest.raises(AssertionError):
        validate("heartbeat", {k: v for k, v in beat.items() if k != "pid"})
    obs = {"job_name": "a", "job_id": "i", "started_at": "1700000000", "args": '{"x":1}'}
    validate("observation", obs)
    validate("observation", {**obs, "args": "", "checkin": "half", "checkin_at": "1700000001"})
    with pytest.raises(AssertionError):
        validate("observation", {**obs, "checkin": "half"})
    with pytest.raises(AssertionError):
        validate("observation", {**obs, "args": "[1]"})
    validate("lock_info", {"0123456789abcdef01234567": "0", "p2": "-1"})
    with pytest.raises(AssertionError):
        validate("lock_info", {"p": "one"})
