"""The Lua scripts, each next to the builder of its KEYS/ARGV layout. No I/O.

Each script states its KEYS/ARGV contract, and a function beside it builds the
:class:`~gowork_compat._redis.Call` (or the keys) in that layout: the pool, requeuer,
reaper, client and tests use the builders instead of assembling keys by hand. Scripts that
exist in gocraft/work have the same effect on Redis as the Go ones (same keys touched, same
values written, the same cjson decode/modify/encode sequence where a job is rewritten, so
the bytes agree). Scripts marked *batch* are Python-side extensions: they do what N calls
of the Go script would do, in one call.

Beyond Go, every script that moves a job removes it only once it knows what it writes in
its place: a member that is not a job, or whose numbers cjson cannot write back (1e999,
NaN, integers beyond float range), is buried in the dead set in the one shape of
:mod:`gowork_compat.burial` (with the reason), never deleted. Lock counts never go below 0.
Unique-job scripts live in :mod:`gowork_compat.unique` (re-exported here). See
``spec/README.md``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ._redis import Call
from ._script import Script
from .burial import LUA_BURY, UnretryableJob
from .keys import Keys
from .unique import ENQUEUE_UNIQUE, ENQUEUE_UNIQUE_IN

__all__ = [
    "ACK_BATCH",
    "CLIENT_DELETE_QUEUED_JOB",
    "CLIENT_DELETE_ZSET_JOB",
    "CLIENT_PURGE_QUEUE",
    "CLIENT_RESET_LOCK",
    "CLIENT_RETRY_ALL_DEAD",
    "CLIENT_RETRY_DEAD_JOB",
    "CLIENT_ZSET_JOB_NOW",
    "ENQUEUE_UNIQUE",
    "ENQUEUE_UNIQUE_IN",
    "FETCH",
    "FETCH_BATCH",
    "FETCH_KEYS_PER_JOB",
    "REAP_STALE_LOCKS",
    "REENQUEUE_IN_PROGRESS",
    "REQUEUE_DUE",
    "REQUEUE_STRANDED",
    "STATS_TTL",
    "Script",
    "ack_batch_call",
    "ack_keys",
    "delete_queued_job_call",
    "delete_zset_job_call",
    "fetch_batch_call",
    "fetch_call",
    "fetch_group_keys",
    "fetch_keys",
    "purge_queue_call",
    "reap_stale_locks_call",
    "reenqueue_in_progress_call",
    "requeue_due_call",
    "requeue_stranded_call",
    "reset_lock_call",
    "retry_all_dead_call",
    "retry_dead_job_call",
    "retry_dead_job_result",
    "zset_job_now_call",
]


# -- fetch ------------------------------------------------------------------------------------
#: keys per registered job name given to the fetch scripts:
#: queue, in-progress list, paused flag, lock counter, lock_info hash, max_concurrency
FETCH_KEYS_PER_JOB = 6


def fetch_group_keys(keys: Keys, pool_id: str, job_name: str) -> list[str]:
    """The :data:`FETCH_KEYS_PER_JOB` keys of one job name, in the fetch scripts' order."""
    return [keys.jobs(job_name), keys.in_progress(pool_id, job_name), keys.paused(job_name),
            keys.lock(job_name), keys.lock_info(job_name), keys.max_concurrency(job_name)]


def fetch_keys(keys: Keys, pool_id: str, job_names: Iterable[str]) -> list[str]:
    """KEYS of :data:`FETCH` / :data:`FETCH_BATCH` for job names in sampled priority order."""
    return [k for n in job_names for k in fetch_group_keys(keys, pool_id, n)]


_FETCH_HELPERS = """
local function may_take(queue, paused, lock, max_key)
  if redis.call('llen', queue) == 0 then return false end
  if redis.call('get', paused) then return false end
  local cap = tonumber(redis.call('get', max_key))
  if cap and cap ~= 0 then
    local running = tonumber(redis.call('get', lock))
    if running and running >= cap then return false end
  end
  return true
end
local function take(queue, inprog, lock, lock_info, pool)
  redis.call('incr', lock)
  redis.call('hincrby', lock_info, pool, 1)
  return redis.call('rpoplpush', queue, inprog)
end
"""

#: Go-identical single fetch.
#: KEYS: FETCH_KEYS_PER_JOB keys per job name, in the sampled priority order.
#: ARGV[1]: pool id.  Returns {job, queue key, in-progress key} or nil.
FETCH = Script(
    "fetch",
    _FETCH_HELPERS
    + """
for i = 1, #KEYS, 6 do
  if may_take(KEYS[i], KEYS[i+2], KEYS[i+3], KEYS[i+5]) then
    local job = take(KEYS[i], KEYS[i+1], KEYS[i+3], KEYS[i+4], ARGV[1])
    return {job, KEYS[i], KEYS[i+1]}
  end
end
return nil
""",
)


