"""Poison burial: the one shape of the dead-set record that replaces a payload nobody can
run or write back (not JSON, not a job, numbers cjson cannot re-encode, ...).

The pool (a malformed job fetched from a queue) and every Lua script that moves a job
(requeuers, dead-job retries, the rescuer) bury with the same fields::

    {"name": <job name of the queue or set member it came from, "" when unknown>,
     "id": "malformed-<sha1 of the raw bytes>", "t": <now>,
     "args": {"raw_payload": <the raw bytes as text>},
     "fails": 1, "err": "malformed job payload in <key>: <reason>", "failed_at": <now>}

A buried record is readable by every client (Go's too) and always has a string ``name``,
so Go's retry scripts never fail on it after their ZREM (which would lose the payload).
Our retry scripts leave it in place and say why (:class:`UnretryableJob`).
"""

from __future__ import annotations

import hashlib
from typing import Any

from .job import Job

__all__ = ["BURIED_ID_PREFIX", "LUA_BURY", "UnretryableJob", "burial_reason", "buried_job", "is_buried"]

#: ids of buried records start with this
BURIED_ID_PREFIX = "malformed-"


class UnretryableJob(ValueError):
    """A dead record that cannot go back on a queue (a buried malformed payload, or bytes
    that are not a job): it was left in the dead set. A ValueError: the stored data is at
    fault, not the request."""


def burial_reason(source_key: str, detail: str) -> str:
    """The ``err`` of a buried record: where the payload was found and what is wrong with it."""
    prefix = "malformed job payload: "
    if detail.startswith(prefix):
        detail = detail[len(prefix):]
    return f"malformed job payload in {source_key}: {detail}"


def buried_job(raw: bytes, name: str, reason: str, now: int) -> Job:
    """The record that replaces ``raw`` in the dead set (same fields as :data:`LUA_BURY` writes)."""
    return Job(name=name, id=BURIED_ID_PREFIX + hashlib.sha1(raw).hexdigest(), enqueued_at=now,
               args={"raw_payload": raw.decode("utf-8", "replace")}, fails=1, last_err=reason, failed_at=now)


def is_buried(decoded: Any) -> bool:
    """Whether a decoded dead-set member (a dict) is a buried record."""
    return (isinstance(decoded, dict) and isinstance(decoded.get("id"), str)
            and decoded["id"].startswith(BURIED_ID_PREFIX) and isinstance(decoded.get("args"), dict)
            and "raw_payload" in decoded["args"])


#: Lua helpers shared by the scripts:
#: ``bury(dead, raw, name, source_key, detail, now)`` ZADDs the buried record of ``raw``
#: (``name`` may be nil: ""); ``is_buried(job)`` recognises one (not retryable);
#: ``name_of(job)`` is the job's name when it is a string, else "".
LUA_BURY = """
local function name_of(job)
  if type(job) == 'table' and type(job['name']) == 'string' then return job['name'] end
  return ''
end
local function bury(dead, raw, name, source_key, detail, now)
  local rec = {name = name or '', id = 'malformed-' .. redis.sha1hex(raw), t = now,
               args = {raw_payload = raw}, fails = 1,
               err = 'malformed job payload in ' .. source_key .. ': ' .. tostring(detail), failed_at = now}
  redis.call('zadd', dead, now, cjson.encode(rec))
end
local function is_buried(job)
  return type(job) == 'table' and type(job['id']) == 'string' and string.sub(job['id'], 1, 10) == 'malformed-'
    and type(job['args']) == 'table' and job['args']['raw_payload'] ~= nil
end
local function encoded(job)
  local ok, text = pcall(cjson.encode, job)
  if ok then return text, nil end
  return nil, 'cannot re-encode: ' .. tostring(text)
end
"""
