"""DB-Focal's loss replayed against the authors' ResampleLoss trajectory (benchmarks/lockstep/db_focal.py)."""

from __future__ import annotations

from benchmarks.lockstep import db_focal, record
from ltbench.recipes.cards import find_card


def test_db_focal_loss_reference_trajectory():
    """4 SGD steps of a linear layer under DB's ResampleLoss (VOC config, VOC-LT class counts) vs ltbench's db_focal."""
    reference = record.read_reference(db_focal.METHOD)
    card = find_card("db_focal", "voc_lt")
    assert card.repository == f"{reference['repository']}@{reference['commit'][:7]}"
    scenario = reference["scenario"]
    ours = db_focal.ltbench_side(scenario["class_freq"], scenario["num_train"])
    record.compare(ours, reference["float32"], reference["noise_floor"])
