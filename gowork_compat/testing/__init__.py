"""Prove your own jobs compatible with Go's gocraft/work: Hypothesis strategies
(:mod:`.strategies`), job fates read from Redis (:mod:`.fates`), the Go side
(:mod:`.go`) and a pytest plugin (:mod:`.plugin`). ``pip install 'gowork-compat[testing]'``;
see docs/testing.md. Importing this package needs neither pytest nor hypothesis."""

from __future__ import annotations

from .fates import SETTLED, Fate, assert_all_clean, read_fates, wait_fate, wait_fates

__all__ = ["SETTLED", "Fate", "assert_all_clean", "read_fates", "wait_fate", "wait_fates"]
