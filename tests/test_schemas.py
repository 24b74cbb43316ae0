"""The schemas in spec/ are valid draft 2020-12, accept what Go, gowork-compat and Redis
cjson write, and reject malformed documents.

The Go samples are byte-exact json.Marshal output of work.Job (v0.5.1; the master sample
adds unique_key where master's struct puts it); the cjson samples come live from the
test redis-server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
import redis
from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]

from tests.schemas import KINDS, SPEC, schema, validate

# --- Go-written jobs (bytes as json.Marshal writes them: struct order, sorted args, HTML escaped)
GO_ENQUEUED = (b'{"name":"send_email","id":"5f1c2a9e8b7d6c5f4e3d2a1b","t":1700000000,"args":{"address":"a@example.com",'
               b'"html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e","n":3,"path":"/x","track":true}}')
GO_NIL_ARGS = b'{"name":"ping","id":"00112233445566778899aabb","t":1700000000,"args":null}'
GO_RETRIED = (b'{"name":"send_email","id":"5f1c2a9e8b7d6c5f4e3d2a1b","t":1700000000,"args":{"address":"a@example.com"},'
              b'"fails":2,"err":"smtp: 421 try later","failed_at":1700000085}')
GO_DEAD_STRAY = (b'{"name":"gone","id":"ffeeddccbbaa998877665544","t":1700000000,"args":{},'
                 b'"fails":1,"err":"stray job: no handler","failed_at":1700000003}')
GO_DEAD_PANIC = (b'{"name":"div","id":"0f0f0f0f0f0f0f0f0f0f0f0f","t":1700000000,"args":{"d":0},'
                 b'"fails":4,"err":"runtime error: integer divide by zero","failed_at":1700003000}')
GO_EMPTY_ERR = (b'{"name":"quiet","id":"0a0a0a0a0a0a0a0a0a0a0a0a","t":1700000000,"args":null,'
                b'"fails":1,"failed_at":1700000001}')
GO_PERIODIC = b'{"name":"report","id":"periodic:report:0 */5 * * * *:1700000100","t":1700000100,"args":null}'
GO_UNIQUE = b'{"name":"sync","id":"0a1b2c3d4e5f60718293a4b5","t":1700000000,"args":{"user":7},"unique":true}'
GO_UNIQUE_MASTER = (b'{"name":"sync","id":"0a1b2c3d4e5f60718293a4b5","t":1700000000,"args":{"user":7},"unique":true,'
                    b'"unique_key":"app:unique:sync:{\\"user\\":7}\\n"}')
GO_UNIQUE_NIL_MASTER = (b'{"name":"sync","id":"0a1b2c3d4e5f60718293a4b5","t":1700000000,"args":null,"unique":true,'
                        b'"unique_key":"unique:sync:"}')
# written by a requeue script for a job name no pool in KEYS knows (no fails: it never ran)
CJSON_UNKNOWN = (b'{"args":{"k":1},"name":"elsewhere","err":"unknown job when requeueing",'
                 b'"id":"abcdefabcdefabcdefabcdef","failed_at":1700000200,"t":1700000000}')

SAMPLES: list[tuple[bytes, str]] = [
    (GO_ENQUEUED, "enqueued"),
    (GO_NIL_ARGS, "enqueued"),
    (GO_RETRIED, "failed"),
    (GO_DEAD_STRAY, "failed"),
    (GO_DEAD_PANIC, "failed"),
    (GO_EMPTY_ERR, "failed"),
    (GO_PERIODIC, "periodic"),
    (GO_PERIODIC, "enqueued"),
    (GO_UNIQUE, "unique_v051"),
    (GO_UNIQUE, "enqueued"),
    (GO_UNIQUE_MASTER, "unique_master"),
    (GO_UNIQUE_NIL_MASTER, "unique_master"),
    (CJSON_UNKNOWN, "unknown_on_requeue"),
]


def load(raw: bytes) -> Any:
    return json.loads(raw)


def test_schema_files_are_valid_draft_2020_12() -> None:
    files = sorted(p.name for p in SPEC.glob("*.schema.json"))
    assert files == sorted(f"{k}.schema.json" for k in KINDS)
    for kind in KINDS:
        doc = schema(kind)
        Draft202012Validator.check_schema(doc)
        assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        assert doc["$id"] == f"https://gowork-compat.invalid/spec/{kind}.schema.json"
        assert doc["title"] and doc["description"]


@pytest.mark.parametrize(("raw", "definition"), SAMPLES)
def test_accepts_go_written_jobs(raw: bytes, definition: str) -> None:
    validate("job", load(raw))
    validate("job", load(raw), definition)


@pytest.mark.parametrize(("raw", "definition"), [
    (GO_RETRIED, "enqueued"),
    (CJSON_UNKNOWN, "enqueued"),
    (GO_ENQUEUED, "failed"),
    (CJSON_UNKNOWN, "failed"),
    (GO_RETRIED, "unknown_on_requeue"),
    (GO_ENQUEUED, "periodic"),
    (GO_UNIQUE, "periodic"),
    (GO_ENQUEUED, "unique_v051"),
    (GO_UNIQUE_MASTER, "unique_v051"),
    (GO_UNIQUE, "unique_master"),
])
def test_definitions_tell_job_states_apart(raw: bytes, definition: str) -> None:
    with pytest.raises(AssertionError, match=f"^job does not match spec/job.schema.json#/\\$defs/{definition}:"):
        validate("job", load(raw), definition)


ENQ: dict[str, Any] = load(GO_ENQUEUED)
RET: dict[str, Any] = load(GO_RETRIED)


def without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


@pytest.mark.parametrize("bad", [
    pytest.param({**ENQ, "t": "1700000000"}, id="t-string"),
    pytest.param({**ENQ, "t": 1700000000.5}, id="t-fraction"),
    pytest.param({**ENQ, "t": -1}, id="t-negative"),
    pytest.param({**ENQ, "t": 1e15}, id="t-too-big-for-cjson"),
    pytest.param(without(ENQ, "id"), id="no-id"),
    pytest.param(without(ENQ, "t"), id="no-t"),
    pytest.param(without(ENQ, "args"), id="no-args"),
    pytest.param({**ENQ, "id": 12}, id="id-number"),
    pytest.param({**ENQ, "name": ""}, id="empty-name"),
    pytest.param({**ENQ, "name": None}, id="null-name"),
    pytest.param({**ENQ, "args": [1, 2]}, id="args-array"),
    pytest.param({**ENQ, "args": "x"}, id="args-string"),
    pytest.param({**ENQ, "unique": False}, id="unique-false"),
    pytest.param({**ENQ, "unique_key": "unique:send_email:"}, id="unique_key-without-unique"),
    pytest.param({**ENQ, "unique": True, "unique_key": "send_email"}, id="unique_key-not-a-key"),
    pytest.param({**ENQ, "fails": 0, "err": "x", "failed_at": 1700000001}, id="fails-0"),
    pytest.param({**RET, "fails": 1.5}, id="fails-fraction"),
    pytest.param(without(RET, "failed_at"), id="fails-without-failed_at"),
    pytest.param({**ENQ, "err": "x"}, id="err-without-failed_at"),
    pytest.param({**ENQ, "failed_at": 1700000001}, id="failed_at-alone"),
    pytest.param({**RET, "failed_at": 0}, id="failed_at-0"),
    pytest.param({**ENQ, "surprise": 1}, id="unknown-key"),
    pytest.param({**ENQ, "Fails": 1}, id="wrong-case-key"),
    pytest.param([ENQ], id="array"),
    pytest.param("job", id="string"),
])
def test_rejects_malformed_jobs(bad: Any) -> None:
    with pytest.raises(AssertionError, match=r"^job does not match spec/job\.schema\.json"):
        validate("job", bad)


def test_error_message_names_the_field() -> None:
    with pytest.raises(AssertionError, match=r"^job does not match") as info:
        validate("job", {**ENQ, "t": "soon"})
    text = str(info.value)
    assert "spec/job.schema.json" in text and "- t:" in text and "'soon'" in text
    with pytest.raises(ValueError, match="unknown schema kind"):
        validate("jobs", ENQ)
    with pytest.raises(ValueError, match="no \\$defs/retried"):
        validate("job", ENQ, "retried")


# --- Redis cjson: what requeue scripts do to jobs, run live on the test redis-server.
# These small scripts are ours; they perform the same decode/modify/encode steps as the
# requeuer (rewrite t), the dead-job retry (drop fails/err/failed_at) and the unknown-name
# path (set err/failed_at).
ROUNDTRIP = "return cjson.encode(cjson.decode(ARGV[1]))"
REQUEUE = "local j = cjson.decode(ARGV[1]); j['t'] = tonumber(ARGV[2]); return cjson.encode(j)"
RETRY_DEAD = ("local j = cjson.decode(ARGV[1]); j['t'] = tonumber(ARGV[2]); "
              "j['fails'] = nil; j['err'] = nil; j['failed_at'] = nil; return cjson.encode(j)")
UNKNOWN = ("local j = cjson.decode(ARGV[1]); j['err'] = 'unknown job when requeueing'; "
           "j['failed_at'] = tonumber(ARGV[2]); return cjson.encode(j)")

TRICKY = (b'{"name":"a/b","id":"0123456789abcdef01234567","t":1700000000,"args":{"big":12345678901234567,'
          b'"empty":[],"f":0.1,"nested":{"list":[[],{}]},"pi":3.141592653589793,"s":"\\u003c/\\u003e\\u2028"},'
          b'"unique":true,"fails":1,"err":"x/y","failed_at":1700000001}')


def run(r: redis.Redis, script: str, *argv: bytes | int) -> bytes:
    out = r.eval(script, 0, *argv)
    assert isinstance(out, bytes)
    return out


def test_cjson_reencoding_changes_bytes_not_validity(r: redis.Redis) -> None:
    again = run(r, ROUNDTRIP, TRICKY)
    assert again != TRICKY
    assert b'"name":"a\\/b"' in again and b'"err":"x\\/y"' in again  # '/' escaped
    assert b'"t":1700000000' in again and b'"failed_at":1700000001' in again  # 10-digit integers stay
    assert b"1.2345678901235e+16" in again and b"3.1415926535898" in again  # 14 significant digits
    assert "<\\/>\u2028".encode() in again  # HTML escapes and U+2028 come out raw
    doc = json.loads(again)
    assert doc["args"]["empty"] == {} and doc["args"]["nested"]["list"] == [{}, {}]  # [] -> {}
    validate("job", doc, "failed")
    assert run(r, ROUNDTRIP, GO_NIL_ARGS).count(b'"args":null') == 1
    assert b'"args":{}' in run(r, ROUNDTRIP, GO_DEAD_STRAY)  # an empty args map stays an object


@pytest.mark.parametrize(("raw", "definition"), SAMPLES)
def test_cjson_roundtrip_of_every_sample_still_validates(r: redis.Redis, raw: bytes, definition: str) -> None:
    validate("job", json.loads(run(r, ROUNDTRIP, raw)), definition)


def test_requeue_scripts_output_validates(r: redis.Redis) -> None:
    moved = json.loads(run(r, REQUEUE, GO_PERIODIC, 1700000160))
    assert moved["t"] == 1700000160
    validate("job", moved, "periodic")
    retried = json.loads(run(r, REQUEUE, GO_RETRIED, 1700000200))
    validate("job", retried, "failed")
    back = json.loads(run(r, RETRY_DEAD, GO_DEAD_PANIC, 1700009000))
    assert "fails" not in back and "err" not in back
    validate("job", back, "enqueued")
    unknown = json.loads(run(r, UNKNOWN, GO_UNIQUE, 1700000300))
    validate("job", unknown, "unknown_on_requeue")
    validate("job", json.loads(run(r, UNKNOWN, GO_RETRIED, 1700000300)), "unknown_on_requeue")


def test_cjson_number_format_boundaries(r: redis.Redis) -> None:
    """Where cjson switches to exponent form: the reason t/fails/failed_at stop at 14 digits."""
    raw = run(r, "return cjson.encode({a = 99999999999999, b = 100000000000000})")
    out = json.loads(raw)
    assert b"99999999999999" in raw and b"1e+14" in raw
    assert out == {"a": 99999999999999, "b": 1e14}
    assert schema("job")["properties"]["t"]["maximum"] == 99999999999999


# --- hashes
BEAT = {"heartbeat_at": "1700000005", "started_at": "1699999990", "job_names": "report,send_email",
        "concurrency": "2", "worker_ids": "0123456789abcdef01234567,1123456789abcdef01234567",
        "host": "web-1", "pid": "4242"}
OBS = {"job_name": "send_email", "job_id": "5f1c2a9e8b7d6c5f4e3d2a1b", "started_at": "1700000001",
       "args": '{"address":"a@example.com","html":"\\u003cb\\u003e"}'}


def test_heartbeat_hash() -> None:
    validate("heartbeat", BEAT)
    validate("heartbeat", {**BEAT, "job_names": "", "worker_ids": "", "concurrency": "0"})
    for bad in ({**BEAT, "worker_ids": "x,y"},
                {**BEAT, "worker_ids": "1123456789abcdef01234567,0123456789abcdef01234567"},  # unsorted
                {**BEAT, "heartbeat_at": "17e8"},
                {**BEAT, "pid": 4242},
                {**BEAT, "extra": "1"},
                without(BEAT, "pid")):
        with pytest.raises(AssertionError, match=r"^heartbeat does not match spec/heartbeat\.schema\.json"):
            validate("heartbeat", bad)


def test_heartbeat_hash_read_back_from_redis(r: redis.Redis, ns: str) -> None:
    key = f"{ns}:worker_pools:0123456789abcdef01234567"
    fields: dict[str, str | int] = {**BEAT, "pid": 4242, "concurrency": 2}  # ints, as redigo sends them
    for field, value in fields.items():
        r.hset(key, field, value)
    stored = cast(dict[bytes, bytes], r.hgetall(key))
    validate("heartbeat", {k.decode(): v.decode() for k, v in stored.items()})


def test_observation_hash() -> None:
    validate("observation", OBS)
    validate("observation", {**OBS, "args": ""})
    validate("observation", {**OBS, "checkin": "40%", "checkin_at": "1700000002"})
    for bad in ({**OBS, "checkin": "40%"},
                {**OBS, "checkin_at": "1700000002"},
                {**OBS, "checkin": "", "checkin_at": "1700000002"},
                {**OBS, "args": "[1]"},
                {**OBS, "args": "{}"},  # an empty map is written as ""
                {**OBS, "args": "{not json}"},
                {**OBS, "args": None},
                without(OBS, "started_at")):
        with pytest.raises(AssertionError, match=r"^observation does not match spec/observation\.schema\.json"):
            validate("observation", bad)


def test_lock_info_hash() -> None:
    validate("lock_info", {})
    validate("lock_info", {"0123456789abcdef01234567": "0", "1123456789abcdef01234567": "3",
                           "2123456789abcdef01234567": "-1"})
    for bad in ({"p": "one"}, {"p": 1}, {"p": "01"}, {"p": "-0"}, {"": "1"}):
        with pytest.raises(AssertionError, match=r"^lock_info does not match spec/lock_info\.schema\.json"):
            validate("lock_info", bad)


def test_spec_readme_exists() -> None:
    text = (Path(SPEC) / "README.md").read_text(encoding="utf-8")
    for kind in KINDS:
        assert f"{kind}.schema.json" in text