def fetch_call(keys: Keys, pool_id: str, job_names: Sequence[str]) -> Call:
    return Call(pool_id, script=FETCH, keys=fetch_keys(keys, pool_id, job_names))


#: *batch*: up to ARGV[2] single fetches in one call, all with the same sampled order.
#: Leaves Redis exactly as that many Go fetches would: per job name in order, as many jobs
#: as the queue has, the pause allows and max_concurrency leaves room for, moved from the
#: queue's tail to the in-progress list's head in RPOPLPUSH order (one LRANGE/LTRIM/LPUSH
#: instead of one RPOPLPUSH each), the lock and lock_info raised by that count.
#: KEYS: as FETCH.  ARGV[1]: pool id; ARGV[2]: most jobs to take.
#: Returns a flat array {job, group index (1-based), job, group index, ...} in pop order;
#: when no job could be taken: {0, indices of the groups whose queue is empty...} (the
#: pool then blocks on those queues until a job arrives).
FETCH_BATCH = Script(
    "fetch_batch",
    """
local pool = ARGV[1]
local want = tonumber(ARGV[2])
local out = {}
local empty = {}
local got = 0
for i = 1, #KEYS, 6 do
  if got >= want then break end
  local n = redis.call('llen', KEYS[i])
  if n == 0 then
    empty[#empty+1] = (i - 1) / 6 + 1
  elseif not redis.call('get', KEYS[i+2]) then
    local k = math.min(want - got, n)
    local cap = tonumber(redis.call('get', KEYS[i+5]))
    if cap and cap ~= 0 then
      local running = tonumber(redis.call('get', KEYS[i+3])) or 0
      k = math.min(k, cap - running)
    end
    if k > 0 then
      local tail = redis.call('lrange', KEYS[i], -k, -1)
      redis.call('ltrim', KEYS[i], 0, -k - 1)
      local popped = {}
      for j = #tail, 1, -1 do popped[#popped+1] = tail[j] end
      redis.call('lpush', KEYS[i+1], unpack(popped))
      redis.call('incrby', KEYS[i+3], k)
      redis.call('hincrby', KEYS[i+4], pool, k)
      local g = (i - 1) / 6 + 1
      for _, job in ipairs(popped) do
        out[#out+1] = job
        out[#out+1] = g
      end
      got = got + k
    end
  end
end
if got == 0 then
  out[1] = 0
  for _, g in ipairs(empty) do out[#out+1] = g end
end
return out
""",
)


def fetch_batch_call(keys: Keys, pool_id: str, job_names: Sequence[str], want: int) -> Call:
    return Call(pool_id, want, script=FETCH_BATCH, keys=fetch_keys(keys, pool_id, job_names))


# -- acknowledge ------------------------------------------------------------------------------
#: seconds a minute's throughput counters are kept (two days)
STATS_TTL = 172800

#: *batch*: acknowledge finished jobs with the effect of Go's MULTI after each job: LREM
#: the in-progress entry, ZADD to retry or dead when the job failed, and the lock and
#: lock_info lowered by one per job (one DECRBY/HINCRBY per job name for the batch; beyond
#: Go, neither is left below 0). Beyond Go: the minute's throughput counters (a hash Go
#: never reads, ``<ns>:gowork:stats:<minute start>``, fields ``processed:<name>`` and
#: ``failed:<name>``, one HINCRBY each per job name per batch, kept STATS_TTL seconds).
#: KEYS[1]: retry zset; KEYS[2]: dead zset; then 3 per job name: in-progress, lock, lock_info;
#: last: the stats key prefix (``<ns>:gowork:stats:``).
#: ARGV[1]: pool id; then 5 per job: name group (1-based), raw in-progress bytes,
#: fate (0 done, 1 retry, 2 dead), zset score, zset member.
ACK_BATCH = Script(
    "ack_batch",
    """
if redis.replicate_commands then pcall(redis.replicate_commands) end
local pool = ARGV[1]
local released = {}
local failed = {}
for a = 2, #ARGV, 5 do
  local g = tonumber(ARGV[a])
  redis.call('lrem', KEYS[2 + (g - 1) * 3 + 1], 1, ARGV[a + 1])
  released[g] = (released[g] or 0) + 1
  local fate = ARGV[a + 2]
  if fate == '1' then
    redis.call('zadd', KEYS[1], ARGV[a + 3], ARGV[a + 4])
    failed[g] = (failed[g] or 0) + 1
  elseif fate == '2' then
    redis.call('zadd', KEYS[2], ARGV[a + 3], ARGV[a + 4])
    failed[g] = (failed[g] or 0) + 1
  end
end
local stats_prefix = KEYS[#KEYS]
local lock_from = #stats_prefix - #'gowork:stats:' + #'jobs:' + 1
local now = tonumber(redis.call('time')[1])
local stats = stats_prefix .. (now - now % 60)
for g, n in pairs(released) do
  local base = 2 + (g - 1) * 3
  if redis.call('decrby', KEYS[base + 2], n) < 0 then redis.call('set', KEYS[base + 2], 0) end
  if redis.call('hincrby', KEYS[base + 3], pool, -n) < 0 then redis.call('hset', KEYS[base + 3], pool, 0) end
  local name = string.sub(KEYS[base + 2], lock_from, -6)
  redis.call('hincrby', stats, 'processed:' .. name, n)
  if failed[g] then redis.call('hincrby', stats, 'failed:' .. name, failed[g]) end
end
if #ARGV > 1 then redis.call('expire', stats, STATS_TTL) end
return (#ARGV - 1) / 5
""".replace("STATS_TTL", str(STATS_TTL)),
)


