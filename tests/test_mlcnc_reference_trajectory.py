"""MLC-NC's code preset replayed against the trajectory of the authors' train.py (benchmarks/lockstep/mlcnc.py):
7 one-step epochs of ResNet-50 at 64 px, the 5 alignment-only epochs and 2 of the full loss with prototypes, on
VOC-LT and COCO-LT."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import mlcnc, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
@pytest.mark.parametrize("name", mlcnc.PRESETS)
def test_mlcnc_code_reference_trajectory(name):
    """Adam with L2 groups and the one-cycle lr / beta1, FLA-only warm-up, prototypes, test logits of the live model
    (VOC-LT's 20 classes, COCO-LT's 80)."""
    reference = record.read_reference(name)
    card = find_card("mlcnc", mlcnc.PRESETS[name], "mlcnc_code")
    assert card.repository.endswith("@" + reference["commit"][:7]) and reference["repository"] in card.repository
    assert reference["scenario"]["authors_argv"] == mlcnc.argv(name)
    assert reference["scenario"]["ltbench_overrides"] == mlcnc.OVERRIDES
    ours, _, _ = mlcnc.ltbench_side(name)
    record.compare(ours, reference["float32"], reference["noise_floor"])


@pytest.mark.slow
def test_mlcnc_reference_trajectory_catches_the_warmup_without_zero_terms():
    """Without the weight-0 terms of the warm-up epochs, Adam leaves the projection and the ETF classifier alone
    (no gradient) where the code decays them: the replay parts at step 2's logits."""
    reference = record.read_reference("mlcnc_code")
    ours, _, _ = mlcnc.ltbench_side(overrides=["method.warmup_zero_terms=false"])
    with pytest.raises(record.Divergence, match="step 2, logits"):
        record.compare(ours, reference["float32"], reference["noise_floor"])
