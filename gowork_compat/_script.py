"""The :class:`Script` record (a Lua source and its SHA1), apart from the scripts so that
the connection plumbing and the modules holding scripts can both import it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

__all__ = ["Script"]


@dataclass(frozen=True)
class Script:
    name: str
    source: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.source.encode("utf-8")).hexdigest())