def ack_keys(keys: Keys, pool_id: str, job_names: Iterable[str]) -> list[str]:
    """KEYS of :data:`ACK_BATCH`; job name groups are numbered from 1 in this order."""
    out = [keys.retry, keys.dead]
    for n in job_names:
        out += [keys.in_progress(pool_id, n), keys.lock(n), keys.lock_info(n)]
    return [*out, keys.stats_prefix]


def ack_batch_call(keys: Keys, pool_id: str, job_names: Sequence[str],
                   acks: Iterable[tuple[int, bytes, int, int, bytes]]) -> Call:
    """``acks``: (group, raw in-progress bytes, fate, score, member) per finished job."""
    args: list[Any] = [pool_id]
    for a in acks:
        args += list(a)
    return Call(*args, script=ACK_BATCH, keys=ack_keys(keys, pool_id, job_names))


# -- requeue due retry / scheduled jobs -------------------------------------------------------
#: Move due jobs of a zset (retry or scheduled) to their queues; at most ARGV[3] of them.
#: KEYS[1]: the zset; KEYS[2]: dead zset; KEYS[3..]: queues of the job names this pool knows.
#: ARGV[1]: jobs prefix; ARGV[2]: now (epoch s); ARGV[3]: max jobs to move (Go: 1 per call);
#: ARGV[4]: known_jobs set key, or "" (Go: "").  A job whose queue is not among KEYS[3..]
#: (nor, when ARGV[4] is set, named in known_jobs) goes dead with Go's error text.  A member
#: that is not a job, or that cjson cannot write back, is buried (Go's script fails on it,
#: or deletes it and then fails).
#: Returns the number of jobs moved to queues plus sent dead or buried.
REQUEUE_DUE = Script(
    "requeue_due",
    LUA_BURY
    + """
local limit = tonumber(ARGV[3])
local now = tonumber(ARGV[2])
local moved = 0
local known = {}
for k = 3, #KEYS do known[KEYS[k]] = true end
while moved < limit do
  local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 1)
  if #due == 0 then break end
  local member = due[1]
  local decoded, job = pcall(cjson.decode, member)
  if not decoded or type(job) ~= 'table' or type(job['name']) ~= 'string' then
    redis.call('zrem', KEYS[1], member)
    local why = 'not a job'
    if not decoded then why = tostring(job) end
    bury(KEYS[2], member, name_of(job), KEYS[1], why, now)
  else
    local queue = ARGV[1] .. job['name']
    local ok = known[queue]
    if not ok and ARGV[4] ~= '' then
      ok = redis.call('sismember', ARGV[4], job['name']) == 1
    end
    if ok then
      job['t'] = now
    else
      job['err'] = 'unknown job when requeueing'
      job['failed_at'] = now
    end
    local text, problem = encoded(job)
    redis.call('zrem', KEYS[1], member)
    if not text then
      bury(KEYS[2], member, job['name'], KEYS[1], problem, now)
    elseif ok then
      redis.call('lpush', queue, text)
    else
      redis.call('zadd', KEYS[2], ARGV[2], text)
    end
  end
  moved = moved + 1
end
return moved
""",
)


def requeue_due_call(keys: Keys, zset_key: str, job_names: Iterable[str], now: int, limit: int,
                     known_jobs_key: str = "") -> Call:
    """Requeue up to ``limit`` due jobs of ``zset_key`` for ``job_names`` (and, when
    ``known_jobs_key`` is given, every name in that set)."""
    return Call(keys.jobs_prefix, now, limit, known_jobs_key, script=REQUEUE_DUE,
                keys=[zset_key, keys.dead, *(keys.jobs(n) for n in job_names)])


