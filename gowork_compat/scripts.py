"""All Lua scripts, in one place. Pure data: no I/O.

Each script states its KEYS/ARGV contract. Scripts that exist in gocraft/work have the
same effect on Redis as the Go ones (same keys touched, same values written, the same
cjson decode/modify/encode sequence where a job is rewritten, so the bytes agree).
Scripts marked *batch* are Python-side extensions: they do what N calls of the Go
script would do, in one call. See ``spec/README.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = [
    "ACK_BATCH",
    "CLIENT_DELETE_ZSET_JOB",
    "CLIENT_RESET_LOCK",
    "CLIENT_RETRY_ALL_DEAD",
    "CLIENT_RETRY_DEAD_JOB",
    "ENQUEUE_UNIQUE",
    "ENQUEUE_UNIQUE_IN",
    "FETCH",
    "FETCH_BATCH",
    "FETCH_KEYS_PER_JOB",
    "REAP_STALE_LOCKS",
    "REENQUEUE_IN_PROGRESS",
    "REQUEUE_DUE",
    "Script",
]


@dataclass(frozen=True)
class Script:
    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode("utf-8")).hexdigest())


#: keys per registered job name given to the fetch scripts:
#: queue, in-progress list, paused flag, lock counter, lock_info hash, max_concurrency
FETCH_KEYS_PER_JOB = 6

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

#: *batch*: up to ARGV[2] single fetches in one call, all with the same sampled order.
#: Leaves Redis exactly as that many Go fetches would: per job name in order, as many jobs
#: as the queue has, the pause allows and max_concurrency leaves room for, moved from the
#: queue's tail to the in-progress list's head in RPOPLPUSH order (one LRANGE/LTRIM/LPUSH
#: instead of one RPOPLPUSH each), the lock and lock_info raised by that count.
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

#: Move due jobs of a zset (retry or scheduled) to their queues; at most ARGV[3] of them.
#: KEYS[1]: the zset; KEYS[2]: dead zset; KEYS[3..]: queues of the job names this pool knows.
#: ARGV[1]: jobs prefix; ARGV[2]: now (epoch s); ARGV[3]: max jobs to move (Go: 1 per call);
#: ARGV[4]: known_jobs set key, or "" (Go: "").  A job whose queue is not among KEYS[3..]
#: (nor, when ARGV[4] is set, named in known_jobs) goes dead with Go's error text.
#: Returns the number of jobs moved to queues plus sent dead.
REQUEUE_DUE = Script(
    "requeue_due",
    """
local limit = tonumber(ARGV[3])
local moved = 0
local known = {}
for k = 3, #KEYS do known[KEYS[k]] = true end
while moved < limit do
  local due = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, 1)
  if #due == 0 then break end
  redis.call('zrem', KEYS[1], due[1])
  local decoded, job = pcall(cjson.decode, due[1])
  if not decoded or type(job) ~= 'table' or type(job['name']) ~= 'string' then
    -- Go's script would raise here on every call, forever; bury the payload instead.
    job = {id = 'malformed-' .. redis.sha1hex(due[1]), t = tonumber(ARGV[2]), args = {raw_payload = due[1]},
           fails = 1, err = 'malformed job payload in ' .. KEYS[1]}
  end
  local queue = ARGV[1] .. tostring(job['name'])
  local ok = job['name'] ~= nil and known[queue]
  if not ok and job['name'] ~= nil and ARGV[4] ~= '' then
    ok = redis.call('sismember', ARGV[4], job['name']) == 1
  end
  if ok then
    job['t'] = tonumber(ARGV[2])
    redis.call('lpush', queue, cjson.encode(job))
  else
    if job['name'] ~= nil then job['err'] = 'unknown job when requeueing' end
    job['failed_at'] = tonumber(ARGV[2])
    redis.call('zadd', KEYS[2], ARGV[2], cjson.encode(job))
  end
  moved = moved + 1
end
return moved
""",
)

#: Reaper: move the in-progress jobs of a dead pool back to their queues, releasing the
#: lock and lock_info count each one held.  At most ARGV[2] jobs per call.
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
    redis.call('decr', KEYS[i+2])
    redis.call('hincrby', KEYS[i+3], ARGV[1], -1)
    moved = moved + 1
  end
end
return moved
""",
)

#: Reaper: give back the lock counts a dead pool still holds.
#: KEYS: 2 per job name: lock, lock_info.  ARGV[1]: dead pool id.
REAP_STALE_LOCKS = Script(
    "reap_stale_locks",
    """
for i = 1, #KEYS, 2 do
  local held = tonumber(redis.call('hget', KEYS[i+1], ARGV[1]))
  if held then
    redis.call('decrby', KEYS[i], held)
    redis.call('hdel', KEYS[i+1], ARGV[1])
    if tonumber(redis.call('get', KEYS[i])) < 0 then
      redis.call('set', KEYS[i], 0)
    end
  end
end
return nil
""",
)

def _unique_enqueue(name: str, place: str) -> Script:
    """The unique enqueue guard around ``place`` (the Lua that stores the job)."""
    return Script(name, f"""
if redis.call('set', KEYS[2], ARGV[2], 'NX', 'EX', '86400') then
  {place}
  return 'ok'
end
if ARGV[3] == '1' then
  redis.call('set', KEYS[2], ARGV[2], 'EX', '86400')
end
return 'dup'
""")


