"""The test-selected number: the best test mAP over a run's per-epoch evaluations, shown apart.

The CPRFL authors report the EMA model of the epoch with the best TEST mAP
(after epoch 10). Choosing the epoch on the test set is not a valid result;
ltbench reports the final model. This module computes what that selection would
have reported, from the per-epoch test mAPs that ``history.jsonl`` keeps for
learning curves, so that a table can show (``ltbench table --oracle``, never by
default) how much of a published number can come from choosing the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

ORACLE_LABEL = "test-selected, not a valid result"


@dataclass(frozen=True)
class TestSelected:
    """The best per-epoch test mAP (total, %) of one run and the epoch that had it."""

    test_map: float
    epoch: int
    label: str = ORACLE_LABEL

    def as_json(self) -> dict[str, Any]:
        """What ``metrics.json`` records under ``"test_selected"``."""
        return {"map_total": self.test_map, "epoch": self.epoch, "label": self.label}


def best_test_epoch(history: Iterable[dict[str, Any]], after_epoch: int = 0) -> TestSelected | None:
    """The history row with the highest ``test_map`` among epochs > ``after_epoch`` (earliest on ties).

    None when no such epoch was evaluated. The authors' selection is ``after_epoch=10``.
    """
    rows = [r for r in history if r.get("test_map") is not None and r["epoch"] > after_epoch]
    if not rows:
        return None
    best = max(rows, key=lambda row: (row["test_map"], -row["epoch"]))
    return TestSelected(float(best["test_map"]), int(best["epoch"]))
