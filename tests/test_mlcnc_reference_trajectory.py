"""MLC-NC's code preset replayed against the trajectory of the authors' train.py (benchmarks/lockstep/mlcnc.py):
7 one-step epochs of ResNet-50 at 64 px, the 5 alignment-only epochs and 2 of the full loss with prototypes."""

from __future__ import annotations

import pytest

from benchmarks.lockstep import mlcnc, record
from ltbench.recipes.cards import find_card


@pytest.mark.slow
def test_mlcnc_code_reference_trajectory_parts_only_where_the_warmup_leaves_out_the_weight_0_terms():
    """Step 1 (initial weights, FLA, Adam with L2 groups, one-cycle lr / beta1) agrees; the code keeps the two-way
    and prototype terms with weight 0 in its warm-up (train.py:178,193), so Adam steps the projection and the ETF
    classifier with zero gradients (L2 decay), where ltbench gives them no step: the replay parts at step 2's
    logits, nowhere earlier. A switch that keeps the terms makes this test fail: then compare the whole record."""
    reference = record.read_reference("mlcnc_code")
    card = find_card("mlcnc", "voc_lt", "mlcnc_code")
    assert card.repository.endswith("@" + reference["commit"][:7]) and reference["repository"] in card.repository
    assert reference["scenario"]["authors_argv"] == mlcnc.argv()
    assert reference["scenario"]["ltbench_overrides"] == mlcnc.OVERRIDES
    ours, _, _ = mlcnc.ltbench_side()
    with pytest.raises(record.Divergence, match="first divergence at step 2, logits"):
        record.compare(ours, reference["float32"], reference["noise_floor"])
