"""DB-Focal (VOC-LT, COCO-LT) and the baselines beside DB's pipeline, replayed against the authors' mmcv runner
(benchmarks/lockstep/db_focal.py)."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import db_focal, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
@pytest.mark.parametrize("name", db_focal.RECORDS)
def test_db_focal_reference_trajectory(name):
    """ResNet-50 at 64 px, the PFC neck and the fc head under the preset's ResampleLoss: SGD steps of
    tools/train.py's runner (3 epochs, warm-up, two lr steps, clipping), then the test scores; the batches in
    ltbench's own sampler's order (ClassAware for db_focal, the group sampler for a baseline), checked against the
    authors' order first."""
    reference = record.read_reference(name)
    setting = db_focal.RECORDS[name]
    card = find_card(setting.preset, setting.dataset)
    assert card.repository == f"{reference['repository']}@{reference['commit'][:7]}"
    largest = db_focal.compare(db_focal.replay(name), reference)
    assert largest["loss"] <= 10 * reference["noise_floor"]["loss"]


@pytest.mark.parametrize("name", db_focal.RECORDS)
def test_db_sampler_and_schedule_reference_trajectory(name):
    """db_focal's ClassAware sampler draws the authors' index sequence (3 epochs at the data set's size, an epoch
    ending inside a class visit), and every preset's schedule gives mmcv's lr at each iteration of the full run."""
    reference = record.read_reference(name)
    setting = db_focal.RECORDS[name]
    ours = {"sampler": db_focal.ltbench_sampler_record(setting, db_focal.ltbench_config(setting)),
            "schedule": db_focal.ltbench_schedule(setting)}
    db_focal.compare_sequences(ours, reference)


BASELINES = [name for name in db_focal.RECORDS if name in db_focal.BASELINE_LOSSES]


@pytest.mark.parametrize("name", BASELINES)
def test_group_sampler_draws_the_authors_order(name):
    """A baseline preset's sampler, built as the engine builds it (batch 4, the scenario's portrait images, the
    preset's seed 1), draws the authors' GroupSampler order of all 3 recorded epochs, index for index."""
    reference = record.read_reference(name)
    setting = db_focal.RECORDS[name]
    config = db_focal.ltbench_config(setting)
    assert config["train"]["sampler"]["name"] == "group"
    targets = db_focal.scenario_data(setting)[1][:db_focal.IMAGES].numpy()
    sampler = db_focal.ltbench_sampler(config, targets, db_focal.scenario_sizes())
    assert [list(sampler) for _ in reference["order"]] == reference["order"]


def test_torch_draws_part_from_the_authors_sampler():
    """0.2.0's draws (train.sampler.rng torch) are not the authors' sequence: the switch is what makes them agree."""
    reference = record.read_reference(db_focal.METHOD)
    setting = db_focal.RECORDS[db_focal.METHOD]
    config = db_focal.ltbench_config(setting, ("train.sampler.rng=torch",))
    with pytest.raises(record.Divergence, match="ClassAware sampler, 1142 images, epoch 1"):
        db_focal.compare_sequences({"sampler": db_focal.ltbench_sampler_record(setting, config),
                                    "schedule": reference["schedule"]}, reference)
