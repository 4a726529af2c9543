"""DB-Focal replayed against the trajectory of the authors' mmcv runner (benchmarks/lockstep/db_focal.py)."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import db_focal, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
def test_db_focal_reference_trajectory():
    """ResNet-50 at 64 px, the PFC neck and the fc head under ResampleLoss: 15 SGD steps of tools/train.py's
    runner (3 epochs of the ClassAware sampler, warm-up, two lr steps, clipping), then the test scores."""
    reference = record.read_reference(db_focal.METHOD)
    card = find_card("db_focal", "voc_lt")
    assert card.repository == f"{reference['repository']}@{reference['commit'][:7]}"
    ours, _ = db_focal.ltbench_side()
    largest = db_focal.compare(ours, reference)
    assert largest["loss"] <= 10 * reference["noise_floor"]["loss"]


def test_db_class_aware_sampler_and_schedule_reference_trajectory():
    """The preset's ClassAware sampler draws the authors' index sequence (3 epochs of 1,142 images, an epoch ending
    inside a class visit), and its schedule gives mmcv's lr at every iteration of the full VOC-LT run."""
    reference = record.read_reference(db_focal.METHOD)
    config = db_focal.ltbench_config()
    ours = {"sampler": db_focal.ltbench_sampler_record(config),
            "schedule": db_focal.ltbench_schedule(config)}
    db_focal.compare_sequences(ours, reference)


def test_torch_draws_part_from_the_authors_sampler():
    """0.2.0's draws (train.sampler.rng torch) are not the authors' sequence: the switch is what makes them agree."""
    reference = record.read_reference(db_focal.METHOD)
    config = db_focal.ltbench_config()
    config["train"]["sampler"]["rng"] = "torch"
    with pytest.raises(record.Divergence, match="ClassAware sampler, 1142 images, epoch 1"):
        db_focal.compare_sequences({"sampler": db_focal.ltbench_sampler_record(config),
                                    "schedule": reference["schedule"]}, reference)
