"""LMPT and CoOp step for step beside LMPT's own ``lmpt/train.py`` (aab39ca), from recorded reference trajectories.

tests/reference_trajectories/{lmpt,coop}.json hold the authors' side, recorded by
``python -m benchmarks.lockstep.lmpt`` (see benchmarks/lockstep/lmpt.py for the
scenario, the patches and the command). Here ltbench's side is rebuilt from the
same seed, with the presets' switches (the authors' class names, PIL bilinear,
the last partial batch kept) and the declared ones (a constant lr within the
epoch, float32, no flip, q_c by softmax for LMPT's CSE), and compared step by
step: the first quantity beyond ten times the authors' float32-vs-float64
difference fails the test, named.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.lockstep import lmpt, record


@pytest.mark.slow
@pytest.mark.parametrize("method", ["lmpt", "coop"])
def test_reference_trajectory_of_lmpt_train_py(method):
    reference = record.read_reference(method)
    assert reference["commit"].startswith("aab39ca") and reference["method"] == method
    ours, _ = lmpt.ltbench_side(method, reference["scenario"]["order"])
    largest = record.compare(ours, reference["float32"], reference["noise_floor"])
    assert set(largest) >= {"loss", "logits", "grad_norm", "weights", "scores"}
    # the test APs as the authors' eval_map (sklearn) computed them, to rounding
    np.testing.assert_allclose(ours["final"]["ap"], reference["float32"]["final"]["ap"], rtol=0, atol=1e-12)