#: Unique enqueue onto a queue.  KEYS[1]: queue; KEYS[2]: unique key.
#: ARGV[1]: job JSON; ARGV[2]: value stored under the unique key ("1", or with
#: unique-by-key the job JSON); ARGV[3]: "1" to refresh the key on a duplicate
#: (upstream master) or "0" (v0.5.1).  Returns 'ok' or 'dup'.
ENQUEUE_UNIQUE = _unique_enqueue("enqueue_unique", "redis.call('lpush', KEYS[1], ARGV[1])")

#: Unique enqueue into the scheduled zset.  KEYS[1]: scheduled zset; KEYS[2]: unique key.
#: ARGV[1]: job JSON; ARGV[2]: unique key value; ARGV[3]: refresh flag; ARGV[4]: run at.
ENQUEUE_UNIQUE_IN = _unique_enqueue("enqueue_unique_in", "redis.call('zadd', KEYS[1], ARGV[4], ARGV[1])")

#: *batch*: acknowledge finished jobs with the effect of Go's MULTI after each job: LREM
#: the in-progress entry, ZADD to retry or dead when the job failed, and the lock and
#: lock_info lowered by one per job (one DECRBY/HINCRBY per job name for the batch).
#: KEYS[1]: retry zset; KEYS[2]: dead zset; then 3 per job name: in-progress, lock, lock_info.
#: ARGV[1]: pool id; then 5 per job: name group (1-based), raw in-progress bytes,
#: fate (0 done, 1 retry, 2 dead), zset score, zset member.
ACK_BATCH = Script(
    "ack_batch",
    """
local pool = ARGV[1]
local released = {}
for a = 2, #ARGV, 5 do
  local g = tonumber(ARGV[a])
  redis.call('lrem', KEYS[2 + (g - 1) * 3 + 1], 1, ARGV[a + 1])
  released[g] = (released[g] or 0) + 1
  local fate = ARGV[a + 2]
  if fate == '1' then
    redis.call('zadd', KEYS[1], ARGV[a + 3], ARGV[a + 4])
  elseif fate == '2' then
    redis.call('zadd', KEYS[2], ARGV[a + 3], ARGV[a + 4])
  end
end
for g, n in pairs(released) do
  local base = 2 + (g - 1) * 3
  redis.call('decrby', KEYS[base + 2], n)
  redis.call('hincrby', KEYS[base + 3], pool, -n)
end
return (#ARGV - 1) / 5
""",
)


# -- client scripts --
# Used by gowork_compat.client (Client / AsyncClient). Where Go's work.Client has a
# script, ours has the same effect: same keys touched, and a job rewritten with the same
# cjson decode / field updates (in the same order) / encode, so the stored bytes agree.

_CLIENT_REVIVE = """
local function revive(dead, member, queues, prefix, now)
  local job = cjson.decode(member)
  redis.call('zrem', dead, member)
  local queue = prefix .. job['name']
  if queues[queue] then
    job['t'] = tonumber(now)
    job['fails'] = nil
    job['failed_at'] = nil
    job['err'] = nil
    redis.call('lpush', queue, cjson.encode(job))
    return 1
  end
  job['err'] = 'unknown job when requeueing'
  job['failed_at'] = tonumber(now)
  redis.call('zadd', dead, now + 5, cjson.encode(job))
  return 0
end
local queues = {}
for k = 2, #KEYS do queues[KEYS[k]] = true end
"""

#: Remove the members of a zset (dead, retry or scheduled) that have score ARGV[1] and
#: job id ARGV[2].  KEYS[1]: the zset.  Returns {number removed, last member removed or ''}.
CLIENT_DELETE_ZSET_JOB = Script(
    "client_delete_zset_job",
    """
local removed = 0
local last = ''
local members = redis.call('zrangebyscore', KEYS[1], ARGV[1], ARGV[1])
for n = 1, #members do
  if cjson.decode(members[n])['id'] == ARGV[2] then
    redis.call('zrem', KEYS[1], members[n])
    removed = removed + 1
    last = members[n]
  end
end
return {removed, last}
""",
)

#: Put the dead job(s) with score ARGV[3] and id ARGV[4] back on their queue (t set to
#: now; fails, failed_at, err dropped).  A job whose queue is not among the known ones goes
#: back to the dead set at now + 5 with Go's error text.
#: KEYS[1]: dead zset; KEYS[2..]: queues of the known job names.
#: ARGV[1]: jobs prefix; ARGV[2]: now; ARGV[3]: died at; ARGV[4]: job id.
#: Returns {jobs requeued, jobs matched}.
CLIENT_RETRY_DEAD_JOB = Script(
    "client_retry_dead_job",
    _CLIENT_REVIVE
    + """
local requeued, matched = 0, 0
local members = redis.call('zrangebyscore', KEYS[1], ARGV[3], ARGV[3])
for n = 1, #members do
  if cjson.decode(members[n])['id'] == ARGV[4] then
    matched = matched + 1
    requeued = requeued + revive(KEYS[1], members[n], queues, ARGV[1], ARGV[2])
  end
end
return {requeued, matched}
""",
)

#: Requeue (as CLIENT_RETRY_DEAD_JOB does one) the up to ARGV[3] oldest dead jobs that died
#: at or before now.  KEYS, ARGV[1], ARGV[2] as CLIENT_RETRY_DEAD_JOB.
#: Returns {jobs requeued, jobs taken from the dead set}.
CLIENT_RETRY_ALL_DEAD = Script(
    "client_retry_all_dead",
    _CLIENT_REVIVE
    + """
local requeued = 0
local members = redis.call('zrangebyscore', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
for n = 1, #members do
  requeued = requeued + revive(KEYS[1], members[n], queues, ARGV[1], ARGV[2])
end
return {requeued, #members}
""",
)

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
