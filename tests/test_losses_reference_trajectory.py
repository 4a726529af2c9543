"""The two-way, MFM and BAL losses replayed against their authors' own loss functions
(benchmarks/lockstep/losses.py; records in tests/reference_trajectories/)."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import losses, record
from ltbench.recipes.cards import find_card


@pytest.mark.parametrize("name", losses.PRESETS)
def test_loss_reference_trajectory(name):
    """4 SGD steps of one linear layer under ltbench's loss (the preset's resolved config, with the record's declared
    switches) agree with the authors' loss step by step: loss, logits, gradients, weights, within 10x the authors'
    own float32-vs-float64 difference."""
    reference = record.read_reference(name)
    preset = losses.PRESETS[name]
    assert reference["commit"].startswith(preset.commit) and reference["repository"] == preset.repository
    assert reference["switches"] == list(preset.switches)
    largest = losses.replay(name)
    assert largest["loss"] <= max(10 * reference["noise_floor"]["loss"], record.TOLERANCE_MIN)


@pytest.mark.parametrize("name", [name for name in losses.PRESETS if losses.PRESETS[name].switches])
def test_loss_switches_are_declared_on_the_cards_reference_trajectory(name):
    """Each switch ltbench's side needs is a setting the card calls different on purpose, naming the switch."""
    preset = losses.PRESETS[name]
    for dataset in ("voc_lt", "coco_lt"):
        card = find_card(preset.method, dataset)
        for switch in preset.switches:
            key, _, value = switch.partition("=")
            declared = [s for s in card.settings if s.config.get(key) == value]
            assert declared and declared[0].differs and switch in declared[0].differs, (dataset, switch)


def test_mfm_mean_departs_from_the_code_reference_trajectory():
    """Without its switch (ltbench's mean) MFM's record fails at the first loss: the test can tell."""
    with pytest.raises(record.Divergence, match="step 1, loss"):
        losses.replay("mfm", ("loss.reduction=mean",))


def test_bal_class_weights_matter_reference_trajectory():
    """BAL's record sees its class weights: another power diverges at the first loss."""
    with pytest.raises(record.Divergence, match="step 1, loss"):
        losses.replay("bal", ("loss.weight_power=1.0",))
