"""``gowork contracts check`` and ``gowork validate``: what a live namespace holds, against
job contracts and against the protocol's JSON Schemas. Exit 0 when nothing was found, 1
(``EXIT_FOUND``) when violations were found."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from ..contracts import ContractError, Contracts
from ..validation import Problem, check_contracts, validate_namespace
from .connection import _Ctx
from .errors import CLIError, _usage_error
from .render import _dumps, _out

__all__ = ["EXIT_FOUND", "add_check_commands", "cmd_contracts_check", "cmd_validate"]

#: the exit status when violations were found
EXIT_FOUND = 1


def _report(ctx: _Ctx, problems: list[Problem], summary: dict[str, Any]) -> int:
    if ctx.args.json:
        _out(_dumps({**summary, "violations": [p.as_dict() for p in problems]}))
    else:
        for p in problems:
            _out(str(p))
        counts = ", ".join(f"{v} {k}" for k, v in summary.items() if isinstance(v, int))
        _out(f"{len(problems)} violation(s) in namespace {ctx.namespace!r} ({counts} checked)")
    return EXIT_FOUND if problems else 0


def cmd_contracts_check(ctx: _Ctx) -> int:
    ns = ctx.need_namespace()
    try:
        contracts = Contracts.from_dir(ctx.args.dir)
    except ContractError as e:
        raise _usage_error(str(e)) from None
    if not len(contracts):
        raise CLIError(f"no NAME.schema.json files in {ctx.args.dir!r}")
    r = ctx.redis()
    try:
        checked, problems = check_contracts(r, ns, contracts)
    finally:
        r.close()
    return _report(ctx, problems, {"jobs": checked, "contracts": len(contracts)})


def cmd_validate(ctx: _Ctx) -> int:
    ns = ctx.need_namespace()
    r = ctx.redis()
    try:
        counts, problems = validate_namespace(r, ns)
    finally:
        r.close()
    return _report(ctx, problems, counts)


def add_check_commands(subs: Any, sub: Callable[..., argparse.ArgumentParser],
                       global_options: Callable[[argparse.ArgumentParser, bool], None]) -> None:
    """Register ``contracts check`` and ``validate`` on the CLI's subparsers."""
    p = sub(subs, "contracts", "check stored jobs against job contracts (JSON Schemas)",
            "Job contracts: a JSON Schema per job name, the files NAME.schema.json of a directory.",
            "  gowork contracts check --dir contracts/ -n my-app")
    global_options(p, True)
    csubs = p.add_subparsers(dest="contracts_action", metavar="ACTION", required=True)
    c = sub(csubs, "check", "validate every stored job whose name has a contract",
            "Validate the args of every job in the namespace (queues, in progress, scheduled, retry,\n"
            "dead) whose name has a contract in --dir; print each violation with the job and the JSON\n"
            f"pointer of the offending value. Exit status {EXIT_FOUND} when any was found, else 0.",
            "  gowork contracts check --dir contracts/ -n my-app\n"
            "  gowork contracts check --dir contracts/ -n my-app --json")
    c.add_argument("--dir", required=True, metavar="DIR", help="the directory of NAME.schema.json contracts")
    c.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    global_options(c, True)
    c.set_defaults(func=cmd_contracts_check)

    v = sub(subs, "validate", "check a namespace against the protocol's JSON Schemas",
            "Check every job (queues, in progress, scheduled, retry, dead), pool heartbeat, worker\n"
            "observation and lock_info hash of the namespace against the protocol's JSON Schemas\n"
            "(spec/ of the repository): finds foreign or corrupt entries, whoever wrote them.\n"
            f"Exit status {EXIT_FOUND} when any violation was found, else 0.",
            "  gowork validate -n my-app\n  gowork validate -n my-app --json")
    v.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    global_options(v, True)
    v.set_defaults(func=cmd_validate)