# -- reaper -----------------------------------------------------------------------------------
#: Reaper: move the in-progress jobs of a dead pool back to their queues, releasing the
#: lock and lock_info count each one held (neither left below 0).  At most ARGV[2] jobs.
#: The bytes move unchanged (RPOPLPUSH): nothing is re-encoded, nothing can be lost.
#: KEYS: 4 per job name: in-progress list, queue, lock, lock_info.  ARGV[1]: dead pool id.
#: Returns the number of jobs moved.
REENQUEUE_IN_PROGRESS = Script(
    "reenqueue_in_progress",
    """
local limit = tonumber(ARGV[2])
local moved = 0
for i = 1, #KEYS, 4 do
  while moved < limit do
    local job = redis.call('rpoplpush', KEYS[i], KEYS[i+1])
    if not job then break end
    if redis.call('decr', KEYS[i+2]) < 0 then redis.call('set', KEYS[i+2], 0) end
    if redis.call('hincrby', KEYS[i+3], ARGV[1], -1) < 0 then redis.call('hset', KEYS[i+3], ARGV[1], 0) end
    moved = moved + 1
  end
end
return moved
""",
)


def reenqueue_in_progress_call(keys: Keys, dead_pool_id: str, job_names: Iterable[str], limit: int) -> Call:
    return Call(dead_pool_id, limit, script=REENQUEUE_IN_PROGRESS,
                keys=[x for n in job_names for x in (keys.in_progress(dead_pool_id, n), keys.jobs(n),
                                                      keys.lock(n), keys.lock_info(n))])


#: Reaper: give back the lock counts a dead pool still holds (a negative count it "holds"
#: is dropped, not added; the lock is never left below 0).
#: KEYS: 2 per job name: lock, lock_info.  ARGV[1]: dead pool id.
REAP_STALE_LOCKS = Script(
    "reap_stale_locks",
    """
for i = 1, #KEYS, 2 do
  local held = tonumber(redis.call('hget', KEYS[i+1], ARGV[1]))
  if held then
    if held > 0 then redis.call('decrby', KEYS[i], held) end
    redis.call('hdel', KEYS[i+1], ARGV[1])
    if (tonumber(redis.call('get', KEYS[i])) or 0) < 0 then
      redis.call('set', KEYS[i], 0)
    end
  end
end
return nil
""",
)


def reap_stale_locks_call(keys: Keys, dead_pool_id: str, job_names: Iterable[str]) -> Call:
    return Call(dead_pool_id, script=REAP_STALE_LOCKS,
                keys=[x for n in job_names for x in (keys.lock(n), keys.lock_info(n))])


#: Reaper, beyond Go: requeue a *stranded* in-progress list -- one whose pool is in no set
#: (a Go pool that dropped a failed acknowledgement and then stopped: Go's reapers only look
#: at pools in worker_pools, so nobody ever would). Atomically re-checks that the pool is
#: gone: a pool in worker_pools, or with a heartbeat_at younger than ARGV[3] seconds, is
#: left untouched (returns {0, 0, 0}). Else moves up to ARGV[4] jobs back to the queue
#: (bytes unchanged), each releasing one lock and lock_info count *that pool holds* (a
#: count it does not hold is not taken from others); once the list is empty, gives back
#: the rest of the pool's lock_info count. No count is left below 0.
#: KEYS: worker_pools, heartbeat hash of the pool, in-progress list, queue, lock, lock_info.
#: ARGV: pool id, now (unix s), dead-pool window (s), limit.
#: Returns {1 (requeued) or 0 (pool alive: untouched), jobs moved, lock counts released}.
REQUEUE_STRANDED = Script(
    "requeue_stranded",
    """
if redis.call('sismember', KEYS[1], ARGV[1]) == 1 then return {0, 0, 0} end
local beat = tonumber(redis.call('hget', KEYS[2], 'heartbeat_at'))
if beat and beat + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {0, 0, 0} end
local limit = tonumber(ARGV[4])
local moved = 0
local released = 0
local function release(n)
  local held = tonumber(redis.call('hget', KEYS[6], ARGV[1])) or 0
  if held <= 0 then return end
  if n > held then n = held end
  if n == held then redis.call('hdel', KEYS[6], ARGV[1]) else redis.call('hincrby', KEYS[6], ARGV[1], -n) end
  if redis.call('decrby', KEYS[5], n) < 0 then redis.call('set', KEYS[5], 0) end
  released = released + n
end
while moved < limit do
  local job = redis.call('rpoplpush', KEYS[3], KEYS[4])
  if not job then break end
  release(1)
  moved = moved + 1
end
if redis.call('llen', KEYS[3]) == 0 then
  local held = tonumber(redis.call('hget', KEYS[6], ARGV[1])) or 0
  if held > 0 then release(held) end
end
return {1, moved, released}
""",
)


