"""Rescue the jobs Go's requeuer kills for not knowing their name.

A Go pool's requeuer moves every due retry or scheduled job whose name its own pool does
not register to the dead set: it decodes the member, sets ``err`` to "unknown job when
requeueing" and ``failed_at`` to its now, and ZADDs ``cjson.encode`` of that at score now
(all other fields, ``t`` and ``fails`` included, kept). In a namespace shared by pools that
run different names, a job that fails once or is enqueued with ``enqueue_in`` thus dies as
soon as any Go pool that does not run its name is up.

The :class:`Rescuer` (a Python pool runs it every second) undoes that atomically for every
job name some live pool runs (any pool, Go or Python, whose heartbeat is fresh, from its
``job_names``): such a dead entry goes where Go's requeuer should have put it, its queue,
as Go's requeuer writes it there (``t`` = now); a scheduled job (no ``fails``) gets its
``err`` and ``failed_at`` removed, so it is exactly the job that was scheduled; a retried
job keeps its ``fails`` (Go overwrote its previous ``err``/``failed_at``: those stay as
Go wrote them). Every entry Go kills was due (Go only takes due members), so none goes
back into its set. Names no live pool runs stay dead (Go would kill them too).

Only recent dead entries are looked at (scores from the previous pass minus
:data:`LOOKBACK`, and :data:`FIRST_LOOKBACK` on the first pass), so a large dead set costs
nothing; entries killed while no Python pool was running and before that window stay dead
(retry them by filter from the CLI or web UI).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import redis.asyncio as aredis

from ._redis import Call, aexecute
from ._script import Script
from .burial import LUA_BURY
from .heartbeat import DEAD_AFTER
from .keys import Keys

__all__ = ["FIRST_LOOKBACK", "LOOKBACK", "RESCUE_BATCH", "RESCUE_PERIOD", "RESCUE_UNKNOWN", "RescueReport", "Rescuer",
           "rescue_call"]

log = logging.getLogger("gowork_compat.rescuer")

#: seconds between two passes (a killed job is back on its queue within about this)
RESCUE_PERIOD = 1.0
#: seconds of dead entries looked at again on each pass (clock differences between hosts)
LOOKBACK = 30
#: seconds of dead entries looked at on a rescuer's first pass
FIRST_LOOKBACK = 3600
#: dead entries looked at per script call
RESCUE_BATCH = 1000

UNKNOWN_JOB = "unknown job when requeueing"

#: Move dead entries that Go's requeuer killed for an unknown name back onto their queue,
#: for the job names some live pool runs.
#: KEYS[1]: dead zset; KEYS[2]: worker_pools set.
#: ARGV[1]: heartbeat key prefix ("<ns>:worker_pools:"); ARGV[2]: jobs prefix; ARGV[3]: now;
#: ARGV[4]: seconds after which a heartbeat is dead; ARGV[5]: lowest dead score to look at;
#: ARGV[6]: offset; ARGV[7]: most entries to look at.
#: Returns {entries rescued, entries looked at, live job names found}.
RESCUE_UNKNOWN = Script(
    "rescue_unknown",
    LUA_BURY
    + """
local now = tonumber(ARGV[3])
local live, names = {}, 0
for _, pool in ipairs(redis.call('smembers', KEYS[2])) do
  local h = redis.call('hmget', ARGV[1] .. pool, 'heartbeat_at', 'job_names')
  local beat = tonumber(h[1])
  if beat and beat + tonumber(ARGV[4]) > now and h[2] then
    for n in string.gmatch(h[2], '([^,]+)') do
      if not live[n] then live[n] = true; names = names + 1 end
    end
  end
end
if names == 0 then return {0, 0, 0} end
local members = redis.call('zrangebyscore', KEYS[1], ARGV[5], '+inf', 'LIMIT', ARGV[6], ARGV[7])
local rescued = 0
for _, m in ipairs(members) do
  if string.find(m, 'unknown job when requeueing', 1, true) then
    local ok, job = pcall(cjson.decode, m)
    if ok and type(job) == 'table' and job['err'] == 'unknown job when requeueing'
        and type(job['name']) == 'string' and live[job['name']] and not is_buried(job) then
      job['t'] = now
      if job['fails'] == nil then
        job['err'] = nil
        job['failed_at'] = nil
      end
      local text = encoded(job)
      if text then
        redis.call('zrem', KEYS[1], m)
        redis.call('lpush', ARGV[2] .. job['name'], text)
        rescued = rescued + 1
      end
    end
  end
end
return {rescued, #members, names}
""",
)


def rescue_call(keys: Keys, now: int, since: int, offset: int = 0, limit: int = RESCUE_BATCH,
                dead_after: int = DEAD_AFTER) -> Call:
    return Call(keys.heartbeat(""), keys.jobs_prefix, now, dead_after, since, offset, limit,
                script=RESCUE_UNKNOWN, keys=[keys.dead, keys.worker_pools])


@dataclass
class RescueReport:
    rescued: int = 0
    looked_at: int = 0


class Rescuer:
    """Runs :data:`RESCUE_UNKNOWN` over the dead entries of the last pass (``run_once``)."""

    def __init__(self, keys: Keys, *, first_lookback: int = FIRST_LOOKBACK, lookback: int = LOOKBACK,
                 batch: int = RESCUE_BATCH, dead_after: int = DEAD_AFTER) -> None:
        self.keys = keys
        self.first_lookback = first_lookback
        self.lookback = lookback
        self.batch = batch
        self.dead_after = dead_after
        self._last: int | None = None

    async def run_once(self, client: aredis.Redis, now: int) -> RescueReport:
        since = now - self.first_lookback if self._last is None else min(self._last, now) - self.lookback
        report = RescueReport()
        offset = 0
        while True:
            (reply,) = await aexecute(client, [rescue_call(self.keys, now, since, offset, self.batch,
                                                           self.dead_after)])
            rescued, looked = int(reply[0]), int(reply[1])
            report.rescued += rescued
            report.looked_at += looked
            if looked < self.batch:
                break
            offset += looked - rescued
        self._last = now
        if report.rescued:
            log.info("put %d jobs killed by a requeuer that did not know their name back on their queues",
                     report.rescued)
        return report
