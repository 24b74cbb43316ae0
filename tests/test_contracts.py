"""Job contracts: JSON Schemas by job name on the enqueuers (refused before anything is
written) and on the WorkerPool (opt-in: dead, with the violation as the error)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import redis

from gowork_compat.contracts import ContractError, Contracts, ContractViolation, as_contracts
from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer
from gowork_compat.job import Job
from gowork_compat.keys import Keys
from gowork_compat.pool import WorkerPool

EMAIL = {
    "type": "object",
    "required": ["to", "tries"],
    "additionalProperties": False,
    "properties": {"to": {"type": "string", "minLength": 3},
                   "tries": {"type": "integer", "minimum": 0},
                   "cc": {"type": "array", "items": {"type": "string"}}},
}


def test_violations_name_the_job_and_the_json_pointer() -> None:
    c = Contracts({"send_email": EMAIL})
    assert c.violations("send_email", {"to": "ada@x", "tries": 1}) == []
    (v,) = c.violations("send_email", {"to": "ada@x", "tries": 1, "cc": ["ok", 7]})
    assert (v.job_name, v.pointer) == ("send_email", "/cc/1")
    assert "is not of type 'string'" in v.message
    with pytest.raises(ContractViolation, match=r"args of job 'send_email' break its contract at /tries: -1 is less"):
        c.check("send_email", {"to": "ada@x", "tries": -1})
    # None is checked as {} (Go hands a handler an empty map); names without a contract pass
    with pytest.raises(ContractViolation, match=r"at /: 'to' is a required property \(and 1 more\)"):
        c.check("send_email", None)
    c.check("other", {"anything": [1, 2]})


def test_pointer_escapes_tilde_and_slash() -> None:
    c = Contracts({"j": {"type": "object", "properties": {"a/b~c": {"type": "integer"}}}})
    (v,) = c.violations("j", {"a/b~c": "x"})
    assert v.pointer == "/a~1b~0c"


def test_contracts_from_a_directory_and_bad_schemas(tmp_path: Path) -> None:
    (tmp_path / "send_email.schema.json").write_text(json.dumps(EMAIL))
    (tmp_path / "README.md").write_text("not a contract")
    c = as_contracts(tmp_path)
    assert c is not None and "send_email" in c and len(c) == 1
    with pytest.raises(ContractError, match=r"no contracts directory"):
        Contracts.from_dir(tmp_path / "missing")
    (tmp_path / "broken.schema.json").write_text("{nope")
    with pytest.raises(ContractError, match=r"cannot read contract .*broken.schema.json"):
        Contracts.from_dir(tmp_path)
    with pytest.raises(ContractError, match=r"the contract of job 'x' is not a valid JSON Schema"):
        Contracts({"x": {"type": "no-such-type"}})


def test_enqueuer_refuses_invalid_args_before_writing(redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns, contracts={"send_email": EMAIL})
    k = Keys(ns)
    try:
        enq.enqueue("send_email", {"to": "ada@x", "tries": 0})
        for call in (lambda: enq.enqueue("send_email", {"to": "ada@x"}),
                     lambda: enq.enqueue_in("send_email", 60, {"to": 5, "tries": 0}),
                     lambda: enq.enqueue_unique("send_email", {"to": "ada@x", "tries": "1"}),
                     lambda: enq.enqueue_many([("send_email", {"to": "ada@x", "tries": 1}),
                                               ("send_email", {"to": "ada@x", "tries": 1, "bcc": []})])):
            with pytest.raises(ContractViolation, match=r"args of job 'send_email' break its contract at /"):
                call()
        assert r.llen(k.jobs("send_email")) == 1  # the valid one only; the batch wrote nothing
        assert r.zcard(k.scheduled) == 0
        assert not r.keys(k.prefix + "unique:*")
    finally:
        enq.close()


def test_async_enqueuer_refuses_invalid_args(redis_url: str, ns: str, r: redis.Redis) -> None:
    async def main() -> None:
        enq = AsyncEnqueuer(redis_url, ns, contracts=Contracts({"send_email": EMAIL}))
        try:
            with pytest.raises(ContractViolation, match=r"at /to: 'a' is too short"):
                await enq.enqueue("send_email", {"to": "a", "tries": 0})
            await enq.enqueue("send_email", {"to": "ada@x", "tries": 0})
        finally:
            await enq.redis.aclose()

    asyncio.run(main())
    assert r.llen(Keys(ns).jobs("send_email")) == 1


def drain_after_enqueue(pool: WorkerPool, redis_url: str, ns: str, *args: dict[str, Any]) -> list[Job]:
    """Enqueue send_email jobs with ``args`` through an enqueuer without contracts (anything
    gets in), then run the pool until its queues are empty."""
    enq = Enqueuer(redis_url, ns)
    try:
        jobs = [enq.enqueue("send_email", a) for a in args]
        pool.start()
        try:
            pool.drain()
        finally:
            pool.stop()
    finally:
        enq.close()
    return [j for j in jobs if j is not None]


def test_pool_with_contracts_sends_violations_to_dead(redis_url: str, ns: str, r: redis.Redis) -> None:
    ran: list[Any] = []
    pool = WorkerPool(redis_url, ns, 2, contracts={"send_email": EMAIL})
    pool.job("send_email", lambda job: ran.append(job.args), max_fails=4)
    good = {"to": "ada@x", "tries": 0}
    _, bad = drain_after_enqueue(pool, redis_url, ns, good, {"to": "ada@x", "tries": 2.5})
    assert ran == [good]
    (raw,) = r.zrange(Keys(ns).dead, 0, -1)  # dead at once although max_fails is 4
    dead = Job.decode(raw)
    assert dead.id == bad.id and dead.fails == 1
    assert dead.last_err == ("ContractViolation: args of job 'send_email' break its contract at /tries: "
                             "2.5 is not of type 'integer'")
    assert r.zcard(Keys(ns).retry) == 0


def test_pool_without_contracts_runs_anything(redis_url: str, ns: str, r: redis.Redis) -> None:
    ran: list[Any] = []
    pool = WorkerPool(redis_url, ns, 1)
    pool.job("send_email", lambda job: ran.append(job.args))
    drain_after_enqueue(pool, redis_url, ns, {"tries": 2.5})
    assert ran == [{"tries": 2.5}] and r.zcard(Keys(ns).dead) == 0