def requeue_stranded_call(keys: Keys, pool_id: str, job_name: str, now: int, dead_after: int, limit: int) -> Call:
    return Call(pool_id, now, dead_after, limit, script=REQUEUE_STRANDED,
                keys=[keys.worker_pools, keys.heartbeat(pool_id), keys.in_progress(pool_id, job_name),
                      keys.jobs(job_name), keys.lock(job_name), keys.lock_info(job_name)])


# -- client scripts ---------------------------------------------------------------------------
# Used by gowork_compat.client (Client / AsyncClient). Where Go's work.Client has a
# script, ours has the same effect: same keys touched, and a job rewritten with the same
# cjson decode / field updates (in the same order) / encode, so the stored bytes agree.
# Beyond Go: a member that is not a job, or a buried record, is left in place (Go's
# scripts fail on it after their ZREM, losing it), and one that cjson cannot write back is
# buried with the reason.

#: revive() returns 1 requeued, 0 still dead (unknown name), -1 left in place (unreadable
#: or buried: not retryable), -2 buried (could not be written back)
_CLIENT_REVIVE = LUA_BURY + """
local function revive(dead, member, queues, prefix, now)
  local decoded, job = pcall(cjson.decode, member)
  if not decoded or type(job) ~= 'table' then return -1, 'not readable JSON' end
  if is_buried(job) then return -1, 'a buried malformed payload (' .. tostring(job['err']) .. ')' end
  if type(job['name']) ~= 'string' then return -1, 'a record without a job name' end
  local queue = prefix .. job['name']
  local known = queues[queue]
  if known then
    job['t'] = tonumber(now)
    job['fails'] = nil
    job['failed_at'] = nil
    job['err'] = nil
  else
    job['err'] = 'unknown job when requeueing'
    job['failed_at'] = tonumber(now)
  end
  local text, problem = encoded(job)
  redis.call('zrem', dead, member)
  if not text then
    bury(dead, member, job['name'], dead, problem, tonumber(now))
    return -2, 'not writable by cjson (' .. problem .. '): buried in its place'
  end
  if known then
    redis.call('lpush', queue, text)
    return 1
  end
  redis.call('zadd', dead, now + 5, text)
  return 0
end
local function id_of(member)
  local decoded, job = pcall(cjson.decode, member)
  if decoded and type(job) == 'table' then return job['id'] end
  return nil
end
local queues = {}
for k = 2, #KEYS do queues[KEYS[k]] = true end
"""

#: Remove the members of a zset (dead, retry or scheduled) that have score ARGV[1] and
#: job id ARGV[2] (members that are not JSON are skipped, not fatal).
#: KEYS[1]: the zset.  Returns {number removed, last member removed or ''}.
CLIENT_DELETE_ZSET_JOB = Script(
    "client_delete_zset_job",
    """
local removed = 0
local last = ''
local members = redis.call('zrangebyscore', KEYS[1], ARGV[1], ARGV[1])
for n = 1, #members do
  local decoded, job = pcall(cjson.decode, members[n])
  if decoded and type(job) == 'table' and job['id'] == ARGV[2] then
    redis.call('zrem', KEYS[1], members[n])
    removed = removed + 1
    last = members[n]
  end
end
return {removed, last}
""",
)


def delete_zset_job_call(zset_key: str, score: int, job_id: str) -> Call:
    return Call(int(score), job_id, script=CLIENT_DELETE_ZSET_JOB, keys=[zset_key])


#: Beyond Go: remove the (oldest) member of a queue whose job id is ARGV[1], scanning
#: the list from its tail (oldest) in chunks of 1000; a plain-text search skips members
#: that cannot hold the id before any JSON decoding. A pool that fetched the job first
#: leaves nothing to remove, so a job is never both run and reported deleted.
#: KEYS[1]: the queue.  Returns {number removed (0 or 1), the member removed or ''}.
CLIENT_DELETE_QUEUED_JOB = Script(
    "client_delete_queued_job",
    """
local len = redis.call('llen', KEYS[1])
local stop = -1
while -stop <= len do
  local start = stop - 999
  local members = redis.call('lrange', KEYS[1], start, stop)
  for n = #members, 1, -1 do
    local m = members[n]
    if string.find(m, ARGV[1], 1, true) then
      local decoded, job = pcall(cjson.decode, m)
      if decoded and type(job) == 'table' and job['id'] == ARGV[1] then
        redis.call('lrem', KEYS[1], -1, m)
        return {1, m}
      end
    end
  end
  stop = start - 1
end
return {0, ''}
""",
)


