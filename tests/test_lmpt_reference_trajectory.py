"""LMPT and CoOp step for step beside LMPT's own ``lmpt/train.py`` (aab39ca), from recorded reference trajectories.

tests/reference_trajectories/<preset>.json hold the authors' side, one per preset
beside a published row (VOC-LT and COCO-LT with train.sh's flags, ViT-B/16; VOC-LT
with RN50, whose frozen BatchNorm trains in batch statistics as the authors'
``model.train()`` has it), recorded by ``python -m benchmarks.lockstep.lmpt`` (see
benchmarks/lockstep/lmpt.py for the scenario, the patches and the command). Here
ltbench's side is rebuilt from the same seed, with the presets' switches (the
authors' class names, PIL bilinear, the last partial batch kept, the frozen tower
in train mode) and the declared ones (a constant lr within the epoch, float32, no
flip, q_c by softmax for LMPT's CSE), and compared step by step: the first
quantity beyond ten times the authors' float32-vs-float64 difference fails the
test, named.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lockstep import lmpt, record


@pytest.mark.slow
@pytest.mark.parametrize("name", list(lmpt.PRESETS))
def test_reference_trajectory_of_lmpt_train_py(name):
    reference, preset = record.read_reference(name), lmpt.PRESETS[name]
    assert reference["commit"].startswith("aab39ca") and reference["method"] == preset.method
    assert reference["scenario"]["authors_argv"] == preset.argv()
    ours, _ = lmpt.ltbench_side(preset, reference["scenario"]["order"])
    largest = record.compare(ours, reference["float32"], reference["noise_floor"])
    assert set(largest) >= {"loss", "logits", "grad_norm", "weights", "scores"}
    # the test APs as the authors' eval_map (sklearn) computed them, to rounding
    np.testing.assert_allclose(ours["final"]["ap"], reference["float32"]["final"]["ap"], rtol=0, atol=1e-12)
