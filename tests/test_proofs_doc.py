"""spec/PROOFS.md names tests: every ``FILE::test_name`` it cites exists, so the table cannot
point at a renamed or deleted proof."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "spec" / "PROOFS.md"


def test_every_cited_test_exists() -> None:
    text = PROOFS.read_text()
    abbrev = dict(re.findall(r"`([A-Z]{2})` = (tests/\S+\.py)", text))
    cited = re.findall(r"`([A-Za-z0-9_/.]+)::(test_\w+)`", text)
    assert len(cited) > 50
    missing = []
    for where, name in cited:
        path = ROOT / abbrev.get(where, where)
        if not path.is_file() or not re.search(rf"^\s*def {name}\(", path.read_text(), re.M):
            missing.append(f"{where}::{name}")
    assert not missing, f"spec/PROOFS.md cites tests that do not exist: {missing}"
    for path in set(re.findall(r"`(tests/[\w/]+\.py)`", text)):
        assert (ROOT / path).is_file(), path