def delete_queued_job_call(queue_key: str, job_id: str) -> Call:
    return Call(job_id, script=CLIENT_DELETE_QUEUED_JOB, keys=[queue_key])


#: Beyond Go: move the members of a retry or scheduled zset with score ARGV[2] and job id
#: ARGV[3] onto their queues now, bytes unchanged (what Go's requeuer does once they are
#: due). Members that are not jobs with a name are left in place. A requeuer (Go's or
#: ours) that moved the job first leaves nothing to match: never lost, never doubled.
#: KEYS[1]: the zset.  ARGV[1]: jobs prefix.  Returns {moved, matched}.
CLIENT_ZSET_JOB_NOW = Script(
    "client_zset_job_now",
    """
local moved, matched = 0, 0
local members = redis.call('zrangebyscore', KEYS[1], ARGV[2], ARGV[2])
for n = 1, #members do
  local decoded, job = pcall(cjson.decode, members[n])
  if decoded and type(job) == 'table' and job['id'] == ARGV[3] then
    matched = matched + 1
    if type(job['name']) == 'string' then
      redis.call('zrem', KEYS[1], members[n])
      redis.call('lpush', ARGV[1] .. job['name'], members[n])
      moved = moved + 1
    end
  end
end
return {moved, matched}
""",
)


def zset_job_now_call(keys: Keys, zset_key: str, score: int, job_id: str) -> Call:
    return Call(keys.jobs_prefix, int(score), job_id, script=CLIENT_ZSET_JOB_NOW, keys=[zset_key])


#: Beyond Go: empty a queue, only if ARGV[1] (the job name the user typed) is the name
#: the queue belongs to (ARGV[2]); the jobs a pool already fetched are not touched.
#: KEYS[1]: the queue.  Returns the number of jobs removed (-1: the names differ).
CLIENT_PURGE_QUEUE = Script(
    "client_purge_queue",
    """
if ARGV[1] ~= ARGV[2] then return -1 end
local n = redis.call('llen', KEYS[1])
redis.call('del', KEYS[1])
return n
""",
)


def purge_queue_call(keys: Keys, job_name: str, confirm: str) -> Call:
    return Call(confirm, job_name, script=CLIENT_PURGE_QUEUE, keys=[keys.jobs(job_name)])


#: Put the dead job(s) with score ARGV[3] and id ARGV[4] back on their queue (t set to
#: now; fails, failed_at, err dropped).  A job whose queue is not among the known ones goes
#: back to the dead set at now + 5 with Go's error text.  Buried records and members that
#: are not jobs are left in place.
#: KEYS[1]: dead zset; KEYS[2..]: queues of the known job names.
#: ARGV[1]: jobs prefix; ARGV[2]: now; ARGV[3]: died at; ARGV[4]: job id.
#: Returns {jobs requeued, jobs matched, matched but left in place, reason of the last
#: one left in place or buried ('' when none)}.
CLIENT_RETRY_DEAD_JOB = Script(
    "client_retry_dead_job",
    _CLIENT_REVIVE
    + """
local requeued, matched, kept, why = 0, 0, 0, ''
local members = redis.call('zrangebyscore', KEYS[1], ARGV[3], ARGV[3])
for n = 1, #members do
  if id_of(members[n]) == ARGV[4] then
    matched = matched + 1
    local r, reason = revive(KEYS[1], members[n], queues, ARGV[1], ARGV[2])
    if r > 0 then
      requeued = requeued + r
    elseif r < 0 then
      kept = kept + 1
      why = reason
    end
  end
end
return {requeued, matched, kept, why}
""",
)


def retry_dead_job_call(keys: Keys, job_names: Iterable[str], now: int, died_at: int, job_id: str) -> Call:
    """Retry one dead job; ``job_names``: the names whose queues count as known (Go: known_jobs)."""
    return Call(keys.jobs_prefix, now, int(died_at), job_id, script=CLIENT_RETRY_DEAD_JOB,
                keys=[keys.dead, *(keys.jobs(n) for n in job_names)])


def retry_dead_job_result(reply: Sequence[Any], job_id: str = "") -> tuple[int, int]:
    """(requeued, matched) from :data:`CLIENT_RETRY_DEAD_JOB`'s reply; raises
    :class:`~gowork_compat.burial.UnretryableJob` when what matched could not be retried."""
    requeued, matched = int(reply[0]), int(reply[1])
    if requeued == 0 and len(reply) > 2 and int(reply[2]) > 0:
        why = reply[3].decode("utf-8", "replace") if isinstance(reply[3], bytes) else str(reply[3])
        raise UnretryableJob(f"dead job {job_id} cannot be retried: it is {why}; it was left in the dead set "
                             "(delete it, or enqueue a repaired copy of args.raw_payload)")
    return requeued, matched


