"""Check what is stored in a live namespace: every job against its contract
(:func:`check_contracts`, ``gowork contracts check``), and every job, heartbeat, worker
observation and lock_info hash against the protocol's JSON Schemas (:func:`validate_namespace`,
``gowork validate``), which find foreign or corrupt entries written by anything.

The schemas are ``spec/*.schema.json`` of the repository, shipped in this package
(:func:`spec_schema`). Both need ``jsonschema`` (``pip install 'gowork-compat[contracts]'``).
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

from .contracts import Contracts, _pointer
from .keys import Keys

__all__ = ["SPEC_KINDS", "Problem", "StoredJob", "check_contracts", "iter_stored_jobs", "spec_schema",
           "validate_namespace"]

SPEC_KINDS = ("job", "heartbeat", "observation", "lock_info")


@dataclass(frozen=True)
class StoredJob:
    """One job payload as stored: where (queue, in_progress, scheduled, retry, dead), the key."""

    where: str
    key: str
    raw: bytes


@dataclass(frozen=True)
class Problem:
    """One violation: where it is (key, and job id and name for jobs), what schema or contract,
    the JSON pointer of the offending value and the message."""

    key: str
    kind: str
    pointer: str
    message: str
    where: str = ""
    job_id: str = ""
    job_name: str = ""

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        job = f" job {self.job_id} ({self.job_name})" if self.job_id or self.job_name else ""
        return f"{self.key}{job}: {self.kind} {self.pointer or '/'}: {self.message}"


def _text(b: Any) -> str:
    return b.decode("utf-8", "surrogateescape") if isinstance(b, bytes) else str(b)


def _scan(r: Any, pattern: str) -> list[str]:
    return sorted(_text(k) for k in r.scan_iter(match=pattern, count=1000))


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def iter_stored_jobs(r: Any, namespace: str) -> Iterator[StoredJob]:
    """Every job payload of the namespace: queues, in-progress lists, scheduled, retry, dead."""
    keys = Keys(namespace)
    prefix = _glob_escape(keys.jobs_prefix)
    for key in _scan(r, prefix + "*"):
        if r.type(key) not in (b"list", "list"):
            continue  # paused, lock, lock_info, max_concurrency
        where = "in_progress" if key.endswith(":inprogress") else "queue"
        for raw in r.lrange(key, 0, -1):
            yield StoredJob(where, key, bytes(raw))
    for where, key in (("scheduled", keys.scheduled), ("retry", keys.retry), ("dead", keys.dead)):
        for raw in r.zrange(key, 0, -1):
            yield StoredJob(where, key, bytes(raw))


def _job_doc(raw: bytes) -> tuple[Any, str]:
    try:
        return json.loads(raw), ""
    except ValueError as e:
        return None, f"not JSON: {e}"


def check_contracts(r: Any, namespace: str, contracts: Contracts) -> tuple[int, list[Problem]]:
    """(number of jobs checked, violations) for every stored job whose name has a contract."""
    checked = 0
    problems: list[Problem] = []
    for sj in iter_stored_jobs(r, namespace):
        doc, _ = _job_doc(sj.raw)
        if not isinstance(doc, dict) or not isinstance(doc.get("name"), str) or doc["name"] not in contracts:
            continue
        checked += 1
        for v in contracts.violations(doc["name"], doc.get("args")):
            problems.append(Problem(sj.key, f"contract {doc['name']}", "/args" + v.pointer, v.message, sj.where,
                                    str(doc.get("id", "")), doc["name"]))
    return checked, problems


@functools.cache
def spec_schema(kind: str) -> dict[str, Any]:
    """The protocol's JSON Schema ``kind`` (job, heartbeat, observation, lock_info)."""
    if kind not in SPEC_KINDS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {SPEC_KINDS}")
    text = resources.files("gowork_compat").joinpath("spec").joinpath(f"{kind}.schema.json").read_text(encoding="utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


@functools.cache
def _validator(kind: str) -> Any:
    try:
        js = importlib.import_module("jsonschema")
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("validation needs jsonschema: pip install 'gowork-compat[contracts]'") from e
    return js.Draft202012Validator(spec_schema(kind))


def _against(kind: str, instance: Any, key: str, where: str = "", job_id: str = "", job_name: str = ""
             ) -> list[Problem]:
    errors = sorted(_validator(kind).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    return [Problem(key, kind, _pointer(e.absolute_path), e.message, where, job_id, job_name) for e in errors]


def _hash(r: Any, key: str) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in r.hgetall(key).items()}


def validate_namespace(r: Any, namespace: str) -> tuple[dict[str, int], list[Problem]]:
    """({kind: entries checked}, problems) for every job, heartbeat, worker observation and
    lock_info hash of the namespace, against the spec's schemas."""
    keys = Keys(namespace)
    counts = dict.fromkeys(SPEC_KINDS, 0)
    problems: list[Problem] = []
    for sj in iter_stored_jobs(r, namespace):
        counts["job"] += 1
        doc, err = _job_doc(sj.raw)
        if err:
            problems.append(Problem(sj.key, "job", "", f"{err}; payload {sj.raw[:80]!r}", sj.where))
            continue
        jid = str(doc.get("id", "")) if isinstance(doc, dict) else ""
        name = str(doc.get("name", "")) if isinstance(doc, dict) else ""
        problems += _against("job", doc, sj.key, sj.where, jid, name)
    for member in sorted(_text(m) for m in r.smembers(keys.worker_pools)):
        key = keys.heartbeat(member)
        if r.exists(key):
            counts["heartbeat"] += 1
            problems += _against("heartbeat", _hash(r, key), key)
    for key in _scan(r, _glob_escape(keys.prefix + "worker:") + "*"):
        if r.type(key) in (b"hash", "hash"):
            counts["observation"] += 1
            problems += _against("observation", _hash(r, key), key)
    for key in _scan(r, _glob_escape(keys.jobs_prefix) + "*:lock_info"):
        counts["lock_info"] += 1
        problems += _against("lock_info", _hash(r, key), key)
    return counts, problems
