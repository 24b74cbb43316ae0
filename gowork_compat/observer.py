"""Worker observations: the ``<ns>:worker:<worker_id>`` hashes that tell clients and web
UIs which job each worker slot is running and its last check-in.

Go writes a worker's very first observation at once and later ones at most once a
second; :class:`Observer` keeps one state per worker slot and produces the commands of
one flush for all slots that changed.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import gojson
from ._redis import Call
from .job import Job
from .keys import Keys

__all__ = ["OBSERVATION_TTL", "Observer"]

#: seconds an observation hash lives without being rewritten
OBSERVATION_TTL = 24 * 60 * 60


@dataclass
class _Current:
    job: Job
    started_at: int
    checkin: str = ""
    checkin_at: int = 0

    @property
    def args_json(self) -> str:
        # Go writes "" for empty args, else json.Marshal of them; computed only when written
        args = self.job.args
        if not args:
            return ""
        try:
            return gojson.dumps(args).decode("utf-8")
        except (gojson.GoJSONError, RecursionError):  # a handler put something JSON cannot hold
            return '"(args cannot be written as JSON)"'



class Observer:
    def __init__(self, keys: Keys, worker_ids: list[str]) -> None:
        self.keys = keys
        self._current: dict[str, _Current | None] = {w: None for w in worker_ids}
        self._dirty: set[str] = set()
        self._ever: set[str] = set()

    def started(self, worker_id: str, job: Job, now: int) -> bool:
        """Record a job start; True when this slot's first observation must be written now."""
        self._current[worker_id] = _Current(job, now)
        return self._touch(worker_id)

    def done(self, worker_id: str) -> bool:
        self._current[worker_id] = None
        return self._touch(worker_id)

    def checkin(self, worker_id: str, job_id: str, message: str, now: int) -> bool:
        cur = self._current.get(worker_id)
        if cur is None or cur.job.id != job_id:
            return False
        cur.checkin = message
        cur.checkin_at = now
        return self._touch(worker_id)

    def _touch(self, worker_id: str) -> bool:
        self._dirty.add(worker_id)
        if worker_id not in self._ever:
            self._ever.add(worker_id)
            return True
        return False

    def dirty(self) -> set[str]:
        """The slots the next flush writes (to put back with :meth:`mark_dirty_again`)."""
        return set(self._dirty)

    @property
    def pending(self) -> bool:
        return bool(self._dirty)

    def flush_calls(self) -> list[Call]:
        calls: list[Call] = []
        for wid in sorted(self._dirty):
            key = self.keys.worker_observation(wid)
            cur = self._current.get(wid)
            if cur is None:
                calls.append(Call("DEL", key))
                continue
            fields: list[object] = ["job_name", cur.job.name, "job_id", cur.job.id,
                                    "started_at", cur.started_at, "args", cur.args_json]
            if cur.checkin and cur.checkin_at > 0:
                fields += ["checkin", cur.checkin, "checkin_at", cur.checkin_at]
            calls.append(Call("HSET", key, *fields))
            calls.append(Call("EXPIRE", key, OBSERVATION_TTL))
        self._dirty.clear()
        return calls

    def mark_dirty_again(self, worker_ids: set[str]) -> None:
        """Put slots back after a failed flush."""
        self._dirty |= worker_ids

    def clear_all_calls(self) -> list[Call]:
        """On stop: remove every observation of this pool's slots."""
        return [Call("DEL", *[self.keys.worker_observation(w) for w in self._current])]
