"""``--log-format json``: one JSON object per log line, and a log line per finished job.

:class:`JsonFormatter` is a plain :class:`logging.Formatter`; it writes ``time``, ``level``,
``logger`` and ``message``, the job fields a record carries (``job_name``, ``job_id``,
``pool_id``, ``outcome``, ``duration``: see :class:`JobLog`) and ``exc`` with the traceback.
:func:`use_json_logs` puts it on the handlers of the root and library loggers; the CLI applies it for
``gowork worker --log-format json``. Without it, logging stays stdlib's plain text.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from .job import Job

if TYPE_CHECKING:
    from .pool.api import WorkerPool

__all__ = ["JOB_FIELDS", "JobLog", "JsonFormatter", "log_jobs", "use_json_logs"]

#: record attributes copied into the JSON object when present
JOB_FIELDS = ("job_name", "job_id", "pool_id", "outcome", "duration", "fails", "error")

job_log = logging.getLogger("gowork_compat.jobs")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            if name in record.__dict__:
                out[name] = record.__dict__[name]
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


class JobLog:
    """A job hook (:mod:`gowork_compat.jobhooks`) that logs every finished job at INFO on
    ``gowork_compat.jobs`` with its job fields as record attributes."""

    def started(self, job: Job, pool_id: str, waited: float | None) -> None:
        pass

    def finished(self, job: Job, pool_id: str, outcome: str, duration: float, error: BaseException | None) -> None:
        if not job_log.isEnabledFor(logging.INFO):
            return
        extra: dict[str, Any] = {"job_name": job.name, "job_id": job.id, "pool_id": pool_id, "outcome": outcome,
                                 "duration": round(duration, 6), "fails": job.fails}
        if error is not None:
            from .pool.runner import error_text

            extra["error"] = error_text(error)  # the job's err, as stored
        job_log.info("job %s %s in %.3f s", job.name, outcome, duration, extra=extra)


def log_jobs(pool: WorkerPool) -> JobLog:
    """Log every job ``pool`` finishes (add before it starts)."""
    from .jobhooks import add_job_hook

    hook = JobLog()
    add_job_hook(pool, hook)
    return hook


def use_json_logs(*loggers: logging.Logger) -> None:
    """Format every handler of ``loggers`` (default: the root logger and the library's
    ``gowork_compat`` logger) as JSON lines; adds a stderr handler to the first when none
    of them has one."""
    targets = loggers or (logging.getLogger(), logging.getLogger("gowork_compat"))
    found = False
    for target in targets:
        for h in target.handlers:
            h.setFormatter(JsonFormatter())
            found = True
    if not found:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        targets[0].addHandler(handler)