#: Requeue (as CLIENT_RETRY_DEAD_JOB does one) the up to ARGV[3] oldest dead jobs that died
#: at or before now; members left in place (buried or unreadable) are stepped over (at most
#: 10 * ARGV[3] of them per call).  KEYS, ARGV[1], ARGV[2] as CLIENT_RETRY_DEAD_JOB.
#: Returns {jobs requeued, jobs taken from the dead set}.
CLIENT_RETRY_ALL_DEAD = Script(
    "client_retry_all_dead",
    _CLIENT_REVIVE
    + """
local limit = tonumber(ARGV[3])
local requeued, taken, skipped = 0, 0, 0
while taken < limit and skipped < 10 * limit do
  local members = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', skipped, limit - taken)
  if #members == 0 then break end
  for n = 1, #members do
    local r = revive(KEYS[1], members[n], queues, ARGV[1], ARGV[2])
    if r == -1 then
      skipped = skipped + 1
    else
      taken = taken + 1
      if r > 0 then requeued = requeued + r end
    end
  end
end
return {requeued, taken}
""",
)


def retry_all_dead_call(keys: Keys, job_names: Iterable[str], now: int, limit: int) -> Call:
    return Call(keys.jobs_prefix, now, limit, script=CLIENT_RETRY_ALL_DEAD,
                keys=[keys.dead, *(keys.jobs(n) for n in job_names)])


#: Python-side extension: recompute a job name's concurrency lock from the lock_info
#: entries of live pools.  A pool is live when it is in the worker_pools set and its
#: heartbeat_at is less than ARGV[3] seconds old; the lock_info entries of other pools
#: are deleted, and the lock is set to the sum of the positive live entries.
#: KEYS[1]: lock; KEYS[2]: lock_info; KEYS[3]: worker_pools set.
#: ARGV[1]: heartbeat key prefix ("<ns>:worker_pools:"); ARGV[2]: now; ARGV[3]: dead after.
#: Returns {lock before (or -1 when unset), lock after, entries removed}.
CLIENT_RESET_LOCK = Script(
    "client_reset_lock",
    """
local before = tonumber(redis.call('get', KEYS[1])) or -1
local info = redis.call('hgetall', KEYS[2])
local total, removed = 0, 0
for n = 1, #info, 2 do
  local pool, held = info[n], tonumber(info[n + 1])
  local live = redis.call('sismember', KEYS[3], pool) == 1
  if live then
    local beat = tonumber(redis.call('hget', ARGV[1] .. pool, 'heartbeat_at'))
    live = beat ~= nil and beat + tonumber(ARGV[3]) > tonumber(ARGV[2])
  end
  if live then
    if held and held > 0 then total = total + held end
  else
    redis.call('hdel', KEYS[2], pool)
    removed = removed + 1
  end
end
redis.call('set', KEYS[1], total)
return {before, total, removed}
""",
)


def reset_lock_call(keys: Keys, job_name: str, now: int, dead_after: int) -> Call:
    return Call(keys.heartbeat(""), now, dead_after, script=CLIENT_RESET_LOCK,
                keys=[keys.lock(job_name), keys.lock_info(job_name), keys.worker_pools])


# -- doctor / repair (gowork_compat.doctor) ---------------------------------------------------
#: Repair: recount a job name's concurrency lock.  The in-progress list of each pool given
#: (live pools: KEYS[4..] with their ids in ARGV[4..]) is the truth for that pool's
#: lock_info entry; entries of pools that are not live (not in the worker_pools set, or
#: heartbeat older than ARGV[3] s) are deleted; entries of other live pools are kept.  The
#: lock is set to the sum.  Every pool (Go's fetch script, Go's MULTI acknowledgement, ours)
#: changes list, lock and lock_info together, so a recount never races one of them.
#: KEYS[1]: lock; KEYS[2]: lock_info; KEYS[3]: worker_pools.  ARGV[1]: heartbeat key prefix;
#: ARGV[2]: now; ARGV[3]: dead after.  Returns {lock before (-1 unset), lock after, entries changed}.
LOCK_RECOUNT = Script(
    "lock_recount",
    """
local counted = {}
for i = 4, #KEYS do counted[ARGV[i]] = redis.call('llen', KEYS[i]) end
local before = tonumber(redis.call('get', KEYS[1])) or -1
local info = redis.call('hgetall', KEYS[2])
local seen, total, changed = {}, 0, 0
for n = 1, #info, 2 do
  local pool, held = info[n], tonumber(info[n + 1])
  seen[pool] = true
  if counted[pool] then
    if held ~= counted[pool] then redis.call('hset', KEYS[2], pool, counted[pool]); changed = changed + 1 end
    total = total + counted[pool]
  else
    local live = redis.call('sismember', KEYS[3], pool) == 1
    if live then
      local beat = tonumber(redis.call('hget', ARGV[1] .. pool, 'heartbeat_at'))
      live = beat ~= nil and beat + tonumber(ARGV[3]) > tonumber(ARGV[2])
    end
    if live then
      if held and held > 0 then total = total + held end
    else
      redis.call('hdel', KEYS[2], pool)
      changed = changed + 1
    end
  end
end
for pool, c in pairs(counted) do
  if not seen[pool] and c > 0 then
    redis.call('hset', KEYS[2], pool, c); total = total + c; changed = changed + 1
  end
end
redis.call('set', KEYS[1], total)
return {before, total, changed}
""",
)


