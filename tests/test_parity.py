"""The sync and asyncio front ends are held equal: same public methods, same signatures,
and each pair hands the same call to the shared planner (so one cannot drift from the other)."""

from __future__ import annotations

import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any

import pytest

from gowork_compat.client import AsyncClient, Client, ClientPlanner
from gowork_compat.enqueuer import AsyncEnqueuer, Enqueuer

#: sync name -> async name where they differ
RENAMED = {"close": "aclose"}


def public_methods(cls: type) -> dict[str, Callable[..., Any]]:
    return {n: f for n, f in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")}


def planner_calls(fn: Callable[..., Any]) -> list[str]:
    src = textwrap.dedent(inspect.getsource(fn))
    return re.findall(r"self\.planner\.\w+\([^\n]*\)", src)


def signature_of(fn: Callable[..., Any]) -> tuple[Any, ...]:
    sig = inspect.signature(fn)
    params = tuple((p.name, p.kind, p.default, str(p.annotation)) for p in sig.parameters.values())
    return params, str(sig.return_annotation)


@pytest.mark.parametrize(("sync_cls", "async_cls"), [(Client, AsyncClient), (Enqueuer, AsyncEnqueuer)])
def test_sync_and_async_front_ends_match(sync_cls: type, async_cls: type) -> None:
    sync, asyn = public_methods(sync_cls), public_methods(async_cls)
    assert sorted(RENAMED.get(n, n) for n in sync) == sorted(asyn)
    for name, fn in sync.items():
        twin = asyn[RENAMED.get(name, name)]
        assert not inspect.iscoroutinefunction(fn), name
        assert inspect.iscoroutinefunction(twin), name
        assert signature_of(fn) == signature_of(twin), name
        assert planner_calls(fn) == planner_calls(twin), name
        if name not in RENAMED:
            assert planner_calls(fn), f"{sync_cls.__name__}.{name} does not use the planner"
    assert signature_of(sync_cls.__init__) == signature_of(async_cls.__init__)  # type: ignore[misc]


def test_every_client_plan_has_its_front_end_methods() -> None:
    plans = {n[len("plan_"):] for n in public_methods(ClientPlanner) if n.startswith("plan_")}
    for name in plans:
        for cls in (Client, AsyncClient):
            method = getattr(cls, name, None)
            assert method is not None, f"{cls.__name__} has no {name}()"
            assert planner_calls(method) and all(f"plan_{name}(" in c for c in planner_calls(method)), name
