"""Check what either side writes against the JSON Schemas in ``spec/``.

``validate("job", json.loads(raw))`` raises :class:`AssertionError` listing every violation;
``validate("job", doc, "failed")`` checks against one of the schema's ``$defs`` instead.
Kinds: ``job``, ``heartbeat``, ``observation``, ``lock_info``.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped,unused-ignore]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[1] / "spec"
KINDS = ("job", "heartbeat", "observation", "lock_info")


@functools.cache
def schema(kind: str) -> dict[str, Any]:
    """The parsed ``spec/<kind>.schema.json``, checked against the draft 2020-12 meta-schema."""
    if kind not in KINDS:
        raise ValueError(f"unknown schema kind {kind!r}; expected one of {KINDS}")
    doc: dict[str, Any] = json.loads((SPEC / f"{kind}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    return doc


@functools.cache
def _registry() -> Registry[Any]:
    resources = [(schema(k)["$id"], Resource.from_contents(schema(k), default_specification=DRAFT202012))
                 for k in KINDS]
    return Registry().with_resources(resources)


@functools.cache
def validator(kind: str, definition: str | None = None) -> Draft202012Validator:
    doc = schema(kind)
    if definition is not None:
        if definition not in doc.get("$defs", {}):
            raise ValueError(f"{kind} schema has no $defs/{definition}; it has {sorted(doc.get('$defs', {}))}")
        doc = {"$ref": f"{doc['$id']}#/$defs/{definition}"}
    return Draft202012Validator(doc, registry=_registry())


def _extra_checks(kind: str, instance: Any) -> list[str]:
    """What JSON Schema cannot say: JSON text inside a string, sorted lists."""
    problems: list[str] = []
    if not isinstance(instance, dict):
        return problems
    if kind == "observation" and isinstance(instance.get("args"), str) and instance["args"]:
        try:
            parsed = json.loads(instance["args"])
        except ValueError as exc:
            problems.append(f"- args: not JSON text ({exc})")
        else:
            if not isinstance(parsed, dict):
                problems.append("- args: JSON text but not an object")
            elif not parsed:
                problems.append("- args: an empty map is written as the empty string, not {}")
    if kind == "heartbeat" and isinstance(instance.get("worker_ids"), str) and instance["worker_ids"]:
        ids = instance["worker_ids"].split(",")
        if ids != sorted(ids):
            problems.append("- worker_ids: not sorted")
    return problems


def validate(kind: str, instance: Any, definition: str | None = None) -> None:
    """Raise AssertionError naming every way ``instance`` breaks ``spec/<kind>.schema.json``
    (or its ``$defs/<definition>``)."""
    errors = sorted(validator(kind, definition).iter_errors(instance), key=lambda e: list(map(str, e.path)))
    lines = []
    for e in errors:
        where = "/".join(map(str, e.absolute_path)) or "(root)"
        lines.append(f"- {where}: {e.message}")
        lines.extend(f"    - {'/'.join(map(str, c.absolute_path)) or '(root)'}: {c.message}" for c in e.context)
    lines += _extra_checks(kind, instance)
    if lines:
        target = f"spec/{kind}.schema.json" + (f"#/$defs/{definition}" if definition else "")
        raise AssertionError(f"{kind} does not match {target}:\n" + "\n".join(lines) + f"\ninstance: {instance!r}")