def lock_recount_call(keys: Keys, job_name: str, live_pools: Sequence[str], now: int, dead_after: int) -> Call:
    return Call(keys.heartbeat(""), now, dead_after, *live_pools, script=LOCK_RECOUNT,
                keys=[keys.lock(job_name), keys.lock_info(job_name), keys.worker_pools,
                      *(keys.in_progress(p, job_name) for p in live_pools)])


#: Repair: delete an orphaned unique key only when it is still the key that was seen: its
#: expiry time (server clock, ms; -1 none) within ARGV[2] ms of ARGV[1].  A key deleted and
#: set again by a new unique enqueue expires later, and is kept.  Returns 1 deleted, 0 kept.
UNIQUE_DROP = Script(
    "unique_drop",
    """
local ttl = redis.call('pttl', KEYS[1])
if ttl == -2 then return 0 end
local expiry = -1
if ttl >= 0 then
  local t = redis.call('time')
  expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
end
local seen = tonumber(ARGV[1])
if (seen == -1 and expiry == -1) or (seen >= 0 and expiry >= 0 and math.abs(expiry - seen) <= tonumber(ARGV[2])) then
  redis.call('del', KEYS[1])
  return 1
end
return 0
""",
)


def unique_drop_call(key: str, seen_expiry_ms: int, tolerance_ms: int = 250) -> Call:
    return Call(seen_expiry_ms, tolerance_ms, script=UNIQUE_DROP, keys=[key])


#: Repair: make a unique key live at least until ARGV[1] (epoch ms) when it exists and would
#: expire sooner (never shortens it, never creates it).  Returns 1 extended, 0 not.
UNIQUE_EXTEND = Script(
    "unique_extend",
    """
local ttl = redis.call('pttl', KEYS[1])
if ttl < 0 then return 0 end
local t = redis.call('time')
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
if expiry >= tonumber(ARGV[1]) then return 0 end
redis.call('pexpireat', KEYS[1], ARGV[1])
return 1
""",
)


def unique_extend_call(key: str, until_ms: int) -> Call:
    return Call(until_ms, script=UNIQUE_EXTEND, keys=[key])


#: Repair: drop a job name from known_jobs when its queue is empty (checked at that moment).
#: KEYS[1]: known_jobs; KEYS[2]: the queue.  ARGV[1]: the name.  Returns 1 removed, 0 kept.
KNOWN_JOB_PRUNE = Script(
    "known_job_prune",
    """
if redis.call('exists', KEYS[2]) == 1 then return 0 end
return redis.call('srem', KEYS[1], ARGV[1])
""",
)


def known_job_prune_call(keys: Keys, job_name: str) -> Call:
    return Call(job_name, script=KNOWN_JOB_PRUNE, keys=[keys.known_jobs, keys.jobs(job_name)])


#: Repair: move one malformed payload from a queue to the dead set as a buried record (the
#: record made by gowork_compat.burial.buried_job).  Only when LREM found the exact bytes:
#: a payload a pool fetched meanwhile is not buried as well.
#: KEYS[1]: the queue; KEYS[2]: dead.  ARGV[1]: payload; ARGV[2]: now; ARGV[3]: record.
#: Returns 1 buried, 0 gone.
BURY_QUEUED = Script(
    "bury_queued",
    """
if redis.call('lrem', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('zadd', KEYS[2], ARGV[2], ARGV[3])
return 1
""",
)


def bury_queued_call(keys: Keys, queue_key: str, raw: bytes, now: int, record: bytes) -> Call:
    return Call(raw, now, record, script=BURY_QUEUED, keys=[queue_key, keys.dead])
