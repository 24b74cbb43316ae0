"""Operations subcommands: ``gowork exporter`` (Prometheus namespace exporter),
``gowork doctor`` / ``gowork repair``, and the worker's ``--metrics-port`` /
``--log-format`` (applied by :func:`prepare_worker`)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from .connection import _Ctx
from .errors import EXIT_ADDRESS_IN_USE, PROG, CLIError
from .render import _cut, _note, _say, table

if TYPE_CHECKING:
    from ..doctor import Report
    from ..pool import WorkerPool

__all__ = ["cmd_doctor", "cmd_exporter", "cmd_repair", "prepare_worker"]

#: exit status of doctor when it found something
EXIT_FOUND = 5


def _metrics_module() -> Any:
    try:
        from .. import metrics
    except ImportError as exc:
        raise CLIError(str(exc)) from None
    return metrics


def prepare_worker(pool: WorkerPool, args: argparse.Namespace) -> None:
    """``gowork worker``: JSON logs and job log lines for ``--log-format json`` (after the
    logging set-up), Prometheus metrics on ``--metrics-port``."""
    if getattr(args, "log_format", "text") == "json":
        from ..logfmt import log_jobs, use_json_logs

        use_json_logs()
        log_jobs(pool)
    port = getattr(args, "metrics_port", None)
    if port is not None:
        m = _metrics_module()
        pm = m.instrument(pool)
        host = getattr(args, "metrics_host", "127.0.0.1")
        try:
            m.serve(port, pm.registry, addr=host)
        except OSError as exc:
            raise CLIError(f"cannot serve metrics on {host}:{port}: {exc}", EXIT_ADDRESS_IN_USE) from exc
        _say(f"{PROG}: metrics on http://{host}:{port}/metrics", sys.stderr)


def cmd_exporter(ctx: _Ctx) -> int:
    a = ctx.args
    m = _metrics_module()
    ns = ctx.need_namespace()
    registry, collector = m.exporter_registry(ctx.redis(), ns, max_job_names=a.max_job_names,
                                              max_pools=a.max_job_names)
    list(collector.collect())  # fail now, not on the first scrape, when Redis is unreachable
    try:
        server = m.serve(a.port, registry, addr=a.host)
    except OSError as exc:
        raise CLIError(f"cannot serve on {a.host}:{a.port}: {exc}", EXIT_ADDRESS_IN_USE) from exc
    _say(f"{PROG}: exporting namespace {ns!r} on http://{a.host}:{a.port}/metrics "
         f"({collector.commands_last_scrape} Redis commands in {collector.round_trips_last_scrape} round trips "
         "per scrape now)")
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    done.wait()
    server.shutdown()
    return 0


def _print_report(report: Report, as_json: bool, wide: bool) -> None:
    if as_json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
        return
    if not report.findings:
        _say(f"namespace {report.namespace!r}: nothing to repair")
    else:
        done = {(x["kind"], x["key"]): x for x in report.actions}
        rows = []
        for f in report.findings:
            act = done.get((f.kind, f.key))
            what = f.fix or "(report only)"
            if act is not None and "result" in act:
                what = act["result"]
            elif act is not None and act.get("dry_run"):
                what = "would " + f.fix
            rows.append([f.kind, _cut(f.key, wide), _cut(f.detail, wide), _cut(what, wide)])
        print(table(["KIND", "KEY", "DETAIL", "REPAIR"], rows))
    for key in report.truncated:
        _note(f"{key} was read only in part (see --max-scan)")


def cmd_doctor(ctx: _Ctx) -> int:
    from ..doctor import diagnose

    a = ctx.args
    report = diagnose(ctx.redis(), ctx.need_namespace(), max_scan=a.max_scan)
    _print_report(report, a.json, a.wide)
    return EXIT_FOUND if report.findings else 0


def cmd_repair(ctx: _Ctx) -> int:
    from ..doctor import repair

    a = ctx.args
    report = repair(ctx.redis(), ctx.need_namespace(), dry_run=not a.yes, max_scan=a.max_scan)
    _print_report(report, a.json, a.wide)
    if not a.yes and any(f.fix for f in report.findings) and not a.json:
        _note("dry run: nothing was written; run again with --yes to repair")
    return 0


def add_parsers(subs: Any, sub: Any, global_options: Any) -> None:
    """The parser entries of these subcommands (called by :func:`..parser.build_parser`)."""
    from ..doctor import DEFAULT_MAX_SCAN

    p = sub(subs, "exporter", "serve Prometheus metrics of the whole namespace (Go pools included)",
            "Serve Prometheus metrics read from the namespace on every scrape: per job name queue\n"
            "length, age of the oldest queued job, lock, max concurrency and paused; scheduled,\n"
            "retry and dead set sizes; live pools, their concurrency and busy workers (Go's and ours).\n"
            "Needs no pool of ours. Each scrape sends 5 + 5*J + P + B Redis commands in 3 pipelined\n"
            "round trips (J job names, P registered pools, B job names of live pools). Needs the\n"
            "'metrics' extra (prometheus-client).",
            """  gowork exporter --port 9540
  gowork -n my-app exporter --host 0.0.0.0 --port 9540""")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=9540, help="port (default: 9540)")
    p.add_argument("--max-job-names", type=int, default=1000, metavar="N",
                   help="read at most N job names and N pools per scrape (default: 1000)")
    global_options(p, suppress=True)
    p.set_defaults(func=cmd_exporter)
    for name, func, what in (
            ("doctor", cmd_doctor, "find what is wrong in the namespace (reads only)"),
            ("repair", cmd_repair, "fix what doctor finds (dry run unless --yes)")):
        p = sub(subs, name, what,
                f"{what[0].upper()}{what[1:]}: pools that are gone with jobs stranded in their\n"
                "in-progress lists, lock drift, orphaned unique keys and unique keys that expire before\n"
                "their scheduled job runs, stale observation hashes, known_jobs entries with nothing\n"
                "behind them, malformed entries. Repairs use atomic scripts that check again as they\n"
                "write, so they are safe next to running pools, Go's or ours."
                + ("\nExit status 5 when something was found." if name == "doctor" else ""),
                f"""  gowork -n my-app {name}
  gowork -n my-app {name} --json""" + ("\n  gowork -n my-app repair --yes" if name == "repair" else ""))
        if name == "repair":
            p.add_argument("--yes", action="store_true", help="write the repairs (default: only show them)")
        p.add_argument("--json", action="store_true", help="print JSON instead of a table")
        p.add_argument("--wide", action="store_true", help="do not cut table cells")
        p.add_argument("--max-scan", type=int, default=DEFAULT_MAX_SCAN, metavar="N",
                       help=f"read at most N entries of each list or set (default: {DEFAULT_MAX_SCAN})")
        global_options(p, suppress=True)
        p.set_defaults(func=func)


def add_worker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--metrics-port", type=int, metavar="N",
                   help="serve Prometheus metrics of the pool on port N (needs the 'metrics' extra)")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="ADDR",
                   help="address the metrics server binds (default: 127.0.0.1)")
    p.add_argument("--log-format", choices=["text", "json"], default="text",
                   help="text (default) or json: one JSON object per line, and a line per finished job")
