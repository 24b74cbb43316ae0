"""The enqueuer refuses input it cannot write as Go would, before writing anything (no Go
involved: moved out of the interop suite)."""

from __future__ import annotations

import pytest
import redis

from gowork_compat.enqueuer import Enqueuer


def test_python_refuses_bad_input_before_writing(redis_url: str, ns: str, r: redis.Redis) -> None:
    enq = Enqueuer(redis_url, ns)
    with pytest.raises(ValueError, match="empty"):
        enq.enqueue("", {})
    with pytest.raises(TypeError, match="dict"):
        enq.enqueue("x", [1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"NaN|nan|Inf|inf"):
        enq.enqueue("x", {"f": float("nan")})
    with pytest.raises(ValueError, match=r"2\*\*53|precision|string"):
        enq.enqueue("x", {"id": 2**60})
    with pytest.raises(ValueError, match=r'args\["o"\]: unsupported type object'):
        enq.enqueue("x", {"o": object()})
    with pytest.raises(ValueError, match=r'args\["bad"\]: unsupported type set'):
        enq.enqueue_many([("ok", {}), ("x", {"bad": {1, 2}})])
    assert r.keys(f"{ns}*") == []
    assert Enqueuer(redis_url, ns, allow_big_ints=True).enqueue("x", {"id": 2**60}).args == {"id": 2**60}
