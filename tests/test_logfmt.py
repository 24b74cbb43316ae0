"""The JSON log format: one object per line, job fields and tracebacks kept, applied to
whichever of the root and library loggers has the handlers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from gowork_compat.logfmt import JsonFormatter, use_json_logs


@pytest.fixture
def lib_handler() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    lib = logging.getLogger("gowork_compat")
    old_level, old_prop = lib.level, lib.propagate
    lib.addHandler(handler)
    lib.setLevel(logging.INFO)
    lib.propagate = False
    try:
        yield out
    finally:
        lib.removeHandler(handler)
        lib.setLevel(old_level)
        lib.propagate = old_prop


def test_library_handler_gets_json_lines(lib_handler: io.StringIO) -> None:
    use_json_logs(logging.getLogger("gowork_compat"))
    log = logging.getLogger("gowork_compat.jobs")
    log.info("job %s done", "x", extra={"job_name": "x", "job_id": "j1", "pool_id": "p1", "outcome": "succeeded",
                                        "duration": 0.5})
    try:
        raise ValueError("bad <thing>")
    except ValueError:
        logging.getLogger("gowork_compat.pool").exception("handler failed")
    first, second = (json.loads(line) for line in lib_handler.getvalue().splitlines())
    assert first["message"] == "job x done" and first["logger"] == "gowork_compat.jobs"
    assert {k: first[k] for k in ("job_name", "job_id", "pool_id", "outcome", "duration")} == {
        "job_name": "x", "job_id": "j1", "pool_id": "p1", "outcome": "succeeded", "duration": 0.5}
    assert second["level"] == "error" and "ValueError: bad <thing>" in second["exc"]
    assert "job_name" not in second


def test_formatter_alone() -> None:
    rec = logging.LogRecord("a", logging.WARNING, __file__, 1, "n=%d", (3,), None)
    out = json.loads(JsonFormatter().format(rec))
    assert out["message"] == "n=3" and out["level"] == "warning" and out["time"].endswith("Z")
