"""``gowork contracts check`` and ``gowork validate`` on live namespaces (the spec schemas
are package data)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import redis

from gowork_compat import Enqueuer, WorkerPool
from gowork_compat.cli import main
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.validation import iter_stored_jobs, spec_schema

SPEC = Path(__file__).resolve().parents[1] / "spec"
CONTRACT = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_spec_schemas_are_shipped_unchanged() -> None:
    for kind in ("job", "heartbeat", "observation", "lock_info"):
        assert spec_schema(kind) == json.loads((SPEC / f"{kind}.schema.json").read_text(encoding="utf-8")), kind
    with pytest.raises(ValueError, match=r"unknown schema kind 'jobs'"):
        spec_schema("jobs")


def test_contracts_check_finds_violations_everywhere(tmp_path: Path, redis_url: str, ns: str, r: redis.Redis,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "count.schema.json").write_text(json.dumps(CONTRACT))
    enq = Enqueuer(redis_url, ns)
    k = Keys(ns)
    try:
        enq.enqueue("count", {"n": 1})
        bad_q = enq.enqueue("count", {"n": "one"})
        bad_s = enq.enqueue_in("count", 3600, {})
        enq.enqueue("other", {"n": "whatever"})  # no contract: not checked
    finally:
        enq.close()
    dead = Job(name="count", id="d" * 24, enqueued_at=1, args={"n": 1.5}, fails=1, last_err="x", failed_at=2)
    r.zadd(k.dead, {dead.encode(): 2})
    code, out = run(capsys, "--redis", redis_url, "-n", ns, "contracts", "check", "--dir", str(tmp_path))
    assert code == 1
    lines = out.splitlines()
    assert f"{k.jobs('count')} job {bad_q.id} (count): contract count /args/n: 'one' is not of type 'integer'" in lines
    assert f"{k.scheduled} job {bad_s.job.id} (count): contract count /args: 'n' is a required property" in lines
    assert f"{k.dead} job {'d' * 24} (count): contract count /args/n: 1.5 is not of type 'integer'" in lines
    assert lines[-1] == f"3 violation(s) in namespace {ns!r} (4 jobs, 1 contracts checked)"
    code, out = run(capsys, "--redis", redis_url, "-n", ns, "contracts", "check", "--dir", str(tmp_path), "--json")
    doc = json.loads(out)
    assert code == 1 and doc["jobs"] == 4 and len(doc["violations"]) == 3
    assert {v["where"] for v in doc["violations"]} == {"queue", "scheduled", "dead"}


def test_contracts_check_clean_and_usage(tmp_path: Path, redis_url: str, ns: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "count.schema.json").write_text(json.dumps(CONTRACT))
    with _enq(redis_url, ns) as enq:
        enq.enqueue("count", {"n": 1})
    code, out = run(capsys, "--redis", redis_url, "-n", ns, "contracts", "check", "--dir", str(tmp_path))
    assert code == 0 and out.splitlines()[-1].startswith("0 violation(s)")
    code = main(["--redis", redis_url, "-n", ns, "contracts", "check", "--dir", str(tmp_path / "nope")])
    assert code == 2 and "no contracts directory" in capsys.readouterr().err


class _enq:
    def __init__(self, url: str, ns: str) -> None:
        self.e = Enqueuer(url, ns)

    def __enter__(self) -> Enqueuer:
        return self.e

    def __exit__(self, *exc: Any) -> None:
        self.e.close()


def test_validate_a_clean_namespace(redis_url: str, ns: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Everything a Python pool and enqueuer write while a job runs passes the spec schemas."""
    started: list[bool] = []
    pool = WorkerPool(redis_url, ns, 2)

    def slow(job: Job) -> None:
        started.append(True)
        time.sleep(1.0)

    pool.job("slow", slow)
    with _enq(redis_url, ns) as enq:
        enq.enqueue("slow", {"a": 1})
        enq.enqueue_in("slow", 3600, {"b": [1, 2]})
        enq.enqueue("queued", None)
    pool.start()
    try:
        deadline = time.monotonic() + 10
        while not started and time.monotonic() < deadline:
            time.sleep(0.01)
        code, out = run(capsys, "--redis", redis_url, "-n", ns, "validate", "--json")
    finally:
        pool.stop()
    doc = json.loads(out)
    assert code == 0, doc["violations"]
    assert doc["job"] >= 3 and doc["heartbeat"] == 1 and doc["lock_info"] >= 1


def test_validate_finds_foreign_and_corrupt_entries(redis_url: str, ns: str, r: redis.Redis,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    k = Keys(ns)
    r.lpush(k.jobs("x"), b"not json at all", json.dumps({"name": "x", "id": "i1", "t": "soon"}))
    r.sadd(k.worker_pools, "p1")
    r.hset(k.heartbeat("p1"), mapping={"heartbeat_at": "yesterday"})
    r.hset(k.lock_info("x"), mapping={"p1": "many"})
    code, out = run(capsys, "--redis", redis_url, "-n", ns, "validate")
    assert code == 1
    assert f"{k.jobs('x')}: job /: not JSON" in out
    assert f"{k.jobs('x')} job i1 (x): job /t: 'soon' is not of type 'integer'" in out
    assert f"{k.heartbeat('p1')}: heartbeat /" in out
    assert f"{k.lock_info('x')}: lock_info /p1:" in out
    assert [s.where for s in iter_stored_jobs(r, ns)] == ["queue", "queue"]
