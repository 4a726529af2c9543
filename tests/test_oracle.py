"""The test-selected number (ltbench/runs/test_selected.py); its table column is tested in test_reports.py."""

from __future__ import annotations

from ltbench.runs.test_selected import ORACLE_LABEL, best_test_epoch


def test_best_test_epoch_is_the_highest_test_map_after_the_given_epoch():
    history = [{"epoch": 1, "test_map": 50.0}, {"epoch": 2}, {"epoch": 3, "test_map": 61.0},
               {"epoch": 4, "test_map": 61.0}, {"epoch": 5, "test_map": 58.0}]
    best = best_test_epoch(history)
    assert (best.test_map, best.epoch, best.label) == (61.0, 3, ORACLE_LABEL)  # earliest of a tie
    assert best_test_epoch(history, after_epoch=4).epoch == 5
    assert best_test_epoch(history, after_epoch=5) is None and best_test_epoch([{"epoch": 1}]) is None
    assert best.as_json() == {"map_total": 61.0, "epoch": 3, "label": ORACLE_LABEL}
