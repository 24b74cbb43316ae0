"""Priority sampling of job queues: the order in which a fetch tries the queues.

Same algorithm as gocraft/work: a weighted shuffle where a queue's chance of coming
first is its priority divided by the sum of priorities still unplaced.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["PrioritySampler"]


class PrioritySampler(Generic[T]):
    def __init__(self, rng: random.Random | None = None) -> None:
        self._items: list[tuple[int, T]] = []
        self._total = 0
        self._rng = rng or random.Random()

    def add(self, priority: int, item: T) -> None:
        if priority < 1:
            raise ValueError("priority must be at least 1")
        self._items.append((priority, item))
        self._total += priority

    def __len__(self) -> int:
        return len(self._items)

    def sample(self) -> Sequence[T]:
        """Return all items in a freshly sampled order (the list is reordered in place)."""
        items = self._items
        n = len(items)
        remaining = self._total
        for first in range(n - 1):
            pick = self._rng.randrange(remaining)
            acc = 0
            # walk from the end, as upstream does, so the distribution is identical
            for i in range(n - 1, first - 1, -1):
                prio = items[i][0]
                if pick < prio + acc:
                    items[i], items[first] = items[first], items[i]
                    remaining -= prio
                    break
                acc += prio
        return [it for _, it in items]
