"""``gowork namespaces``: every gocraft/work namespace on a Redis, a Sentinel-managed master or
every shard of a Redis Cluster (see docs/scaling.md)."""

from __future__ import annotations

from ..namespaces import find_namespaces
from .connection import _Ctx, _current_url, check_url, redact
from .render import _dumps, _out, table

__all__ = ["cmd_namespaces"]


def cmd_namespaces(ctx: _Ctx) -> int:
    check_url(ctx.url)
    _current_url[:] = [ctx.url]
    found = find_namespaces(ctx.url)
    if ctx.args.json:
        _out(_dumps([s.to_json() for s in found]))
        return 0
    if not found:
        _out(f"no gocraft/work namespace found on {redact(ctx.url)}")
        return 0
    _out(table(["NAMESPACE", "NODE", "QUEUED", "POOLS", "JOB NAMES"],
               [[s.namespace, s.node, s.queued, s.worker_pools, s.job_names] for s in found], right=(2, 3, 4)))
    return 0
