"""Job contracts: a JSON Schema per job name that the job's args must satisfy.

    contracts = Contracts.from_dir("contracts/")        # contracts/send_invoice.schema.json, ...
    contracts = Contracts({"send_invoice": {"type": "object", "required": ["customer_id"]}})
    enq = Enqueuer(url, "my-app", contracts=contracts)    # refuses invalid args before writing
    pool = WorkerPool(url, "my-app", contracts=contracts) # sends invalid jobs to the dead set

Job names without a schema are not checked. Validation uses ``jsonschema`` (the draft the
schema's ``$schema`` names, else 2020-12): ``pip install 'gowork-compat[contracts]'``.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SUFFIX", "ContractError", "ContractViolation", "Contracts", "Violation", "as_contracts"]

#: the file name suffix of a contract in a directory: NAME.schema.json
SUFFIX = ".schema.json"


class ContractError(ValueError):
    """A contract (schema) that cannot be used: unreadable, not JSON, not a valid schema."""


@dataclass(frozen=True)
class Violation:
    """One way a job's args break its contract: ``pointer`` is the JSON pointer (RFC 6901)
    of the offending value inside the args ("" for the args themselves)."""

    job_name: str
    pointer: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class ContractViolation(ValueError):
    """Args that break their job's contract (raised by an enqueuer before anything is written;
    the reason of the dead job a pool with contracts makes)."""

    def __init__(self, job_name: str, violations: list[Violation]) -> None:
        self.job_name = job_name
        self.violations = violations
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        super().__init__(f"args of job {job_name!r} break its contract at {first.pointer or '/'}: "
                         f"{first.message}{more}")


def _jsonschema() -> Any:
    try:
        return importlib.import_module("jsonschema")
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("job contracts need jsonschema: pip install 'gowork-compat[contracts]'") from e


def _pointer(path: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


class Contracts:
    """JSON Schemas by job name."""

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        js = _jsonschema()
        self.schemas: dict[str, dict[str, Any]] = {}
        self._validators: dict[str, Any] = {}
        for name, schema in schemas.items():
            doc = dict(schema)
            cls = js.validators.validator_for(doc, default=js.Draft202012Validator)
            try:
                cls.check_schema(doc)
            except js.SchemaError as e:
                raise ContractError(f"the contract of job {name!r} is not a valid JSON Schema: {e.message}") from e
            self.schemas[name] = doc
            self._validators[name] = cls(doc)

    @classmethod
    def from_dir(cls, directory: str | os.PathLike[str]) -> Contracts:
        """Every ``NAME.schema.json`` in ``directory`` is the contract of job NAME."""
        d = Path(directory)
        if not d.is_dir():
            raise ContractError(f"no contracts directory {str(d)!r}")
        schemas: dict[str, dict[str, Any]] = {}
        for f in sorted(d.iterdir()):
            if f.name.endswith(SUFFIX) and f.is_file():
                schemas[f.name[: -len(SUFFIX)]] = _load(f)
        return cls(schemas)

    @classmethod
    def from_files(cls, files: Mapping[str, str | os.PathLike[str]]) -> Contracts:
        """Job name -> schema file."""
        return cls({name: _load(Path(p)) for name, p in files.items()})

    def __contains__(self, name: object) -> bool:
        return name in self.schemas

    def __len__(self) -> int:
        return len(self.schemas)

    def violations(self, name: str, args: Any) -> list[Violation]:
        """Every way ``args`` (None counts as ``{}``, as Go hands a handler an empty map)
        breaks the contract of job ``name``; [] when it has none."""
        v = self._validators.get(name)
        if v is None:
            return []
        instance = {} if args is None else args
        errors = sorted(v.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
        return [Violation(name, _pointer(e.absolute_path), e.message) for e in errors]

    def check(self, name: str, args: Any) -> None:
        """Raise :class:`ContractViolation` when ``args`` break the contract of ``name``."""
        found = self.violations(name, args)
        if found:
            raise ContractViolation(name, found)


def _load(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ContractError(f"cannot read contract {str(path)!r}: {e}") from e
    if not isinstance(doc, dict):
        raise ContractError(f"contract {str(path)!r} is not a JSON object")
    return doc


def as_contracts(value: Contracts | Mapping[str, Mapping[str, Any]] | str | os.PathLike[str] | None
                 ) -> Contracts | None:
    """What ``contracts=`` accepts: Contracts, a dict of schemas by job name, or a directory."""
    if value is None or isinstance(value, Contracts):
        return value
    if isinstance(value, (str, os.PathLike)):
        return Contracts.from_dir(value)
    return Contracts(value)
