"""Validation of what either side writes against the JSON Schemas in spec/."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC = Path(__file__).resolve().parents[1] / "spec"
KINDS = ("job", "heartbeat", "observation", "lock_info")


@functools.cache
def _registry() -> Registry:
    resources = []
    for kind in KINDS:
        schema = json.loads((SPEC / f"{kind}.schema.json").read_text())
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


@functools.cache
def validator(kind: str, definition: str | None = None) -> Draft202012Validator:
    schema = json.loads((SPEC / f"{kind}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    if definition is not None:
        schema = {"$ref": f"{schema['$id']}#/$defs/{definition}"}
    return Draft202012Validator(schema, registry=_registry())


def validate(kind: str, instance: Any, definition: str | None = None) -> None:
    """Raise AssertionError naming every violation of ``spec/<kind>.schema.json``."""
    errors = sorted(validator(kind, definition).iter_errors(instance), key=lambda e: list(e.path))
    if kind == "observation" and isinstance(instance, dict) and instance.get("args"):
        try:
            if not isinstance(json.loads(instance["args"]), dict):
                raise ValueError("not an object")
        except ValueError as exc:
            raise AssertionError(f"observation args is not a JSON object: {exc}: {instance['args']!r}") from None
    if errors:
        lines = [f"- {'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]
        raise AssertionError(f"{kind} does not match spec/{kind}.schema.json:\n" + "\n".join(lines)
                             + f"\ninstance: {instance!r}")
